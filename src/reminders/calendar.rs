//! The reminders in people's calendars: an invitation (`.ics`) to each recipient when a
//! reminder is scheduled, a cancellation when it is cancelled, and each user's feed of the
//! team's upcoming reminders.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteConnection};

use crate::accounts::preferences::{self, Recipient};
use crate::i18n::Lang;
use crate::i18n::mail::{self, Facts};
use crate::mail::Composed;
use crate::mail::ics::{self, Invitation, Method};
use crate::mail::outbox::{self, Email};
use crate::model::{AlertKind, DisplayTime, EmailKind, ReminderStatus, Role};
use crate::platform::Context;

/// How long the calendar event lasts.
const EVENT_MINUTES: i64 = 30;

/// A reminder as calendars see it.
#[derive(Debug, Clone, FromRow)]
pub struct CalendarReminder {
    pub id: i64,
    pub connection: String,
    pub due_at: DateTime<Utc>,
    pub note: Option<String>,
    pub sequence: i64,
    pub status: ReminderStatus,
}

const SELECT: &str = "SELECT r.id, c.name AS connection, r.due_at, r.note, r.sequence, r.status
     FROM reminders r JOIN connections c ON c.id = r.connection_id";

pub async fn find(
    db: impl sqlx::SqliteExecutor<'_>,
    id: i64,
) -> Result<CalendarReminder, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE r.id = ?"))
        .bind(id)
        .fetch_one(db)
        .await
}

/// The reminder as an event, in `lang`.
pub fn event(ctx: &Context, reminder: &CalendarReminder, lang: Lang) -> ics::Event {
    let (summary, description) =
        mail::event_texts(lang, &reminder.connection, reminder.note.as_deref());
    let url = format!("{}/reminders", ctx.settings.public_base);
    let host = url::Url::parse(&ctx.settings.public_base)
        .ok()
        .and_then(|url| url.host_str().map(str::to_string))
        .unwrap_or_else(|| "fapi-bridge".into());
    ics::Event {
        uid: format!("reminder-{}@{host}", reminder.id),
        sequence: reminder.sequence,
        start: reminder.due_at,
        minutes: EVENT_MINUTES,
        summary,
        description: format!("{description}\n\n{url}"),
        url,
        cancelled: reminder.status == ReminderStatus::Cancelled,
    }
}

/// An e-mail about `reminder` to `recipient`, with the reminder's event attached (`method`).
pub fn email(
    ctx: &Context,
    reminder: &CalendarReminder,
    recipient: &Recipient,
    facts: &Facts,
    method: Method,
    kind: EmailKind,
) -> Email {
    let organizer = ctx
        .mailer
        .as_ref()
        .map(|mailer| mailer.settings.from.email.to_string())
        .unwrap_or_default();
    let calendar = ics::calendar(
        &[event(ctx, reminder, recipient.lang)],
        Some(&Invitation {
            method,
            organizer: &organizer,
            attendee: &recipient.email,
        }),
        "fapi-bridge",
        ctx.now(),
    );
    let base = &ctx.settings.public_base;
    Email {
        kind,
        to: recipient.email.clone(),
        user_id: Some(recipient.user_id),
        content: Composed::from_letter(
            mail::letter(recipient.lang, facts),
            format!("{base}/reminders"),
            Some(mail::footer(recipient.lang, &format!("{base}/settings"))),
        ),
        calendar: Some((method, calendar)),
        reminder_id: None,
    }
}

/// Queues, in the caller's transaction, the invitation (`Method::Request`, to everyone who
/// chose reminders) or the cancellation (`Method::Cancel`, to everyone who was invited) of a
/// reminder. Nothing when e-mail is off. The caller wakes the e-mail worker after committing.
pub async fn queue_invitations(
    ctx: &Context,
    conn: &mut SqliteConnection,
    id: i64,
    method: Method,
) -> Result<(), sqlx::Error> {
    if ctx.mailer.is_none() {
        return Ok(());
    }
    let reminder = find(&mut *conn, id).await?;
    let recipients = match method {
        Method::Request => preferences::recipients(&mut *conn, AlertKind::Reminder, None).await?,
        Method::Cancel => invited(&mut *conn, id).await?,
    };
    let due = DisplayTime::new(reminder.due_at).prague;
    for recipient in &recipients {
        let facts = match method {
            Method::Request => Facts::ReminderScheduled {
                connection: &reminder.connection,
                due: &due,
                note: reminder.note.as_deref(),
            },
            Method::Cancel => Facts::ReminderCancelled {
                connection: &reminder.connection,
                due: &due,
            },
        };
        let mut email = email(
            ctx,
            &reminder,
            recipient,
            &facts,
            method,
            EmailKind::Invitation,
        );
        email.reminder_id = Some(reminder.id);
        outbox::enqueue(&mut *conn, &email, ctx.now()).await?;
    }
    Ok(())
}

/// The active users who were sent an invitation to the reminder.
async fn invited(conn: &mut SqliteConnection, id: i64) -> Result<Vec<Recipient>, sqlx::Error> {
    let rows: Vec<(i64, String, Role, String)> = sqlx::query_as(
        "SELECT DISTINCT u.id, u.email, u.role, u.language
         FROM emails e JOIN users u ON u.id = e.user_id
         WHERE e.reminder_id = ? AND e.kind = ? AND e.calendar_method = ? AND u.disabled = 0
         ORDER BY u.id",
    )
    .bind(id)
    .bind(EmailKind::Invitation)
    .bind(Method::Request.as_str())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(user_id, email, role, language)| Recipient {
            user_id,
            email,
            role,
            lang: Lang::parse(&language).unwrap_or_default(),
        })
        .collect())
}

/// A user's feed: the team's scheduled reminders from a day ago on, in `lang`.
pub async fn feed(ctx: &Context, lang: Lang) -> Result<String, sqlx::Error> {
    let now = ctx.now();
    let reminders: Vec<CalendarReminder> = sqlx::query_as(&format!(
        "{SELECT} WHERE r.status = ? AND r.due_at >= ? ORDER BY r.due_at, r.id"
    ))
    .bind(ReminderStatus::Scheduled)
    .bind(now - chrono::Duration::days(1))
    .fetch_all(&ctx.db)
    .await?;
    let events: Vec<_> = reminders
        .iter()
        .map(|reminder| event(ctx, reminder, lang))
        .collect();
    Ok(ics::calendar(&events, None, mail::calendar_name(lang), now))
}
