//! Configuration from environment variables (and a `.env` file, read by the CLI).
//!
//! Every value is validated at start; all problems are reported together, each naming its
//! variable, so an operator fixes them in one go.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::platform::context::Settings;
use crate::platform::crypto::SecretKey;
use crate::platform::http::{HttpSettings, RetryPolicy};
use crate::platform::settings::{AlertSettings, ReminderRule, RetentionSettings, SyncSettings};
use crate::platform::smtp::SmtpSettings;
use crate::reminders::schedule::Recalculation;

/// Where the encryption key for stored API keys comes from.
#[derive(Clone, Debug)]
pub enum SecretKeySource {
    /// `SECRET_KEY`: 32 bytes, base64.
    Inline(SecretKey),
    /// `SECRET_KEY_FILE`: read, or generated on first start with owner-only permissions.
    File(PathBuf),
}

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub listen_addr: SocketAddr,
    /// The address users and FAPI reach (scheme, host, port; no trailing slash).
    pub public_url: Url,
    pub secret_key: SecretKeySource,
    pub session_idle_timeout: Duration,
    pub login_max_failures: u32,
    pub login_failure_window: Duration,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted reverse proxy).
    pub trust_forwarded_for: bool,
    /// How many of the operator's proxies append to `X-Forwarded-For` (1 or more).
    pub trusted_proxy_hops: usize,
    /// `LEPTOS_SITE_ROOT`: serve the site from this folder (else the embedded site, else
    /// `target/site`; see `static_files::SiteSource`).
    pub site_root: Option<String>,
    pub output_name: String,
    /// Base URL of the FAPI API.
    pub fapi_api_url: Url,
    /// Base URL of the SmartEmailing API (v3).
    pub smartemailing_api_url: Url,
    /// Timeouts, retries and pace of calls to FAPI and SmartEmailing.
    pub http: HttpSettings,
    /// Retries, batches, reconciliation and webhook limits of the sync engine.
    pub sync: SyncSettings,
    /// When engagement is recalculated and when reminders ring (Prague time).
    pub reminders: ReminderRule,
    /// How long finished notifications, attempts and audit entries are kept.
    pub retention: RetentionSettings,
    /// End-to-end tests only: the clock can be moved over HTTP (`PUT /_test/clock`).
    pub test_clock: bool,
    /// Where `GET /metrics` (Prometheus) is served; off when `None`.
    pub metrics_addr: Option<SocketAddr>,
    /// `SMTP_URL` and `EMAIL_FROM`; e-mail is off when `None`.
    pub smtp: Option<SmtpSettings>,
    /// How alerts are checked and e-mails retried.
    pub alerts: AlertSettings,
    /// `REPLICA_ID`: this process among the replicas sharing the database (default: the host
    /// name); the holder of the leases it takes.
    pub replica_id: String,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/fapi-bridge.db";
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_SECRET_KEY_FILE: &str = "data/secret.key";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests can pass their own values.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());

        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
            problems.push(format!(
                "DATABASE_URL: PostgreSQL is not supported yet (its schema is ready, the app's queries run on SQLite only); use an SQLite URL like {DEFAULT_DATABASE_URL}"
            ));
        } else if !database_url.starts_with("sqlite:") {
            problems.push(format!(
                "DATABASE_URL must be an SQLite URL like {DEFAULT_DATABASE_URL}, got {database_url:?}"
            ));
        }

        let listen_text = get("LEPTOS_SITE_ADDR").unwrap_or_else(|| DEFAULT_LISTEN_ADDR.into());
        let listen_addr = listen_text.parse::<SocketAddr>().unwrap_or_else(|_| {
            problems.push(format!(
                "LEPTOS_SITE_ADDR must be an address like 127.0.0.1:3000, got {listen_text:?}"
            ));
            DEFAULT_LISTEN_ADDR.parse().expect("default address parses")
        });

        let public_url = match get("PUBLIC_URL") {
            Some(text) => parse_public_url(&text).unwrap_or_else(|problem| {
                problems.push(problem);
                default_public_url(listen_addr)
            }),
            None => default_public_url(listen_addr),
        };

        let secret_key = match (get("SECRET_KEY"), get("SECRET_KEY_FILE")) {
            (Some(text), _) => match SecretKey::from_base64(&text) {
                Ok(key) => SecretKeySource::Inline(key),
                Err(_) => {
                    problems.push(
                        "SECRET_KEY must be 32 random bytes in base64 (e.g. `openssl rand -base64 32`)"
                            .into(),
                    );
                    SecretKeySource::File(DEFAULT_SECRET_KEY_FILE.into())
                }
            },
            (None, Some(path)) => SecretKeySource::File(path.into()),
            (None, None) => SecretKeySource::File(DEFAULT_SECRET_KEY_FILE.into()),
        };

        let mut duration = |name: &str, default: &str| {
            let text = get(name).unwrap_or_else(|| default.into());
            match humantime::parse_duration(&text) {
                Ok(value) if !value.is_zero() => value,
                _ => {
                    problems.push(format!(
                        "{name} must be a duration like {default} (units s, m, h, d), got {text:?}"
                    ));
                    humantime::parse_duration(default).expect("default duration parses")
                }
            }
        };
        let session_idle_timeout = duration("SESSION_IDLE_TIMEOUT", "7d");
        let replica_id = get("REPLICA_ID")
            .map(|id| id.trim().to_owned())
            .or_else(|| {
                hostname::get()
                    .ok()
                    .and_then(|name| name.into_string().ok())
            })
            .unwrap_or_else(|| "fapi-bridge".to_owned());
        let login_failure_window = duration("LOGIN_FAILURE_WINDOW", "15m");
        let http_timeout = duration("HTTP_TIMEOUT", "30s");
        let http_retry_delay = duration("HTTP_RETRY_DELAY", "500ms");
        let retry_delay = duration("SYNC_RETRY_DELAY", "5m");
        let reconcile_interval = duration("RECONCILE_INTERVAL", "10m");
        let alert_check_interval = duration("ALERT_CHECK_INTERVAL", "30s");
        let email_retry_delay = duration("EMAIL_RETRY_DELAY", "1m");
        let retention = RetentionSettings {
            notifications: duration("RETAIN_NOTIFICATIONS", "30d"),
            order_attempts: duration("RETAIN_ORDER_ATTEMPTS", "90d"),
            audit_log: duration("RETAIN_AUDIT_LOG", "365d"),
            alerts: duration("RETAIN_ALERTS", "90d"),
        };

        let login_max_failures = match get("LOGIN_MAX_FAILURES") {
            None => 5,
            Some(text) => match text.parse::<u32>() {
                Ok(value) if value > 0 => value,
                _ => {
                    problems.push(format!(
                        "LOGIN_MAX_FAILURES must be a positive whole number, got {text:?}"
                    ));
                    5
                }
            },
        };

        let mut api_url = |name: &str, default: &str| {
            let text = get(name).unwrap_or_else(|| default.into());
            match Url::parse(&text) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => url,
                _ => {
                    problems.push(format!(
                        "{name} must be an http(s) URL like {default}, got {text:?}"
                    ));
                    Url::parse(default).expect("default URL parses")
                }
            }
        };
        let fapi_api_url = api_url("FAPI_API_URL", crate::fapi::client::DEFAULT_BASE_URL);
        let smartemailing_api_url = api_url(
            "SMARTEMAILING_API_URL",
            crate::smartemailing::client::DEFAULT_BASE_URL,
        );

        let smartemailing_requests_per_second = match get("SMARTEMAILING_REQUESTS_PER_SECOND") {
            None => 5,
            Some(text) => match text.parse::<u32>() {
                Ok(value) if (1..=1000).contains(&value) => value,
                _ => {
                    problems.push(format!(
                        "SMARTEMAILING_REQUESTS_PER_SECOND must be a whole number from 1 to 1000, got {text:?}"
                    ));
                    5
                }
            },
        };

        let mut whole =
            |name: &str, default: u32, range: std::ops::RangeInclusive<u32>| match get(name) {
                None => default,
                Some(text) => match text.parse::<u32>() {
                    Ok(value) if range.contains(&value) => value,
                    _ => {
                        problems.push(format!(
                            "{name} must be a whole number from {} to {}, got {text:?}",
                            range.start(),
                            range.end()
                        ));
                        default
                    }
                },
            };
        let max_attempts = whole("SYNC_MAX_ATTEMPTS", 8, 1..=50);
        let webhook_requests_per_second = whole("WEBHOOK_REQUESTS_PER_SECOND", 100, 1..=100_000);
        let trusted_proxy_hops = whole("TRUSTED_PROXY_HOPS", 1, 1..=10) as usize;
        let email_max_attempts = whole("EMAIL_MAX_ATTEMPTS", 8, 1..=50);

        let trust_forwarded_for = match get("TRUST_FORWARDED_FOR").as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => {
                problems.push(format!(
                    "TRUST_FORWARDED_FOR must be true or false, got {other:?}"
                ));
                false
            }
        };

        let metrics_addr = get("METRICS_ADDR").and_then(|text| {
            text.parse::<SocketAddr>()
                .map_err(|_| {
                    problems.push(format!(
                        "METRICS_ADDR must be an address like 127.0.0.1:9187, got {text:?}"
                    ))
                })
                .ok()
        });

        let test_clock = match get("TEST_CLOCK").as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => {
                problems.push(format!("TEST_CLOCK must be true or false, got {other:?}"));
                false
            }
        };
        let mut reminders = ReminderRule::default();
        if let Some(text) = get("ENGAGEMENT_RECALCULATION") {
            match text.parse::<Recalculation>() {
                Ok(Recalculation(day, time)) => {
                    reminders.recalculation_day = day;
                    reminders.recalculation_time = time;
                }
                Err(why) => problems.push(format!(
                    "ENGAGEMENT_RECALCULATION must be a weekday and a Prague time like \"Sun 18:00\": {why}"
                )),
            }
        }
        if let Some(text) = get("REMINDER_TIME") {
            match chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M") {
                Ok(time) => reminders.reminder_time = time,
                Err(_) => problems.push(format!(
                    "REMINDER_TIME must be a Prague time like 09:00, got {text:?}"
                )),
            }
        }

        let smtp = match (get("SMTP_URL"), get("EMAIL_FROM")) {
            (None, _) => None,
            (Some(_), None) => {
                problems.push(
                    "EMAIL_FROM must be set with SMTP_URL: the sender, like \"fapi-bridge <bridge@example.cz>\""
                        .into(),
                );
                None
            }
            (Some(url), Some(from)) => SmtpSettings::parse(&url, &from)
                .map_err(|problem| problems.push(problem))
                .ok(),
        };

        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Config {
            database_url,
            listen_addr,
            public_url,
            secret_key,
            session_idle_timeout,
            replica_id,
            login_max_failures,
            login_failure_window,
            trust_forwarded_for,
            trusted_proxy_hops,
            site_root: get("LEPTOS_SITE_ROOT"),
            output_name: get("LEPTOS_OUTPUT_NAME").unwrap_or_else(|| "fapi-bridge".into()),
            fapi_api_url,
            smartemailing_api_url,
            http: HttpSettings {
                timeout: http_timeout,
                retry: RetryPolicy {
                    base_delay: http_retry_delay,
                    ..RetryPolicy::default()
                },
                smartemailing_requests_per_second,
            },
            sync: SyncSettings {
                max_attempts,
                retry_delay,
                reconcile_interval,
                webhook_requests_per_second,
                ..SyncSettings::default()
            },
            reminders,
            retention,
            test_clock,
            metrics_addr,
            smtp,
            alerts: AlertSettings {
                check_interval: alert_check_interval,
                email_retry_delay,
                email_max_attempts,
            },
        })
    }

    /// What domain code needs of the configuration (see [`Settings`]).
    pub fn domain_settings(&self) -> Settings {
        Settings {
            public_base: self.public_base(),
            fapi_api_url: self.fapi_api_url.clone(),
            smartemailing_api_url: self.smartemailing_api_url.clone(),
            http: self.http.clone(),
            sync: self.sync.clone(),
            reminders: self.reminders,
            retention: self.retention,
            session_idle_timeout: self.session_idle_timeout,
            alerts: self.alerts,
            replica_id: self.replica_id.clone(),
        }
    }

    /// `Some(hops)` when the client address is taken from `X-Forwarded-For`, `hops` entries
    /// from its end (see `web::client_addr`).
    pub fn proxy_hops(&self) -> Option<usize> {
        self.trust_forwarded_for.then_some(self.trusted_proxy_hops)
    }

    /// The public address without a trailing slash, for building links.
    pub fn public_base(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_string()
    }

    pub fn public_is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

