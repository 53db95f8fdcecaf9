//! Read models of the Sync history page and a run's page.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, QueryBuilder, SqlitePool};

use crate::model::{DisplayTime, RunKind, RunPhase, RunRequest, RunRow, RunStatus, SyncStatus};
use crate::platform::paging::Keyset;

#[derive(FromRow)]
struct Row {
    id: i64,
    connection_id: i64,
    connection: String,
    kind: RunKind,
    started_by: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    status: RunStatus,
    status_reason: Option<String>,
    phase: Option<RunPhase>,
    total: Option<i64>,
    documents: i64,
    created: i64,
    updated: i64,
    skipped: i64,
    failed: i64,
    requested: Option<RunRequest>,
    progress_at: Option<DateTime<Utc>>,
    resend: bool,
}

const SELECT: &str = "SELECT r.id, r.connection_id, c.name AS connection, r.kind, r.started_by, r.started_at,
    r.finished_at, r.status, r.status_reason, r.phase, r.total, r.documents, r.created, r.updated, r.skipped,
    r.failed, r.requested, r.progress_at, r.resend
    FROM sync_runs r JOIN connections c ON c.id = r.connection_id";

impl Row {
    fn into_view(self) -> (RunRow, Option<DateTime<Utc>>, DateTime<Utc>) {
        let started = self.started_at;
        let progress = self.progress_at;
        let row = RunRow {
            id: self.id,
            connection_id: self.connection_id,
            connection: self.connection,
            kind: self.kind,
            started_by: self.started_by,
            started_at: DisplayTime::new(self.started_at),
            finished_at: self.finished_at.map(DisplayTime::new),
            duration_secs: self
                .finished_at
                .map(|end| (end - self.started_at).num_seconds()),
            status: self.status,
            status_reason: self.status_reason,
            phase: self.phase,
            total: self.total,
            documents: self.documents,
            created: self.created,
            updated: self.updated,
            skipped: self.skipped,
            failed: self.failed,
            requested: self.requested,
            resend: self.resend,
        };
        (row, progress, started)
    }
}

pub async fn list(
    db: &SqlitePool,
    connection: Option<i64>,
    kind: Option<RunKind>,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<RunRow>, Option<i64>), sqlx::Error> {
    let page = Keyset::new(before, limit);
    let mut query = QueryBuilder::new(SELECT);
    query.push(" WHERE r.id < ").push_bind(page.upper_bound());
    if let Some(connection) = connection {
        query.push(" AND r.connection_id = ").push_bind(connection);
    }
    if let Some(kind) = kind {
        query.push(" AND r.kind = ").push_bind(kind);
    }
    query
        .push(" ORDER BY r.id DESC LIMIT ")
        .push_bind(page.fetch_limit());
    let rows: Vec<Row> = query.build_query_as().fetch_all(db).await?;
    let (rows, next) = page.split(rows, |r| r.id);
    Ok((rows.into_iter().map(|r| r.into_view().0).collect(), next))
}

/// The newest run of a connection (sync_runs_by_connection: one index step).
pub async fn latest(db: &SqlitePool, connection_id: i64) -> Result<Option<RunRow>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE r.connection_id = ? ORDER BY r.id DESC LIMIT 1"
    ))
    .bind(connection_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|row| row.into_view().0))
}

/// A run with its progress: (row, documents per second, seconds left).
pub async fn one(
    db: &SqlitePool,
    id: i64,
) -> Result<Option<(RunRow, Option<f64>, Option<i64>)>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE r.id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|row| {
        let (view, progress, started) = row.into_view();
        let elapsed = progress
            .map(|p| (p - started).num_milliseconds() as f64 / 1000.0)
            .filter(|s| *s > 0.0);
        let rate = elapsed
            .map(|secs| view.documents as f64 / secs)
            .filter(|r| *r > 0.0);
        let eta = match (rate, view.total, view.status) {
            (Some(rate), Some(total), RunStatus::Running) => {
                Some(((total - view.documents).max(0) as f64 / rate).ceil() as i64)
            }
            _ => None,
        };
        (view, rate, eta)
    }))
}

/// (synced, waiting) orders of a run.
pub async fn order_counts(db: &SqlitePool, run_id: i64) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT coalesce(sum(sync_status = ?), 0), coalesce(sum(sync_status = ?), 0)
         FROM orders WHERE run_id = ?",
    )
    .bind(SyncStatus::Synced)
    .bind(SyncStatus::Pending)
    .bind(run_id)
    .fetch_one(db)
    .await
}
