//! The Overview: each connection's health at a glance, from indexed queries (a handful of
//! index lookups per connection, whatever the number of orders). [`operations`] is what the
//! metrics endpoint reports of the database.

pub mod operations;

use chrono::{DateTime, Utc};

use crate::connections;
use crate::error::AppError;
use crate::model::{DisplayTime, OverviewCard, ReminderStatus, SyncStatus};
use crate::platform::Context;
use crate::sync::runs;

pub async fn cards(ctx: &Context) -> Result<Vec<OverviewCard>, AppError> {
    let db = &ctx.db;
    let now = ctx.clock.now();
    let mut cards = Vec::new();
    for connection in connections::list(db).await? {
        let id = connection.id;
        // notifications_by_connection (connection_id, id): the newest row, not a scan.
        let last_notification: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT received_at FROM notifications WHERE connection_id = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(db)
        .await?;
        // orders_by_connection_status: two index range counts.
        let (waiting, failed): (i64, i64) = sqlx::query_as(
            "SELECT
                (SELECT COUNT(*) FROM orders WHERE connection_id = ?1 AND sync_status = ?2),
                (SELECT COUNT(*) FROM orders WHERE connection_id = ?1 AND sync_status = ?3)",
        )
        .bind(id)
        .bind(SyncStatus::Pending)
        .bind(SyncStatus::Failed)
        .fetch_one(db)
        .await?;
        let last_run = runs::latest(db, id).await?;
        // contacts_by_state: an index range count.
        let without_list: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM contacts
             WHERE connection_id = ? AND in_list = 0 AND blacklisted = 0 AND forgotten_at IS NULL",
        )
        .bind(id)
        .fetch_one(db)
        .await?;
        let (due_reminders, next_reminder): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT
                (SELECT COUNT(*) FROM reminders WHERE connection_id = ?1 AND status = ?3 AND due_at <= ?2),
                (SELECT MIN(due_at) FROM reminders WHERE connection_id = ?1 AND status = ?3 AND due_at > ?2)",
        )
        .bind(id)
        .bind(now)
        .bind(ReminderStatus::Scheduled)
        .fetch_one(db)
        .await?;
        cards.push(OverviewCard {
            connection: connection.to_view(ctx, false)?,
            last_notification: last_notification.map(DisplayTime::new),
            waiting,
            failed,
            last_run,
            without_list,
            due_reminders,
            next_reminder: next_reminder.map(DisplayTime::new),
        });
    }
    Ok(cards)
}
