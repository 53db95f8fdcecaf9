//! Retention of the sync's records: notifications that reached an outcome and the push attempts
//! of synced orders are deleted once older than their configured age, in small batches so that
//! no delete holds SQLite's write lock for long.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use crate::model::{NotificationStatus, SyncStatus};

/// Rows deleted per statement.
pub const BATCH: i64 = 1_000;

/// Deletes up to [`BATCH`] finished notifications received before `cutoff`; how many.
pub async fn delete_notifications(
    db: &SqlitePool,
    cutoff: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "DELETE FROM notifications WHERE id IN (
            SELECT id FROM notifications WHERE received_at < ? AND status NOT IN (?, ?)
            ORDER BY id LIMIT ?)",
    )
    .bind(cutoff)
    .bind(NotificationStatus::Queued)
    .bind(NotificationStatus::Processing)
    .bind(BATCH)
    .execute(db)
    .await
    .map(|done| done.rows_affected())
}

/// Deletes up to [`BATCH`] push attempts made before `cutoff` of orders that are synced; how
/// many. (A failed or waiting order keeps its whole history.)
pub async fn delete_order_attempts(
    db: &SqlitePool,
    cutoff: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "DELETE FROM order_attempts WHERE id IN (
            SELECT a.id FROM order_attempts a JOIN orders o ON o.id = a.order_id
            WHERE a.at < ? AND o.sync_status = ? ORDER BY a.id LIMIT ?)",
    )
    .bind(cutoff)
    .bind(SyncStatus::Synced)
    .bind(BATCH)
    .execute(db)
    .await
    .map(|done| done.rows_affected())
}
