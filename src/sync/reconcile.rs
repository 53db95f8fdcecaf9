//! Reconciliation: every few minutes, for each connection with forwarding on, list the FAPI
//! documents changed since the previous check (minus an overlap) and ingest those the bridge
//! does not have or has in an older version, so a notification that never arrived is caught.
//!
//! It relies on `GET /invoices?last_modified_after=…` (Prague local time), which the reference
//! marks unverified. If FAPI refuses that filter (400), it falls back to `created_on_from`,
//! which catches new documents but not later changes of older ones; either way documents are
//! compared with the stored copies, so a filter FAPI ignores only costs time.

use chrono::{DateTime, Utc};

use crate::connections::{self, ConnectionRecord};
use crate::error::AppError;
use crate::fapi::{FapiError, InvoiceQuery};
use crate::model::{RunKind, RunStatus, System};
use crate::platform::Context;
use crate::sync::clients;
use crate::sync::ingest::{self, IngestError, Ingested};
use crate::sync::mapping::Source;
use crate::sync::store::{self, RunCounts};

const PAGE: u32 = 100;

pub async fn run_all(ctx: &Context) -> anyhow::Result<()> {
    for connection in connections::list(&ctx.db).await? {
        if connection.forwarding_enabled
            && let Err(error) = run(ctx, &connection, "schedule").await
        {
            tracing::warn!(
                connection = connection.id,
                ?error,
                "reconciliation of a connection failed"
            );
        }
    }
    Ok(())
}

/// One reconciliation of one connection, recorded as a sync run.
pub async fn run(
    ctx: &Context,
    connection: &ConnectionRecord,
    started_by: &str,
) -> Result<RunCounts, AppError> {
    let started = ctx.clock.now();
    let run_id = store::start_run(
        &ctx.db,
        connection.id,
        RunKind::Reconciliation,
        started_by,
        started,
    )
    .await?;
    let overlap =
        chrono::Duration::from_std(ctx.settings.sync.reconcile_overlap).unwrap_or_default();
    let since = connection
        .reconciled_until
        .or(connection.forwarding_enabled_at)
        .unwrap_or(started)
        - overlap;
    let mut counts = RunCounts::default();
    let scanned = scan(ctx, connection, since, &mut counts).await;
    let refused = match &scanned {
        Err(FapiError::Unauthorized { message, .. }) => Some(message.as_str()),
        _ => None,
    };
    if scanned.is_ok() || refused.is_some() {
        connection
            .note_credentials(&ctx.db, System::Fapi, refused, started)
            .await?;
    }
    match scanned {
        Ok(()) => {
            sqlx::query("UPDATE connections SET reconciled_until = ? WHERE id = ?")
                .bind(started)
                .bind(connection.id)
                .execute(&ctx.db)
                .await?;
            store::finish_run(
                &ctx.db,
                run_id,
                RunStatus::Completed,
                None,
                &counts,
                ctx.clock.now(),
            )
            .await?;
            Ok(counts)
        }
        Err(error) => {
            store::finish_run(
                &ctx.db,
                run_id,
                RunStatus::Failed,
                Some(&error.to_string()),
                &counts,
                ctx.clock.now(),
            )
            .await?;
            Err(AppError::Upstream(
                crate::model::System::Fapi,
                error.to_string(),
            ))
        }
    }
}

async fn scan(
    ctx: &Context,
    connection: &ConnectionRecord,
    since: DateTime<Utc>,
    counts: &mut RunCounts,
) -> Result<(), FapiError> {
    let fapi = connection
        .fapi_client(ctx)
        .map_err(|e| FapiError::Decode(format!("{e:?}")))?;
    let mut query = InvoiceQuery {
        limit: Some(PAGE),
        offset: Some(0),
        order: Some("id".into()),
        last_modified_after: Some(since),
        ..InvoiceQuery::default()
    };
    loop {
        let page = match fapi.list_invoices_json(&query).await {
            Err(FapiError::Api { status: 400, .. }) if query.last_modified_after.is_some() => {
                tracing::warn!(
                    "FAPI refused last_modified_after; reconciling by creation date instead"
                );
                query.last_modified_after = None;
                query.created_on_from = Some(since);
                query.offset = Some(0);
                continue;
            }
            result => result?,
        };
        for raw in &page {
            counts.seen += 1;
            let id = raw["id"]
                .as_i64()
                .or_else(|| raw["id"].as_str().and_then(|s| s.parse().ok()));
            let modified = raw["last_modified_on"]
                .as_str()
                .and_then(crate::platform::time::parse_prague_local);
            if let Some(id) = id {
                let stored = store::document_modified_on(&ctx.db, connection.id, id)
                    .await
                    .map_err(|e| FapiError::Decode(e.to_string()))?;
                if matches!((stored, modified), (Some(Some(stored)), Some(modified)) if stored >= modified)
                {
                    continue;
                }
            }
            let client = match raw["client"].as_i64() {
                Some(id) => {
                    clients::fetch_needed(&ctx.db, &ctx.secret_key, connection.id, &fapi, &[raw])
                        .await
                        .map_err(|e| FapiError::Decode(e.to_string()))?
                        .remove(&id)
                }
                None => None,
            };
            match ingest::ingest_with_client(ctx, connection, raw, client, Source::Reconciliation)
                .await
            {
                Ok(Ingested::Queued {
                    new_order: true, ..
                }) => counts.created += 1,
                Ok(Ingested::Queued {
                    new_order: false, ..
                }) => counts.updated += 1,
                Ok(Ingested::Skipped { .. }) => counts.skipped += 1,
                Ok(Ingested::Failed { .. }) | Err(IngestError::Invalid(_)) => counts.failed += 1,
                // Not the document's fault: the run fails and keeps its window, so the next
                // one scans these documents again.
                Err(IngestError::Database(error)) => {
                    return Err(FapiError::Decode(format!(
                        "storing a document failed ({error}); the next reconciliation looks again"
                    )));
                }
                Ok(Ingested::Unchanged { .. }) => {}
            }
        }
        if page.len() < PAGE as usize {
            return Ok(());
        }
        query.offset = Some(query.offset.unwrap_or(0) + PAGE);
    }
}
