//! What every request handler and server function can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::SqlitePool;

use crate::server::auth::rate_limit::LoginRateLimiter;
use crate::server::clock::Clock;
use crate::server::config::Config;
use crate::server::crypto::SecretKey;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: SqlitePool,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub secret_key: SecretKey,
    pub login_limiter: Arc<LoginRateLimiter>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The state inside a server function (provided as Leptos context by the router).
pub fn app_state() -> AppState {
    leptos::prelude::expect_context::<AppState>()
}
