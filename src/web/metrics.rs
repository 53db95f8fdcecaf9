//! `GET /metrics` (Prometheus' text format) on its own listen address (`METRICS_ADDR`, off by
//! default), so it is never public by accident: the counters and histograms the code records,
//! plus gauges of the database read at each scrape (queues, active historical syncs, the pool).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::overview::operations;
use crate::platform::Context;
use crate::platform::metrics::{
    DB_POOL_CONNECTIONS, HISTORICAL_DOCUMENTS, HISTORICAL_TOTAL, QUEUE_DEPTH, QUEUE_OLDEST_AGE,
    install,
};

pub fn router(ctx: Context) -> Router {
    Router::new().route("/metrics", get(render)).with_state(ctx)
}

async fn render(State(ctx): State<Context>) -> Response {
    let handle = install();
    if let Err(error) = read_gauges(&ctx).await {
        tracing::warn!(%error, "metrics: the database gauges could not be read");
    }
    handle.run_upkeep();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

async fn read_gauges(ctx: &Context) -> Result<(), sqlx::Error> {
    let now = ctx.now();
    for queue in operations::queues(&ctx.db).await? {
        metrics::gauge!(QUEUE_DEPTH, "queue" => queue.queue).set(queue.depth as f64);
        let age = queue.oldest.map_or(0.0, |oldest| {
            (now - oldest).num_milliseconds().max(0) as f64 / 1000.0
        });
        metrics::gauge!(QUEUE_OLDEST_AGE, "queue" => queue.queue).set(age);
    }
    for run in operations::active_runs(&ctx.db).await? {
        let labels = [
            ("run", run.run_id.to_string()),
            ("connection", run.connection_id.to_string()),
        ];
        metrics::gauge!(HISTORICAL_DOCUMENTS, &labels).set(run.documents as f64);
        if let Some(total) = run.total {
            metrics::gauge!(HISTORICAL_TOTAL, &labels).set(total as f64);
        }
    }
    let idle = ctx.db.num_idle() as f64;
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(idle);
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "in_use").set(f64::from(ctx.db.size()) - idle);
    Ok(())
}
