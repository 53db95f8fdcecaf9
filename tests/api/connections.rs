//! Connections: live-checked credentials, encryption at rest, roles, webhook rotation.

use fapi_bridge::connections;
use fapi_bridge::model::Role;
use fapi_bridge::simulators::faults::FaultConfig;
use serde_json::{Value, json};

use crate::helpers::{connection_form, error_of, spawn_app};

async fn detail(app: &crate::helpers::TestApp, client: &reqwest::Client, id: i64) -> Value {
    let response = app
        .call(client, "get_connection", &[("id", &id.to_string())])
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_a_healthy_connection_and_keys_stay_secret() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    let id = app.create_connection(&admin, "Můj obchod").await;

    let page = detail(&app, &admin, id).await;
    let connection = &page["connection"];
    assert_eq!(connection["name"], "Můj obchod");
    assert_eq!(
        connection["eshop_name"], "fapi-muj-obchod",
        "derived from the name"
    );
    assert_eq!(connection["fapi"]["outcome"], "Ok");
    assert_eq!(connection["smartemailing"]["outcome"], "Ok");
    assert_eq!(page["can_manage"], true);
    let url = connection["webhook_url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/webhooks/fapi/", app.base)),
        "{url}"
    );
    assert!(
        url.len() > app.base.len() + 40,
        "a long random token: {url}"
    );

    // The keys never reach the browser…
    let body = app
        .call(&admin, "get_connection", &[("id", &id.to_string())])
        .await
        .text()
        .await
        .unwrap();
    let listing = app
        .call(&admin, "list_connections", &[])
        .await
        .text()
        .await
        .unwrap();
    for secret in [
        fapi_bridge::simulators::fapi::DEFAULT_API_KEY,
        fapi_bridge::simulators::smartemailing::DEFAULT_API_KEY,
    ] {
        assert!(!body.contains(secret) && !listing.contains(secret));
    }
    // …nor the audit log…
    let audit: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT action, details FROM audit_log WHERE action LIKE 'connection.%'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(audit.len(), 1);
    assert!(
        !audit[0]
            .1
            .as_deref()
            .unwrap_or_default()
            .contains("demo-key")
    );

    // …and the database file holds them only encrypted.
    let checkpoint: (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(checkpoint.0, 0);
    let mut bytes = std::fs::read(app.data_dir.path().join("test.db")).unwrap();
    if let Ok(wal) = std::fs::read(app.data_dir.path().join("test.db-wal")) {
        bytes.extend(wal);
    }
    for secret in [b"fapi-demo-key".as_slice(), b"se-demo-key".as_slice()] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret),
            "plain-text key in the database file"
        );
    }
    assert!(bytes.windows(b"Mu\xc5\xaf".len()).count() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_smartemailing_key_is_refused_and_nothing_is_saved() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    let mut form = connection_form("Obchod");
    form.retain(|(k, _)| *k != "se_api_key");
    form.push(("se_api_key", "wrong-key".into()));
    let response = app.call_owned(&admin, "create_connection", &form).await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        error_of(response).await,
        json!({"Invalid": {"CredentialsRefused": {"fapi": null, "smartemailing": {"WrongCredentials": "Authentication Failed"}}}})
    );
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM connections")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_fapi_is_named_as_the_failing_side() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    app.fapi.behaviour.set_faults(FaultConfig {
        server_error_rate: 1.0,
        ..Default::default()
    });
    let response = app
        .call_owned(&admin, "create_connection", &connection_form("Obchod"))
        .await;
    assert_eq!(response.status(), 422);
    let error = error_of(response).await;
    let refused = &error["Invalid"]["CredentialsRefused"];
    assert_eq!(refused["smartemailing"], Value::Null);
    assert!(
        refused["fapi"]["Failed"].as_str().unwrap().contains("503"),
        "{error}"
    );

    app.fapi.behaviour.set_faults(FaultConfig {
        hang_rate: 1.0,
        hang_ms: 5_000,
        ..Default::default()
    });
    let error = error_of(
        app.call_owned(&admin, "create_connection", &connection_form("Obchod"))
            .await,
    )
    .await;
    assert_eq!(error["Invalid"]["CredentialsRefused"]["fapi"], "Timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_keeps_stored_keys_when_the_fields_are_empty() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    let id = app.create_connection(&admin, "Obchod").await;
    let mut form = connection_form("Obchod – kurzy");
    form.retain(|(k, _)| !k.ends_with("api_key"));
    form.extend([
        ("fapi_api_key", String::new()),
        ("se_api_key", String::new()),
        ("id", id.to_string()),
    ]);
    form.retain(|(k, _)| *k != "eshop_name");
    form.push(("eshop_name", "fapi-obchod".into()));
    let response = app.call_owned(&admin, "update_connection", &form).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let page = detail(&app, &admin, id).await;
    assert_eq!(page["connection"]["name"], "Obchod – kurzy");
    assert_eq!(page["connection"]["eshop_name"], "fapi-obchod");
    assert_eq!(
        page["connection"]["smartemailing"]["outcome"], "Ok",
        "the stored key still works"
    );

    let other = app.create_connection(&admin, "Druhý").await;
    let mut clash = form.clone();
    clash.retain(|(k, _)| *k != "id");
    clash.push(("id", other.to_string()));
    let response = app.call_owned(&admin, "update_connection", &clash).await;
    assert_eq!(
        error_of(response).await,
        json!({"Invalid": "ConnectionNameTaken"})
    );
    let changes: Vec<String> =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'connection.updated'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(changes, vec![r#"{"changed":["name"]}"#.to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_and_viewers_read_but_cannot_change() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    let id = app.create_connection(&admin, "Obchod").await.to_string();
    let operator = app.signed_in("petr@example.cz", Role::Operator).await;
    let viewer = app.signed_in("eva@example.cz", Role::Viewer).await;

    for client in [&operator, &viewer] {
        let list: Value = app
            .call(client, "list_connections", &[])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(list["can_manage"], false);
        assert_eq!(list["connections"][0]["name"], "Obchod");
        assert_eq!(
            list["connections"][0]["webhook_url"],
            Value::Null,
            "the secret URL is for admins"
        );
        let mut form = connection_form("Jiný");
        form.push(("id", id.clone()));
        for (name, form) in [
            ("create_connection", connection_form("Jiný")),
            ("update_connection", form),
            (
                "delete_connection",
                vec![("id", id.clone()), ("confirm", "yes".into())],
            ),
            ("rotate_webhook", vec![("id", id.clone())]),
            (
                "set_forwarding",
                vec![("id", id.clone()), ("enabled", "true".into())],
            ),
            (
                "set_default_list",
                vec![("id", id.clone()), ("list_id", String::new())],
            ),
            ("connection_lists", vec![("id", id.clone())]),
        ] {
            assert_eq!(
                app.call_owned(client, name, &form).await.status(),
                403,
                "{name}"
            );
        }
    }
    assert_eq!(
        app.call(&operator, "test_connection", &[("id", &id)])
            .await
            .status(),
        200
    );
    assert_eq!(
        app.call(&viewer, "test_connection", &[("id", &id)])
            .await
            .status(),
        403
    );
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM connections")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(names, vec!["Obchod".to_string()]);
}

/// Two replicas on one database: a token rotated through one stops working on the other
/// within a second, although the other had it cached (it reads the database's generation).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_rotated_through_one_replica_stops_working_on_another_within_a_second() {
    let first = spawn_app().await;
    let (admin, id, url) = first.forwarding_connection().await;
    let second = crate::helpers::spawn_app_in(
        first.data_dir.clone(),
        fapi_bridge::platform::clock::ManualClock::new(crate::helpers::start_time()),
        0,
    )
    .await;
    let on_second = |url: &str| url.replace(&first.base, &second.base);
    let invoice = first.new_fapi_order(None);
    // The second replica knows the token now (cached in its memory).
    assert_eq!(
        first
            .fapi
            .notify(&on_second(&url), invoice)
            .await
            .unwrap()
            .status(),
        200
    );

    assert_eq!(
        first
            .call(&admin, "rotate_webhook", &[("id", &id.to_string())])
            .await
            .status(),
        200
    );
    tokio::time::sleep(
        fapi_bridge::web::webhook::SHARED_GENERATION_CHECK + std::time::Duration::from_millis(200),
    )
    .await;
    assert_eq!(
        first
            .fapi
            .notify(&on_second(&url), invoice)
            .await
            .unwrap()
            .status(),
        404,
        "the second replica refuses the old URL"
    );
    let new = detail(&first, &admin, id).await["connection"]["webhook_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        first
            .fapi
            .notify(&on_second(&new), invoice)
            .await
            .unwrap()
            .status(),
        200
    );
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_webhook_token_invalidates_the_old_url_at_once() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    let id = app.create_connection(&admin, "Obchod").await;
    let old = detail(&app, &admin, id).await["connection"]["webhook_url"]
        .as_str()
        .unwrap()
        .to_string();
    let old_token = old.rsplit('/').next().unwrap().to_string();
    assert!(
        connections::find_by_webhook_token(&app.db, &old_token)
            .await
            .unwrap()
            .is_some()
    );
    // The webhook knows the token now (it keeps known tokens in memory).
    let invoice = app.new_fapi_order(None);
    assert_eq!(app.fapi.notify(&old, invoice).await.unwrap().status(), 200);

    assert_eq!(
        app.call(&admin, "rotate_webhook", &[("id", &id.to_string())])
            .await
            .status(),
        200
    );
    let new = detail(&app, &admin, id).await["connection"]["webhook_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(old, new);
    assert_eq!(
        app.fapi.notify(&old, invoice).await.unwrap().status(),
        404,
        "the old URL stops working at once"
    );
    assert_eq!(app.fapi.notify(&new, invoice).await.unwrap().status(), 200);
    assert!(
        connections::find_by_webhook_token(&app.db, &old_token)
            .await
            .unwrap()
            .is_none()
    );
    let new_token = new.rsplit('/').next().unwrap();
    assert_eq!(
        connections::find_by_webhook_token(&app.db, new_token)
            .await
            .unwrap()
            .unwrap()
            .id,
        id
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_records_when_it_was_switched_on() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    let id = app.create_connection(&admin, "Obchod").await.to_string();
    app.clock.advance(chrono::Duration::hours(2));
    assert_eq!(
        app.call(
            &admin,
            "set_forwarding",
            &[("id", &id), ("enabled", "true")]
        )
        .await
        .status(),
        200
    );
    let record = connections::find(&app.db, id.parse().unwrap())
        .await
        .unwrap();
    assert!(record.forwarding_enabled);
    assert_eq!(
        record.forwarding_enabled_at,
        Some(crate::helpers::start_time() + chrono::Duration::hours(2))
    );
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action LIKE 'connection.forwarding%'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(actions, vec!["connection.forwarding_enabled".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_list_is_chosen_from_smartemailing() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    let id = app.create_connection(&admin, "Obchod").await.to_string();
    let lists: Value = app
        .call(&admin, "connection_lists", &[("id", &id)])
        .await
        .json()
        .await
        .unwrap();
    let simulated: Vec<String> = app
        .smartemailing
        .store
        .lock()
        .unwrap()
        .lists
        .values()
        .cloned()
        .collect();
    let listed: Vec<String> = lists
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, simulated);
    let customers = lists
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "Zákazníci")
        .unwrap()["id"]
        .to_string();
    assert_eq!(
        app.call(
            &admin,
            "set_default_list",
            &[("id", &id), ("list_id", &customers)]
        )
        .await
        .status(),
        200
    );
    let page = detail(&app, &admin, id.parse().unwrap()).await;
    assert_eq!(page["connection"]["default_list"]["name"], "Zákazníci");
    assert_eq!(
        app.call(
            &admin,
            "set_default_list",
            &[("id", &id), ("list_id", "999999")]
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        app.call(&admin, "set_default_list", &[("id", &id), ("list_id", "")])
            .await
            .status(),
        200
    );
    assert_eq!(
        detail(&app, &admin, id.parse().unwrap()).await["connection"]["default_list"],
        Value::Null
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_needs_confirmation_and_keeps_the_row() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    let id = app.create_connection(&admin, "Obchod").await.to_string();
    let response = app.call(&admin, "delete_connection", &[("id", &id)]).await;
    assert_eq!(
        error_of(response).await,
        json!({"Invalid": "ConfirmationMissing"})
    );
    let response = app
        .call(
            &admin,
            "delete_connection",
            &[("id", &id), ("confirm", "yes")],
        )
        .await;
    assert!(response.status().is_success() || response.status().is_redirection());
    let list: Value = app
        .call(&admin, "list_connections", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["connections"], json!([]));
    let deleted: Option<String> =
        sqlx::query_scalar("SELECT deleted_at FROM connections WHERE id = ?")
            .bind(id.parse::<i64>().unwrap())
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(deleted.is_some());
    assert_eq!(
        app.call(&admin, "get_connection", &[("id", &id)])
            .await
            .status(),
        404
    );
}
