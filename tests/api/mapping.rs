//! The field mapping of a connection: a FAPI custom field into a SmartEmailing contact field
//! (a choice field: values → options), the shipping method as an order attribute; the preview
//! sends nothing; bad mappings fail one order with a clear reason; a re-send applies a new
//! mapping to orders sent before it; only admins save.

use fapi_bridge::model::Role;
use fapi_bridge::simulators::fapi::FORM_QUESTION;
use fapi_bridge::simulators::smartemailing::SimFieldValue;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of, eventually, spawn_app};

/// Calls a server function that takes JSON (the mapping's rules are nested).
async fn call_json(
    app: &TestApp,
    client: &reqwest::Client,
    name: &str,
    body: Value,
) -> reqwest::Response {
    client
        .post(app.url(&format!("/api/{name}")))
        .header("Accept", "application/json")
        .json(&body)
        .send()
        .await
        .expect("request is sent")
}

/// The simulated account's "where did you hear of us" field and its options by name.
fn source_field(app: &TestApp) -> (i64, Vec<(String, i64)>) {
    let store = app.smartemailing.store.lock().unwrap();
    let field = store
        .custom_fields
        .values()
        .find(|f| f.field_type == "select")
        .expect("the default account has a select field");
    (
        field.id,
        field
            .options
            .iter()
            .map(|(id, name)| (name.clone(), *id))
            .collect(),
    )
}

fn option(options: &[(String, i64)], name: &str) -> i64 {
    options.iter().find(|(n, _)| n == name).unwrap().1
}

/// A new FAPI order whose form's question was answered `answer`; its first document's id.
fn order_answering(app: &TestApp, email: &str, answer: &str) -> i64 {
    let invoice = app.new_fapi_order(Some(email));
    let mut store = app.fapi.store.lock().unwrap();
    let document = store.invoices.get_mut(&invoice).unwrap();
    document.custom_fields = vec![(FORM_QUESTION.to_string(), answer.to_string())];
    document.shipping_method = Some("Zásilkovna".into());
    invoice
}

async fn order_status(app: &TestApp, invoice: i64) -> (String, Option<String>) {
    let code = app.fapi.store.lock().unwrap().invoices[&invoice]
        .new_order
        .to_string();
    sqlx::query_as("SELECT sync_status, status_reason FROM orders WHERE eshop_code = ?")
        .bind(code)
        .fetch_optional(&app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| ("missing".into(), None))
}

async fn settled(app: &TestApp, invoice: i64) -> (String, Option<String>) {
    eventually("the order is synced or failed", || async {
        matches!(
            order_status(app, invoice).await.0.as_str(),
            "synced" | "failed"
        )
    })
    .await;
    order_status(app, invoice).await
}

fn contact_field(app: &TestApp, email: &str, field: i64) -> Option<SimFieldValue> {
    let store = app.smartemailing.store.lock().unwrap();
    store.contact(email)?.customfields.get(&field).cloned()
}

