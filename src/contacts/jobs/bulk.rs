//! The bulk actions on a job's contacts, 500 at a time with a result per contact: move into
//! a list and blacklist (one import each), and GDPR delete (forget in SmartEmailing, then scrub
//! the bridge's own copies of the buyer's data).

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqlitePool};

use super::*;
use crate::contacts::suppression;
use crate::fapi::model::without_personal_data;
use crate::model::{ContactJobItemStatus, ContactJobKind, SyncStatus};
use crate::platform::Context;
use crate::smartemailing::{
    BATCH_LIMIT, Blacklist, ContactImport, ContactQuery, ForgetOutcome, ImportSettings,
    ListMembership, ListStatus, SeError, SmartEmailingClient,
};

#[derive(FromRow)]
struct PendingItem {
    contact_id: i64,
    email: String,
    se_contact_id: Option<i64>,
}

async fn pending_items(
    db: &SqlitePool,
    job: i64,
    limit: usize,
) -> Result<Vec<PendingItem>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.contact_id, c.email, c.se_contact_id FROM contact_job_items i
         JOIN contacts c ON c.id = i.contact_id
         WHERE i.job_id = ? AND i.status = ? ORDER BY i.contact_id LIMIT ?",
    )
    .bind(job)
    .bind(ContactJobItemStatus::Pending)
    .bind(limit as i64)
    .fetch_all(db)
    .await
}

