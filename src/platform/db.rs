//! The SQLite database: connection pool and migrations.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// The schema migrations, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Whether every embedded migration has been applied successfully.
pub async fn migrations_applied(pool: &SqlitePool) -> Result<bool, sqlx::Error> {
    let applied: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = 1")
            .fetch_one(pool)
            .await?;
    Ok(applied as usize >= MIGRATOR.iter().count())
}

/// Copies the WAL into the database file (PASSIVE: it waits for no reader or writer). Run in
/// the background by a worker, because commits do not checkpoint (see [`connect`]).
pub async fn checkpoint(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .execute(pool)
        .await
        .map(|_| ())
}

/// Opens (creating the file and its folder if missing) and migrates the database.
pub async fn connect(database_url: &str) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(database_url)
        .with_context(|| format!("DATABASE_URL {database_url:?} is not a valid SQLite URL"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // No commit checkpoints: the one that did would sync the WAL and the database file to
        // disk and stall itself and every request waiting on it. the checkpoint worker does it in
        // the background instead.
        .pragma("wal_autocheckpoint", "0");

    let file = options.get_filename().to_path_buf();
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| {
            format!("could not create the database folder {}", parent.display())
        })?;
    }

    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .with_context(|| format!("could not open the database {}", file.display()))?;
    MIGRATOR
        .run(&pool)
        .await
        .context("could not apply database migrations")?;
    Ok(pool)
}
