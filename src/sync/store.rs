//! The sync tables, and the queues they hold.
//!
//! Work is claimed by setting the status to `processing` (notifications) or `locked_until`
//! (orders) in one statement, so two workers never take the same row. After a crash the
//! process resets what was in flight at start ([`reset_in_flight`]): nothing is lost, and
//! repeating a step is harmless because every step is idempotent.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use crate::model::{
    AttemptOutcome, DocumentKind, FapiState, NotificationStatus, RunKind, RunStatus, SyncStatus,
};

/// A webhook notification as received, to be stored.
#[derive(Debug, Clone)]
pub struct OwnedNotification {
    pub connection_id: i64,
    pub received_at: DateTime<Utc>,
    pub content_type: Option<String>,
    pub remote_addr: Option<String>,
    pub user_agent: Option<String>,
    pub raw_body: String,
    pub invoice_id: Option<i64>,
    pub notified_time: Option<String>,
    pub security: Option<String>,
    pub status: NotificationStatus,
    pub status_reason: Option<&'static str>,
}

/// Stores notifications in one transaction; their ids, in order.
pub async fn insert_notifications(
    db: &SqlitePool,
    notifications: &[OwnedNotification],
) -> Result<Vec<i64>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let mut ids = Vec::with_capacity(notifications.len());
    for n in notifications {
        let id = sqlx::query(
            "INSERT INTO notifications (connection_id, received_at, content_type, remote_addr, user_agent, raw_body,
                invoice_id, notified_time, security, status, status_reason, next_attempt_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(n.connection_id)
        .bind(n.received_at)
        .bind(&n.content_type)
        .bind(&n.remote_addr)
        .bind(&n.user_agent)
        .bind(&n.raw_body)
        .bind(n.invoice_id)
        .bind(&n.notified_time)
        .bind(&n.security)
        .bind(n.status)
        .bind(n.status_reason)
        .bind(n.received_at)
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        ids.push(id);
    }
    tx.commit().await?;
    Ok(ids)
}

#[derive(Debug, Clone, FromRow)]
pub struct NotificationJob {
    pub id: i64,
    pub connection_id: i64,
    pub invoice_id: Option<i64>,
    pub notified_time: Option<String>,
    pub security: Option<String>,
    pub attempts: i64,
}

/// Claims up to `limit` due notifications for `lease`: queued ones whose time has come, and
/// claimed ones whose lease ran out (their worker failed before recording an outcome).
pub async fn claim_notifications(
    db: &SqlitePool,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: i64,
) -> Result<Vec<NotificationJob>, sqlx::Error> {
    let mut jobs: Vec<NotificationJob> = sqlx::query_as(
        "UPDATE notifications SET status = ?, attempts = attempts + 1, next_attempt_at = ?
         WHERE id IN (SELECT id FROM notifications WHERE status IN (?, ?) AND next_attempt_at <= ?
                      ORDER BY next_attempt_at, id LIMIT ?)
         RETURNING id, connection_id, invoice_id, notified_time, security, attempts",
    )
    .bind(NotificationStatus::Processing)
    .bind(now + lease)
    .bind(NotificationStatus::Queued)
    .bind(NotificationStatus::Processing)
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await?;
    jobs.sort_by_key(|job| job.id);
    Ok(jobs)
}

/// Of `jobs`, those that repeat a notification already processed (the same connection,
/// invoice, `time` and `security`: FAPI sent it again): job id → the order the first led to.
pub async fn repeats(
    db: &SqlitePool,
    jobs: &[NotificationJob],
) -> Result<std::collections::HashMap<i64, Option<i64>>, sqlx::Error> {
    let keys: Vec<_> = jobs
        .iter()
        .filter_map(|job| {
            Some(serde_json::json!([
                job.id,
                job.connection_id,
                job.invoice_id?,
                job.notified_time.as_deref()?,
                job.security.as_deref()?
            ]))
        })
        .collect();
    if keys.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT json_extract(k.value, '$[0]'), max(n.order_id)
         FROM json_each(?) k
         JOIN notifications n ON n.invoice_id = json_extract(k.value, '$[2]')
             AND n.connection_id = json_extract(k.value, '$[1]')
             AND n.notified_time = json_extract(k.value, '$[3]')
             AND n.security = json_extract(k.value, '$[4]')
             AND n.status = ? AND n.id <> json_extract(k.value, '$[0]')
         GROUP BY 1",
    )
    .bind(serde_json::Value::Array(keys).to_string())
    .bind(NotificationStatus::Processed)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().collect())
}

