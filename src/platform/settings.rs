//! Plain settings that domain code reads from the [`Context`](super::context::Context). They
//! are data only (parsed by `web::config`); the rules that use them live with their features.

use std::time::Duration;

use chrono::{DateTime, NaiveTime, Utc, Weekday};
use rand::Rng;

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

/// When engagement is recalculated and when the reminder rings, in Prague time (the rule
/// itself is in `reminders::schedule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReminderRule {
    pub recalculation_day: Weekday,
    pub recalculation_time: NaiveTime,
    /// The reminder is due at this time on the Monday after the recalculation.
    pub reminder_time: NaiveTime,
}

impl Default for ReminderRule {
    fn default() -> Self {
        ReminderRule {
            recalculation_day: Weekday::Sun,
            recalculation_time: NaiveTime::from_hms_opt(18, 0, 0).expect("valid time"),
            reminder_time: NaiveTime::from_hms_opt(9, 0, 0).expect("valid time"),
        }
    }
}

/// How long finished records are kept before the retention worker deletes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Notifications that reached an outcome (up to 64 KiB each).
    pub notifications: Duration,
    /// Push attempts of orders that are synced.
    pub order_attempts: Duration,
    pub audit_log: Duration,
    /// Alerts, and e-mails that were sent or failed.
    pub alerts: Duration,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        const DAY: u64 = 24 * 3600;
        RetentionSettings {
            notifications: Duration::from_secs(30 * DAY),
            order_attempts: Duration::from_secs(90 * DAY),
            audit_log: Duration::from_secs(365 * DAY),
            alerts: Duration::from_secs(90 * DAY),
        }
    }
}

/// How alerts are checked and e-mails retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertSettings {
    /// How often the alert conditions are evaluated.
    pub check_interval: Duration,
    /// The wait before an e-mail's first retry; it doubles with each further attempt.
    pub email_retry_delay: Duration,
    /// Attempts per e-mail before it is marked failed.
    pub email_max_attempts: u32,
}

impl Default for AlertSettings {
    /// Checked every 30 s; eight attempts from 1 min doubling: the last about 2 hours after
    /// the first.
    fn default() -> Self {
        AlertSettings {
            check_interval: Duration::from_secs(30),
            email_retry_delay: Duration::from_secs(60),
            email_max_attempts: 8,
        }
    }
}

impl AlertSettings {
    /// When an e-mail's attempt `attempt + 1` is due after `attempt` failures (doubling).
    pub fn next_email_attempt(&self, now: DateTime<Utc>, attempt: u32) -> DateTime<Utc> {
        let delay =
            self.email_retry_delay.as_millis() as i64 * 2i64.pow(attempt.saturating_sub(1).min(16));
        now + chrono::Duration::milliseconds(delay)
    }
}
