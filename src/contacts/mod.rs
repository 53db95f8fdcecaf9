//! Contacts without a list: the buyers the bridge sent orders for, whether SmartEmailing has
//! them in at least one list, and bulk actions (move into a list, blacklist, GDPR delete) for
//! those it has in none.
//!
//! A contact is recorded when its orders are synced (with SmartEmailing's contact id from the
//! import's `contacts_map`) and marked for a check; the check looks it up in SmartEmailing.
//! "Refresh from SmartEmailing" pages through all contacts and updates every known one.

pub mod jobs;
pub mod queries;
pub mod suppression;

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use crate::smartemailing::{Contact, ContactMapEntry};

/// A buyer whose orders were just synced.
pub struct SyncedBuyer<'a> {
    pub email: &'a str,
    pub name: Option<String>,
}

/// Records the buyers of a synced batch and marks them for a check.
pub async fn record_synced(
    conn: &mut SqliteConnection,
    connection_id: i64,
    buyers: &[SyncedBuyer<'_>],
    contact_ids: &[ContactMapEntry],
) -> Result<(), sqlx::Error> {
    let ids: std::collections::HashMap<String, i64> = contact_ids
        .iter()
        .map(|entry| (entry.emailaddress.to_lowercase(), entry.contact_id))
        .collect();
    let rows: Vec<_> = buyers
        .iter()
        .map(|buyer| {
            let se_id = ids.get(&buyer.email.to_lowercase()).copied();
            serde_json::json!([buyer.email, buyer.name, se_id])
        })
        .collect();
    // One statement for the whole batch (`WHERE true` keeps SQLite's upsert grammar unambiguous).
    sqlx::query(
        "INSERT INTO contacts (connection_id, email, name, se_contact_id, check_due)
         SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), 1
         FROM json_each(?) WHERE true
         ON CONFLICT (connection_id, email) DO UPDATE SET
            name = COALESCE(excluded.name, contacts.name),
            se_contact_id = COALESCE(excluded.se_contact_id, contacts.se_contact_id),
            check_due = 1",
    )
    .bind(connection_id)
    .bind(serde_json::Value::Array(rows).to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores what SmartEmailing says about a contact (from a look-up or a refresh page).
pub async fn apply_lookup(
    conn: &mut SqliteConnection,
    connection_id: i64,
    contact: &Contact,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE contacts SET se_contact_id = ?, in_list = ?, blacklisted = ?, checked_at = ?, check_due = 0
         WHERE connection_id = ? AND email = ? AND forgotten_at IS NULL",
    )
    .bind(contact.id)
    .bind(contact.in_a_list())
    .bind(contact.blacklisted)
    .bind(now)
    .bind(connection_id)
    // Stored as the bridge sent them (lower case, see mapping); compared on the unique index.
    .bind(contact.emailaddress.trim().to_lowercase())
    .execute(conn)
    .await?
    .rows_affected())
}

/// A contact SmartEmailing does not know (any more): nothing to act on, so it leaves the page
/// until a refresh finds it.
pub async fn mark_missing(
    conn: &mut SqliteConnection,
    contact_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE contacts SET in_list = NULL, checked_at = ?, check_due = 0 WHERE id = ?")
        .bind(now)
        .bind(contact_id)
        .execute(conn)
        .await?;
    Ok(())
}
