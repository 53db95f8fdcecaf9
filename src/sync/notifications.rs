//! The notification step: claim due notifications, fetch their invoices from FAPI, verify the
//! `security` hash, and ingest the invoices, recording every notification's outcome.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{FutureExt, StreamExt};

use crate::connections::{self, ConnectionRecord};
use crate::error::AppError;
use crate::fapi::{FapiClient, security};
use crate::model::NotificationStatus;
use crate::platform::Context;
use crate::platform::error::panic_message;
use crate::sync::clients;
use crate::sync::ingest::{self, Ingested, ParsedDocument};
use crate::sync::mapping::Source;
use crate::sync::store;

/// Notifications one worker claims at a time. Their FAPI fetches run concurrently and their
/// outcomes commit in one transaction, so under load one commit serves many notifications.
const NOTIFICATION_BATCH: i64 = 32;
/// FAPI fetches in flight per worker (FAPI documents no rate limit: with the default 4 workers,
/// at most 16 requests at once).
const CONCURRENT_FETCHES: usize = 4;
/// How long fetched invoices wait for the rest of their batch before they are committed.
const FETCH_LINGER: Duration = Duration::from_millis(200);
/// A claimed notification without an outcome after this long is due again (its worker failed
/// between the claim and the commit). Fetching takes at most a few timeouts.
const LEASE: chrono::Duration = chrono::Duration::minutes(5);

/// A notification's connection, as far as this batch can tell.
enum Found {
    Ready(Box<(ConnectionRecord, FapiClient)>),
    /// Deleted: the notification fails for good.
    Deleted,
    /// Cannot be used now (a database error, an API key that does not decrypt): its
    /// notifications are tried again later, like a FAPI outage.
    Unavailable(String),
}

async fn find_connection(ctx: &Context, id: i64) -> Found {
    match connections::find(&ctx.db, id).await {
        Ok(connection) => match connection.fapi_client(ctx) {
            Ok(client) => Found::Ready(Box::new((connection, client))),
            Err(_) => Found::Unavailable("the connection's FAPI key cannot be read".into()),
        },
        Err(AppError::NotFound) => Found::Deleted,
        Err(_) => Found::Unavailable("the connection could not be read from the database".into()),
    }
}

/// What a claimed notification needs after its FAPI fetch.
enum Prepared<'a> {
    /// Finished without touching an order: the status and the reason.
    Finished(NotificationStatus, Option<String>),
    /// FAPI failed for now: try again at this time.
    Retry(DateTime<Utc>, String),
    /// The verified invoice, to be ingested for its connection, with its buyer's client
    /// record when it had to be fetched.
    Ingest(
        &'a ConnectionRecord,
        serde_json::Value,
        Option<Box<crate::fapi::FapiClientRecord>>,
    ),
    /// The same notification was processed before (leading to this order).
    Repeat(Option<i64>),
}

/// Processes a batch of due notifications; false when none was due.
pub async fn process_next(ctx: &Context) -> anyhow::Result<bool> {
    let jobs =
        store::claim_notifications(&ctx.db, ctx.clock.now(), LEASE, NOTIFICATION_BATCH).await?;
    if jobs.is_empty() {
        return Ok(false);
    }
    // There may be more: let a sibling worker start on the next batch.
    ctx.work.notifications.notify_one();
    let mut connections = std::collections::HashMap::new();
    for job in &jobs {
        if let std::collections::hash_map::Entry::Vacant(entry) =
            connections.entry(job.connection_id)
        {
            entry.insert(find_connection(ctx, job.connection_id).await);
        }
    }
    // FAPI sends a notification again when our answer was slow or lost: a repeat of one
    // already processed costs no FAPI request.
    let repeats = store::repeats(&ctx.db, &jobs).await?;
    let fetches: Vec<_> = jobs
        .iter()
        .map(|job| prepare(ctx, &connections[&job.connection_id], job, &repeats))
        .collect();
    // What has been fetched is committed in groups: all at once when FAPI answers quickly, and
    // whatever arrived within FETCH_LINGER when an invoice is slow, so that a slow invoice
    // (FAPI retried up to its timeout) holds back no other notification.
    let fetched = futures_util::stream::iter(fetches).buffer_unordered(CONCURRENT_FETCHES);
    let mut groups = std::pin::pin!(tokio_stream::StreamExt::chunks_timeout(
        fetched,
        jobs.len(),
        FETCH_LINGER
    ));
    while let Some(group) = groups.next().await {
        let work: Vec<_> = group
            .iter()
            .map(|(job, prepared)| (*job, prepared))
            .collect();
        commit_or_one_by_one(ctx, &work).await?;
    }
    Ok(true)
}

/// Why committing notifications failed.
enum CommitError {
    Database(sqlx::Error),
    /// Ingesting panicked (a defect): the message.
    Panic(String),
}

