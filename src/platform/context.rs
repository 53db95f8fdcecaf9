//! The narrow context that domain code and workers receive: the database, the clock, the key
//! for stored secrets, the outbound HTTP pool, settings, and the signals between producers and
//! workers. The web state wraps it and adds what only the web needs (sessions, limiters,
//! Leptos options).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use url::Url;

use crate::platform::clock::Clock;
use crate::platform::crypto::SecretKey;
use crate::platform::http::HttpSettings;
use crate::platform::settings::{AlertSettings, ReminderRule, RetentionSettings, SyncSettings};
use crate::platform::signals::{Generation, WorkSignals};
use crate::platform::smtp::Mailer;

#[derive(Clone)]
pub struct Context {
    pub db: SqlitePool,
    pub clock: Arc<dyn Clock>,
    pub secret_key: SecretKey,
    /// One HTTP connection pool for the FAPI and SmartEmailing clients of every connection:
    /// a client per call would open a new connection (and build TLS settings) each time.
    pub http: reqwest::Client,
    pub settings: Arc<Settings>,
    /// Wakes the workers when work is added.
    pub work: Arc<WorkSignals>,
    /// Bumped when a connection's webhook token, forwarding switch or existence changes.
    pub connections_changed: Arc<Generation>,
    /// The SMTP server, when `SMTP_URL` is set (else e-mail is off).
    pub mailer: Option<Mailer>,
}

/// What domain code needs of the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The address users and FAPI reach, without a trailing slash (for links).
    pub public_base: String,
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
    /// How long finished records are kept.
    pub retention: RetentionSettings,
    /// A session ends after this long without a request.
    pub session_idle_timeout: std::time::Duration,
    /// How alerts are checked and e-mails retried.
    pub alerts: AlertSettings,
    /// This process among the replicas sharing the database: the holder of its leases.
    pub replica_id: String,
}

impl Context {
    /// Takes or renews the lease `name` for this replica for `ttl` (see `platform::leases`).
    pub async fn hold_lease(&self, name: &str, ttl: chrono::Duration) -> Result<bool, sqlx::Error> {
        crate::platform::leases::hold(&self.db, name, &self.settings.replica_id, self.now(), ttl)
            .await
    }

    /// Gives the lease `name` up.
    pub async fn release_lease(&self, name: &str) -> Result<(), sqlx::Error> {
        crate::platform::leases::release(&self.db, name, &self.settings.replica_id).await
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The context inside a server function (provided as Leptos context by the router).
    pub fn current() -> Context {
        leptos::prelude::expect_context::<Context>()
    }
}
