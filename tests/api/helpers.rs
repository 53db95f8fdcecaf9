//! Spawning the app for a test, and talking to it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use fapi_bridge::accounts::audit::Actor;
use fapi_bridge::accounts::team::{self, NewMember};
use fapi_bridge::model::Role;
use fapi_bridge::platform::clock::{Clock, ManualClock};
use fapi_bridge::simulators::RunningSimulator;
use fapi_bridge::simulators::fapi::FapiSimulator;
use fapi_bridge::simulators::smartemailing::SmartEmailingSimulator;
use fapi_bridge::web::config::Config;
use fapi_bridge::web::startup::Application;
use reqwest::header::{HeaderMap, HeaderValue, ORIGIN};
use sqlx::SqlitePool;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const PASSWORD: &str = "modry-kopec-trakar-58";

pub struct TestApp {
    pub base: String,
    /// Wakes the app's sync workers.
    pub work: Arc<fapi_bridge::platform::signals::WorkSignals>,
    /// The app's domain context (database, clock, settings, worker signals).
    pub ctx: fapi_bridge::platform::Context,
    /// The simulated FAPI account the app is configured against.
    pub fapi: FapiSimulator,
    /// The simulated SmartEmailing account the app is configured against.
    pub smartemailing: SmartEmailingSimulator,
    _simulators: (RunningSimulator, RunningSimulator),
    pub db: SqlitePool,
    pub clock: ManualClock,
    pub setup_link: Option<String>,
    /// Where `GET /metrics` is served, when `METRICS_ADDR` was set.
    pub metrics: Option<std::net::SocketAddr>,
    /// Shared so a restarted app can open the same database and key file.
    pub data_dir: Arc<TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

pub fn start_time() -> DateTime<Utc> {
    "2026-11-29T09:00:00Z".parse().unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_in(
        Arc::new(tempfile::tempdir().unwrap()),
        ManualClock::new(start_time()),
        0,
    )
    .await
}

/// Starts the app on a database (and key file) in `data_dir`, on `port` (0: any free port).
pub async fn spawn_app_in(data_dir: Arc<TempDir>, clock: ManualClock, port: u16) -> TestApp {
    spawn_app_with(
        data_dir,
        clock,
        port,
        FapiSimulator::with_default_account(11),
        SmartEmailingSimulator::with_default_account(),
    )
    .await
}

/// Like [`spawn_app`], with some configuration variables set otherwise (`(name, value)`).
pub async fn spawn_app_configured(vars: &[(&str, &str)]) -> TestApp {
    spawn_app_full(
        Arc::new(tempfile::tempdir().unwrap()),
        ManualClock::new(start_time()),
        0,
        FapiSimulator::with_default_account(11),
        SmartEmailingSimulator::with_default_account(),
        vars,
    )
    .await
}

/// Like [`spawn_app_in`], against (new servers for) the given simulators: a restarted app
/// finds the accounts, and the request logs, as the previous one left them.
pub async fn spawn_app_with(
    data_dir: Arc<TempDir>,
    clock: ManualClock,
    port: u16,
    fapi: FapiSimulator,
    smartemailing: SmartEmailingSimulator,
) -> TestApp {
    spawn_app_full(data_dir, clock, port, fapi, smartemailing, &[]).await
}

pub async fn spawn_app_full(
    data_dir: Arc<TempDir>,
    clock: ManualClock,
    port: u16,
    fapi: FapiSimulator,
    smartemailing: SmartEmailingSimulator,
    overrides: &[(&str, &str)],
) -> TestApp {
    // `RUST_LOG=fapi_bridge=debug cargo test …` shows the app's log for a failing test.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let database = data_dir.path().join("test.db");
    let key_file = data_dir.path().join("secret.key");
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    let fapi_running = RunningSimulator::start(fapi.router(), any).await.unwrap();
    let se_running = RunningSimulator::start(smartemailing.router(), any)
        .await
        .unwrap();
    let vars = [
        ("DATABASE_URL", format!("sqlite://{}", database.display())),
        ("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}")),
        ("SECRET_KEY_FILE", key_file.display().to_string()),
        ("FAPI_API_URL", fapi_running.base_url()),
        (
            "SMARTEMAILING_API_URL",
            format!("{}/api/v3", se_running.base_url()),
        ),
        ("HTTP_TIMEOUT", "2s".to_string()),
        ("SMARTEMAILING_REQUESTS_PER_SECOND", "1000".to_string()),
        ("SYNC_RETRY_DELAY", "1m".to_string()),
        ("HTTP_RETRY_DELAY", "20ms".to_string()),
        ("SYNC_MAX_ATTEMPTS", "3".to_string()),
    ];
    let config = Config::from_lookup(|name| {
        overrides
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_string())
            .or_else(|| {
                vars.iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.clone())
            })
    })
    .expect("test configuration is valid");
    let app = Application::build_with_clock(config, Arc::new(clock.clone()))
        .await
        .expect("the app builds");
    let base = app.public_base();
    let db = app.context().db.clone();
    let setup_link = app.setup_link().map(str::to_string);
    let metrics = app.metrics_addr();
    let ctx = app.context().clone();
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until_stopped(async {
            let _ = stopped.await;
        })
        .await
        .expect("the server runs");
    });
    TestApp {
        base,
        work: ctx.work.clone(),
        ctx,
        fapi,
        smartemailing,
        _simulators: (fapi_running, se_running),
        db,
        clock,
        setup_link,
        metrics,
        data_dir,
        shutdown: Some(shutdown),
        server: Some(server),
    }
}

