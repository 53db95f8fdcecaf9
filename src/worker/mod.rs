//! Every background loop, in one place. Each is a thin loop around one feature's step (no SQL
//! or HTTP of its own): it runs the step, and waits for a signal, a poll interval or the stop.
//!
//! Workers wake when work is added ([`WorkSignals`](crate::platform::signals::WorkSignals)) and
//! poll once a second for retries that became due. On shutdown they finish the item in hand
//! and stop; anything interrupted harder (a crash, `kill -9`) is put back in the queue at the
//! next start.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::accounts::audit;
use crate::accounts::auth::session;
use crate::alerts;
use crate::contacts;
use crate::mail::outbox;
use crate::platform::error::panic_message;
use crate::platform::signals::WorkSignals;
use crate::platform::{Context, db, leases};
use crate::sync::{historical, notifications, push, reconcile, retention};

const POLL: Duration = Duration::from_secs(1);
/// After pushing a small batch, the push worker waits this long so that, under a stream of
/// notifications, the next import carries many orders instead of a few (SmartEmailing paces
/// requests per account, so orders per request is what bounds throughput).
const LINGER: Duration = Duration::from_millis(150);

/// Starts every worker, each supervised; they stop when `shutdown` turns true.
pub fn spawn(ctx: Context, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let (c, s) = (&ctx, &shutdown);
    let mut handles = Vec::new();
    for _ in 0..ctx.settings.sync.notification_workers.max(1) {
        handles.push(supervise(c, "notifications", s, |ctx, stop| {
            run_loop(ctx, stop, Queue::Notifications)
        }));
    }
    handles.push(supervise(c, "pushes", s, |ctx, stop| {
        run_loop(ctx, stop, Queue::Orders)
    }));
    handles.push(supervise(c, "historical syncs", s, historical_loop));
    handles.push(supervise(c, "contacts", s, contacts_loop));
    handles.push(supervise(c, "checkpoints", s, checkpoint_loop));
    handles.push(supervise(c, "reconciliation", s, reconcile_loop));
    handles.push(supervise(c, "retention", s, retention_loop));
    handles.push(supervise(c, "sessions", s, sessions_loop));
    handles.push(supervise(c, "e-mails", s, mail_loop));
    handles.push(supervise(c, "alerts", s, alerts_loop));
    handles
}

/// Runs a loop and, if it panics, logs it, counts it (`/readyz` reports a loop that keeps
/// dying) and starts it again after a pause that doubles up to a minute. Aborting the returned
/// task aborts the loop too.
fn supervise<F, Fut>(
    ctx: &Context,
    name: &'static str,
    shutdown: &watch::Receiver<bool>,
    run: F,
) -> JoinHandle<()>
where
    F: Fn(Context, watch::Receiver<bool>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let restarts = Restarts {
        work: ctx.work.clone(),
        first_pause: Duration::from_secs(1),
    };
    supervise_with(ctx.clone(), restarts, name, shutdown, run)
}

/// Where restarts are counted, and the pause before the first one.
struct Restarts {
    work: std::sync::Arc<WorkSignals>,
    first_pause: Duration,
}

/// [`supervise`], for any state the loop takes.
fn supervise_with<S, F, Fut>(
    state: S,
    restarts: Restarts,
    name: &'static str,
    shutdown: &watch::Receiver<bool>,
    run: F,
) -> JoinHandle<()>
where
    S: Clone + Send + 'static,
    F: Fn(S, watch::Receiver<bool>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut shutdown = shutdown.clone();
    tokio::spawn(async move {
        let mut pause = restarts.first_pause;
        loop {
            let started = tokio::time::Instant::now();
            let mut task = AbortOnDrop(tokio::spawn(run(state.clone(), shutdown.clone())));
            let panic = match (&mut task.0).await {
                Err(error) if error.is_panic() => panic_message(error.into_panic().as_ref()),
                // It ended (the stop) or was cancelled.
                _ => return,
            };
            restarts.work.health.record_restart(name);
            metrics::counter!(crate::platform::metrics::WORKER_RESTARTS, "worker" => name)
                .increment(1);
            tracing::error!(worker = name, %panic, ?pause, "a background loop panicked; restarting it");
            if started.elapsed() > RESTART_PAUSE_MAX {
                pause = restarts.first_pause;
            }
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
            pause = (pause * 2).min(RESTART_PAUSE_MAX);
        }
    })
}

