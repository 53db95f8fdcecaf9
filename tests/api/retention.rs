//! What the bridge keeps, and for how long: finished notifications 30 days, push attempts of
//! synced orders 90 days, alerts and finished e-mails 90 days, the audit log a year; the WAL shrinks back after a burst; a
//! notification FAPI sends again costs no FAPI request.

use chrono::Duration;
use fapi_bridge::platform::clock::{Clock, ManualClock};

use crate::helpers::{eventually, spawn_app, spawn_app_in, start_time};

/// FAPI sends a notification again when our answer was slow or lost. A repeat of one already
/// processed is answered 200 and recorded, but the invoice is not fetched again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_notification_is_answered_without_asking_fapi() {
    let app = spawn_app().await;
    let (_admin, _connection, webhook) = app.forwarding_connection().await;
    let invoice = app.new_fapi_order(None);
    let (time, security) = app
        .fapi
        .store
        .lock()
        .unwrap()
        .notification(invoice, Clock::now(&app.clock).timestamp())
        .unwrap();
    let form = [
        ("id", invoice.to_string()),
        ("time", time),
        ("security", security),
    ];
    let client = reqwest::Client::new();
    let processed = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM notifications WHERE invoice_id = ? AND status = 'processed'",
        )
        .bind(invoice)
        .fetch_one(&app.db)
        .await
        .unwrap()
    };
    let first = client.post(&webhook).form(&form).send().await.unwrap();
    assert_eq!(first.status(), 200);
    eventually("the notification is processed", || async {
        processed().await == 1
    })
    .await;
    let again = client.post(&webhook).form(&form).send().await.unwrap();
    assert_eq!(again.status(), 200);
    eventually("the repeat is processed too", || async {
        processed().await == 2
    })
    .await;

    let fetched = app
        .fapi
        .behaviour
        .requests_to("GET", &format!("/invoices/{invoice}"))
        .len();
    assert_eq!(fetched, 1, "FAPI was asked once");
    let (reason, order): (Option<String>, Option<i64>) = sqlx::query_as(
        "SELECT status_reason, order_id FROM notifications WHERE invoice_id = ? ORDER BY id DESC",
    )
    .bind(invoice)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        reason.as_deref(),
        Some("a repeat of a notification already processed")
    );
    assert!(order.is_some(), "the repeat points at the order");
}

/// Nothing was ever deleted. Past their retention, finished notifications, attempts of synced
/// orders and audit entries go (in small batches, at start and hourly); what is still needed
/// stays: recent rows, waiting notifications, the attempts of an order that is not synced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_past_their_retention_are_deleted_and_the_rest_is_kept() {
    let app = spawn_app().await;
    let (_admin, connection, _webhook) = app.forwarding_connection().await;
    let now = start_time();
    let db = app.db.clone();
    let days = |n: i64| now - Duration::days(n);
    for (age, status) in [
        (31, "processed"),
        (31, "rejected"),
        (31, "queued"),
        (29, "processed"),
    ] {
        sqlx::query(
            "INSERT INTO notifications (connection_id, received_at, raw_body, status, next_attempt_at)
             VALUES (?, ?, 'id=1', ?, ?)",
        )
        .bind(connection)
        .bind(days(age))
        .bind(status)
        .bind(days(age) + Duration::days(100))
        .execute(&db)
        .await
        .unwrap();
    }
    for (code, status) in [("synced", "synced"), ("failed", "failed")] {
        let order: i64 = sqlx::query_scalar(
            "INSERT INTO orders (connection_id, order_key, eshop_code, fapi_state, sync_status, source,
                 attempts, first_seen_at, updated_at)
             VALUES (?, ?, ?, 'paid', ?, 'webhook', 1, ?, ?) RETURNING id",
        )
        .bind(connection)
        .bind(code)
        .bind(code)
        .bind(status)
        .bind(days(100))
        .bind(days(100))
        .fetch_one(&db)
        .await
        .unwrap();
        for age in [91, 89] {
            sqlx::query(
                "INSERT INTO order_attempts (order_id, at, outcome) VALUES (?, ?, 'retry')",
            )
            .bind(order)
            .bind(days(age))
            .execute(&db)
            .await
            .unwrap();
        }
    }
    for (age, status) in [(91, "sent"), (91, "failed"), (91, "queued"), (89, "sent")] {
        sqlx::query(
            "INSERT INTO emails (kind, to_address, subject, body_text, body_html, status,
                 next_attempt_at, created_at)
             VALUES ('alert', 'jana@example.cz', ?, '', '', ?, ?, ?)",
        )
        .bind(format!("{status} {age}"))
        .bind(status)
        .bind(days(age))
        .bind(days(age))
        .execute(&db)
        .await
        .unwrap();
    }
    for age in [91, 89] {
        sqlx::query("INSERT INTO alerts (kind, details, created_at) VALUES ('credentials', ?, ?)")
            .bind(format!("{{\"count\": {age}}}"))
            .bind(days(age))
            .execute(&db)
            .await
            .unwrap();
    }
    for age in [366, 364] {
        sqlx::query("INSERT INTO audit_log (at, action) VALUES (?, 'old.entry')")
            .bind(days(age))
            .execute(&db)
            .await
            .unwrap();
    }
    // The retention pass runs at start (and then hourly).
    let data_dir = app.stop().await;
    let app = spawn_app_in(data_dir, ManualClock::new(now), 0).await;

    let count = |sql: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    eventually("expired records are deleted", || async {
        count("SELECT COUNT(*) FROM audit_log WHERE action = 'old.entry'").await == 1
    })
    .await;
    let notifications: Vec<(String, String)> = sqlx::query_as(
        "SELECT status, received_at FROM notifications WHERE raw_body = 'id=1' ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let kept: Vec<&str> = notifications.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        kept,
        ["queued", "processed"],
        "the old queued one and the recent one"
    );
    let attempts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT o.eshop_code, COUNT(*) FROM order_attempts a JOIN orders o ON o.id = a.order_id
         WHERE o.eshop_code IN ('synced', 'failed') GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        attempts,
        [("failed".to_string(), 2), ("synced".to_string(), 1)]
    );
    let emails: Vec<String> = sqlx::query_scalar("SELECT subject FROM emails ORDER BY id")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(
        emails,
        ["queued 91", "sent 89"],
        "the waiting one and the recent one"
    );
    let alerts: Vec<String> =
        sqlx::query_scalar("SELECT details FROM alerts WHERE kind = 'credentials' ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(alerts, [r#"{"count": 89}"#]);
}

/// Without a limit the WAL file kept the size of its largest burst for ever.
#[tokio::test]
async fn the_wal_file_shrinks_back_after_a_burst() {
    let app = spawn_app().await;
    let limit: i64 = sqlx::query_scalar("PRAGMA journal_size_limit")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(limit, 64 * 1024 * 1024, "64 MiB, as the README says");
}
