//! `fapi-bridge migrate --to postgres://…`: copies a SQLite installation into an empty
//! PostgreSQL database (users, connections with their encrypted keys, orders, history: every
//! table of the schema; not the sessions, so people sign in again).
//!
//! The copy reads SQLite in one read transaction (a snapshot, while the app may run: what it
//! writes after that is not copied, so stop it first) and writes PostgreSQL in one transaction
//! (all or nothing). Each value is converted by the PostgreSQL column's type: integers, 0/1
//! flags to booleans, RFC 3339 text to TIMESTAMPTZ, text, bytes. Then each table's rows are
//! counted on both sides.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::SqliteRow;
use sqlx::{PgPool, Postgres, QueryBuilder, Row, SqlitePool};

use crate::platform::db;

/// Tables whose rows the migrations write (the copy replaces them with the source's).
const SEEDED_BY_MIGRATIONS: &[&str] = &["generations"];

/// Rows per INSERT: PostgreSQL takes at most 65,535 parameters in one statement.
const ROWS_PER_INSERT: usize = 500;

/// A PostgreSQL column's type, as far as the copy converts values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnType {
    BigInt,
    Boolean,
    Text,
    Timestamp,
    Bytes,
}

impl ColumnType {
    fn from_postgres(data_type: &str) -> anyhow::Result<Self> {
        Ok(match data_type {
            "bigint" => Self::BigInt,
            "boolean" => Self::Boolean,
            "text" => Self::Text,
            "timestamp with time zone" => Self::Timestamp,
            "bytea" => Self::Bytes,
            other => anyhow::bail!("the copy does not know PostgreSQL's type {other:?}"),
        })
    }
}

struct Table {
    name: String,
    columns: Vec<(String, ColumnType)>,
}

/// How many rows of each table were copied.
#[derive(Debug)]
pub struct CopyReport {
    pub tables: Vec<(String, u64)>,
}

impl CopyReport {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, rows)| rows).sum()
    }
}

/// Copies every table of the schema from `sqlite` into the PostgreSQL database at
/// `postgres_url` (migrated first; it must hold no rows yet).
pub async fn copy_to_postgres(
    sqlite: &SqlitePool,
    postgres_url: &str,
) -> anyhow::Result<CopyReport> {
    let postgres = PgPoolOptions::new()
        .max_connections(2)
        .connect(postgres_url)
        .await
        .context("could not connect to the PostgreSQL database")?;
    db::POSTGRES_MIGRATOR
        .run(&postgres)
        .await
        .context("could not apply the PostgreSQL migrations")?;
    let tables = tables_in_copy_order(&postgres).await?;
    for table in tables
        .iter()
        .filter(|table| !SEEDED_BY_MIGRATIONS.contains(&table.name.as_str()))
    {
        let has_rows: bool =
            sqlx::query_scalar(&format!("SELECT EXISTS (SELECT 1 FROM {})", table.name))
                .fetch_one(&postgres)
                .await?;
        anyhow::ensure!(
            !has_rows,
            "the PostgreSQL database is not empty (table {} has rows); copy into a new database",
            table.name
        );
    }

    let mut source = sqlite.begin().await?;
    let mut target = postgres.begin().await?;
    let mut report = CopyReport { tables: Vec::new() };
    for table in &tables {
        let column_list = table
            .columns
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if SEEDED_BY_MIGRATIONS.contains(&table.name.as_str()) {
            sqlx::query(&format!("DELETE FROM {}", table.name))
                .execute(&mut *target)
                .await?;
        }
        let select = format!("SELECT {column_list} FROM {}", table.name);
        let mut rows = sqlx::query(&select).fetch(&mut *source);
        let mut batch: Vec<SqliteRow> = Vec::with_capacity(ROWS_PER_INSERT);
        let mut copied = 0u64;
        while let Some(row) = rows.try_next().await? {
            batch.push(row);
            if batch.len() == ROWS_PER_INSERT {
                copied += insert(&mut target, table, &column_list, &batch).await?;
                batch.clear();
            }
        }
        copied += insert(&mut target, table, &column_list, &batch).await?;
        drop(rows);

        let in_sqlite: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", table.name))
            .fetch_one(&mut *source)
            .await?;
        let in_postgres: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", table.name))
            .fetch_one(&mut *target)
            .await?;
        anyhow::ensure!(
            in_sqlite == in_postgres && in_postgres as u64 == copied,
            "table {}: {in_sqlite} rows in SQLite, {in_postgres} in PostgreSQL",
            table.name
        );
        if table.columns.iter().any(|(name, _)| name == "id") {
            // Identities continue after the copied ids.
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{0}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {0}",
                table.name
            ))
            .execute(&mut *target)
            .await?;
        }
        report.tables.push((table.name.clone(), copied));
    }
    target.commit().await?;
    source.rollback().await?;
    postgres.close().await;
    Ok(report)
}