pub async fn finish_notification(
    db: &mut SqliteConnection,
    id: i64,
    status: NotificationStatus,
    reason: Option<&str>,
    order_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notifications SET status = ?, status_reason = ?, order_id = coalesce(?, order_id), processed_at = ?
         WHERE id = ?",
    )
    .bind(status)
    .bind(reason)
    .bind(order_id)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Puts a notification back in the queue for a later attempt.
pub async fn retry_notification(
    db: &mut SqliteConnection,
    id: i64,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notifications SET status = ?, next_attempt_at = ?, status_reason = ? WHERE id = ?",
    )
    .bind(NotificationStatus::Queued)
    .bind(at)
    .bind(reason)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// At start, nothing is in flight: what a crash interrupted goes back to the queue.
pub async fn reset_in_flight(
    db: &SqlitePool,
    now: DateTime<Utc>,
) -> Result<(u64, u64), sqlx::Error> {
    // Due at once: their leases belonged to this process, which is starting or stopping.
    let notifications =
        sqlx::query("UPDATE notifications SET status = ?, next_attempt_at = ? WHERE status = ?")
            .bind(NotificationStatus::Queued)
            .bind(now)
            .bind(NotificationStatus::Processing)
            .execute(db)
            .await?
            .rows_affected();
    let orders =
        sqlx::query("UPDATE orders SET locked_until = NULL WHERE locked_until IS NOT NULL")
            .execute(db)
            .await?
            .rows_affected();
    Ok((notifications, orders))
}

/// What ingesting reads of an order.
#[derive(Debug, Clone, FromRow)]
pub struct OrderRecord {
    pub id: i64,
    pub order_key: String,
    pub eshop_code: String,
    pub fapi_state: FapiState,
    pub synced_state: Option<FapiState>,
    pub sync_status: SyncStatus,
    pub source: String,
    pub synced_hash: Option<String>,
    pub customer_email: Option<String>,
    /// The buyer was forgotten (GDPR): the order is never sent again.
    pub buyer_forgotten: bool,
    pub first_seen_at: DateTime<Utc>,
}

/// The orders of a connection with these keys (one query for a whole batch of documents).
pub async fn orders_by_keys(
    conn: &mut SqliteConnection,
    connection_id: i64,
    order_keys: &[&str],
) -> Result<Vec<OrderRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, order_key, eshop_code, fapi_state, synced_state, sync_status, source,
                synced_hash, customer_email, buyer_forgotten, first_seen_at
         FROM orders WHERE connection_id = ? AND order_key IN (SELECT value FROM json_each(?))",
    )
    .bind(connection_id)
    .bind(serde_json::to_string(order_keys).expect("keys serialize"))
    .fetch_all(conn)
    .await
}

/// The highest order id so far. Inside a write transaction (`BEGIN IMMEDIATE`) nobody else
/// inserts, so the ingest can number the orders it creates itself.
pub async fn max_order_id(conn: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM orders")
        .fetch_one(conn)
        .await
}

/// A stored document: which order it belongs to, and how recent the copy is.
#[derive(Debug, Clone, FromRow)]
pub struct StoredDocument {
    pub invoice_id: i64,
    pub order_id: i64,
    pub order_key: String,
    pub last_modified_on: Option<DateTime<Utc>>,
}

/// The stored copies of these documents, if any.
pub async fn stored_documents(
    conn: &mut SqliteConnection,
    connection_id: i64,
    invoice_ids: &[i64],
) -> Result<Vec<StoredDocument>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.invoice_id, d.order_id, o.order_key, d.last_modified_on
         FROM order_documents d JOIN orders o ON o.id = d.order_id
         WHERE d.connection_id = ? AND d.invoice_id IN (SELECT value FROM json_each(?))",
    )
    .bind(connection_id)
    .bind(serde_json::to_string(invoice_ids).expect("ids serialize"))
    .fetch_all(conn)
    .await
}

