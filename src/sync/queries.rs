//! Read models of the Orders and Notifications pages. Every filter and the keyset pagination
//! (`id < before`, newest first) use an index, so pages stay fast with millions of orders.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, QueryBuilder, Sqlite, SqlitePool};

use crate::model::{
    AttemptOutcome, AttemptView, ConnectionRef, DisplayTime, DocumentKind, DocumentView, FapiState,
    NotificationRow, NotificationStatus, OrderFilter, OrderRow, SyncStatus,
};
use crate::platform::paging::Keyset;
use crate::platform::time::prague_day_start;

#[derive(FromRow)]
struct OrderListRow {
    id: i64,
    connection: String,
    eshop_code: String,
    fapi_numbers: Option<String>,
    customer_email: Option<String>,
    total: Option<String>,
    currency: Option<String>,
    fapi_state: FapiState,
    synced_state: Option<FapiState>,
    sync_status: SyncStatus,
    status_reason: Option<String>,
    attempts: i64,
    fapi_created_at: Option<DateTime<Utc>>,
    last_attempt_at: Option<DateTime<Utc>>,
    buyer_forgotten: bool,
}

impl From<OrderListRow> for OrderRow {
    fn from(r: OrderListRow) -> Self {
        OrderRow {
            id: r.id,
            connection: r.connection,
            eshop_code: r.eshop_code,
            fapi_numbers: r.fapi_numbers.unwrap_or_default(),
            customer_email: r.customer_email,
            total: r.total,
            currency: r.currency,
            fapi_state: r.fapi_state,
            se_status: r
                .synced_state
                .map(|state| crate::sync::mapping::se_status(state).as_str().to_string()),
            sync_status: r.sync_status,
            status_reason: r.status_reason,
            attempts: r.attempts,
            created: r.fapi_created_at.map(DisplayTime::new),
            last_attempt: r.last_attempt_at.map(DisplayTime::new),
            buyer_forgotten: r.buyer_forgotten,
        }
    }
}

const ORDER_SELECT: &str = "SELECT o.id, c.name AS connection, o.eshop_code, o.fapi_numbers, o.customer_email, o.total,
    o.currency, o.fapi_state, o.synced_state, o.sync_status, o.status_reason, o.attempts, o.fapi_created_at, o.last_attempt_at,
    o.buyer_forgotten
    FROM orders o JOIN connections c ON c.id = o.connection_id";

fn push_filters(query: &mut QueryBuilder<'_, Sqlite>, filter: &OrderFilter) {
    if let Some(run) = filter.run {
        query.push(" AND o.run_id = ").push_bind(run);
    }
    if let Some(connection) = filter.connection {
        query.push(" AND o.connection_id = ").push_bind(connection);
    }
    if let Some(status) = filter.status {
        query.push(" AND o.sync_status = ").push_bind(status);
    }
    if let Some(from) = filter.from.as_deref().and_then(prague_day_start) {
        query.push(" AND o.fapi_created_at >= ").push_bind(from);
    }
    if let Some(to) = filter.to.as_deref().and_then(prague_day_start) {
        query
            .push(" AND o.fapi_created_at < ")
            .push_bind(to + chrono::Duration::days(1));
    }
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if search.contains('@') {
            // An e-mail or its beginning: a range on the e-mail index.
            let lower = search.to_lowercase();
            query
                .push(" AND o.customer_email >= ")
                .push_bind(lower.clone())
                .push(" AND o.customer_email < ")
                .push_bind(format!("{lower}\u{10FFFF}"));
        } else {
            query
                .push(" AND (o.eshop_code = ")
                .push_bind(search.to_string())
                .push(" OR o.id IN (SELECT order_id FROM order_documents WHERE number = ")
                .push_bind(search.to_string())
                .push("))");
        }
    }
}

pub async fn orders(
    db: &SqlitePool,
    filter: &OrderFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<OrderRow>, Option<i64>), sqlx::Error> {
    let page = Keyset::new(before, limit);
    let mut query = QueryBuilder::new(ORDER_SELECT);
    query.push(" WHERE o.id < ").push_bind(page.upper_bound());
    push_filters(&mut query, filter);
    query
        .push(" ORDER BY o.id DESC LIMIT ")
        .push_bind(page.fetch_limit());
    let rows: Vec<OrderListRow> = query.build_query_as().fetch_all(db).await?;
    let (rows, next) = page.split(rows, |r| r.id);
    Ok((rows.into_iter().map(OrderRow::from).collect(), next))
}

/// One order with what only its own page shows.
pub struct OrderWithExtras {
    pub row: OrderRow,
    pub source: String,
    /// When the next automatic attempt is due (pending orders).
    pub next_attempt: Option<DateTime<Utc>>,
    pub payload: Option<String>,
}

