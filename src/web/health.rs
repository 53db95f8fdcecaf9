//! Probes for process supervisors and load balancers, without login:
//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers and its schema
//! is current).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::platform::db;
use crate::web::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
}

async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match db::migrations_applied(&state.ctx.db).await {
        Ok(true) => (StatusCode::OK, "ready"),
        Ok(false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "database migrations are not applied",
        ),
        Err(error) => {
            tracing::warn!(%error, "readiness check: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}