/// When the stored copy of a document was last modified in FAPI.
pub async fn document_modified_on(
    db: &SqlitePool,
    connection_id: i64,
    invoice_id: i64,
) -> Result<Option<Option<DateTime<Utc>>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT last_modified_on FROM order_documents WHERE connection_id = ? AND invoice_id = ?",
    )
    .bind(connection_id)
    .bind(invoice_id)
    .fetch_optional(db)
    .await
}

/// A stored document of an order, with its JSON.
#[derive(Debug, Clone, FromRow)]
pub struct OrderDocument {
    pub order_id: i64,
    pub invoice_id: i64,
    pub last_modified_on: Option<DateTime<Utc>>,
    pub raw: String,
}

/// Every stored document of these orders.
pub async fn documents_of_orders(
    conn: &mut SqliteConnection,
    order_ids: &[i64],
) -> Result<Vec<OrderDocument>, sqlx::Error> {
    sqlx::query_as(
        "SELECT order_id, invoice_id, last_modified_on, raw FROM order_documents
         WHERE order_id IN (SELECT value FROM json_each(?))",
    )
    .bind(serde_json::to_string(order_ids).expect("ids serialize"))
    .fetch_all(conn)
    .await
}

pub struct DocumentRow<'a> {
    pub connection_id: i64,
    pub invoice_id: i64,
    pub order_id: i64,
    pub number: Option<&'a str>,
    pub kind: &'a DocumentKind,
    pub last_modified_on: Option<DateTime<Utc>>,
    pub raw: &'a str,
}

/// Rows per multi-row statement: at most 19,000 bound values, below SQLite's limit of 32,766.
const ROWS_PER_STATEMENT: usize = 1000;

