//! Durable contact jobs: "Refresh from SmartEmailing" and the bulk actions (move into a list,
//! blacklist, GDPR delete), plus the check of contacts whose orders were just synced.
//!
//! A job is a row in `contact_jobs`; a bulk action's contacts are rows in `contact_job_items`
//! with a result each. The job loop claims one job at a time and checkpoints after every batch
//! of 500 (or every page of a refresh), so a restart continues without acting twice on a
//! contact. Creating a job carries the form's one-time key: a double submit finds the first
//! job.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{FromRow, SqlitePool};

use crate::contacts::{self, queries};
use crate::error::{AppError, Invalid};
use crate::model::{
    ContactFilter, ContactJobDetail, ContactJobItem, ContactJobView, DisplayTime, System,
};
use crate::server::audit::{self, Actor};
use crate::server::connections;
use crate::server::state::AppState;
use crate::smartemailing::{
    BATCH_LIMIT, Blacklist, ContactImport, ContactQuery, ForgetOutcome, ImportSettings,
    ListMembership, ListStatus, SeError, SmartEmailingClient,
};

pub mod actions {
    pub const REFRESHED: &str = "contacts.refresh";
    pub const MOVED: &str = "contacts.move";
    pub const BLACKLISTED: &str = "contacts.blacklist";
    pub const DELETED: &str = "contacts.delete";
}

const LOCK_FOR: chrono::Duration = chrono::Duration::minutes(10);
/// Contacts looked up per round of the post-sync check.
const CHECKS_PER_ROUND: i64 = 100;

/// What a bulk action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    Move { list_id: i64 },
    Blacklist,
    Delete,
}

impl BulkAction {
    fn kind(self) -> &'static str {
        match self {
            BulkAction::Move { .. } => "move",
            BulkAction::Blacklist => "blacklist",
            BulkAction::Delete => "delete",
        }
    }
}

/// Starts "Refresh from SmartEmailing" for a connection (one at a time per connection).
pub async fn start_refresh(
    state: &AppState,
    actor: &Actor,
    connection_id: i64,
) -> Result<i64, AppError> {
    let connection = connections::find(&state.db, connection_id).await?;
    let running: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM contact_jobs WHERE connection_id = ? AND kind = 'refresh' AND status IN ('queued', 'running')",
    )
    .bind(connection.id)
    .fetch_optional(&state.db)
    .await?;
    if let Some(id) = running {
        return Ok(id);
    }
    let now = state.clock.now();
    let id = sqlx::query(
        "INSERT INTO contact_jobs (connection_id, kind, started_by, created_at, status) VALUES (?, 'refresh', ?, ?, 'queued')",
    )
    .bind(connection.id)
    .bind(actor.name())
    .bind(now)
    .execute(&state.db)
    .await?
    .last_insert_rowid();
    audit::record(
        &state.db,
        now,
        actor
            .event(actions::REFRESHED)
            .target(&connection.name)
            .details(json!({ "job": id })),
    )
    .await?;
    state.work.contacts.notify_one();
    Ok(id)
}

