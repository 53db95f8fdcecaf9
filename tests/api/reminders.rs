//! Engagement reminders, the Overview and the health probes.
//!
//! The test clock starts on Sunday 2026-11-29 at 10:00 Prague time (09:00 UTC), before that
//! evening's engagement recalculation.

use chrono::{DateTime, Duration, Utc};
use fapi_bridge::model::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of, spawn_app, spawn_app_in, start_time};

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

async fn json_of(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200, "{:?}", response.url().path());
    response.json().await.unwrap()
}

/// A connection plus an operator and a viewer; (admin, operator, viewer, connection id).
async fn team_with_connection(
    app: &TestApp,
) -> (reqwest::Client, reqwest::Client, reqwest::Client, i64) {
    let admin = app.signed_in("admin@example.cz", Role::Admin).await;
    let connection = app.create_connection(&admin, "Obchod").await;
    let operator = app.signed_in("operator@example.cz", Role::Operator).await;
    let viewer = app.signed_in("viewer@example.cz", Role::Viewer).await;
    (admin, operator, viewer, connection)
}

async fn schedule(app: &TestApp, client: &reqwest::Client, connection: i64) -> reqwest::Response {
    app.call(
        client,
        "schedule_reminder",
        &[
            ("connection", &connection.to_string()),
            ("note", "Připravit scénář"),
        ],
    )
    .await
}