pub async fn order(db: &SqlitePool, id: i64) -> Result<Option<OrderWithExtras>, sqlx::Error> {
    #[derive(FromRow)]
    struct Extra {
        source: String,
        next_attempt_at: Option<DateTime<Utc>>,
        sync_status: SyncStatus,
        payload: Option<String>,
    }
    let row: Option<OrderListRow> = sqlx::query_as(&format!("{ORDER_SELECT} WHERE o.id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let extra: Extra = sqlx::query_as(
        "SELECT source, next_attempt_at, sync_status, payload FROM orders WHERE id = ?",
    )
    .bind(id)
    .fetch_one(db)
    .await?;
    Ok(Some(OrderWithExtras {
        row: row.into(),
        source: extra.source,
        next_attempt: (extra.sync_status == SyncStatus::Pending)
            .then_some(extra.next_attempt_at)
            .flatten(),
        payload: extra.payload,
    }))
}

pub async fn documents(db: &SqlitePool, order_id: i64) -> Result<Vec<DocumentView>, sqlx::Error> {
    #[derive(FromRow)]
    struct Row {
        invoice_id: i64,
        number: Option<String>,
        kind: DocumentKind,
        fetched_at: DateTime<Utc>,
        raw: String,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT invoice_id, number, kind, fetched_at, raw FROM order_documents WHERE order_id = ? ORDER BY invoice_id",
    )
    .bind(order_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| DocumentView {
            invoice_id: r.invoice_id,
            number: r.number,
            kind: r.kind,
            fetched_at: DisplayTime::new(r.fetched_at),
            raw: pretty(&r.raw),
        })
        .collect())
}

pub async fn attempts(db: &SqlitePool, order_id: i64) -> Result<Vec<AttemptView>, sqlx::Error> {
    #[derive(FromRow)]
    struct Row {
        at: DateTime<Utc>,
        outcome: AttemptOutcome,
        http_status: Option<i64>,
        message: Option<String>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT at, outcome, http_status, message FROM order_attempts WHERE order_id = ? ORDER BY id DESC",
    )
    .bind(order_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AttemptView {
            at: DisplayTime::new(r.at),
            outcome: r.outcome,
            http_status: r.http_status,
            message: r.message,
        })
        .collect())
}

pub fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_string())
}

pub async fn failed_count(db: &SqlitePool, connection: Option<i64>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE sync_status = ? AND (? IS NULL OR connection_id = ?)",
    )
    .bind(SyncStatus::Failed)
    .bind(connection)
    .bind(connection)
    .fetch_one(db)
    .await
}

/// Ids of the failed orders (of one connection, or all).
pub async fn failed_ids(db: &SqlitePool, connection: Option<i64>) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM orders WHERE sync_status = ? AND (? IS NULL OR connection_id = ?)",
    )
    .bind(SyncStatus::Failed)
    .bind(connection)
    .bind(connection)
    .fetch_all(db)
    .await
}

/// Every connection, deleted ones too (their orders stay readable).
pub async fn connection_refs(db: &SqlitePool) -> Result<Vec<ConnectionRef>, sqlx::Error> {
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM connections ORDER BY name")
        .fetch_all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| ConnectionRef { id, name })
        .collect())
}

pub async fn notifications(
    db: &SqlitePool,
    connection: Option<i64>,
    status: Option<NotificationStatus>,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<NotificationRow>, Option<i64>), sqlx::Error> {
    #[derive(FromRow)]
    struct Row {
        id: i64,
        connection: String,
        received_at: DateTime<Utc>,
        invoice_id: Option<i64>,
        status: NotificationStatus,
        status_reason: Option<String>,
        order_id: Option<i64>,
        remote_addr: Option<String>,
        content_type: Option<String>,
        raw_body: String,
    }
    let mut query = QueryBuilder::new(
        "SELECT n.id, c.name AS connection, n.received_at, n.invoice_id, n.status, n.status_reason, n.order_id,
            n.remote_addr, n.content_type, n.raw_body
         FROM notifications n JOIN connections c ON c.id = n.connection_id WHERE n.id < ",
    );
    let page = Keyset::new(before, limit);
    query.push_bind(page.upper_bound());
    if let Some(connection) = connection {
        query.push(" AND n.connection_id = ").push_bind(connection);
    }
    if let Some(status) = status {
        query.push(" AND n.status = ").push_bind(status);
    }
    query
        .push(" ORDER BY n.id DESC LIMIT ")
        .push_bind(page.fetch_limit());
    let rows: Vec<Row> = query.build_query_as().fetch_all(db).await?;
    let (rows, next) = page.split(rows, |r| r.id);
    Ok((
        rows.into_iter()
            .map(|r| NotificationRow {
                id: r.id,
                connection: r.connection,
                received: DisplayTime::new(r.received_at),
                invoice_id: r.invoice_id,
                status: r.status,
                status_reason: r.status_reason,
                order_id: r.order_id,
                remote_addr: r.remote_addr,
                content_type: r.content_type,
                raw_body: r.raw_body,
            })
            .collect(),
        next,
    ))
}
