//! What every request handler and server function can reach: the domain [`Context`] plus what
//! only the web needs (configuration, Leptos options, limiters, the webhook inbox and its token
//! cache).

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::accounts::auth::rate_limit::LoginRateLimiter;
use crate::platform::Context;
use crate::sync::inbox::NotificationInbox;
use crate::web::config::Config;
use crate::web::webhook::KnownTokens;

#[derive(Clone)]
pub struct AppState {
    pub ctx: Context,
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub login_limiter: Arc<LoginRateLimiter>,
    /// Per-connection limit of webhook requests.
    pub webhook_limiter: Arc<WebhookLimiter>,
    /// Stores accepted webhook notifications (group commit).
    pub inbox: NotificationInbox,
    /// Webhook tokens recently seen, so a notification costs no connection look-up.
    pub webhook_tokens: Arc<KnownTokens>,
}

/// Webhook requests per connection (keyed by connection id).
pub type WebhookLimiter = governor::DefaultKeyedRateLimiter<i64>;

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