async fn record_items(
    conn: &mut sqlx::SqliteConnection,
    job: i64,
    items: &[i64],
    result: Result<(), &str>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for contact in items {
        sqlx::query(
            "UPDATE contact_job_items SET status = ?, message = ? WHERE job_id = ? AND contact_id = ?",
        )
        .bind(if result.is_ok() {
            ContactJobItemStatus::Done
        } else {
            ContactJobItemStatus::Failed
        })
        .bind(result.err())
        .bind(job)
        .bind(contact)
        .execute(&mut *conn)
        .await?;
    }
    let count = items.len() as i64;
    let (succeeded, failed) = if result.is_ok() {
        (count, 0)
    } else {
        (0, count)
    };
    sqlx::query(
        "UPDATE contact_jobs SET done = done + ?, succeeded = succeeded + ?, failed = failed + ?, locked_until = ? WHERE id = ?",
    )
    .bind(count)
    .bind(succeeded)
    .bind(failed)
    .bind(now + LOCK_FOR)
    .bind(job)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Move or blacklist: imports the contacts in batches of 500.
pub(super) async fn import(
    ctx: &Context,
    client: &SmartEmailingClient,
    job: &ClaimedJob,
) -> anyhow::Result<Outcome> {
    loop {
        if stopping(ctx) {
            return Ok(None);
        }
        let items = pending_items(&ctx.db, job.id, BATCH_LIMIT).await?;
        if items.is_empty() {
            return Ok(Some(None));
        }
        let contacts: Vec<ContactImport> = items
            .iter()
            .map(|item| match job.list_id {
                Some(list) if job.kind == ContactJobKind::Move => ContactImport {
                    emailaddress: item.email.clone(),
                    contactlists: vec![ListMembership {
                        id: list,
                        status: ListStatus::Confirmed,
                    }],
                    ..ContactImport::default()
                },
                _ => ContactImport {
                    emailaddress: item.email.clone(),
                    blacklisted: Some(Blacklist),
                    ..ContactImport::default()
                },
            })
            .collect();
        // preserve_unsubscribed stays on: nobody who unsubscribed is subscribed again.
        let result = client
            .import_contacts(&contacts, &ImportSettings::default())
            .await;
        let now = ctx.clock.now();
        let ids: Vec<i64> = items.iter().map(|i| i.contact_id).collect();
        let mut tx = ctx.db.begin().await?;
        match &result {
            Ok(_) => {
                let update = if job.kind == ContactJobKind::Move {
                    // Checked again: an unsubscribed contact stays unsubscribed, so still in
                    // no list as confirmed.
                    "UPDATE contacts SET in_list = 1, check_due = 1, checked_at = ? WHERE id = ?"
                } else {
                    "UPDATE contacts SET blacklisted = 1, in_list = 0, checked_at = ? WHERE id = ?"
                };
                for id in &ids {
                    sqlx::query(update)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                record_items(&mut tx, job.id, &ids, Ok(()), now).await?;
            }
            Err(error) => {
                record_items(&mut tx, job.id, &ids, Err(&error.to_string()), now).await?;
            }
        }
        tx.commit().await?;
        if let Err(error @ SeError::Unauthorized { .. }) = result {
            fail_pending(&ctx.db, job.id, &error.to_string(), now).await?;
            return Ok(Some(Some(error.to_string())));
        }
    }
}

/// Credentials stopped working: the rest cannot be done; say so on each.
async fn fail_pending(
    db: &SqlitePool,
    job: i64,
    message: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    let rest: Vec<i64> = sqlx::query_scalar(
        "SELECT contact_id FROM contact_job_items WHERE job_id = ? AND status = ?",
    )
    .bind(job)
    .bind(ContactJobItemStatus::Pending)
    .fetch_all(&mut *tx)
    .await?;
    record_items(&mut tx, job, &rest, Err(message), now).await?;
    tx.commit().await
}

/// GDPR delete: forgets each contact in SmartEmailing, then removes the personal data the
/// bridge holds (the e-mail becomes a marker; stored payloads, the buyers' client records and
/// the personal fields of their FAPI documents are cleared) and keeps the buyer on the
/// connection's suppression list, so that nothing of theirs is stored or sent again.
///
/// Per contact: SmartEmailing's contact is the one with exactly this address (a look-up that
/// finds only others forgets nobody); the buyer is suppressed before SmartEmailing forgets
/// them and pushes of their orders already under way are waited for, so no order re-creates
/// them afterwards; if SmartEmailing cannot forget them, the suppression is taken back and
/// the contact's result says why.
pub(super) async fn delete(
    ctx: &Context,
    client: &SmartEmailingClient,
    job: &ClaimedJob,
) -> anyhow::Result<Outcome> {
    let outcome = delete_pending(ctx, client, job).await;
    // The old copies of what was scrubbed leave the write-ahead log too (best effort: a busy
    // reader lets the next checkpoint do it).
    if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&ctx.db)
        .await
    {
        tracing::warn!(%error, "checkpoint after a GDPR delete failed");
    }
    outcome
}

async fn delete_pending(
    ctx: &Context,
    client: &SmartEmailingClient,
    job: &ClaimedJob,
) -> anyhow::Result<Outcome> {
    loop {
        if stopping(ctx) {
            return Ok(None);
        }
        let items = pending_items(&ctx.db, job.id, 50).await?;
        if items.is_empty() {
            return Ok(Some(None));
        }
        for item in items {
            let result = forget(ctx, client, job.connection_id, &item).await?;
            let now = ctx.clock.now();
            let mut tx = ctx.db.begin().await?;
            match &result {
                Ok(()) => {
                    scrub(&mut tx, job.connection_id, &item, now).await?;
                    record_items(&mut tx, job.id, &[item.contact_id], Ok(()), now).await?;
                }
                Err(error) => {
                    record_items(
                        &mut tx,
                        job.id,
                        &[item.contact_id],
                        Err(&error.to_string()),
                        now,
                    )
                    .await?;
                }
            }
            tx.commit().await?;
            if let Err(ForgetError::SmartEmailing(error @ SeError::Unauthorized { .. })) = result {
                fail_pending(&ctx.db, job.id, &error.to_string(), now).await?;
                return Ok(Some(Some(error.to_string())));
            }
        }
    }
}

/// Why a contact was not forgotten.
#[derive(Debug, thiserror::Error)]
enum ForgetError {
    #[error(transparent)]
    SmartEmailing(#[from] SeError),
    /// The look-up by address answered with other contacts only.
    #[error(
        "SmartEmailing's look-up of this address returned {0} other contact(s) and not this one; nobody was forgotten"
    )]
    NoExactMatch(usize),
    #[error(
        "orders of this buyer are still being sent to SmartEmailing; nobody was forgotten, try again"
    )]
    PushesUnderWay,
}

/// SmartEmailing's contact with exactly this address (case-insensitive), if it has one.
async fn exact_contact(
    client: &SmartEmailingClient,
    email: &str,
) -> Result<Option<i64>, ForgetError> {
    let page = client
        .contacts(&ContactQuery {
            limit: 100,
            offset: 0,
            emailaddress: Some(email.to_string()),
            blacklisted: None,
        })
        .await?;
    let wanted = email.trim().to_lowercase();
    match page
        .contacts
        .iter()
        .find(|c| c.emailaddress.trim().to_lowercase() == wanted)
    {
        Some(contact) => Ok(Some(contact.id)),
        None if page.contacts.is_empty() => Ok(None),
        None => Err(ForgetError::NoExactMatch(page.contacts.len())),
    }
}

