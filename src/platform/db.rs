//! The database: SQLite's connection pool and migrations; PostgreSQL's migrations.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::platform::owner_only;

/// The schema migrations, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The same schema for PostgreSQL, kept equal to SQLite's by `tests/api/schema.rs`. No store
/// runs on it yet: the app refuses a `postgres://` DATABASE_URL until they do.
pub static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Counters in the database that caches of every process check (`generations` table), so a
/// change made through one replica reaches the caches of all.
pub mod generations {
    /// Connections' webhook tokens, forwarding switches and existence.
    pub const CONNECTIONS: &str = "connections";

    /// Moves `name` on, in the caller's transaction (the one that made the change).
    pub async fn bump(conn: &mut sqlx::SqliteConnection, name: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE generations SET value = value + 1 WHERE name = ?")
            .bind(name)
            .execute(conn)
            .await
            .map(|_| ())
    }

    pub async fn read(db: &sqlx::SqlitePool, name: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT value FROM generations WHERE name = ?")
            .bind(name)
            .fetch_one(db)
            .await
    }
}

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

/// Whether a connection going back to the pool is clean; a connection still inside a
/// transaction is closed instead.
///
/// On a full disk (and other I/O errors) SQLite may roll a transaction back by itself. sqlx
/// then fails to roll it back again and keeps counting the transaction as open; the next
/// `begin` on that connection would only open a savepoint, whose "commit" commits nothing, so
/// a notification answered 200 could be lost. Closing such a connection keeps that from
/// happening. (Waiting for the handle first lets the rollback that sqlx queued on drop run.)
async fn leaves_no_transaction(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    use sqlx::TransactionManager;
    drop(conn.lock_handle().await?);
    let depth = sqlx::sqlite::SqliteTransactionManager::get_transaction_depth(conn);
    if depth > 0 {
        tracing::warn!(
            depth,
            "closing a database connection left inside a transaction"
        );
    }
    Ok(depth == 0)
}

/// Bytes the WAL file keeps after a checkpoint (64 MiB).
pub const JOURNAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// Opens (creating the file and its folder owner-only if missing) and migrates the database.
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
        .pragma("wal_autocheckpoint", "0")
        // After a burst the WAL file is truncated to this size at the next checkpoint instead
        // of keeping its largest size for ever.
        .pragma("journal_size_limit", JOURNAL_SIZE_LIMIT.to_string())
        // Deleted and overwritten content is zeroed, not left in free space and free pages:
        // a forgotten buyer's address must not stay readable in the file (GDPR delete).
        .pragma("secure_delete", "on");

    let file = options.get_filename().to_path_buf();
    let in_memory = database_url.contains(":memory:") || database_url.contains("mode=memory");
    if !in_memory && !file.exists() {
        // Created here, empty, so that SQLite (and its -wal and -shm files, which take the
        // database's mode) never makes it readable by others.
        match owner_only::create_file(&file, b"") {
            Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(error)
                    .with_context(|| format!("could not create the database {}", file.display()));
            }
            _ => {}
        }
    }

    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .after_release(|conn, _| Box::pin(leaves_no_transaction(conn)))
        .connect_with(options)
        .await
        .with_context(|| format!("could not open the database {}", file.display()))?;
    MIGRATOR
        .run(&pool)
        .await
        .context("could not apply database migrations")?;
    Ok(pool)
}

/// The predicates of the migrations' partial indexes, as SQL text.
///
/// Statuses are bound as parameters everywhere else, but SQLite matches a partial index only
/// when the query repeats its predicate literally (the planner decides when the statement is
/// prepared, before any value is bound), and an upsert's `ON CONFLICT … WHERE` must name it
/// exactly. These few predicates are therefore written out; the tests below check them
/// against the enums and the migrations.
pub mod partial_index {
    /// `sync_runs_one_active_historical`: a historical sync that has not finished
    /// (`RunKind::Historical`, `RunStatus::Running` or `RunStatus::Paused`).
    pub const ACTIVE_HISTORICAL_RUN: &str =
        "kind = 'historical' AND status IN ('running', 'paused')";

