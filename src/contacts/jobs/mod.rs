//! Durable contact jobs: "Refresh from SmartEmailing" and the bulk actions (move into a list,
//! blacklist, GDPR delete), plus the check of contacts whose orders were just synced.
//!
//! A job is a row in `contact_jobs`; a bulk action's contacts are rows in `contact_job_items`
//! with a result each. The job loop claims one job at a time and checkpoints after every batch
//! of 500 (or every page of a refresh), so a restart continues without acting twice on a
//! contact. Creating a job carries the form's one-time key: a double submit finds the first
//! job.

mod bulk;
mod check;
mod commands;
mod refresh;
mod runner;
mod views;

pub use check::check_due;
pub use commands::{BulkAction, actions, start_bulk, start_refresh};
pub use runner::run_next;
pub use views::{detail, recent};

use bulk::{delete, import};
use refresh::refresh;
use runner::{ClaimedJob, LOCK_FOR, Outcome, stopping};
