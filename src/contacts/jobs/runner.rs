//! The job runner: claims the oldest due job (with a lease), runs it to its end or until the
//! process stops, and records how it ended.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqlitePool};

use super::*;
use crate::connections;
use crate::model::{ContactJobKind, ContactJobStatus};
use crate::platform::Context;

/// How long a claimed job stays claimed without a checkpoint before another worker may take it.
pub(super) const LOCK_FOR: chrono::Duration = chrono::Duration::minutes(10);

#[derive(FromRow)]

pub(super) struct ClaimedJob {
    pub(super) id: i64,
    pub(super) connection_id: i64,
    pub(super) kind: ContactJobKind,
    pub(super) list_id: Option<i64>,
    pub(super) cursor: i64,
    pub(super) created_at: DateTime<Utc>,
}

/// Runs the oldest job that is due, to its end. False when there was none.
pub async fn run_next(ctx: &Context) -> anyhow::Result<bool> {
    let now = ctx.clock.now();
    let claimed: Option<ClaimedJob> = sqlx::query_as(
        "UPDATE contact_jobs SET status = ?, locked_until = ?
         WHERE id = (SELECT id FROM contact_jobs WHERE status IN (?, ?)
                     AND (locked_until IS NULL OR locked_until < ?) ORDER BY id LIMIT 1)
         RETURNING id, connection_id, kind, list_id, cursor, created_at",
    )
    .bind(ContactJobStatus::Running)
    .bind(now + LOCK_FOR)
    .bind(ContactJobStatus::Queued)
    .bind(ContactJobStatus::Running)
    .bind(now)
    .fetch_optional(&ctx.db)
    .await?;
    let Some(job) = claimed else {
        return Ok(false);
    };
    let client = match connections::find(&ctx.db, job.connection_id)
        .await
        .and_then(|c| c.smartemailing_client(ctx))
    {
        Ok(client) => client,
        Err(error) => {
            finish(
                &ctx.db,
                job.id,
                ctx.clock.now(),
                Some(&format!("{error:?}")),
            )
            .await?;
            return Ok(true);
        }
    };
    let outcome = match job.kind {
        ContactJobKind::Refresh => refresh(ctx, &client, &job).await?,
        ContactJobKind::Delete => delete(ctx, &client, &job).await?,
        ContactJobKind::Move | ContactJobKind::Blacklist => import(ctx, &client, &job).await?,
    };
    if let Some(stop) = outcome {
        finish(&ctx.db, job.id, ctx.clock.now(), stop.as_deref()).await?;
    }
    Ok(true)
}

/// `Some(None)`: completed; `Some(Some(reason))`: failed; `None`: the process is stopping.
pub(super) type Outcome = Option<Option<String>>;

async fn finish(
    db: &SqlitePool,
    job: i64,
    now: DateTime<Utc>,
    failure: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE contact_jobs SET status = ?, status_reason = ?, finished_at = ?, locked_until = NULL WHERE id = ?",
    )
    .bind(if failure.is_some() {
        ContactJobStatus::Failed
    } else {
        ContactJobStatus::Completed
    })
    .bind(failure)
    .bind(now)
    .bind(job)
    .execute(db)
    .await?;
    Ok(())
}

pub(super) fn stopping(ctx: &Context) -> bool {
    *ctx.work.stopping.borrow()
}
