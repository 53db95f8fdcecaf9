//! Every background loop, in one place. Each is a thin loop around one feature's step (no SQL
//! or HTTP of its own): it runs the step, and waits for a signal, a poll interval or the stop.
//!
//! Workers wake when work is added ([`WorkSignals`](crate::platform::signals::WorkSignals)) and
//! poll once a second for retries that became due. On shutdown they finish the item in hand
//! and stop; anything interrupted harder (a crash, `kill -9`) is put back in the queue at the
//! next start.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::accounts::auth::session;
use crate::contacts;
use crate::platform::{Context, db};
use crate::sync::{historical, notifications, push, reconcile};

const POLL: Duration = Duration::from_secs(1);
/// After pushing a small batch, the push worker waits this long so that, under a stream of
/// notifications, the next import carries many orders instead of a few (SmartEmailing paces
/// requests per account, so orders per request is what bounds throughput).
const LINGER: Duration = Duration::from_millis(150);

/// Starts every worker; they stop when `shutdown` turns true.
pub fn spawn(ctx: Context, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let mut handles = Vec::new();
    for _ in 0..ctx.settings.sync.notification_workers.max(1) {
        handles.push(tokio::spawn(run_loop(
            ctx.clone(),
            shutdown.clone(),
            Queue::Notifications,
        )));
    }
    handles.push(tokio::spawn(run_loop(
        ctx.clone(),
        shutdown.clone(),
        Queue::Orders,
    )));
    handles.push(tokio::spawn(historical_loop(ctx.clone(), shutdown.clone())));
    handles.push(tokio::spawn(contacts_loop(ctx.clone(), shutdown.clone())));
    handles.push(tokio::spawn(checkpoint_loop(ctx.clone(), shutdown.clone())));
    handles.push(tokio::spawn(sessions_loop(ctx.clone(), shutdown.clone())));
    handles.push(tokio::spawn(reconcile_loop(ctx, shutdown)));
    handles
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
        if let Err(error) = reconcile::run_all(&ctx).await {
            tracing::error!(error = format!("{error:#}"), "reconciliation failed");
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
