//! Read models of contact jobs: the recent jobs and one job with its per-contact results.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqlitePool};

use crate::model::{
    ContactJobDetail, ContactJobItem, ContactJobItemStatus, ContactJobKind, ContactJobStatus,
    ContactJobView, DisplayTime,
};

#[derive(FromRow)]
struct JobRecord {
    id: i64,
    connection: String,
    kind: ContactJobKind,
    list_name: Option<String>,
    started_by: String,
    created_at: DateTime<Utc>,
    status: ContactJobStatus,
    status_reason: Option<String>,
    total: Option<i64>,
    done: i64,
    succeeded: i64,
    failed: i64,
    finished_at: Option<DateTime<Utc>>,
}

impl From<JobRecord> for ContactJobView {
    fn from(r: JobRecord) -> Self {
        ContactJobView {
            id: r.id,
            connection: r.connection,
            kind: r.kind,
            list_name: r.list_name,
            started_by: r.started_by,
            created_at: DisplayTime::new(r.created_at),
            status: r.status,
            status_reason: r.status_reason,
            total: r.total,
            done: r.done,
            succeeded: r.succeeded,
            failed: r.failed,
            finished_at: r.finished_at.map(DisplayTime::new),
        }
    }
}

const JOB_SELECT: &str =
    "SELECT j.id, k.name AS connection, j.kind, j.list_name, j.started_by, j.created_at,
    j.status, j.status_reason, j.total, j.done, j.succeeded, j.failed, j.finished_at
    FROM contact_jobs j JOIN connections k ON k.id = j.connection_id";

/// The latest jobs, newest first.
pub async fn recent(db: &SqlitePool, limit: i64) -> Result<Vec<ContactJobView>, sqlx::Error> {
    let rows: Vec<JobRecord> = sqlx::query_as(&format!("{JOB_SELECT} ORDER BY j.id DESC LIMIT ?"))
        .bind(limit)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// A job with the result per contact.
pub async fn detail(db: &SqlitePool, id: i64) -> Result<Option<ContactJobDetail>, sqlx::Error> {
    let job: Option<JobRecord> = sqlx::query_as(&format!("{JOB_SELECT} WHERE j.id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await?;
    let Some(job) = job else {
        return Ok(None);
    };
    let items: Vec<(String, ContactJobItemStatus, Option<String>)> = sqlx::query_as(
        "SELECT email, status, message FROM contact_job_items WHERE job_id = ? ORDER BY contact_id",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    Ok(Some(ContactJobDetail {
        job: job.into(),
        items: items
            .into_iter()
            .map(|(email, status, message)| ContactJobItem {
                email,
                status,
                message,
            })
            .collect(),
    }))
}
