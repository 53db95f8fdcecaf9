//! The bridge under faults of its own and of its disk: a document that breaks the mapping, a
//! worker that dies between claiming work and recording its outcome, database errors that are
//! not deletions, and reconciliation that must keep its window when ingesting fails.

use fapi_bridge::platform::clock::Clock;
use fapi_bridge::sync::reconcile;
use serde_json::json;

use crate::helpers::{TestApp, eventually, spawn_app};

async fn notification_statuses(app: &TestApp, invoice: i64) -> Vec<(String, Option<String>)> {
    sqlx::query_as(
        "SELECT status, status_reason FROM notifications WHERE invoice_id = ? ORDER BY id",
    )
    .bind(invoice)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

fn fapi_order_of(app: &TestApp, invoice: i64) -> String {
    app.fapi.store.lock().unwrap().invoices[&invoice]
        .new_order
        .to_string()
}

fn in_smartemailing(app: &TestApp, code: &str) -> bool {
    app.smartemailing
        .store
        .lock()
        .unwrap()
        .orders
        .keys()
        .any(|(_, c)| c == code)
}

async fn in_flight(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE status = 'processing'")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// A VAT of -100 % on prices that include VAT once divided by zero inside the mapping and
/// killed the notification worker that met it (four such documents stopped forwarding; each
/// stayed "processing" until a restart). Such a document ends with a clear outcome of its own,
/// and the orders after it go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_that_breaks_the_mapping_ends_alone_and_forwarding_goes_on() {
    let app = spawn_app().await;
    let (_admin, _connection, webhook) = app.forwarding_connection().await;
    let mut poisoned = Vec::new();
    for _ in 0..5 {
        let invoice = app.new_fapi_order(None);
        let mut store = app.fapi.store.lock().unwrap();
        let mut raw = store.invoice_json(invoice).unwrap();
        for item in raw["items"].as_array_mut().unwrap() {
            item["vat"] = json!(-100);
            item["including_vat"] = json!(true);
        }
        store.raw_overrides.insert(invoice, raw);
        poisoned.push(invoice);
    }
    for invoice in &poisoned {
        let response = app.fapi.notify(&webhook, *invoice).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let good = app.new_fapi_order(None);
    assert_eq!(app.fapi.notify(&webhook, good).await.unwrap().status(), 200);

    let code = fapi_order_of(&app, good);
    eventually(
        "the good order is synced and nothing is left in flight",
        || async { in_smartemailing(&app, &code) && in_flight(&app).await == 0 },
    )
    .await;
    for invoice in &poisoned {
        let statuses = notification_statuses(&app, *invoice).await;
        assert_eq!(statuses.len(), 1);
        let (status, reason) = &statuses[0];
        assert!(
            matches!(status.as_str(), "failed" | "processed"),
            "{status} {reason:?}"
        );
        assert!(reason.is_some(), "the outcome says why");
    }
}

/// A worker that died between claiming a notification and recording its outcome (a crash, a
/// full disk) left it "processing" until the next restart. A claim is a lease now: once it has
/// run out, the notification is due again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claimed_notification_whose_worker_died_is_due_again_after_its_lease() {
    let app = spawn_app().await;
    let (_admin, _connection, webhook) = app.forwarding_connection().await;
    // As the app stands it cannot get at the FAPI key, so the claim ends without an outcome…
    let key: Vec<u8> = sqlx::query_scalar("SELECT fapi_api_key FROM connections")
        .fetch_one(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE connections SET fapi_api_key = x'00'")
        .execute(&app.db)
        .await
        .unwrap();
    let invoice = app.new_fapi_order(None);
    assert_eq!(
        app.fapi.notify(&webhook, invoice).await.unwrap().status(),
        200
    );
    eventually("the notification waits for a retry, saying why", || async {
        notification_statuses(&app, invoice)
            .await
            .first()
            .is_some_and(|(status, reason)| {
                status == "queued"
                    && reason.as_deref() == Some("the connection's FAPI key cannot be read")
            })
    })
    .await;

    // …and once the key is readable again, the retry forwards the order.
    sqlx::query("UPDATE connections SET fapi_api_key = ?")
        .bind(&key)
        .execute(&app.db)
        .await
        .unwrap();
    app.advance(chrono::Duration::hours(1));
    let code = fapi_order_of(&app, invoice);
    eventually("the order is forwarded", || async {
        in_smartemailing(&app, &code)
    })
    .await;

    // A claim whose worker vanished (here: marked by hand as a crashed worker leaves it) is
    // taken again once its lease has run out.
    let second = app.new_fapi_order(None);
    let now = Clock::now(&app.clock);
    queued_notification(
        &app,
        second,
        "processing",
        now + chrono::Duration::minutes(5),
    )
    .await;
    let code = fapi_order_of(&app, second);
    app.wake();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !in_smartemailing(&app, &code),
        "not before the lease runs out"
    );
    app.advance(chrono::Duration::minutes(6));
    eventually("the abandoned notification is processed", || async {
        in_smartemailing(&app, &code)
    })
    .await;
}

/// Stores a notification of `invoice` as the webhook would (queued, due now).
async fn queued_notification(
    app: &TestApp,
    invoice: i64,
    status: &str,
    due: chrono::DateTime<chrono::Utc>,
) {
    let now = Clock::now(&app.clock);
    let (time, security) = app
        .fapi
        .store
        .lock()
        .unwrap()
        .notification(invoice, now.timestamp())
        .unwrap();
    sqlx::query(
        "INSERT INTO notifications (connection_id, received_at, raw_body, invoice_id, notified_time,
             security, status, next_attempt_at, attempts)
         SELECT id, ?, '', ?, ?, ?, ?, ?, 0 FROM connections",
    )
    .bind(now)
    .bind(invoice)
    .bind(time)
    .bind(security)
    .bind(status)
    .bind(due)
    .execute(&app.db)
    .await
    .unwrap();
}

