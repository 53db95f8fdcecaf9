//! The historical sync against the simulators: every FAPI order exactly once, pause, resume,
//! cancel, restart, concurrent notifications, broken credentials.

use std::collections::{HashMap, HashSet};

use fapi_bridge::model::Role;
use fapi_bridge::simulators::fapi::DocKind;
use fapi_bridge::simulators::faults::FaultConfig;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of, eventually, spawn_app, spawn_app_with};

/// Generates `orders` past orders (the year before the test's "now").
fn past_orders(app: &TestApp, orders: usize) {
    let now = fapi_bridge::platform::clock::Clock::now(&app.clock);
    app.fapi.store.lock().unwrap().generate(
        orders,
        now - chrono::Duration::days(365),
        now - chrono::Duration::days(1),
    );
}

/// What SmartEmailing should show for every FAPI order of the simulator: order id → status.
fn expected_statuses(app: &TestApp) -> HashMap<String, &'static str> {
    let store = app.fapi.store.lock().unwrap();
    let mut expected: HashMap<String, &'static str> = HashMap::new();
    for invoice in store.invoices.values() {
        let status = if invoice.cancelled
            || invoice.has_credit_note
            || invoice.kind == DocKind::CreditNote
        {
            "cancelled"
        } else if invoice.paid {
            "processing"
        } else {
            "placed"
        };
        let entry = expected
            .entry(invoice.new_order.to_string())
            .or_insert("placed");
        let rank = |s: &str| {
            ["placed", "processing", "cancelled"]
                .iter()
                .position(|x| *x == s)
                .unwrap()
        };
        if rank(status) > rank(entry) {
            *entry = status;
        }
    }
    expected
}

async fn start(app: &TestApp, client: &reqwest::Client, connection: i64) -> reqwest::Response {
    app.call(
        client,
        "start_historical_sync",
        &[("connection", &connection.to_string()), ("confirm", "yes")],
    )
    .await
}

