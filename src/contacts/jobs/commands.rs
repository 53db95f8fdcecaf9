//! Starting contact jobs: "Refresh from SmartEmailing" and the bulk actions, each recorded
//! with its one-time key (a double submit finds the first job) and audited.

use serde_json::json;
use sqlx::SqlitePool;

use crate::contacts::queries;

use crate::accounts::audit::{self, Actor};
use crate::connections;
use crate::error::{AppError, Invalid};
use crate::model::{ContactFilter, ContactJobItemStatus, ContactJobKind, ContactJobStatus, System};
use crate::platform::Context;

pub mod actions {
    pub const REFRESHED: &str = "contacts.refresh";
    pub const MOVED: &str = "contacts.move";
    pub const BLACKLISTED: &str = "contacts.blacklist";
    pub const DELETED: &str = "contacts.delete";
}

/// What a bulk action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    Move { list_id: i64 },
    Blacklist,
    Delete,
}

impl BulkAction {
    fn kind(self) -> ContactJobKind {
        match self {
            BulkAction::Move { .. } => ContactJobKind::Move,
            BulkAction::Blacklist => ContactJobKind::Blacklist,
            BulkAction::Delete => ContactJobKind::Delete,
        }
    }
}

/// Starts "Refresh from SmartEmailing" for a connection (one at a time per connection).
pub async fn start_refresh(
    ctx: &Context,
    actor: &Actor,
    connection_id: i64,
) -> Result<i64, AppError> {
    let connection = connections::find(&ctx.db, connection_id).await?;
    let running: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM contact_jobs WHERE connection_id = ? AND kind = ? AND status IN (?, ?)",
    )
    .bind(connection.id)
    .bind(ContactJobKind::Refresh)
    .bind(ContactJobStatus::Queued)
    .bind(ContactJobStatus::Running)
    .fetch_optional(&ctx.db)
    .await?;
    if let Some(id) = running {
        return Ok(id);
    }
    let now = ctx.clock.now();
    let id = sqlx::query(
        "INSERT INTO contact_jobs (connection_id, kind, started_by, created_at, status) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(connection.id)
    .bind(ContactJobKind::Refresh)
    .bind(actor.name())
    .bind(now)
    .bind(ContactJobStatus::Queued)
    .execute(&ctx.db)
    .await?
    .last_insert_rowid();
    // A refresh the bridge starts itself (the check after a burst) is no one's action: it is
    // listed with the contact jobs, not in the audit log.
    if actor.user.is_some() {
        audit::record(
            &ctx.db,
            now,
            actor
                .event(actions::REFRESHED)
                .target(&connection.name)
                .details(json!({ "job": id })),
        )
        .await?;
    }
    ctx.work.contacts.notify_one();
    Ok(id)
}

/// Starts a bulk action on the selected contacts (or, with `selected` = None, on every
/// contact matching `filter`). `expected` is the count the user confirmed; if the set changed
/// since, nothing starts.
pub async fn start_bulk(
    ctx: &Context,
    actor: &Actor,
    action: BulkAction,
    filter: &ContactFilter,
    selected: Option<&[i64]>,
    expected: i64,
    request_key: &str,
) -> Result<i64, AppError> {
    if let Some(id) = job_with_key(&ctx.db, request_key).await? {
        return Ok(id);
    }
    let targets = queries::targets(&ctx.db, filter, selected).await?;
    if targets.is_empty() {
        return Err(Invalid::NothingSelected.into());
    }
    if targets.len() as i64 != expected {
        return Err(Invalid::CountChanged {
            now: targets.len() as i64,
        }
        .into());
    }
    let connection_id = targets[0].1;
    if targets.iter().any(|t| t.1 != connection_id) {
        return Err(Invalid::ConnectionRequired.into());
    }
    let connection = connections::find(&ctx.db, connection_id).await?;
    let list_name = match action {
        BulkAction::Move { list_id } => {
            let client = connection.smartemailing_client(ctx)?;
            let lists = client
                .contact_lists()
                .await
                .map_err(|e| AppError::Upstream(System::SmartEmailing, e.to_string()))?;
            let list = lists
                .into_iter()
                .find(|l| l.id == list_id)
                .ok_or(Invalid::ListUnknown)?;
            Some(list.name)
        }
        _ => None,
    };
    let now = ctx.clock.now();
    let mut tx = ctx.db.begin().await?;
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO contact_jobs (connection_id, kind, list_id, list_name, request_key, started_by, created_at, status, total)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (request_key) DO NOTHING RETURNING id",
    )
    .bind(connection.id)
    .bind(action.kind())
    .bind(match action {
        BulkAction::Move { list_id } => Some(list_id),
        _ => None,
    })
    .bind(&list_name)
    .bind(request_key)
    .bind(actor.name())
    .bind(now)
    .bind(ContactJobStatus::Queued)
    .bind(targets.len() as i64)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(job) = inserted else {
        drop(tx);
        return job_with_key(&ctx.db, request_key)
            .await?
            .ok_or(AppError::NotFound);
    };
    for (contact_id, _, email, _) in &targets {
        sqlx::query(
            "INSERT INTO contact_job_items (job_id, contact_id, email, status) VALUES (?, ?, ?, ?)",
        )
        .bind(job)
        .bind(contact_id)
        .bind(email)
        .bind(ContactJobItemStatus::Pending)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let audit_action = match action {
        BulkAction::Move { .. } => actions::MOVED,
        BulkAction::Blacklist => actions::BLACKLISTED,
        BulkAction::Delete => actions::DELETED,
    };
    audit::record(
        &ctx.db,
        now,
        actor
            .event(audit_action)
            .target(&connection.name)
            .details(json!({ "job": job, "contacts": targets.len(), "list": list_name })),
    )
    .await?;
    ctx.work.contacts.notify_one();
    Ok(job)
}

async fn job_with_key(db: &SqlitePool, key: &str) -> Result<Option<i64>, sqlx::Error> {
    if key.is_empty() {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT id FROM contact_jobs WHERE request_key = ?")
        .bind(key)
        .fetch_optional(db)
        .await
}
