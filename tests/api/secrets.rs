//! The key that encrypts stored API keys, and the files that hold secrets (issue 14, item 8).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use fapi_bridge::model::Role;
use fapi_bridge::web::config::Config;
use fapi_bridge::web::startup::Application;

use crate::helpers::spawn_app;

/// A configuration with the database and key file in `dir`, on any free port.
fn config_in(dir: &Path, database: &str) -> Config {
    let database_url = format!("sqlite://{}", dir.join(database).display());
    let key_file = dir.join("secret.key").display().to_string();
    Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(database_url.clone()),
        "SECRET_KEY_FILE" => Some(key_file.clone()),
        "LEPTOS_SITE_ADDR" => Some("127.0.0.1:0".into()),
        _ => None,
    })
    .expect("test configuration is valid")
}

/// The error a start fails with, or a panic if it started.
async fn start_error(config: Config) -> String {
    match Application::build(config).await {
        Ok(_) => panic!("the app started"),
        Err(error) => format!("{error:#}"),
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_key_file_stops_the_start_while_keys_are_stored() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    app.create_connection(&admin, "Obchod").await;
    let data_dir = app.stop().await;
    let key_file = data_dir.path().join("secret.key");
    std::fs::remove_file(&key_file).unwrap();

    let error = start_error(config_in(data_dir.path(), "test.db")).await;
    assert!(error.contains("secret.key"), "{error}");
    assert!(error.contains("SECRET_KEY"), "{error}");
    assert!(!key_file.exists(), "no new key replaced the lost one");

    // Another key does not start either: it cannot read what is stored.
    let other = fapi_bridge::platform::crypto::SecretKey::generate();
    fapi_bridge::platform::owner_only::create_file(&key_file, other.to_base64().as_bytes())
        .unwrap();
    let error = start_error(config_in(data_dir.path(), "test.db")).await;
    assert!(error.contains("not the one"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_and_the_key_file_are_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let app = Application::build(config_in(dir.path(), "data/bridge.db"))
        .await
        .expect("a fresh start succeeds");
    assert_eq!(mode(&dir.path().join("data")), 0o700, "database folder");
    assert_eq!(mode(&dir.path().join("data/bridge.db")), 0o600, "database");
    assert_eq!(
        mode(&dir.path().join("data/bridge.db-wal")),
        0o600,
        "its log"
    );
    drop(app);
    assert_eq!(mode(&dir.path().join("secret.key")), 0o600, "key file");

    // A key file that others can read is refused.
    let key_file = dir.path().join("secret.key");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = start_error(config_in(dir.path(), "data/bridge.db")).await;
    assert!(error.contains("secret.key"), "{error}");
    assert!(error.contains("chmod 600"), "{error}");
}