/// Starts a bulk action on the selected contacts (or, with `selected` = None, on every
/// contact matching `filter`). `expected` is the count the user confirmed; if the set changed
/// since, nothing starts.
pub async fn start_bulk(
    state: &AppState,
    actor: &Actor,
    action: BulkAction,
    filter: &ContactFilter,
    selected: Option<&[i64]>,
    expected: i64,
    request_key: &str,
) -> Result<i64, AppError> {
    if let Some(id) = job_with_key(&state.db, request_key).await? {
        return Ok(id);
    }
    let targets = queries::targets(&state.db, filter, selected).await?;
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
    let connection = connections::find(&state.db, connection_id).await?;
    let list_name = match action {
        BulkAction::Move { list_id } => {
            let client = connection.smartemailing_client(state)?;
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
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO contact_jobs (connection_id, kind, list_id, list_name, request_key, started_by, created_at, status, total)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?)
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
    .bind(targets.len() as i64)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(job) = inserted else {
        drop(tx);
        return job_with_key(&state.db, request_key)
            .await?
            .ok_or(AppError::NotFound);
    };
    for (contact_id, _, email, _) in &targets {
        sqlx::query(
            "INSERT INTO contact_job_items (job_id, contact_id, email, status) VALUES (?, ?, ?, 'pending')",
        )
        .bind(job)
        .bind(contact_id)
        .bind(email)
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
        &state.db,
        now,
        actor
            .event(audit_action)
            .target(&connection.name)
            .details(json!({ "job": job, "contacts": targets.len(), "list": list_name })),
    )
    .await?;
    state.work.contacts.notify_one();
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

#[derive(FromRow)]
struct ClaimedJob {
    id: i64,
    connection_id: i64,
    kind: String,
    list_id: Option<i64>,
    cursor: i64,
    created_at: DateTime<Utc>,
}

/// Runs the oldest job that is due, to its end. False when there was none.
pub async fn run_next(state: &AppState) -> anyhow::Result<bool> {
    let now = state.clock.now();
    let claimed: Option<ClaimedJob> = sqlx::query_as(
        "UPDATE contact_jobs SET status = 'running', locked_until = ?
         WHERE id = (SELECT id FROM contact_jobs WHERE status IN ('queued', 'running')
                     AND (locked_until IS NULL OR locked_until < ?) ORDER BY id LIMIT 1)
         RETURNING id, connection_id, kind, list_id, cursor, created_at",
    )
    .bind(now + LOCK_FOR)
    .bind(now)
    .fetch_optional(&state.db)
    .await?;
    let Some(job) = claimed else {
        return Ok(false);
    };
    let client = match connections::find(&state.db, job.connection_id)
        .await
        .and_then(|c| c.smartemailing_client(state))
    {
        Ok(client) => client,
        Err(error) => {
            finish(
                &state.db,
                job.id,
                state.clock.now(),
                Some(&format!("{error:?}")),
            )
            .await?;
            return Ok(true);
        }
    };
    let outcome = match job.kind.as_str() {
        "refresh" => refresh(state, &client, &job).await?,
        "delete" => delete(state, &client, &job).await?,
        _ => import(state, &client, &job).await?,
    };
    if let Some(stop) = outcome {
        finish(&state.db, job.id, state.clock.now(), stop.as_deref()).await?;
    }
    Ok(true)
}

/// `Some(None)`: completed; `Some(Some(reason))`: failed; `None`: the process is stopping.
type Outcome = Option<Option<String>>;

async fn finish(
    db: &SqlitePool,
    job: i64,
    now: DateTime<Utc>,
    failure: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE contact_jobs SET status = ?, status_reason = ?, finished_at = ?, locked_until = NULL WHERE id = ?",
    )
    .bind(if failure.is_some() { "failed" } else { "completed" })
    .bind(failure)
    .bind(now)
    .bind(job)
    .execute(db)
    .await?;
    Ok(())
}

fn stopping(state: &AppState) -> bool {
    *state.work.stopping.borrow()
}

/// Pages through every SmartEmailing contact and updates the ones the bridge knows.
async fn refresh(
    state: &AppState,
    client: &SmartEmailingClient,
    job: &ClaimedJob,
) -> anyhow::Result<Outcome> {
    let mut offset = job.cursor;
    loop {
        if stopping(state) {
            return Ok(None);
        }
        let query = ContactQuery {
            limit: BATCH_LIMIT as u32,
            offset: offset as u32,
            emailaddress: None,
            blacklisted: None,
        };
        let page = match client.contacts(&query).await {
            Ok(page) => page,
            Err(error) => return Ok(Some(Some(error.to_string()))),
        };
        let now = state.clock.now();
        let mut tx = state.db.begin().await?;
        let mut matched = 0;
        for contact in &page.contacts {
            matched += contacts::apply_lookup(&mut tx, job.connection_id, contact, now).await?;
        }
        offset += page.contacts.len() as i64;
        sqlx::query(
            "UPDATE contact_jobs SET cursor = ?, done = ?, total = ?, succeeded = succeeded + ?, locked_until = ? WHERE id = ?",
        )
        .bind(offset)
        .bind(offset)
        .bind(page.total_count as i64)
        .bind(matched as i64)
        .bind(now + LOCK_FOR)
        .bind(job.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if page.contacts.len() < BATCH_LIMIT {
            // Due contacts this pass did not see are not in SmartEmailing: nothing to check.
            sqlx::query(
                "UPDATE contacts SET check_due = 0, in_list = CASE WHEN checked_at IS NULL THEN NULL ELSE in_list END
                 WHERE connection_id = ? AND check_due = 1 AND (checked_at IS NULL OR checked_at < ?)",
            )
            .bind(job.connection_id)
            .bind(job.created_at)
            .execute(&state.db)
            .await?;
            return Ok(Some(None));
        }
    }
}

#[derive(FromRow)]
struct PendingItem {
    contact_id: i64,
    email: String,
    se_contact_id: Option<i64>,
}

async fn pending_items(
    db: &SqlitePool,
    job: i64,
    limit: usize,
) -> Result<Vec<PendingItem>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.contact_id, c.email, c.se_contact_id FROM contact_job_items i
         JOIN contacts c ON c.id = i.contact_id
         WHERE i.job_id = ? AND i.status = 'pending' ORDER BY i.contact_id LIMIT ?",
    )
    .bind(job)
    .bind(limit as i64)
    .fetch_all(db)
    .await
}