/// Stores fetched documents (the caller decided they are not older than the stored copies).
/// A stored document keeps the order it belongs to.
pub async fn upsert_documents(
    conn: &mut SqliteConnection,
    documents: &[DocumentRow<'_>],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for chunk in documents.chunks(ROWS_PER_STATEMENT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO order_documents
                (connection_id, invoice_id, order_id, number, kind, last_modified_on, raw, fetched_at) ",
        );
        insert.push_values(chunk, |mut row, d| {
            row.push_bind(d.connection_id)
                .push_bind(d.invoice_id)
                .push_bind(d.order_id)
                .push_bind(d.number)
                .push_bind(d.kind)
                .push_bind(d.last_modified_on)
                .push_bind(d.raw)
                .push_bind(now);
        });
        insert.push(
            " ON CONFLICT (connection_id, invoice_id) DO UPDATE SET
                number = excluded.number, kind = excluded.kind,
                last_modified_on = excluded.last_modified_on, raw = excluded.raw,
                fetched_at = excluded.fetched_at",
        );
        insert.build().persistent(false).execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn set_order_source(
    conn: &mut SqliteConnection,
    order_id: i64,
    source: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE orders SET source = ? WHERE id = ?")
        .bind(source)
        .bind(order_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// What ingesting decided for an order.
#[derive(Debug, Clone)]
pub struct OrderContent {
    pub customer_email: Option<String>,
    pub total: Option<String>,
    pub currency: Option<String>,
    pub fapi_state: FapiState,
    pub fapi_created_at: Option<DateTime<Utc>>,
    pub fapi_numbers: String,
    pub sync_status: SyncStatus,
    pub status_reason: Option<String>,
    pub payload: Option<String>,
    pub payload_hash: Option<String>,
    /// The historical sync run that queued this content, if any.
    pub run_id: Option<i64>,
    /// The buyer was forgotten: no payload is kept (an older one is cleared).
    pub buyer_forgotten: bool,
}

/// An order the ingest creates, numbered by it (see [`max_order_id`]).
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub id: i64,
    pub connection_id: i64,
    pub order_key: String,
    pub source: &'static str,
    pub content: OrderContent,
    /// When the order became due for a push (set while it is pending).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl NewOrder {
    /// Later content for an order not written yet, with [`update_order`]'s rules.
    pub fn update(&mut self, content: OrderContent, now: DateTime<Utc>) {
        if content.sync_status == SyncStatus::Pending {
            self.next_attempt_at = Some(now);
        }
        let previous = std::mem::replace(&mut self.content, content);
        let content = &mut self.content;
        if !content.buyer_forgotten {
            content.payload = content.payload.take().or(previous.payload);
            content.payload_hash = content.payload_hash.take().or(previous.payload_hash);
        }
        content.run_id = content.run_id.or(previous.run_id);
    }
}

/// Creates orders with their first content. Called inside the write transaction in which
/// [`orders_by_keys`] found none of them, so no one else can have created them meanwhile (two
/// notifications of one order end as one row).
pub async fn insert_orders(
    conn: &mut SqliteConnection,
    orders: &[NewOrder],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for chunk in orders.chunks(ROWS_PER_STATEMENT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO orders (id, connection_id, order_key, eshop_code, source, customer_email,
                total, currency, fapi_state, fapi_created_at, fapi_numbers, sync_status,
                status_reason, payload, payload_hash, next_attempt_at, run_id, first_seen_at,
                updated_at, buyer_forgotten) ",
        );
        insert.push_values(chunk, |mut row, order| {
            let c = &order.content;
            row.push_bind(order.id)
                .push_bind(order.connection_id)
                .push_bind(&order.order_key)
                // The e-shop code is fixed when the order is first seen.
                .push_bind(&order.order_key)
                .push_bind(order.source)
                .push_bind(&c.customer_email)
                .push_bind(&c.total)
                .push_bind(&c.currency)
                .push_bind(c.fapi_state)
                .push_bind(c.fapi_created_at)
                .push_bind(&c.fapi_numbers)
                .push_bind(c.sync_status)
                .push_bind(&c.status_reason)
                .push_bind(&c.payload)
                .push_bind(&c.payload_hash)
                .push_bind(order.next_attempt_at)
                .push_bind(c.run_id)
                .push_bind(now)
                .push_bind(now)
                .push_bind(c.buyer_forgotten);
        });
        insert.build().persistent(false).execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn update_order(
    conn: &mut SqliteConnection,
    order_id: i64,
    u: &OrderContent,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE orders SET customer_email = ?, total = ?, currency = ?, fapi_state = ?, fapi_created_at = ?,
            fapi_numbers = ?, sync_status = ?, status_reason = ?,
            payload = CASE WHEN ? THEN NULL ELSE coalesce(?, payload) END,
            payload_hash = coalesce(?, payload_hash), buyer_forgotten = ?,
            -- New content starts a fresh retry schedule.
            attempts = CASE WHEN ? AND coalesce(?, '') != coalesce(payload_hash, '') THEN 0 ELSE attempts END,
            next_attempt_at = CASE WHEN ? THEN ? ELSE next_attempt_at END,
            run_id = coalesce(?, run_id),
            updated_at = ?
         WHERE id = ?",
    )
    .bind(&u.customer_email)
    .bind(&u.total)
    .bind(&u.currency)
    .bind(u.fapi_state)
    .bind(u.fapi_created_at)
    .bind(&u.fapi_numbers)
    .bind(u.sync_status)
    .bind(&u.status_reason)
    .bind(u.buyer_forgotten)
    .bind(&u.payload)
    .bind(&u.payload_hash)
    .bind(u.buyer_forgotten)
    .bind(u.sync_status == SyncStatus::Pending)
    .bind(&u.payload_hash)
    .bind(u.sync_status == SyncStatus::Pending)
    .bind(now)
    .bind(u.run_id)
    .bind(now)
    .bind(order_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A cached FAPI client record: what the buyer's contact needs of it.
#[derive(Debug, Clone, FromRow)]
pub struct CachedClient {
    pub client_id: i64,
    pub company: Option<String>,
    pub phone: Option<String>,
    pub ic: Option<String>,
    pub dic: Option<String>,
    /// The last modification of the newest document it was fetched for.
    pub document_modified_on: Option<DateTime<Utc>>,
}

impl CachedClient {
    /// The cache row of a record FAPI gave, current for documents modified up to `modified_on`.
    pub fn from_record(
        record: &crate::fapi::FapiClientRecord,
        modified_on: Option<DateTime<Utc>>,
    ) -> CachedClient {
        CachedClient {
            client_id: record.id,
            company: record.company.clone(),
            phone: record.phone.clone(),
            ic: record.ic.clone(),
            dic: record.dic.clone(),
            document_modified_on: modified_on,
        }
    }

    /// What the mapping takes of it.
    pub fn buyer(&self) -> crate::sync::mapping::BuyerDetails {
        crate::sync::mapping::BuyerDetails {
            company: self.company.clone(),
            phone: self.phone.clone(),
            ic: self.ic.clone(),
            dic: self.dic.clone(),
        }
    }
}

/// The cached client records of a connection with these ids.
pub async fn cached_clients(
    conn: &mut SqliteConnection,
    connection_id: i64,
    client_ids: &[i64],
) -> Result<Vec<CachedClient>, sqlx::Error> {
    if client_ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(
        "SELECT client_id, company, phone, ic, dic, document_modified_on FROM fapi_clients
         WHERE connection_id = ? AND client_id IN (SELECT value FROM json_each(?))",
    )
    .bind(connection_id)
    .bind(serde_json::to_string(client_ids).expect("ids serialize"))
    .fetch_all(conn)
    .await
}

/// Stores fetched client records (newer than the cached ones).
pub async fn upsert_clients(
    conn: &mut SqliteConnection,
    connection_id: i64,
    clients: &[CachedClient],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for chunk in clients.chunks(ROWS_PER_STATEMENT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO fapi_clients
                (connection_id, client_id, company, phone, ic, dic, document_modified_on, fetched_at) ",
        );
        insert.push_values(chunk, |mut row, c| {
            row.push_bind(connection_id)
                .push_bind(c.client_id)
                .push_bind(&c.company)
                .push_bind(&c.phone)
                .push_bind(&c.ic)
                .push_bind(&c.dic)
                .push_bind(c.document_modified_on)
                .push_bind(now);
        });
        insert.push(
            " ON CONFLICT (connection_id, client_id) DO UPDATE SET
                company = excluded.company, phone = excluded.phone,
                ic = excluded.ic, dic = excluded.dic, document_modified_on = excluded.document_modified_on,
                fetched_at = excluded.fetched_at",
        );
        insert.build().persistent(false).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Marks an order whose buyer was forgotten: nothing is sent, nothing personal is kept.
pub async fn mark_forgotten(
    conn: &mut SqliteConnection,
    order_id: i64,
    marker: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE orders SET sync_status = ?, status_reason = ?, payload = NULL, customer_email = ?,
            buyer_forgotten = 1, locked_until = NULL, updated_at = ?
         WHERE id = ?",
    )
    .bind(SyncStatus::Skipped)
    .bind(reason)
    .bind(marker)
    .bind(now)
    .bind(order_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// How the SmartEmailing account spells the cancelled status: as it last accepted, else as
/// its documentation says (`cancelled`).
pub async fn cancelled_spelling(
    db: &SqlitePool,
    username: &str,
) -> Result<crate::smartemailing::CancelledSpelling, sqlx::Error> {
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT cancelled_spelling FROM smartemailing_accounts WHERE username = ?",
    )
    .bind(username.trim().to_lowercase())
    .fetch_optional(db)
    .await?;
    Ok(stored
        .as_deref()
        .and_then(crate::smartemailing::CancelledSpelling::parse)
        .unwrap_or(crate::smartemailing::CancelledSpelling::Cancelled))
}

pub async fn remember_cancelled_spelling(
    db: &SqlitePool,
    username: &str,
    spelling: crate::smartemailing::CancelledSpelling,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO smartemailing_accounts (username, cancelled_spelling) VALUES (?, ?)
         ON CONFLICT (username) DO UPDATE SET cancelled_spelling = excluded.cancelled_spelling",
    )
    .bind(username.trim().to_lowercase())
    .bind(spelling.as_str())
    .execute(db)
    .await?;
    Ok(())
}

/// An order claimed for a push, with what to send.
#[derive(Debug, Clone, FromRow)]
pub struct PushJob {
    pub id: i64,
    pub payload: String,
    pub payload_hash: String,
    pub fapi_state: FapiState,
    pub attempts: i64,
}

/// The order and contact sent to SmartEmailing, as stored in `orders.payload`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payload {
    pub contact: crate::smartemailing::ContactImport,
    pub order: crate::smartemailing::OrderImport,
}

/// Connections that have orders due for a push.
pub async fn connections_with_due_orders(
    db: &SqlitePool,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT connection_id FROM orders
         WHERE sync_status = ? AND next_attempt_at <= ? AND (locked_until IS NULL OR locked_until < ?)
           AND NOT (attempts = 0 AND run_id IS NOT NULL AND run_id IN
                    (SELECT id FROM sync_runs WHERE status IN (?, ?)))",
    )
    .bind(SyncStatus::Pending)
    .bind(now)
    .bind(now)
    .bind(RunStatus::Running)
    .bind(RunStatus::Paused)
    .fetch_all(db)
    .await
}

/// Claims up to `limit` due orders of a connection for one batch push.
pub async fn claim_push_batch(
    db: &SqlitePool,
    connection_id: i64,
    now: DateTime<Utc>,
    lock_for: Duration,
    limit: i64,
) -> Result<Vec<PushJob>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE orders SET locked_until = ?, attempts = attempts + 1, last_attempt_at = ?
         WHERE id IN (SELECT id FROM orders
                      WHERE connection_id = ? AND sync_status = ? AND next_attempt_at <= ?
                        AND (locked_until IS NULL OR locked_until < ?) AND payload IS NOT NULL
                        -- A running historical sync sends its own first batches, 500 at a time.
                        AND NOT (attempts = 0 AND run_id IS NOT NULL AND run_id IN
                                 (SELECT id FROM sync_runs WHERE status IN (?, ?)))
                      ORDER BY next_attempt_at, id LIMIT ?)
         RETURNING id, payload, payload_hash, fapi_state, attempts",
    )
    .bind(now + lock_for)
    .bind(now)
    .bind(connection_id)
    .bind(SyncStatus::Pending)
    .bind(now)
    .bind(now)
    .bind(RunStatus::Running)
    .bind(RunStatus::Paused)
    .bind(limit)
    .fetch_all(db)
    .await
}

