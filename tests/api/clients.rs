//! The FAPI and SmartEmailing clients against the simulators, over real HTTP.

use std::net::SocketAddr;
use std::time::Duration;

use fapi_bridge::fapi::{FapiClient, FapiCredentials, FapiError, InvoiceQuery};
use fapi_bridge::platform::http::{HttpSettings, RetryPolicy};
use fapi_bridge::simulators::RunningSimulator;
use fapi_bridge::simulators::fapi::{self as fapi_sim, FapiSimulator};
use fapi_bridge::simulators::faults::FaultConfig;
use fapi_bridge::simulators::smartemailing::{self as se_sim, SmartEmailingSimulator};
use fapi_bridge::smartemailing::{
    Blacklist, CancelledSpelling, ContactImport, ContactQuery, ForgetOutcome, ImportSettings,
    ListMembership, ListStatus, OrderImport, OrderStatus, SeCredentials, SeError,
    SmartEmailingClient,
};

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub fn quick_settings() -> HttpSettings {
    HttpSettings {
        timeout: Duration::from_millis(800),
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        },
        smartemailing_requests_per_second: 1000,
    }
}

async fn fapi() -> (FapiSimulator, RunningSimulator, FapiClient) {
    let sim = FapiSimulator::with_default_account(1);
    {
        let mut store = sim.store.lock().unwrap();
        let now = chrono::Utc::now();
        store.generate(250, now - chrono::Duration::days(30), now);
    }
    let running = RunningSimulator::start(sim.router(), any_port())
        .await
        .unwrap();
    let credentials = FapiCredentials {
        login: fapi_sim::DEFAULT_LOGIN.into(),
        api_key: fapi_sim::DEFAULT_API_KEY.into(),
    };
    let client = FapiClient::new(&running.base_url(), credentials, &quick_settings());
    (sim, running, client)
}

async fn smartemailing() -> (
    SmartEmailingSimulator,
    RunningSimulator,
    SmartEmailingClient,
) {
    let sim = SmartEmailingSimulator::with_default_account();
    let running = RunningSimulator::start(sim.router(), any_port())
        .await
        .unwrap();
    let credentials = SeCredentials {
        username: se_sim::DEFAULT_USERNAME.into(),
        api_key: se_sim::DEFAULT_API_KEY.into(),
    };
    let client = SmartEmailingClient::new(
        &format!("{}/api/v3", running.base_url()),
        credentials,
        &quick_settings(),
    );
    (sim, running, client)
}

