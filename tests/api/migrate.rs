//! `fapi-bridge migrate --to postgres://…`: a SQLite installation with history, copied into
//! PostgreSQL and compared table by table, value by value.

use std::collections::BTreeMap;
use std::process::Command;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use fapi_bridge::model::Role;
use fapi_bridge::platform::clock::Clock;
use sqlx::{Column as _, PgPool, Row, SqlitePool, ValueRef};

use crate::helpers::{eventually, spawn_app};
use crate::postgres;

const BIN: &str = env!("CARGO_BIN_EXE_fapi-bridge");

/// A table's rows as text, one canonical rendering per value, sorted.
type Dump = BTreeMap<String, Vec<Vec<String>>>;

/// Every table's columns and their PostgreSQL types, in column order.
type Tables = BTreeMap<String, Vec<(String, String)>>;

async fn column_types(postgres: &PgPool) -> Tables {
    let mut tables = Tables::new();
    for column in postgres::columns(postgres).await {
        tables
            .entry(column.table)
            .or_default()
            .push((column.name, column.kind));
    }
    tables
}

fn instant(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// SQLite's text of a time, as sqlx and SQLite write them.
fn sqlite_instant(text: &str) -> String {
    let parsed = DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").map(|time| time.and_utc())
        })
        .unwrap_or_else(|_| panic!("a time SQLite holds is not RFC 3339: {text:?}"));
    instant(parsed)
}

/// A table's rows, each value rendered by `value` (NULL as "NULL"), sorted.
fn render<R: Row>(
    rows: &[R],
    columns: &[(String, String)],
    value: impl Fn(&R, usize, &str, &str) -> String,
) -> Vec<Vec<String>>
where
    usize: sqlx::ColumnIndex<R>,
{
    let mut rendered: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .enumerate()
                .map(|(index, (name, kind))| {
                    if row.try_get_raw(index).unwrap().is_null() {
                        "NULL".to_owned()
                    } else {
                        value(row, index, name, kind)
                    }
                })
                .collect()
        })
        .collect();
    rendered.sort();
    rendered
}

fn select_all(table: &str, columns: &[(String, String)]) -> String {
    let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
    format!("SELECT {} FROM {table}", names.join(", "))
}

async fn sqlite_dump(sqlite: &SqlitePool, tables: &Tables) -> Dump {
    let mut dump = Dump::new();
    for (table, columns) in tables {
        let rows = sqlx::query(&select_all(table, columns))
            .fetch_all(sqlite)
            .await
            .unwrap();
        let rendered = render(&rows, columns, |row, index, _, kind| match kind {
            "bigint" => row.get::<i64, _>(index).to_string(),
            "boolean" => (row.get::<i64, _>(index) != 0).to_string(),
            "timestamp with time zone" => sqlite_instant(&row.get::<String, _>(index)),
            "bytea" => hex::encode(row.get::<Vec<u8>, _>(index)),
            _ => row.get::<String, _>(index),
        });
        dump.insert(table.clone(), rendered);
    }
    dump
}

async fn postgres_dump(postgres: &PgPool, tables: &Tables) -> Dump {
    let mut dump = Dump::new();
    for (table, columns) in tables {
        let rows = sqlx::query(&select_all(table, columns))
            .fetch_all(postgres)
            .await
            .unwrap();
        let rendered = render(&rows, columns, |row, index, name, kind| {
            assert_eq!(row.column(index).name(), name);
            match kind {
                "bigint" => row.get::<i64, _>(index).to_string(),
                "boolean" => row.get::<bool, _>(index).to_string(),
                "timestamp with time zone" => instant(row.get(index)),
                "bytea" => hex::encode(row.get::<Vec<u8>, _>(index)),
                _ => row.get::<String, _>(index),
            }
        });
        dump.insert(table.clone(), rendered);
    }
    dump
}

