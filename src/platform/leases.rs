//! Work that one replica at a time must do — a historical run, reconciliation, retention, the
//! alert checks — is held through a row of the `leases` table: taken when it is free or its
//! lease expired, renewed by its holder while it works, released when done (and all of a
//! replica's at a clean stop). A replica that dies stops renewing; another takes the work
//! over once the lease expires. Times come from the injected clock, like every other deadline.
//!
//! Replicas are told apart by `REPLICA_ID` (default: the host name), so a replica restarted
//! after a crash takes its own leases back at once instead of waiting for them to expire.

use chrono::{DateTime, Duration, Utc};
use sqlx::SqlitePool;

/// Work held by one replica at a time.
pub mod names {
    pub const RECONCILIATION: &str = "reconciliation";
    pub const RETENTION: &str = "retention";
    pub const ALERT_CHECKS: &str = "alert-checks";

    /// A historical run's execution.
    pub fn historical_run(run_id: i64) -> String {
        format!("historical-run:{run_id}")
    }
}

/// Takes the lease `name` for `holder` until `now + ttl`, or renews it if `holder` has it;
/// false while another holder's lease runs.
pub async fn hold(
    db: &SqlitePool,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<bool, sqlx::Error> {
    let held: Option<String> = sqlx::query_scalar(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.holder = excluded.holder OR leases.expires_at <= $4
         RETURNING holder",
    )
    .bind(name)
    .bind(holder)
    .bind(now + ttl)
    .bind(now)
    .fetch_optional(db)
    .await?;
    Ok(held.is_some())
}

/// Gives the lease `name` up, if `holder` has it.
pub async fn release(db: &SqlitePool, name: &str, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(db)
        .await
        .map(|_| ())
}

/// Gives up every lease of `holder` (a clean stop), so other replicas need not wait.
pub async fn release_all(db: &SqlitePool, holder: &str) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM leases WHERE holder = $1")
        .bind(holder)
        .execute(db)
        .await
        .map(|done| done.rows_affected())
}

/// Who holds `name` now, and until when (None when free).
pub async fn holder(
    db: &SqlitePool,
    name: &str,
) -> Result<Option<(String, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as("SELECT holder, expires_at FROM leases WHERE name = $1")
        .bind(name)
        .fetch_optional(db)
        .await
}