fn order(email: &str, code: usize, status: OrderStatus) -> OrderImport {
    OrderImport {
        emailaddress: email.into(),
        eshop_name: "fapi-test".into(),
        eshop_code: code.to_string(),
        created_at: "2026-11-01 10:00:00".into(),
        paid_at: None,
        status,
        attributes: vec![],
        items: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fapi_credentials_are_checked_and_errors_keep_fapis_message() {
    let (_sim, running, client) = fapi().await;
    client.check_credentials().await.unwrap();

    let wrong = FapiClient::new(
        &running.base_url(),
        FapiCredentials {
            login: fapi_sim::DEFAULT_LOGIN.into(),
            api_key: "wrong".into(),
        },
        &quick_settings(),
    );
    assert_eq!(
        wrong.check_credentials().await.unwrap_err(),
        FapiError::Unauthorized {
            status: 401,
            message: "Invalid password.".into(),
            kind: Some("AuthenticationException".into())
        }
    );
    let missing = client.invoice(1).await.unwrap_err();
    assert_eq!(missing.status(), Some(404));
    assert!(
        missing
            .to_string()
            .contains("Specified resource does not exist."),
        "{missing}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fapi_invoices_page_and_count() {
    let (sim, _running, client) = fapi().await;
    // An account that allows pages of 1000 (the last request below asks for one).
    sim.store.lock().unwrap().max_page_size = 1000;
    let total = sim.store.lock().unwrap().invoices.len() as u64;
    assert_eq!(
        client
            .count_invoices(&InvoiceQuery::default())
            .await
            .unwrap(),
        total
    );

    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let page = client
            .list_invoices(&InvoiceQuery {
                limit: Some(100),
                offset: Some(offset),
                order: Some("id".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        seen.extend(page.iter().map(|i| i.id));
        if page.len() < 100 {
            break;
        }
        offset += 100;
    }
    assert_eq!(seen.len() as u64, total);
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "ascending ids, no repeats"
    );

    // Documents changed after a moment: what reconciliation will ask for.
    let cutoff = chrono::Utc::now() - chrono::Duration::days(5);
    let recent = client
        .list_invoices(&InvoiceQuery {
            last_modified_after: Some(cutoff),
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap();
    let expected = sim
        .store
        .lock()
        .unwrap()
        .invoices
        .values()
        .filter(|i| i.last_modified_on >= cutoff - chrono::Duration::seconds(1))
        .count();
    assert!(
        recent
            .iter()
            .all(|i| i.last_modified_on.unwrap() >= cutoff - chrono::Duration::seconds(1))
    );
    assert!(recent.len() <= expected && !recent.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fapi_gets_are_retried_on_5xx_and_fail_on_timeouts() {
    let (sim, _running, client) = fapi().await;
    sim.behaviour.set_faults(FaultConfig {
        server_error_rate: 1.0,
        remaining: Some(2),
        ..Default::default()
    });
    client
        .check_credentials()
        .await
        .expect("the third attempt succeeds");
    assert_eq!(sim.behaviour.requests_to("GET", "/").len(), 3);

    sim.behaviour.set_faults(FaultConfig {
        server_error_rate: 1.0,
        ..Default::default()
    });
    let error = client.check_credentials().await.unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert!(error.is_transient());

    sim.behaviour.set_faults(FaultConfig {
        hang_rate: 1.0,
        hang_ms: 2_000,
        ..Default::default()
    });
    let error = client.check_credentials().await.unwrap_err();
    assert!(matches!(error, FapiError::Timeout(_)), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoice_without_id_is_reported_with_the_field() {
    let (sim, _running, client) = fapi().await;
    sim.store
        .lock()
        .unwrap()
        .raw_overrides
        .insert(42, serde_json::json!({"number": "2026000042", "items": []}));
    let error = client.invoice(42).await.unwrap_err();
    assert!(
        matches!(&error, FapiError::Decode(message) if message.contains("`id` is missing")),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smartemailing_credentials_are_checked() {
    let (_sim, running, client) = smartemailing().await;
    assert_eq!(client.check_credentials().await.unwrap(), 2);
    let wrong = SmartEmailingClient::new(
        &format!("{}/api/v3", running.base_url()),
        SeCredentials {
            username: se_sim::DEFAULT_USERNAME.into(),
            api_key: "wrong".into(),
        },
        &quick_settings(),
    );
    assert_eq!(
        wrong.check_credentials().await.unwrap_err(),
        SeError::Unauthorized {
            status: 401,
            message: "Authentication Failed".into()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_calls_are_split_into_batches_of_500() {
    let (sim, _running, client) = smartemailing().await;
    let contacts: Vec<ContactImport> = (0..1_201)
        .map(|i| ContactImport {
            emailaddress: format!("buyer{i}@example.cz"),
            ..Default::default()
        })
        .collect();
    let map = client
        .import_contacts(&contacts, &ImportSettings::default())
        .await
        .unwrap();
    assert_eq!(map.len(), 1_201);
    let imports = sim.behaviour.requests_to("POST", "/api/v3/import");
    assert_eq!(imports.len(), 3);
    let sizes: Vec<usize> = imports
        .iter()
        .map(|r| {
            serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["data"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(sizes, vec![500, 500, 201]);
    assert!(
        imports.iter().all(|r| !r.body.contains("blacklisted")),
        "never sent unasked"
    );

    let orders: Vec<OrderImport> = (0..1_001)
        .map(|i| order(&format!("buyer{i}@example.cz"), i, OrderStatus::Placed))
        .collect();
    client
        .import_orders(&orders, CancelledSpelling::Cancelled)
        .await
        .unwrap();
    assert_eq!(
        sim.behaviour
            .requests_to("POST", "/api/v3/import-orders")
            .len(),
        3
    );
    assert_eq!(sim.store.lock().unwrap().orders.len(), 1_001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_order_key_updates_the_order() {
    let (sim, _running, client) = smartemailing().await;
    client
        .import_orders(
            &[order("jana@example.cz", 7, OrderStatus::Placed)],
            CancelledSpelling::Cancelled,
        )
        .await
        .unwrap();
    client
        .import_orders(
            &[order("jana@example.cz", 7, OrderStatus::Processing)],
            CancelledSpelling::Cancelled,
        )
        .await
        .unwrap();
    let store = sim.store.lock().unwrap();
    assert_eq!(store.orders.len(), 1);
    let stored = store.orders.values().next().unwrap();
    assert_eq!(stored.body["status"], "processing");
    assert_eq!(stored.received, 2);
    assert!(
        store.contact("jana@example.cz").unwrap().lists.is_empty(),
        "an order alone leaves the contact list-less"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smartemailing_429_is_retried_after_retry_after() {
    let (sim, _running, client) = smartemailing().await;
    sim.behaviour.set_faults(FaultConfig {
        rate_limit_rate: 1.0,
        retry_after_secs: 1,
        remaining: Some(1),
        ..Default::default()
    });
    let started = std::time::Instant::now();
    client
        .check_credentials()
        .await
        .expect("succeeds after waiting");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(
        sim.behaviour
            .requests_to("GET", "/api/v3/check-credentials")
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smartemailing_5xx_and_errors_inside_2xx_are_retried_then_reported() {
    let (sim, _running, client) = smartemailing().await;
    sim.behaviour.set_faults(FaultConfig {
        server_error_rate: 1.0,
        remaining: Some(2),
        ..Default::default()
    });
    client
        .check_credentials()
        .await
        .expect("third attempt succeeds");

    sim.behaviour.set_faults(FaultConfig {
        error_in_body_rate: 1.0,
        ..Default::default()
    });
    let error = client
        .import_orders(
            &[order("jana@example.cz", 1, OrderStatus::Placed)],
            CancelledSpelling::Cancelled,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, SeError::ErrorInBody { status: 200, .. }),
        "{error:?}"
    );
    assert!(sim.store.lock().unwrap().orders.is_empty());

    sim.behaviour.set_faults(FaultConfig {
        hang_rate: 1.0,
        hang_ms: 2_000,
        ..Default::default()
    });
    assert!(matches!(
        client.check_credentials().await.unwrap_err(),
        SeError::Timeout(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_are_not_retried_and_carry_the_message() {
    let (sim, _running, client) = smartemailing().await;
    let error = client
        .import_orders(
            &[order("invalid@email@gmail.com", 1, OrderStatus::Placed)],
            CancelledSpelling::Cancelled,
        )
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SeError::Rejected {
            status: 422,
            message: "Emailaddress invalid@email@gmail.com is not valid email address.".into()
        }
    );
    assert!(!error.is_transient());
    assert_eq!(
        sim.behaviour
            .requests_to("POST", "/api/v3/import-orders")
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_contacts_blacklist_and_forget() {
    let (sim, _running, client) = smartemailing().await;
    let lists = client.contact_lists().await.unwrap();
    assert_eq!(
        lists.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        vec!["Zákazníci", "Newsletter"]
    );
    let customers = lists[0].id;

    let jana = ContactImport {
        emailaddress: "jana@example.cz".into(),
        contactlists: vec![ListMembership {
            id: customers,
            status: ListStatus::Confirmed,
        }],
        ..Default::default()
    };
    let map = client
        .import_contacts(std::slice::from_ref(&jana), &ImportSettings::default())
        .await
        .unwrap();
    let page = client
        .contacts(&ContactQuery {
            limit: 500,
            emailaddress: Some("jana@example.cz".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total_count, 1);
    assert!(page.contacts[0].in_a_list());

    // Unsubscribed stays unsubscribed when imported as confirmed with preserve_unsubscribed.
    sim.store.lock().unwrap().set_membership(
        "jana@example.cz",
        customers,
        ListStatus::Unsubscribed,
    );
    client
        .import_contacts(std::slice::from_ref(&jana), &ImportSettings::default())
        .await
        .unwrap();
    assert_eq!(
        sim.store
            .lock()
            .unwrap()
            .contact("jana@example.cz")
            .unwrap()
            .lists[&customers],
        ListStatus::Unsubscribed
    );

    let blacklisted = ContactImport {
        blacklisted: Some(Blacklist),
        ..jana
    };
    client
        .import_contacts(&[blacklisted], &ImportSettings::default())
        .await
        .unwrap();
    assert!(
        sim.store
            .lock()
            .unwrap()
            .contact("jana@example.cz")
            .unwrap()
            .blacklisted
    );

    assert_eq!(
        client.forget_contact(map[0].contact_id).await.unwrap(),
        ForgetOutcome::Forgotten
    );
    assert_eq!(
        client.forget_contact(map[0].contact_id).await.unwrap(),
        ForgetOutcome::AlreadyGone
    );
    assert!(
        sim.store
            .lock()
            .unwrap()
            .contact("jana@example.cz")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smartemailing_requests_are_paced_per_account() {
    let sim = SmartEmailingSimulator::with_default_account();
    let running = RunningSimulator::start(sim.router(), any_port())
        .await
        .unwrap();
    let mut settings = quick_settings();
    settings.smartemailing_requests_per_second = 5;
    let client = SmartEmailingClient::new(
        &format!("{}/api/v3", running.base_url()),
        SeCredentials {
            username: "paced@example.cz".into(),
            api_key: "k".into(),
        },
        &settings,
    );
    let started = std::time::Instant::now();
    for _ in 0..11 {
        let _ = client.check_credentials().await;
    }
    // 5 per second (a burst of 5, then one every 200 ms): the 11th request cannot start
    // before 6 × 200 ms have passed.
    assert!(
        started.elapsed() >= Duration::from_millis(1_150),
        "{:?}",
        started.elapsed()
    );
}