fn migrate(database_url: &str, to: &str) -> std::process::Output {
    Command::new(BIN)
        .args(["migrate", "--to", to])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .output()
        .expect("the binary starts")
}

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_installation_is_copied_into_postgres_value_for_value() {
    // An installation with history: a team, a connection, a back-fill of 120 orders, one
    // order forwarded through FAPI's webhook, a reminder.
    let app = spawn_app().await;
    let now = app.clock.now();
    app.fapi.store.lock().unwrap().generate(
        120,
        now - chrono::Duration::days(200),
        now - chrono::Duration::days(1),
    );
    let (admin, connection, webhook) = app.forwarding_connection().await;
    let operator = app.signed_in("petr@example.cz", Role::Operator).await;
    let response = app
        .call(
            &operator,
            "start_historical_sync",
            &[("connection", &connection.to_string()), ("confirm", "yes")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let invoice = app.new_fapi_order(Some("jana.novakova@example.cz"));
    assert_eq!(
        app.fapi.notify(&webhook, invoice).await.unwrap().status(),
        200
    );
    let response = app
        .call(
            &admin,
            "schedule_reminder",
            &[
                ("connection", &connection.to_string()),
                ("note", "Segment VIP"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    eventually("every order is in SmartEmailing", || async {
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE sync_status <> 'synced'")
                .fetch_one(&app.db)
                .await
                .unwrap();
        let runs: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sync_runs WHERE status IN ('running', 'paused')",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        pending == 0 && runs == 0 && app.smartemailing.store.lock().unwrap().orders.len() > 100
    })
    .await;
    let secret_key = app.ctx.secret_key.clone();
    let database_url = format!("sqlite://{}", app.data_dir.path().join("test.db").display());
    let data_dir = app.stop().await;

    let postgres = postgres::fresh_database().await;
    let target = postgres.url.clone();
    let output = migrate(&database_url, &target);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("rows from"), "{}", text(&output));
    assert!(
        !text(&output).contains("postgres@"),
        "the URL's credentials are not printed: {}",
        text(&output)
    );

    let sqlite = fapi_bridge::platform::db::connect(&database_url)
        .await
        .unwrap();
    let tables = column_types(&postgres.pool).await;
    let from = sqlite_dump(&sqlite, &tables).await;
    let to = postgres_dump(&postgres.pool, &tables).await;
    for (table, rows) in &from {
        assert_eq!(&to[table], rows, "table {table}");
    }
    for table in [
        "users",
        "connections",
        "orders",
        "order_documents",
        "order_attempts",
        "notifications",
        "sync_runs",
        "contacts",
        "audit_log",
        "reminders",
        "fapi_clients",
    ] {
        assert!(!from[table].is_empty(), "the installation has {table}");
    }
    assert!(from["orders"].len() > 100);

    // The copied API keys still open with the installation's secret key.
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT se_api_key FROM connections WHERE id = $1")
        .bind(connection)
        .fetch_one(&postgres.pool)
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(secret_key.decrypt(&sealed).unwrap()).unwrap(),
        fapi_bridge::simulators::smartemailing::DEFAULT_API_KEY
    );
    // New rows continue after the copied ids.
    let copied_max: i64 = sqlx::query_scalar("SELECT MAX(id) FROM audit_log")
        .fetch_one(&postgres.pool)
        .await
        .unwrap();
    let next: i64 = sqlx::query_scalar(
        "INSERT INTO audit_log (at, action) VALUES (now(), 'test') RETURNING id",
    )
    .fetch_one(&postgres.pool)
    .await
    .unwrap();
    assert_eq!(next, copied_max + 1);

    // A second copy into the same database is refused, and changes nothing.
    let again = migrate(&database_url, &target);
    assert!(!again.status.success());
    assert!(text(&again).contains("not empty"), "{}", text(&again));
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&postgres.pool)
        .await
        .unwrap();
    assert_eq!(orders as usize, from["orders"].len());
    drop(data_dir);

    // Not a PostgreSQL URL: refused before anything is opened.
    let wrong = migrate(&database_url, "mysql://somewhere/db");
    assert!(!wrong.status.success());
    assert!(
        text(&wrong).contains("must be a PostgreSQL URL"),
        "{}",
        text(&wrong)
    );
}
