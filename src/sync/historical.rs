//! The historical sync: a one-off, resumable back-fill of a connection's past FAPI orders —
//! SmartEmailing's "Synchronise orders".
//!
//! A run counts the documents, pages through them in id order (500 a page), ingests each page
//! in one transaction together with its checkpoint (the next offset and the counts), and sends
//! what it queued in batches of 500 (contacts, then orders). Pause, resume and cancel are
//! requests the job applies between pages; after a crash the run continues from its last
//! checkpoint. New notifications keep flowing meanwhile; both paths key orders by FAPI order, so
//! they never duplicate one.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Prague;
use futures_util::FutureExt;
use serde_json::json;
use sqlx::FromRow;

use crate::accounts::audit::{self, Actor};
use crate::connections::{self, ConnectionRecord};
use crate::error::{AppError, Invalid};
use crate::fapi::{FapiClient, FapiError, InvoiceQuery};
use crate::model::{RunKind, RunPhase, RunRequest, RunStatus, SyncStatus, System};
use crate::platform::db::partial_index::ACTIVE_HISTORICAL_RUN;
use crate::platform::error::{is_unique_violation, panic_message};
use crate::platform::{Context, leases};
use crate::sync::ingest::{self, Ingested, ParsedDocument};
use crate::sync::mapping::Source;
use crate::sync::{push, store};

/// Documents asked for per FAPI page at first. FAPI's maximum is not documented (one source
/// says 100): a page size FAPI refuses makes the run fall back to [`FALLBACK_PAGE_SIZE`], and a
/// page that holds fewer documents than asked before the counted total makes its length the
/// page size; either is remembered for the connection.
const FIRST_PAGE_SIZE: u32 = 500;
const FALLBACK_PAGE_SIZE: u32 = 100;
/// FAPI pages fetched at once. FAPI is remote (each answer takes a round trip) and documents no
/// rate limit; eight requests in flight stay modest. Failures back off in the client.
const PAGES_IN_FLIGHT: usize = 8;
/// Documents ingested in one transaction, from as many fetched pages as that takes.
const INGEST_BATCH: usize = 500;
const BATCH: i64 = 500;
const LOCK_FOR: chrono::Duration = chrono::Duration::minutes(10);

pub mod actions {
    pub const STARTED: &str = "sync.started";
    pub const PAUSED: &str = "sync.paused";
    pub const RESUMED: &str = "sync.resumed";
    pub const CANCELLED: &str = "sync.cancelled";
}

#[derive(Debug, Clone, FromRow)]
pub struct Run {
    pub id: i64,
    pub connection_id: i64,
    pub status: RunStatus,
    pub phase: Option<RunPhase>,
    pub requested: Option<RunRequest>,
    pub since: Option<DateTime<Utc>>,
    pub cursor: i64,
    pub total: Option<i64>,
    /// Re-sends what it reads with the current field mapping.
    pub resend: bool,
}

async fn load(db: &sqlx::SqlitePool, run_id: i64) -> Result<Option<Run>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, connection_id, status, phase, requested, since, cursor, total, resend FROM sync_runs
         WHERE id = ? AND kind = ?",
    )
    .bind(run_id)
    .bind(RunKind::Historical)
    .fetch_optional(db)
    .await
}

/// Starts a historical sync of a connection (optionally only orders from `since`, a Prague
/// date), once the user confirmed they switched off "new order" scenarios.
pub async fn start(
    ctx: &Context,
    actor: &Actor,
    connection_id: i64,
    since: Option<NaiveDate>,
    confirmed: bool,
) -> Result<i64, AppError> {
    start_with(ctx, actor, connection_id, since, confirmed, false).await
}

