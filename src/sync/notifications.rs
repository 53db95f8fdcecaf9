//! The notification step: claim due notifications, fetch their invoices from FAPI, verify the
//! `security` hash, and ingest the invoices, recording every notification's outcome.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use crate::connections::{self, ConnectionRecord};
use crate::fapi::security;
use crate::model::NotificationStatus;
use crate::platform::Context;
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
}

/// Processes a batch of due notifications; false when none was due.
pub async fn process_next(ctx: &Context) -> anyhow::Result<bool> {
    let jobs = store::claim_notifications(&ctx.db, ctx.clock.now(), NOTIFICATION_BATCH).await?;
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
            let connection = connections::find(&ctx.db, job.connection_id).await.ok();
            let client = match &connection {
                Some(c) => Some(c.fapi_client(ctx).map_err(|e| anyhow::anyhow!("{e:?}"))?),
                None => None,
            };
            entry.insert(connection.zip(client));
        }
    }
    let fetches: Vec<_> = jobs
        .iter()
        .map(|job| prepare(ctx, connections[&job.connection_id].as_ref(), job))
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

/// Commits the outcomes of fetched notifications in one transaction or, if that fails, one
/// by one, so one notification's failure does not hold back the others.
async fn commit_or_one_by_one(
    ctx: &Context,
    work: &[(&store::NotificationJob, &Prepared<'_>)],
) -> anyhow::Result<()> {
    match commit_notifications(ctx, work).await {
        Ok(()) => {}
        Err(error) if work.len() > 1 => {
            tracing::warn!(%error, "storing a batch of notifications failed; one at a time");
            for item in work {
                if let Err(error) = commit_notifications(ctx, std::slice::from_ref(item)).await {
                    retry_after_database_error(ctx, item.0, &error).await?;
                }
            }
        }
        Err(error) => retry_after_database_error(ctx, work[0].0, &error).await?,
    }
    Ok(())
}

/// [`prepare_one`], paired with its notification (fetches finish in any order).
async fn prepare<'a>(
    ctx: &Context,
    connection: Option<&'a (ConnectionRecord, crate::fapi::FapiClient)>,
    job: &'a store::NotificationJob,
) -> (&'a store::NotificationJob, Prepared<'a>) {
    (job, prepare_one(ctx, connection, job).await)
}

/// Fetches and verifies a notification's invoice (or decides it needs none).
async fn prepare_one<'a>(
    ctx: &Context,
    connection: Option<&'a (ConnectionRecord, crate::fapi::FapiClient)>,
    job: &store::NotificationJob,
) -> Prepared<'a> {
    let Some((connection, fapi)) = connection else {
        return Prepared::Finished(
            NotificationStatus::Failed,
            Some("the connection was deleted".into()),
        );
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
