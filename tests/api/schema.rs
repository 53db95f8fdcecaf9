//! The PostgreSQL schema (migrations/postgres) holds the same tables, columns and indexes as the
//! SQLite one (migrations/sqlite), so a migration added to one engine and not the other fails
//! here.

use std::collections::{BTreeMap, BTreeSet};

use fapi_bridge::platform::db;

use crate::postgres;

/// One column: its engine's type, and whether it may be NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    kind: String,
    not_null: bool,
}

type Columns = BTreeMap<(String, String), Column>;

/// SQLite's declared type → the PostgreSQL types that hold the same values.
fn postgres_types_for(sqlite_type: &str) -> &'static [&'static str] {
    match sqlite_type {
        // Integers; 0/1 flags are BOOLEAN in PostgreSQL.
        "INTEGER" => &["bigint", "boolean"],
        // Text; RFC 3339 times are TIMESTAMPTZ in PostgreSQL.
        "TEXT" => &["text", "timestamp with time zone"],
        "BLOB" => &["bytea"],
        other => panic!("a SQLite column of type {other:?}: add it to this mapping"),
    }
}

async fn sqlite_schema() -> (Columns, BTreeMap<String, Vec<String>>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("schema.db").display());
    let pool = db::connect(&url).await.unwrap();
    let rows: Vec<(String, String, String, bool, i64)> = sqlx::query_as(
        "SELECT m.name, p.name, p.type, p.\"notnull\", p.pk
         FROM sqlite_master m JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let columns = rows
        .into_iter()
        .map(|(table, column, kind, not_null, pk)| {
            // A primary key is never NULL, whether SQLite says so or not.
            let not_null = not_null || pk > 0;
            ((table, column), Column { kind, not_null })
        })
        .collect();
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, group_concat(i.name, ',')
         FROM sqlite_master m JOIN pragma_index_info(m.name) i
         WHERE m.type = 'index' AND m.sql IS NOT NULL
         GROUP BY m.name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let indexes = indexes
        .into_iter()
        .map(|(name, columns)| (name, columns.split(',').map(str::to_owned).collect()))
        .collect();
    (columns, indexes)
}

async fn postgres_schema(pool: &sqlx::PgPool) -> (Columns, BTreeMap<String, Vec<String>>) {
    let columns = postgres::columns(pool)
        .await
        .into_iter()
        .map(|column| {
            let key = (column.table, column.name);
            (
                key,
                Column {
                    kind: column.kind,
                    not_null: column.not_null,
                },
            )
        })
        .collect();
    // Indexes made by CREATE INDEX (not those of PRIMARY KEY and UNIQUE constraints).
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text,
                array_to_string(ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
                                      FROM generate_series(1, i.indnatts) k ORDER BY k), ',')
         FROM pg_index i
         JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public'
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let indexes = indexes
        .into_iter()
        .map(|(name, columns)| (name, columns.split(',').map(str::to_owned).collect()))
        .collect();
    (columns, indexes)
}

#[tokio::test]
async fn both_engines_have_the_same_tables_columns_and_indexes() {
    let postgres = postgres::fresh_database().await;
    db::POSTGRES_MIGRATOR.run(&postgres.pool).await.unwrap();
    // Applying them again changes nothing (every start does).
    db::POSTGRES_MIGRATOR.run(&postgres.pool).await.unwrap();

    let (sqlite_columns, sqlite_indexes) = sqlite_schema().await;
    let (postgres_columns, mut postgres_indexes) = postgres_schema(&postgres.pool).await;

    let tables = |columns: &Columns| -> BTreeSet<String> {
        columns.keys().map(|(table, _)| table.clone()).collect()
    };
    assert_eq!(tables(&postgres_columns), tables(&sqlite_columns));
    assert!(
        tables(&sqlite_columns).contains("orders"),
        "the schema was not read"
    );

    let names =
        |columns: &Columns| -> BTreeSet<(String, String)> { columns.keys().cloned().collect() };
    assert_eq!(names(&postgres_columns), names(&sqlite_columns));
    for (key, sqlite) in &sqlite_columns {
        let postgres = &postgres_columns[key];
        assert!(
            postgres_types_for(&sqlite.kind).contains(&postgres.kind.as_str()),
            "{key:?}: SQLite {} but PostgreSQL {}",
            sqlite.kind,
            postgres.kind
        );
        assert_eq!(
            postgres.not_null, sqlite.not_null,
            "{key:?}: NOT NULL differs"
        );
    }

    // SQLite makes e-mail addresses unique with `UNIQUE COLLATE NOCASE` on the column (an
    // automatic index); PostgreSQL with an index on lower(email).
    assert_eq!(
        postgres_indexes.remove("users_email"),
        Some(vec!["lower(email)".to_owned()])
    );
    assert_eq!(postgres_indexes, sqlite_indexes);
}
