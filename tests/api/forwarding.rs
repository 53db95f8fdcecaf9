//! Forwarding new orders: webhook → durable queue → SmartEmailing, against the simulators.

use fapi_bridge::platform::clock::Clock;
use fapi_bridge::simulators::faults::FaultConfig;
use fapi_bridge::sync::reconcile;
use serde_json::Value;

use crate::helpers::{TestApp, eventually, spawn_app};

async fn order_row(app: &TestApp, code: &str) -> Option<(String, String, i64, Option<String>)> {
    sqlx::query_as(
        "SELECT sync_status, fapi_state, attempts, status_reason FROM orders WHERE eshop_code = ?",
    )
    .bind(code)
    .fetch_optional(&app.db)
    .await
    .unwrap()
}

async fn notification_status(app: &TestApp, invoice_id: i64) -> Vec<String> {
    sqlx::query_scalar("SELECT status FROM notifications WHERE invoice_id = ? ORDER BY id")
        .bind(invoice_id)
        .fetch_all(&app.db)
        .await
        .unwrap()
}

fn fapi_order_id(app: &TestApp, invoice_id: i64) -> String {
    app.fapi.store.lock().unwrap().invoices[&invoice_id]
        .new_order
        .to_string()
}

/// The order SmartEmailing holds under our e-shop name and `code`.
fn se_order(app: &TestApp, code: &str) -> Option<(Value, u32)> {
    let store = app.smartemailing.store.lock().unwrap();
    store
        .orders
        .get(&("fapi-obchod".to_string(), code.to_string()))
        .map(|o| (o.body.clone(), o.received))
}

