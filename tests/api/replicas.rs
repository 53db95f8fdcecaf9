//! Several replicas on one database: work that must run once is held through leases.

use std::collections::HashSet;

use chrono::Duration;
use fapi_bridge::model::Role;
use fapi_bridge::platform::clock::{Clock, ManualClock};
use fapi_bridge::platform::leases;
use fapi_bridge::sync::historical::RUN_LEASE;

use crate::helpers::{TestApp, eventually, spawn_app_configured, spawn_app_full, start_time};

async fn start_backfill(app: &TestApp, connection: i64) -> i64 {
    let operator = app.signed_in("petr@example.cz", Role::Operator).await;
    let response = app
        .call(
            &operator,
            "start_historical_sync",
            &[("connection", &connection.to_string()), ("confirm", "yes")],
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn run_state(app: &TestApp, run: i64) -> (String, i64) {
    sqlx::query_as("SELECT status, documents FROM sync_runs WHERE id = ?")
        .bind(run)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

fn past_orders(app: &TestApp, orders: usize) {
    let now = app.clock.now();
    app.fapi.store.lock().unwrap().generate(
        orders,
        now - Duration::days(300),
        now - Duration::days(1),
    );
}

/// Each FAPI order reached SmartEmailing exactly once.
fn assert_each_order_once(app: &TestApp) {
    let expected: HashSet<String> = app
        .fapi
        .store
        .lock()
        .unwrap()
        .invoices
        .values()
        .map(|invoice| invoice.new_order.to_string())
        .collect();
    let store = app.smartemailing.store.lock().unwrap();
    let received: HashSet<String> = store.orders.keys().map(|(_, code)| code.clone()).collect();
    assert_eq!(received, expected);
    for ((_, code), order) in &store.orders {
        assert_eq!(order.received, 1, "order {code} sent once");
    }
}

#[tokio::test]
async fn a_lease_is_held_by_one_replica_until_released_or_expired() {
    let app = spawn_app_configured(&[]).await;
    let (db, now, ttl) = (&app.db, start_time(), Duration::minutes(1));

    assert!(leases::hold(db, "job", "one", now, ttl).await.unwrap());
    assert!(!leases::hold(db, "job", "two", now, ttl).await.unwrap());
    // Its holder renews it; the other replica still waits.
    assert!(
        leases::hold(db, "job", "one", now + Duration::seconds(50), ttl)
            .await
            .unwrap()
    );
    assert!(
        !leases::hold(db, "job", "two", now + Duration::seconds(70), ttl)
            .await
            .unwrap()
    );
    // "one" stops renewing (it died): once the lease ran out, "two" takes the job over.
    assert!(
        leases::hold(db, "job", "two", now + Duration::seconds(111), ttl)
            .await
            .unwrap()
    );
    assert!(
        !leases::hold(db, "job", "one", now + Duration::seconds(112), ttl)
            .await
            .unwrap()
    );
    assert_eq!(leases::holder(db, "job").await.unwrap().unwrap().0, "two");
    // Releasing frees it at once; a replica cannot release another's.
    leases::release(db, "job", "one").await.unwrap();
    assert!(
        !leases::hold(db, "job", "one", now + Duration::seconds(113), ttl)
            .await
            .unwrap()
    );
    leases::release(db, "job", "two").await.unwrap();
    assert!(
        leases::hold(db, "job", "one", now + Duration::seconds(114), ttl)
            .await
            .unwrap()
    );
    assert_eq!(leases::release_all(db, "one").await.unwrap(), 1);
    assert_eq!(leases::holder(db, "job").await.unwrap(), None);
}

/// A replica died holding a run: the run waits for its lease to expire, then this replica
/// continues it, and every order arrives once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_held_by_a_dead_replica_continues_here_when_its_lease_expires() {
    let app = spawn_app_configured(&[("REPLICA_ID", "survivor")]).await;
    past_orders(&app, 150);
    let (_admin, connection, _) = app.forwarding_connection().await;
    let next_run: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM sync_runs")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let now = app.clock.now();
    assert!(
        leases::hold(
            &app.db,
            &leases::names::historical_run(next_run),
            "dead",
            now,
            RUN_LEASE
        )
        .await
        .unwrap()
    );

    let run = start_backfill(&app, connection).await;
    assert_eq!(run, next_run);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(run_state(&app, run).await, ("running".to_owned(), 0));
    assert!(app.smartemailing.store.lock().unwrap().orders.is_empty());

    app.clock.advance(RUN_LEASE + Duration::seconds(1));
    app.work.historical.notify_one();
    eventually("the run completes here", || async {
        run_state(&app, run).await.0 == "completed"
    })
    .await;
    assert_each_order_once(&app);
    assert_eq!(
        leases::holder(&app.db, &leases::names::historical_run(run))
            .await
            .unwrap(),
        None,
        "released when done"
    );
}

/// Two replicas on one database and the same FAPI and SmartEmailing accounts: both see the
/// run, one executes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_execute_a_historical_sync_once() {
    let first = spawn_app_configured(&[("REPLICA_ID", "one")]).await;
    past_orders(&first, 300);
    let (_admin, connection, _) = first.forwarding_connection().await;
    let second = spawn_app_full(
        first.data_dir.clone(),
        ManualClock::new(start_time()),
        0,
        first.fapi.clone(),
        first.smartemailing.clone(),
        &[("REPLICA_ID", "two")],
    )
    .await;

    // FAPI answers slowly, so the run lasts while both replicas look for work.
    first
        .fapi
        .behaviour
        .set_faults(fapi_bridge::simulators::faults::FaultConfig {
            latency_ms: 300,
            ..Default::default()
        });
    let run = start_backfill(&first, connection).await;
    second.work.historical.notify_one();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    second.work.historical.notify_one();
    eventually("the run completes", || async {
        run_state(&first, run).await.0 == "completed"
    })
    .await;
    assert_each_order_once(&first);
    // One replica executed it: each page of FAPI's documents was read once.
    let pages: Vec<String> = first
        .fapi
        .behaviour
        .requests_to("GET", "/invoices")
        .into_iter()
        .map(|request| request.uri)
        .collect();
    let distinct: HashSet<&String> = pages.iter().collect();
    assert!(pages.len() >= 3, "{pages:?}");
    assert_eq!(distinct.len(), pages.len(), "{pages:?}");
    second.stop().await;
}
