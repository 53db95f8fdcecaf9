//! Historical sync benchmark (not a test): run with
//!
//!     cargo bench --features ssr --bench historical            # 100,000 orders
//!     HISTORICAL_BENCH_ORDERS=20000 cargo bench --features ssr --bench historical
//!     HISTORICAL_BENCH_MAX_PAGE=1000 cargo bench --features ssr --bench historical
//!     HISTORICAL_BENCH_LATENCY_MS=0 cargo bench --features ssr --bench historical
//!
//! The real FAPI is remote: by default the FAPI simulator answers each request after 100 ms
//! (`HISTORICAL_BENCH_LATENCY_MS`) and refuses pages larger than 100 documents
//! (`HISTORICAL_BENCH_MAX_PAGE`), so the run falls back from pages of 500 to pages of 100.
//!
//! Back-fills N generated FAPI orders into SmartEmailing and reports the wall time, the
//! requests each simulator received, and the bridge's peak memory. The two simulators run as
//! separate processes (`fapi-bridge simulate …`), so this process's peak RSS is the bridge's
//! alone: the app with its database pool, the sync job and both API clients.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fapi_bridge::accounts::audit::Actor;
use fapi_bridge::sync::historical;

mod support;

/// A simulator child process, killed when dropped.
struct Simulator {
    child: Child,
    base_url: String,
}

impl Simulator {
    fn spawn(api: &str, orders: usize, max_page: usize) -> Simulator {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fapi-bridge"))
            .args(["simulate", api, "--listen", "127.0.0.1:0"])
            .args(["--orders", &orders.to_string()])
            .args(["--max-page-size", &max_page.to_string()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the simulator");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let base_url = stdout
            .lines()
            .map(|line| line.unwrap())
            .find_map(|line| {
                line.split_once("listening on ")
                    .map(|(_, url)| url.trim().to_string())
            })
            .expect("the simulator prints its address");
        Simulator { child, base_url }
    }

    /// Requests per method and path, with ids in paths counted together (`/clients/{id}`).
    async fn request_counts(&self) -> std::collections::BTreeMap<String, usize> {
        let counts: std::collections::BTreeMap<String, usize> =
            reqwest::get(format!("{}/_simulator/requests/counts", self.base_url))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        let mut grouped = std::collections::BTreeMap::new();
        for (path, count) in counts {
            let path = path
                .split('/')
                .map(|part| {
                    if !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()) {
                        "{id}"
                    } else {
                        part
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            *grouped.entry(path).or_default() += count;
        }
        grouped
    }

    /// Every request is answered this much later.
    async fn set_latency(&self, latency_ms: u64) {
        let response = reqwest::Client::new()
            .put(format!("{}/_simulator/faults", self.base_url))
            .json(&serde_json::json!({ "latency_ms": latency_ms }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{response:?}");
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Peak resident set size of this process so far, in MiB (Linux).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

async fn run(orders: usize) {
    let max_page: usize = env_or("HISTORICAL_BENCH_MAX_PAGE", 100);
    let latency_ms: u64 = env_or("HISTORICAL_BENCH_LATENCY_MS", 100);
    let generating = Instant::now();
    let fapi = Simulator::spawn("fapi", orders, max_page);
    let smartemailing = Simulator::spawn("smartemailing", 0, max_page);
    println!(
        "simulators ready in {:.1} s ({orders} FAPI orders generated)",
        generating.elapsed().as_secs_f64()
    );

    let dir = tempfile::tempdir().unwrap();
    let app = support::build_app(dir.path(), &fapi.base_url, &smartemailing.base_url, &[]).await;
    let state = app.context().clone();
    let actor = Actor::system("bench");
    let connection = support::connect(&state, "Bench").await;
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    fapi.set_latency(latency_ms).await;
    let before_fapi = fapi.request_counts().await.values().sum::<usize>();
    let before_se = smartemailing.request_counts().await.values().sum::<usize>();

    let started = Instant::now();
    let run = historical::start(&state, &actor, connection, None, true)
        .await
        .unwrap();
    let status = loop {
        let status: String = sqlx::query_scalar("SELECT status FROM sync_runs WHERE id = ?")
            .bind(run)
            .fetch_one(&state.db)
            .await
            .unwrap();
        if status != "running" {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let elapsed = started.elapsed();

    let (synced, buyers, documents): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM orders WHERE sync_status = 'synced'),
                (SELECT COUNT(DISTINCT customer_email) FROM orders),
                (SELECT documents FROM sync_runs WHERE id = ?)",
    )
    .bind(run)
    .fetch_one(&state.db)
    .await
    .unwrap();
    let fapi_counts = fapi.request_counts().await;
    let se_counts = smartemailing.request_counts().await;
    let se_requests = se_counts.values().sum::<usize>() - before_se;
    let minimum = (synced as usize).div_ceil(500) + (buyers as usize).div_ceil(500);
    println!("FAPI simulator: {latency_ms} ms per request, pages of at most {max_page} documents");
    println!(
        "historical sync of {orders} orders ({documents} FAPI documents): {status} in {:.2} s = {:.0} orders/s",
        elapsed.as_secs_f64(),
        orders as f64 / elapsed.as_secs_f64()
    );
    println!("  orders synced: {synced}, distinct buyers: {buyers}");
    println!(
        "  SmartEmailing requests: {se_requests} (minimum with batches of 500: {minimum}, {:+.1}%) {se_counts:?}",
        (se_requests as f64 / minimum as f64 - 1.0) * 100.0
    );
    println!(
        "  FAPI requests: {} {fapi_counts:?}",
        fapi_counts.values().sum::<usize>() - before_fapi
    );
    println!("  bridge peak RSS: {:.0} MiB", peak_rss_mib());
}

fn main() {
    let orders = env_or("HISTORICAL_BENCH_ORDERS", 100_000);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(orders));
}
