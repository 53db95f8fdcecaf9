//! The bulk actions on a job's contacts, 500 at a time with a result per contact: move into
//! a list and blacklist (one import each), and GDPR delete (forget in SmartEmailing, then scrub
//! the bridge's own copies of the buyer's data).

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqlitePool};

use super::*;
use crate::model::{ContactJobItemStatus, ContactJobKind};
use crate::platform::Context;
use crate::smartemailing::{
    BATCH_LIMIT, Blacklist, ContactImport, ForgetOutcome, ImportSettings, ListMembership,
    ListStatus, SeError, SmartEmailingClient,
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
/// bridge holds (the e-mail becomes a marker; stored payloads and FAPI documents are cleared).
pub(super) async fn delete(
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
            let result = forget(client, &item).await;
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
            if let Err(error @ SeError::Unauthorized { .. }) = result {
                fail_pending(&ctx.db, job.id, &error.to_string(), now).await?;
                return Ok(Some(Some(error.to_string())));
            }
        }
    }
}

async fn forget(client: &SmartEmailingClient, item: &PendingItem) -> Result<(), SeError> {
    let id = match item.se_contact_id {
        Some(id) => Some(id),
        None => lookup(client, &item.email).await?.map(|c| c.id),
    };
    match id {
        Some(id) => match client.forget_contact(id).await? {
            ForgetOutcome::Forgotten | ForgetOutcome::AlreadyGone => Ok(()),
        },
        // SmartEmailing does not know the address: nothing to forget there.
        None => Ok(()),
    }
}

async fn scrub(
    conn: &mut sqlx::SqliteConnection,
    connection_id: i64,
    item: &PendingItem,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let marker = format!("forgotten-{}@invalid", item.contact_id);
    sqlx::query(
        "UPDATE order_documents SET raw = '{}' WHERE order_id IN
            (SELECT id FROM orders WHERE connection_id = ? AND customer_email = ?)",
    )
    .bind(connection_id)
    .bind(&item.email)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE orders SET customer_email = ?, payload = NULL WHERE connection_id = ? AND customer_email = ?",
    )
    .bind(&marker)
    .bind(connection_id)
    .bind(&item.email)
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
