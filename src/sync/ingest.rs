//! Fetched FAPI documents → the state of their orders, and the payloads SmartEmailing should
//! get. Shared by notifications, reconciliation and the historical sync.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Timelike, Utc};
use serde_json::Value;
use sqlx::SqliteConnection;

use crate::connections::ConnectionRecord;
use crate::contacts::suppression;
use crate::error::AppError;
use crate::fapi::model::without_personal_data;
use crate::fapi::{Customer, DocumentKind, FapiClientRecord, Invoice};
use crate::model::SyncStatus;
use crate::platform::Context;
use crate::platform::crypto::SecretKey;
use crate::sync::field_mapping;
use crate::sync::mapping::{self, BuyerDetails, MappingError, OrderContext, Source};
use crate::sync::store::{
    self, CachedClient, DocumentRow, NewOrder, OrderContent, OrderRecord, Payload,
};

pub const SKIPPED_BEFORE_FORWARDING: &str =
    "created before forwarding was enabled — use the historical sync";
/// The reason on an order whose buyer was forgotten (the order's page says it in words).
pub const SKIPPED_FORGOTTEN: &str = suppression::SKIPPED_REASON;
/// What stands in for a forgotten buyer's address when the marker is not known.
const FORGOTTEN_MARKER: &str = "forgotten@invalid";

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
    ctx: &Context,
    connection: &ConnectionRecord,
    raw: &Value,
    source: Source,
) -> Result<Ingested, IngestError> {
    ingest_with_client(ctx, connection, raw, None, source).await
}

/// [`ingest`] with the buyer's client record as just fetched from FAPI.
pub async fn ingest_with_client(
    ctx: &Context,
    connection: &ConnectionRecord,
    raw: &Value,
    client: Option<FapiClientRecord>,
    source: Source,
) -> Result<Ingested, IngestError> {
    let mut tx = ctx.db.begin_with("BEGIN IMMEDIATE").await?;
    let batch = vec![ParsedDocument::parse(raw).with_client(client)];
    let mut outcomes = ingest_batch(
        &mut tx,
        ctx.clock.now(),
        &ctx.secret_key,
        connection,
        batch,
        source,
        None,
    )
    .await?;
    let outcome = outcomes
        .pop()
        .expect("one outcome per document")
        .map_err(IngestError::Invalid)?;
    tx.commit().await?;
    if matches!(outcome, Ingested::Queued { .. }) {
        ctx.work.orders.notify_one();
    }
    Ok(outcome)
}

/// Ingests one document inside the caller's write transaction. Orders queued here are tagged
/// with `run_id`, if given.
#[allow(clippy::too_many_arguments)]
pub async fn ingest_in(
    tx: &mut SqliteConnection,
    now: DateTime<Utc>,
    key: &SecretKey,
    connection: &ConnectionRecord,
    raw: &Value,
    source: Source,
    run_id: Option<i64>,
) -> Result<Ingested, IngestError> {
    let batch = vec![ParsedDocument::parse(raw)];
    let mut outcomes = ingest_batch(tx, now, key, connection, batch, source, run_id).await?;
    outcomes
        .pop()
        .expect("one outcome per document")
        .map_err(IngestError::Invalid)
}

/// A document read from FAPI's JSON ahead of its transaction (the historical sync reads the
/// next page while the current one is ingested).
pub struct ParsedDocument {
    document: Result<Invoice, String>,
    /// The JSON as FAPI sent it (stored unless its buyer was forgotten).
    raw: Value,
    /// The buyer's client record, if it was fetched with the document.
    client: Option<FapiClientRecord>,
}

impl ParsedDocument {
    pub fn parse(raw: &Value) -> ParsedDocument {
        ParsedDocument {
            document: Invoice::from_json(raw).map_err(|e| e.to_string()),
            raw: raw.clone(),
            client: None,
        }
    }

    /// The document with its buyer's client record (fetched from FAPI).
    pub fn with_client(mut self, client: Option<FapiClientRecord>) -> ParsedDocument {
        self.client = client;
        self
    }

    /// The FAPI client id of the document's buyer.
    pub fn client_id(&self) -> Option<i64> {
        self.document.as_ref().ok()?.client
    }

    /// The document as FAPI sent it.
    pub fn raw(&self) -> &Value {
        &self.raw
    }
}

