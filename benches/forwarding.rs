//! Forwarding benchmark (not a test): run with
//!
//!     cargo bench --features ssr --bench forwarding
//!
//! 1. Webhook acceptance: notifications per second the endpoint stores and answers, and the
//!    p50/p99 latency, for 5 s at each of 8, 16, 32 and 64 concurrent senders (forwarding off,
//!    so the workers do not compete; the request path is the same). With a fixed number of
//!    senders each waiting for its answer, latency ≈ senders ÷ throughput, so the sweep shows
//!    where the endpoint saturates rather than one point chosen to look good.
//! 2. End to end: N orders notified at once, from the first notification until every order is
//!    synced into the SmartEmailing simulator (FAPI fetch, hash check, ingest, batched import),
//!    and until every buyer has been checked in SmartEmailing; the SmartEmailing requests are
//!    counted against the fewest possible (batches of 500, one refresh).
//!
//! SmartEmailing requests are paced per account: `FORWARDING_BENCH_PACE` requests per second
//! (default 5, the product's default; 1000 measures the bridge without the pace).
//! `FORWARDING_BENCH_ONLY=end-to-end` skips the acceptance sweep.
//!
//! Everything runs in this process on this machine: the app, both simulators, the load.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fapi_bridge::accounts::audit::Actor;
use fapi_bridge::connections;
use fapi_bridge::simulators::RunningSimulator;
use fapi_bridge::simulators::fapi::FapiSimulator;
use fapi_bridge::simulators::smartemailing::SmartEmailingSimulator;

mod support;

struct Bench {
    _dir: tempfile::TempDir,
    _simulators: (RunningSimulator, RunningSimulator),
    fapi: FapiSimulator,
    smartemailing: SmartEmailingSimulator,
    state: fapi_bridge::platform::Context,
    webhook: String,
    connection: i64,
}

fn pace() -> u32 {
    std::env::var("FORWARDING_BENCH_PACE")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(5)
}

