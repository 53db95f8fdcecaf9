//! Alerts: the bridge tells people when the sync stops, in the app (the bell) and by e-mail.
//!
//! [`conditions`] evaluates what is wrong now (failed orders, refused credentials, missing
//! notifications) and what happened (a historical sync ended, a reminder fell due); each new
//! condition or event becomes one alert row ([`raise`]), and in the same transaction one
//! outbox e-mail per user who chose that kind. A condition alerts once while it lasts and once
//! more ("resolved") when it ends. [`bell`] lists them per user.

pub mod bell;
pub mod conditions;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::SqliteConnection;

use crate::accounts::preferences::{self, Recipient};
use crate::i18n::mail::{self, Facts};
use crate::mail::Composed;
use crate::mail::ics::Method;
use crate::mail::outbox::{self, Email};
use crate::model::{AlertKind, DisplayTime, EmailKind, Role, RunStatus, System};
use crate::platform::Context;
use crate::reminders::calendar;

/// The facts of an alert, stored as JSON (`alerts.details`); its texts are made from them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<(String, i64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<System>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_status: Option<RunStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An alert to record.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub kind: AlertKind,
    pub resolved: bool,
    pub connection_id: Option<i64>,
    /// Only this user sees it and gets it by e-mail; `None`: the team.
    pub user_id: Option<i64>,
    pub details: Details,
    /// One alert per event: a second alert with the same key is not recorded.
    pub dedup_key: Option<String>,
}

/// Deletes up to `batch` alerts raised before `cutoff`; how many. (A condition that still
/// lasts keeps its row in `alert_conditions`, so it does not alert again.)
pub async fn delete_older_than(
    db: &sqlx::SqlitePool,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "DELETE FROM alerts WHERE id IN (
            SELECT id FROM alerts WHERE created_at < ? ORDER BY id LIMIT ?)",
    )
    .bind(cutoff)
    .bind(batch)
    .execute(db)
    .await
    .map(|done| done.rows_affected())
}

/// Where the app shows what an alert is about.
pub fn link(kind: AlertKind, connection_id: Option<i64>, details: &Details) -> String {
    match (kind, connection_id) {
        (AlertKind::FailedOrders, Some(id)) => format!("/orders?connection={id}&status=failed"),
        (AlertKind::FailedOrders, None) => "/orders?status=failed".into(),
        (AlertKind::Credentials | AlertKind::NotificationsMissing, Some(id)) => {
            format!("/connections/{id}")
        }
        (AlertKind::HistoricalRun, _) => details.run_id.map_or_else(
            || "/sync-history".into(),
            |id| format!("/sync-history/{id}"),
        ),
        _ => "/reminders".into(),
    }
}

/// Records `alert` (unless its dedup key was recorded before) and queues its e-mail to every
/// recipient who chose its kind, all in the caller's transaction. The alert's id, or `None`
/// when it was a duplicate.
pub async fn raise(
    ctx: &Context,
    tx: &mut SqliteConnection,
    alert: &NewAlert,
) -> anyhow::Result<Option<i64>> {
    let now = ctx.now();
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO alerts (kind, resolved, connection_id, user_id, details, dedup_key, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
    )
    .bind(alert.kind)
    .bind(alert.resolved)
    .bind(alert.connection_id)
    .bind(alert.user_id)
    .bind(serde_json::to_string(&alert.details)?)
    .bind(alert.dedup_key.as_deref())
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    tracing::info!(alert = id, kind = %alert.kind, resolved = alert.resolved, connection = ?alert.connection_id, "alert raised");
    if ctx.mailer.is_some() {
        // Read on the transaction's own connection: it holds the write lock, and waiting for
        // a second pool connection here could wait on writers that wait on this lock.
        let recipients = preferences::recipients(&mut *tx, alert.kind, alert.user_id).await?;
        if !recipients.is_empty() {
            let looked_up = LookedUp::of(ctx, tx, alert).await?;
            for recipient in &recipients {
                let email = email(ctx, alert, &looked_up, recipient);
                outbox::enqueue(&mut *tx, &email, now).await?;
            }
        }
    }
    Ok(Some(id))
}

