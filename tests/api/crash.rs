//! `kill -9` in the middle of forwarding: after a restart nothing is lost and nothing is sent
//! twice. Runs the real binary as a child process against in-process simulators.

use std::process::{Child, Command, Stdio};

use fapi_bridge::simulators::RunningSimulator;
use fapi_bridge::simulators::fapi::{self as fapi_sim, FapiSimulator};
use fapi_bridge::simulators::faults::FaultConfig;
use fapi_bridge::simulators::smartemailing::{self as se_sim, SmartEmailingSimulator};

use crate::helpers::{PASSWORD, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_fapi-bridge");

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn command(dir: &std::path::Path, port: u16, fapi: &str, se: &str) -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("bridge.db").display()),
        )
        .env("SECRET_KEY_FILE", dir.join("secret.key"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("FAPI_API_URL", fapi)
        .env("SMARTEMAILING_API_URL", format!("{se}/api/v3"))
        .env("HTTP_RETRY_DELAY", "20ms")
        .env("SMARTEMAILING_REQUESTS_PER_SECOND", "1000")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    command
}

async fn start(dir: &std::path::Path, port: u16, fapi: &str, se: &str) -> Server {
    let server = Server {
        child: command(dir, port, fapi, se).arg("serve").spawn().unwrap(),
    };
    let url = format!("http://127.0.0.1:{port}/login");
    eventually("the server answers", || {
        let url = url.clone();
        async move { reqwest::get(&url).await.is_ok_and(|r| r.status() == 200) }
    })
    .await;
    server
}

/// A signed-in bridge process with a forwarding connection, against in-process simulators.
struct Setup {
    dir: tempfile::TempDir,
    fapi: FapiSimulator,
    smartemailing: SmartEmailingSimulator,
    _simulators: (RunningSimulator, RunningSimulator),
    fapi_url: String,
    se_url: String,
    port: u16,
    webhook: String,
    server: Server,
}

impl Setup {
    fn db_url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("bridge.db").display())
    }

    /// `count` new orders in FAPI, each notified to the bridge.
    async fn notify_new_orders(&self, count: usize) {
        let invoices: Vec<i64> = {
            let mut store = self.fapi.store.lock().unwrap();
            let product = fapi_bridge::simulators::czech::products()[2].clone();
            (0..count)
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
        for invoice in &invoices {
            assert_eq!(
                self.fapi
                    .notify(&self.webhook, *invoice)
                    .await
                    .unwrap()
                    .status(),
                200
            );
        }
    }
}

