//! A real SMTP server for the tests: `tests/support/smtp_sink.py` (aiosmtpd), started per test.
//! It writes each message it accepts as JSON (text, HTML, and every iCalendar part as parsed by
//! Python's `icalendar`), which the tests read as a recipient would.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const FROM: &str = "fapi-bridge <bridge@example.cz>";

fn python() -> String {
    std::env::var("FAPI_BRIDGE_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py")
}

pub struct SmtpSink {
    pub port: u16,
    login: Option<(String, String)>,
    folder: TempDir,
    child: Option<Child>,
}

impl SmtpSink {
    /// A server without login.
    pub async fn start() -> SmtpSink {
        SmtpSink::start_on(0, None).await
    }

    /// A server that requires this user name and password.
    pub async fn with_login(user: &str, password: &str) -> SmtpSink {
        SmtpSink::start_on(0, Some((user.into(), password.into()))).await
    }

    async fn start_on(port: u16, login: Option<(String, String)>) -> SmtpSink {
        let folder = tempfile::tempdir().unwrap();
        let mut sink = SmtpSink {
            port,
            login,
            folder,
            child: None,
        };
        sink.restart().await;
        sink
    }

    /// Starts the server again on the same port, keeping the messages received so far.
    pub async fn restart(&mut self) {
        let mut command = Command::new(python());
        command
            .arg(script())
            .arg("--folder")
            .arg(self.folder.path())
            .arg("--port")
            .arg(self.port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some((user, password)) = &self.login {
            command.args(["--user", user, "--password", password]);
        }
        let mut child = command
            .spawn()
            .expect("python3 with aiosmtpd runs (scripts/setup installs it)");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the SMTP sink starts within 30 s")
            .unwrap()
            .expect("the SMTP sink prints its port");
        self.port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        self.child = Some(child);
    }

    /// Stops the server: nothing listens on its port until [`restart`](Self::restart).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    /// `SMTP_URL` for this server (plain text: a local test server has no TLS).
    pub fn url(&self) -> String {
        self.url_with_password(self.login.as_ref().map(|(_, p)| p.as_str()))
    }

    pub fn url_with_password(&self, password: Option<&str>) -> String {
        match (&self.login, password) {
            (Some((user, _)), Some(password)) => {
                format!("smtp://{user}:{password}@127.0.0.1:{}?tls=none", self.port)
            }
            _ => format!("smtp://127.0.0.1:{}?tls=none", self.port),
        }
    }

    /// Every message received, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        let mut files: Vec<_> = std::fs::read_dir(self.folder.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
            .collect()
    }

    /// The messages to `to`.
    pub fn messages_to(&self, to: &str) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|m| m["to"].as_array().unwrap().iter().any(|t| t == to))
            .collect()
    }

    /// Waits (up to 30 s) until `to` has received `count` messages; returns them.
    pub async fn wait_for(&self, to: &str, count: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let messages = self.messages_to(to);
            if messages.len() >= count {
                return messages;
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "{to} received {} of {count} messages: {:#?}",
                    messages.len(),
                    self.messages()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    /// `SMTP_SINK_KEEP=<folder>` keeps every test's messages there (to read them after a run).
    fn drop(&mut self) {
        if let Ok(keep) = std::env::var("SMTP_SINK_KEEP") {
            let keep = PathBuf::from(keep);
            let _ = std::fs::create_dir_all(&keep);
            for (n, message) in self.messages().iter().enumerate() {
                let name = format!("{}-{}-{n}.json", std::process::id(), self.port);
                let _ = std::fs::write(keep.join(name), message.to_string());
            }
        }
    }
}

/// Parses an iCalendar file with the same parser as the e-mails' attachments.
pub async fn parse_ics(text: &str) -> Value {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    let output = Command::new(python())
        .arg(script())
        .arg("--check-ics")
        .arg(file.path())
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "the calendar does not parse: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}