async fn record_items(
    conn: &mut sqlx::SqliteConnection,
    job: i64,
    items: &[i64],
    result: Result<(), &str>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for contact in items {
        sqlx::query(
            "UPDATE contact_job_items SET status = ?, message = ? WHERE job_id = ? AND contact_id = ?",
        )
        .bind(if result.is_ok() { "done" } else { "failed" })
        .bind(result.err())
        .bind(job)
        .bind(contact)
        .execute(&mut *conn)
        .await?;
    }
    let count = items.len() as i64;
    let (succeeded, failed) = if result.is_ok() {
        (count, 0)
    } else {
        (0, count)
    };
    sqlx::query(
        "UPDATE contact_jobs SET done = done + ?, succeeded = succeeded + ?, failed = failed + ?, locked_until = ? WHERE id = ?",
    )
    .bind(count)
    .bind(succeeded)
    .bind(failed)
    .bind(now + LOCK_FOR)
    .bind(job)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Move or blacklist: imports the contacts in batches of 500.
async fn import(
    state: &AppState,
    client: &SmartEmailingClient,
    job: &ClaimedJob,
) -> anyhow::Result<Outcome> {
    loop {
        if stopping(state) {
            return Ok(None);
        }
        let items = pending_items(&state.db, job.id, BATCH_LIMIT).await?;
        if items.is_empty() {
            return Ok(Some(None));
        }
        let contacts: Vec<ContactImport> = items
            .iter()
            .map(|item| match job.list_id {
                Some(list) if job.kind == "move" => ContactImport {
                    emailaddress: item.email.clone(),
                    contactlists: vec![ListMembership {
                        id: list,
                        status: ListStatus::Confirmed,
                    }],
                    ..ContactImport::default()
                },
                _ => ContactImport {
                    emailaddress: item.email.clone(),
                    blacklisted: Some(Blacklist),
                    ..ContactImport::default()
                },
            })
            .collect();
        // preserve_unsubscribed stays on: nobody who unsubscribed is subscribed again.
        let result = client
            .import_contacts(&contacts, &ImportSettings::default())
            .await;
        let now = state.clock.now();
        let ids: Vec<i64> = items.iter().map(|i| i.contact_id).collect();
        let mut tx = state.db.begin().await?;
        match &result {
            Ok(_) => {
                let update = if job.kind == "move" {
                    // Checked again: an unsubscribed contact stays unsubscribed, so still in
                    // no list as confirmed.
                    "UPDATE contacts SET in_list = 1, check_due = 1, checked_at = ? WHERE id = ?"
                } else {
                    "UPDATE contacts SET blacklisted = 1, in_list = 0, checked_at = ? WHERE id = ?"
                };
                for id in &ids {
                    sqlx::query(update)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                record_items(&mut tx, job.id, &ids, Ok(()), now).await?;
            }
            Err(error) => {
                record_items(&mut tx, job.id, &ids, Err(&error.to_string()), now).await?;
            }
        }
        tx.commit().await?;
        if let Err(error @ SeError::Unauthorized { .. }) = result {
            fail_pending(&state.db, job.id, &error.to_string(), now).await?;
            return Ok(Some(Some(error.to_string())));
        }
    }
}

/// Credentials stopped working: the rest cannot be done; say so on each.
async fn fail_pending(
    db: &SqlitePool,
    job: i64,
    message: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    let rest: Vec<i64> = sqlx::query_scalar(
        "SELECT contact_id FROM contact_job_items WHERE job_id = ? AND status = 'pending'",
    )
    .bind(job)
    .fetch_all(&mut *tx)
    .await?;
    record_items(&mut tx, job, &rest, Err(message), now).await?;
    tx.commit().await
}

/// GDPR delete: forgets each contact in SmartEmailing, then removes the personal data the
/// bridge holds (the e-mail becomes a marker; stored payloads and FAPI documents are cleared).
async fn delete(
    state: &AppState,
    client: &SmartEmailingClient,
    job: &ClaimedJob,
) -> anyhow::Result<Outcome> {
    loop {
        if stopping(state) {
            return Ok(None);
        }
        let items = pending_items(&state.db, job.id, 50).await?;
        if items.is_empty() {
            return Ok(Some(None));
        }
        for item in items {
            let result = forget(client, &item).await;
            let now = state.clock.now();
            let mut tx = state.db.begin().await?;
            match &result {
                Ok(()) => {
                    scrub(&mut tx, job.connection_id, &item, now).await?;
                    record_items(&mut tx, job.id, &[item.contact_id], Ok(()), now).await?;
                }
                Err(error) => {
                    record_items(
                        &mut tx,
                        job.id,
                        &[item.contact_id],
                        Err(&error.to_string()),
                        now,
                    )
                    .await?;
                }
            }
            tx.commit().await?;
            if let Err(error @ SeError::Unauthorized { .. }) = result {
                fail_pending(&state.db, job.id, &error.to_string(), now).await?;
                return Ok(Some(Some(error.to_string())));
            }
        }
    }
}

async fn forget(client: &SmartEmailingClient, item: &PendingItem) -> Result<(), SeError> {
    let id = match item.se_contact_id {
        Some(id) => Some(id),
        None => lookup(client, &item.email).await?.map(|c| c.id),
    };
    match id {
        Some(id) => match client.forget_contact(id).await? {
            ForgetOutcome::Forgotten | ForgetOutcome::AlreadyGone => Ok(()),
        },
        // SmartEmailing does not know the address: nothing to forget there.
        None => Ok(()),
    }
}

async fn scrub(
    conn: &mut sqlx::SqliteConnection,
    connection_id: i64,
    item: &PendingItem,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let marker = format!("forgotten-{}@invalid", item.contact_id);
    sqlx::query(
        "UPDATE order_documents SET raw = '{}' WHERE order_id IN
            (SELECT id FROM orders WHERE connection_id = ? AND customer_email = ?)",
    )
    .bind(connection_id)
    .bind(&item.email)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE orders SET customer_email = ?, payload = NULL WHERE connection_id = ? AND customer_email = ?",
    )
    .bind(&marker)
    .bind(connection_id)
    .bind(&item.email)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE contacts SET email = ?, name = NULL, forgotten_at = ?, in_list = NULL, check_due = 0 WHERE id = ?",
    )
    .bind(&marker)
    .bind(now)
    .bind(item.contact_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE contact_job_items SET email = ? WHERE contact_id = ?")
        .bind(&marker)
        .bind(item.contact_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn lookup(
    client: &SmartEmailingClient,
    email: &str,
) -> Result<Option<crate::smartemailing::Contact>, SeError> {
    let page = client
        .contacts(&ContactQuery {
            limit: 1,
            offset: 0,
            emailaddress: Some(email.to_string()),
            blacklisted: None,
        })
        .await?;
    Ok(page.contacts.into_iter().next())
}

/// From this many contacts due at once (a back-fill), one pass through all of SmartEmailing's
/// contacts (500 a page) is cheaper than a look-up each.
const REFRESH_FROM: i64 = 500;

/// Looks up contacts whose orders were just synced. False when none was due.
///
/// Connections with a historical sync in progress wait until it ends (their buyers keep
/// arriving); a connection with many contacts due gets one refresh instead of look-ups.
pub async fn check_due(state: &AppState) -> anyhow::Result<bool> {
    const WAITING: &str = "connection_id NOT IN (
            SELECT connection_id FROM sync_runs WHERE kind = 'historical' AND status IN ('running', 'paused')
            UNION SELECT connection_id FROM contact_jobs WHERE kind = 'refresh' AND status IN ('queued', 'running'))";
    let many: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT connection_id FROM contacts WHERE check_due = 1 AND {WAITING}
         GROUP BY connection_id HAVING COUNT(*) >= ?"
    ))
    .bind(REFRESH_FROM)
    .fetch_all(&state.db)
    .await?;
    for connection in many {
        start_refresh(state, &Actor::system("contact check"), connection).await?;
    }
    let due: Vec<(i64, i64, String)> = sqlx::query_as(&format!(
        "SELECT id, connection_id, email FROM contacts WHERE check_due = 1 AND {WAITING}
         ORDER BY connection_id, id LIMIT ?"
    ))
    .bind(CHECKS_PER_ROUND)
    .fetch_all(&state.db)
    .await?;
    if due.is_empty() {
        return Ok(false);
    }
    let mut client: Option<(i64, SmartEmailingClient)> = None;
    for (contact_id, connection_id, email) in due {
        if stopping(state) {
            break;
        }
        if client.as_ref().is_none_or(|(id, _)| *id != connection_id) {
            let found = connections::find(&state.db, connection_id)
                .await
                .and_then(|c| c.smartemailing_client(state));
            match found {
                Ok(c) => client = Some((connection_id, c)),
                Err(_) => {
                    // The connection is gone: nothing to check against.
                    sqlx::query("UPDATE contacts SET check_due = 0 WHERE id = ?")
                        .bind(contact_id)
                        .execute(&state.db)
                        .await?;
                    continue;
                }
            }
        }
        let (_, se) = client.as_ref().expect("set above");
        let now = state.clock.now();
        match lookup(se, &email).await {
            Ok(Some(contact)) => {
                let mut conn = state.db.acquire().await?;
                contacts::apply_lookup(&mut conn, connection_id, &contact, now).await?;
            }
            Ok(None) => {
                let mut conn = state.db.acquire().await?;
                contacts::mark_missing(&mut conn, contact_id, now).await?;
            }
            // Checked again in the next round (the client already retried).
            Err(error) => {
                tracing::warn!(%error, "could not check contacts in SmartEmailing");
                return Ok(false);
            }
        }
    }
    Ok(true)
}

#[derive(FromRow)]
struct JobRecord {
    id: i64,
    connection: String,
    kind: String,
    list_name: Option<String>,
    started_by: String,
    created_at: DateTime<Utc>,
    status: String,
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
    let items: Vec<(String, String, Option<String>)> = sqlx::query_as(
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