/// Ingests documents of one connection, in their order, inside the caller's write transaction
/// (`BEGIN IMMEDIATE`); the outcome of each, or why it cannot be read. The result is that of
/// ingesting them one at a time, with far fewer statements: one look-up of everything the
/// batch needs (three queries), the decisions in memory, then the writes — new orders and all
/// documents in multi-row statements, and one `UPDATE` per change of an order that existed
/// before the batch.
///
/// Buyers on the connection's suppression list (forgotten under GDPR) are recognised by the
/// keyed hash of their e-mail: their documents are stored without personal data, their client
/// records are neither used nor kept, and their orders are skipped, never queued.
#[allow(clippy::too_many_arguments)]
pub async fn ingest_batch(
    tx: &mut SqliteConnection,
    now: DateTime<Utc>,
    key: &SecretKey,
    connection: &ConnectionRecord,
    documents: Vec<ParsedDocument>,
    source: Source,
    run_id: Option<i64>,
) -> Result<Vec<Result<Ingested, String>>, sqlx::Error> {
    ingest_batch_with(tx, now, key, connection, documents, source, run_id, false).await
}

/// [`ingest_batch`]; with `rebuild`, the orders of documents the bridge already holds
/// unchanged are built again too (a re-send with a new field mapping), and queued where what
/// would be sent differs from what SmartEmailing has.
#[allow(clippy::too_many_arguments)]
pub async fn ingest_batch_with(
    tx: &mut SqliteConnection,
    now: DateTime<Utc>,
    key: &SecretKey,
    connection: &ConnectionRecord,
    documents: Vec<ParsedDocument>,
    source: Source,
    run_id: Option<i64>,
    rebuild: bool,
) -> Result<Vec<Result<Ingested, String>>, sqlx::Error> {
    let mut batch = Batch::load(tx, key, connection.id, &documents).await?;
    batch.rebuild_known = rebuild;
    let mut outcomes = Vec::with_capacity(documents.len());
    for ParsedDocument {
        document,
        raw,
        client,
    } in documents
    {
        outcomes.push(match document {
            Ok(document) => Ok(batch
                .ingest(tx, now, connection, document, raw, client, source, run_id)
                .await?),
            Err(reason) => Err(reason),
        });
    }
    batch.write(tx, connection.id, now).await?;
    Ok(outcomes)
}

/// What would be sent for an order's documents: the built-in mapping, then the connection's
/// field mapping.
pub fn build_payload(
    documents: &[Invoice],
    context: &OrderContext<'_>,
    buyer: Option<&BuyerDetails>,
    connection: &ConnectionRecord,
) -> Result<Payload, MappingError> {
    let mut order = mapping::build_order(documents, context)?;
    let mut contact = mapping::build_contact(documents, buyer, connection.default_list_id)?;
    field_mapping::apply(
        &connection.field_mapping,
        documents,
        buyer,
        &mut order,
        &mut contact,
    )?;
    Ok(Payload { contact, order })
}

/// The e-mail of a document's buyer as the suppression list compares it.
fn email_of(document: &Invoice) -> Option<String> {
    document
        .customer
        .email
        .as_deref()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
}

/// A document to store, as last seen in the batch.
struct DocumentWrite {
    order_id: i64,
    number: Option<String>,
    kind: DocumentKind,
    last_modified_on: Option<DateTime<Utc>>,
    raw: String,
}

/// What a batch knows of the stored orders and documents it touches, kept up to date as it
/// decides, and what it will write.
struct Batch {
    /// Orders by key, as loaded or as the batch created or changed them.
    orders: HashMap<String, OrderRecord>,
    order_keys: HashMap<i64, String>,
    /// The place in `new_orders` of each order the batch creates (written at the end).
    created: HashMap<i64, usize>,
    /// Every known document's order and last modification.
    owners: HashMap<i64, (i64, Option<DateTime<Utc>>)>,
    /// The readable documents of the known orders, by (order id, invoice id).
    contents: BTreeMap<(i64, i64), Invoice>,
    /// The highest order id, once the batch creates an order.
    last_id: Option<i64>,
    new_orders: Vec<NewOrder>,
    documents: BTreeMap<i64, DocumentWrite>,
    /// Forgotten buyers among the batch's: e-mail → the marker that stands in for it.
    forgotten: HashMap<String, String>,
    /// Client records by FAPI client id, cached or fetched with the batch.
    clients: HashMap<i64, CachedClient>,
    /// Client records fetched with the batch, to store.
    client_writes: BTreeMap<i64, CachedClient>,
    /// Build known orders again even when their documents did not change.
    rebuild_known: bool,
}