/// How long a delete waits for pushes of the buyer's orders that are under way.
const PUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Waits until no order of the buyer is claimed by a push; false if that took too long.
async fn pushes_done(ctx: &Context, connection_id: i64, email: &str) -> Result<bool, sqlx::Error> {
    let deadline = tokio::time::Instant::now() + PUSH_WAIT;
    loop {
        let in_flight: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM orders
             WHERE connection_id = ? AND customer_email = ? AND locked_until > ?",
        )
        .bind(connection_id)
        .bind(email)
        .bind(ctx.clock.now())
        .fetch_one(&ctx.db)
        .await?;
        if in_flight == 0 {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Forgets one contact in SmartEmailing, with the buyer suppressed from before the request on.
/// `Ok(Err(_))` is this contact's failure (the suppression is taken back); `Err` a database one.
async fn forget(
    ctx: &Context,
    client: &SmartEmailingClient,
    connection_id: i64,
    item: &PendingItem,
) -> anyhow::Result<Result<(), ForgetError>> {
    let id = match item.se_contact_id {
        Some(id) => Some(id),
        None => match exact_contact(client, &item.email).await {
            Ok(id) => id,
            Err(error) => return Ok(Err(error)),
        },
    };
    let hash = suppression::email_hash(&ctx.secret_key, &item.email);
    let marker = suppression::marker(item.contact_id);
    {
        let mut conn = ctx.db.acquire().await?;
        suppression::suppress(&mut conn, connection_id, &hash, &marker, ctx.clock.now()).await?;
    }
    let result = if !pushes_done(ctx, connection_id, &item.email).await? {
        Err(ForgetError::PushesUnderWay)
    } else {
        match id {
            Some(id) => match client.forget_contact(id).await {
                Ok(ForgetOutcome::Forgotten | ForgetOutcome::AlreadyGone) => Ok(()),
                Err(error) => Err(error.into()),
            },
            // SmartEmailing does not know the address: nothing to forget there.
            None => Ok(()),
        }
    };
    if result.is_err() {
        let mut conn = ctx.db.acquire().await?;
        suppression::unsuppress(&mut conn, connection_id, &hash, &marker).await?;
    }
    Ok(result)
}

/// Removes the buyer's personal data from the bridge's tables (in the caller's transaction).
async fn scrub(
    conn: &mut sqlx::SqliteConnection,
    connection_id: i64,
    item: &PendingItem,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let marker = suppression::marker(item.contact_id);
    let order_ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM orders WHERE connection_id = ? AND customer_email = ?")
            .bind(connection_id)
            .bind(&item.email)
            .fetch_all(&mut *conn)
            .await?;
    let ids = serde_json::to_string(&order_ids).expect("ids serialize");
    // Documents keep what tells the order's state, nothing personal; their clients' records go.
    let documents: Vec<(i64, String)> = sqlx::query_as(
        "SELECT invoice_id, raw FROM order_documents
         WHERE connection_id = ? AND order_id IN (SELECT value FROM json_each(?))",
    )
    .bind(connection_id)
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut clients = Vec::new();
    for (invoice_id, raw) in documents {
        let value: serde_json::Value = serde_json::from_str(&raw).unwrap_or_default();
        if let Some(client) = value["client"]
            .as_i64()
            .or_else(|| value["client"].as_str().and_then(|c| c.trim().parse().ok()))
        {
            clients.push(client);
        }
        sqlx::query(
            "UPDATE order_documents SET raw = ? WHERE connection_id = ? AND invoice_id = ?",
        )
        .bind(without_personal_data(&value).to_string())
        .bind(connection_id)
        .bind(invoice_id)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "DELETE FROM fapi_clients WHERE connection_id = ? AND client_id IN (SELECT value FROM json_each(?))",
    )
    .bind(connection_id)
    .bind(serde_json::to_string(&clients).expect("ids serialize"))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE order_attempts SET message = replace(replace(message, ?, ?), ?, ?)
         WHERE order_id IN (SELECT value FROM json_each(?)) AND message IS NOT NULL",
    )
    .bind(&item.email)
    .bind(&marker)
    .bind(item.email.to_uppercase())
    .bind(&marker)
    .bind(&ids)
    .execute(&mut *conn)
    .await?;
    // Orders not in SmartEmailing yet will never be: they are skipped.
    sqlx::query(
        "UPDATE orders SET customer_email = ?, payload = NULL, buyer_forgotten = 1,
            status_reason = CASE WHEN sync_status IN (?, ?) THEN ? ELSE status_reason END,
            sync_status = CASE WHEN sync_status IN (?, ?) THEN ? ELSE sync_status END
         WHERE id IN (SELECT value FROM json_each(?))",
    )
    .bind(&marker)
    .bind(SyncStatus::Pending)
    .bind(SyncStatus::Failed)
    .bind(suppression::SKIPPED_REASON)
    .bind(SyncStatus::Pending)
    .bind(SyncStatus::Failed)
    .bind(SyncStatus::Skipped)
    .bind(&ids)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE contacts SET email = ?, name = NULL, forgotten_at = ?, in_list = NULL, check_due = 0 WHERE id = ?",
    )
    .bind(&marker)
    .bind(now)
    .bind(item.contact_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE contact_job_items SET email = ? WHERE contact_id = ?")
        .bind(&marker)
        .bind(item.contact_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