    /// `reminders_one_per_due_time`: a reminder not done or cancelled yet
    /// (`ReminderStatus::Scheduled`).
    pub const SCHEDULED_REMINDER: &str = "status = 'scheduled'";

    /// `emails_due`: an e-mail waiting to be sent (`EmailStatus::Queued`).
    pub const QUEUED_EMAIL: &str = "status = 'queued'";
}

/// Writes a consistent copy of the database at `database_url` to `to` while the app may be
/// running (SQLite's `VACUUM INTO`: one read transaction, so the copy is a snapshot; the WAL's
/// committed content is included). Refuses to overwrite an existing file.
pub async fn backup(database_url: &str, to: &Path) -> anyhow::Result<u64> {
    if to.exists() {
        anyhow::bail!("{} already exists; choose a new file", to.display());
    }
    let options = SqliteConnectOptions::from_str(database_url)
        .with_context(|| format!("DATABASE_URL {database_url:?} is not a valid SQLite URL"))?
        .read_only(true)
        .busy_timeout(Duration::from_secs(30));
    let file = options.get_filename().to_path_buf();
    if !file.exists() {
        anyhow::bail!("the database {} does not exist", file.display());
    }
    let mut conn = sqlx::ConnectOptions::connect(&options)
        .await
        .with_context(|| format!("could not open the database {}", file.display()))?;
    sqlx::query("VACUUM INTO ?")
        .bind(to.display().to_string())
        .execute(&mut conn)
        .await
        .with_context(|| format!("could not write the copy to {}", to.display()))?;
    owner_only(to)?;
    Ok(std::fs::metadata(to)?.len())
}

/// Makes a file readable by its owner alone (a database copy holds encrypted keys and buyers).
fn owner_only(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("could not restrict {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::partial_index::*;
    use crate::model::{EmailStatus, ReminderStatus, RunKind, RunStatus};

    fn one_line(sql: &str) -> String {
        sql.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn partial_index_predicates_spell_the_enums() {
        assert_eq!(
            ACTIVE_HISTORICAL_RUN,
            format!(
                "kind = '{}' AND status IN ('{}', '{}')",
                RunKind::Historical.as_str(),
                RunStatus::Running.as_str(),
                RunStatus::Paused.as_str()
            )
        );
        assert_eq!(
            SCHEDULED_REMINDER,
            format!("status = '{}'", ReminderStatus::Scheduled.as_str())
        );
        assert_eq!(
            QUEUED_EMAIL,
            format!("status = '{}'", EmailStatus::Queued.as_str())
        );
    }

    #[test]
    fn partial_index_predicates_are_those_of_the_migrations() {
        let historical = one_line(include_str!(
            "../../migrations/sqlite/20261129000004_historical_sync.sql"
        ));
        assert!(
            historical.contains(&format!(
                "ON sync_runs (connection_id) WHERE {ACTIVE_HISTORICAL_RUN};"
            )),
            "{historical}"
        );
        let reminders = one_line(include_str!(
            "../../migrations/sqlite/20261129000005_reminders.sql"
        ));
        assert!(
            reminders.contains(&format!(
                "ON reminders (connection_id, due_at) WHERE {SCHEDULED_REMINDER};"
            )),
            "{reminders}"
        );
        let alerts = one_line(include_str!(
            "../../migrations/sqlite/20261205000000_alerts.sql"
        ));
        assert!(
            alerts.contains(&format!(
                "ON emails (next_attempt_at) WHERE {QUEUED_EMAIL};"
            )),
            "{alerts}"
        );
    }

    /// The planner takes the partial index for a query that repeats its predicate.
    #[tokio::test]
    async fn the_active_run_lookup_uses_the_partial_index() {
        let db = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        super::MIGRATOR.run(&db).await.unwrap();
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!(
            "EXPLAIN QUERY PLAN SELECT id FROM sync_runs WHERE connection_id = ? AND {ACTIVE_HISTORICAL_RUN}"
        ))
        .bind(1)
        .fetch_all(&db)
        .await
        .unwrap();
        assert!(
            plan.iter()
                .any(|(.., detail)| detail.contains("sync_runs_one_active_historical")),
            "{plan:?}"
        );
    }
}