/// A connection that cannot be read for a moment (here its row does not decode) is not a
/// deleted one: the notifications it has wait and go through once it can be read, instead of
/// failing for good as "the connection was deleted". (Meanwhile its webhook answers 503, so
/// FAPI sends again.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_cannot_be_read_is_not_a_deleted_one() {
    let app = spawn_app().await;
    let (_admin, _connection, webhook) = app.forwarding_connection().await;
    let created: String = sqlx::query_scalar("SELECT created_at FROM connections")
        .fetch_one(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE connections SET created_at = 'not a time'")
        .execute(&app.db)
        .await
        .unwrap();
    let invoice = app.new_fapi_order(None);
    assert_eq!(
        app.fapi.notify(&webhook, invoice).await.unwrap().status(),
        503
    );
    queued_notification(&app, invoice, "queued", Clock::now(&app.clock)).await;
    app.wake();
    eventually("the notification waits for a retry", || async {
        notification_statuses(&app, invoice)
            .await
            .first()
            .is_some_and(|(status, reason)| status == "queued" && reason.is_some())
    })
    .await;
    let failed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE status = 'failed'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(failed, 0, "nothing failed for good");

    sqlx::query("UPDATE connections SET created_at = ?")
        .bind(&created)
        .execute(&app.db)
        .await
        .unwrap();
    app.advance(chrono::Duration::hours(1));
    let code = fapi_order_of(&app, invoice);
    eventually("the order is forwarded", || async {
        in_smartemailing(&app, &code)
    })
    .await;
}

/// Reconciliation used to move its window on even when storing the documents it found failed,
/// so those documents were never looked at again. A failed pass keeps the window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconciliation_that_could_not_store_keeps_its_window() {
    let app = spawn_app().await;
    let (_admin, id, _webhook) = app.forwarding_connection().await;
    let invoice = app.new_fapi_order(None);
    // The disk refuses documents for a while.
    sqlx::query(
        "CREATE TRIGGER refuse_documents BEFORE INSERT ON order_documents
         BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let connection = fapi_bridge::connections::find(&app.db, id).await.unwrap();
    assert!(reconcile::run(&app.ctx, &connection, "test").await.is_err());
    let status: String =
        sqlx::query_scalar("SELECT status FROM sync_runs ORDER BY id DESC LIMIT 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(status, "failed");

    sqlx::query("DROP TRIGGER refuse_documents")
        .execute(&app.db)
        .await
        .unwrap();
    app.advance(chrono::Duration::minutes(20));
    let connection = fapi_bridge::connections::find(&app.db, id).await.unwrap();
    let counts = reconcile::run(&app.ctx, &connection, "test").await.unwrap();
    assert_eq!(counts.created, 1, "the next pass finds the document again");
    let code = fapi_order_of(&app, invoice);
    eventually("the order is forwarded", || async {
        in_smartemailing(&app, &code)
    })
    .await;
}

/// A background loop that keeps dying makes the process not ready, naming the loop, so a load
/// balancer or an operator notices (before, `/readyz` answered "ready" with dead workers).
#[tokio::test]
async fn readiness_names_a_background_loop_that_keeps_dying() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let ready = client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    // The supervisor records each restart after a panic (see its own test in `worker`).
    for _ in 0..3 {
        app.ctx.work.health.record_restart("notifications");
    }
    let ready = client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready.text().await.unwrap().contains("notifications"));
}