pub struct Attempt<'a> {
    pub order_id: i64,
    pub outcome: AttemptOutcome,
    pub http_status: Option<u16>,
    pub message: Option<&'a str>,
    pub payload_hash: &'a str,
}

pub async fn record_attempt(
    conn: &mut SqliteConnection,
    a: Attempt<'_>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO order_attempts (order_id, at, outcome, http_status, message, payload_hash) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(a.order_id)
    .bind(now)
    .bind(a.outcome)
    .bind(a.http_status.map(i64::from))
    .bind(a.message)
    .bind(a.payload_hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a successful push of `jobs` (an attempt each) and marks them synced, unless an
/// order's content changed meanwhile (then it stays pending and goes out again with the new
/// content). Two statements for the whole batch.
pub async fn mark_synced(
    conn: &mut SqliteConnection,
    jobs: &[PushJob],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let pushed = serde_json::Value::Array(
        jobs.iter()
            .map(|job| serde_json::json!([job.id, job.payload_hash, job.fapi_state]))
            .collect(),
    )
    .to_string();
    sqlx::query(
        "INSERT INTO order_attempts (order_id, at, outcome, http_status, message, payload_hash)
         SELECT json_extract(value, '$[0]'), ?, ?, 201, NULL, json_extract(value, '$[1]')
         FROM json_each(?)",
    )
    .bind(now)
    .bind(AttemptOutcome::Synced)
    .bind(&pushed)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE orders SET
            synced_hash = pushed.hash, synced_state = pushed.state, locked_until = NULL, updated_at = ?,
            sync_status = CASE WHEN orders.payload_hash = pushed.hash THEN ? ELSE orders.sync_status END,
            status_reason = CASE WHEN orders.payload_hash = pushed.hash THEN NULL ELSE orders.status_reason END,
            next_attempt_at = CASE WHEN orders.payload_hash = pushed.hash THEN orders.next_attempt_at ELSE ? END
         FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS hash,
                      json_extract(value, '$[2]') AS state
               FROM json_each(?)) AS pushed
         WHERE orders.id = pushed.id",
    )
    .bind(now)
    .bind(SyncStatus::Synced)
    .bind(now)
    .bind(&pushed)
    .execute(conn)
    .await?;
    Ok(())
}

