//! The background workers: notifications (fetch from FAPI, verify, ingest), order pushes
//! (batched imports to SmartEmailing with retries), and the reconciliation schedule.
//!
//! Workers wake when work is added ([`WorkSignals`]) and poll once a second for retries that
//! became due. On shutdown they finish the item in hand and stop; anything interrupted harder
//! (a crash, `kill -9`) is put back in the queue at the next start.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use rand::Rng;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::fapi::security;
use crate::server::connections::{self, ConnectionRecord};
use crate::server::state::AppState;
use crate::smartemailing::{ImportSettings, SeError, SmartEmailingClient};
use crate::sync::ingest::{self, Ingested, ParsedDocument};
use crate::sync::mapping::Source;
use crate::sync::reconcile;
use crate::sync::store::{self, Attempt, Payload, PushJob, notification_status};

/// Wakes the workers when work is added, and tells long jobs the process is stopping.
#[derive(Debug)]
pub struct WorkSignals {
    pub notifications: Notify,
    pub orders: Notify,
    pub historical: Notify,
    /// Contact checks, refreshes and bulk actions.
    pub contacts: Notify,
    pub stopping: watch::Sender<bool>,
    /// Historical runs this process is executing (a run never executes twice at once).
    pub active_runs: std::sync::Mutex<std::collections::HashSet<i64>>,
}

impl Default for WorkSignals {
    fn default() -> Self {
        WorkSignals {
            notifications: Notify::new(),
            orders: Notify::new(),
            historical: Notify::new(),
            contacts: Notify::new(),
            stopping: watch::channel(false).0,
            active_runs: Default::default(),
        }
    }
}

/// How the sync engine retries and paces itself.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Attempts per order (and per notification's FAPI fetch) before it is marked failed.
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles with each further attempt.
    pub retry_delay: Duration,
    /// Notifications processed at once.
    pub notification_workers: usize,
    /// Orders per SmartEmailing import (at most 500).
    pub batch_size: usize,
    /// How often reconciliation looks for missed documents.
    pub reconcile_interval: Duration,
    /// How far back each reconciliation looks before the previous one's end.
    pub reconcile_overlap: Duration,
    /// Webhook requests per second per connection before 429 (bursts of 10× are allowed).
    pub webhook_requests_per_second: u32,
}

impl Default for SyncSettings {
    /// Eight attempts, 5 min doubling: the last retry comes about 21 hours after the first try.
    fn default() -> Self {
        SyncSettings {
            max_attempts: 8,
            retry_delay: Duration::from_secs(5 * 60),
            notification_workers: 4,
            batch_size: 500,
            reconcile_interval: Duration::from_secs(10 * 60),
            reconcile_overlap: Duration::from_secs(10 * 60),
            webhook_requests_per_second: 100,
        }
    }
}

impl SyncSettings {
    /// When attempt `attempt + 1` is due after `attempt` failures: doubling, with ±20 % jitter.
    pub fn next_attempt(&self, now: DateTime<Utc>, attempt: u32) -> DateTime<Utc> {
        let base = self.retry_delay.as_millis() as f64
            * 2f64.powi(attempt.saturating_sub(1).min(20) as i32);
        let jittered = base * rand::thread_rng().gen_range(0.8..1.2);
        now + chrono::Duration::milliseconds(jittered as i64)
    }
}

const POLL: Duration = Duration::from_secs(1);
/// After pushing a small batch, the push worker waits this long so that, under a stream of
/// notifications, the next import carries many orders instead of a few (SmartEmailing paces
/// requests per account, so orders per request is what bounds throughput).
const LINGER: Duration = Duration::from_millis(150);
const LOCK_FOR: chrono::Duration = chrono::Duration::minutes(10);

/// Starts every worker; they stop when `shutdown` turns true.
pub fn spawn(state: AppState, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let mut handles = Vec::new();
    for _ in 0..state.sync.notification_workers.max(1) {
        handles.push(tokio::spawn(run_loop(
            state.clone(),
            shutdown.clone(),
            Queue::Notifications,
        )));
    }
    handles.push(tokio::spawn(run_loop(
        state.clone(),
        shutdown.clone(),
        Queue::Orders,
    )));
    handles.push(tokio::spawn(historical_loop(
        state.clone(),
        shutdown.clone(),
    )));
    handles.push(tokio::spawn(contacts_loop(state.clone(), shutdown.clone())));
    handles.push(tokio::spawn(crate::server::db::checkpoint_loop(
        state.db.clone(),
        shutdown.clone(),
    )));
    handles.push(tokio::spawn(reconcile_loop(state, shutdown)));
    handles
}