const RESTART_PAUSE_MAX: Duration = Duration::from_secs(60);

/// A task that is aborted when its handle is dropped (its supervisor was aborted).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// After a push wakes the contact loop, it waits until pushes have paused this long (at most
/// [`CONTACT_CHECK_MAX_WAIT`]), so a burst's buyers are checked together: one refresh instead
/// of a look-up per buyer (see `contacts::jobs::check_due`).
const CONTACT_CHECK_SETTLE: Duration = Duration::from_secs(1);
const CONTACT_CHECK_MAX_WAIT: Duration = Duration::from_secs(30);

/// Contact jobs (refresh, bulk actions), then the check of contacts whose orders were synced.
async fn contacts_loop(ctx: Context, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let worked = async {
            let job = contacts::jobs::run_next(&ctx).await?;
            let checked = contacts::jobs::check_due(&ctx).await?;
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
            () = ctx.work.contacts.notified() => settle(&ctx.work.contacts, &mut shutdown).await,
            () = tokio::time::sleep(POLL * 5) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Waits until `signal` has been quiet for [`CONTACT_CHECK_SETTLE`], at most
/// [`CONTACT_CHECK_MAX_WAIT`] in all, or until the stop.
async fn settle(signal: &tokio::sync::Notify, shutdown: &mut watch::Receiver<bool>) {
    let deadline = tokio::time::Instant::now() + CONTACT_CHECK_MAX_WAIT;
    loop {
        tokio::select! {
            () = signal.notified() => {}
            () = tokio::time::sleep(CONTACT_CHECK_SETTLE) => return,
            () = tokio::time::sleep_until(deadline) => return,
            _ = shutdown.changed() => return,
        }
    }
}

/// Starts (and, after a restart, resumes) historical syncs. On shutdown the runs stop after
/// the step in hand; this loop ends when they have (or is aborted with them at the deadline).
async fn historical_loop(ctx: Context, mut shutdown: watch::Receiver<bool>) {
    let mut runs = tokio::task::JoinSet::new();
    loop {
        if *shutdown.borrow() {
            let _ = ctx.work.stopping.send(true);
            while runs.join_next().await.is_some() {}
            return;
        }
        if let Err(error) = historical::dispatch(&ctx, &mut runs).await {
            tracing::error!(%error, "could not start historical syncs");
        }
        // Reap finished runs.
        while runs.try_join_next().is_some() {}
        tokio::select! {
            () = ctx.work.historical.notified() => {}
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

async fn run_loop(ctx: Context, mut shutdown: watch::Receiver<bool>, queue: Queue) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let worked = match queue {
            Queue::Notifications => notifications::process_next(&ctx).await,
            Queue::Orders => match push::push_due_orders(&ctx).await {
                Ok(pushed) if pushed > 0 && pushed < ctx.settings.sync.batch_size / 2 => {
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
            Queue::Notifications => &ctx.work.notifications,
            Queue::Orders => &ctx.work.orders,
        };
        tokio::select! {
            () = signal.notified() => {}
            () = tokio::time::sleep(POLL) => {}
            _ = shutdown.changed() => {}
        }
    }
}

async fn reconcile_loop(ctx: Context, mut shutdown: watch::Receiver<bool>) {
    let interval = ctx.settings.sync.reconcile_interval;
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        if !holds(&ctx, leases::names::RECONCILIATION, interval).await {
            continue;
        }
        if let Err(error) = reconcile::run_all(&ctx).await {
            tracing::error!(error = format!("{error:#}"), "reconciliation failed");
        }
    }
}

/// Sends the outbox's due e-mails; wakes when one is added, and polls for retries.
async fn mail_loop(ctx: Context, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        match outbox::deliver_due(&ctx).await {
            Ok(tried) if tried > 0 => continue,
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "sending e-mails failed"),
        }
        tokio::select! {
            () = ctx.work.mail.notified() => {}
            () = tokio::time::sleep(POLL) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Evaluates the alert conditions on a schedule.
async fn alerts_loop(ctx: Context, mut shutdown: watch::Receiver<bool>) {
    let interval = ctx.settings.alerts.check_interval;
    loop {
        if holds(&ctx, leases::names::ALERT_CHECKS, interval).await
            && let Err(error) = alerts::conditions::evaluate(&ctx).await
        {
            tracing::error!(error = format!("{error:#}"), "evaluating alerts failed");
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// Whether this replica holds (took or renewed) the lease of a job that runs every `interval`
/// and must run in one replica at a time. The lease lasts three intervals: its holder renews it
/// at every run, and another replica takes over when the holder missed three.
async fn holds(ctx: &Context, job: &str, interval: Duration) -> bool {
    let ttl = chrono::Duration::from_std(interval * 3).unwrap_or(chrono::Duration::hours(3));
    match ctx.hold_lease(job, ttl).await {
        Ok(held) => held,
        Err(error) => {
            tracing::warn!(job, %error, "could not take the job's lease; trying again later");
            false
        }
    }
}

/// Expired sessions are deleted this often at most (and every idle timeout, if shorter).
const SESSION_CLEANUP: Duration = Duration::from_secs(3600);

/// Deletes expired sessions on a schedule until the stop.
async fn sessions_loop(ctx: Context, mut shutdown: watch::Receiver<bool>) {
    let period = SESSION_CLEANUP.min(ctx.settings.session_idle_timeout);
    loop {
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        if let Err(error) = session::delete_expired(&ctx.db).await {
            tracing::warn!(
                error = format!("{error:#}"),
                "deleting expired sessions failed"
            );
        }
    }
}

/// Deletes what is past its retention once at start and then every hour, a batch at a time
/// with pauses in between (writers waiting for the lock get their turn).
async fn retention_loop(ctx: Context, mut shutdown: watch::Receiver<bool>) {
    loop {
        if holds(&ctx, leases::names::RETENTION, RETENTION_INTERVAL).await
            && let Err(error) = retention_pass(&ctx, &shutdown).await
        {
            tracing::warn!(%error, "deleting expired records failed; the next pass tries again");
        }
        tokio::select! {
            () = tokio::time::sleep(RETENTION_INTERVAL) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

const RETENTION_INTERVAL: Duration = Duration::from_secs(3600);

async fn retention_pass(
    ctx: &Context,
    shutdown: &watch::Receiver<bool>,
) -> Result<(), sqlx::Error> {
    let keep = ctx.settings.retention;
    let before = |age: Duration| ctx.now() - chrono::Duration::from_std(age).unwrap_or_default();
    for table in [
        "notifications",
        "order_attempts",
        "emails",
        "alerts",
        "audit_log",
    ] {
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let deleted = match table {
                "notifications" => {
                    retention::delete_notifications(&ctx.db, before(keep.notifications)).await?
                }
                "order_attempts" => {
                    retention::delete_order_attempts(&ctx.db, before(keep.order_attempts)).await?
                }
                "emails" => {
                    outbox::delete_finished(&ctx.db, before(keep.alerts), retention::BATCH).await?
                }
                "alerts" => {
                    alerts::delete_older_than(&ctx.db, before(keep.alerts), retention::BATCH)
                        .await?
                }
                _ => {
                    audit::delete_older_than(&ctx.db, before(keep.audit_log), retention::BATCH)
                        .await?
                }
            };
            if deleted > 0 {
                tracing::info!(table, deleted, "deleted records past their retention");
            }
            if deleted < retention::BATCH as u64 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// Copies SQLite's WAL into the database file every second, off the request path, until the
/// stop. Closing the pool checkpoints what is left.
async fn checkpoint_loop(ctx: Context, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        if let Err(error) = db::checkpoint(&ctx.db).await {
            tracing::warn!(%error, "WAL checkpoint failed; the next one tries again");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_loop_that_panics_is_restarted_and_reported_once_it_keeps_dying() {
        let work = Arc::new(WorkSignals::default());
        let restarts = Restarts {
            work: work.clone(),
            first_pause: Duration::from_millis(10),
        };
        let (stop, stopped) = watch::channel(false);
        let runs = Arc::new(AtomicU32::new(0));
        let supervisor = supervise_with(runs.clone(), restarts, "test loop", &stopped, {
            |runs: Arc<AtomicU32>, mut stopped: watch::Receiver<bool>| async move {
                // The first four runs die at once; the fifth runs until the stop.
                if runs.fetch_add(1, Ordering::SeqCst) < 4 {
                    panic!("broken input");
                }
                let _ = stopped.wait_for(|stop| *stop).await;
            }
        });
        while runs.load(Ordering::SeqCst) < 5 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(work.health.failing(), ["test loop"], "restarted four times");
        stop.send(true).unwrap();
        supervisor.await.unwrap();
        assert_eq!(
            runs.load(Ordering::SeqCst),
            5,
            "not restarted after a clean end"
        );
    }
}
