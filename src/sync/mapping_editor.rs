//! The Mapping tab of a connection: the page's data, saving a mapping (checked against the
//! account's custom fields, audited), the preview (what would be sent for one stored or fetched
//! FAPI order; nothing is sent), and the re-send of a period as a historical run.

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::accounts::audit::{self, Actor};
use crate::connections::{self, ConnectionRecord};
use crate::error::{AppError, Invalid};
use crate::fapi::Invoice;
use crate::model::{
    ConnectionRef, FieldMappingPage, FieldRule, MappingPreview, SeCustomField, SeFieldOption,
    System,
};
use crate::platform::Context;
use crate::smartemailing::CustomFieldDefinition;
use crate::sync::field_mapping;
use crate::sync::ingest::build_payload;
use crate::sync::mapping::{self, BuyerDetails, OrderContext, Source};
use crate::sync::{historical, store};

pub mod actions {
    pub const MAPPING_SAVED: &str = "connection.mapping_saved";
}

/// Rules one connection may have: more is a mistake, not a mapping.
const MAX_RULES: usize = 50;

/// The tab's data. The account's custom fields are read live; when SmartEmailing cannot be
/// reached the page says why and still shows the rules.
pub async fn page(
    ctx: &Context,
    connection_id: i64,
    can_edit: bool,
    can_resend: bool,
) -> Result<FieldMappingPage, AppError> {
    let connection = connections::find(&ctx.db, connection_id).await?;
    let custom_fields = custom_fields(ctx, &connection)
        .await
        .map(|fields| fields.iter().map(view_of).collect());
    Ok(FieldMappingPage {
        connection: ConnectionRef {
            id: connection.id,
            name: connection.name.clone(),
        },
        rules: connection.field_mapping.0.clone(),
        custom_fields,
        seen_custom_fields: seen_custom_fields(ctx, connection.id).await?,
        can_edit,
        can_resend,
    })
}

fn view_of(field: &CustomFieldDefinition) -> SeCustomField {
    SeCustomField {
        id: field.id,
        name: field.name.clone(),
        field_type: field.field_type.clone(),
        options: field
            .customfield_options
            .iter()
            .map(|o| SeFieldOption {
                id: o.id,
                name: o.name.clone(),
            })
            .collect(),
    }
}

async fn custom_fields(
    ctx: &Context,
    connection: &ConnectionRecord,
) -> Result<Vec<CustomFieldDefinition>, String> {
    let client = connection
        .smartemailing_client(ctx)
        .map_err(|_| "the connection's SmartEmailing key cannot be read".to_string())?;
    client.custom_fields().await.map_err(|e| e.to_string())
}

/// The names of the FAPI custom fields in the connection's newest stored documents.
async fn seen_custom_fields(ctx: &Context, connection_id: i64) -> Result<Vec<String>, AppError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT json_extract(field.value, '$.name')
         FROM (SELECT raw FROM order_documents WHERE connection_id = ?
               ORDER BY rowid DESC LIMIT 1000) AS recent,
              json_each(recent.raw, '$.custom_fields') AS field
         WHERE json_valid(recent.raw) AND json_type(recent.raw, '$.custom_fields') = 'array'
           AND json_extract(field.value, '$.name') IS NOT NULL
         ORDER BY 1 LIMIT 100",
    )
    .bind(connection_id)
    .fetch_all(&ctx.db)
    .await?;
    Ok(names)
}

