//! The simulators answer in the same shape as the real APIs' recorded responses.

use std::net::SocketAddr;

use fapi_bridge::simulators::RunningSimulator;
use fapi_bridge::simulators::fapi::{self as fapi_sim, FapiSimulator};
use fapi_bridge::simulators::smartemailing::{self as se_sim, SmartEmailingSimulator};
use serde_json::Value;

fn fixture(path: &str) -> Value {
    let path = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn recorded(file: &str, request: &str, status: u64) -> Value {
    fixture(file)["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["request"] == request && e["status"] == status)
        .unwrap_or_else(|| panic!("{request} {status} in {file}"))["body"]
        .clone()
}

/// The JSON type of a value, numbers and numeric strings apart.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every key of `recorded` that is present in `simulated` has the same JSON type (nulls aside),
/// and the keys named in `required` are present in both.
fn assert_same_shape(simulated: &Value, recorded: &Value, required: &[&str], what: &str) {
    for key in required {
        assert!(
            recorded.get(key).is_some(),
            "{what}: the recording has no {key}"
        );
        assert!(
            simulated.get(key).is_some(),
            "{what}: the simulator omits {key}"
        );
    }
    for (key, recorded_value) in recorded.as_object().unwrap() {
        if let Some(simulated_value) = simulated.get(key)
            && !recorded_value.is_null()
            && !simulated_value.is_null()
        {
            assert_eq!(
                kind(simulated_value),
                kind(recorded_value),
                "{what}: type of {key}"
            );
        }
    }
}

async fn get(url: String, user: &str, key: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(url)
        .basic_auth(user, Some(key))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fapi_simulator_answers_like_the_recordings() {
    let sim = FapiSimulator::with_default_account(3);
    let first = {
        let mut store = sim.store.lock().unwrap();
        let now = chrono::Utc::now();
        store.generate(20, now - chrono::Duration::days(3), now);
        *store.invoices.keys().next().unwrap()
    };
    let running = RunningSimulator::start(sim.router(), any_port())
        .await
        .unwrap();
    let base = running.base_url();
    let (login, key) = (fapi_sim::DEFAULT_LOGIN, fapi_sim::DEFAULT_API_KEY);

    let (status, body) = get(format!("{base}/"), login, key).await;
    assert_eq!(
        (status, body),
        (200, recorded("fapi/recorded-root.json", "GET /", 200))
    );
    let (status, body) = get(format!("{base}/"), login, "wrong").await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        serde_json::json!({"message": "Invalid password.", "type": "AuthenticationException"})
    );

    let recorded_invoice = recorded(
        "fapi/recorded-invoices.json",
        "GET /invoices/185993812",
        200,
    );
    let (status, invoice) = get(format!("{base}/invoices/{first}"), login, key).await;
    assert_eq!(status, 200);
    assert_same_shape(
        &invoice,
        &recorded_invoice,
        &[
            "id",
            "number",
            "variable_symbol",
            "type",
            "proforma",
            "credit_note",
            "paid",
            "cancelled",
            "has_credit_note",
            "created_on",
            "last_modified_on",
            "create_date",
            "payday_date",
            "client",
            "customer",
            "items",
            "total",
            "total_vat",
            "currency",
            "payment_type",
            "new_order",
            "supplier",
        ],
        "invoice",
    );
    assert_same_shape(
        &invoice["customer"],
        &recorded_invoice["customer"],
        &["name", "email"],
        "customer",
    );
    assert_same_shape(
        &invoice["items"][0],
        &recorded_invoice["items"][0],
        &["id", "name", "code", "price", "count", "round_item"],
        "item",
    );
    assert!(
        invoice["created_on"].as_str().unwrap().len() == 19
            && !invoice["created_on"].as_str().unwrap().contains('T')
    );

    let (_, list) = get(format!("{base}/invoices?limit=1"), login, key).await;
    let recorded_list = recorded("fapi/recorded-invoices.json", "GET /invoices?limit=1", 200);
    assert_eq!(
        list.as_object().unwrap().keys().collect::<Vec<_>>(),
        recorded_list
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>()
    );
    assert_eq!(list["invoices"].as_array().unwrap().len(), 1);

    let (status, missing) = get(format!("{base}/invoices/1"), login, key).await;
    assert_eq!(status, 404);
    assert_eq!(
        missing,
        recorded(
            "fapi/recorded-invoices.json",
            "GET /invoices/185993812",
            404
        )
    );

    let (_, count) = get(format!("{base}/invoices/count"), login, key).await;
    assert_eq!(kind(&count["count"]), "number");

    let order_id = invoice["new_order"].as_str().unwrap();
    let (status, order) = get(format!("{base}/orders/{order_id}"), login, key).await;
    assert_eq!(status, 200);
    assert_same_shape(
        &order,
        &recorded("fapi/recorded-orders.json", "GET /orders/12440538", 200),
        &[
            "id",
            "created",
            "email",
            "first_name",
            "last_name",
            "invoice",
        ],
        "order",
    );
    let client_id = invoice["client"].as_i64().unwrap();
    let (status, client) = get(format!("{base}/clients/{client_id}"), login, key).await;
    assert_eq!(status, 200);
    assert_same_shape(
        &client,
        &recorded("fapi/recorded-clients.json", "GET /clients/1808080", 200),
        &["id", "email", "tax_payer"],
        "client",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fapi_simulator_notifies_with_a_valid_hash() {
    use axum::routing::post;
    let sim = FapiSimulator::with_default_account(4);
    let id = {
        let mut store = sim.store.lock().unwrap();
        let customer = store.new_customer();
        let product = fapi_bridge::simulators::czech::products()[0].clone();
        store.create_order(customer, &[(product, 1)], "CZK", true, chrono::Utc::now())
    };
    let received = std::sync::Arc::new(std::sync::Mutex::new(None::<(String, String)>));
    let sink = received.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        post(move |headers: http::HeaderMap, body: String| {
            let sink = sink.clone();
            async move {
                let content_type = headers["content-type"].to_str().unwrap().to_string();
                *sink.lock().unwrap() = Some((content_type, body));
                "ok"
            }
        }),
    );
    let hook = RunningSimulator::start(receiver, any_port()).await.unwrap();
    sim.notify(&format!("{}/hook", hook.base_url()), id)
        .await
        .unwrap();
    let (content_type, body) = received.lock().unwrap().clone().unwrap();
    assert_eq!(content_type, "application/x-www-form-urlencoded");
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(form["id"], id.to_string());
    let invoice = sim.store.lock().unwrap().invoice_json(id).unwrap();
    assert!(fapi_bridge::fapi::security::is_valid(
        &form["time"],
        &form["security"],
        &invoice
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smartemailing_simulator_answers_like_the_documentation() {
    let sim = SmartEmailingSimulator::with_default_account();
    let running = RunningSimulator::start(sim.router(), any_port())
        .await
        .unwrap();
    let base = format!("{}/api/v3", running.base_url());
    let (user, key) = (se_sim::DEFAULT_USERNAME, se_sim::DEFAULT_API_KEY);
    let samples = "smartemailing/doc-samples.json";

    assert_eq!(
        get(format!("{base}/ping"), "", "").await.1,
        recorded(samples, "GET /ping", 200)
    );
    assert_eq!(
        get(format!("{base}/check-credentials"), user, key).await.1,
        recorded(samples, "GET /check-credentials", 200)
    );
    let (status, denied) = get(format!("{base}/check-credentials"), user, "wrong").await;
    assert_eq!(
        (status, denied),
        (
            401,
            recorded(samples, "GET /check-credentials (wrong key)", 401)
        )
    );

    let client = reqwest::Client::new();
    let import = fixture(samples)["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["request"] == "POST /import")
        .unwrap()
        .clone();
    // The sample imports into list 770; the simulated account has other list ids.
    let list = *sim.store.lock().unwrap().lists.keys().next().unwrap();
    let mut request = import["request_body"].clone();
    request["data"][0]["contactlists"][0]["id"] = list.into();
    let response = client
        .post(format!("{base}/import"))
        .basic_auth(user, Some(key))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_same_shape(
        &body,
        &import["body"],
        &["status", "meta", "contacts_map", "double_opt_in_map"],
        "import",
    );
    assert_eq!(body["contacts_map"].as_array().unwrap().len(), 2);

    let invalid = serde_json::json!({"settings": {"skip_invalid_emails": false}, "data": [{"emailaddress": "invalid@email@gmail.com"}]});
    let response = client
        .post(format!("{base}/import"))
        .basic_auth(user, Some(key))
        .json(&invalid)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        recorded(
            samples,
            "POST /import (invalid address, skip_invalid_emails=false)",
            422
        )
    );

    let orders = fixture(samples)["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["request"] == "POST /import-orders")
        .unwrap()
        .clone();
    let response = client
        .post(format!("{base}/import-orders"))
        .basic_auth(user, Some(key))
        .json(&orders["request_body"])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.json::<Value>().await.unwrap(), orders["body"]);

    let (_, lists) = get(format!("{base}/contactlists"), user, key).await;
    assert_same_shape(
        &lists,
        &recorded(samples, "GET /contactlists", 200),
        &["status", "meta", "data"],
        "contactlists",
    );
    assert_same_shape(
        &lists["data"][0],
        &recorded(samples, "GET /contactlists", 200)["data"][0],
        &["id", "name"],
        "list",
    );

    let (_, contacts) = get(
        format!("{base}/contacts?emailaddress=jan.novak@example.cz"),
        user,
        key,
    )
    .await;
    let sample = recorded(
        samples,
        "GET /contacts?emailaddress=testmail_123@example.cz",
        200,
    );
    assert_same_shape(&contacts, &sample, &["status", "meta", "data"], "contacts");
    assert_same_shape(
        &contacts["meta"],
        &sample["meta"],
        &["displayed_count", "total_count", "limit", "offset"],
        "meta",
    );
    assert_same_shape(
        &contacts["data"][0],
        &sample["data"][0],
        &["id", "emailaddress", "blacklisted", "contactlists"],
        "contact",
    );
    assert_same_shape(
        &contacts["data"][0]["contactlists"][0],
        &sample["data"][0]["contactlists"][0],
        &["contactlist_id", "status"],
        "membership",
    );

    let id = contacts["data"][0]["id"].as_i64().unwrap();
    let response = client
        .delete(format!("{base}/contacts/forget/{id}"))
        .basic_auth(user, Some(key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let response = client
        .delete(format!("{base}/contacts/forget/{id}"))
        .basic_auth(user, Some(key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        recorded(
            samples,
            "DELETE /contacts/forget/99999999 (unknown id)",
            404
        )
    );
}