/// Contact jobs (refresh, bulk actions), then the check of contacts whose orders were synced.
async fn contacts_loop(state: AppState, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let worked = async {
            let job = crate::contacts::jobs::run_next(&state).await?;
            let checked = crate::contacts::jobs::check_due(&state).await?;
            anyhow::Ok(job || checked)
        }
        .await;
        let busy = match worked {
            Ok(busy) => busy,
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "contact work failed");
                false
            }
        };
        if busy {
            continue;
        }
        tokio::select! {
            () = state.work.contacts.notified() => {}
            () = tokio::time::sleep(POLL * 5) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Starts (and, after a restart, resumes) historical syncs. On shutdown the runs stop after
/// the step in hand; this loop ends when they have (or is aborted with them at the deadline).
async fn historical_loop(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let mut runs = tokio::task::JoinSet::new();
    loop {
        if *shutdown.borrow() {
            let _ = state.work.stopping.send(true);
            while runs.join_next().await.is_some() {}
            return;
        }
        if let Err(error) = crate::sync::historical::dispatch(&state, &mut runs).await {
            tracing::error!(%error, "could not start historical syncs");
        }
        // Reap finished runs.
        while runs.try_join_next().is_some() {}
        tokio::select! {
            () = state.work.historical.notified() => {}
            () = tokio::time::sleep(POLL * 5) => {}
            _ = shutdown.changed() => {}
        }
    }
}

#[derive(Clone, Copy)]
enum Queue {
    Notifications,
    Orders,
}

async fn run_loop(state: AppState, mut shutdown: watch::Receiver<bool>, queue: Queue) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let worked = match queue {
            Queue::Notifications => process_next_notifications(&state).await,
            Queue::Orders => match push_due_orders(&state).await {
                Ok(pushed) if pushed > 0 && pushed < state.sync.batch_size / 2 => {
                    tokio::time::sleep(LINGER).await;
                    Ok(true)
                }
                other => other.map(|pushed| pushed > 0),
            },
        };
        match worked {
            Ok(true) => continue,
            Ok(false) => {}
            Err(error) => tracing::error!(error = format!("{error:#}"), "sync worker step failed"),
        }
        let signal = match queue {
            Queue::Notifications => &state.work.notifications,
            Queue::Orders => &state.work.orders,
        };
        tokio::select! {
            () = signal.notified() => {}
            () = tokio::time::sleep(POLL) => {}
            _ = shutdown.changed() => {}
        }
    }
}

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
    Finished(&'static str, Option<String>),
    /// FAPI failed for now: try again at this time.
    Retry(DateTime<Utc>, String),
    /// The verified invoice, to be ingested for its connection.
    Ingest(&'a ConnectionRecord, serde_json::Value),
}

/// Processes a batch of due notifications; false when none was due.
pub async fn process_next_notifications(state: &AppState) -> anyhow::Result<bool> {
    let jobs = store::claim_notifications(&state.db, state.clock.now(), NOTIFICATION_BATCH).await?;
    if jobs.is_empty() {
        return Ok(false);
    }
    // There may be more: let a sibling worker start on the next batch.
    state.work.notifications.notify_one();
    let mut connections = std::collections::HashMap::new();
    for job in &jobs {
        if let std::collections::hash_map::Entry::Vacant(entry) =
            connections.entry(job.connection_id)
        {
            let connection = connections::find(&state.db, job.connection_id).await.ok();
            let client = match &connection {
                Some(c) => Some(c.fapi_client(state).map_err(|e| anyhow::anyhow!("{e:?}"))?),
                None => None,
            };
            entry.insert(connection.zip(client));
        }
    }
    let fetches: Vec<_> = jobs
        .iter()
        .map(|job| prepare(state, connections[&job.connection_id].as_ref(), job))
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
        commit_or_one_by_one(state, &work).await?;
    }
    Ok(true)
}