/// [`start`]; with `resend`, the run also re-sends orders whose documents did not change, built
/// with the connection's current field mapping (those SmartEmailing already has exactly as
/// they would be sent are left alone).
pub async fn start_with(
    ctx: &Context,
    actor: &Actor,
    connection_id: i64,
    since: Option<NaiveDate>,
    confirmed: bool,
    resend: bool,
) -> Result<i64, AppError> {
    if !confirmed {
        return Err(Invalid::ConfirmationMissing.into());
    }
    let connection = connections::find(&ctx.db, connection_id).await?;
    let since = since.and_then(|day| {
        Prague
            .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    });
    let now = ctx.clock.now();
    let by = actor.name();
    let inserted = sqlx::query(
        "INSERT INTO sync_runs (connection_id, kind, started_by, started_at, status, phase, since, progress_at, resend)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(connection.id)
    .bind(RunKind::Historical)
    .bind(&by)
    .bind(now)
    .bind(RunStatus::Running)
    .bind(RunPhase::Counting)
    .bind(since)
    .bind(now)
    .bind(resend)
    .execute(&ctx.db)
    .await;
    let run_id = match inserted {
        Ok(done) => done.last_insert_rowid(),
        Err(e) if is_unique_violation(&e) => {
            // The unique partial index that refused the run finds the one running.
            let running: i64 = sqlx::query_scalar(&format!(
                "SELECT id FROM sync_runs WHERE connection_id = ? AND {ACTIVE_HISTORICAL_RUN}"
            ))
            .bind(connection.id)
            .fetch_one(&ctx.db)
            .await?;
            return Err(Invalid::SyncAlreadyRunning { run_id: running }.into());
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &ctx.db,
        now,
        actor
            .event(actions::STARTED)
            .target(&connection.name)
            .details(json!({ "run": run_id, "since": since, "resend": resend })),
    )
    .await?;
    ctx.work.historical.notify_one();
    Ok(run_id)
}

/// Asks a run to pause, resume or cancel; the job applies it between pages.
pub async fn control(
    ctx: &Context,
    actor: &Actor,
    run_id: i64,
    action: &str,
) -> Result<(), AppError> {
    let run = load(&ctx.db, run_id).await?.ok_or(AppError::NotFound)?;
    let now = ctx.clock.now();
    let (audit_action, changed) = match (action, run.status) {
        ("pause", RunStatus::Running) => (
            actions::PAUSED,
            sqlx::query("UPDATE sync_runs SET requested = ? WHERE id = ? AND status = ?")
                .bind(RunRequest::Pause)
                .bind(run_id)
                .bind(RunStatus::Running)
                .execute(&ctx.db)
                .await?
                .rows_affected(),
        ),
        ("resume", RunStatus::Paused) => (
            actions::RESUMED,
            sqlx::query(
                "UPDATE sync_runs SET status = ?, requested = NULL WHERE id = ? AND status = ?",
            )
            .bind(RunStatus::Running)
            .bind(run_id)
            .bind(RunStatus::Paused)
            .execute(&ctx.db)
            .await?
            .rows_affected(),
        ),
        ("cancel", RunStatus::Running | RunStatus::Paused) => (
            actions::CANCELLED,
            sqlx::query(
                "UPDATE sync_runs SET requested = ?, status = ? WHERE id = ? AND status IN (?, ?)",
            )
            .bind(RunRequest::Cancel)
            .bind(RunStatus::Running)
            .bind(run_id)
            .bind(RunStatus::Running)
            .bind(RunStatus::Paused)
            .execute(&ctx.db)
            .await?
            .rows_affected(),
        ),
        _ => return Err(Invalid::RunNotControllable.into()),
    };
    if changed == 0 {
        return Err(Invalid::RunNotControllable.into());
    }
    let connection: String = sqlx::query_scalar("SELECT name FROM connections WHERE id = ?")
        .bind(run.connection_id)
        .fetch_one(&ctx.db)
        .await?;
    audit::record(
        &ctx.db,
        now,
        actor
            .event(audit_action)
            .target(&connection)
            .details(json!({ "run": run_id })),
    )
    .await?;
    ctx.work.historical.notify_one();
    Ok(())
}

/// How long a replica's hold on a run lasts without renewal (it renews at every step): when
/// a replica dies mid-run, another continues the run from its cursor after this long.
pub const RUN_LEASE: chrono::Duration = chrono::Duration::minutes(5);

/// Starts a task for every running run not yet executing in this process, and held by no
/// other replica (see `platform::leases`).
pub async fn dispatch(
    ctx: &Context,
    tasks: &mut tokio::task::JoinSet<()>,
) -> Result<(), sqlx::Error> {
    let runs: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM sync_runs WHERE kind = ? AND status = ?")
            .bind(RunKind::Historical)
            .bind(RunStatus::Running)
            .fetch_all(&ctx.db)
            .await?;
    for run_id in runs {
        // Taking the lease of a run this process executes only renews it.
        if !ctx
            .hold_lease(&leases::names::historical_run(run_id), RUN_LEASE)
            .await?
        {
            continue;
        }
        if ctx
            .work
            .active_runs
            .lock()
            .expect("active runs lock")
            .insert(run_id)
        {
            let ctx = ctx.clone();
            tasks.spawn(async move {
                let outcome = AssertUnwindSafe(execute(&ctx, run_id)).catch_unwind().await;
                if let Err(error) = ctx
                    .release_lease(&leases::names::historical_run(run_id))
                    .await
                {
                    tracing::warn!(run = run_id, %error, "could not release the run's lease");
                }
                ctx.work
                    .active_runs
                    .lock()
                    .expect("active runs lock")
                    .remove(&run_id);
                match outcome {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::error!(
                        run = run_id,
                        error = format!("{error:#}"),
                        "historical sync step failed"
                    ),
                    Err(panic) => after_panic(&ctx, run_id, &panic_message(panic.as_ref())).await,
                }
            });
        }
    }
    Ok(())
}

/// A run whose step panicked (a defect) is dispatched again at the next poll; the third panic
/// in this process ends it as failed with the defect's message.
async fn after_panic(ctx: &Context, run_id: i64, message: &str) {
    tracing::error!(run = run_id, %message, "a historical sync panicked");
    let panics = {
        let mut panics = ctx.work.run_panics.lock().expect("run panics lock");
        let count = panics.entry(run_id).or_default();
        *count += 1;
        *count
    };
    if panics >= 3 {
        let reason = format!("internal error: {message}");
        if let Err(error) = finish(ctx, run_id, RunStatus::Failed, Some(&reason)).await {
            tracing::error!(run = run_id, %error, "could not mark the run failed");
        }
    }
}

/// A FAPI page being fetched; aborted when dropped unused.
struct Prefetch {
    offset: i64,
    limit: u32,
    page: tokio::task::JoinHandle<Result<Vec<ParsedDocument>, FapiError>>,
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.page.abort();
    }
}

/// The pages after the run's cursor, fetched several at once while earlier ones are ingested
/// and sent, and taken in order.
#[derive(Default)]
struct PageWindow {
    /// The page size in use (set from the connection at the first step).
    size: Option<u32>,
    /// Contiguous pages, lowest offset first.
    pages: std::collections::VecDeque<Prefetch>,
}

impl PageWindow {
    /// Keeps up to [`PAGES_IN_FLIGHT`] pages from `from` on in flight (not past the counted
    /// total, but at least the page at `from`, which tells an empty account).
    fn fill(&mut self, ctx: &Context, fapi: &FapiClient, run: &Run, from: i64, size: u32) {
        if self
            .pages
            .front()
            .is_some_and(|first| first.offset != from || first.limit != size)
        {
            self.pages.clear();
        }
        let mut next = self
            .pages
            .back()
            .map_or(from, |last| last.offset + i64::from(last.limit));
        while self.pages.len() < PAGES_IN_FLIGHT
            && (self.pages.is_empty() || run.total.is_none_or(|total| next < total))
        {
            let (ctx, fapi, query) = (ctx.clone(), fapi.clone(), query(run, next, size));
            let connection_id = run.connection_id;
            self.pages.push_back(Prefetch {
                offset: next,
                limit: size,
                page: tokio::spawn(
                    async move { fetch_page(&ctx, connection_id, &fapi, query).await },
                ),
            });
            next += i64::from(size);
        }
    }
}

/// Executes a run until it finishes, pauses, is cancelled or the process stops.
async fn execute(ctx: &Context, run_id: i64) -> anyhow::Result<()> {
    let mut stopping = ctx.work.stopping.subscribe();
    let mut failures = 0u32;
    let mut window = PageWindow::default();
    let lease = leases::names::historical_run(run_id);
    loop {
        if *stopping.borrow() {
            return Ok(());
        }
        if !ctx.hold_lease(&lease, RUN_LEASE).await? {
            // This replica stalled past its lease and another one continues the run.
            tracing::warn!(
                run = run_id,
                "another replica took the historical sync over"
            );
            return Ok(());
        }
        let Some(run) = load(&ctx.db, run_id).await? else {
            return Ok(());
        };
        if run.status != RunStatus::Running {
            return Ok(());
        }
        match run.requested {
            Some(RunRequest::Cancel) => return cancel(ctx, &run).await,
            Some(RunRequest::Pause) => {
                sqlx::query("UPDATE sync_runs SET status = ?, requested = NULL WHERE id = ?")
                    .bind(RunStatus::Paused)
                    .bind(run_id)
                    .execute(&ctx.db)
                    .await?;
                return Ok(());
            }
            None => {}
        }
        let connection = match connections::find(&ctx.db, run.connection_id).await {
            Ok(connection) => connection,
            Err(_) => {
                return finish(
                    ctx,
                    run_id,
                    RunStatus::Failed,
                    Some("the connection was deleted"),
                )
                .await;
            }
        };
        match step(ctx, &run, &connection, &mut window).await {
            Ok(Step::Continue) => {
                failures = 0;
                connection
                    .note_credentials(&ctx.db, System::Fapi, None, ctx.now())
                    .await?;
            }
            Ok(Step::Done) => return finish(ctx, run_id, RunStatus::Completed, None).await,
            Err(StepError::Refused(reason)) => {
                return finish(ctx, run_id, RunStatus::Failed, Some(&reason)).await;
            }
            Err(StepError::CredentialsRefused(message)) => {
                connection
                    .note_credentials(&ctx.db, System::Fapi, Some(&message), ctx.now())
                    .await?;
                let reason = format!("FAPI refused the credentials: {message}");
                return finish(ctx, run_id, RunStatus::Failed, Some(&reason)).await;
            }
            Err(StepError::Transient(reason)) => {
                failures += 1;
                let wait = ctx.settings.sync.next_attempt(Utc::now(), failures) - Utc::now();
                tracing::warn!(run = run_id, %reason, ?wait, "historical sync waits before trying again");
                sqlx::query("UPDATE sync_runs SET status_reason = ? WHERE id = ?")
                    .bind(&reason)
                    .bind(run_id)
                    .execute(&ctx.db)
                    .await?;
                tokio::select! {
                    () = tokio::time::sleep(wait.to_std().unwrap_or(Duration::from_secs(1))) => {}
                    () = ctx.work.historical.notified() => {}
                    _ = stopping.changed() => return Ok(()),
                }
            }
        }
    }
}

enum Step {
    Continue,
    Done,
}

enum StepError {
    /// Credentials stopped working, or FAPI refused a request for good (a 4xx that is not
    /// transient): the run stops, saying why.
    Refused(String),
    /// FAPI refused the stored credentials (its message): the run stops, and the connection
    /// records it (an alert).
    CredentialsRefused(String),
    /// FAPI or SmartEmailing failed for now: wait and try the same step again.
    Transient(String),
}

impl From<sqlx::Error> for StepError {
    fn from(error: sqlx::Error) -> Self {
        StepError::Transient(format!("database: {error}"))
    }
}

fn fapi_error(error: FapiError) -> StepError {
    match error {
        FapiError::Unauthorized { message, .. } => StepError::CredentialsRefused(message),
        transient if transient.is_transient() => StepError::Transient(transient.to_string()),
        // Asking again would be refused again.
        refused => StepError::Refused(refused.to_string()),
    }
}

fn query(run: &Run, offset: i64, limit: u32) -> InvoiceQuery {
    InvoiceQuery {
        limit: Some(limit),
        offset: Some(offset as u32),
        order: Some("id".into()),
        created_on_from: run.since,
        ..InvoiceQuery::default()
    }
}

async fn step(
    ctx: &Context,
    run: &Run,
    connection: &ConnectionRecord,
    window: &mut PageWindow,
) -> Result<Step, StepError> {
    let fapi = connection
        .fapi_client(ctx)
        .map_err(|e| StepError::Refused(format!("{e:?}")))?;
    match run.phase.unwrap_or(RunPhase::Counting) {
        RunPhase::Counting => {
            let total = fapi
                .count_invoices(&InvoiceQuery {
                    created_on_from: run.since,
                    ..InvoiceQuery::default()
                })
                .await
                .map_err(fapi_error)?;
            sqlx::query(
                "UPDATE sync_runs SET total = ?, phase = ?, status_reason = NULL WHERE id = ?",
            )
            .bind(total as i64)
            .bind(RunPhase::Clients)
            .bind(run.id)
            .execute(&ctx.db)
            .await?;
            Ok(Step::Continue)
        }
        RunPhase::Clients => {
            read_clients(ctx, connection, &fapi).await?;
            sqlx::query("UPDATE sync_runs SET phase = ?, status_reason = NULL WHERE id = ?")
                .bind(RunPhase::Fetching)
                .bind(run.id)
                .execute(&ctx.db)
                .await?;
            Ok(Step::Continue)
        }
        RunPhase::Fetching => {
            let size = *window.size.get_or_insert_with(|| {
                connection
                    .fapi_page_size
                    .and_then(|size| u32::try_from(size).ok())
                    .filter(|size| *size > 0)
                    .unwrap_or(FIRST_PAGE_SIZE)
            });
            window.fill(ctx, &fapi, run, run.cursor, size);
            let Fetched {
                documents,
                end,
                observed_cap,
            } = match take_pages(window).await {
                Err(error) if error.is_page_size_refused() && size > FALLBACK_PAGE_SIZE => {
                    tracing::info!(run = run.id, %error, "FAPI refused pages of {size}; using {FALLBACK_PAGE_SIZE}");
                    return use_page_size(ctx, window, connection, FALLBACK_PAGE_SIZE).await;
                }
                other => other.map_err(fapi_error)?,
            };
            let fetched = run.cursor + documents.len() as i64;
            let done = end || run.total.is_some_and(|total| fetched >= total);
            if !done {
                // The following pages are fetched while this batch is ingested and sent.
                window.fill(ctx, &fapi, run, fetched, size);
            }
            ingest_page(ctx, run, connection, documents, done).await?;
            if let Some(cap) = observed_cap.filter(|_| !done) {
                tracing::info!(
                    run = run.id,
                    "FAPI answered pages of {cap} when asked for {size}"
                );
                use_page_size(ctx, window, connection, cap).await?;
            }
            // Full batches go out as they fill up (the rest when fetching is done). This is
            // deliberately not overlapped with ingesting: while a batch is on its way, the
            // run holds no write lock, and notifications arriving meanwhile get their turn
            // (SQLite's lock is not fair: back-to-back transactions would starve them).
            // A stopping process sends no more (the next step resumes).
            while !*ctx.work.stopping.borrow() && store::run_unsent(&ctx.db, run.id).await? >= BATCH
            {
                send_batch(ctx, run, connection).await?;
            }
            Ok(Step::Continue)
        }
        RunPhase::Sending => {
            if store::run_unsent(&ctx.db, run.id).await? == 0 {
                sqlx::query("UPDATE sync_runs SET phase = ? WHERE id = ?")
                    .bind(RunPhase::Done)
                    .bind(run.id)
                    .execute(&ctx.db)
                    .await?;
                return Ok(Step::Done);
            }
            send_batch(ctx, run, connection).await?;
            Ok(Step::Continue)
        }
        RunPhase::Done => Ok(Step::Done),
    }
}

/// Client records asked for per page while a run reads the buyers.
const CLIENT_PAGE_SIZE: u32 = FALLBACK_PAGE_SIZE;

/// Reads all of the account's client records (`GET /clients`, eight pages at once) into the
/// connection's cache, so that pages of documents need no request per buyer for their company
/// and phone: 100,000 buyers cost 1,000 requests instead of 100,000. Forgotten buyers'
/// records are not kept. A FAPI that does not list clients (4xx) leaves the records to be
/// fetched one by one as their documents arrive.
async fn read_clients(
    ctx: &Context,
    connection: &ConnectionRecord,
    fapi: &FapiClient,
) -> Result<(), StepError> {
    let mut pages = std::collections::VecDeque::new();
    let mut next: u32 = 0;
    loop {
        while pages.len() < PAGES_IN_FLIGHT {
            let (fapi, offset) = (fapi.clone(), next);
            pages.push_back(AbortOnDrop(tokio::spawn(async move {
                fapi.list_clients(CLIENT_PAGE_SIZE, offset).await
            })));
            next += CLIENT_PAGE_SIZE;
        }
        let Some(mut page) = pages.pop_front() else {
            return Ok(());
        };
        let records = match (&mut page.0).await {
            Ok(Ok(records)) => records,
            Ok(Err(error))
                if !error.is_transient() && !matches!(error, FapiError::Unauthorized { .. }) =>
            {
                tracing::info!(connection = connection.id, %error, "FAPI does not list clients; their records are fetched per document");
                return Ok(());
            }
            Ok(Err(error)) => return Err(fapi_error(error)),
            Err(join) => return Err(StepError::Transient(format!("reading clients: {join}"))),
        };
        let last = records.len() < CLIENT_PAGE_SIZE as usize;
        // The list is current as FAPI's own clock goes (its documents' modification times):
        // the moment of reading, not the app's injected clock.
        crate::sync::clients::remember_listed(
            &ctx.db,
            &ctx.secret_key,
            connection.id,
            &records,
            Utc::now(),
        )
        .await?;
        if last {
            return Ok(());
        }
    }
}

/// A task aborted when dropped (pages asked for beyond the last one).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Documents of consecutive pages, ready to be ingested together.
struct Fetched {
    documents: Vec<ParsedDocument>,
    /// FAPI has no more: a page came back empty.
    end: bool,
    /// A page held fewer documents than asked for (but some): FAPI caps pages at this size
    /// without saying so, or this is the last page.
    observed_cap: Option<u32>,
}

/// Waits for the first page of the window, then takes the pages after it that have already
/// arrived, in order, up to [`INGEST_BATCH`] documents; stops at a short page.
async fn take_pages(window: &mut PageWindow) -> Result<Fetched, FapiError> {
    let mut fetched = Fetched {
        documents: Vec::new(),
        end: false,
        observed_cap: None,
    };
    while let Some(front) = window.pages.front_mut() {
        let ready = fetched.documents.is_empty() || front.page.is_finished();
        if !ready || fetched.documents.len() >= INGEST_BATCH {
            break;
        }
        let limit = front.limit;
        let page = match (&mut front.page).await {
            Ok(page) => page,
            Err(join) => Err(FapiError::Unreachable(format!(
                "fetching a page failed: {join}"
            ))),
        };
        window.pages.pop_front();
        let page = match page {
            Ok(page) => page,
            // What was taken is ingested; this page is asked for again at the next step.
            Err(_) if !fetched.documents.is_empty() => {
                window.pages.clear();
                break;
            }
            Err(error) => {
                window.pages.clear();
                return Err(error);
            }
        };
        let short = page.len() < limit as usize;
        fetched.end = page.is_empty();
        if short && !page.is_empty() {
            fetched.observed_cap = u32::try_from(page.len()).ok();
        }
        fetched.documents.extend(page);
        if short {
            // Pages fetched after a short one may have asked for the wrong offsets.
            window.pages.clear();
            break;
        }
    }
    Ok(fetched)
}

/// Switches the run (and the connection, for later runs) to pages of `size`; the pages in
/// flight, asked for with the old size, are dropped.
async fn use_page_size(
    ctx: &Context,
    window: &mut PageWindow,
    connection: &ConnectionRecord,
    size: u32,
) -> Result<Step, StepError> {
    window.pages.clear();
    window.size = Some(size);
    connections::remember_fapi_page_size(&ctx.db, connection.id, size).await?;
    Ok(Step::Continue)
}

/// A page of documents, read from JSON (on whichever task fetched it), with the client records
/// of their buyers that are not cached yet.
async fn fetch_page(
    ctx: &Context,
    connection_id: i64,
    fapi: &FapiClient,
    query: InvoiceQuery,
) -> Result<Vec<ParsedDocument>, FapiError> {
    let page = fapi.list_invoices_json(&query).await?;
    let raws: Vec<&serde_json::Value> = page.iter().collect();
    let mut clients =
        crate::sync::clients::fetch_needed(&ctx.db, &ctx.secret_key, connection_id, fapi, &raws)
            .await
            .map_err(|e| FapiError::Unreachable(format!("the client record cache: {e}")))?;
    Ok(page
        .iter()
        .map(|raw| {
            let document = ParsedDocument::parse(raw);
            // A client's record goes with the first of its documents in the page.
            let client = document.client_id().and_then(|id| clients.remove(&id));
            document.with_client(client)
        })
        .collect())
}

/// Ingests a page in one transaction with its checkpoint (the next offset and the counts).
async fn ingest_page(
    ctx: &Context,
    run: &Run,
    connection: &ConnectionRecord,
    page: Vec<ParsedDocument>,
    done: bool,
) -> Result<(), StepError> {
    let now = ctx.clock.now();
    let mut tx = ctx.db.begin_with("BEGIN IMMEDIATE").await?;
    let mut counts = store::RunCounts::default();
    let documents = page.len() as i64;
    let outcomes = ingest::ingest_batch_with(
        &mut tx,
        now,
        &ctx.secret_key,
        connection,
        page,
        Source::HistoricalSync,
        Some(run.id),
        run.resend,
    )
    .await?;
    for outcome in outcomes {
        match outcome {
            Ok(Ingested::Queued {
                new_order: true, ..
            }) => counts.created += 1,
            Ok(Ingested::Queued {
                new_order: false, ..
            }) => counts.updated += 1,
            Ok(Ingested::Unchanged { .. }) | Ok(Ingested::Skipped { .. }) => counts.skipped += 1,
            Ok(Ingested::Failed { .. }) | Err(_) => counts.failed += 1,
        }
    }
    // The checkpoint commits with the page: a crash repeats at most this page.
    sqlx::query(
        "UPDATE sync_runs SET cursor = cursor + ?, documents = documents + ?, created = created + ?,
            updated = updated + ?, skipped = skipped + ?, failed = failed + ?, progress_at = ?,
            phase = CASE WHEN ? THEN ? ELSE phase END, status_reason = NULL
         WHERE id = ?",
    )
    .bind(documents)
    .bind(documents)
    .bind(counts.created)
    .bind(counts.updated)
    .bind(counts.skipped)
    .bind(counts.failed)
    .bind(now)
    .bind(done)
    .bind(RunPhase::Sending)
    .bind(run.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn send_batch(
    ctx: &Context,
    run: &Run,
    connection: &ConnectionRecord,
) -> Result<(), StepError> {
    let jobs = store::claim_run_batch(&ctx.db, run.id, ctx.clock.now(), LOCK_FOR, BATCH).await?;
    if jobs.is_empty() {
        return Ok(());
    }
    match push::push_batch(ctx, connection, jobs).await {
        Ok(None) => {
            sqlx::query("UPDATE sync_runs SET progress_at = ? WHERE id = ?")
                .bind(ctx.clock.now())
                .bind(run.id)
                .execute(&ctx.db)
                .await?;
            Ok(())
        }
        Ok(Some(refused)) => Err(StepError::Refused(refused)),
        Err(error) => Err(StepError::Transient(error.to_string())),
    }
}

async fn cancel(ctx: &Context, run: &Run) -> anyhow::Result<()> {
    // What the run queued but never sent stays out of SmartEmailing.
    sqlx::query(
        "UPDATE orders SET sync_status = ?, status_reason = 'the historical sync was cancelled'
         WHERE run_id = ? AND sync_status = ? AND attempts = 0",
    )
    .bind(SyncStatus::Skipped)
    .bind(run.id)
    .bind(SyncStatus::Pending)
    .execute(&ctx.db)
    .await?;
    finish(ctx, run.id, RunStatus::Cancelled, None).await
}

async fn finish(
    ctx: &Context,
    run_id: i64,
    status: RunStatus,
    reason: Option<&str>,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE sync_runs SET status = ?, status_reason = ?, requested = NULL, finished_at = ? WHERE id = ?")
        .bind(status)
        .bind(reason)
        .bind(ctx.clock.now())
        .bind(run_id)
        .execute(&ctx.db)
        .await?;
    // Retries of the run's orders (if any) now belong to the ordinary push worker.
    ctx.work.orders.notify_one();
    Ok(())
}
