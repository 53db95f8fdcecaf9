//! One fetched FAPI document → the state of its order, and the payload SmartEmailing should
//! get. Shared by notifications, reconciliation and the historical sync.

use chrono::{DateTime, Timelike, Utc};
use serde_json::Value;
use sqlx::SqliteConnection;

use crate::error::AppError;
use crate::fapi::Invoice;
use crate::server::connections::ConnectionRecord;
use crate::server::state::AppState;
use crate::sync::mapping::{self, FapiState, OrderContext, Source};
use crate::sync::store::{self, DocumentRow, OrderFields, Payload, sync_status};

pub const SKIPPED_BEFORE_FORWARDING: &str =
    "created before forwarding was enabled — use the historical sync";

/// What ingesting one document did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// New or changed content is queued for SmartEmailing.
    Queued { order_id: i64, new_order: bool },
    /// SmartEmailing already holds exactly this (or the document was an older copy).
    Unchanged { order_id: i64 },
    /// Not forwarded, with the reason.
    Skipped { order_id: i64, reason: String },
    /// Cannot become an order (e.g. no e-mail); the order is marked failed.
    Failed { order_id: i64, reason: String },
}

impl Ingested {
    pub fn order_id(&self) -> i64 {
        match self {
            Ingested::Queued { order_id, .. }
            | Ingested::Unchanged { order_id }
            | Ingested::Skipped { order_id, .. }
            | Ingested::Failed { order_id, .. } => *order_id,
        }
    }
}

/// Ingests one document as FAPI returned it. The whole step is one write transaction, so
/// concurrent notifications of the same order end as one order.
pub async fn ingest(
    state: &AppState,
    connection: &ConnectionRecord,
    raw: &Value,
    source: Source,
) -> Result<Ingested, IngestError> {
    let mut tx = state.db.begin_with("BEGIN IMMEDIATE").await?;
    let outcome = ingest_in(&mut tx, state.clock.now(), connection, raw, source, None).await?;
    tx.commit().await?;
    if matches!(outcome, Ingested::Queued { .. }) {
        state.work.orders.notify_one();
    }
    Ok(outcome)
}

/// Ingests one document inside the caller's write transaction. Orders queued here are tagged
/// with `run_id`, if given.
pub async fn ingest_in(
    tx: &mut SqliteConnection,
    now: DateTime<Utc>,
    connection: &ConnectionRecord,
    raw: &Value,
    source: Source,
    run_id: Option<i64>,
) -> Result<Ingested, IngestError> {
    let document = ParsedDocument::parse(raw);
    ingest_parsed(tx, now, connection, document, source, run_id, None).await
}

/// A document read from FAPI's JSON ahead of its transaction (the historical sync reads the
/// next page while the current one is ingested).
pub struct ParsedDocument {
    document: Result<Invoice, String>,
    /// The JSON as stored.
    raw_text: String,
}

impl ParsedDocument {
    pub fn parse(raw: &Value) -> ParsedDocument {
        ParsedDocument {
            document: Invoice::from_json(raw).map_err(|e| e.to_string()),
            raw_text: raw.to_string(),
        }
    }

    /// The order key the document has unless a parent document decides it.
    fn own_order_key(&self) -> Option<String> {
        self.document
            .as_ref()
            .ok()
            .map(|document| mapping::order_key(document, None))
    }
}

/// Which of a page's order keys already have a row, from one query. A document whose own key is
/// not among them starts a new order without a look-up of its own; the page's new orders are
/// added as they are created (the caller holds the write transaction: nobody else adds any).
pub struct KnownOrders(std::collections::HashSet<String>);

impl KnownOrders {
    pub async fn load(
        tx: &mut SqliteConnection,
        connection_id: i64,
        page: &[ParsedDocument],
    ) -> Result<KnownOrders, sqlx::Error> {
        let keys: Vec<String> = page
            .iter()
            .filter_map(ParsedDocument::own_order_key)
            .collect();
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT order_key FROM orders
             WHERE connection_id = ? AND order_key IN (SELECT value FROM json_each(?))",
        )
        .bind(connection_id)
        .bind(serde_json::to_string(&keys).expect("keys serialize"))
        .fetch_all(tx)
        .await?;
        Ok(KnownOrders(found.into_iter().collect()))
    }
}

