//! The Orders page's API: filters, pagination, order detail, retries and their roles.

use fapi_bridge::model::Role;
use fapi_bridge::simulators::faults::FaultConfig;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of, eventually, spawn_app};

async fn count(app: &TestApp, status: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE sync_status = ?")
        .bind(status)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn list(app: &TestApp, client: &reqwest::Client, form: &[(&str, &str)]) -> Value {
    let response = app.call(client, "list_orders", form).await;
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_orders_are_found_explained_and_retried() {
    let app = spawn_app().await;
    let (admin, _, url) = app.forwarding_connection().await;
    let operator = app.signed_in("petr@example.cz", Role::Operator).await;
    let viewer = app.signed_in("eva@example.cz", Role::Viewer).await;

    // SmartEmailing is down for good: after three attempts the orders are failed.
    app.smartemailing.behaviour.set_faults(FaultConfig {
        server_error_rate: 1.0,
        ..Default::default()
    });
    let invoices = [
        app.new_fapi_order(Some("jana@example.cz")),
        app.new_fapi_order(Some("petr.novak@example.cz")),
    ];
    for invoice in invoices {
        app.fapi.notify(&url, invoice).await.unwrap();
    }
    for _ in 0..4 {
        eventually("an attempt round", || async {
            count(&app, "pending").await == 0 || {
                let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_attempts")
                    .fetch_one(&app.db)
                    .await
                    .unwrap();
                attempts % 2 == 0 && attempts > 0
            }
        })
        .await;
        app.advance(chrono::Duration::hours(2));
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
    eventually("both orders failed", || async {
        count(&app, "failed").await == 2
    })
    .await;

    let page = list(&app, &viewer, &[("filter[status]", "failed")]).await;
    assert_eq!(page["rows"].as_array().unwrap().len(), 2);
    assert_eq!(page["failed_count"], 2);
    assert_eq!(page["can_retry"], false);
    let row = &page["rows"][0];
    assert!(
        row["status_reason"].as_str().unwrap().contains("503"),
        "{row}"
    );

    // Search by e-mail and by number.
    let found = list(&app, &viewer, &[("filter[search]", "jana@")]).await;
    assert_eq!(found["rows"].as_array().unwrap().len(), 1);
    assert_eq!(found["rows"][0]["customer_email"], "jana@example.cz");
    let number = found["rows"][0]["fapi_numbers"]
        .as_str()
        .unwrap()
        .to_string();
    let by_number = list(&app, &viewer, &[("filter[search]", &number)]).await;
    assert_eq!(by_number["rows"][0]["customer_email"], "jana@example.cz");

    // The detail says why, attempt by attempt, and shows the exact payload.
    let id = row["id"].to_string();
    let detail: Value = app
        .call(&viewer, "get_order", &[("id", &id)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["attempts"].as_array().unwrap().len(), 3);
    assert_eq!(detail["attempts"][0]["http_status"], 503);
    assert!(
        detail["payload"]
            .as_str()
            .unwrap()
            .contains("\"eshop_name\": \"fapi-obchod\"")
    );
    assert_eq!(detail["documents"].as_array().unwrap().len(), 1);

    // Viewers cannot retry; operators can, once SmartEmailing is back.
    assert_eq!(
        app.call(&viewer, "retry_order", &[("id", &id)])
            .await
            .status(),
        403
    );
    app.smartemailing.behaviour.clear_faults();
    assert_eq!(
        app.call(&operator, "retry_order", &[("id", &id)])
            .await
            .status(),
        200
    );
    eventually("the retried order is synced", || async {
        count(&app, "synced").await == 1
    })
    .await;

    // Bulk: the count must match what the user confirmed.
    let wrong = app
        .call(
            &operator,
            "retry_failed_orders",
            &[("expected", "5"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(
        error_of(wrong).await,
        json!({"Invalid": {"CountChanged": {"now": 1}}})
    );
    let unconfirmed = app
        .call(&operator, "retry_failed_orders", &[("expected", "1")])
        .await;
    assert_eq!(
        error_of(unconfirmed).await,
        json!({"Invalid": "ConfirmationMissing"})
    );
    let response = app
        .call(
            &operator,
            "retry_failed_orders",
            &[("expected", "1"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(response.json::<u64>().await.unwrap(), 1);
    eventually("all synced", || async { count(&app, "synced").await == 2 }).await;
    assert_eq!(app.smartemailing.store.lock().unwrap().orders.len(), 2);

    let audit: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT action, actor_email, details FROM audit_log WHERE action LIKE 'order%'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0].0, "order.retried");
    assert_eq!(audit[1].0, "orders.failed_retried");
    assert_eq!(audit[1].1.as_deref(), Some("petr@example.cz"));
    assert!(audit[1].2.as_deref().unwrap().contains("\"count\":1"));
    drop(admin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_page_through_newest_first() {
    let app = spawn_app().await;
    let (admin, connection, _url) = app.forwarding_connection().await;
    // 120 orders straight through ingest (as reconciliation would), without SmartEmailing.
    let connection = fapi_bridge::connections::find(&app.db, connection)
        .await
        .unwrap();
    app.smartemailing.behaviour.set_faults(FaultConfig {
        server_error_rate: 1.0,
        ..Default::default()
    });
    for _ in 0..120 {
        let invoice = app.new_fapi_order(None);
        let raw = app
            .fapi
            .store
            .lock()
            .unwrap()
            .invoice_json(invoice)
            .unwrap();
        fapi_bridge::sync::ingest::ingest(
            &app.ctx,
            &connection,
            &raw,
            fapi_bridge::sync::mapping::Source::Reconciliation,
        )
        .await
        .unwrap();
    }
    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let form: Vec<(&str, &str)> = before
            .as_deref()
            .map(|b| vec![("before", b)])
            .unwrap_or_default();
        let page = list(&app, &admin, &form).await;
        seen.extend(
            page["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_i64().unwrap()),
        );
        match page["next_before"].as_i64() {
            Some(next) => before = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 120);
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_listed_with_their_outcome() {
    let app = spawn_app().await;
    let (_admin, _, url) = app.forwarding_connection().await;
    let viewer = app.signed_in("eva@example.cz", Role::Viewer).await;
    let invoice = app.new_fapi_order(None);
    app.fapi.notify(&url, invoice).await.unwrap();
    reqwest::Client::new()
        .post(&url)
        .form(&[("nothing", "here")])
        .send()
        .await
        .unwrap();
    eventually("processed", || async {
        let page: Value = app
            .call(&viewer, "list_notifications", &[])
            .await
            .json()
            .await
            .unwrap();
        page["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"] == "processed")
    })
    .await;
    let page: Value = app
        .call(&viewer, "list_notifications", &[("status", "invalid")])
        .await
        .json()
        .await
        .unwrap();
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["raw_body"], "nothing=here");
}
