//! The e-mail outbox: every message is a row first (in the transaction of what caused it),
//! then a worker sends what is due, retries with backoff and records the server's answer.
//! A restart loses none: a message that was being sent is queued again at start.

use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use sqlx::{FromRow, SqliteConnection, SqlitePool};

use crate::error::{AppError, Invalid};
use crate::i18n::Lang;
use crate::i18n::mail::{self, Facts};
use crate::mail::Composed;
use crate::mail::ics::Method;
use crate::model::{DisplayTime, EmailKind, EmailPage, EmailRow, EmailStatus, SmtpProblem};
use crate::platform::Context;
use crate::platform::db::partial_index::QUEUED_EMAIL;
use crate::platform::email::EmailAddress;
use crate::platform::paging::Keyset;
use crate::platform::smtp::{Mailer, SendError};

/// A message for the outbox.
#[derive(Debug, Clone)]
pub struct Email {
    pub kind: EmailKind,
    pub to: String,
    pub user_id: Option<i64>,
    pub content: Composed,
    /// An iCalendar attachment and its method.
    pub calendar: Option<(Method, String)>,
    /// The reminder an invitation is about (its cancellation goes to the same people).
    pub reminder_id: Option<i64>,
}

/// Messages sent per worker step.
const CLAIM: i64 = 10;

/// Adds `email` to the outbox (on the caller's connection or transaction). The caller wakes
/// the worker (`ctx.work.mail`) once its transaction has committed.
pub async fn enqueue(
    conn: &mut SqliteConnection,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    Ok(insert(conn, email, now, EmailStatus::Queued).await?.id)
}

async fn insert(
    conn: &mut SqliteConnection,
    email: &Email,
    now: DateTime<Utc>,
    status: EmailStatus,
) -> Result<Claimed, sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO emails (kind, to_address, user_id, subject, body_text, body_html, calendar,
             calendar_method, reminder_id, status, attempts, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         RETURNING id, to_address, subject, body_text, body_html, calendar, calendar_method, attempts",
    )
    .bind(email.kind)
    .bind(&email.to)
    .bind(email.user_id)
    .bind(&email.content.subject)
    .bind(email.content.text())
    .bind(email.content.html())
    .bind(email.calendar.as_ref().map(|(_, text)| text))
    .bind(email.calendar.as_ref().map(|(method, _)| method.as_str()))
    .bind(email.reminder_id)
    .bind(status)
    .bind(i64::from(status == EmailStatus::Sending))
    .bind(now)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
}

/// Puts back in the queue what a stopped process was sending.
pub async fn reset_in_flight(db: &SqlitePool) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("UPDATE emails SET status = ? WHERE status = ?")
        .bind(EmailStatus::Queued)
        .bind(EmailStatus::Sending)
        .execute(db)
        .await?
        .rows_affected())
}

#[derive(FromRow)]
struct Claimed {
    id: i64,
    to_address: String,
    subject: String,
    body_text: String,
    body_html: String,
    calendar: Option<String>,
    calendar_method: Option<String>,
    attempts: i64,
}

/// Sends the e-mails that are due (a few at a time); how many were tried. Nothing happens
/// while e-mail is off: the rows wait.
pub async fn deliver_due(ctx: &Context) -> Result<usize, sqlx::Error> {
    let Some(mailer) = &ctx.mailer else {
        return Ok(0);
    };
    let now = ctx.now();
    // The partial index's predicate is written out so SQLite uses it.
    let claimed: Vec<Claimed> = sqlx::query_as(&format!(
        "UPDATE emails SET status = ?, attempts = attempts + 1
         WHERE id IN (SELECT id FROM emails WHERE {QUEUED_EMAIL} AND next_attempt_at <= ?
                      ORDER BY next_attempt_at, id LIMIT ?)
         RETURNING id, to_address, subject, body_text, body_html, calendar, calendar_method, attempts"
    ))
    .bind(EmailStatus::Sending)
    .bind(now)
    .bind(CLAIM)
    .fetch_all(&ctx.db)
    .await?;
    let tried = claimed.len();
    for email in claimed {
        let outcome = attempt(mailer, &email).await;
        // One row that cannot be recorded does not hold back the others (it is queued again
        // at the next start).
        if let Err(error) = record(ctx, email.id, email.attempts, outcome).await {
            tracing::error!(email = email.id, %error, "an e-mail's outcome was not recorded");
        }
    }
    Ok(tried)
}

async fn record(
    ctx: &Context,
    id: i64,
    attempts: i64,
    outcome: Result<String, SendError>,
) -> Result<(), sqlx::Error> {
    let now = ctx.now();
    let settings = ctx.settings.alerts;
    match outcome {
        Ok(_) => {
            sqlx::query(&format!(
                "UPDATE emails SET status = ?, sent_at = ?, last_error = NULL, {FORGET_CONTENT}
                 WHERE id = ?"
            ))
            .bind(EmailStatus::Sent)
            .bind(now)
            .bind(id)
            .execute(&ctx.db)
            .await?;
        }
        Err(error) => {
            let last = error.is_final() || attempts as u32 >= settings.email_max_attempts;
            tracing::warn!(email = id, attempts, %error, final = last, "an e-mail was not sent");
            let forget = if last { FORGET_CONTENT } else { "id = id" };
            sqlx::query(&format!(
                "UPDATE emails SET status = ?, last_error = ?, next_attempt_at = ?, {forget}
                 WHERE id = ?"
            ))
            .bind(if last {
                EmailStatus::Failed
            } else {
                EmailStatus::Queued
            })
            .bind(error.to_string())
            .bind(settings.next_email_attempt(now, attempts as u32))
            .bind(id)
            .execute(&ctx.db)
            .await?;
        }
    }
    Ok(())
}

