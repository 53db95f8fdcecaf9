//! Overview benchmark (not a test): run with
//!
//!     cargo bench --features ssr --bench overview
//!
//! Seeds a database with 1,000,000 orders and 1,000,000 notifications over three connections
//! (plus sync runs and reminders), then times the Overview's figures — the exact function the
//! page's server function calls — and prints each query's plan, to show they use indexes.

use std::time::{Duration, Instant};

use fapi_bridge::simulators::RunningSimulator;
use fapi_bridge::simulators::fapi::FapiSimulator;
use fapi_bridge::simulators::smartemailing::SmartEmailingSimulator;

mod support;

const ORDERS: i64 = 1_000_000;
const ROUNDS: usize = 200;

async fn seed(db: &sqlx::SqlitePool, connections: &[i64]) {
    let started = Instant::now();
    let first = connections[0];
    let count = connections.len() as i64;
    // 1 % failed, 2 % pending, the rest synced; spread over the connections.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO orders (connection_id, order_key, eshop_code, fapi_state, sync_status, source,
                             next_attempt_at, first_seen_at, updated_at)
         SELECT ?2 + i % ?3, 'o' || i, 'o' || i, 'paid',
                CASE WHEN i % 100 = 0 THEN 'failed' WHEN i % 100 < 3 THEN 'pending' ELSE 'synced' END,
                'webhook', '2030-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'
         FROM n",
    )
    .bind(ORDERS)
    .bind(first)
    .bind(count)
    .execute(db)
    .await
    .unwrap();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO notifications (connection_id, received_at, raw_body, status)
         SELECT ?2 + i % ?3, '2026-01-01T00:00:00Z', 'id=' || i, 'processed' FROM n",
    )
    .bind(ORDERS)
    .bind(first)
    .bind(count)
    .execute(db)
    .await
    .unwrap();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
         INSERT INTO sync_runs (connection_id, kind, started_by, started_at, finished_at, status)
         SELECT ?1 + i % ?2, 'reconciliation', 'system', '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', 'completed' FROM n",
    )
    .bind(first)
    .bind(count)
    .execute(db)
    .await
    .unwrap();
    sqlx::query("ANALYZE").execute(db).await.unwrap();
    println!(
        "seeded {ORDERS} orders, {ORDERS} notifications, 10000 runs in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

async fn print_plans(db: &sqlx::SqlitePool) {
    for query in [
        "SELECT received_at FROM notifications WHERE connection_id = 1 ORDER BY id DESC LIMIT 1",
        "SELECT COUNT(*) FROM orders WHERE connection_id = 1 AND sync_status = 'pending'",
        "SELECT * FROM sync_runs WHERE connection_id = 1 ORDER BY id DESC LIMIT 1",
    ] {
        let plan: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(&format!("EXPLAIN QUERY PLAN {query}"))
                .fetch_all(db)
                .await
                .unwrap();
        let steps: Vec<String> = plan.into_iter().map(|row| row.3).collect();
        println!("  plan: {query}\n        → {}", steps.join("; "));
    }
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let any = "127.0.0.1:0".parse().unwrap();
    let fapi = RunningSimulator::start(FapiSimulator::with_default_account(1).router(), any)
        .await
        .unwrap();
    let smartemailing =
        RunningSimulator::start(SmartEmailingSimulator::with_default_account().router(), any)
            .await
            .unwrap();
    let app =
        support::build_app(dir.path(), &fapi.base_url(), &smartemailing.base_url(), &[]).await;
    let state = app.context().clone();
    let mut connections = Vec::new();
    for name in ["Obchod A", "Obchod B", "Obchod C"] {
        connections.push(support::connect(&state, name).await);
    }
    seed(&state.db, &connections).await;
    print_plans(&state.db).await;

    let mut times: Vec<Duration> = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let cards = fapi_bridge::overview::cards(&state).await.unwrap();
        times.push(started.elapsed());
        assert_eq!(cards.len(), connections.len());
    }
    times.sort();
    let at = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
    println!(
        "overview of {} connections over {ORDERS} orders: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({ROUNDS} rounds)",
        connections.len(),
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        times.last().unwrap().as_secs_f64() * 1000.0
    );
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}