/// Schedules another attempt, or marks the order failed.
pub async fn mark_retry_or_failed(
    conn: &mut SqliteConnection,
    order_id: i64,
    next_attempt_at: Option<DateTime<Utc>>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE orders SET locked_until = NULL, updated_at = ?, status_reason = ?,
            sync_status = CASE WHEN ? IS NULL THEN ? ELSE sync_status END,
            next_attempt_at = coalesce(?, next_attempt_at)
         WHERE id = ?",
    )
    .bind(now)
    .bind(reason)
    .bind(next_attempt_at)
    .bind(SyncStatus::Failed)
    .bind(next_attempt_at)
    .bind(order_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Puts failed orders (all of a connection, or the given ones) back in the queue; the count.
pub async fn requeue_failed(
    db: &SqlitePool,
    order_ids: Option<&[i64]>,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    if order_ids.is_some_and(<[i64]>::is_empty) {
        return Ok(0);
    }
    let mut query = sqlx::QueryBuilder::new("UPDATE orders SET sync_status = ");
    query
        .push_bind(SyncStatus::Pending)
        .push(", attempts = 0, next_attempt_at = ")
        .push_bind(now)
        .push(", status_reason = NULL, updated_at = ")
        .push_bind(now)
        .push(" WHERE sync_status = ")
        .push_bind(SyncStatus::Failed)
        .push(" AND payload IS NOT NULL");
    if let Some(ids) = order_ids {
        query.push(" AND id IN (");
        let mut list = query.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        query.push(")");
    }
    Ok(query.build().execute(db).await?.rows_affected())
}

/// Counts of a sync run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub total: Option<i64>,
    pub seen: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
}

