//! The suppression list: buyers forgotten under GDPR, per connection, kept as a keyed hash of
//! their e-mail (never the address). Every path that stores or sends a buyer's data asks it
//! first: the ingest records such a buyer's documents without personal data and queues nothing,
//! the push step drops what was queued before the buyer was forgotten.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use crate::platform::crypto::SecretKey;

/// The reason on an order whose buyer was forgotten (the order's page says it in words).
pub const SKIPPED_REASON: &str = "the buyer was forgotten (GDPR): nothing is sent";

/// The marker that stands in for a forgotten contact's address.
pub fn marker(contact_id: i64) -> String {
    format!("forgotten-{contact_id}@invalid")
}

/// The purpose of the keyed hash (so it matches no other hash made with the key).
const PURPOSE: &str = "forgotten-buyer";

/// The keyed hash of a buyer's e-mail (trimmed, lower case).
pub fn email_hash(key: &SecretKey, email: &str) -> String {
    key.keyed_hash(PURPOSE, email.trim().to_lowercase().as_bytes())
}

/// Which of these hashes belong to forgotten buyers of the connection: hash → the marker that
/// stands in for their address.
pub async fn forgotten(
    conn: &mut SqliteConnection,
    connection_id: i64,
    hashes: &[String],
) -> Result<HashMap<String, String>, sqlx::Error> {
    if hashes.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT email_hash, marker FROM forgotten_buyers
         WHERE connection_id = ? AND email_hash IN (SELECT value FROM json_each(?))",
    )
    .bind(connection_id)
    .bind(serde_json::to_string(hashes).expect("hashes serialize"))
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Whether the buyer with this e-mail was forgotten on the connection.
pub async fn is_forgotten(
    conn: &mut SqliteConnection,
    key: &SecretKey,
    connection_id: i64,
    email: &str,
) -> Result<bool, sqlx::Error> {
    let hash = email_hash(key, email);
    Ok(!forgotten(conn, connection_id, &[hash]).await?.is_empty())
}

/// Puts a buyer on the connection's suppression list (again: the marker stays the first one).
pub async fn suppress(
    conn: &mut SqliteConnection,
    connection_id: i64,
    hash: &str,
    marker: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO forgotten_buyers (connection_id, email_hash, marker, forgotten_at)
         VALUES (?, ?, ?, ?) ON CONFLICT (connection_id, email_hash) DO NOTHING",
    )
    .bind(connection_id)
    .bind(hash)
    .bind(marker)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes a buyer off the list (a delete that could not be carried out).
pub async fn unsuppress(
    conn: &mut SqliteConnection,
    connection_id: i64,
    hash: &str,
    marker: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM forgotten_buyers WHERE connection_id = ? AND email_hash = ? AND marker = ?",
    )
    .bind(connection_id)
    .bind(hash)
    .bind(marker)
    .execute(conn)
    .await?;
    Ok(())
}