async fn setup(seed: u64) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let fapi = FapiSimulator::with_default_account(seed);
    let smartemailing = SmartEmailingSimulator::with_default_account();
    let any = "127.0.0.1:0".parse().unwrap();
    let fapi_running = RunningSimulator::start(fapi.router(), any).await.unwrap();
    let se_running = RunningSimulator::start(smartemailing.router(), any)
        .await
        .unwrap();
    let (fapi_url, se_url) = (fapi_running.base_url(), se_running.base_url());
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");

    let mut add = command(dir.path(), port, &fapi_url, &se_url)
        .args([
            "user",
            "add",
            "--email",
            "admin@example.cz",
            "--role",
            "admin",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    add.stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    assert!(add.wait().unwrap().success());

    let server = start(dir.path(), port, &fapi_url, &se_url).await;
    let admin = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let call = |name: &str, form: Vec<(&str, String)>| {
        admin
            .post(format!("{base}/api/{name}"))
            .header("Origin", &base)
            .header("Accept", "application/json")
            .form(&form)
            .send()
    };
    call(
        "login",
        vec![
            ("email", "admin@example.cz".into()),
            ("password", PASSWORD.into()),
        ],
    )
    .await
    .unwrap();
    let form = vec![
        ("name", "Obchod".to_string()),
        ("eshop_name", String::new()),
        ("fapi_login", fapi_sim::DEFAULT_LOGIN.into()),
        ("fapi_api_key", fapi_sim::DEFAULT_API_KEY.into()),
        ("se_username", se_sim::DEFAULT_USERNAME.into()),
        ("se_api_key", se_sim::DEFAULT_API_KEY.into()),
    ];
    let id: i64 = call("create_connection", form)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    call(
        "set_forwarding",
        vec![("id", id.to_string()), ("enabled", "true".into())],
    )
    .await
    .unwrap();
    let detail: serde_json::Value = call("get_connection", vec![("id", id.to_string())])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let webhook = detail["connection"]["webhook_url"]
        .as_str()
        .unwrap()
        .to_string();

    Setup {
        dir,
        fapi,
        smartemailing,
        _simulators: (fapi_running, se_running),
        fapi_url,
        se_url,
        port,
        webhook,
        server,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_processing_loses_nothing_after_restart() {
    let mut setup = setup(21).await;
    // Slow FAPI answers keep the workers busy when the process dies.
    setup.fapi.behaviour.set_faults(FaultConfig {
        latency_ms: 150,
        ..Default::default()
    });
    setup.notify_new_orders(20).await;
    let _ = setup.server.child.kill(); // SIGKILL, mid-processing
    let _ = setup.server.child.wait();

    let db = sqlx::SqlitePool::connect(&setup.db_url()).await.unwrap();
    let accepted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(
        accepted, 20,
        "every accepted notification was stored before the answer"
    );
    let unfinished: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE status IN ('queued', 'processing')",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(
        unfinished > 0,
        "the kill should interrupt work (else the test proves nothing)"
    );

    setup.fapi.behaviour.clear_faults();
    let _restarted = start(setup.dir.path(), setup.port, &setup.fapi_url, &setup.se_url).await;
    every_order_synced_once(&db, &setup, 20).await;
}

/// After a restart, the bridge finishes the work: `count` orders synced, each exactly once.
async fn every_order_synced_once(db: &sqlx::SqlitePool, setup: &Setup, count: i64) {
    eventually("every order is synced after the restart", || async {
        let synced: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE sync_status = 'synced'")
                .fetch_one(db)
                .await
                .unwrap();
        synced == count
    })
    .await;
    let statuses: Vec<String> = sqlx::query_scalar("SELECT DISTINCT status FROM notifications")
        .fetch_all(db)
        .await
        .unwrap();
    assert_eq!(statuses, vec!["processed".to_string()]);
    assert_eq!(
        setup.smartemailing.store.lock().unwrap().orders.len() as i64,
        count,
        "each order exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_work_in_flight_exits_within_ten_seconds_and_loses_nothing() {
    let mut setup = setup(22).await;
    // Slow SmartEmailing answers: imports are in flight when the signal comes.
    setup.smartemailing.behaviour.set_faults(FaultConfig {
        latency_ms: 400,
        ..Default::default()
    });
    setup.notify_new_orders(20).await;
    let base = format!("http://127.0.0.1:{}", setup.port);

    let signalled = std::time::Instant::now();
    let pid = setup.server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = loop {
        if let Some(status) = setup.server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < std::time::Duration::from_secs(10),
            "the server must exit within 10 s of SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(status.success(), "a clean stop exits with 0, got {status}");
    // It no longer takes requests.
    assert!(reqwest::get(format!("{base}/healthz")).await.is_err());

    let db = sqlx::SqlitePool::connect(&setup.db_url()).await.unwrap();
    let accepted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(accepted, 20);
    // Nothing is left claimed: what did not finish went back to the queue.
    let claimed: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM notifications WHERE status = 'processing')
              + (SELECT COUNT(*) FROM orders WHERE locked_until IS NOT NULL AND sync_status = 'pending')",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    let synced_before: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE sync_status = 'synced'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert!(
        synced_before < 20,
        "the stop should interrupt work (else the test proves nothing)"
    );
    assert_eq!(claimed, 0, "work in flight was finished or re-queued");

    setup.smartemailing.behaviour.clear_faults();
    let _restarted = start(setup.dir.path(), setup.port, &setup.fapi_url, &setup.se_url).await;
    every_order_synced_once(&db, &setup, 20).await;
}