/// Once an e-mail is sent or has failed for good its content is not kept: it may carry what
/// is stored encrypted elsewhere (FAPI's notification URL, for admins). The subject stays for
/// the E-mails page.
const FORGET_CONTENT: &str = "body_text = '', body_html = '', calendar = NULL";

/// The MIME message: plain text and HTML as alternatives; an invitation also as a
/// `text/calendar` alternative (what calendar clients read) and as an `.ics` attachment.
fn message(mailer: &Mailer, email: &Claimed) -> Result<Message, SendError> {
    let refused = |detail: String| SendError {
        problem: SmtpProblem::Rejected,
        detail,
    };
    let to: Mailbox = email
        .to_address
        .parse()
        .map_err(|_| refused(format!("{:?} is not an e-mail address", email.to_address)))?;
    let alternatives = MultiPart::alternative()
        .singlepart(SinglePart::plain(email.body_text.clone()))
        .singlepart(SinglePart::html(email.body_html.clone()));
    let body = match (&email.calendar, &email.calendar_method) {
        (Some(calendar), Some(method)) => {
            let inline =
                ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
                    .map_err(|error| refused(error.to_string()))?;
            let attached = ContentType::parse("application/ics")
                .map_err(|error| refused(error.to_string()))?;
            MultiPart::mixed()
                .multipart(
                    alternatives
                        .singlepart(SinglePart::builder().header(inline).body(calendar.clone())),
                )
                .singlepart(Attachment::new("reminder.ics".into()).body(calendar.clone(), attached))
        }
        _ => alternatives,
    };
    Message::builder()
        .from(mailer.settings.from.clone())
        .to(to)
        .subject(email.subject.clone())
        .multipart(body)
        .map_err(|error| refused(error.to_string()))
}

/// Sends the claimed e-mail once; the server's answer.
async fn attempt(mailer: &Mailer, email: &Claimed) -> Result<String, SendError> {
    mailer.send(message(mailer, email)?).await
}

/// Sends an admin's test e-mail to `to` now, recorded in the outbox like any other but never
/// retried: SMTP's refusal comes back in words and the admin tries again.
pub async fn send_test(ctx: &Context, to: &EmailAddress, lang: Lang) -> Result<(), AppError> {
    let Some(mailer) = &ctx.mailer else {
        return Err(Invalid::EmailOff.into());
    };
    let server = mailer.settings.server();
    let email = Email {
        kind: EmailKind::Test,
        to: to.to_string(),
        user_id: None,
        content: Composed::from_letter(
            mail::letter(lang, &Facts::Test { server: &server }),
            ctx.settings.public_base.clone(),
            None,
        ),
        calendar: None,
        reminder_id: None,
    };
    let now = ctx.now();
    // Written as being sent (one attempt), so the worker never takes it too.
    let claimed = insert(
        &mut *ctx.db.acquire().await?,
        &email,
        now,
        EmailStatus::Sending,
    )
    .await?;
    let error = attempt(mailer, &claimed).await.err();
    sqlx::query(&format!(
        "UPDATE emails SET status = ?, sent_at = ?, last_error = ?, {FORGET_CONTENT} WHERE id = ?"
    ))
    .bind(if error.is_some() {
        EmailStatus::Failed
    } else {
        EmailStatus::Sent
    })
    .bind(error.is_none().then_some(now))
    .bind(error.as_ref().map(ToString::to_string))
    .bind(claimed.id)
    .execute(&ctx.db)
    .await?;
    match error {
        None => Ok(()),
        Some(error) => Err(AppError::Smtp(error.problem, error.detail)),
    }
}

/// Deletes up to `batch` e-mails created before `cutoff` that were sent or failed; how many.
pub async fn delete_finished(
    db: &SqlitePool,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "DELETE FROM emails WHERE id IN (
            SELECT id FROM emails WHERE created_at < ? AND status IN (?, ?) ORDER BY id LIMIT ?)",
    )
    .bind(cutoff)
    .bind(EmailStatus::Sent)
    .bind(EmailStatus::Failed)
    .bind(batch)
    .execute(db)
    .await
    .map(|done| done.rows_affected())
}

#[derive(FromRow)]
struct Listed {
    id: i64,
    kind: EmailKind,
    to_address: String,
    subject: String,
    status: EmailStatus,
    attempts: i64,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

/// A page of the outbox, newest first, with the SMTP set-up.
pub async fn page(
    ctx: &Context,
    before: Option<i64>,
    limit: i64,
) -> Result<EmailPage, sqlx::Error> {
    let page = Keyset::new(before, limit);
    let rows: Vec<Listed> = sqlx::query_as(
        "SELECT id, kind, to_address, subject, status, attempts, last_error, created_at, sent_at
         FROM emails WHERE id < ? ORDER BY id DESC LIMIT ?",
    )
    .bind(page.upper_bound())
    .bind(page.fetch_limit())
    .fetch_all(&ctx.db)
    .await?;
    let (rows, next_before) = page.split(rows, |row| row.id);
    Ok(EmailPage {
        server: ctx.mailer.as_ref().map(|m| m.settings.server()),
        from: ctx.mailer.as_ref().map(|m| m.settings.from.to_string()),
        rows: rows
            .into_iter()
            .map(|row| EmailRow {
                id: row.id,
                kind: row.kind,
                to: row.to_address,
                subject: row.subject,
                status: row.status,
                attempts: row.attempts,
                last_error: row.last_error,
                created_at: DisplayTime::new(row.created_at),
                sent_at: row.sent_at.map(DisplayTime::new),
            })
            .collect(),
        next_before,
    })
}
