//! What every request handler and server function can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::SqlitePool;

use crate::server::auth::rate_limit::LoginRateLimiter;
use crate::server::clock::Clock;
use crate::server::config::Config;
use crate::server::crypto::SecretKey;
use crate::sync::worker::{SyncSettings, WorkSignals};

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: SqlitePool,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub secret_key: SecretKey,
    pub login_limiter: Arc<LoginRateLimiter>,
    /// Retry, batch and reconciliation settings (from the configuration).
    pub sync: Arc<SyncSettings>,
    /// Wakes the sync workers when work is added.
    pub work: Arc<WorkSignals>,
    /// Per-connection limit of webhook requests.
    pub webhook_limiter: Arc<WebhookLimiter>,
    /// Stores accepted webhook notifications (group commit).
    pub inbox: crate::sync::inbox::NotificationInbox,
    /// One HTTP connection pool for the FAPI and SmartEmailing clients of every connection:
    /// a client per call would open a new connection (and build TLS settings) each time.
    pub http: reqwest::Client,
    /// Webhook tokens recently seen, so a notification costs no connection look-up.
    pub webhook_tokens: Arc<crate::server::webhook::KnownTokens>,
}

/// Webhook requests per connection (keyed by connection id).
pub type WebhookLimiter = governor::DefaultKeyedRateLimiter<i64>;

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The state inside a server function (provided as Leptos context by the router).
pub fn app_state() -> AppState {
    leptos::prelude::expect_context::<AppState>()
}
