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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_processing_loses_nothing_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let fapi = FapiSimulator::with_default_account(21);
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

    // Slow FAPI answers keep the workers busy when the process dies.
    fapi.behaviour.set_faults(FaultConfig {
        latency_ms: 150,
        ..Default::default()
    });
    let invoices: Vec<i64> = {
        let mut store = fapi.store.lock().unwrap();
        let product = fapi_bridge::simulators::czech::products()[2].clone();
        (0..20)
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
        assert_eq!(fapi.notify(&webhook, *invoice).await.unwrap().status(), 200);
    }
    drop(server); // SIGKILL, mid-processing

    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("bridge.db").display()
    ))
    .await
    .unwrap();
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

    fapi.behaviour.clear_faults();
    let _restarted = start(dir.path(), port, &fapi_url, &se_url).await;
    eventually("every order is synced after the restart", || async {
        let synced: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE sync_status = 'synced'")
                .fetch_one(&db)
                .await
                .unwrap();
        synced == 20
    })
    .await;
    let statuses: Vec<String> = sqlx::query_scalar("SELECT DISTINCT status FROM notifications")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(statuses, vec!["processed".to_string()]);
    assert_eq!(
        smartemailing.store.lock().unwrap().orders.len(),
        20,
        "each order exactly once"
    );
}