impl Batch {
    /// Loads the stored copies of the documents and of their parents, the orders they may
    /// belong to, and those orders' documents.
    async fn load(
        tx: &mut SqliteConnection,
        key: &SecretKey,
        connection_id: i64,
        documents: &[ParsedDocument],
    ) -> Result<Batch, sqlx::Error> {
        let readable = || documents.iter().filter_map(|d| d.document.as_ref().ok());
        let mut emails: Vec<String> = readable().filter_map(email_of).collect();
        emails.sort_unstable();
        emails.dedup();
        let hashes: Vec<String> = emails
            .iter()
            .map(|email| suppression::email_hash(key, email))
            .collect();
        let markers = suppression::forgotten(&mut *tx, connection_id, &hashes).await?;
        let forgotten: HashMap<String, String> = emails
            .into_iter()
            .zip(hashes)
            .filter_map(|(email, hash)| markers.get(&hash).map(|m| (email, m.clone())))
            .collect();
        let mut invoice_ids: Vec<i64> = readable()
            .flat_map(|d| [Some(d.id), d.parent.filter(|_| d.new_order.is_none())])
            .flatten()
            .collect();
        invoice_ids.sort_unstable();
        invoice_ids.dedup();
        let stored = store::stored_documents(&mut *tx, connection_id, &invoice_ids).await?;

        // A document's order key is its own or, through its parents, one of the stored keys.
        let own_keys: Vec<String> = readable().map(|d| mapping::order_key(d, None)).collect();
        let mut keys: Vec<&str> = own_keys
            .iter()
            .map(String::as_str)
            .chain(stored.iter().map(|d| d.order_key.as_str()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let found = store::orders_by_keys(&mut *tx, connection_id, &keys).await?;
        let order_ids: Vec<i64> = found.iter().map(|order| order.id).collect();
        let their_documents = if order_ids.is_empty() {
            Vec::new()
        } else {
            store::documents_of_orders(&mut *tx, &order_ids).await?
        };

        let mut batch = Batch {
            orders: HashMap::with_capacity(documents.len()),
            order_keys: HashMap::with_capacity(documents.len()),
            owners: HashMap::with_capacity(documents.len()),
            contents: BTreeMap::new(),
            created: HashMap::new(),
            last_id: None,
            new_orders: Vec::new(),
            documents: BTreeMap::new(),
            forgotten,
            clients: HashMap::new(),
            client_writes: BTreeMap::new(),
            rebuild_known: false,
        };
        for document in stored {
            batch.owners.insert(
                document.invoice_id,
                (document.order_id, document.last_modified_on),
            );
        }
        // The stored documents' orders are among these: their keys were looked up.
        for order in found {
            batch.order_keys.insert(order.id, order.order_key.clone());
            batch.orders.insert(order.order_key.clone(), order);
        }
        for document in their_documents {
            batch.owners.insert(
                document.invoice_id,
                (document.order_id, document.last_modified_on),
            );
            let readable = serde_json::from_str::<Value>(&document.raw)
                .ok()
                .and_then(|value| Invoice::from_json(&value).ok());
            if let Some(invoice) = readable {
                batch
                    .contents
                    .insert((document.order_id, document.invoice_id), invoice);
            }
        }
        let mut client_ids: Vec<i64> = readable()
            .chain(batch.contents.values())
            .filter_map(|d| d.client)
            .collect();
        client_ids.sort_unstable();
        client_ids.dedup();
        for client in store::cached_clients(&mut *tx, connection_id, &client_ids).await? {
            batch.clients.insert(client.client_id, client);
        }
        Ok(batch)
    }

    /// The order key of the order a document belongs to, if the document is known.
    fn order_key_of_document(&self, invoice_id: i64) -> Option<String> {
        let (order_id, _) = self.owners.get(&invoice_id)?;
        self.order_keys.get(order_id).cloned()
    }

    /// Takes a fetched document unless a newer copy is already stored (a late notification of
    /// an older version changes nothing); true when taken. A stored document keeps its order.
    fn store_document(&mut self, order_id: i64, document: &Invoice, raw: String) -> bool {
        let owner = match self.owners.get(&document.id) {
            Some(&(_, stored)) if stored > document.last_modified_on => return false,
            Some(&(owner, _)) => owner,
            None => order_id,
        };
        self.owners
            .insert(document.id, (owner, document.last_modified_on));
        self.contents.insert((owner, document.id), document.clone());
        self.documents.insert(
            document.id,
            DocumentWrite {
                order_id: owner,
                number: document.number.clone(),
                kind: document.kind.clone(),
                last_modified_on: document.last_modified_on,
                raw,
            },
        );
        true
    }

    /// The id for an order the batch creates: the next after the highest so far.
    async fn next_order_id(&mut self, tx: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
        let last = match self.last_id {
            Some(id) => id,
            None => store::max_order_id(&mut *tx).await?,
        };
        self.last_id = Some(last + 1);
        Ok(last + 1)
    }

    /// The readable documents of an order, by invoice id.
    fn documents_of(&self, order_id: i64) -> Vec<Invoice> {
        self.contents
            .range((order_id, i64::MIN)..=(order_id, i64::MAX))
            .map(|(_, invoice)| invoice.clone())
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    async fn ingest(
        &mut self,
        tx: &mut SqliteConnection,
        now: DateTime<Utc>,
        connection: &ConnectionRecord,
        document: Invoice,
        raw: Value,
        client: Option<FapiClientRecord>,
        source: Source,
        run_id: Option<i64>,
    ) -> Result<Ingested, sqlx::Error> {
        let parent_key = match document.parent {
            Some(parent) if document.new_order.is_none() => self.order_key_of_document(parent),
            _ => None,
        };
        let order_key = mapping::order_key(&document, parent_key.as_deref());
        let order = self.orders.get(&order_key).cloned();
        let order_id = match &order {
            Some(order) => order.id,
            None => self.next_order_id(tx).await?,
        };
        // A forgotten buyer: on the suppression list, or the order's buyer was forgotten.
        let forgotten = email_of(&document)
            .and_then(|email| self.forgotten.get(&email).cloned())
            .or_else(|| {
                order.as_ref().filter(|o| o.buyer_forgotten).map(|o| {
                    o.customer_email
                        .clone()
                        .unwrap_or_else(|| FORGOTTEN_MARKER.into())
                })
            });
        let (document, raw) = match &forgotten {
            // Kept without personal data: enough to tell the order's state, nothing more.
            Some(_) => (
                Invoice {
                    customer: Customer::default(),
                    client: None,
                    ..document
                },
                without_personal_data(&raw).to_string(),
            ),
            None => {
                if let Some(client) = client.filter(|c| Some(c.id) == document.client) {
                    let cached = CachedClient::from_record(&client, document.last_modified_on);
                    self.clients.insert(client.id, cached.clone());
                    self.client_writes.insert(client.id, cached);
                }
                (document, raw.to_string())
            }
        };
        let stored = self.store_document(order_id, &document, raw);

        let (documents, taking_over) = match &order {
            Some(order) => {
                // An older copy of a known document changes nothing — except that the
                // historical sync takes over orders the webhook path skipped.
                let taking_over =
                    source == Source::HistoricalSync && order.sync_status == SyncStatus::Skipped;
                if !stored && !taking_over && !self.rebuild_known {
                    return Ok(Ingested::Unchanged { order_id });
                }
                if taking_over {
                    match self.created.get(&order_id) {
                        Some(&index) => self.new_orders[index].source = source.as_str(),
                        None => {
                            store::set_order_source(&mut *tx, order_id, source.as_str()).await?
                        }
                    }
                }
                (self.documents_of(order_id), taking_over)
            }
            None => (vec![document], false),
        };
        let new_order = order.is_none();

        let previous = order.as_ref().map(|order| order.fapi_state);
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
            .filter(|d| d.kind != DocumentKind::CreditNote)
            .max_by_key(|d| (d.created_on, d.id));
        let buyer = principal
            .and_then(|d| d.client)
            .and_then(|id| self.clients.get(&id))
            .map(CachedClient::buyer);

        // Orders placed before forwarding was switched on belong to the historical sync, unless
        // SmartEmailing already has them.
        // FAPI's times have whole seconds: an order from the second the switch went on counts.
        let before_forwarding = match (created_at, connection.forwarding_enabled_at) {
            (Some(created), Some(enabled)) => {
                created < enabled.with_nanosecond(0).unwrap_or(enabled)
            }
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
            previous: order.as_ref().and_then(|o| o.synced_state),
            first_seen: order.as_ref().map_or(now, |o| o.first_seen_at),
        };
        let built = build_payload(&documents, &context, buyer.as_ref(), connection);

        /// The outcome, before the order's id is known.
        enum Verdict {
            Queued,
            Unchanged,
            Skipped(String),
            Failed(String),
        }
        let (status, reason, payload, verdict) = match built {
            _ if forgotten.is_some() => (
                SyncStatus::Skipped,
                Some(SKIPPED_FORGOTTEN.to_string()),
                None,
                Verdict::Skipped(SKIPPED_FORGOTTEN.into()),
            ),
            _ if skip => (
                SyncStatus::Skipped,
                Some(SKIPPED_BEFORE_FORWARDING.to_string()),
                None,
                Verdict::Skipped(SKIPPED_BEFORE_FORWARDING.into()),
            ),
            Err(error) => (
                SyncStatus::Failed,
                Some(error.to_string()),
                None,
                Verdict::Failed(error.to_string()),
            ),
            Ok(payload) => {
                let hash = mapping::fingerprint(&payload.order, &payload.contact);
                let (status, verdict) = if synced_hash == Some(hash.as_str()) {
                    (SyncStatus::Synced, Verdict::Unchanged)
                } else {
                    (SyncStatus::Pending, Verdict::Queued)
                };
                (status, None, Some((payload, hash)), verdict)
            }
        };
        let buyer_forgotten = forgotten.is_some();
        let content = OrderContent {
            customer_email: forgotten.or(email),
            total: mapping::order_value(&documents)
                .ok()
                .flatten()
                .or_else(|| principal.and_then(|d| d.total))
                .map(|t| t.to_string()),
            currency: principal.map(|d| d.currency.clone()),
            fapi_state,
            fapi_created_at: created_at,
            fapi_numbers: numbers,
            sync_status: status,
            status_reason: reason,
            payload: payload
                .as_ref()
                .map(|(payload, _)| serde_json::to_string(payload).expect("payloads serialize")),
            payload_hash: payload.map(|(_, hash)| hash),
            run_id: run_id.filter(|_| matches!(verdict, Verdict::Queued)),
            buyer_forgotten,
        };
        let customer_email = content.customer_email.clone();
        let order = match order {
            Some(mut order) => {
                match self.created.get(&order_id) {
                    Some(&index) => self.new_orders[index].update(content, now),
                    None => store::update_order(&mut *tx, order_id, &content, now).await?,
                }
                order.fapi_state = fapi_state;
                order.sync_status = status;
                order.buyer_forgotten = buyer_forgotten;
                order.customer_email = customer_email;
                if taking_over {
                    order.source = source.as_str().to_string();
                }
                order
            }
            None => {
                self.created.insert(order_id, self.new_orders.len());
                self.new_orders.push(NewOrder {
                    id: order_id,
                    connection_id: connection.id,
                    order_key: order_key.clone(),
                    source: source.as_str(),
                    next_attempt_at: (status == SyncStatus::Pending).then_some(now),
                    content,
                });
                self.order_keys.insert(order_id, order_key.clone());
                OrderRecord {
                    id: order_id,
                    order_key: order_key.clone(),
                    eshop_code: order_key.clone(),
                    fapi_state,
                    synced_state: None,
                    sync_status: status,
                    source: source.as_str().to_string(),
                    synced_hash: None,
                    customer_email,
                    buyer_forgotten,
                    first_seen_at: now,
                }
            }
        };
        self.orders.insert(order_key, order);
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

    /// Writes the orders the batch created, then every document it took.
    async fn write(
        self,
        tx: &mut SqliteConnection,
        connection_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        store::insert_orders(&mut *tx, &self.new_orders, now).await?;
        let clients: Vec<CachedClient> = self.client_writes.into_values().collect();
        store::upsert_clients(&mut *tx, connection_id, &clients, now).await?;
        let documents: Vec<DocumentRow<'_>> = self
            .documents
            .iter()
            .map(|(&invoice_id, d)| DocumentRow {
                connection_id,
                invoice_id,
                order_id: d.order_id,
                number: d.number.as_deref(),
                kind: &d.kind,
                last_modified_on: d.last_modified_on,
                raw: &d.raw,
            })
            .collect();
        store::upsert_documents(&mut *tx, &documents, now).await
    }
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
        crate::platform::error::internal(error)
    }
}