/// One INSERT of `rows`, each value converted to its column's PostgreSQL type.
async fn insert(
    target: &mut sqlx::PgConnection,
    table: &Table,
    column_list: &str,
    rows: &[SqliteRow],
) -> anyhow::Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut insert =
        QueryBuilder::<Postgres>::new(format!("INSERT INTO {} ({column_list}) ", table.name));
    let mut failure = None;
    insert.push_values(rows, |mut values, row| {
        for (index, (column, kind)) in table.columns.iter().enumerate() {
            if let Err(error) = bind_value(&mut values, row, index, *kind) {
                failure.get_or_insert_with(|| {
                    anyhow::anyhow!("table {}, column {column}: {error}", table.name)
                });
            }
        }
    });
    if let Some(error) = failure {
        return Err(error);
    }
    let done = insert.build().execute(target).await?;
    Ok(done.rows_affected())
}

fn bind_value(
    values: &mut sqlx::query_builder::Separated<'_, '_, Postgres, &'static str>,
    row: &SqliteRow,
    index: usize,
    kind: ColumnType,
) -> Result<(), sqlx::Error> {
    match kind {
        ColumnType::BigInt => values.push_bind(row.try_get::<Option<i64>, _>(index)?),
        ColumnType::Boolean => {
            let flag = row.try_get::<Option<i64>, _>(index)?;
            values.push_bind(flag.map(|value| value != 0))
        }
        ColumnType::Text => values.push_bind(row.try_get::<Option<String>, _>(index)?),
        ColumnType::Timestamp => values.push_bind(row.try_get::<Option<DateTime<Utc>>, _>(index)?),
        ColumnType::Bytes => values.push_bind(row.try_get::<Option<Vec<u8>>, _>(index)?),
    };
    Ok(())
}

/// The schema's tables with their columns, each after the tables its foreign keys point to.
async fn tables_in_copy_order(postgres: &PgPool) -> anyhow::Result<Vec<Table>> {
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(postgres)
    .await?;
    let mut tables: BTreeMap<String, Vec<(String, ColumnType)>> = BTreeMap::new();
    for (table, column, data_type) in columns {
        let kind = ColumnType::from_postgres(&data_type)
            .with_context(|| format!("column {table}.{column}"))?;
        tables.entry(table).or_default().push((column, kind));
    }
    let references: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT c.conrelid::regclass::text, c.confrelid::regclass::text
         FROM pg_constraint c
         JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE c.contype = 'f' AND n.nspname = 'public' AND c.conrelid <> c.confrelid",
    )
    .fetch_all(postgres)
    .await?;
    let order = dependency_order(tables.keys().cloned().collect(), &references)?;
    Ok(order
        .into_iter()
        .map(|name| Table {
            columns: tables.remove(&name).unwrap_or_default(),
            name,
        })
        .collect())
}

/// `tables` ordered so that each comes after those it references (`(from, to)` pairs).
fn dependency_order(
    tables: BTreeSet<String>,
    references: &[(String, String)],
) -> anyhow::Result<Vec<String>> {
    let mut order = Vec::with_capacity(tables.len());
    let mut left = tables;
    while !left.is_empty() {
        let ready: Vec<String> = left
            .iter()
            .filter(|table| {
                !references
                    .iter()
                    .any(|(from, to)| from == *table && left.contains(to))
            })
            .cloned()
            .collect();
        anyhow::ensure!(
            !ready.is_empty(),
            "the tables {left:?} reference each other in a cycle"
        );
        for table in ready {
            left.remove(&table);
            order.push(table);
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::dependency_order;

    #[test]
    fn tables_come_after_the_tables_they_reference() {
        let tables = ["orders", "connections", "order_attempts", "users"]
            .map(String::from)
            .into();
        let references = [("orders", "connections"), ("order_attempts", "orders")]
            .map(|(from, to)| (from.to_owned(), to.to_owned()));
        let order = dependency_order(tables, &references).unwrap();
        let position = |name: &str| order.iter().position(|table| table == name).unwrap();
        assert!(position("connections") < position("orders"));
        assert!(position("orders") < position("order_attempts"));
        assert_eq!(order.len(), 4);

        let cycle = [("a", "b"), ("b", "a")].map(|(from, to)| (from.to_owned(), to.to_owned()));
        assert!(dependency_order(["a", "b"].map(String::from).into(), &cycle).is_err());
    }
}
