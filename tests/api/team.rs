//! Roles are enforced by the server, and the team rules hold.

use fapi_bridge::model::Role;

use crate::helpers::{PASSWORD, error_of, spawn_app};

const NEW_PASSWORD: &str = "zeleny-most-pekar-73";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_or_operator_calling_admin_functions_gets_403() {
    let app = spawn_app().await;
    app.add_user("admin@example.cz", Role::Admin).await;
    let target = app
        .add_user("petr@example.cz", Role::Viewer)
        .await
        .to_string();
    for role in [Role::Viewer, Role::Operator] {
        let client = app.signed_in(&format!("{role}@example.cz"), role).await;
        let calls: [(&str, Vec<(&str, &str)>); 6] = [
            ("list_team", vec![]),
            ("audit_log", vec![]),
            (
                "add_team_member",
                vec![
                    ("email", "x@example.cz"),
                    ("name", "X"),
                    ("role", "admin"),
                    ("password", PASSWORD),
                ],
            ),
            (
                "change_member_role",
                vec![("user_id", &target), ("role", "admin")],
            ),
            (
                "set_member_disabled",
                vec![("user_id", &target), ("disabled", "true")],
            ),
            (
                "reset_member_password",
                vec![("user_id", &target), ("password", NEW_PASSWORD)],
            ),
        ];
        for (name, form) in calls {
            let response = app.call(&client, name, &form).await;
            assert_eq!(response.status(), 403, "{role} calling {name}");
            assert_eq!(error_of(response).await, serde_json::json!("Forbidden"));
        }
    }
    let roles: Vec<(String, String)> = sqlx::query_as("SELECT email, role FROM users ORDER BY id")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert!(roles.iter().all(|(email, _)| email != "x@example.cz"));
    assert!(roles.contains(&("petr@example.cz".into(), "viewer".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_session_admin_functions_answer_401() {
    let app = spawn_app().await;
    let response = app.call(&app.client(), "list_team", &[]).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        error_of(response).await,
        serde_json::json!("Unauthenticated")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_an_operator_who_can_then_sign_in() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    let form = [
        ("email", "Petr@Example.cz"),
        ("name", "Petr Svoboda"),
        ("role", "operator"),
        ("password", NEW_PASSWORD),
    ];
    let response = app.call(&admin, "add_team_member", &form).await;
    assert_eq!(response.status(), 200);

    let response = app.call(&admin, "add_team_member", &form).await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        error_of(response).await,
        serde_json::json!({ "Invalid": "EmailTaken" })
    );

    let team: serde_json::Value = app
        .call(&admin, "list_team", &[])
        .await
        .json()
        .await
        .unwrap();
    let petr = team["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "petr@example.cz")
        .expect("listed");
    assert_eq!(petr["role"], "operator");
    assert_eq!(petr["name"], "Petr Svoboda");

    let operator = app.client();
    app.login(&operator, "petr@example.cz", NEW_PASSWORD).await;
    assert_eq!(
        app.signed_in_email(&operator).await.as_deref(),
        Some("petr@example.cz")
    );
    let added = app
        .audit_actions()
        .await
        .into_iter()
        .find(|a| a.0 == "user.added" && a.2.as_deref() == Some("petr@example.cz"));
    assert_eq!(added.unwrap().1.as_deref(), Some("admin@example.cz"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_admin_can_be_neither_demoted_nor_disabled() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    let admin_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'admin@example.cz'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let id = admin_id.to_string();
    let response = app
        .call(
            &admin,
            "change_member_role",
            &[("user_id", &id), ("role", "viewer")],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        error_of(response).await,
        serde_json::json!({ "Invalid": "LastAdmin" })
    );

    // A second admin may not disable the only other one either once they are alone.
    let second = app.add_user("druhy@example.cz", Role::Admin).await;
    let second_client = app.client();
    app.login(&second_client, "druhy@example.cz", PASSWORD)
        .await;
    let response = app
        .call(
            &second_client,
            "set_member_disabled",
            &[("user_id", &id), ("disabled", "true")],
        )
        .await;
    assert_eq!(response.status(), 200, "two admins: one may be disabled");
    let response = app
        .call(
            &second_client,
            "set_member_disabled",
            &[("user_id", &second.to_string()), ("disabled", "true")],
        )
        .await;
    assert_eq!(
        error_of(response).await,
        serde_json::json!({ "Invalid": "CannotChangeSelf" })
    );
    let response = app
        .call(
            &second_client,
            "change_member_role",
            &[("user_id", &second.to_string()), ("role", "operator")],
        )
        .await;
    assert_eq!(
        error_of(response).await,
        serde_json::json!({ "Invalid": "LastAdmin" })
    );

    // The disabled admin's session ended.
    assert_eq!(app.signed_in_email(&admin).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_changes_take_effect_at_once_and_are_audited() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    let viewer = app.signed_in("petr@example.cz", Role::Viewer).await;
    let petr: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'petr@example.cz'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(app.call(&viewer, "list_team", &[]).await.status(), 403);
    let response = app
        .call(
            &admin,
            "change_member_role",
            &[("user_id", &petr.to_string()), ("role", "admin")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.call(&viewer, "list_team", &[]).await.status(), 200);
    let audit = app.audit_actions().await;
    assert!(
        audit
            .iter()
            .any(|a| a.0 == "user.role_changed" && a.2.as_deref() == Some("petr@example.cz"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_replaces_the_password_and_ends_sessions() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    let petr_client = app.signed_in("petr@example.cz", Role::Operator).await;
    let petr: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'petr@example.cz'")
        .fetch_one(&app.db)
        .await
        .unwrap();

    let response = app
        .call(
            &admin,
            "reset_member_password",
            &[("user_id", &petr.to_string()), ("password", "heslo123")],
        )
        .await;
    assert_eq!(response.status(), 422, "weak passwords are refused");

    let response = app
        .call(
            &admin,
            "reset_member_password",
            &[("user_id", &petr.to_string()), ("password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.signed_in_email(&petr_client).await, None);

    let client = app.client();
    assert_eq!(
        app.login(&client, "petr@example.cz", PASSWORD)
            .await
            .status(),
        401
    );
    app.login(&client, "petr@example.cz", NEW_PASSWORD).await;
    assert_eq!(
        app.signed_in_email(&client).await.as_deref(),
        Some("petr@example.cz")
    );
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a.0 == "user.password_reset")
    );
}
