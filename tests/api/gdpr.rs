//! GDPR: a buyer deleted from the Contacts page (SmartEmailing's forget) stays forgotten —
//! whatever FAPI notifies afterwards, whatever reconciliation or a historical sync finds — and
//! only the contact with exactly that address is forgotten.

use fapi_bridge::platform::clock::Clock;
use serde_json::Value;

use crate::helpers::{TestApp, eventually, spawn_app};

/// Waits until every buyer of the connection has been checked in SmartEmailing.
async fn checked(app: &TestApp, connection: i64, expected: i64) {
    eventually("every buyer is checked in SmartEmailing", || async {
        let checked: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM contacts WHERE connection_id = ? AND check_due = 0",
        )
        .bind(connection)
        .fetch_one(&app.db)
        .await
        .unwrap();
        checked == expected
    })
    .await;
}

async fn contact_id(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM contacts WHERE email = ?")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// Deletes (forgets) these contacts as an admin; the finished job's detail.
async fn delete(
    app: &TestApp,
    admin: &reqwest::Client,
    connection: i64,
    ids: &[i64],
    key: &str,
) -> Value {
    let selected = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let count = ids.len().to_string();
    let connection = connection.to_string();
    let response = app
        .call(
            admin,
            "bulk_contacts",
            &[
                ("filter[connection]", connection.as_str()),
                ("action", "delete"),
                ("selected", &selected),
                ("expected", &count),
                ("typed", &count),
                ("request_key", key),
            ],
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let job: i64 = response.json().await.unwrap();
    let fetch = || async {
        app.call(admin, "get_contact_job", &[("id", &job.to_string())])
            .await
            .json::<Value>()
            .await
            .unwrap()
    };
    eventually("the delete job finishes", || async {
        matches!(
            fetch().await["job"]["status"].as_str(),
            Some("completed" | "failed")
        )
    })
    .await;
    fetch().await
}

/// Requests SmartEmailing received that carry `email` (in the address or the body).
fn se_requests_with(app: &TestApp, email: &str) -> usize {
    let encoded = email.replace('@', "%40");
    app.smartemailing
        .behaviour
        .requests()
        .iter()
        .filter(|r| {
            let text = format!("{} {}", r.uri, r.body).to_lowercase();
            text.contains(email) || text.contains(&encoded.to_lowercase())
        })
        .count()
}

async fn idle(app: &TestApp) {
    eventually("notifications and pushes are done", || async {
        let busy: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM notifications WHERE status IN ('queued', 'processing'))
                  + (SELECT COUNT(*) FROM orders WHERE sync_status = 'pending')",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        busy == 0
    })
    .await;
}

/// The database file (after a checkpoint that empties the write-ahead log) and what is left of
/// the log, as bytes.
async fn database_bytes(app: &TestApp) -> Vec<u8> {
    let checkpoint: (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(checkpoint.0, 0, "the checkpoint was not blocked");
    let mut bytes = std::fs::read(app.data_dir.path().join("test.db")).unwrap();
    if let Ok(wal) = std::fs::read(app.data_dir.path().join("test.db-wal")) {
        bytes.extend(wal);
    }
    bytes
}

fn holds(bytes: &[u8], text: &str) -> bool {
    let needle = text.as_bytes();
    bytes.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_buyer_is_never_sent_or_stored_again() {
    let app = spawn_app().await;
    let (admin, connection, webhook) = app.forwarding_connection().await;
    let email = "jana.zapomenuta@example.cz";
    let proforma = app.new_fapi_order(Some(email));
    // Another buyer, who stays.
    let other = app.new_fapi_order(Some("petr.zustava@example.cz"));
    for invoice in [proforma, other] {
        app.fapi.notify(&webhook, invoice).await.unwrap();
    }
    checked(&app, connection, 2).await;
    assert!(se_requests_with(&app, email) > 0, "the buyer was sent once");

    let jana = contact_id(&app, email).await;
    let detail = delete(&app, &admin, connection, &[jana], "forget-jana").await;
    assert_eq!(detail["items"][0]["status"], "done", "{detail}");
    assert!(
        app.smartemailing
            .store
            .lock()
            .unwrap()
            .contact(email)
            .is_none()
    );
    app.smartemailing.behaviour.clear_requests();

    // (a) FAPI repeats the notification of the same document.
    app.fapi.notify(&webhook, proforma).await.unwrap();
    // (b) The order is paid: the final invoice and the paid proforma are notified.
    let invoice = app
        .fapi
        .store
        .lock()
        .unwrap()
        .pay(proforma, app.clock.now() + chrono::Duration::minutes(10))
        .unwrap();
    app.fapi.notify(&webhook, invoice).await.unwrap();
    app.fapi.notify(&webhook, proforma).await.unwrap();
    // (e) The buyer orders again: a new order, known only by the suppression list.
    let again = app.new_fapi_order(Some(email));
    app.fapi.notify(&webhook, again).await.unwrap();
    idle(&app).await;
    let processed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE invoice_id IN (?, ?) AND status = 'processed'",
    )
    .bind(proforma)
    .bind(invoice)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(processed, 4, "every notification was taken in");
    let new_order: (String, bool, Option<String>) = sqlx::query_as(
        "SELECT sync_status, buyer_forgotten, customer_email FROM orders WHERE id = (SELECT order_id FROM notifications WHERE invoice_id = ?)",
    )
    .bind(again)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        new_order,
        (
            "skipped".into(),
            true,
            Some(format!("forgotten-{jana}@invalid"))
        ),
        "the new order is recorded without the address and not sent"
    );

    // (c) A historical sync takes in every document of the account.
    let run: i64 = app
        .call(
            &admin,
            "start_historical_sync",
            &[("connection", &connection.to_string()), ("confirm", "yes")],
        )
        .await
        .json()
        .await
        .unwrap();
    eventually("the historical sync completes", || async {
        let status: String = sqlx::query_scalar("SELECT status FROM sync_runs WHERE id = ?")
            .bind(run)
            .fetch_one(&app.db)
            .await
            .unwrap();
        status == "completed"
    })
    .await;

    // (d) The order changes in FAPI without a notification; reconciliation finds it.
    app.fapi
        .store
        .lock()
        .unwrap()
        .cancel(invoice, app.clock.now() + chrono::Duration::minutes(20));
    let record = fapi_bridge::connections::find(&app.db, connection)
        .await
        .unwrap();
    let counts = fapi_bridge::sync::reconcile::run(&app.ctx, &record, "test")
        .await
        .unwrap();
    assert!(counts.seen > 0);
    app.wake();
    idle(&app).await;

    assert_eq!(
        se_requests_with(&app, email),
        0,
        "SmartEmailing never hears of the buyer again"
    );
    {
        let store = app.smartemailing.store.lock().unwrap();
        assert!(store.contact(email).is_none(), "not re-created");
        assert!(store.contact("petr.zustava@example.cz").is_some());
    }

    // The order stays in the history, says its buyer was forgotten, and follows FAPI.
    let order_key = app.fapi.store.lock().unwrap().invoices[&proforma]
        .new_order
        .to_string();
    let (order_id, state, status, forgotten): (i64, String, String, bool) = sqlx::query_as(
        "SELECT id, fapi_state, sync_status, buyer_forgotten FROM orders WHERE order_key = ?",
    )
    .bind(order_key)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((state.as_str(), forgotten), ("cancelled", true), "{status}");
    let page: Value = app
        .call(&admin, "get_order", &[("id", &order_id.to_string())])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["order"]["buyer_forgotten"], true);
    assert_eq!(page["payload"], Value::Null);
    let html = admin
        .get(app.url(&format!("/orders/{order_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-testid=\"buyer-forgotten\""), "{html}");

    // The database file holds the address nowhere (no table, no free page, no log).
    let bytes = database_bytes(&app).await;
    assert!(!holds(&bytes, email), "the address is in the database file");
    assert!(
        !holds(&bytes, "zapomenuta"),
        "a part of it is in the database file"
    );
    assert!(
        holds(&bytes, "petr.zustava@example.cz"),
        "the scan reads the data"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_contact_with_exactly_the_address_is_forgotten() {
    let app = spawn_app().await;
    let (admin, connection, webhook) = app.forwarding_connection().await;
    // SmartEmailing's look-up answers with every address containing the one asked for; the
    // longer addresses are older contacts, so they come first.
    let buyers = [
        "dajan@example.cz",
        "jan@example.cz",
        "paola@example.cz",
        "ola@example.cz",
    ];
    for email in buyers {
        let invoice = app.new_fapi_order(Some(email));
        app.fapi.notify(&webhook, invoice).await.unwrap();
        checked(
            &app,
            connection,
            1 + buyers.iter().position(|b| *b == email).unwrap() as i64,
        )
        .await;
    }
    {
        let mut store = app.smartemailing.store.lock().unwrap();
        store.lookup_matches_part = true;
        // Ola is gone from SmartEmailing already: its look-up finds only Paola.
        assert!(store.remove_contact("ola@example.cz"));
    }
    // The bridge does not know their SmartEmailing ids: it must look them up.
    sqlx::query("UPDATE contacts SET se_contact_id = NULL")
        .execute(&app.db)
        .await
        .unwrap();
    let jan = contact_id(&app, "jan@example.cz").await;
    let ola = contact_id(&app, "ola@example.cz").await;

    let detail = delete(&app, &admin, connection, &[jan, ola], "forget-two").await;
    // Items come in the contacts' order: Jan, then Ola.
    let items = detail["items"].as_array().unwrap();
    let (jan_item, ola_item) = (&items[0], &items[1]);
    assert_eq!(
        jan_item["email"],
        format!("forgotten-{jan}@invalid"),
        "{detail}"
    );
    assert_eq!(jan_item["status"], "done", "{detail}");
    assert_eq!(ola_item["email"], "ola@example.cz", "{detail}");
    assert_eq!(ola_item["status"], "failed", "{detail}");
    assert!(
        ola_item["message"]
            .as_str()
            .unwrap()
            .contains("not this one"),
        "{detail}"
    );
    {
        let store = app.smartemailing.store.lock().unwrap();
        assert!(
            store.contact("jan@example.cz").is_none(),
            "Jan is forgotten"
        );
        assert!(
            store.contact("dajan@example.cz").is_some(),
            "Dajan, listed first, is not"
        );
        assert!(store.contact("paola@example.cz").is_some(), "nor Paola");
    }
    // Ola was not forgotten by the bridge either: her orders keep her address.
    let kept: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE customer_email = 'ola@example.cz' AND buyer_forgotten = 0",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(kept, 1);
    let suppressed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM forgotten_buyers")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(suppressed, 1, "only Jan is on the suppression list");
    let _ = ola;
}