fn se_order_attributes(app: &TestApp, invoice: i64) -> Vec<(String, String)> {
    let store = app.smartemailing.store.lock().unwrap();
    let code = app.fapi.store.lock().unwrap().invoices[&invoice]
        .new_order
        .to_string();
    let order = store
        .orders
        .get(&("fapi-obchod".to_string(), code))
        .expect("SmartEmailing has the order");
    order.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn rules(field: i64, options: &[(String, i64)]) -> Value {
    json!([
        {
            "source": { "kind": "custom_field", "name": FORM_QUESTION },
            "target": { "kind": "contact_field", "id": field, "name": "Odkud o nás ví", "choice": true },
            "options": [
                { "fapi_value": "Facebook", "option_id": option(options, "Facebook") },
                { "fapi_value": "Doporučení přítele", "option_id": option(options, "Doporučení") },
            ],
        },
        {
            "source": { "kind": "shipping_method" },
            "target": { "kind": "order_attribute", "name": "shipping" },
        },
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapped_form_field_reaches_the_contact_and_a_preview_sends_nothing() {
    let app = spawn_app().await;
    let (admin, connection, url) = app.forwarding_connection().await;
    let (field, options) = source_field(&app);

    // The tab lists the account's custom fields; no rules yet.
    let page: Value = app
        .call(
            &admin,
            "get_field_mapping",
            &[("connection", &connection.to_string())],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["rules"], json!([]));
    let names: Vec<&str> = page["custom_fields"]["Ok"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Odkud o nás ví"), "{names:?}");

    // Before any mapping: the order goes as before, without custom fields.
    let first = order_answering(&app, "jana@example.cz", "Facebook");
    app.fapi.notify(&url, first).await.unwrap();
    assert_eq!(settled(&app, first).await.0, "synced");
    assert_eq!(contact_field(&app, "jana@example.cz", field), None);

    // A preview with the edited rules shows the value, and sends nothing.
    let requests_before = app.smartemailing.behaviour.requests().len();
    let preview = call_json(
        &app,
        &admin,
        "preview_field_mapping",
        json!({ "connection": connection, "reference": first.to_string(), "rules": rules(field, &options) }),
    )
    .await;
    assert_eq!(preview.status(), 200);
    let preview: Value = preview.json().await.unwrap();
    assert_eq!(preview["error"], Value::Null);
    let contact: Value = serde_json::from_str(preview["contact"].as_str().unwrap()).unwrap();
    assert_eq!(
        contact["customfields"],
        json!([{ "id": field, "options": [option(&options, "Facebook")] }])
    );
    let order: Value = serde_json::from_str(preview["order"].as_str().unwrap()).unwrap();
    assert!(
        order["attributes"]
            .as_array()
            .unwrap()
            .contains(&json!({ "name": "shipping", "value": "Zásilkovna" }))
    );
    assert!(
        preview["documents"]
            .as_str()
            .unwrap()
            .contains(FORM_QUESTION)
    );
    // The preview reads SmartEmailing for nothing and writes nothing.
    assert_eq!(
        app.smartemailing.behaviour.requests().len(),
        requests_before
    );

    // A viewer may not save; an admin may.
    let viewer = app.signed_in("vera@example.cz", Role::Viewer).await;
    let body = json!({ "connection": connection, "rules": rules(field, &options) });
    let refused = call_json(&app, &viewer, "save_field_mapping", body.clone()).await;
    assert_eq!(refused.status(), 403);
    let saved = call_json(&app, &admin, "save_field_mapping", body).await;
    assert_eq!(saved.status(), 200, "{:?}", saved.text().await);
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|(action, actor, ..)| action == "connection.mapping_saved"
                && actor.as_deref() == Some("admin@example.cz"))
    );

    // The next forwarded order carries the value: the contact's field, the order's attribute.
    let second = order_answering(&app, "petr@example.cz", "Facebook");
    app.fapi.notify(&url, second).await.unwrap();
    assert_eq!(settled(&app, second).await.0, "synced");
    assert_eq!(
        contact_field(&app, "petr@example.cz", field),
        Some(SimFieldValue::Options(vec![option(&options, "Facebook")]))
    );
    assert!(se_order_attributes(&app, second).contains(&("shipping".into(), "Zásilkovna".into())));

    // A value with no option: that order fails with words a user understands.
    let unmapped = order_answering(&app, "eva@example.cz", "TikTok");
    app.fapi.notify(&url, unmapped).await.unwrap();
    let (status, reason) = settled(&app, unmapped).await;
    assert_eq!(status, "failed");
    assert_eq!(
        reason.as_deref(),
        Some(
            "the FAPI value \"TikTok\" has no option in the SmartEmailing field \"Odkud o nás ví\""
        )
    );

    // The field deleted in SmartEmailing: the order fails before it is sent, naming the
    // mapping; an order without a value for it still goes.
    app.smartemailing
        .store
        .lock()
        .unwrap()
        .custom_fields
        .remove(&field);
    let orphan = order_answering(&app, "adam@example.cz", "Facebook");
    let unaffected = order_answering(&app, "olga@example.cz", "");
    app.fapi.notify(&url, orphan).await.unwrap();
    app.fapi.notify(&url, unaffected).await.unwrap();
    let (status, reason) = settled(&app, orphan).await;
    assert_eq!(status, "failed");
    let reason = reason.unwrap();
    assert!(
        reason.contains("no custom field") && reason.contains("field mapping"),
        "{reason}"
    );
    assert_eq!(settled(&app, unaffected).await.0, "synced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_applies_a_new_mapping_to_orders_sent_before_it() {
    let app = spawn_app().await;
    let (admin, connection, url) = app.forwarding_connection().await;
    let invoice = order_answering(&app, "jana@example.cz", "Facebook");
    app.fapi.notify(&url, invoice).await.unwrap();
    assert_eq!(settled(&app, invoice).await.0, "synced");
    assert!(
        !se_order_attributes(&app, invoice)
            .iter()
            .any(|(n, _)| n == "shipping")
    );

    let rules = json!([{
        "source": { "kind": "shipping_method" },
        "target": { "kind": "order_attribute", "name": "shipping" },
    }]);
    let saved = call_json(
        &app,
        &admin,
        "save_field_mapping",
        json!({ "connection": connection, "rules": rules }),
    )
    .await;
    assert_eq!(saved.status(), 200);
    // Saving alone re-sends nothing.
    assert!(
        !se_order_attributes(&app, invoice)
            .iter()
            .any(|(n, _)| n == "shipping")
    );

    let unconfirmed = app
        .call(
            &admin,
            "resend_with_mapping",
            &[("connection", &connection.to_string())],
        )
        .await;
    assert_eq!(
        error_of(unconfirmed).await,
        json!({"Invalid": "ConfirmationMissing"})
    );
    let started = app
        .call(
            &admin,
            "resend_with_mapping",
            &[("connection", &connection.to_string()), ("confirm", "yes")],
        )
        .await;
    assert_eq!(started.status(), 200);
    let run: i64 = started.json().await.unwrap();
    eventually("the re-send run completes", || async {
        let status: String = sqlx::query_scalar("SELECT status FROM sync_runs WHERE id = ?")
            .bind(run)
            .fetch_one(&app.db)
            .await
            .unwrap();
        status == "completed"
    })
    .await;
    // Sync history shows it as a re-send.
    let detail: Value = app
        .call(&admin, "get_run", &[("id", &run.to_string())])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["run"]["resend"], true, "{detail}");
    eventually("the order was sent again with the attribute", || async {
        se_order_attributes(&app, invoice).contains(&("shipping".into(), "Zásilkovna".into()))
    })
    .await;
}
