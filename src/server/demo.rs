//! `fapi-bridge demo`: the real app on a throw-away database with a demo admin.

use rand::Rng;
use rand::distributions::Alphanumeric;

use crate::model::Role;
use crate::server::audit::Actor;
use crate::server::config::{Config, SecretKeySource};
use crate::server::crypto::SecretKey;
use crate::server::db;
use crate::server::startup::{Application, shutdown_signal};
use crate::server::team::{self, NewMember};

pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.fapi-bridge.cz";

pub async fn run() -> anyhow::Result<()> {
    let mut config = Config::from_env()?;
    let data_dir = tempfile::Builder::new()
        .prefix("fapi-bridge-demo-")
        .tempdir()?;
    config.database_url = format!("sqlite://{}", data_dir.path().join("demo.db").display());
    config.secret_key = SecretKeySource::Inline(SecretKey::generate());

    let password: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(16)
        .map(char::from)
        .collect();
    let db = db::connect(&config.database_url).await?;
    let actor = Actor::system("demo");
    let admin = NewMember {
        email: DEMO_ADMIN_EMAIL,
        name: "Demo Admin",
        role: Role::Admin,
        password: &password,
    };
    team::add_member(&db, chrono::Utc::now(), &actor, admin)
        .await
        .map_err(|e| anyhow::anyhow!("could not create the demo admin: {e}"))?;
    db.close().await;

    let app = Application::build(config).await?;
    println!();
    println!("fapi-bridge demo is running (data is thrown away when it stops).");
    println!("  Open:     {}", app.public_base());
    println!("  E-mail:   {DEMO_ADMIN_EMAIL}");
    println!("  Password: {password}");
    println!("Stop it with Ctrl-C.");
    println!();
    let result = app.run_until_stopped(shutdown_signal()).await;
    drop(data_dir);
    result
}
