//! The check after a sync: contacts whose orders were just sent are looked up in SmartEmailing
//! (one by one within the account's pace, or one refresh when many are due).

use crate::contacts::{self};

use super::*;
use crate::accounts::audit::Actor;
use crate::connections;
use crate::model::{ContactJobKind, ContactJobStatus};
use crate::platform::Context;
use crate::platform::db::partial_index::ACTIVE_HISTORICAL_RUN;
use crate::smartemailing::{ContactQuery, SeError, SmartEmailingClient};

/// Contacts looked up per round of the post-sync check.
const CHECKS_PER_ROUND: i64 = 100;

pub(super) async fn lookup(
    client: &SmartEmailingClient,
    email: &str,
) -> Result<Option<crate::smartemailing::Contact>, SeError> {
    let page = client
        .contacts(&ContactQuery {
            limit: 1,
            offset: 0,
            emailaddress: Some(email.to_string()),
            blacklisted: None,
        })
        .await?;
    Ok(page.contacts.into_iter().next())
}

/// From this many contacts due at once (a back-fill), one pass through all of SmartEmailing's
/// contacts (500 a page) is cheaper than a look-up each.
const REFRESH_FROM: i64 = 500;

/// Looks up contacts whose orders were just synced. False when none was due.
///
/// Connections with a historical sync in progress wait until it ends (their buyers keep
/// arriving); a connection with many contacts due gets one refresh instead of look-ups.
pub async fn check_due(ctx: &Context) -> anyhow::Result<bool> {
    // Active historical runs are read from their partial index (its predicate written out); the
    // refresh's kind and statuses are bound, in this order.
    let waiting = format!(
        "connection_id NOT IN (
            SELECT connection_id FROM sync_runs WHERE {ACTIVE_HISTORICAL_RUN}
            UNION SELECT connection_id FROM contact_jobs WHERE kind = ? AND status IN (?, ?))"
    );
    let many: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT connection_id FROM contacts WHERE check_due = 1 AND {waiting}
         GROUP BY connection_id HAVING COUNT(*) >= ?"
    ))
    .bind(ContactJobKind::Refresh)
    .bind(ContactJobStatus::Queued)
    .bind(ContactJobStatus::Running)
    .bind(REFRESH_FROM)
    .fetch_all(&ctx.db)
    .await?;
    for connection in many {
        start_refresh(ctx, &Actor::system("contact check"), connection).await?;
    }
    let due: Vec<(i64, i64, String)> = sqlx::query_as(&format!(
        "SELECT id, connection_id, email FROM contacts WHERE check_due = 1 AND {waiting}
         ORDER BY connection_id, id LIMIT ?"
    ))
    .bind(ContactJobKind::Refresh)
    .bind(ContactJobStatus::Queued)
    .bind(ContactJobStatus::Running)
    .bind(CHECKS_PER_ROUND)
    .fetch_all(&ctx.db)
    .await?;
    if due.is_empty() {
        return Ok(false);
    }
    let mut client: Option<(i64, SmartEmailingClient)> = None;
    for (contact_id, connection_id, email) in due {
        if stopping(ctx) {
            break;
        }
        if client.as_ref().is_none_or(|(id, _)| *id != connection_id) {
            let found = connections::find(&ctx.db, connection_id)
                .await
                .and_then(|c| c.smartemailing_client(ctx));
            match found {
                Ok(c) => client = Some((connection_id, c)),
                Err(_) => {
                    // The connection is gone: nothing to check against.
                    sqlx::query("UPDATE contacts SET check_due = 0 WHERE id = ?")
                        .bind(contact_id)
                        .execute(&ctx.db)
                        .await?;
                    continue;
                }
            }
        }
        let (_, se) = client.as_ref().expect("set above");
        let now = ctx.clock.now();
        match lookup(se, &email).await {
            Ok(Some(contact)) => {
                let mut conn = ctx.db.acquire().await?;
                contacts::apply_lookup(&mut conn, connection_id, &contact, now).await?;
            }
            Ok(None) => {
                let mut conn = ctx.db.acquire().await?;
                contacts::mark_missing(&mut conn, contact_id, now).await?;
            }
            // Checked again in the next round (the client already retried).
            Err(error) => {
                tracing::warn!(%error, "could not check contacts in SmartEmailing");
                return Ok(false);
            }
        }
    }
    Ok(true)
}