/// [`ingest_in`] for a parsed document; with `known`, new orders skip their look-up.
pub async fn ingest_parsed(
    tx: &mut SqliteConnection,
    now: DateTime<Utc>,
    connection: &ConnectionRecord,
    parsed: ParsedDocument,
    source: Source,
    run_id: Option<i64>,
    known: Option<&mut KnownOrders>,
) -> Result<Ingested, IngestError> {
    let ParsedDocument { document, raw_text } = parsed;
    let document = document.map_err(IngestError::Invalid)?;

    let parent_key = match document.parent {
        Some(parent) if document.new_order.is_none() => {
            store::order_key_of_document(&mut *tx, connection.id, parent).await?
        }
        _ => None,
    };
    let order_key = mapping::order_key(&document, parent_key.as_deref());
    let surely_new = parent_key.is_none()
        && known
            .as_deref()
            .is_some_and(|known| !known.0.contains(&order_key));
    let existing = if surely_new {
        None
    } else {
        store::order_by_key(&mut *tx, connection.id, &order_key).await?
    };
    let (invoice_id, number, kind, last_modified_on) = (
        document.id,
        document.number.clone(),
        document.kind.code().to_string(),
        document.last_modified_on,
    );
    let document_row = |order_id| DocumentRow {
        connection_id: connection.id,
        invoice_id,
        order_id,
        number: number.as_deref(),
        kind: &kind,
        last_modified_on,
        raw: &raw_text,
    };

    // A known order gets the document now; a new order's row (and then the document) is
    // written once its content is known, in one insert.
    let (order, documents, taking_over) = match existing {
        Some(order) => {
            let stored = store::upsert_document(&mut *tx, document_row(order.id), now).await?;
            // An older or identical copy of a known document changes nothing — except that
            // the historical sync takes over orders the webhook path skipped.
            let taking_over =
                source == Source::HistoricalSync && order.sync_status == sync_status::SKIPPED;
            if !stored && !taking_over {
                return Ok(Ingested::Unchanged { order_id: order.id });
            }
            if taking_over {
                store::set_order_source(&mut *tx, order.id, source.as_str()).await?;
            }
            let documents: Vec<Invoice> = store::order_documents(&mut *tx, order.id)
                .await?
                .iter()
                .filter_map(|text| serde_json::from_str::<Value>(text).ok())
                .filter_map(|value| Invoice::from_json(&value).ok())
                .collect();
            (Some(order), documents, taking_over)
        }
        None => (None, vec![document], false),
    };
    let new_order = order.is_none();

    let previous = order
        .as_ref()
        .and_then(|order| FapiState::parse(&order.fapi_state));
    let fapi_state = mapping::order_state(&documents, previous);
    let created_at = mapping::created_at(&documents);
    let email = mapping::buyer_email(&documents);
    let mut numbers: Vec<&str> = documents
        .iter()
        .filter_map(|d| d.number.as_deref())
        .collect();
    numbers.sort_unstable();
    let numbers = numbers.join(", ");
    let principal = documents
        .iter()
        .filter(|d| d.kind != crate::fapi::DocumentKind::CreditNote)
        .max_by_key(|d| (d.created_on, d.id));

    // Orders placed before forwarding was switched on belong to the historical sync, unless
    // SmartEmailing already has them.
    // FAPI's times have whole seconds: an order from the second the switch went on counts.
    let before_forwarding = match (created_at, connection.forwarding_enabled_at) {
        (Some(created), Some(enabled)) => created < enabled.with_nanosecond(0).unwrap_or(enabled),
        (_, None) => true,
        _ => false,
    };
    let synced_hash = order.as_ref().and_then(|o| o.synced_hash.as_deref());
    let already_in_smartemailing = synced_hash.is_some();
    // An order a historical sync has taken on stays its job, even before it is sent.
    let taken_by_history = order
        .as_ref()
        .is_some_and(|o| o.source == Source::HistoricalSync.as_str());
    let skip = source != Source::HistoricalSync
        && before_forwarding
        && !already_in_smartemailing
        && !taken_by_history;

    let context = OrderContext {
        eshop_name: &connection.eshop_name,
        // Fixed when the order is first seen.
        eshop_code: order.as_ref().map_or(&order_key, |o| &o.eshop_code),
        source: match &order {
            Some(order) if !taking_over => Source::parse(&order.source).unwrap_or(source),
            _ => source,
        },
        previous: order
            .as_ref()
            .and_then(|o| o.synced_state.as_deref())
            .and_then(FapiState::parse),
    };
    let built = mapping::build_order(&documents, &context).and_then(|order_import| {
        let contact = mapping::build_contact(&documents, connection.default_list_id)?;
        Ok(Payload {
            contact,
            order: order_import,
        })
    });

    /// The outcome, before the order's id is known.
    enum Verdict {
        Queued,
        Unchanged,
        Skipped(String),
        Failed(String),
    }
    let (status, reason, payload, verdict) = match built {
        _ if skip => (
            sync_status::SKIPPED,
            Some(SKIPPED_BEFORE_FORWARDING.to_string()),
            None,
            Verdict::Skipped(SKIPPED_BEFORE_FORWARDING.into()),
        ),
        Err(error) => (
            sync_status::FAILED,
            Some(error.to_string()),
            None,
            Verdict::Failed(error.to_string()),
        ),
        Ok(payload) => {
            let hash = mapping::fingerprint(&payload.order, &payload.contact);
            if synced_hash == Some(hash.as_str()) {
                (
                    sync_status::SYNCED,
                    None,
                    Some((payload, hash)),
                    Verdict::Unchanged,
                )
            } else {
                (
                    sync_status::PENDING,
                    None,
                    Some((payload, hash)),
                    Verdict::Queued,
                )
            }
        }
    };
    let payload_text = payload
        .as_ref()
        .map(|(payload, _)| serde_json::to_string(payload).expect("payloads serialize"));
    let fields = OrderFields {
        customer_email: email.as_deref(),
        total: principal.and_then(|d| d.total).map(|t| t.to_string()),
        currency: principal.map(|d| d.currency.as_str()),
        fapi_state: fapi_state.as_str(),
        fapi_created_at: created_at,
        fapi_numbers: &numbers,
        sync_status: status,
        status_reason: reason.as_deref(),
        payload: payload_text.as_deref(),
        payload_hash: payload.as_ref().map(|(_, hash)| hash.as_str()),
        run_id: run_id.filter(|_| matches!(verdict, Verdict::Queued)),
    };
    let order_id = match &order {
        Some(order) => {
            store::update_order(&mut *tx, order.id, fields, now).await?;
            order.id
        }
        None => {
            let order_id = store::insert_order(
                &mut *tx,
                connection.id,
                &order_key,
                source.as_str(),
                fields,
                now,
            )
            .await?;
            store::upsert_document(&mut *tx, document_row(order_id), now).await?;
            if let Some(known) = known {
                known.0.insert(order_key.clone());
            }
            order_id
        }
    };
    Ok(match verdict {
        Verdict::Queued => Ingested::Queued {
            order_id,
            new_order,
        },
        Verdict::Unchanged => Ingested::Unchanged { order_id },
        Verdict::Skipped(reason) => Ingested::Skipped { order_id, reason },
        Verdict::Failed(reason) => Ingested::Failed { order_id, reason },
    })
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The document cannot be read (e.g. no `id`).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<IngestError> for AppError {
    fn from(error: IngestError) -> Self {
        crate::server::error::internal(error)
    }
}
