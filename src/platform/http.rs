//! What the FAPI and SmartEmailing clients share: timeouts and retry with exponential backoff
//! and jitter.

use std::time::Duration;

use rand::Rng;

/// How the outbound clients behave; from configuration, shortened in tests.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Per-request timeout.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// SmartEmailing requests per second per account.
    pub smartemailing_requests_per_second: u32,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            smartemailing_requests_per_second: 5,
        }
    }
}

/// Attempts and waits for transient failures (timeouts, 5xx, 429).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Total attempts, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (after `attempt` failures): exponential, capped,
    /// with "full jitter" so many clients do not retry in step.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max_delay);
        let millis = exponential.as_millis().max(1) as u64;
        Duration::from_millis(rand::thread_rng().gen_range(millis / 2..=millis))
    }
}

pub fn build_http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("fapi-bridge/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client configuration is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        let first = policy.backoff(1);
        assert!((50..=100).contains(&first.as_millis()), "{first:?}");
        let third = policy.backoff(3);
        assert!((200..=400).contains(&third.as_millis()), "{third:?}");
        let tenth = policy.backoff(10);
        assert!((500..=1000).contains(&tenth.as_millis()), "{tenth:?}");
    }
}
