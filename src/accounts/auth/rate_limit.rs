//! Login throttling: after `max_failures` failed attempts within `window`, per client address
//! and per e-mail, further attempts are refused until the oldest failure leaves the window.
//!
//! Successful logins are not delayed; a success clears the e-mail's failures. Kept in memory:
//! a restart forgets the counters, which is acceptable for a brute-force brake.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

#[derive(Debug)]
pub struct LoginRateLimiter {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

/// The keys one login attempt is counted under.
pub struct AttemptKeys {
    pub client: String,
    pub email: String,
}

impl AttemptKeys {
    pub fn new(client_addr: &str, email: &str) -> AttemptKeys {
        AttemptKeys {
            client: format!("client:{client_addr}"),
            email: format!("email:{}", email.trim().to_lowercase()),
        }
    }

    fn all(&self) -> [&str; 2] {
        [&self.client, &self.email]
    }
}

impl LoginRateLimiter {
    pub fn new(max_failures: u32, window: std::time::Duration) -> LoginRateLimiter {
        LoginRateLimiter {
            max_failures: max_failures as usize,
            window: Duration::from_std(window).unwrap_or(Duration::minutes(15)),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds)` when an attempt now must be refused, with the wait until the next one.
    pub fn check(&self, keys: &AttemptKeys, now: DateTime<Utc>) -> Result<(), u64> {
        let mut failures = self.failures.lock().expect("limiter lock");
        let mut wait = None::<Duration>;
        for key in keys.all() {
            if let Some(times) = failures.get_mut(key) {
                prune(times, now, self.window);
                if times.len() >= self.max_failures {
                    let oldest = times[times.len() - self.max_failures];
                    let until = oldest + self.window - now;
                    wait = Some(wait.map_or(until, |w| w.max(until)));
                }
            }
        }
        match wait {
            Some(wait) => Err(wait.num_seconds().max(1) as u64),
            None => Ok(()),
        }
    }

    pub fn record_failure(&self, keys: &AttemptKeys, now: DateTime<Utc>) {
        let mut failures = self.failures.lock().expect("limiter lock");
        if failures.len() > 10_000 {
            // Bound memory under a spray of addresses: drop keys whose failures all expired.
            failures.retain(|_, times| {
                prune(times, now, self.window);
                !times.is_empty()
            });
        }
        for key in keys.all() {
            let times = failures.entry(key.to_string()).or_default();
            prune(times, now, self.window);
            times.push_back(now);
        }
    }

    pub fn record_success(&self, keys: &AttemptKeys) {
        self.failures
            .lock()
            .expect("limiter lock")
            .remove(&keys.email);
    }
}

fn prune(times: &mut VecDeque<DateTime<Utc>>, now: DateTime<Utc>, window: Duration) {
    while times.front().is_some_and(|t| *t <= now - window) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> LoginRateLimiter {
        LoginRateLimiter::new(5, std::time::Duration::from_secs(15 * 60))
    }

    fn start() -> DateTime<Utc> {
        "2026-11-29T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn fifth_failure_blocks_until_the_window_passes() {
        let limiter = limiter();
        let keys = AttemptKeys::new("10.0.0.1", "a@example.cz");
        for minute in 0..5 {
            let now = start() + Duration::minutes(minute);
            assert_eq!(limiter.check(&keys, now), Ok(()));
            limiter.record_failure(&keys, now);
        }
        let later = start() + Duration::minutes(5);
        assert_eq!(limiter.check(&keys, later), Err(10 * 60));
        assert_eq!(
            limiter.check(&keys, start() + Duration::minutes(15)),
            Ok(())
        );
    }

    #[test]
    fn the_same_address_is_blocked_for_other_emails_and_vice_versa() {
        let limiter = limiter();
        for i in 0..5 {
            limiter.record_failure(
                &AttemptKeys::new("10.0.0.1", &format!("u{i}@example.cz")),
                start(),
            );
        }
        assert!(
            limiter
                .check(&AttemptKeys::new("10.0.0.1", "new@example.cz"), start())
                .is_err()
        );
        assert!(
            limiter
                .check(&AttemptKeys::new("10.0.0.2", "new@example.cz"), start())
                .is_ok()
        );

        for i in 0..5 {
            limiter.record_failure(
                &AttemptKeys::new(&format!("10.1.0.{i}"), "victim@example.cz"),
                start(),
            );
        }
        assert!(
            limiter
                .check(&AttemptKeys::new("10.9.9.9", "Victim@example.cz"), start())
                .is_err()
        );
    }

    #[test]
    fn success_clears_the_email_counter() {
        let limiter = limiter();
        let keys = AttemptKeys::new("10.0.0.1", "a@example.cz");
        for _ in 0..4 {
            limiter.record_failure(&keys, start());
        }
        limiter.record_success(&keys);
        let other_client = AttemptKeys::new("10.0.0.2", "a@example.cz");
        limiter.record_failure(&other_client, start());
        assert_eq!(limiter.check(&other_client, start()), Ok(()));
    }
}
