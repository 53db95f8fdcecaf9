//! Memory under a flood of password hashing (issue 14, item 2): the real server binary on a
//! fresh database, its peak resident memory read from `/proc/<pid>/status`.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::PASSWORD;

const BIN: &str = env!("CARGO_BIN_EXE_fapi-bridge");

/// The server process; killed when the test ends, passed or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    /// `VmHWM` (peak resident set) in MiB.
    fn peak_rss_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).unwrap();
        let line = status
            .lines()
            .find(|line| line.starts_with("VmHWM:"))
            .expect("VmHWM in /proc/<pid>/status");
        let kib: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|kib| kib.parse().ok())
            .expect("VmHWM in kB");
        kib / 1024
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_setup_calls_and_logins_stays_within_150_mib() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = Server(
        Command::new(BIN)
            .arg("serve")
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("TRUST_FORWARDED_FOR", "true")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts"),
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .map_or(true, |response| !response.status().is_success())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = server.peak_rss_mib();

    let post = |name: &str, form: Vec<(&'static str, String)>, forwarded_for: String| {
        client
            .post(format!("{base}/api/{name}"))
            .header("Origin", &base)
            .header("Accept", "application/json")
            .header("X-Forwarded-For", forwarded_for)
            .form(&form)
            .send()
    };
    // Setup calls with a wrong token, and logins from as many addresses for as many e-mails.
    let setups = (0..200).map(|i| {
        post(
            "complete_setup",
            vec![
                ("token", "0".repeat(64)),
                ("name", "Jana Nováková".into()),
                ("email", format!("jana{i}@example.cz")),
                ("password", PASSWORD.into()),
                ("password_again", PASSWORD.into()),
            ],
            format!("198.51.100.{}", i % 250),
        )
    });
    let logins = (0..200).map(|i| {
        post(
            "login",
            vec![
                ("email", format!("nikdo{i}@example.cz")),
                ("password", "spatne-heslo-123".into()),
            ],
            format!("203.0.{}.{}", i / 250, i % 250),
        )
    });
    let (setups, logins) = tokio::join!(
        futures_util::future::join_all(setups),
        futures_util::future::join_all(logins)
    );
    let peak = server.peak_rss_mib();
    eprintln!("peak RSS: {before} MiB idle, {peak} MiB after the flood");

    let statuses = |responses: Vec<reqwest::Result<reqwest::Response>>| {
        responses
            .into_iter()
            .map(|response| response.expect("an answer").status().as_u16())
            .collect::<Vec<_>>()
    };
    let (setups, logins) = (statuses(setups), statuses(logins));
    assert!(
        setups.iter().all(|status| matches!(status, 422 | 503)),
        "{setups:?}"
    );
    assert!(
        logins.iter().all(|status| matches!(status, 401 | 503)),
        "{logins:?}"
    );
    assert!(peak < 150, "peak RSS {peak} MiB");
}