pub async fn start_run(
    db: &SqlitePool,
    connection_id: i64,
    kind: RunKind,
    started_by: &str,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO sync_runs (connection_id, kind, started_by, started_at, status) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(connection_id)
    .bind(kind)
    .bind(started_by)
    .bind(now)
    .bind(RunStatus::Running)
    .execute(db)
    .await?
    .last_insert_rowid())
}

pub async fn finish_run(
    db: &SqlitePool,
    run_id: i64,
    status: RunStatus,
    reason: Option<&str>,
    counts: &RunCounts,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sync_runs SET status = ?, status_reason = ?, finished_at = ?, total = ?, seen = ?, created = ?,
            updated = ?, skipped = ?, failed = ? WHERE id = ?",
    )
    .bind(status)
    .bind(reason)
    .bind(now)
    .bind(counts.total)
    .bind(counts.seen)
    .bind(counts.created)
    .bind(counts.updated)
    .bind(counts.skipped)
    .bind(counts.failed)
    .bind(run_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Claims up to `limit` orders a historical run queued and nobody has tried yet.
pub async fn claim_run_batch(
    db: &SqlitePool,
    run_id: i64,
    now: DateTime<Utc>,
    lock_for: Duration,
    limit: i64,
) -> Result<Vec<PushJob>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE orders SET locked_until = ?, attempts = attempts + 1, last_attempt_at = ?
         WHERE id IN (SELECT id FROM orders
                      WHERE run_id = ? AND sync_status = ? AND attempts = 0
                        AND (locked_until IS NULL OR locked_until < ?) AND payload IS NOT NULL
                      ORDER BY id LIMIT ?)
         RETURNING id, payload, payload_hash, fapi_state, attempts",
    )
    .bind(now + lock_for)
    .bind(now)
    .bind(run_id)
    .bind(SyncStatus::Pending)
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Orders of a run still waiting for their first push.
pub async fn run_unsent(db: &SqlitePool, run_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE run_id = ? AND sync_status = ? AND attempts = 0",
    )
    .bind(run_id)
    .bind(SyncStatus::Pending)
    .fetch_one(db)
    .await
}
