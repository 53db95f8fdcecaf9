//! What is wrong now, and what happened: evaluated on a schedule by the alerts worker, each
//! turned into at most one alert while it lasts (`alert_conditions`) or per event (the alert's
//! dedup key). Every check reads indexed aggregates; nothing here calls FAPI or SmartEmailing.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sqlx::{FromRow, SqliteConnection};

use super::{Details, NewAlert, raise};
use crate::connections;
use crate::model::{AlertKind, ReminderStatus, RunKind, RunStatus, SyncStatus};
use crate::platform::Context;
use crate::sync::mapping::Source;

/// At most one failed-orders digest per connection in this time.
pub const DIGEST_INTERVAL: Duration = Duration::hours(1);
/// Reasons listed in a digest.
const DIGEST_REASONS: usize = 3;
/// Documents found by reconciliation within a day that mean notifications are not arriving.
pub const MISSED_PER_DAY: i64 = 3;
/// Forwarding on, nothing notified for this long, while FAPI has new documents.
pub const SILENCE: Duration = Duration::days(7);
/// Historical runs and due reminders older than this are not announced (e.g. after an upgrade).
const EVENT_WINDOW: Duration = Duration::days(7);

/// Evaluates every alert condition once; raises what is new and resolves what ended.
pub async fn evaluate(ctx: &Context) -> anyhow::Result<()> {
    let connections = connections::list(&ctx.db).await?;
    let active = active_conditions(ctx).await?;
    // A deleted connection's conditions end without a word (it is gone from the app).
    for (kind, connection_id) in active.keys() {
        if !connections.iter().any(|c| c.id == *connection_id) {
            sqlx::query("DELETE FROM alert_conditions WHERE kind = ? AND connection_id = ?")
                .bind(kind)
                .bind(connection_id)
                .execute(&ctx.db)
                .await?;
        }
    }
    for connection in &connections {
        // One connection's failure (say, a key that no longer decrypts) holds back no other.
        let checked = async {
            let active_of = |kind| active.get(&(kind, connection.id));
            failed_orders(ctx, connection, active_of(AlertKind::FailedOrders)).await?;
            credentials(ctx, connection, active_of(AlertKind::Credentials)).await?;
            notifications(ctx, connection, active_of(AlertKind::NotificationsMissing)).await
        }
        .await;
        if let Err(error) = checked {
            tracing::error!(
                connection = connection.id,
                error = format!("{error:#}"),
                "alert conditions of a connection not evaluated"
            );
        }
    }
    if let Err(error) = historical_runs(ctx).await {
        tracing::error!(
            error = format!("{error:#}"),
            "ended historical syncs not announced"
        );
    }
    if let Err(error) = due_reminders(ctx).await {
        tracing::error!(error = format!("{error:#}"), "due reminders not announced");
    }
    // Whatever was queued goes out now.
    ctx.work.mail.notify_one();
    Ok(())
}

async fn active_conditions(
    ctx: &Context,
) -> Result<HashMap<(AlertKind, i64), DateTime<Utc>>, sqlx::Error> {
    let rows: Vec<(AlertKind, i64, DateTime<Utc>)> =
        sqlx::query_as("SELECT kind, connection_id, since FROM alert_conditions")
            .fetch_all(&ctx.db)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, connection, since)| ((kind, connection), since))
        .collect())
}