/// Saves a connection's mapping after checking it against the account's custom fields. Orders
/// built from now on use it; those already queued or sent keep what they had.
pub async fn save(
    ctx: &Context,
    actor: &Actor,
    connection_id: i64,
    rules: Vec<FieldRule>,
) -> Result<(), AppError> {
    let connection = connections::find(&ctx.db, connection_id).await?;
    if rules.len() > MAX_RULES {
        return Err(Invalid::MappingInvalid(format!("at most {MAX_RULES} rules")).into());
    }
    let needs_fields = rules
        .iter()
        .any(|r| matches!(r.target, crate::model::MappingTarget::ContactField { .. }));
    let fields = if needs_fields {
        Some(
            custom_fields(ctx, &connection)
                .await
                .map_err(|e| AppError::Upstream(System::SmartEmailing, e))?,
        )
    } else {
        None
    };
    field_mapping::validate(&rules, fields.as_deref()).map_err(Invalid::MappingInvalid)?;
    let now = ctx.clock.now();
    let mut tx = ctx.db.begin().await?;
    sqlx::query("UPDATE connections SET field_mapping = ? WHERE id = ? AND deleted_at IS NULL")
        .bind(sqlx::types::Json(&rules))
        .bind(connection.id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut *tx,
        now,
        actor
            .event(actions::MAPPING_SAVED)
            .target(&connection.name)
            .details(json!({ "rules": rules.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What the bridge would send for one FAPI order with these rules: `reference` is a FAPI
/// invoice id, a document number or the order's code in SmartEmailing. Stored documents are
/// used when the bridge has them; an invoice id it does not know is fetched from FAPI (nothing
/// is stored, nothing is sent).
pub async fn preview(
    ctx: &Context,
    connection_id: i64,
    reference: &str,
    rules: Vec<FieldRule>,
) -> Result<MappingPreview, AppError> {
    let mut connection = connections::find(&ctx.db, connection_id).await?;
    connection.field_mapping = sqlx::types::Json(rules);
    let reference = reference.trim();
    if reference.is_empty() {
        return Err(Invalid::MappingInvalid("choose an order to preview".into()).into());
    }
    let stored = stored_order(ctx, connection.id, reference).await?;
    let (raws, order) = match stored {
        Some(found) => found,
        None => {
            let Ok(invoice_id) = reference.parse::<i64>() else {
                return Err(AppError::NotFound);
            };
            let fapi = connection.fapi_client(ctx)?;
            let raw = fapi
                .invoice_json(invoice_id)
                .await
                .map_err(|e| match e.status() {
                    Some(404) => AppError::NotFound,
                    _ => AppError::Upstream(System::Fapi, e.to_string()),
                })?;
            (vec![raw], None)
        }
    };
    let documents: Vec<Invoice> = raws
        .iter()
        .filter_map(|raw| Invoice::from_json(raw).ok())
        .collect();
    let pretty = |value: &Value| serde_json::to_string_pretty(value).unwrap_or_default();
    let shown_documents = pretty(&Value::Array(raws.clone()));
    let main = mapping::principal(&documents);
    let order_key = match &order {
        Some(order) => order.order_key.clone(),
        None => main.map_or_else(String::new, |d| mapping::order_key(d, None)),
    };
    let mut preview = MappingPreview {
        documents: shown_documents,
        contact: String::new(),
        order: String::new(),
        error: None,
    };
    if order.as_ref().is_some_and(|o| o.buyer_forgotten) {
        preview.error = Some(crate::sync::ingest::SKIPPED_FORGOTTEN.to_string());
        return Ok(preview);
    }
    let buyer = match main.and_then(|d| d.client) {
        Some(client_id) => buyer_details(ctx, &connection, client_id, order.is_none()).await?,
        None => None,
    };
    let context = OrderContext {
        eshop_name: &connection.eshop_name,
        eshop_code: order.as_ref().map_or(&order_key, |o| &o.eshop_code),
        source: order
            .as_ref()
            .and_then(|o| Source::parse(&o.source))
            .unwrap_or(Source::Webhook),
        previous: order.as_ref().and_then(|o| o.synced_state),
        first_seen: order
            .as_ref()
            .map_or_else(|| ctx.now(), |o| o.first_seen_at),
    };
    match build_payload(&documents, &context, buyer.as_ref(), &connection) {
        Ok(payload) => {
            preview.contact = serde_json::to_string_pretty(&payload.contact).unwrap_or_default();
            preview.order = serde_json::to_string_pretty(&payload.order).unwrap_or_default();
        }
        Err(error) => preview.error = Some(error.to_string()),
    }
    Ok(preview)
}

/// The stored documents and the order of a reference (invoice id, document number, or the
/// order's code), if the bridge has it.
async fn stored_order(
    ctx: &Context,
    connection_id: i64,
    reference: &str,
) -> Result<Option<(Vec<Value>, Option<store::OrderRecord>)>, AppError> {
    let mut conn = ctx.db.acquire().await?;
    let key: Option<String> = sqlx::query_scalar(
        "SELECT o.order_key FROM order_documents d JOIN orders o ON o.id = d.order_id
         WHERE d.connection_id = ?1 AND (CAST(d.invoice_id AS TEXT) = ?2 OR d.number = ?2)
         UNION ALL
         SELECT order_key FROM orders WHERE connection_id = ?1 AND (eshop_code = ?2 OR order_key = ?2)
         LIMIT 1",
    )
    .bind(connection_id)
    .bind(reference)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(key) = key else {
        return Ok(None);
    };
    let Some(order) = store::orders_by_keys(&mut conn, connection_id, &[key.as_str()])
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let mut documents = store::documents_of_orders(&mut conn, &[order.id]).await?;
    documents.sort_by_key(|document| document.invoice_id);
    let raws = documents
        .iter()
        .filter_map(|document| serde_json::from_str(&document.raw).ok())
        .collect();
    Ok(Some((raws, Some(order))))
}

/// The client record the order would be built with: the cached one, or (for an order the
/// bridge does not hold) FAPI's.
async fn buyer_details(
    ctx: &Context,
    connection: &ConnectionRecord,
    client_id: i64,
    fetch: bool,
) -> Result<Option<BuyerDetails>, AppError> {
    let mut conn = ctx.db.acquire().await?;
    if let Some(cached) = store::cached_clients(&mut conn, connection.id, &[client_id])
        .await?
        .first()
    {
        return Ok(Some(cached.buyer()));
    }
    drop(conn);
    if !fetch {
        return Ok(None);
    }
    let fapi = connection.fapi_client(ctx)?;
    Ok(fapi
        .client(client_id)
        .await
        .ok()
        .map(|record| store::CachedClient::from_record(&record, None).buyer()))
}

/// Re-sends a connection's orders from `since` (a Prague day; all when `None`) with the
/// current mapping: a historical run that builds every order it reads again.
pub async fn resend(
    ctx: &Context,
    actor: &Actor,
    connection_id: i64,
    since: Option<NaiveDate>,
    confirmed: bool,
) -> Result<i64, AppError> {
    historical::start_with(ctx, actor, connection_id, since, confirmed, true).await
}
