//! Contacts without a list, against the SmartEmailing simulator: who shows up, refresh, and
//! the bulk actions acting on exactly the selected contacts.

use fapi_bridge::model::Role;
use fapi_bridge::platform::clock::Clock;
use fapi_bridge::simulators::faults::FaultConfig;
use fapi_bridge::smartemailing::ListStatus;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of, eventually, spawn_app};

/// Orders from `buyers` (one each), notified and synced; (admin, connection id).
async fn synced_buyers(app: &TestApp, buyers: &[&str]) -> (reqwest::Client, i64) {
    let (admin, connection, webhook) = app.forwarding_connection().await;
    for email in buyers {
        let invoice = app.new_fapi_order(Some(email));
        assert_eq!(
            app.fapi.notify(&webhook, invoice).await.unwrap().status(),
            200
        );
    }
    let expected = buyers.len() as i64;
    eventually("every buyer is checked in SmartEmailing", || async {
        let checked: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM contacts WHERE connection_id = ? AND check_due = 0",
        )
        .bind(connection)
        .fetch_one(&app.db)
        .await
        .unwrap();
        checked == expected
    })
    .await;
    (admin, connection)
}

async fn contacts_page(app: &TestApp, client: &reqwest::Client, connection: i64) -> Value {
    let response = app
        .call(
            client,
            "list_contacts",
            &[("filter[connection]", &connection.to_string())],
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn emails(page: &Value) -> Vec<String> {
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["email"].as_str().unwrap().to_string())
        .collect()
}

fn id_of(page: &Value, email: &str) -> i64 {
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["email"] == email)
        .unwrap_or_else(|| panic!("{email} is listed"))["id"]
        .as_i64()
        .unwrap()
}

async fn job_done(app: &TestApp, client: &reqwest::Client, job: i64) -> Value {
    let fetch = || async {
        app.call(client, "get_contact_job", &[("id", &job.to_string())])
            .await
            .json::<Value>()
            .await
            .unwrap()
    };
    eventually("the job finishes", || async {
        let detail = fetch().await;
        matches!(
            detail["job"]["status"].as_str(),
            Some("completed" | "failed")
        )
    })
    .await;
    fetch().await
}

async fn bulk(
    app: &TestApp,
    client: &reqwest::Client,
    connection: i64,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let connection = connection.to_string();
    let mut fields = vec![("filter[connection]", connection.as_str())];
    fields.extend_from_slice(form);
    app.call(client, "bulk_contacts", &fields).await
}

