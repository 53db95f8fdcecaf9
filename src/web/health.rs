//! Probes for process supervisors and load balancers, without login:
//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers, its schema
//! is current, and no background loop keeps dying).

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

async fn ready(State(state): State<AppState>) -> (StatusCode, String) {
    let unavailable = |why: String| (StatusCode::SERVICE_UNAVAILABLE, why);
    match db::migrations_applied(&state.ctx.db).await {
        Ok(true) => {}
        Ok(false) => return unavailable("database migrations are not applied".into()),
        Err(error) => {
            tracing::warn!(%error, "readiness check: the database does not answer");
            return unavailable("database unreachable".into());
        }
    }
    let failing = state.ctx.work.health.failing();
    if !failing.is_empty() {
        return unavailable(format!(
            "background work keeps failing (restarted 3 times within 10 minutes): {}",
            failing.join(", ")
        ));
    }
    (StatusCode::OK, "ready".into())
}
