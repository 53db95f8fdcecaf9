//! `fapi-bridge demo`: the real app on a throw-away database with a demo admin, connected to
//! built-in FAPI and SmartEmailing simulators over real HTTP.

use rand::Rng;
use rand::distributions::Alphanumeric;

use crate::accounts::audit::Actor;
use crate::accounts::team::{self, NewMember};
use crate::connections::{self, ConnectionForm};
use crate::model::Role;
use crate::platform::crypto::SecretKey;
use crate::platform::db;
use crate::simulators::RunningSimulator;
use crate::simulators::fapi::{self, FapiSimulator};
use crate::simulators::smartemailing::{self, SmartEmailingSimulator};
use crate::web::config::{Config, SecretKeySource};
use crate::web::startup::{Application, shutdown_signal};

pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.fapi-bridge.cz";
/// Past orders in the simulated FAPI account (before forwarding: the historical sync's job).
const DEMO_PAST_ORDERS: usize = 3000;

pub async fn run() -> anyhow::Result<()> {
    let mut config = Config::from_env()?;
    let data_dir = tempfile::Builder::new()
        .prefix("fapi-bridge-demo-")
        .tempdir()?;
    config.database_url = format!("sqlite://{}", data_dir.path().join("demo.db").display());
    config.secret_key = SecretKeySource::Inline(SecretKey::generate());

    let any_port: std::net::SocketAddr = "127.0.0.1:0".parse().expect("address parses");
    let fapi_simulator = FapiSimulator::with_default_account(2026);
    {
        let now = chrono::Utc::now();
        let mut store = fapi_simulator.store.lock().expect("fresh store");
        store.generate(DEMO_PAST_ORDERS, now - chrono::Duration::days(365), now);
    }
    let se_simulator = SmartEmailingSimulator::with_default_account();
    let fapi_running = RunningSimulator::start(fapi_simulator.router(), any_port).await?;
    let se_running = RunningSimulator::start(se_simulator.router(), any_port).await?;
    config.fapi_api_url = fapi_running.base_url().parse()?;
    config.smartemailing_api_url = format!("{}/api/v3", se_running.base_url()).parse()?;

    let password: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(16)
        .map(char::from)
        .collect();
    let db = db::connect(&config.database_url).await?;
    let admin = NewMember {
        email: DEMO_ADMIN_EMAIL,
        name: "Demo Admin",
        role: Role::Admin,
        password: &password,
    };
    team::add_member(&db, chrono::Utc::now(), &Actor::system("demo"), admin)
        .await
        .map_err(|e| anyhow::anyhow!("could not create the demo admin: {e}"))?;
    db.close().await;

    let app = Application::build(config).await?;
    let connection = ConnectionForm {
        name: "Demo e-shop".into(),
        eshop_name: String::new(),
        fapi_login: fapi::DEFAULT_LOGIN.into(),
        fapi_api_key: fapi::DEFAULT_API_KEY.into(),
        se_username: smartemailing::DEFAULT_USERNAME.into(),
        se_api_key: smartemailing::DEFAULT_API_KEY.into(),
    };
    let demo = Actor::system("demo");
    let connection_id = connections::create(app.context(), &demo, connection)
        .await
        .map_err(|e| anyhow::anyhow!("could not connect the demo to its simulators: {e}"))?;
    connections::set_forwarding(app.context(), &demo, connection_id, true)
        .await
        .map_err(|e| anyhow::anyhow!("could not switch forwarding on: {e}"))?;
    let webhook = connections::find(&app.context().db, connection_id)
        .await
        .and_then(|c| c.webhook_url(app.context()))
        .map_err(|e| anyhow::anyhow!("could not read the demo webhook URL: {e}"))?;
    let shop = tokio::spawn(simulate_shop(fapi_simulator.clone(), webhook));

    println!();
    println!("fapi-bridge demo is running (data is thrown away when it stops).");
    println!("  Open:     {}", app.public_base());
    println!("  E-mail:   {DEMO_ADMIN_EMAIL}");
    println!("  Password: {password}");
    println!(
        "Simulated FAPI:          {} ({DEMO_PAST_ORDERS} past orders)",
        fapi_running.base_url()
    );
    println!("Simulated SmartEmailing: {}/api/v3", se_running.base_url());
    println!("Stop it with Ctrl-C.");
    println!();
    let result = app.run_until_stopped(shutdown_signal()).await;
    shop.abort();
    drop((fapi_running, se_running, data_dir));
    result
}

/// A live shop: every few seconds a new order, a payment or a cancellation in the simulated
/// FAPI account, notified to the bridge's webhook like FAPI does.
async fn simulate_shop(fapi: FapiSimulator, webhook: String) {
    use crate::simulators::czech;
    let catalogue = czech::products();
    let mut unpaid: Vec<i64> = Vec::new();
    loop {
        let pause = rand::thread_rng().gen_range(3..7);
        tokio::time::sleep(std::time::Duration::from_secs(pause)).await;
        let roll = rand::thread_rng().gen_range(0..100);
        let now = chrono::Utc::now();
        let documents: Vec<i64> = {
            let mut store = fapi.store.lock().expect("store lock");
            if roll < 55 || unpaid.is_empty() {
                let customer = store.new_customer();
                let product = catalogue[rand::thread_rng().gen_range(0..catalogue.len())].clone();
                let with_proforma = rand::thread_rng().gen_bool(0.8);
                let id = store.create_order(customer, &[(product, 1)], "CZK", with_proforma, now);
                unpaid.push(id);
                vec![id]
            } else {
                let id = unpaid.remove(rand::thread_rng().gen_range(0..unpaid.len()));
                if roll < 90 {
                    let invoice = store.pay(id, now);
                    std::iter::once(id).chain(invoice).collect()
                } else {
                    store.cancel(id, now);
                    vec![id]
                }
            }
        };
        for document in documents {
            if let Err(error) = fapi.notify(&webhook, document).await {
                tracing::warn!(%error, "the demo shop could not notify the bridge");
            }
        }
    }
}
