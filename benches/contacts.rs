//! Contacts benchmark (not a test): run with
//!
//!     cargo bench --features ssr --bench contacts
//!
//! "Refresh from SmartEmailing" over 50,000 contacts: the SmartEmailing simulator holds 50,000
//! contacts (every third in a list), the bridge knows all of them; the refresh pages through
//! them (500 a page) and updates each. Reports the wall time and the requests sent.

use std::time::{Duration, Instant};

use fapi_bridge::accounts::audit::Actor;
use fapi_bridge::simulators::RunningSimulator;
use fapi_bridge::simulators::fapi::FapiSimulator;
use fapi_bridge::simulators::smartemailing::SmartEmailingSimulator;
use fapi_bridge::smartemailing::ListStatus;

mod support;

const CONTACTS: i64 = 50_000;

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let any = "127.0.0.1:0".parse().unwrap();
    let fapi = RunningSimulator::start(FapiSimulator::with_default_account(1).router(), any)
        .await
        .unwrap();
    let smartemailing = SmartEmailingSimulator::with_default_account();
    {
        let mut store = smartemailing.store.lock().unwrap();
        let list = *store.lists.keys().next().unwrap();
        for n in 0..CONTACTS {
            let contact = store.contact_or_create(&format!("kupujici{n}@example.cz"));
            if n % 3 == 0 {
                contact.lists.insert(list, ListStatus::Confirmed);
            }
        }
    }
    let se = RunningSimulator::start(smartemailing.router(), any)
        .await
        .unwrap();
    let app = support::build_app(dir.path(), &fapi.base_url(), &se.base_url(), &[]).await;
    let state = app.context().clone();
    let connection = support::connect(&state, "Bench").await;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
         INSERT INTO contacts (connection_id, email, check_due) SELECT ?2, 'kupujici' || i || '@example.cz', 0 FROM n",
    )
    .bind(CONTACTS)
    .bind(connection)
    .execute(&state.db)
    .await
    .unwrap();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    smartemailing.behaviour.clear_requests();

    let started = Instant::now();
    let job =
        fapi_bridge::contacts::jobs::start_refresh(&state, &Actor::system("bench"), connection)
            .await
            .unwrap();
    loop {
        let status: String = sqlx::query_scalar("SELECT status FROM contact_jobs WHERE id = ?")
            .bind(job)
            .fetch_one(&state.db)
            .await
            .unwrap();
        if status == "completed" || status == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let (updated, without_list): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT succeeded FROM contact_jobs WHERE id = ?),
                (SELECT COUNT(*) FROM contacts WHERE in_list = 0)",
    )
    .bind(job)
    .fetch_one(&state.db)
    .await
    .unwrap();
    println!(
        "refresh of {CONTACTS} SmartEmailing contacts: {:.2} s, {} requests to GET /contacts, {updated} contacts updated, {without_list} without a list",
        elapsed.as_secs_f64(),
        smartemailing
            .behaviour
            .requests_to("GET", "/api/v3/contacts")
            .len()
    );
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}