/// [`commit_notifications`], with a panic caught as an error (its transaction rolls back), so
/// that one poisonous document cannot take the worker down or keep its batch in flight.
async fn commit_guarded(
    ctx: &Context,
    work: &[(&store::NotificationJob, &Prepared<'_>)],
) -> Result<(), CommitError> {
    match AssertUnwindSafe(commit_notifications(ctx, work))
        .catch_unwind()
        .await
    {
        Ok(result) => result.map_err(CommitError::Database),
        Err(panic) => Err(CommitError::Panic(panic_message(panic.as_ref()))),
    }
}

/// Commits the outcomes of fetched notifications in one transaction or, if that fails, one
/// by one, so one notification's failure does not hold back the others.
async fn commit_or_one_by_one(
    ctx: &Context,
    work: &[(&store::NotificationJob, &Prepared<'_>)],
) -> anyhow::Result<()> {
    match commit_guarded(ctx, work).await {
        Ok(()) => return Ok(()),
        Err(CommitError::Database(error)) if work.len() > 1 => {
            tracing::warn!(%error, "storing a batch of notifications failed; one at a time");
        }
        Err(CommitError::Panic(message)) if work.len() > 1 => {
            tracing::error!(%message, "ingesting a batch of notifications panicked; one at a time");
        }
        Err(error) => return give_back(ctx, work[0].0, error).await,
    }
    for item in work {
        if let Err(error) = commit_guarded(ctx, std::slice::from_ref(item)).await {
            give_back(ctx, item.0, error).await?;
        }
    }
    Ok(())
}

/// A notification whose outcome could not be committed: after a database error it goes back
/// to the queue; after a panic it is marked failed with the defect's message (doing it again
/// would panic again).
async fn give_back(
    ctx: &Context,
    job: &store::NotificationJob,
    error: CommitError,
) -> anyhow::Result<()> {
    match error {
        CommitError::Database(error) => retry_after_database_error(ctx, job, &error).await,
        CommitError::Panic(message) => {
            tracing::error!(notification = job.id, %message, "ingesting a notification panicked");
            let mut conn = ctx.db.acquire().await?;
            store::finish_notification(
                &mut conn,
                job.id,
                NotificationStatus::Failed,
                Some(&format!("internal error while ingesting: {message}")),
                None,
                ctx.now(),
            )
            .await?;
            Ok(())
        }
    }
}

/// [`prepare_one`], paired with its notification (fetches finish in any order).
async fn prepare<'a>(
    ctx: &Context,
    connection: &'a Found,
    job: &'a store::NotificationJob,
    repeats: &std::collections::HashMap<i64, Option<i64>>,
) -> (&'a store::NotificationJob, Prepared<'a>) {
    if let Some(order) = repeats.get(&job.id) {
        return (job, Prepared::Repeat(*order));
    }
    (job, prepare_one(ctx, connection, job).await)
}

/// Fetches and verifies a notification's invoice (or decides it needs none).
async fn prepare_one<'a>(
    ctx: &Context,
    connection: &'a Found,
    job: &store::NotificationJob,
) -> Prepared<'a> {
    let max_attempts = ctx.settings.sync.max_attempts;
    // Claimed again and again without an outcome (its lease ran out each time): stop.
    if job.attempts as u32 > max_attempts {
        return Prepared::Finished(
            NotificationStatus::Failed,
            Some(format!("gave up after {} attempts", job.attempts - 1)),
        );
    }
    let (connection, fapi) = match connection {
        Found::Ready(ready) => (&ready.0, &ready.1),
        Found::Deleted => {
            return Prepared::Finished(
                NotificationStatus::Failed,
                Some("the connection was deleted".into()),
            );
        }
        Found::Unavailable(reason) if (job.attempts as u32) < max_attempts => {
            let at = ctx
                .settings
                .sync
                .next_attempt(ctx.now(), job.attempts as u32);
            return Prepared::Retry(at, reason.clone());
        }
        Found::Unavailable(reason) => {
            return Prepared::Finished(NotificationStatus::Failed, Some(reason.clone()));
        }
    };
    if !connection.forwarding_enabled {
        return Prepared::Finished(NotificationStatus::ForwardingOff, None);
    }
    let Some(invoice_id) = job.invoice_id else {
        return Prepared::Finished(NotificationStatus::Invalid, Some("no invoice id".into()));
    };
    let invoice = match fapi.invoice_json(invoice_id).await {
        Ok(invoice) => invoice,
        Err(error)
            if error.is_transient() && (job.attempts as u32) < ctx.settings.sync.max_attempts =>
        {
            let at = ctx
                .settings
                .sync
                .next_attempt(ctx.clock.now(), job.attempts as u32);
            return Prepared::Retry(at, error.to_string());
        }
        Err(error) => {
            return Prepared::Finished(NotificationStatus::Failed, Some(error.to_string()));
        }
    };
    let time = job.notified_time.as_deref().unwrap_or_default();
    let hash = job.security.as_deref().unwrap_or_default();
    if !security::is_valid(time, hash, &invoice) {
        return Prepared::Finished(
            NotificationStatus::Rejected,
            Some("the security hash does not match the invoice".into()),
        );
    }
    let client =
        match clients::fetch_needed(&ctx.db, &ctx.secret_key, connection.id, fapi, &[&invoice])
            .await
        {
            Ok(mut fetched) => invoice["client"]
                .as_i64()
                .or_else(|| {
                    invoice["client"]
                        .as_str()
                        .and_then(|c| c.trim().parse().ok())
                })
                .and_then(|id| fetched.remove(&id))
                .map(Box::new),
            Err(error) => {
                tracing::warn!(%error, "could not look up the client record cache");
                None
            }
        };
    Prepared::Ingest(connection, invoice, client)
}

/// Ingests the fetched invoices and records every notification's outcome, in one transaction.
async fn commit_notifications(
    ctx: &Context,
    work: &[(&store::NotificationJob, &Prepared<'_>)],
) -> Result<(), sqlx::Error> {
    let now = ctx.clock.now();
    let mut tx = ctx.db.begin_with("BEGIN IMMEDIATE").await?;
    // Consecutive invoices of one connection are ingested as one batch, so that everything
    // happens in the notifications' order (new orders are numbered in it, too).
    let mut runs: Vec<(&ConnectionRecord, Vec<ParsedDocument>)> = Vec::new();
    for (_, prepared) in work {
        if let Prepared::Ingest(connection, invoice, client) = prepared {
            let document = ParsedDocument::parse(invoice).with_client(client.as_deref().cloned());
            match runs.last_mut() {
                Some((current, documents)) if current.id == connection.id => {
                    documents.push(document)
                }
                _ => runs.push((connection, vec![document])),
            }
        }
    }
    // The outcomes, in the order of the invoices in `work`.
    let mut ingested = Vec::new();
    for (connection, documents) in runs {
        ingested.extend(
            ingest::ingest_batch(
                &mut tx,
                now,
                &ctx.secret_key,
                connection,
                documents,
                Source::Webhook,
                None,
            )
            .await?,
        );
    }
    let mut ingested = ingested.into_iter();
    let mut queued = false;
    for (job, prepared) in work {
        let (status, reason, order_id) = match prepared {
            Prepared::Finished(status, reason) => (*status, reason.clone(), None),
            Prepared::Repeat(order) => (
                NotificationStatus::Processed,
                Some("a repeat of a notification already processed".to_string()),
                *order,
            ),
            Prepared::Retry(at, reason) => {
                store::retry_notification(&mut tx, job.id, *at, reason).await?;
                continue;
            }
            Prepared::Ingest(..) => match ingested.next().expect("one outcome per invoice") {
                Ok(outcome) => {
                    queued |= matches!(outcome, Ingested::Queued { .. });
                    (
                        NotificationStatus::Processed,
                        Some(describe(&outcome)),
                        Some(outcome.order_id()),
                    )
                }
                Err(reason) => (NotificationStatus::Failed, Some(reason), None),
            },
        };
        store::finish_notification(&mut tx, job.id, status, reason.as_deref(), order_id, now)
            .await?;
    }
    tx.commit().await?;
    if queued {
        ctx.work.orders.notify_one();
    }
    Ok(())
}

/// The database refused a notification's outcome: it goes back to the queue for a later try
/// (or stays in flight, to be reset at the next start, if even that fails).
async fn retry_after_database_error(
    ctx: &Context,
    job: &store::NotificationJob,
    error: &sqlx::Error,
) -> anyhow::Result<()> {
    tracing::warn!(%error, notification = job.id, "ingesting failed; will retry");
    let at = ctx
        .settings
        .sync
        .next_attempt(ctx.clock.now(), job.attempts as u32);
    let mut conn = ctx.db.acquire().await?;
    store::retry_notification(&mut conn, job.id, at, "database busy").await?;
    Ok(())
}

/// A short note for the notification's outcome.
pub fn describe(outcome: &Ingested) -> String {
    match outcome {
        Ingested::Queued {
            new_order: true, ..
        } => "new order queued".into(),
        Ingested::Queued {
            new_order: false, ..
        } => "order update queued".into(),
        Ingested::Unchanged { .. } => "no change".into(),
        Ingested::Skipped { reason, .. } => format!("skipped: {reason}"),
        Ingested::Failed { reason, .. } => format!("order failed: {reason}"),
    }
}