/// Commits the outcomes of fetched notifications in one transaction or, if that fails, one
/// by one, so one notification's failure does not hold back the others.
async fn commit_or_one_by_one(
    state: &AppState,
    work: &[(&store::NotificationJob, &Prepared<'_>)],
) -> anyhow::Result<()> {
    match commit_notifications(state, work).await {
        Ok(()) => {}
        Err(error) if work.len() > 1 => {
            tracing::warn!(%error, "storing a batch of notifications failed; one at a time");
            for item in work {
                if let Err(error) = commit_notifications(state, std::slice::from_ref(item)).await {
                    retry_after_database_error(state, item.0, &error).await?;
                }
            }
        }
        Err(error) => retry_after_database_error(state, work[0].0, &error).await?,
    }
    Ok(())
}

/// [`prepare_one`], paired with its notification (fetches finish in any order).
async fn prepare<'a>(
    state: &AppState,
    connection: Option<&'a (ConnectionRecord, crate::fapi::FapiClient)>,
    job: &'a store::NotificationJob,
) -> (&'a store::NotificationJob, Prepared<'a>) {
    (job, prepare_one(state, connection, job).await)
}

/// Fetches and verifies a notification's invoice (or decides it needs none).
async fn prepare_one<'a>(
    state: &AppState,
    connection: Option<&'a (ConnectionRecord, crate::fapi::FapiClient)>,
    job: &store::NotificationJob,
) -> Prepared<'a> {
    let Some((connection, fapi)) = connection else {
        return Prepared::Finished(
            notification_status::FAILED,
            Some("the connection was deleted".into()),
        );
    };
    if !connection.forwarding_enabled {
        return Prepared::Finished(notification_status::FORWARDING_OFF, None);
    }
    let Some(invoice_id) = job.invoice_id else {
        return Prepared::Finished(notification_status::INVALID, Some("no invoice id".into()));
    };
    let invoice = match fapi.invoice_json(invoice_id).await {
        Ok(invoice) => invoice,
        Err(error) if error.is_transient() && (job.attempts as u32) < state.sync.max_attempts => {
            let at = state
                .sync
                .next_attempt(state.clock.now(), job.attempts as u32);
            return Prepared::Retry(at, error.to_string());
        }
        Err(error) => {
            return Prepared::Finished(notification_status::FAILED, Some(error.to_string()));
        }
    };
    let time = job.notified_time.as_deref().unwrap_or_default();
    let hash = job.security.as_deref().unwrap_or_default();
    if !security::is_valid(time, hash, &invoice) {
        return Prepared::Finished(
            notification_status::REJECTED,
            Some("the security hash does not match the invoice".into()),
        );
    }
    Prepared::Ingest(connection, invoice)
}

/// Ingests the fetched invoices and records every notification's outcome, in one transaction.
async fn commit_notifications(
    state: &AppState,
    work: &[(&store::NotificationJob, &Prepared<'_>)],
) -> Result<(), sqlx::Error> {
    let now = state.clock.now();
    let mut tx = state.db.begin_with("BEGIN IMMEDIATE").await?;
    // Consecutive invoices of one connection are ingested as one batch, so that everything
    // happens in the notifications' order (new orders are numbered in it, too).
    let mut runs: Vec<(&ConnectionRecord, Vec<ParsedDocument>)> = Vec::new();
    for (_, prepared) in work {
        if let Prepared::Ingest(connection, invoice) = prepared {
            let document = ParsedDocument::parse(invoice);
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
            ingest::ingest_batch(&mut tx, now, connection, documents, Source::Webhook, None)
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
                        notification_status::PROCESSED,
                        Some(describe(&outcome)),
                        Some(outcome.order_id()),
                    )
                }
                Err(reason) => (notification_status::FAILED, Some(reason), None),
            },
        };
        store::finish_notification(&mut tx, job.id, status, reason.as_deref(), order_id, now)
            .await?;
    }
    tx.commit().await?;
    if queued {
        state.work.orders.notify_one();
    }
    Ok(())
}