async fn synced(app: &TestApp, code: &str) -> bool {
    order_row(app, code).await.is_some_and(|o| o.0 == "synced")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_order_arrives_and_is_synced() {
    let app = spawn_app().await;
    let (_admin, _, url) = app.forwarding_connection().await;
    let invoice = app.new_fapi_order(Some("jana.novakova@example.cz"));
    let response = app.fapi.notify(&url, invoice).await.unwrap();
    assert_eq!(response.status(), 200);
    let code = fapi_order_id(&app, invoice);

    eventually("the order is synced", || synced(&app, &code)).await;
    let (body, received) = se_order(&app, &code).expect("SmartEmailing has the order");
    assert_eq!(received, 1);
    assert_eq!(body["status"], "placed");
    assert_eq!(body["emailaddress"], "jana.novakova@example.cz");
    assert_eq!(
        body["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "source")
            .unwrap()["value"],
        "webhook"
    );
    let lists = {
        let store = app.smartemailing.store.lock().unwrap();
        let contact = store.contact("jana.novakova@example.cz");
        contact.expect("the buyer is a contact").lists.clone()
    };
    assert!(lists.is_empty(), "no list changes without a default list");
    assert_eq!(notification_status(&app, invoice).await, vec!["processed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proforma_then_invoice_is_one_order_updated_to_paid() {
    let app = spawn_app().await;
    let (_admin, _, url) = app.forwarding_connection().await;
    let proforma = app.new_fapi_order(None);
    app.fapi.notify(&url, proforma).await.unwrap();
    let code = fapi_order_id(&app, proforma);
    eventually("the proforma's order is synced", || synced(&app, &code)).await;

    let invoice = app
        .fapi
        .store
        .lock()
        .unwrap()
        .pay(proforma, app.clock.now() + chrono::Duration::minutes(5))
        .unwrap();
    // FAPI notifies each document: the final invoice, then the (now paid) proforma.
    app.fapi.notify(&url, invoice).await.unwrap();
    app.fapi.notify(&url, proforma).await.unwrap();
    eventually("the order is paid in SmartEmailing", || async {
        se_order(&app, &code).is_some_and(|(body, _)| body["status"] == "processing")
    })
    .await;
    let (body, _) = se_order(&app, &code).unwrap();
    assert!(body["paid_at"].as_str().is_some());
    assert_eq!(
        app.smartemailing.store.lock().unwrap().orders.len(),
        1,
        "one FAPI order, one SmartEmailing order"
    );
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(orders, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_order_becomes_cancelled() {
    let app = spawn_app().await;
    let (_admin, _, url) = app.forwarding_connection().await;
    let proforma = app.new_fapi_order(None);
    let code = fapi_order_id(&app, proforma);
    app.fapi
        .store
        .lock()
        .unwrap()
        .cancel(proforma, app.clock.now() + chrono::Duration::minutes(3));
    app.fapi.notify(&url, proforma).await.unwrap();
    eventually("the cancelled order is synced", || synced(&app, &code)).await;
    assert_eq!(se_order(&app, &code).unwrap().0["status"], "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_security_hash_is_rejected_and_changes_nothing() {
    let app = spawn_app().await;
    let (_admin, _, url) = app.forwarding_connection().await;
    let invoice = app.new_fapi_order(None);
    let response = reqwest::Client::new()
        .post(&url)
        .form(&[
            ("id", invoice.to_string()),
            ("time", "1542298656".into()),
            ("security", "0".repeat(40)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "accepted at once, judged later");
    eventually("the notification is rejected", || async {
        notification_status(&app, invoice).await == vec!["rejected"]
    })
    .await;
    let reason: String =
        sqlx::query_scalar("SELECT status_reason FROM notifications WHERE invoice_id = ?")
            .bind(invoice)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(reason.contains("security"), "{reason}");
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(orders, 0);
    assert!(app.smartemailing.store.lock().unwrap().orders.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tokens_oversize_bodies_and_missing_ids() {
    let app = spawn_app().await;
    let (_admin, _, url) = app.forwarding_connection().await;
    let client = reqwest::Client::new();

    let unknown = client
        .post(app.url("/webhooks/fapi/not-a-token"))
        .form(&[("id", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.text().await.unwrap(), "", "no detail");

    let oversize = client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("id=1&pad={}", "x".repeat(70 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(oversize.status(), 413);

    let missing = client
        .post(&url)
        .form(&[("time", "1"), ("security", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT status, raw_body FROM notifications")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        stored,
        vec![("invalid".to_string(), "time=1&security=x".to_string())],
        "recorded, not dropped"
    );

    let json = client
        .post(&url)
        .json(&serde_json::json!({"id": 77, "time": 1, "security": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 200, "JSON is accepted too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_forwarding_off_notifications_are_stored_but_not_processed() {
    let app = spawn_app().await;
    let (admin, id, url) = app.forwarding_connection().await;
    app.call(
        &admin,
        "set_forwarding",
        &[("id", &id.to_string()), ("enabled", "false")],
    )
    .await;
    let invoice = app.new_fapi_order(None);
    app.fapi.behaviour.clear_requests();
    assert_eq!(app.fapi.notify(&url, invoice).await.unwrap().status(), 200);
    assert_eq!(
        notification_status(&app, invoice).await,
        vec!["forwarding_off"]
    );
    app.wake();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        app.fapi.behaviour.requests().is_empty(),
        "FAPI was not called"
    );
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(orders, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_older_than_the_switch_is_skipped() {
    let app = spawn_app().await;
    let old = {
        let mut store = app.fapi.store.lock().unwrap();
        let customer = store.new_customer();
        let product = fapi_bridge::simulators::czech::products()[1].clone();
        store.create_order(
            customer,
            &[(product, 1)],
            "CZK",
            true,
            app.clock.now() - chrono::Duration::days(3),
        )
    };
    let (_admin, _, url) = app.forwarding_connection().await;
    app.fapi.notify(&url, old).await.unwrap();
    let code = fapi_order_id(&app, old);
    eventually("the old order is skipped", || async {
        order_row(&app, &code)
            .await
            .is_some_and(|o| o.0 == "skipped")
    })
    .await;
    let reason = order_row(&app, &code).await.unwrap().3.unwrap();
    assert_eq!(
        reason,
        "created before forwarding was enabled — use the historical sync"
    );
    assert!(app.smartemailing.store.lock().unwrap().orders.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smartemailing_429_and_5xx_are_retried_until_synced() {
    let app = spawn_app().await;
    let (_admin, _, url) = app.forwarding_connection().await;

    // A short 429 is absorbed by the client itself.
    app.smartemailing.behaviour.set_faults(FaultConfig {
        rate_limit_rate: 1.0,
        retry_after_secs: 1,
        remaining: Some(1),
        ..Default::default()
    });
    let first = app.new_fapi_order(None);
    app.fapi.notify(&url, first).await.unwrap();
    let code = fapi_order_id(&app, first);
    eventually("synced after the 429", || synced(&app, &code)).await;

    // A longer outage: the order waits for its next attempt, then goes through.
    app.smartemailing.behaviour.set_faults(FaultConfig {
        server_error_rate: 1.0,
        ..Default::default()
    });
    let second = app.new_fapi_order(None);
    app.fapi.notify(&url, second).await.unwrap();
    let code = fapi_order_id(&app, second);
    let retry_recorded = || async {
        let attempts: Vec<(String, Option<i64>)> = sqlx::query_as(
            "SELECT a.outcome, a.http_status FROM order_attempts a JOIN orders o ON o.id = a.order_id WHERE o.eshop_code = ?",
        )
        .bind(&code)
        .fetch_all(&app.db)
        .await
        .unwrap();
        attempts == vec![("retry".to_string(), Some(503))]
    };
    eventually(
        "a retry is scheduled with the provider's status",
        retry_recorded,
    )
    .await;
    assert_eq!(order_row(&app, &code).await.unwrap().0, "pending");

    app.smartemailing.behaviour.clear_faults();
    app.advance(chrono::Duration::minutes(2));
    eventually("synced once SmartEmailing is back", || synced(&app, &code)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_inside_2xx_answers_are_retried_then_marked_failed() {
    let app = spawn_app().await;
    let (_admin, _, url) = app.forwarding_connection().await;
    app.smartemailing.behaviour.set_faults(FaultConfig {
        error_in_body_rate: 1.0,
        ..Default::default()
    });
    let invoice = app.new_fapi_order(None);
    app.fapi.notify(&url, invoice).await.unwrap();
    let code = fapi_order_id(&app, invoice);
    // SYNC_MAX_ATTEMPTS is 3 in tests: two retries, then failed.
    for attempt in 1..=3i64 {
        let recorded = || async {
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_attempts")
                .fetch_one(&app.db)
                .await
                .unwrap();
            count >= attempt
        };
        eventually("an attempt is recorded", recorded).await;
        app.advance(chrono::Duration::hours(1));
    }
    eventually("the order is failed", || async {
        order_row(&app, &code)
            .await
            .is_some_and(|o| o.0 == "failed")
    })
    .await;
    let (_, _, attempts, reason) = order_row(&app, &code).await.unwrap();
    assert_eq!(attempts, 3);
    assert!(reason.unwrap().contains("gave up after 3 attempts"));
    let outcomes: Vec<String> =
        sqlx::query_scalar("SELECT outcome FROM order_attempts ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(outcomes, vec!["retry", "retry", "failed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_email_fails_at_once_with_smartemailings_message() {
    let app = spawn_app().await;
    let (_admin, _, url) = app.forwarding_connection().await;
    let good = app.new_fapi_order(None);
    let bad = app.new_fapi_order(Some("invalid@email@gmail.com"));
    app.fapi.notify(&url, good).await.unwrap();
    app.fapi.notify(&url, bad).await.unwrap();
    let (good_code, bad_code) = (fapi_order_id(&app, good), fapi_order_id(&app, bad));
    eventually("the bad order fails", || async {
        order_row(&app, &bad_code)
            .await
            .is_some_and(|o| o.0 == "failed")
    })
    .await;
    eventually("the good order is synced anyway", || {
        synced(&app, &good_code)
    })
    .await;
    let (_, _, attempts, reason) = order_row(&app, &bad_code).await.unwrap();
    assert_eq!(attempts, 1, "a validation error is not retried");
    assert!(reason.unwrap().contains("is not valid email address"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_notification_twice_at_once_is_one_order() {
    let app = spawn_app().await;
    let (_admin, _, url) = app.forwarding_connection().await;
    let invoice = app.new_fapi_order(None);
    let (a, b) = tokio::join!(
        app.fapi.notify(&url, invoice),
        app.fapi.notify(&url, invoice)
    );
    assert_eq!(
        (a.unwrap().status().as_u16(), b.unwrap().status().as_u16()),
        (200, 200)
    );
    let code = fapi_order_id(&app, invoice);
    eventually("both notifications are processed", || async {
        notification_status(&app, invoice).await == vec!["processed", "processed"]
    })
    .await;
    eventually("synced", || synced(&app, &code)).await;
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(orders, 1);
    assert_eq!(app.smartemailing.store.lock().unwrap().orders.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_catches_an_order_whose_notification_never_came() {
    let app = spawn_app().await;
    let (_admin, id, _url) = app.forwarding_connection().await;
    let invoice = app.new_fapi_order(None);
    let code = fapi_order_id(&app, invoice);
    let connection = fapi_bridge::connections::find(&app.db, id).await.unwrap();
    let counts = reconcile::run(&app.ctx, &connection, "test").await.unwrap();
    assert_eq!(counts.created, 1);
    eventually("the missed order is synced", || synced(&app, &code)).await;
    let source = se_order(&app, &code).unwrap().0["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "source")
        .unwrap()["value"]
        .clone();
    assert_eq!(source, "reconciliation");
    let run: (String, String, i64) = sqlx::query_as("SELECT kind, status, created FROM sync_runs")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        run,
        ("reconciliation".to_string(), "completed".to_string(), 1)
    );

    // A second pass finds nothing new.
    let connection = fapi_bridge::connections::find(&app.db, id).await.unwrap();
    let again = reconcile::run(&app.ctx, &connection, "test").await.unwrap();
    assert_eq!((again.created, again.updated), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_invoice_holds_back_no_other_notification_of_its_batch() {
    use fapi_bridge::sync::store::{self, OwnedNotification};
    let app = spawn_app().await;
    let (_admin, connection, _url) = app.forwarding_connection().await;
    let invoices: Vec<i64> = (0..6).map(|_| app.new_fapi_order(None)).collect();
    let now = app.clock.now();
    let notifications: Vec<OwnedNotification> = invoices
        .iter()
        .map(|&id| {
            let (time, security) = app
                .fapi
                .store
                .lock()
                .unwrap()
                .notification(id, now.timestamp())
                .unwrap();
            OwnedNotification {
                connection_id: connection,
                received_at: now,
                content_type: None,
                remote_addr: None,
                user_agent: None,
                raw_body: format!("id={id}&time={time}&security={security}"),
                invoice_id: Some(id),
                notified_time: Some(time),
                security: Some(security),
                status: fapi_bridge::model::NotificationStatus::Queued,
                status_reason: None,
            }
        })
        .collect();
    // FAPI's next answer hangs past the client's timeout (2 s in tests): that invoice's fetch
    // is retried, about two seconds after the others were fetched.
    app.fapi.behaviour.set_faults(FaultConfig {
        hang_rate: 1.0,
        hang_ms: 8_000,
        remaining: Some(1),
        ..Default::default()
    });
    // Stored in one transaction, so that one worker claims all six as one batch.
    store::insert_notifications(&app.db, &notifications)
        .await
        .unwrap();
    app.ctx.work.notifications.notify_one();

    let statuses = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT status FROM notifications WHERE connection_id = ? ORDER BY id",
        )
        .bind(connection)
        .fetch_all(&app.db)
        .await
        .unwrap()
    };
    eventually("five notifications processed", || async {
        statuses()
            .await
            .iter()
            .filter(|s| *s == "processed")
            .count()
            >= 5
    })
    .await;
    let still_fetching = statuses()
        .await
        .iter()
        .filter(|s| *s == "processing")
        .count();
    assert_eq!(
        still_fetching, 1,
        "the others were committed while the slow invoice was still being fetched"
    );
    eventually("the slow one processed too", || async {
        statuses().await.iter().all(|s| s == "processed")
    })
    .await;
}

/// A burst of orders while SmartEmailing is paced at its default 5 requests a second: the
/// batches grow while the pace holds them back (instead of a request pair per handful of
/// orders), and the burst's buyers are checked with one refresh instead of a look-up each
/// (before, 300 look-ups at 5 a second took a minute).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_under_the_default_pace_goes_out_in_few_requests() {
    let app =
        crate::helpers::spawn_app_configured(&[("SMARTEMAILING_REQUESTS_PER_SECOND", "5")]).await;
    let (_admin, _connection, webhook) = app.forwarding_connection().await;
    let invoices: Vec<i64> = (0..300).map(|_| app.new_fapi_order(None)).collect();
    let sends = invoices.chunks(38).map(|chunk| {
        let (fapi, webhook, chunk) = (app.fapi.clone(), webhook.clone(), chunk.to_vec());
        tokio::spawn(async move {
            for invoice in chunk {
                assert_eq!(fapi.notify(&webhook, invoice).await.unwrap().status(), 200);
            }
        })
    });
    for send in sends.collect::<Vec<_>>() {
        send.await.unwrap();
    }
    eventually(
        "every order is in SmartEmailing and every buyer checked",
        || async {
            let unchecked: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE check_due = 1")
                    .fetch_one(&app.db)
                    .await
                    .unwrap();
            app.smartemailing.store.lock().unwrap().orders.len() == 300 && unchecked == 0
        },
    )
    .await;
    let requests = app.smartemailing.behaviour.requests();
    let count = |method: &str, path: &str| {
        requests
            .iter()
            .filter(|r| r.method == method && r.uri.split('?').next() == Some(path))
            .count()
    };
    let look_ups = requests
        .iter()
        .filter(|r| r.uri.contains("emailaddress="))
        .count();
    let imports = count("POST", "/api/v3/import-orders");
    // One import would do; how many it takes depends on how fast the notifications come in
    // (5 on a quiet machine, 6 with two compilers running beside the test). Claiming before
    // waiting for the pace took a request pair per handful of orders (dozens for 300).
    assert!(imports <= 10, "300 orders in {imports} imports");
    assert_eq!(
        count("POST", "/api/v3/import"),
        imports,
        "one contact import per batch"
    );
    assert_eq!(look_ups, 0, "the buyers are checked with one refresh");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_buyer_arrives_in_full_and_the_order_adds_up_to_fapis_total() {
    let app = spawn_app().await;
    let (_admin, _, url) = app.forwarding_connection().await;
    let invoice = {
        let mut store = app.fapi.store.lock().unwrap();
        let mut customer = store.new_customer();
        customer.with_name = true;
        customer.person.email = "firma@example.cz".into();
        customer.person.company = Some("Kavárna U Lípy s.r.o.".into());
        customer.person.phone = "+420 222 000 111".into();
        customer.person = customer.person.clone().with_company_numbers(7);
        let products = fapi_bridge::simulators::czech::products();
        // 2 × 2,478.51 + 322.31, 21 % VAT: FAPI rounds the total to whole crowns.
        store.create_order(
            customer,
            &[(products[0].clone(), 2), (products[1].clone(), 1)],
            "CZK",
            true,
            app.clock.now() + chrono::Duration::minutes(1),
        )
    };
    let fapi_total = app
        .fapi
        .store
        .lock()
        .unwrap()
        .invoice_json(invoice)
        .unwrap()["total"]
        .clone();
    app.fapi.notify(&url, invoice).await.unwrap();
    let code = fapi_order_id(&app, invoice);
    eventually("the order is synced", || synced(&app, &code)).await;

    let (body, _) = se_order(&app, &code).unwrap();
    let total: f64 = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["price"]["with_vat"].as_f64().unwrap() * i["quantity"].as_f64().unwrap())
        .sum();
    assert!(
        (total - fapi_total.as_f64().unwrap()).abs() < 0.001,
        "items add up to {total}, FAPI says {fapi_total}"
    );
    let import = app
        .smartemailing
        .behaviour
        .requests_to("POST", "/api/v3/import")
        .into_iter()
        .find(|r| r.body.contains("firma@example.cz"))
        .unwrap();
    let sent: Value = serde_json::from_str(&import.body).unwrap();
    let contact = &sent["data"][0];
    assert_eq!(contact["company"], "Kavárna U Lípy s.r.o.", "{contact}");
    assert_eq!(
        contact["phone"], "+420 222 000 111",
        "a landline is a phone"
    );
    assert_eq!(contact["language"], "cs_CZ");
    assert_eq!(contact.get("cellphone"), None);
    let client_fetches = app
        .fapi
        .behaviour
        .requests()
        .iter()
        .filter(|r| r.uri.starts_with("/clients/"))
        .count();
    assert_eq!(client_fetches, 1);

    // The same notification again: the client record is cached.
    app.fapi.notify(&url, invoice).await.unwrap();
    eventually("the repeat is processed", || async {
        notification_status(&app, invoice).await == ["processed", "processed"]
    })
    .await;
    let again = app
        .fapi
        .behaviour
        .requests()
        .iter()
        .filter(|r| r.uri.starts_with("/clients/"))
        .count();
    assert_eq!(again, 1, "no change, no new look-up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_goes_out_in_the_spelling_the_account_accepts() {
    let app = spawn_app().await;
    app.smartemailing.store.lock().unwrap().cancelled_spelling = Some("canceled".into());
    let (_admin, _, url) = app.forwarding_connection().await;
    let mut codes = Vec::new();
    for _ in 0..2 {
        let proforma = app.new_fapi_order(None);
        app.fapi
            .store
            .lock()
            .unwrap()
            .cancel(proforma, app.clock.now() + chrono::Duration::minutes(3));
        app.fapi.notify(&url, proforma).await.unwrap();
        let code = fapi_order_id(&app, proforma);
        eventually("the cancelled order is synced", || synced(&app, &code)).await;
        assert_eq!(se_order(&app, &code).unwrap().0["status"], "canceled");
        codes.push(code);
    }
    let remembered: String =
        sqlx::query_scalar("SELECT cancelled_spelling FROM smartemailing_accounts")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(remembered, "canceled");
    let tries = |code: &str| {
        app.smartemailing
            .behaviour
            .requests_to("POST", "/api/v3/import-orders")
            .into_iter()
            .filter(|r| r.body.contains(&format!("\"eshop_code\":\"{code}\"")))
            .count()
    };
    assert_eq!(tries(&codes[0]), 2, "refused once, then the other spelling");
    assert_eq!(tries(&codes[1]), 1, "the account's spelling is remembered");
}
