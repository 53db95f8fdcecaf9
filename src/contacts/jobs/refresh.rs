//! "Refresh from SmartEmailing": pages through every contact of the account and updates the
//! ones the bridge knows; the page offset is the job's checkpoint.

use crate::contacts::{self};

use super::*;
use crate::platform::Context;
use crate::smartemailing::{BATCH_LIMIT, ContactQuery, SmartEmailingClient};

/// Pages through every SmartEmailing contact and updates the ones the bridge knows.
pub(super) async fn refresh(
    ctx: &Context,
    client: &SmartEmailingClient,
    job: &ClaimedJob,
) -> anyhow::Result<Outcome> {
    let mut offset = job.cursor;
    loop {
        if stopping(ctx) {
            return Ok(None);
        }
        let query = ContactQuery {
            limit: BATCH_LIMIT as u32,
            offset: offset as u32,
            emailaddress: None,
            blacklisted: None,
        };
        let page = match client.contacts(&query).await {
            Ok(page) => page,
            Err(error) => return Ok(Some(Some(error.to_string()))),
        };
        let now = ctx.clock.now();
        let mut tx = ctx.db.begin().await?;
        let mut matched = 0;
        for contact in &page.contacts {
            matched += contacts::apply_lookup(&mut tx, job.connection_id, contact, now).await?;
        }
        offset += page.contacts.len() as i64;
        sqlx::query(
            "UPDATE contact_jobs SET cursor = ?, done = ?, total = ?, succeeded = succeeded + ?, locked_until = ? WHERE id = ?",
        )
        .bind(offset)
        .bind(offset)
        .bind(page.total_count as i64)
        .bind(matched as i64)
        .bind(now + LOCK_FOR)
        .bind(job.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if page.contacts.len() < BATCH_LIMIT {
            // Due contacts this pass did not see are not in SmartEmailing: nothing to check.
            sqlx::query(
                "UPDATE contacts SET check_due = 0, in_list = CASE WHEN checked_at IS NULL THEN NULL ELSE in_list END
                 WHERE connection_id = ? AND check_due = 1 AND (checked_at IS NULL OR checked_at < ?)",
            )
            .bind(job.connection_id)
            .bind(job.created_at)
            .execute(&ctx.db)
            .await?;
            return Ok(Some(None));
        }
    }
}