async fn cursor(app: &TestApp, run: i64) -> i64 {
    sqlx::query_scalar("SELECT cursor FROM sync_runs WHERE id = ?")
        .bind(run)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn pending_orders(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE sync_status = 'pending'")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn run_status(app: &TestApp, run: i64) -> String {
    sqlx::query_scalar("SELECT status FROM sync_runs WHERE id = ?")
        .bind(run)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

fn se_requests(app: &TestApp, path: &str) -> usize {
    app.smartemailing.behaviour.requests_to("POST", path).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_brings_every_fapi_order_exactly_once_with_its_status() {
    let app = spawn_app().await;
    past_orders(&app, 2_000);
    let (_admin, connection, _) = app.forwarding_connection().await;
    let operator = app.signed_in("petr@example.cz", Role::Operator).await;

    let unconfirmed = app
        .call(
            &operator,
            "start_historical_sync",
            &[("connection", &connection.to_string())],
        )
        .await;
    assert_eq!(
        error_of(unconfirmed).await,
        json!({"Invalid": "ConfirmationMissing"})
    );
    let response = start(&app, &operator, connection).await;
    assert_eq!(response.status(), 200);
    let run: i64 = response.json().await.unwrap();
    let again = start(&app, &operator, connection).await;
    assert_eq!(
        error_of(again).await,
        json!({"Invalid": {"SyncAlreadyRunning": {"run_id": run}}})
    );

    eventually("the run completes", || async {
        run_status(&app, run).await == "completed"
    })
    .await;
    let expected = expected_statuses(&app);
    let buyers: HashSet<String> = {
        let store = app.smartemailing.store.lock().unwrap();
        assert_eq!(
            store.orders.len(),
            expected.len(),
            "each FAPI order exactly once"
        );
        for ((_, code), order) in &store.orders {
            assert_eq!(order.body["status"], expected[code], "order {code}");
            assert_eq!(order.received, 1);
            let source = order.body["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["name"] == "source")
                .unwrap();
            assert_eq!(source["value"], "historical-sync");
        }
        store
            .orders
            .values()
            .map(|o| o.body["emailaddress"].as_str().unwrap().to_string())
            .collect()
    };
    // Batches of 500: the fewest requests possible.
    assert_eq!(
        se_requests(&app, "/api/v3/import-orders"),
        expected.len().div_ceil(500)
    );
    assert_eq!(
        se_requests(&app, "/api/v3/import"),
        buyers.len().div_ceil(500)
    );

    let detail: Value = app
        .call(&operator, "get_run", &[("id", &run.to_string())])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        detail["run"]["total"],
        app.fapi.store.lock().unwrap().invoices.len()
    );
    assert_eq!(detail["run"]["documents"], detail["run"]["total"]);
    assert_eq!(detail["run"]["created"], expected.len());
    assert_eq!(detail["synced"], expected.len());
    assert_eq!(detail["waiting"], 0);

    // A second run finds everything already there and sends nothing.
    let second: i64 = start(&app, &operator, connection)
        .await
        .json()
        .await
        .unwrap();
    eventually("the second run completes", || async {
        run_status(&app, second).await == "completed"
    })
    .await;
    assert_eq!(
        se_requests(&app, "/api/v3/import-orders"),
        expected.len().div_ceil(500)
    );
    let skipped: i64 = sqlx::query_scalar("SELECT skipped FROM sync_runs WHERE id = ?")
        .bind(second)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        skipped as usize,
        app.fapi.store.lock().unwrap().invoices.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_cancel() {
    let app = spawn_app().await;
    past_orders(&app, 1_500);
    let (admin, connection, _) = app.forwarding_connection().await;
    // Slow pages, so that fetching cannot finish between the resume and the cancel (the next
    // page is fetched while one is ingested).
    app.fapi.behaviour.set_faults(FaultConfig {
        latency_ms: 150,
        ..Default::default()
    });
    let run: i64 = start(&app, &admin, connection).await.json().await.unwrap();
    eventually("fetching has begun", || async {
        cursor(&app, run).await >= 200
    })
    .await;
    assert_eq!(
        app.call(
            &admin,
            "control_sync",
            &[("run", &run.to_string()), ("action", "pause")]
        )
        .await
        .status(),
        200
    );
    eventually("paused", || async {
        run_status(&app, run).await == "paused"
    })
    .await;
    let at_pause = cursor(&app, run).await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(
        cursor(&app, run).await,
        at_pause,
        "a paused run fetches nothing"
    );

    assert_eq!(
        app.call(
            &admin,
            "control_sync",
            &[("run", &run.to_string()), ("action", "resume")]
        )
        .await
        .status(),
        200
    );
    eventually("fetching again", || async {
        cursor(&app, run).await > at_pause
    })
    .await;
    assert_eq!(
        app.call(
            &admin,
            "control_sync",
            &[("run", &run.to_string()), ("action", "cancel")]
        )
        .await
        .status(),
        200
    );
    eventually("cancelled", || async {
        run_status(&app, run).await == "cancelled"
    })
    .await;
    let unsent: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE run_id = ? AND sync_status = 'pending'",
    )
    .bind(run)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(unsent, 0, "nothing the cancelled run queued goes out later");
    let after_cancel = cursor(&app, run).await;
    assert!((after_cancel as usize) < app.fapi.store.lock().unwrap().invoices.len());
    let response = app
        .call(
            &admin,
            "control_sync",
            &[("run", &run.to_string()), ("action", "resume")],
        )
        .await;
    assert_eq!(
        error_of(response).await,
        json!({"Invalid": "RunNotControllable"})
    );
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'sync.%' ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        actions,
        vec![
            "sync.started",
            "sync.paused",
            "sync.resumed",
            "sync.cancelled"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_in_the_middle_resumes_without_duplicates() {
    let app = spawn_app().await;
    past_orders(&app, 1_500);
    let (admin, connection, _) = app.forwarding_connection().await;
    let expected = expected_statuses(&app);
    app.fapi.behaviour.set_faults(FaultConfig {
        latency_ms: 30,
        ..Default::default()
    });
    let run: i64 = start(&app, &admin, connection).await.json().await.unwrap();
    eventually("part of the way", || async {
        cursor(&app, run).await >= 700
    })
    .await;

    // Stop the app and start a new one on the same database, with the same simulators.
    let (fapi, smartemailing, clock, port) = (
        app.fapi.clone(),
        app.smartemailing.clone(),
        app.clock.clone(),
        app.port(),
    );
    let data_dir = app.stop().await;
    // The restarted app resumes the run at once, against the same accounts.
    let app = spawn_app_with(data_dir, clock, port, fapi, smartemailing).await;
    app.wake();
    app.ctx.work.historical.notify_one();
    eventually("the run completes after the restart", || async {
        run_status(&app, run).await == "completed"
    })
    .await;
    eventually("nothing waits", || async {
        pending_orders(&app).await == 0
    })
    .await;

    let store = app.smartemailing.store.lock().unwrap();
    assert_eq!(store.orders.len(), expected.len());
    assert!(
        store.orders.values().all(|o| o.received == 1),
        "no order was sent twice"
    );
    drop(store);
    // Both apps' requests: the simulators' logs outlive the restart.
    let requests = se_requests(&app, "/api/v3/import-orders");
    let minimum = expected.len().div_ceil(500);
    assert!(
        requests as f64 <= (minimum as f64 * 1.05).ceil() + 1.0,
        "{requests} order imports for {minimum} batches"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_during_a_sync_never_duplicate_an_order() {
    let app = spawn_app().await;
    past_orders(&app, 800);
    let (admin, connection, url) = app.forwarding_connection().await;
    app.fapi.behaviour.set_faults(FaultConfig {
        latency_ms: 20,
        ..Default::default()
    });
    let run: i64 = start(&app, &admin, connection).await.json().await.unwrap();
    // FAPI notifies documents of past orders (a payment arriving late, say) while the sync runs.
    let some: Vec<i64> = app
        .fapi
        .store
        .lock()
        .unwrap()
        .invoices
        .keys()
        .copied()
        .step_by(40)
        .collect();
    for invoice in &some {
        app.fapi.notify(&url, *invoice).await.unwrap();
    }
    let fresh = app.new_fapi_order(None);
    app.fapi.notify(&url, fresh).await.unwrap();
    eventually("the run completes", || async {
        run_status(&app, run).await == "completed"
    })
    .await;
    eventually("every notification is processed", || async {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE status IN ('queued', 'processing')",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        waiting == 0
    })
    .await;
    eventually("everything is synced", || async {
        pending_orders(&app).await == 0
    })
    .await;
    let expected = expected_statuses(&app);
    let states: Vec<(String, Option<String>, String, i64)> = sqlx::query_as(
        "SELECT sync_status, status_reason, source, COUNT(*) FROM orders GROUP BY 1, 2, 3",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let (orders_in_smartemailing, codes) = {
        let store = app.smartemailing.store.lock().unwrap();
        let codes: HashSet<String> = store.orders.keys().map(|(_, code)| code.clone()).collect();
        (store.orders.len(), codes)
    };
    assert_eq!(orders_in_smartemailing, codes.len(), "{states:?}");
    assert_eq!(
        codes.len(),
        expected.len(),
        "every FAPI order once, old and new: {states:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_stops_and_says_why_when_credentials_stop_working() {
    let app = spawn_app().await;
    past_orders(&app, 1_200);
    let (admin, connection, _) = app.forwarding_connection().await;
    app.smartemailing.store.lock().unwrap().api_key = "revoked".into();
    let run: i64 = start(&app, &admin, connection).await.json().await.unwrap();
    eventually("the run failed", || async {
        run_status(&app, run).await == "failed"
    })
    .await;
    let reason: String = sqlx::query_scalar("SELECT status_reason FROM sync_runs WHERE id = ?")
        .bind(run)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(
        reason.contains("SmartEmailing refused the credentials"),
        "{reason}"
    );

    let viewer = app.signed_in("eva@example.cz", Role::Viewer).await;
    assert_eq!(start(&app, &viewer, connection).await.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smartemailing_faults_during_a_sync_end_as_retried_orders_not_a_dead_run() {
    let app = spawn_app().await;
    past_orders(&app, 700);
    let (admin, connection, _) = app.forwarding_connection().await;
    // SmartEmailing is down for the whole run: more than the client's own retries absorb, so
    // every batch fails and its orders wait for their retry.
    app.smartemailing.behaviour.set_faults(FaultConfig {
        server_error_rate: 1.0,
        ..Default::default()
    });
    let run: i64 = start(&app, &admin, connection).await.json().await.unwrap();
    eventually("the run completes despite the outage", || async {
        run_status(&app, run).await == "completed"
    })
    .await;
    let waiting: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE run_id = ? AND sync_status = 'pending' AND attempts >= 1",
    )
    .bind(run)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(waiting > 0, "some orders wait for a retry after the outage");
    let reasons: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT status_reason FROM orders WHERE run_id = ? AND sync_status = 'pending' AND attempts >= 1",
    )
    .bind(run)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(reasons.iter().all(|r| r.contains("503")), "{reasons:?}");

    // SmartEmailing is back and the retries come due (SYNC_RETRY_DELAY = 1 min, with jitter):
    // every order ends in SmartEmailing exactly once.
    app.smartemailing.behaviour.clear_faults();
    app.advance(chrono::Duration::minutes(5));
    let expected = expected_statuses(&app);
    eventually("the retried orders are synced", || async {
        pending_orders(&app).await == 0
    })
    .await;
    let store = app.smartemailing.store.lock().unwrap();
    assert_eq!(store.orders.len(), expected.len());
    assert!(store.orders.values().all(|o| o.received == 1));
}

/// The `limit` of every list request FAPI received, in order.
fn page_sizes_asked(app: &TestApp) -> Vec<String> {
    app.fapi
        .behaviour
        .requests_to("GET", "/invoices")
        .iter()
        .filter_map(|r| {
            let query = r.uri.split_once('?')?.1;
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "limit")
                .map(|(_, v)| v.into_owned())
        })
        .collect()
}

/// FAPI's largest page is not documented (one source says 100). A FAPI that refuses pages of
/// 500 ("Limit must be at most 100.") gets pages of 100 from then on, remembered for the
/// connection; one that refuses even those ends the run as failed with FAPI's message instead
/// of keeping it "running" and asking again for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fapi_that_caps_the_page_size_gets_smaller_pages_and_a_refusal_ends_the_run() {
    let app = spawn_app().await;
    past_orders(&app, 600);
    app.fapi.store.lock().unwrap().max_page_size = 100;
    let (admin, connection, _) = app.forwarding_connection().await;

    let run: i64 = start(&app, &admin, connection).await.json().await.unwrap();
    eventually("the run completes with pages of 100", || async {
        run_status(&app, run).await == "completed"
    })
    .await;
    let expected = expected_statuses(&app);
    assert_eq!(
        app.smartemailing.store.lock().unwrap().orders.len(),
        expected.len(),
        "each FAPI order exactly once"
    );
    let asked = page_sizes_asked(&app);
    let refused = asked.iter().take_while(|limit| *limit == "500").count();
    assert!(refused >= 1, "it asked for 500 first: {asked:?}");
    assert!(
        asked[refused..].iter().all(|limit| limit == "100"),
        "then only for 100: {asked:?}"
    );
    let remembered: Option<i64> =
        sqlx::query_scalar("SELECT fapi_page_size FROM connections WHERE id = ?")
            .bind(connection)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(remembered, Some(100));

    // The next run asks for 100 straight away.
    let before = asked.len();
    let second: i64 = start(&app, &admin, connection).await.json().await.unwrap();
    eventually("the second run completes", || async {
        run_status(&app, second).await == "completed"
    })
    .await;
    let asked = page_sizes_asked(&app);
    assert!(
        asked[before..].iter().all(|limit| limit == "100"),
        "{asked:?}"
    );

    // A FAPI that refuses even pages of 100: the run fails and says why.
    app.fapi.store.lock().unwrap().max_page_size = 50;
    let third: i64 = start(&app, &admin, connection).await.json().await.unwrap();
    eventually("the third run fails", || async {
        run_status(&app, third).await == "failed"
    })
    .await;
    let reason: String = sqlx::query_scalar("SELECT status_reason FROM sync_runs WHERE id = ?")
        .bind(third)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(reason.contains("Limit must be at most 50."), "{reason}");
}

/// A back-fill reads the buyers' client records (company, phone) with FAPI's client list, a
/// page of 100 at a time, instead of one request per buyer (100,000 buyers were 100,000
/// requests), and the contacts carry them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_reads_the_buyers_in_pages_not_one_by_one() {
    let app = spawn_app().await;
    past_orders(&app, 400);
    let (admin, connection, _) = app.forwarding_connection().await;
    let run: i64 = start(&app, &admin, connection).await.json().await.unwrap();
    eventually("the run completes", || async {
        run_status(&app, run).await == "completed"
    })
    .await;
    let clients = app.fapi.store.lock().unwrap().clients.clone();
    let one_by_one = app
        .fapi
        .behaviour
        .requests()
        .iter()
        .filter(|r| r.uri.starts_with("/clients/"))
        .count();
    let listed = app.fapi.behaviour.requests_to("GET", "/clients").len();
    assert_eq!(
        one_by_one,
        0,
        "no request per buyer: {:?}",
        app.fapi
            .behaviour
            .requests()
            .iter()
            .filter(|r| r.uri.starts_with("/clients/"))
            .map(|r| r.uri.clone())
            .collect::<Vec<_>>()
    );
    assert!(
        listed <= clients.len().div_ceil(100) + 8,
        "{listed} list requests for {} clients",
        clients.len()
    );
    let store = app.smartemailing.store.lock().unwrap();
    let with_company = clients.values().filter(|c| c.company.is_some()).count();
    assert!(with_company > 0, "the simulated buyers include companies");
    for person in clients.values().filter(|c| c.company.is_some()) {
        let contact = store
            .contacts
            .values()
            .find(|c| c.email.eq_ignore_ascii_case(&person.email));
        if let Some(contact) = contact {
            assert_eq!(contact.company, person.company, "{}", person.email);
        }
    }
}
