//! In-process signals between the code that adds work and the workers that do it, and the
//! "stopping" flag long jobs watch.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Notify, watch};

/// Wakes the workers when work is added, and tells long jobs the process is stopping.
#[derive(Debug)]
pub struct WorkSignals {
    pub notifications: Notify,
    pub orders: Notify,
    pub historical: Notify,
    /// Contact checks, refreshes and bulk actions.
    pub contacts: Notify,
    /// E-mails added to the outbox.
    pub mail: Notify,
    pub stopping: watch::Sender<bool>,
    /// Historical runs this process is executing (a run never executes twice at once).
    pub active_runs: Mutex<HashSet<i64>>,
    /// Panics of each historical run in this process (the third ends the run).
    pub run_panics: Mutex<std::collections::HashMap<i64, u32>>,
    /// Loop restarts after panics (see `worker`), reported by `/readyz`.
    pub health: WorkerHealth,
}

impl Default for WorkSignals {
    fn default() -> Self {
        WorkSignals {
            notifications: Notify::new(),
            orders: Notify::new(),
            historical: Notify::new(),
            contacts: Notify::new(),
            mail: Notify::new(),
            stopping: watch::channel(false).0,
            active_runs: Default::default(),
            health: Default::default(),
            run_panics: Default::default(),
        }
    }
}

/// A counter bumped whenever something that caches depend on changes (e.g. a connection's
/// webhook token, forwarding switch or existence). A cache remembers the generation it read
/// and throws away what it holds when the generation moved on.
#[derive(Debug, Default)]
pub struct Generation(AtomicU64);

impl Generation {
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// How often each background loop had to be restarted after a panic, so that `/readyz` can
/// report a loop that keeps dying.
#[derive(Debug, Default)]
pub struct WorkerHealth(Mutex<std::collections::HashMap<&'static str, Vec<std::time::Instant>>>);

/// A loop restarted this many times within [`WorkerHealth::WINDOW`] is failing.
const FAILING_AFTER: usize = 3;

impl WorkerHealth {
    pub const WINDOW: std::time::Duration = std::time::Duration::from_secs(10 * 60);

    pub fn record_restart(&self, worker: &'static str) {
        let mut restarts = self.0.lock().expect("worker health lock");
        let times = restarts.entry(worker).or_default();
        times.push(std::time::Instant::now());
        times.retain(|at| at.elapsed() < Self::WINDOW);
    }

    /// The loops that restarted at least three times in the last ten minutes.
    pub fn failing(&self) -> Vec<&'static str> {
        let restarts = self.0.lock().expect("worker health lock");
        let mut failing: Vec<_> = restarts
            .iter()
            .filter(|(_, times)| {
                times
                    .iter()
                    .filter(|at| at.elapsed() < Self::WINDOW)
                    .count()
                    >= FAILING_AFTER
            })
            .map(|(worker, _)| *worker)
            .collect();
        failing.sort_unstable();
        failing
    }
}
