//! The reminders in people's calendars: an invitation (`.ics`) to each recipient when a
//! reminder is scheduled, a cancellation when it is cancelled, and each user's feed of the
//! team's upcoming reminders.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::accounts::preferences::{self, Recipient};
use crate::i18n::Lang;
use crate::i18n::mail::{self, Facts};
use crate::mail::Composed;
use crate::mail::ics::{self, Invitation, Method};
use crate::mail::outbox::{self, Email};
use crate::model::{AlertKind, DisplayTime, EmailKind, ReminderStatus};
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

pub async fn find(ctx: &Context, id: i64) -> Result<CalendarReminder, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE r.id = ?"))
        .bind(id)
        .fetch_one(&ctx.db)
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
    }
}

/// Sends each recipient of reminders the invitation (`Method::Request`) or the cancellation
/// (`Method::Cancel`) of a reminder. Nothing when e-mail is off.
pub async fn send_invitations(ctx: &Context, id: i64, method: Method) -> Result<(), sqlx::Error> {
    if ctx.mailer.is_none() {
        return Ok(());
    }
    let reminder = find(ctx, id).await?;
    let recipients = preferences::recipients(&ctx.db, AlertKind::Reminder, None).await?;
    let mut tx = ctx.db.begin().await?;
    for recipient in &recipients {
        let due = DisplayTime::new(reminder.due_at).prague;
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
        let email = email(
            ctx,
            &reminder,
            recipient,
            &facts,
            method,
            EmailKind::Invitation,
        );
        outbox::enqueue(&mut tx, &email, ctx.now()).await?;
    }
    tx.commit().await?;
    ctx.work.mail.notify_one();
    Ok(())
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
