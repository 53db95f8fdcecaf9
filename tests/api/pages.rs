//! Server-rendered pages: who sees what, in which language.

use fapi_bridge::model::Role;

use crate::helpers::spawn_app;

async fn page(client: &reqwest::Client, url: String) -> (u16, String) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitors_without_a_session_are_sent_to_sign_in() {
    let app = spawn_app().await;
    let response = app
        .client()
        .get(app.url("/orders"))
        .header("Accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_page_speaks_czech_unless_english_was_chosen() {
    let app = spawn_app().await;
    let czech = app
        .client()
        .get(app.url("/login"))
        .header("Accept-Language", "en-GB,en;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(czech.status(), 200);
    let body = czech.text().await.unwrap();
    assert!(body.contains("<html lang=\"cs\""), "{body}");
    assert!(body.contains("Přihlásit se"));

    let english = app
        .client()
        .get(app.url("/login"))
        .header("Cookie", "lang=en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("<html lang=\"en\""));
    assert!(english.contains("Sign in"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_can_open_every_page() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    let pages = [
        ("/", "Přehled"),
        ("/connections", "Propojení"),
        ("/orders", "Objednávky"),
        ("/sync-history", "Historie synchronizací"),
        ("/contacts", "Kontakty bez seznamu"),
        ("/reminders", "Připomínky"),
        ("/team", "admin@example.cz"),
        ("/audit", "Auditní záznam"),
        ("/settings", "Která upozornění vám mají chodit e-mailem"),
        ("/emails", "E-mail je vypnutý"),
    ];
    for (path, expected) in pages {
        let (status, body) = page(&admin, app.url(path)).await;
        assert_eq!(status, 200, "{path}");
        assert!(body.contains(expected), "{path} should show {expected}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_choice_is_remembered_for_the_user() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    let response = app.call(&admin, "set_language", &[("lang", "en")]).await;
    assert_eq!(response.status(), 200);
    let stored: String =
        sqlx::query_scalar("SELECT language FROM users WHERE email = 'admin@example.cz'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(stored, "en");

    // A fresh browser (no lang cookie) gets English after signing in.
    let fresh = app.client();
    app.login(&fresh, "admin@example.cz", crate::helpers::PASSWORD)
        .await;
    let (_, body) = page(&fresh, app.url("/team")).await;
    assert!(body.contains("Sign out"), "{body}");

    let response = app.call(&admin, "set_language", &[("lang", "de")]).await;
    assert_eq!(response.status(), 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_is_refused_the_team_page_and_the_audit_log() {
    let app = spawn_app().await;
    let operator = app.signed_in("petr@example.cz", Role::Operator).await;
    for path in ["/team", "/audit", "/emails"] {
        let (status, body) = page(&operator, app.url(path)).await;
        assert_eq!(status, 403, "{path}");
        assert!(body.contains("Přístup odepřen"), "{path}: {body}");
        assert!(!body.contains("admin@example.cz"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_addresses_answer_404() {
    let app = spawn_app().await;
    let viewer = app.signed_in("petr@example.cz", Role::Viewer).await;
    let (status, body) = page(&viewer, app.url("/no-such-page")).await;
    assert_eq!(status, 404);
    assert!(body.contains("Stránka nenalezena"));
}