fn default_public_url(listen_addr: SocketAddr) -> Url {
    Url::parse(&format!("http://{listen_addr}")).expect("socket address forms a URL")
}

fn parse_public_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| {
        format!(
            "PUBLIC_URL must be an absolute URL like https://bridge.example.cz ({e}), got {text:?}"
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!(
            "PUBLIC_URL must start with http:// or https:// and name a host, got {text:?}"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "PUBLIC_URL must not contain a query or fragment, got {text:?}"
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = config(&[]).expect("defaults are valid");
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.listen_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.public_base(), "http://127.0.0.1:3000");
        assert_eq!(
            config.session_idle_timeout,
            Duration::from_secs(7 * 24 * 3600)
        );
        assert_eq!(config.login_max_failures, 5);
        assert_eq!(config.login_failure_window, Duration::from_secs(15 * 60));
        assert_eq!(config.fapi_api_url.as_str(), "https://api.fapi.cz/");
        assert_eq!(
            config.smartemailing_api_url.as_str(),
            "https://app.smartemailing.cz/api/v3"
        );
        assert_eq!(config.http.smartemailing_requests_per_second, 5);
        assert_eq!(config.proxy_hops(), None);
    }

    #[test]
    fn forwarded_for_counts_the_trusted_proxies() {
        let trusted = config(&[("TRUST_FORWARDED_FOR", "true")]).unwrap();
        assert_eq!(trusted.proxy_hops(), Some(1));
        let two = config(&[("TRUST_FORWARDED_FOR", "true"), ("TRUSTED_PROXY_HOPS", "2")]).unwrap();
        assert_eq!(two.proxy_hops(), Some(2));
    }

    #[test]
    fn every_bad_value_is_reported_with_its_variable() {
        let error = config(&[
            ("DATABASE_URL", "postgres://x"),
            ("LEPTOS_SITE_ADDR", "nowhere"),
            ("PUBLIC_URL", "ftp://x"),
            ("SECRET_KEY", "short"),
            ("SESSION_IDLE_TIMEOUT", "forever"),
            ("LOGIN_MAX_FAILURES", "0"),
            ("TRUST_FORWARDED_FOR", "maybe"),
            ("TRUSTED_PROXY_HOPS", "0"),
            ("FAPI_API_URL", "api.fapi.cz"),
            ("SMARTEMAILING_REQUESTS_PER_SECOND", "0"),
            ("ENGAGEMENT_RECALCULATION", "Sunday evening"),
            ("REMINDER_TIME", "9 am"),
        ])
        .unwrap_err();
        let text = error.to_string();
        for name in [
            "DATABASE_URL",
            "LEPTOS_SITE_ADDR",
            "PUBLIC_URL",
            "SECRET_KEY",
            "SESSION_IDLE_TIMEOUT",
            "LOGIN_MAX_FAILURES",
            "TRUST_FORWARDED_FOR",
            "TRUSTED_PROXY_HOPS",
            "FAPI_API_URL",
            "SMARTEMAILING_REQUESTS_PER_SECOND",
            "ENGAGEMENT_RECALCULATION",
            "REMINDER_TIME",
        ] {
            assert!(text.contains(name), "{name} missing from: {text}");
        }
        assert_eq!(error.problems.len(), 12);
    }

    #[test]
    fn public_url_is_kept_without_trailing_slash() {
        let config = config(&[("PUBLIC_URL", "https://bridge.example.cz/")]).unwrap();
        assert_eq!(config.public_base(), "https://bridge.example.cz");
        assert!(config.public_is_https());
    }
}
