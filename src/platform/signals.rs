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
    pub stopping: watch::Sender<bool>,
    /// Historical runs this process is executing (a run never executes twice at once).
    pub active_runs: Mutex<HashSet<i64>>,
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