async fn begin(
    tx: &mut SqliteConnection,
    kind: AlertKind,
    connection_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO alert_conditions (kind, connection_id, since) VALUES (?, ?, ?)
         ON CONFLICT (kind, connection_id) DO NOTHING",
    )
    .bind(kind)
    .bind(connection_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Ends a condition with its "resolved" alert, in one transaction.
async fn resolve(
    ctx: &Context,
    kind: AlertKind,
    connection: &connections::ConnectionRecord,
) -> anyhow::Result<()> {
    let mut tx = ctx.db.begin().await?;
    sqlx::query("DELETE FROM alert_conditions WHERE kind = ? AND connection_id = ?")
        .bind(kind)
        .bind(connection.id)
        .execute(&mut *tx)
        .await?;
    raise(
        ctx,
        &mut tx,
        &condition_alert(kind, connection, true, Details::default()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Orders failed for good: a digest of the failures no digest told yet, at most one an hour;
/// resolved once the connection has no failed order left. Each order carries when a digest
/// last told its failure (`failure_alerted_at`), so an order that fails again is told again.
async fn failed_orders(
    ctx: &Context,
    connection: &connections::ConnectionRecord,
    active: Option<&DateTime<Utc>>,
) -> anyhow::Result<()> {
    let now = ctx.now();
    // One read: how many orders are failed, how many of them no digest told, and when the
    // last digest went.
    let (failed_now, untold, last_sent): (i64, i64, Option<DateTime<Utc>>) =
        sqlx::query_as(&format!(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE {UNTOLD}),
                    (SELECT sent_at FROM failed_order_digests WHERE connection_id = ?)
             FROM orders WHERE connection_id = ? AND sync_status = ?"
        ))
        .bind(connection.id)
        .bind(connection.id)
        .bind(SyncStatus::Failed)
        .fetch_one(&ctx.db)
        .await?;
    if failed_now == 0 {
        if active.is_some() {
            resolve(ctx, AlertKind::FailedOrders, connection).await?;
        }
        return Ok(());
    }
    if untold == 0 || last_sent.is_some_and(|sent| now - sent < DIGEST_INTERVAL) {
        return Ok(());
    }
    let mut tx = ctx.db.begin().await?;
    // What this digest tells is exactly what it marks (one statement): a failure committed
    // meanwhile is told by the next digest.
    let told: Vec<Option<String>> = sqlx::query_scalar(&format!(
        "UPDATE orders SET failure_alerted_at = MAX(?, updated_at)
         WHERE connection_id = ? AND sync_status = ? AND {UNTOLD}
         RETURNING status_reason"
    ))
    .bind(now)
    .bind(connection.id)
    .bind(SyncStatus::Failed)
    .fetch_all(&mut *tx)
    .await?;
    if told.is_empty() {
        return Ok(());
    }
    let details = Details {
        count: Some(told.len() as i64),
        reasons: commonest(told),
        ..Details::default()
    };
    raise(
        ctx,
        &mut tx,
        &condition_alert(AlertKind::FailedOrders, connection, false, details),
    )
    .await?;
    sqlx::query(
        "INSERT INTO failed_order_digests (connection_id, sent_at) VALUES (?, ?)
         ON CONFLICT (connection_id) DO UPDATE SET sent_at = excluded.sent_at",
    )
    .bind(connection.id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    begin(&mut tx, AlertKind::FailedOrders, connection.id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// A failed order no digest has told since it last failed.
const UNTOLD: &str = "(failure_alerted_at IS NULL OR failure_alerted_at < updated_at)";

/// The [`DIGEST_REASONS`] commonest reasons and how many orders each (ties by text).
fn commonest(reasons: Vec<Option<String>>) -> Vec<(String, i64)> {
    let mut counts: HashMap<String, i64> = HashMap::new();
    for reason in reasons {
        *counts.entry(reason.unwrap_or_default()).or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts.truncate(DIGEST_REASONS);
    counts
}

/// FAPI or SmartEmailing refuse the stored credentials (recorded by the last check or sync
/// call): alert at once, once; resolved when both accept them again.
async fn credentials(
    ctx: &Context,
    connection: &connections::ConnectionRecord,
    active: Option<&DateTime<Utc>>,
) -> anyhow::Result<()> {
    match (connection.refused_credentials(), active) {
        (Some((system, message)), None) => {
            let details = Details {
                system: Some(system),
                message: Some(message),
                ..Details::default()
            };
            raise_condition(ctx, AlertKind::Credentials, connection, details).await?
        }
        (None, Some(_)) => resolve(ctx, AlertKind::Credentials, connection).await?,
        _ => {}
    }
    Ok(())
}

#[derive(FromRow)]
struct NotificationFacts {
    found_day: i64,
    found_silence: i64,
    last_notified: Option<DateTime<Utc>>,
}

/// Reconciliation keeps finding documents FAPI did not notify (three in a day), or forwarding
/// is on and nothing was notified for 7 days while FAPI has new documents. Resolved once the
/// signs are gone and a notification arrived after the alert.
async fn notifications(
    ctx: &Context,
    connection: &connections::ConnectionRecord,
    active: Option<&DateTime<Utc>>,
) -> anyhow::Result<()> {
    let now = ctx.now();
    // Orders from before forwarding was switched on (reconciliation's overlap) are skipped:
    // their notifications were never due.
    let facts: NotificationFacts = sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE first_seen_at > ?) AS found_day,
                COUNT(*) AS found_silence,
                (SELECT received_at FROM notifications WHERE connection_id = ?
                 ORDER BY id DESC LIMIT 1) AS last_notified
         FROM orders
         WHERE connection_id = ? AND source = ? AND first_seen_at > ? AND sync_status <> ?",
    )
    .bind(now - Duration::days(1))
    .bind(connection.id)
    .bind(connection.id)
    .bind(Source::Reconciliation.as_str())
    .bind(now - SILENCE)
    .bind(SyncStatus::Skipped)
    .fetch_one(&ctx.db)
    .await?;
    let forwarding_long_enough = connection.forwarding_enabled
        && connection
            .forwarding_enabled_at
            .is_some_and(|since| now - since >= SILENCE);
    let silent = facts.last_notified.is_none_or(|last| now - last >= SILENCE);
    let missing = connection.forwarding_enabled
        && (facts.found_day >= MISSED_PER_DAY
            || (forwarding_long_enough && silent && facts.found_silence > 0));
    match active {
        None if missing => {
            let details = Details {
                count: Some(if facts.found_day >= MISSED_PER_DAY {
                    facts.found_day
                } else {
                    facts.found_silence
                }),
                ..Details::default()
            };
            raise_condition(ctx, AlertKind::NotificationsMissing, connection, details).await?
        }
        Some(since) if !missing && facts.last_notified.is_some_and(|last| last > *since) => {
            resolve(ctx, AlertKind::NotificationsMissing, connection).await?
        }
        _ => {}
    }
    Ok(())
}

#[derive(FromRow)]
struct EndedRun {
    id: i64,
    connection_id: i64,
    connection: String,
    status: RunStatus,
    status_reason: Option<String>,
    documents: i64,
    user_id: i64,
}

/// A historical sync that ended (completed or failed): to the person who started it.
async fn historical_runs(ctx: &Context) -> anyhow::Result<()> {
    let runs: Vec<EndedRun> = sqlx::query_as(
        "SELECT r.id, r.connection_id, c.name AS connection, r.status, r.status_reason, r.documents,
                u.id AS user_id
         FROM sync_runs r
         JOIN connections c ON c.id = r.connection_id
         JOIN users u ON u.email = r.started_by
         WHERE r.kind = ? AND r.status IN (?, ?) AND r.finished_at > ?
           AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.dedup_key = 'run:' || r.id)",
    )
    .bind(RunKind::Historical)
    .bind(RunStatus::Completed)
    .bind(RunStatus::Failed)
    .bind(ctx.now() - EVENT_WINDOW)
    .fetch_all(&ctx.db)
    .await?;
    for run in runs {
        raise_event(
            ctx,
            NewAlert {
                kind: AlertKind::HistoricalRun,
                resolved: false,
                connection_id: Some(run.connection_id),
                user_id: Some(run.user_id),
                details: Details {
                    connection: Some(run.connection),
                    run_id: Some(run.id),
                    run_status: Some(run.status),
                    message: run.status_reason,
                    count: Some(run.documents),
                    ..Details::default()
                },
                dedup_key: Some(format!("run:{}", run.id)),
            },
        )
        .await?;
    }
    Ok(())
}

#[derive(FromRow)]
struct DueReminder {
    id: i64,
    connection_id: i64,
    connection: String,
    due_at: DateTime<Utc>,
    note: Option<String>,
}

/// A reminder that fell due: to everyone who chose reminders, with its calendar event.
async fn due_reminders(ctx: &Context) -> anyhow::Result<()> {
    let now = ctx.now();
    let due: Vec<DueReminder> = sqlx::query_as(
        "SELECT r.id, r.connection_id, c.name AS connection, r.due_at, r.note
         FROM reminders r JOIN connections c ON c.id = r.connection_id
         WHERE r.status = ? AND r.due_at <= ? AND r.due_at > ?
           AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.dedup_key = 'reminder:' || r.id)",
    )
    .bind(ReminderStatus::Scheduled)
    .bind(now)
    .bind(now - EVENT_WINDOW)
    .fetch_all(&ctx.db)
    .await?;
    for reminder in due {
        raise_event(
            ctx,
            NewAlert {
                kind: AlertKind::Reminder,
                resolved: false,
                connection_id: Some(reminder.connection_id),
                user_id: None,
                details: Details {
                    connection: Some(reminder.connection),
                    reminder_id: Some(reminder.id),
                    due_at: Some(reminder.due_at),
                    note: reminder.note,
                    ..Details::default()
                },
                dedup_key: Some(format!("reminder:{}", reminder.id)),
            },
        )
        .await?;
    }
    Ok(())
}

/// Raises a connection's condition and marks it as alerting, in one transaction.
async fn raise_condition(
    ctx: &Context,
    kind: AlertKind,
    connection: &connections::ConnectionRecord,
    details: Details,
) -> anyhow::Result<()> {
    let mut tx = ctx.db.begin().await?;
    raise(
        ctx,
        &mut tx,
        &condition_alert(kind, connection, false, details),
    )
    .await?;
    begin(&mut tx, kind, connection.id, ctx.now()).await?;
    tx.commit().await?;
    Ok(())
}

/// A connection's condition alert (or its "resolved"), to the team.
fn condition_alert(
    kind: AlertKind,
    connection: &connections::ConnectionRecord,
    resolved: bool,
    details: Details,
) -> NewAlert {
    NewAlert {
        kind,
        resolved,
        connection_id: Some(connection.id),
        user_id: None,
        details: Details {
            connection: Some(connection.name.clone()),
            ..details
        },
        dedup_key: None,
    }
}

/// Raises an event's alert (once per dedup key).
async fn raise_event(ctx: &Context, alert: NewAlert) -> anyhow::Result<()> {
    let mut tx = ctx.db.begin().await?;
    raise(ctx, &mut tx, &alert).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_lists_the_commonest_reasons_first() {
        let reasons = ["b", "a", "b", "c", "b", "a", "d"]
            .into_iter()
            .map(|r| Some(r.to_string()))
            .chain([None])
            .collect();
        assert_eq!(
            commonest(reasons),
            [
                ("b".to_string(), 3),
                ("a".to_string(), 2),
                ("".to_string(), 1)
            ]
        );
    }
}