/// What an alert's e-mails need beyond its details, read once for all recipients (on the
/// transaction's connection).
struct LookedUp {
    /// FAPI's notification URL, for a "notifications missing" alert.
    webhook_url: Option<String>,
    /// The reminder of a due-reminder alert (its calendar event goes along).
    reminder: Option<calendar::CalendarReminder>,
}

impl LookedUp {
    async fn of(
        ctx: &Context,
        tx: &mut SqliteConnection,
        alert: &NewAlert,
    ) -> anyhow::Result<LookedUp> {
        let webhook_url = match (alert.kind, alert.resolved, alert.connection_id) {
            (AlertKind::NotificationsMissing, false, Some(id)) => Some(
                crate::connections::find(&mut *tx, id)
                    .await?
                    .webhook_url(ctx)?,
            ),
            _ => None,
        };
        let reminder = match (alert.kind, alert.details.reminder_id) {
            (AlertKind::Reminder, Some(id)) => Some(calendar::find(&mut *tx, id).await?),
            _ => None,
        };
        Ok(LookedUp {
            webhook_url,
            reminder,
        })
    }
}

/// The alert's e-mail to one recipient, in their language.
fn email(ctx: &Context, alert: &NewAlert, looked_up: &LookedUp, recipient: &Recipient) -> Email {
    let d = &alert.details;
    let connection = d.connection.as_deref().unwrap_or_default();
    // The URL to paste into FAPI is a secret only admins see in the app.
    let webhook_url = looked_up
        .webhook_url
        .as_deref()
        .filter(|_| recipient.role == Role::Admin);
    let due = d.due_at.map(|due| DisplayTime::new(due).prague);
    let facts = match (alert.kind, alert.resolved) {
        (AlertKind::FailedOrders, false) => Facts::FailedOrders {
            connection,
            count: d.count.unwrap_or_default(),
            reasons: &d.reasons,
        },
        (AlertKind::FailedOrders, true) => Facts::FailedOrdersResolved { connection },
        (AlertKind::Credentials, false) => Facts::Credentials {
            connection,
            system: d.system.unwrap_or(System::Fapi),
            message: d.message.as_deref().unwrap_or_default(),
        },
        (AlertKind::Credentials, true) => Facts::CredentialsResolved { connection },
        (AlertKind::NotificationsMissing, false) => Facts::NotificationsMissing {
            connection,
            found: d.count.unwrap_or_default(),
            webhook_url,
        },
        (AlertKind::NotificationsMissing, true) => Facts::NotificationsResolved { connection },
        (AlertKind::HistoricalRun, _) => Facts::RunEnded {
            connection,
            status: d.run_status.unwrap_or(RunStatus::Completed),
            reason: d.message.as_deref(),
            documents: d.count.unwrap_or_default(),
        },
        (AlertKind::Reminder, _) => Facts::ReminderDue {
            connection,
            due: due.as_deref().unwrap_or_default(),
            note: d.note.as_deref(),
        },
    };
    // The due reminder carries its calendar event (the same UID: it updates the invitation).
    if let Some(reminder) = &looked_up.reminder {
        return calendar::email(
            ctx,
            reminder,
            recipient,
            &facts,
            Method::Request,
            EmailKind::Alert,
        );
    }
    let base = &ctx.settings.public_base;
    Email {
        kind: EmailKind::Alert,
        to: recipient.email.clone(),
        user_id: Some(recipient.user_id),
        content: Composed::from_letter(
            mail::letter(recipient.lang, &facts),
            format!("{base}{}", link(alert.kind, alert.connection_id, d)),
            Some(mail::footer(recipient.lang, &format!("{base}/settings"))),
        ),
        calendar: None,
        reminder_id: None,
    }
}
