//! The bell in the header: the latest alerts a user may see (the team's, and their own), and
//! which of them they have not read yet.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqlitePool};

use super::{Details, link};
use crate::model::{AlertItem, AlertKind, AlertList, AlertSummary, DisplayTime};

/// Alerts shown in the bell.
const SHOWN: i64 = 20;

#[derive(FromRow)]
struct Row {
    id: i64,
    kind: AlertKind,
    resolved: bool,
    connection_id: Option<i64>,
    details: String,
    created_at: DateTime<Utc>,
}

const VISIBLE: &str = "(user_id IS NULL OR user_id = ?)";

pub async fn list(db: &SqlitePool, user_id: i64) -> Result<AlertList, sqlx::Error> {
    let (read_up_to, unread): (i64, i64) = sqlx::query_as(&format!(
        "SELECT u.alerts_read_up_to,
                (SELECT COUNT(*) FROM alerts WHERE id > u.alerts_read_up_to AND {VISIBLE})
         FROM users u WHERE u.id = ?"
    ))
    .bind(user_id)
    .bind(user_id)
    .fetch_one(db)
    .await?;
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT id, kind, resolved, connection_id, details, created_at FROM alerts
         WHERE {VISIBLE} ORDER BY id DESC LIMIT ?"
    ))
    .bind(user_id)
    .bind(SHOWN)
    .fetch_all(db)
    .await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let details: Details = serde_json::from_str(&row.details).unwrap_or_default();
            AlertItem {
                id: row.id,
                kind: row.kind,
                resolved: row.resolved,
                link: link(row.kind, row.connection_id, &details),
                summary: AlertSummary {
                    count: details.count,
                    system: details.system,
                    run_status: details.run_status,
                    due_at: details.due_at.map(DisplayTime::new),
                },
                connection: details.connection,
                at: DisplayTime::new(row.created_at),
                unread: row.id > read_up_to,
            }
        })
        .collect();
    Ok(AlertList { unread, items })
}

/// Marks the alerts up to `up_to` as read (the newest the user was shown: one that arrived
/// since stays unread). Never moves back.
pub async fn mark_read(db: &SqlitePool, user_id: i64, up_to: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET alerts_read_up_to =
             MAX(alerts_read_up_to, MIN(?, (SELECT COALESCE(MAX(id), 0) FROM alerts)))
         WHERE id = ?",
    )
    .bind(up_to)
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(())
}
