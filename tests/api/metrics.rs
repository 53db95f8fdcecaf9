//! `GET /metrics` in Prometheus' text format, on its own address only.

use crate::helpers::{eventually, spawn_app, spawn_app_configured};

/// With `METRICS_ADDR` set, the metrics count what the bridge did (notifications by result,
/// FAPI requests, pushes and their durations) and read the queues, on that address only; the
/// app's own address has no `/metrics`. Without it, nothing listens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_work_on_their_own_address_only() {
    let app = spawn_app_configured(&[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let (_admin, _connection, webhook) = app.forwarding_connection().await;
    let invoice = app.new_fapi_order(None);
    assert_eq!(
        app.fapi.notify(&webhook, invoice).await.unwrap().status(),
        200
    );
    let code = app.fapi.store.lock().unwrap().invoices[&invoice]
        .new_order
        .to_string();
    eventually("the order is synced", || async {
        app.smartemailing
            .store
            .lock()
            .unwrap()
            .orders
            .keys()
            .any(|(_, c)| *c == code)
    })
    .await;

    let address = app.metrics.expect("the metrics listen");
    let text = reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |line_start: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(line_start))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("no {line_start} in:\n{text}"))
    };
    // Other tests in this process count into the same registry: at least ours.
    assert!(value("fapi_bridge_webhooks_received_total{result=\"queued\"}") >= 1.0);
    assert!(value("fapi_bridge_fapi_requests_total{outcome=\"ok\"}") >= 1.0);
    assert!(value("fapi_bridge_pushes_total{outcome=\"synced\"}") >= 1.0);
    assert!(value("fapi_bridge_push_duration_seconds_count") >= 1.0);
    assert!(text.contains("fapi_bridge_push_duration_seconds_bucket{le=\"0.1\"}"));
    assert!(text.contains("fapi_bridge_queue_depth{queue=\"notifications\"}"));
    assert!(text.contains("fapi_bridge_queue_oldest_age_seconds{queue=\"orders\"}"));
    assert!(text.contains("fapi_bridge_db_pool_connections{state=\"idle\"}"));
    assert!(text.contains("# HELP fapi_bridge_webhooks_received_total"));

    let on_the_app = reqwest::Client::new()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert!(
        !on_the_app.text().await.unwrap().contains("fapi_bridge_"),
        "not served on the app's own address"
    );
    let without = spawn_app().await;
    assert!(without.metrics.is_none(), "off unless METRICS_ADDR is set");
}
