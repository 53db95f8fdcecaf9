//! Prometheus metrics. Code records through the `metrics` facade (a no-op until a recorder is
//! installed); `install` sets up the Prometheus recorder once per process when `METRICS_ADDR`
//! is configured, and `web` serves its text on that separate address only.
//!
//! Names (all prefixed `fapi_bridge_`) are listed in the README; gauges that describe the
//! database (queue depths, run progress, pool use) are set when scraped.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const WEBHOOKS_RECEIVED: &str = "fapi_bridge_webhooks_received_total";
pub const QUEUE_DEPTH: &str = "fapi_bridge_queue_depth";
pub const QUEUE_OLDEST_AGE: &str = "fapi_bridge_queue_oldest_age_seconds";
pub const PUSHES: &str = "fapi_bridge_pushes_total";
pub const PUSHED_ORDERS: &str = "fapi_bridge_pushed_orders_total";
pub const PUSH_DURATION: &str = "fapi_bridge_push_duration_seconds";
pub const FAPI_REQUESTS: &str = "fapi_bridge_fapi_requests_total";
pub const FAPI_REQUEST_DURATION: &str = "fapi_bridge_fapi_request_duration_seconds";
pub const HISTORICAL_DOCUMENTS: &str = "fapi_bridge_historical_run_documents";
pub const HISTORICAL_TOTAL: &str = "fapi_bridge_historical_run_documents_total";
pub const WORKER_RESTARTS: &str = "fapi_bridge_worker_restarts_total";
pub const DB_POOL_CONNECTIONS: &str = "fapi_bridge_db_pool_connections";

/// Seconds: request and push durations are spread from a few milliseconds to the timeout.
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), DURATION_BUCKETS)
                .expect("buckets are not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder (none in this crate) would keep its own; ours still renders.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(WEBHOOKS_RECEIVED, "FAPI notifications received, by result");
    describe_gauge!(QUEUE_DEPTH, "Items waiting in each queue");
    describe_gauge!(
        QUEUE_OLDEST_AGE,
        Unit::Seconds,
        "Age of the oldest waiting item per queue"
    );
    describe_counter!(PUSHES, "Batches pushed to SmartEmailing, by outcome");
    describe_counter!(PUSHED_ORDERS, "Orders pushed to SmartEmailing, by outcome");
    describe_histogram!(
        PUSH_DURATION,
        Unit::Seconds,
        "Duration of a push to SmartEmailing"
    );
    describe_counter!(FAPI_REQUESTS, "Requests to FAPI, by outcome");
    describe_histogram!(
        FAPI_REQUEST_DURATION,
        Unit::Seconds,
        "Duration of a request to FAPI"
    );
    describe_gauge!(
        HISTORICAL_DOCUMENTS,
        "Documents done by each active historical sync"
    );
    describe_gauge!(
        HISTORICAL_TOTAL,
        "Documents to do in each active historical sync"
    );
    describe_counter!(WORKER_RESTARTS, "Background loops restarted after a panic");
    describe_gauge!(DB_POOL_CONNECTIONS, "Database pool connections, by state");
}