/// The database refused a notification's outcome: it goes back to the queue for a later try
/// (or stays in flight, to be reset at the next start, if even that fails).
async fn retry_after_database_error(
    state: &AppState,
    job: &store::NotificationJob,
    error: &sqlx::Error,
) -> anyhow::Result<()> {
    tracing::warn!(%error, notification = job.id, "ingesting failed; will retry");
    let at = state
        .sync
        .next_attempt(state.clock.now(), job.attempts as u32);
    let mut conn = state.db.acquire().await?;
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

/// Pushes one batch for each connection with due orders; false when none was due.
/// Pushes the orders that are due, per connection; how many it sent.
pub async fn push_due_orders(state: &AppState) -> anyhow::Result<usize> {
    let now = state.clock.now();
    let mut pushed = 0;
    for connection_id in store::connections_with_due_orders(&state.db, now).await? {
        let jobs = store::claim_push_batch(
            &state.db,
            connection_id,
            now,
            LOCK_FOR,
            state.sync.batch_size.min(500) as i64,
        )
        .await?;
        if jobs.is_empty() {
            continue;
        }
        pushed += jobs.len();
        match connections::find(&state.db, connection_id).await {
            Ok(connection) => {
                push_batch(state, &connection, jobs).await?;
            }
            Err(_) => fail_all(state, &jobs, None, "the connection was deleted").await?,
        }
    }
    Ok(pushed)
}

/// Sends a batch: contacts first, then orders. A batch SmartEmailing rejects is split into
/// single orders so one bad order does not hold back the others. Returns SmartEmailing's
/// message when it refused the credentials (the historical sync stops on that).
pub fn push_batch<'a>(
    state: &'a AppState,
    connection: &'a ConnectionRecord,
    jobs: Vec<PushJob>,
) -> Pin<Box<dyn Future<Output = anyhow::Result<Option<String>>> + Send + 'a>> {
    Box::pin(async move {
        let client = connection
            .smartemailing_client(state)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let mut payloads = Vec::with_capacity(jobs.len());
        let mut sendable = Vec::with_capacity(jobs.len());
        for job in jobs {
            match serde_json::from_str::<Payload>(&job.payload) {
                Ok(payload) => {
                    payloads.push(payload);
                    sendable.push(job);
                }
                Err(error) => {
                    fail_all(
                        state,
                        &[job],
                        None,
                        &format!("the stored payload is unreadable: {error}"),
                    )
                    .await?
                }
            }
        }
        if sendable.is_empty() {
            return Ok(None);
        }
        match send(&client, &payloads).await {
            Ok(contact_ids) => {
                let now = state.clock.now();
                let mut tx = state.db.begin().await?;
                let buyers: Vec<_> = payloads
                    .iter()
                    .map(|p| crate::contacts::SyncedBuyer {
                        email: &p.contact.emailaddress,
                        name: full_name(&p.contact),
                    })
                    .collect();
                crate::contacts::record_synced(&mut tx, connection.id, &buyers, &contact_ids)
                    .await?;
                store::mark_synced(&mut tx, &sendable, now).await?;
                tx.commit().await?;
                state.work.contacts.notify_one();
            }
            Err(SeError::Rejected { .. }) if sendable.len() > 1 => {
                let mut refused = None;
                for job in sendable {
                    refused = refused.or(push_batch(state, connection, vec![job]).await?);
                }
                return Ok(refused);
            }
            Err(error) if error.is_transient() => retry_or_fail(state, &sendable, &error).await?,
            Err(error @ SeError::Unauthorized { .. }) => {
                // Not the orders' fault: they wait for a retry once the key is fixed.
                retry_or_fail(state, &sendable, &error).await?;
                return Ok(Some(error.to_string()));
            }
            Err(error) => fail_all(state, &sendable, error.status(), &error.to_string()).await?,
        }
        Ok(None)
    })
}

async fn send(
    client: &SmartEmailingClient,
    payloads: &[Payload],
) -> Result<Vec<crate::smartemailing::ContactMapEntry>, SeError> {
    // One contact per buyer, even when they placed several orders in the batch.
    let mut contacts: Vec<_> = Vec::with_capacity(payloads.len());
    let mut seen = std::collections::HashSet::new();
    for payload in payloads.iter().rev() {
        if seen.insert(payload.contact.emailaddress.clone()) {
            contacts.push(payload.contact.clone());
        }
    }
    let contact_ids = client
        .import_contacts(&contacts, &ImportSettings::default())
        .await?;
    let orders: Vec<_> = payloads.iter().map(|p| p.order.clone()).collect();
    client.import_orders(&orders).await?;
    Ok(contact_ids)
}

fn full_name(contact: &crate::smartemailing::ContactImport) -> Option<String> {
    let name = [contact.name.as_deref(), contact.surname.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

async fn retry_or_fail(state: &AppState, jobs: &[PushJob], error: &SeError) -> anyhow::Result<()> {
    let now = state.clock.now();
    let message = error.to_string();
    let mut tx = state.db.begin().await?;
    for job in jobs {
        let exhausted = job.attempts as u32 >= state.sync.max_attempts;
        let next = (!exhausted).then(|| state.sync.next_attempt(now, job.attempts as u32));
        store::record_attempt(
            &mut tx,
            Attempt {
                order_id: job.id,
                outcome: if exhausted { "failed" } else { "retry" },
                http_status: error.status(),
                message: Some(&message),
                payload_hash: &job.payload_hash,
            },
            now,
        )
        .await?;
        let reason = if exhausted {
            format!("gave up after {} attempts: {message}", job.attempts)
        } else {
            message.clone()
        };
        store::mark_retry_or_failed(&mut tx, job.id, next, &reason, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn fail_all(
    state: &AppState,
    jobs: &[PushJob],
    status: Option<u16>,
    message: &str,
) -> anyhow::Result<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    for job in jobs {
        store::record_attempt(
            &mut tx,
            Attempt {
                order_id: job.id,
                outcome: "failed",
                http_status: status,
                message: Some(message),
                payload_hash: &job.payload_hash,
            },
            now,
        )
        .await?;
        store::mark_retry_or_failed(&mut tx, job.id, None, message, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn reconcile_loop(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let interval = state.sync.reconcile_interval;
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        if let Err(error) = reconcile::run_all(&state).await {
            tracing::error!(error = format!("{error:#}"), "reconciliation failed");
        }
    }
}