async fn start() -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let fapi = FapiSimulator::with_default_account(5);
    let smartemailing = SmartEmailingSimulator::with_default_account();
    let any = "127.0.0.1:0".parse().unwrap();
    let fapi_running = RunningSimulator::start(fapi.router(), any).await.unwrap();
    let se_running = RunningSimulator::start(smartemailing.router(), any)
        .await
        .unwrap();
    let app = support::build_app(
        dir.path(),
        &fapi_running.base_url(),
        &se_running.base_url(),
        &[
            ("WEBHOOK_REQUESTS_PER_SECOND", "100000"),
            ("SMARTEMAILING_REQUESTS_PER_SECOND", &pace().to_string()),
        ],
    )
    .await;
    let state = app.context().clone();
    let connection = support::connect(&state, "Bench").await;
    let webhook = connections::find(&state.db, connection)
        .await
        .unwrap()
        .webhook_url(&state)
        .unwrap();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    Bench {
        _dir: dir,
        _simulators: (fapi_running, se_running),
        fapi,
        smartemailing,
        state,
        webhook,
        connection,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn acceptance(bench: &Bench, senders: u64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()
        .unwrap();
    let run_for = Duration::from_secs(5);
    let started = Instant::now();
    let latencies = Arc::new(std::sync::Mutex::new(Vec::with_capacity(200_000)));
    let mut tasks = Vec::new();
    for sender in 0..senders {
        let (client, url, latencies) = (client.clone(), bench.webhook.clone(), latencies.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut n = 0u64;
            while started.elapsed() < run_for {
                n += 1;
                let body = format!(
                    "id={}&time=1542298656&security=35221e0d0168d282edc3768ed4b4e878dec3c921",
                    sender * 1_000_000 + n
                );
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                mine.push(sent.elapsed());
            }
            latencies.lock().unwrap().extend(mine);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let mut latencies = latencies.lock().unwrap().clone();
    latencies.sort();
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications")
        .fetch_one(&bench.state.db)
        .await
        .unwrap();
    sqlx::query("DELETE FROM notifications")
        .execute(&bench.state.db)
        .await
        .unwrap();
    println!(
        "webhook acceptance: {} notifications in {:.1} s = {:.0}/s accepted and stored ({} rows); latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({senders} concurrent senders)",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        stored,
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
}

async fn end_to_end(bench: &Bench, orders: usize) {
    connections::set_forwarding(
        &bench.state,
        &Actor::system("bench"),
        bench.connection,
        true,
    )
    .await
    .unwrap();
    sqlx::query("DELETE FROM notifications")
        .execute(&bench.state.db)
        .await
        .unwrap();
    let invoices: Vec<i64> = {
        let mut store = bench.fapi.store.lock().unwrap();
        let product = fapi_bridge::simulators::czech::products()[0].clone();
        (0..orders)
            .map(|_| {
                let customer = store.new_customer();
                store.create_order(
                    customer,
                    &[(product.clone(), 1)],
                    "CZK",
                    true,
                    chrono::Utc::now() + chrono::Duration::minutes(1),
                )
            })
            .collect()
    };
    let client = reqwest::Client::new();
    let started = Instant::now();
    let notifications: Vec<(i64, String, String)> = {
        let store = bench.fapi.store.lock().unwrap();
        invoices
            .iter()
            .map(|id| {
                let (time, security) = store
                    .notification(*id, chrono::Utc::now().timestamp())
                    .unwrap();
                (*id, time, security)
            })
            .collect()
    };
    let mut sends = Vec::new();
    for chunk in notifications.chunks(orders.div_ceil(16)) {
        let (client, url, chunk) = (client.clone(), bench.webhook.clone(), chunk.to_vec());
        sends.push(tokio::spawn(async move {
            for (id, time, security) in chunk {
                let response = client
                    .post(&url)
                    .form(&[
                        ("id", id.to_string()),
                        ("time", time),
                        ("security", security),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
            }
        }));
    }
    for send in sends {
        send.await.unwrap();
    }
    let accepted = started.elapsed();
    loop {
        let synced = bench.smartemailing.store.lock().unwrap().orders.len();
        if synced >= orders {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    // Then every buyer is checked in SmartEmailing (whether it is in a list).
    loop {
        let unchecked: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE check_due = 1")
                .fetch_one(&bench.state.db)
                .await
                .unwrap();
        if unchecked == 0 || started.elapsed() > Duration::from_secs(300) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let checked = started.elapsed();
    let counts = bench.smartemailing.behaviour.request_counts();
    let contacts = bench.smartemailing.store.lock().unwrap().contacts.len();
    let minimum = 2 * orders.div_ceil(500) + contacts / 500 + 1;
    let requests = bench.smartemailing.behaviour.requests().len();
    let fapi_requests = bench.fapi.behaviour.requests_to("GET", "/invoices").len()
        + bench
            .fapi
            .behaviour
            .requests()
            .iter()
            .filter(|r| r.uri.starts_with("/invoices/"))
            .count();
    println!(
        "end to end (SmartEmailing paced at {}/s): {orders} orders notified in {:.2} s, all synced after {:.2} s = {:.0} orders/s, every buyer checked after {:.2} s (FAPI requests {fapi_requests})",
        pace(),
        accepted.as_secs_f64(),
        elapsed.as_secs_f64(),
        orders as f64 / elapsed.as_secs_f64(),
        checked.as_secs_f64(),
    );
    println!(
        "  SmartEmailing requests: {requests} = {:.2}× the minimum of {minimum} (2 per 500 orders, one refresh of {contacts} contacts) {counts:?}",
        requests as f64 / minimum as f64
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let bench = start().await;
        if std::env::var("FORWARDING_BENCH_ONLY").as_deref() != Ok("end-to-end") {
            for senders in [8, 16, 32, 64] {
                acceptance(&bench, senders).await;
            }
        }
        end_to_end(&bench, 5_000).await;
    });
}
