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

/// SmartEmailing's contact with exactly this address (case-insensitive): a look-up may answer
/// with other contacts too, or only.
async fn lookup(
    client: &SmartEmailingClient,
    email: &str,
) -> Result<Option<crate::smartemailing::Contact>, SeError> {
    let page = client
        .contacts(&ContactQuery {
            limit: 100,
            offset: 0,
            emailaddress: Some(email.to_string()),
            blacklisted: None,
        })
        .await?;
    let wanted = email.trim().to_lowercase();
    Ok(page
        .contacts
        .into_iter()
        .find(|c| c.emailaddress.trim().to_lowercase() == wanted))
}

/// Looks up contacts whose orders were just synced. False when none was due.
///
/// Connections with a historical sync in progress wait until it ends (their buyers keep
/// arriving). For each connection it picks the cheaper way: a look-up per contact due, or one
/// refresh that pages through all of the account's contacts (500 a page) when that takes fewer
/// requests — after a burst of orders or a back-fill. The account's size costs one request to
/// learn.
pub async fn check_due(ctx: &Context) -> anyhow::Result<bool> {
    // Active historical runs are read from their partial index (its predicate written out); the
    // refresh's kind and statuses are bound, in this order.
    let due_by_connection: Vec<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT connection_id, COUNT(*) FROM contacts WHERE check_due = 1 AND connection_id NOT IN (
            SELECT connection_id FROM sync_runs WHERE {ACTIVE_HISTORICAL_RUN}
            UNION SELECT connection_id FROM contact_jobs WHERE kind = ? AND status IN (?, ?))
         GROUP BY connection_id ORDER BY connection_id"
    ))
    .bind(ContactJobKind::Refresh)
    .bind(ContactJobStatus::Queued)
    .bind(ContactJobStatus::Running)
    .fetch_all(&ctx.db)
    .await?;
    let mut worked = false;
    for (connection_id, due) in due_by_connection {
        if stopping(ctx) {
            break;
        }
        let client = connections::find(&ctx.db, connection_id)
            .await
            .and_then(|c| c.smartemailing_client(ctx));
        let Ok(client) = client else {
            // The connection is gone: nothing to check against.
            sqlx::query(
                "UPDATE contacts SET check_due = 0 WHERE connection_id = ? AND check_due = 1",
            )
            .bind(connection_id)
            .execute(&ctx.db)
            .await?;
            continue;
        };
        let outcome = match refresh_is_cheaper(&client, due).await {
            Ok(true) => {
                start_refresh(ctx, &Actor::system("contact check"), connection_id).await?;
                Ok(())
            }
            Ok(false) => look_up_due(ctx, &client, connection_id).await?,
            Err(error) => Err(error),
        };
        match outcome {
            Ok(()) => worked = true,
            // Checked again in the next round (the client already retried).
            Err(error) => tracing::warn!(%error, "could not check contacts in SmartEmailing"),
        }
    }
    Ok(worked)
}

/// Whether one refresh of the account takes fewer requests than a look-up per due contact.
async fn refresh_is_cheaper(client: &SmartEmailingClient, due: i64) -> Result<bool, SeError> {
    if due <= 2 {
        return Ok(false);
    }
    let account = client
        .contacts(&ContactQuery {
            limit: 1,
            offset: 0,
            emailaddress: None,
            blacklisted: None,
        })
        .await?;
    // Full pages of 500, then the short (or empty) last one.
    let refresh = account.total_count / 500 + 1;
    Ok(refresh < due as u64)
}

/// Looks up up to [`CHECKS_PER_ROUND`] due contacts of a connection, one request each. The
/// inner error is SmartEmailing's (the rest waits for the next round).
async fn look_up_due(
    ctx: &Context,
    client: &SmartEmailingClient,
    connection_id: i64,
) -> Result<Result<(), SeError>, sqlx::Error> {
    let due: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, email FROM contacts WHERE check_due = 1 AND connection_id = ? ORDER BY id LIMIT ?",
    )
    .bind(connection_id)
    .bind(CHECKS_PER_ROUND)
    .fetch_all(&ctx.db)
    .await?;
    for (contact_id, email) in due {
        if stopping(ctx) {
            break;
        }
        let now = ctx.clock.now();
        let found = match lookup(client, &email).await {
            Ok(found) => found,
            Err(error) => return Ok(Err(error)),
        };
        let mut conn = ctx.db.acquire().await?;
        match found {
            Some(contact) => {
                contacts::apply_lookup(&mut conn, connection_id, &contact, now).await?;
            }
            None => contacts::mark_missing(&mut conn, contact_id, now).await?,
        }
    }
    Ok(Ok(()))
}