impl TestApp {
    /// A browser-like client: its own cookie jar, our Origin on every request, no automatic
    /// redirects (tests look at them). A response that never completes fails its test, named,
    /// instead of stalling the whole suite.
    pub fn client(&self) -> reqwest::Client {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_str(&self.base).unwrap());
        reqwest::Client::builder()
            .cookie_store(true)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Calls a server function the way a form would.
    pub async fn call(
        &self,
        client: &reqwest::Client,
        name: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(self.url(&format!("/api/{name}")))
            .header("Accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("request is sent")
    }

    pub async fn login(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        self.call(client, "login", &[("email", email), ("password", password)])
            .await
    }

    /// The e-mail of the session's user, or `None` when not signed in.
    pub async fn signed_in_email(&self, client: &reqwest::Client) -> Option<String> {
        let response = self.call(client, "session_info", &[]).await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        body.get("email")
            .and_then(|e| e.as_str())
            .map(str::to_string)
    }

    /// Adds a user directly (test set-up, as `fapi-bridge user add` would).
    pub async fn add_user(&self, email: &str, role: Role) -> i64 {
        let input = NewMember {
            email,
            name: "",
            role,
            password: PASSWORD,
        };
        team::add_member(&self.db, self.clock.now(), &Actor::system("test"), input)
            .await
            .expect("user is added")
    }

    /// A client signed in as a new user with `role`.
    pub async fn signed_in(&self, email: &str, role: Role) -> reqwest::Client {
        self.add_user(email, role).await;
        let client = self.client();
        let response = self.login(&client, email, PASSWORD).await;
        assert!(
            response.status().is_success() || response.status().is_redirection(),
            "login failed: {}",
            response.status()
        );
        client
    }

    /// Audit actions recorded so far, oldest first, as (action, actor, target, client address).
    pub async fn audit_actions(
        &self,
    ) -> Vec<(String, Option<String>, Option<String>, Option<String>)> {
        sqlx::query_as("SELECT action, actor_email, target, client_addr FROM audit_log ORDER BY id")
            .fetch_all(&self.db)
            .await
            .unwrap()
    }

    /// Stops the server and waits until it has finished.
    pub fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }

    pub async fn stop(mut self) -> Arc<TempDir> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap();
        }
        self.db.close().await;
        self.data_dir.clone()
    }
}

/// The form that creates a connection to the test app's simulators.
pub fn connection_form(name: &str) -> Vec<(&'static str, String)> {
    use fapi_bridge::simulators::{fapi, smartemailing};
    vec![
        ("name", name.to_string()),
        ("eshop_name", String::new()),
        ("fapi_login", fapi::DEFAULT_LOGIN.to_string()),
        ("fapi_api_key", fapi::DEFAULT_API_KEY.to_string()),
        ("se_username", smartemailing::DEFAULT_USERNAME.to_string()),
        ("se_api_key", smartemailing::DEFAULT_API_KEY.to_string()),
    ]
}

impl TestApp {
    /// Calls a server function with owned form values.
    pub async fn call_owned(
        &self,
        client: &reqwest::Client,
        name: &str,
        form: &[(&str, String)],
    ) -> reqwest::Response {
        let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.call(client, name, &borrowed).await
    }

    /// Creates a connection to the simulators as `admin`; its id.
    pub async fn create_connection(&self, admin: &reqwest::Client, name: &str) -> i64 {
        let response = self
            .call_owned(admin, "create_connection", &connection_form(name))
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    /// A connection to the simulators with forwarding on; (admin client, id, webhook URL).
    pub async fn forwarding_connection(&self) -> (reqwest::Client, i64, String) {
        let admin = self.signed_in("admin@example.cz", Role::Admin).await;
        let id = self.create_connection(&admin, "Obchod").await;
        let response = self
            .call(
                &admin,
                "set_forwarding",
                &[("id", &id.to_string()), ("enabled", "true")],
            )
            .await;
        assert_eq!(response.status(), 200);
        let detail: serde_json::Value = self
            .call(&admin, "get_connection", &[("id", &id.to_string())])
            .await
            .json()
            .await
            .unwrap();
        let url = detail["connection"]["webhook_url"]
            .as_str()
            .unwrap()
            .to_string();
        (admin, id, url)
    }

    /// A new order in the simulated FAPI account, placed a minute after "now"; its first
    /// document's id.
    pub fn new_fapi_order(&self, email: Option<&str>) -> i64 {
        let mut store = self.fapi.store.lock().unwrap();
        let mut customer = store.new_customer();
        if let Some(email) = email {
            customer.person.email = email.to_string();
        }
        let product = fapi_bridge::simulators::czech::products()[0].clone();
        store.create_order(
            customer,
            &[(product, 1)],
            "CZK",
            true,
            self.clock.now() + chrono::Duration::minutes(1),
        )
    }

    /// Moves the app's clock and wakes its workers (retries that became due run now).
    pub fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
        self.wake();
    }

    pub fn wake(&self) {
        self.work.notifications.notify_one();
        self.work.orders.notify_one();
    }
}

/// Waits (up to 30 s: CI machines can be slow) until `check` holds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

pub async fn error_of(response: reqwest::Response) -> serde_json::Value {
    response.json().await.expect("the error body is JSON")
}