async fn due_ids(app: &TestApp, client: &reqwest::Client) -> Vec<i64> {
    let due = json_of(app.call(client, "due_reminders", &[]).await).await;
    due["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

async fn reminder_state(app: &TestApp, client: &reqwest::Client, id: i64) -> Value {
    let page = json_of(app.call(client, "list_reminders", &[]).await).await;
    page["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .expect("the reminder is listed")
}

async fn finish(
    app: &TestApp,
    client: &reqwest::Client,
    id: i64,
    action: &str,
) -> reqwest::Response {
    app.call(
        client,
        "finish_reminder",
        &[("id", &id.to_string()), ("action", action)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_falls_due_on_monday_shows_to_everyone_and_is_marked_done_once() {
    let app = spawn_app().await;
    let (_admin, operator, viewer, connection) = team_with_connection(&app).await;

    // Before confirming, the operator sees the exact due time: Monday 30 November, 09:00.
    let plan = json_of(
        app.call(
            &operator,
            "plan_reminder",
            &[("connection", &connection.to_string())],
        )
        .await,
    )
    .await;
    assert_eq!(plan["due_at"]["utc"], "2026-11-30T08:00:00Z");
    assert_eq!(plan["due_at"]["prague"], "30. 11. 2026 09:00");
    assert_eq!(plan["recalculation"]["prague"], "29. 11. 2026 18:00");
    assert_eq!(plan["after_run"], Value::Null);

    // Viewers read but do not schedule.
    assert_eq!(schedule(&app, &viewer, connection).await.status(), 403);
    let id: i64 = json_of(schedule(&app, &operator, connection).await)
        .await
        .as_i64()
        .unwrap();
    // A double submit schedules once.
    let again: i64 = json_of(schedule(&app, &operator, connection).await)
        .await
        .as_i64()
        .unwrap();
    assert_eq!(again, id);
    let reminder = reminder_state(&app, &viewer, id).await;
    assert_eq!(reminder["state"], "upcoming");
    assert_eq!(reminder["note"], "Připravit scénář");
    assert_eq!(reminder["created_by"], "operator@example.cz");
    assert!(due_ids(&app, &viewer).await.is_empty());
    assert_eq!(
        error_of(finish(&app, &operator, id, "done").await).await,
        json!({"Invalid": "ReminderNotDue"})
    );

    // A minute before nine nothing is due; at nine every user sees the reminder.
    app.clock.set(utc("2026-11-30T07:59:00Z"));
    assert!(due_ids(&app, &viewer).await.is_empty());
    app.clock.set(utc("2026-11-30T08:00:00Z"));
    assert_eq!(due_ids(&app, &viewer).await, vec![id]);
    assert_eq!(due_ids(&app, &operator).await, vec![id]);
    assert_eq!(reminder_state(&app, &viewer, id).await["state"], "due");

    // A due reminder is marked done, not cancelled; viewers cannot close it.
    assert_eq!(
        error_of(finish(&app, &operator, id, "cancel").await).await,
        json!({"Invalid": "ReminderAlreadyDue"})
    );
    assert_eq!(finish(&app, &viewer, id, "done").await.status(), 403);
    assert_eq!(finish(&app, &operator, id, "done").await.status(), 200);
    assert_eq!(finish(&app, &operator, id, "done").await.status(), 200);
    assert!(due_ids(&app, &viewer).await.is_empty());
    let reminder = reminder_state(&app, &viewer, id).await;
    assert_eq!(reminder["state"], "done");
    assert_eq!(reminder["finished_by"], "operator@example.cz");
    assert_eq!(reminder["finished_at"]["utc"], "2026-11-30T08:00:00Z");

    let actions: Vec<String> = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(action, ..)| action.starts_with("reminder."))
        .map(|(action, ..)| action)
        .collect();
    assert_eq!(actions, ["reminder.scheduled", "reminder.done"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_is_cancelled_before_it_is_due_and_then_never_shows() {
    let app = spawn_app().await;
    let (_admin, operator, viewer, connection) = team_with_connection(&app).await;
    let id: i64 = json_of(schedule(&app, &operator, connection).await)
        .await
        .as_i64()
        .unwrap();
    assert_eq!(finish(&app, &viewer, id, "cancel").await.status(), 403);
    assert_eq!(finish(&app, &operator, id, "cancel").await.status(), 200);
    assert_eq!(
        reminder_state(&app, &viewer, id).await["state"],
        "cancelled"
    );

    app.clock.set(utc("2026-12-01T08:00:00Z"));
    assert!(due_ids(&app, &viewer).await.is_empty());
    assert_eq!(
        error_of(finish(&app, &operator, id, "done").await).await,
        json!({"Invalid": "ReminderFinished"})
    );
    // Scheduling anew for the same Monday is possible once the old one is cancelled.
    let renewed: i64 = {
        app.clock.set(start_time());
        json_of(schedule(&app, &operator, connection).await)
            .await
            .as_i64()
            .unwrap()
    };
    assert_ne!(renewed, id);
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|(action, actor, ..)| action == "reminder.cancelled"
                && actor.as_deref() == Some("operator@example.cz"))
    );
}

async fn add_completed_run(app: &TestApp, connection: i64, finished: &str) -> i64 {
    sqlx::query(
        "INSERT INTO sync_runs (connection_id, kind, started_by, started_at, finished_at, status)
         VALUES (?, 'historical', 'operator@example.cz', ?, ?, 'completed')",
    )
    .bind(connection)
    .bind(utc(finished) - Duration::hours(1))
    .bind(utc(finished))
    .execute(&app.db)
    .await
    .unwrap()
    .last_insert_rowid()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_due_time_follows_the_latest_completed_sync() {
    let app = spawn_app().await;
    let (_admin, operator, _viewer, connection) = team_with_connection(&app).await;
    let plan_of = || async {
        json_of(
            app.call(
                &operator,
                "plan_reminder",
                &[("connection", &connection.to_string())],
            )
            .await,
        )
        .await
    };

    // A sync that ended on Sunday at 18:30 Prague time, while engagement was being
    // recalculated, is in next week's recalculation: the reminder is on 7 December.
    let run = add_completed_run(&app, connection, "2026-11-29T17:30:00Z").await;
    app.clock.set(utc("2026-11-29T18:00:00Z"));
    let plan = plan_of().await;
    assert_eq!(plan["after_run"], run);
    assert_eq!(plan["basis"]["utc"], "2026-11-29T17:30:00Z");
    assert_eq!(plan["due_at"]["utc"], "2026-12-07T08:00:00Z");

    // A week later the next sync, long finished, no longer decides: the rule follows now.
    app.clock.set(utc("2026-12-09T10:00:00Z"));
    let plan = plan_of().await;
    assert_eq!(plan["after_run"], Value::Null);
    assert_eq!(plan["due_at"]["utc"], "2026-12-14T08:00:00Z");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_that_fell_due_while_the_server_was_down_is_shown_after_the_restart() {
    let app = spawn_app().await;
    let (_admin, operator, _viewer, connection) = team_with_connection(&app).await;
    let id: i64 = json_of(schedule(&app, &operator, connection).await)
        .await
        .as_i64()
        .unwrap();
    let port = app.port();
    let data = app.stop().await;

    // Back up on Tuesday: Monday's reminder is due.
    let clock = fapi_bridge::platform::clock::ManualClock::new(utc("2026-12-01T12:00:00Z"));
    let app = spawn_app_in(data, clock, port).await;
    let viewer = app.client();
    let response = app
        .login(&viewer, "viewer@example.cz", crate::helpers::PASSWORD)
        .await;
    assert!(response.status().is_success() || response.status().is_redirection());
    assert_eq!(due_ids(&app, &viewer).await, vec![id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_shows_each_connections_health_from_the_database() {
    let app = spawn_app().await;
    let (admin, operator, viewer, connection) = team_with_connection(&app).await;
    let other = app.create_connection(&admin, "Druhý obchod").await;

    // Seed: 3 orders waiting, 2 failed, 4 synced on the first connection; 1 failed on the other.
    let later = start_time() + Duration::days(1);
    for (conn, status, count) in [
        (connection, "pending", 3),
        (connection, "failed", 2),
        (connection, "synced", 4),
        (other, "failed", 1),
    ] {
        for n in 0..count {
            sqlx::query(
                "INSERT INTO orders (connection_id, order_key, eshop_code, fapi_state, sync_status, source,
                                     next_attempt_at, first_seen_at, updated_at)
                 VALUES (?, ?, ?, 'paid', ?, 'webhook', ?, ?, ?)",
            )
            .bind(conn)
            .bind(format!("{status}-{n}"))
            .bind(format!("{status}-{n}"))
            .bind(status)
            .bind(later)
            .bind(start_time())
            .bind(start_time())
            .execute(&app.db)
            .await
            .unwrap();
        }
    }
    let received = utc("2026-11-29T08:15:00Z");
    sqlx::query(
        "INSERT INTO notifications (connection_id, received_at, raw_body, status) VALUES (?, ?, 'id=1', 'processed')",
    )
    .bind(connection)
    .bind(received)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO sync_runs (connection_id, kind, started_by, started_at, finished_at, status, failed)
         VALUES (?, 'historical', 'operator@example.cz', ?, ?, 'completed', 2)",
    )
    .bind(connection)
    .bind(utc("2026-11-28T10:00:00Z"))
    .bind(utc("2026-11-28T10:05:00Z"))
    .execute(&app.db)
    .await
    .unwrap();
    json_of(schedule(&app, &operator, connection).await).await;
    // Two buyers checked and found in no list, one in a list, one blacklisted.
    for (email, in_list, blacklisted) in [
        ("a@example.cz", 0, 0),
        ("b@example.cz", 0, 0),
        ("c@example.cz", 1, 0),
        ("d@example.cz", 0, 1),
    ] {
        sqlx::query(
            "INSERT INTO contacts (connection_id, email, in_list, blacklisted, check_due) VALUES (?, ?, ?, ?, 0)",
        )
        .bind(connection)
        .bind(email)
        .bind(in_list)
        .bind(blacklisted)
        .execute(&app.db)
        .await
        .unwrap();
    }

    let overview = json_of(app.call(&viewer, "overview", &[]).await).await;
    assert_eq!(overview["can_schedule"], false);
    let cards = overview["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 2);
    let card = cards
        .iter()
        .find(|c| c["connection"]["id"] == connection)
        .unwrap();
    assert_eq!(card["waiting"], 3);
    assert_eq!(card["failed"], 2);
    assert_eq!(card["without_list"], 2);
    assert_eq!(card["last_notification"]["utc"], "2026-11-29T08:15:00Z");
    assert_eq!(card["last_run"]["kind"], "historical");
    assert_eq!(card["last_run"]["status"], "completed");
    assert_eq!(card["last_run"]["failed"], 2);
    assert_eq!(card["due_reminders"], 0);
    assert_eq!(card["next_reminder"]["utc"], "2026-11-30T08:00:00Z");
    assert_eq!(card["connection"]["fapi"]["outcome"], "Ok");
    assert_eq!(card["connection"]["forwarding_enabled"], false);
    // The API keys never reach the browser.
    let text = overview.to_string();
    assert!(!text.contains(fapi_bridge::simulators::fapi::DEFAULT_API_KEY));
    assert!(!text.contains(fapi_bridge::simulators::smartemailing::DEFAULT_API_KEY));

    let second = cards
        .iter()
        .find(|c| c["connection"]["id"] == other)
        .unwrap();
    assert_eq!(second["waiting"], 0);
    assert_eq!(second["failed"], 1);
    assert_eq!(second["last_notification"], Value::Null);
    assert_eq!(second["last_run"], Value::Null);

    app.clock.set(utc("2026-11-30T08:00:00Z"));
    let overview = json_of(app.call(&operator, "overview", &[]).await).await;
    assert_eq!(overview["can_schedule"], true);
    let card = overview["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["connection"]["id"] == connection)
        .cloned()
        .unwrap();
    assert_eq!(card["due_reminders"], 1);
    assert_eq!(card["next_reminder"], Value::Null);

    // Signed-out visitors get nothing.
    assert_eq!(app.call(&app.client(), "overview", &[]).await.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_probes_answer_without_login_and_readiness_checks_the_schema() {
    let app = spawn_app().await;
    let client = app.client();
    let healthz = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(healthz.status(), 200);
    assert_eq!(healthz.text().await.unwrap(), "ok");
    let readyz = client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(readyz.status(), 200);
    assert_eq!(readyz.text().await.unwrap(), "ready");

    // A schema that lacks a migration is not ready.
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let readyz = client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(readyz.status(), 503);
    assert_eq!(
        readyz.text().await.unwrap(),
        "database migrations are not applied"
    );
}