fn se_contact<'a>(
    store: &'a fapi_bridge::simulators::smartemailing::SeStore,
    email: &str,
) -> Option<&'a fapi_bridge::simulators::smartemailing::SimContact> {
    store.contacts.values().find(|c| c.email == email)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_in_no_list_show_up_and_leave_once_listed_in_smartemailing() {
    let app = spawn_app().await;
    let buyers = ["adam@example.cz", "bara@example.cz", "cyril@example.cz"];
    let (admin, connection) = synced_buyers(&app, &buyers).await;
    let viewer = app.signed_in("viewer@example.cz", Role::Viewer).await;

    let page = contacts_page(&app, &viewer, connection).await;
    assert_eq!(page["matching"], 3);
    assert_eq!(emails(&page), buyers);
    let row = &page["rows"][0];
    assert_eq!(row["orders"], 1);
    assert_eq!(row["states"], json!(["unpaid"]));
    assert_eq!(page["can_act"], false);

    // Someone puts Bára into a list inside SmartEmailing; a refresh notices.
    {
        let mut store = app.smartemailing.store.lock().unwrap();
        let list = *store.lists.keys().next().unwrap();
        let bara = store
            .contacts
            .values_mut()
            .find(|c| c.email == "bara@example.cz")
            .unwrap();
        bara.lists.insert(list, ListStatus::Confirmed);
    }
    let refused = app
        .call(
            &viewer,
            "refresh_contacts",
            &[("connection", &connection.to_string())],
        )
        .await;
    assert_eq!(refused.status(), 403);
    let job: i64 = app
        .call(
            &admin,
            "refresh_contacts",
            &[("connection", &connection.to_string())],
        )
        .await
        .json()
        .await
        .unwrap();
    let detail = job_done(&app, &admin, job).await;
    assert_eq!(detail["job"]["status"], "completed");
    assert_eq!(
        detail["job"]["succeeded"], 3,
        "every known contact was updated"
    );
    let page = contacts_page(&app, &viewer, connection).await;
    assert_eq!(emails(&page), ["adam@example.cz", "cyril@example.cz"]);

    // Search and the "has a paid order" filter.
    let found: Value = app
        .call(
            &viewer,
            "list_contacts",
            &[
                ("filter[connection]", &connection.to_string()),
                ("filter[search]", "cyr"),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(emails(&found), ["cyril@example.cz"]);
    let paid: Value = app
        .call(
            &viewer,
            "list_contacts",
            &[
                ("filter[connection]", &connection.to_string()),
                ("filter[buyers]", "paid"),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paid["matching"], 0, "no buyer has paid yet");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_blacklist_and_delete_act_on_exactly_the_selected_contacts() {
    let app = spawn_app().await;
    let buyers = [
        "a@example.cz",
        "b@example.cz",
        "c@example.cz",
        "d@example.cz",
        "e@example.cz",
    ];
    let (admin, connection) = synced_buyers(&app, &buyers).await;
    let operator = app.signed_in("operator@example.cz", Role::Operator).await;
    let newsletter = {
        let mut store = app.smartemailing.store.lock().unwrap();
        let newsletter = *store
            .lists
            .iter()
            .find(|(_, n)| *n == "Newsletter")
            .unwrap()
            .0;
        // "a" unsubscribed from the newsletter long ago.
        let a = store
            .contacts
            .values_mut()
            .find(|c| c.email == "a@example.cz")
            .unwrap();
        a.lists.insert(newsletter, ListStatus::Unsubscribed);
        newsletter
    };
    let page = contacts_page(&app, &operator, connection).await;
    assert_eq!(page["matching"], 5);
    let ids = format!(
        "{},{}",
        id_of(&page, "a@example.cz"),
        id_of(&page, "b@example.cz")
    );
    let newsletter_id = newsletter.to_string();
    let move_form = [
        ("action", "move"),
        ("list", newsletter_id.as_str()),
        ("selected", ids.as_str()),
        ("expected", "2"),
        ("request_key", "move-once"),
    ];
    let job: i64 = bulk(&app, &operator, connection, &move_form)
        .await
        .json()
        .await
        .unwrap();
    // The same form sent again (a double submit) is the same job.
    let again: i64 = bulk(&app, &operator, connection, &move_form)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, job);
    let detail = job_done(&app, &operator, job).await;
    assert_eq!(detail["job"]["succeeded"], 2);
    {
        let store = app.smartemailing.store.lock().unwrap();
        assert_eq!(
            se_contact(&store, "b@example.cz")
                .unwrap()
                .lists
                .get(&newsletter),
            Some(&ListStatus::Confirmed)
        );
        assert_eq!(
            se_contact(&store, "a@example.cz")
                .unwrap()
                .lists
                .get(&newsletter),
            Some(&ListStatus::Unsubscribed),
            "an unsubscribed contact stays unsubscribed"
        );
        for other in ["c@example.cz", "d@example.cz", "e@example.cz"] {
            assert!(
                se_contact(&store, other).unwrap().lists.is_empty(),
                "{other}"
            );
        }
    }
    let imports = app
        .smartemailing
        .behaviour
        .requests_to("POST", "/api/v3/import")
        .into_iter()
        .filter(|r| r.body.contains(&format!("\"id\":{newsletter}")))
        .count();
    assert_eq!(imports, 1, "the move was sent once");

    // Blacklist "c".
    let page = contacts_page(&app, &operator, connection).await;
    let c = id_of(&page, "c@example.cz").to_string();
    let job: i64 = bulk(
        &app,
        &operator,
        connection,
        &[
            ("action", "blacklist"),
            ("selected", &c),
            ("expected", "1"),
            ("request_key", "blacklist-c"),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    job_done(&app, &operator, job).await;

    // Delete "d": not for operators; admins must type the count.
    let page = contacts_page(&app, &admin, connection).await;
    let d = id_of(&page, "d@example.cz").to_string();
    let form = [
        ("action", "delete"),
        ("selected", d.as_str()),
        ("expected", "1"),
        ("typed", "1"),
        ("request_key", "delete-d"),
    ];
    assert_eq!(bulk(&app, &operator, connection, &form).await.status(), 403);
    let mut untyped = form;
    untyped[3] = ("typed", "");
    untyped[4] = ("request_key", "delete-d-untyped");
    assert_eq!(
        error_of(bulk(&app, &admin, connection, &untyped).await).await,
        json!({"Invalid": "ConfirmationMissing"})
    );
    let job: i64 = bulk(&app, &admin, connection, &form)
        .await
        .json()
        .await
        .unwrap();
    let detail = job_done(&app, &admin, job).await;
    assert_eq!(detail["items"][0]["status"], "done");
    let marker = detail["items"][0]["email"].as_str().unwrap().to_string();
    assert!(marker.starts_with("forgotten-"), "{marker}");

    {
        let store = app.smartemailing.store.lock().unwrap();
        assert!(se_contact(&store, "c@example.cz").unwrap().blacklisted);
        assert!(se_contact(&store, "d@example.cz").is_none(), "forgotten");
        let e = se_contact(&store, "e@example.cz").unwrap();
        assert!(!e.blacklisted && e.lists.is_empty(), "e is untouched");
        assert!(!se_contact(&store, "b@example.cz").unwrap().blacklisted);
    }
    // The bridge forgot "d" too: no e-mail left in its orders, documents or contacts.
    let traces: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM orders WHERE customer_email = 'd@example.cz' OR payload LIKE '%d@example.cz%')
              + (SELECT COUNT(*) FROM order_documents WHERE raw LIKE '%d@example.cz%')
              + (SELECT COUNT(*) FROM contacts WHERE email = 'd@example.cz')",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(traces, 0);
    let orders_kept: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE customer_email = ?")
            .bind(&marker)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(orders_kept, 1, "the order history stays");

    // Left on the page: "a" (still without a confirmed list, checked again) and "e".
    eventually("the moved contacts are checked again", || async {
        let page = contacts_page(&app, &operator, connection).await;
        emails(&page) == ["a@example.cz", "e@example.cz"]
    })
    .await;
    let actions: Vec<String> = app
        .audit_actions()
        .await
        .into_iter()
        .map(|(action, ..)| action)
        .filter(|a| a.starts_with("contacts."))
        .collect();
    assert_eq!(
        actions,
        ["contacts.move", "contacts.blacklist", "contacts.delete"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_during_an_action_leave_a_result_per_contact_and_a_changed_set_is_refused() {
    let app = spawn_app().await;
    let (_admin, connection) = synced_buyers(&app, &["x@example.cz", "y@example.cz"]).await;
    let operator = app.signed_in("operator@example.cz", Role::Operator).await;

    // The user confirmed 3 contacts, but only 2 match now: nothing starts.
    assert_eq!(
        error_of(
            bulk(
                &app,
                &operator,
                connection,
                &[
                    ("action", "blacklist"),
                    ("selected", "all"),
                    ("expected", "3"),
                    ("request_key", "k1")
                ],
            )
            .await
        )
        .await,
        json!({"Invalid": {"CountChanged": {"now": 2}}})
    );

    app.smartemailing.behaviour.set_faults(FaultConfig {
        server_error_rate: 1.0,
        ..Default::default()
    });
    let job: i64 = bulk(
        &app,
        &operator,
        connection,
        &[
            ("action", "blacklist"),
            ("selected", "all"),
            ("expected", "2"),
            ("request_key", "k2"),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    let detail = job_done(&app, &operator, job).await;
    app.smartemailing.behaviour.clear_faults();
    assert_eq!(detail["job"]["failed"], 2);
    for item in detail["items"].as_array().unwrap() {
        assert_eq!(item["status"], "failed");
        assert!(
            item["message"]
                .as_str()
                .unwrap()
                .contains("SmartEmailing failed (503)"),
            "the reason is kept: {item}"
        );
    }
    let store = app.smartemailing.store.lock().unwrap();
    assert!(store.contacts.values().all(|c| !c.blacklisted));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buyers_of_a_historical_sync_are_checked_and_listed() {
    let app = spawn_app().await;
    {
        let now = app.clock.now();
        app.fapi.store.lock().unwrap().generate(
            120,
            now - chrono::Duration::days(200),
            now - chrono::Duration::days(1),
        );
    }
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    let connection = app.create_connection(&admin, "Obchod").await;
    let run: i64 = app
        .call(
            &admin,
            "start_historical_sync",
            &[("connection", &connection.to_string()), ("confirm", "yes")],
        )
        .await
        .json()
        .await
        .unwrap();
    let buyers: i64 = {
        eventually("the sync completes", || async {
            let status: String = sqlx::query_scalar("SELECT status FROM sync_runs WHERE id = ?")
                .bind(run)
                .fetch_one(&app.db)
                .await
                .unwrap();
            status == "completed"
        })
        .await;
        sqlx::query_scalar(
            "SELECT COUNT(DISTINCT customer_email) FROM orders WHERE sync_status = 'synced'",
        )
        .fetch_one(&app.db)
        .await
        .unwrap()
    };
    assert!(buyers > 50, "{buyers}");
    eventually("every buyer is listed as in no list", || async {
        contacts_page(&app, &admin, connection).await["matching"] == buyers
    })
    .await;
}

/// Opening Contacts from the menu sends an empty filter, which the form encoding sends as no
/// fields at all (it answered 500 "missing field `filter`" before). Arguments the server cannot
/// read are the client's fault: 400 with the parser's message, never 500.
#[tokio::test]
async fn an_empty_filter_is_no_filter_and_unreadable_arguments_are_a_400() {
    let app = spawn_app().await;
    let viewer = app.signed_in("viewer@example.cz", Role::Viewer).await;

    let response = app.call(&viewer, "list_contacts", &[]).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);

    let response = app.call(&viewer, "list_orders", &[]).await;
    assert_eq!(response.status(), 200);

    let response = app
        .call(&viewer, "list_contacts", &[("page", "first")])
        .await;
    assert_eq!(response.status(), 400);
    let error = error_of(response).await;
    let message = error["BadRequest"].as_str().unwrap_or_default();
    assert!(
        message.contains("invalid digit"),
        "the parser's message: {error}"
    );
}
