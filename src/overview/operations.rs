//! What the metrics endpoint reports of the database: the queues (how many wait, since when)
//! and the progress of active historical syncs.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use crate::model::{ContactJobStatus, NotificationStatus, RunKind, RunStatus, SyncStatus};

/// One queue: its name, how many items wait, and when the oldest arrived.
pub struct QueueStat {
    pub queue: &'static str,
    pub depth: i64,
    pub oldest: Option<DateTime<Utc>>,
}

/// The notification, order, contact-check and contact-job queues.
pub async fn queues(db: &SqlitePool) -> Result<Vec<QueueStat>, sqlx::Error> {
    let (notifications, oldest_notification): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(received_at) FROM notifications WHERE status IN (?, ?)",
    )
    .bind(NotificationStatus::Queued)
    .bind(NotificationStatus::Processing)
    .fetch_one(db)
    .await?;
    let (orders, oldest_order): (i64, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT COUNT(*), MIN(updated_at) FROM orders WHERE sync_status = ?")
            .bind(SyncStatus::Pending)
            .fetch_one(db)
            .await?;
    let checks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE check_due = 1")
        .fetch_one(db)
        .await?;
    let (jobs, oldest_job): (i64, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM contact_jobs WHERE status IN (?, ?)")
            .bind(ContactJobStatus::Queued)
            .bind(ContactJobStatus::Running)
            .fetch_one(db)
            .await?;
    Ok(vec![
        QueueStat {
            queue: "notifications",
            depth: notifications,
            oldest: oldest_notification,
        },
        QueueStat {
            queue: "orders",
            depth: orders,
            oldest: oldest_order,
        },
        QueueStat {
            queue: "contact_checks",
            depth: checks,
            oldest: None,
        },
        QueueStat {
            queue: "contact_jobs",
            depth: jobs,
            oldest: oldest_job,
        },
    ])
}

/// An active historical sync: its run and connection, documents done and to do.
pub struct RunProgress {
    pub run_id: i64,
    pub connection_id: i64,
    pub documents: i64,
    pub total: Option<i64>,
}

pub async fn active_runs(db: &SqlitePool) -> Result<Vec<RunProgress>, sqlx::Error> {
    let rows: Vec<(i64, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, connection_id, documents, total FROM sync_runs
         WHERE kind = ? AND status IN (?, ?) ORDER BY id",
    )
    .bind(RunKind::Historical)
    .bind(RunStatus::Running)
    .bind(RunStatus::Paused)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(run_id, connection_id, documents, total)| RunProgress {
            run_id,
            connection_id,
            documents,
            total,
        })
        .collect())
}
