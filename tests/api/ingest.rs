//! Ingesting documents in batches (the historical sync's pages, the notification workers'
//! batches) ends exactly as ingesting them one at a time.

use fapi_bridge::connections;
use fapi_bridge::model::Role;
use fapi_bridge::sync::ingest::{self, Ingested, ParsedDocument};
use fapi_bridge::sync::mapping::Source;
use serde_json::Value;

use crate::helpers::{TestApp, connection_form, spawn_app};

/// Every document of the simulated account in id order, with repeats and older copies mixed
/// in (late notifications): an older copy of a paid invoice says it is unpaid.
fn documents_with_late_copies(app: &TestApp) -> Vec<Value> {
    let now = fapi_bridge::platform::clock::Clock::now(&app.clock);
    let mut store = app.fapi.store.lock().unwrap();
    store.generate(
        150,
        now - chrono::Duration::days(90),
        now - chrono::Duration::days(1),
    );
    let mut documents = Vec::new();
    // Every third order's documents do not name their FAPI order, so their order comes from
    // their parent documents; in every sixth, the first document arrives after the second.
    let mut held_back: std::collections::HashMap<i64, Value> = Default::default();
    for (position, invoice) in store.invoices.values().enumerate() {
        let mut current = store.invoice_json(invoice.id).unwrap();
        let order = invoice.new_order;
        if order % 3 == 0 {
            current["new_order"] = Value::Null;
        }
        if order % 6 == 0 && invoice.parent.is_none() {
            held_back.insert(order, current);
            continue;
        }
        documents.push(current.clone());
        documents.extend(held_back.remove(&order));
        if position % 7 == 0 {
            documents.push(current.clone());
        }
        if position % 5 == 0 && current["paid"] == true {
            let mut older = current;
            older["paid"] = Value::Bool(false);
            older["last_modified_on"] = Value::String("2001-01-01 00:00:00".into());
            documents.push(older);
        }
    }
    documents.extend(held_back.into_values());
    documents
}

/// Orders and documents of a connection, a row each, named by order key (ids differ between
/// connections).
async fn stored(app: &TestApp, connection: i64) -> (Vec<String>, Vec<String>) {
    let orders = sqlx::query_scalar(
        "SELECT json_array(order_key, eshop_code, customer_email, total, currency, fapi_state,
                sync_status, status_reason, source, fapi_numbers, payload, payload_hash,
                fapi_created_at, run_id, next_attempt_at IS NOT NULL)
         FROM orders WHERE connection_id = ? ORDER BY order_key",
    )
    .bind(connection)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let documents = sqlx::query_scalar(
        "SELECT json_array(d.invoice_id, o.order_key, d.number, d.kind, d.last_modified_on, d.raw)
         FROM order_documents d JOIN orders o ON o.id = d.order_id
         WHERE d.connection_id = ? ORDER BY d.invoice_id",
    )
    .bind(connection)
    .fetch_all(&app.db)
    .await
    .unwrap();
    (orders, documents)
}

/// Equal rows, or the first row that differs.
fn assert_same<T: PartialEq + std::fmt::Debug>(batched: &[T], one_by_one: &[T], what: &str) {
    assert_eq!(batched.len(), one_by_one.len(), "{what}: count");
    if let Some((b, o)) = batched.iter().zip(one_by_one).find(|(b, o)| b != o) {
        panic!("{what}: batched {b:?}\n one by one {o:?}");
    }
}

/// An outcome without the order id, which differs between connections.
fn outcome_kind(outcome: &Ingested) -> String {
    match outcome {
        Ingested::Queued { new_order, .. } => format!("queued new={new_order}"),
        Ingested::Unchanged { .. } => "unchanged".into(),
        Ingested::Skipped { reason, .. } => format!("skipped {reason}"),
        Ingested::Failed { reason, .. } => format!("failed {reason}"),
    }
}

/// A connection whose e-shop name is the same as every other's made here, so that the
/// payloads of two connections compare equal.
async fn same_eshop_connection(app: &TestApp, admin: &reqwest::Client, name: &str) -> i64 {
    let mut form = connection_form(name);
    form.retain(|(field, _)| *field != "eshop_name");
    form.push(("eshop_name", "eshop".to_string()));
    app.call_owned(admin, "create_connection", &form)
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_ends_as_its_documents_one_at_a_time() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    let one_by_one = same_eshop_connection(&app, &admin, "One by one").await;
    let batched = same_eshop_connection(&app, &admin, "Batched").await;
    let documents = documents_with_late_copies(&app);
    assert!(documents.len() > 250, "{} documents", documents.len());

    // Ingested "tomorrow": the queued orders are not due yet, so the push worker leaves them.
    let now = app.ctx.clock.now() + chrono::Duration::days(1);
    for source in [Source::Webhook, Source::HistoricalSync] {
        let single = connections::find(&app.db, one_by_one).await.unwrap();
        let mut singly = Vec::new();
        for raw in &documents {
            let mut tx = app.db.begin_with("BEGIN IMMEDIATE").await.unwrap();
            let outcome = ingest::ingest_in(
                &mut tx,
                now,
                &app.ctx.secret_key,
                &single,
                raw,
                source,
                None,
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            singly.push(outcome_kind(&outcome));
        }

        // Batches of 37: an order's documents often fall into two batches.
        let batch = connections::find(&app.db, batched).await.unwrap();
        let mut together = Vec::new();
        for chunk in documents.chunks(37) {
            let mut tx = app.db.begin_with("BEGIN IMMEDIATE").await.unwrap();
            let parsed = chunk.iter().map(ParsedDocument::parse).collect();
            let outcomes = ingest::ingest_batch(
                &mut tx,
                now,
                &app.ctx.secret_key,
                &batch,
                parsed,
                source,
                None,
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            together.extend(outcomes.iter().map(|o| outcome_kind(o.as_ref().unwrap())));
        }

        assert_eq!(together, singly, "outcomes of a {source:?} pass");
        assert!(
            singly.iter().any(|o| o == "unchanged"),
            "older copies change nothing"
        );
        let (orders_one, documents_one) = stored(&app, one_by_one).await;
        let (orders_batched, documents_batched) = stored(&app, batched).await;
        assert_same(
            &orders_batched,
            &orders_one,
            &format!("orders after a {source:?} pass"),
        );
        assert_same(
            &documents_batched,
            &documents_one,
            &format!("documents after a {source:?} pass"),
        );
        assert!(orders_one.len() >= 150, "{} orders", orders_one.len());
        let joined_through_parent: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM order_documents d JOIN orders o ON o.id = d.order_id
             WHERE o.connection_id = ? AND o.order_key LIKE 'doc-%'
               AND d.invoice_id != CAST(substr(o.order_key, 5) AS INTEGER)",
        )
        .bind(batched)
        .fetch_one(&app.db)
        .await
        .unwrap();
        assert!(
            joined_through_parent > 10,
            "{joined_through_parent} documents found their order through a parent"
        );
    }
}
