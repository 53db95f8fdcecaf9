//! Read models of the Contacts page, and the contacts a bulk action targets.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{FromRow, QueryBuilder, Sqlite, SqlitePool};

use crate::model::{ContactFilter, ContactRow, DisplayTime, FapiState};
use crate::platform::time::prague_day_start;

pub const PAGE_SIZE: i64 = 50;

/// The orders of a contact (index orders_by_email).
const ORDERS_OF: &str =
    "FROM orders o WHERE o.connection_id = c.connection_id AND o.customer_email = c.email";

/// Contacts without a list matching `filter`: confirmed in no list, not blacklisted, not
/// forgotten.
fn push_where(query: &mut QueryBuilder<'_, Sqlite>, filter: &ContactFilter) {
    query.push(
        " FROM contacts c JOIN connections k ON k.id = c.connection_id
          WHERE c.in_list = 0 AND c.blacklisted = 0 AND c.forgotten_at IS NULL AND k.deleted_at IS NULL",
    );
    if let Some(connection) = filter.connection {
        query.push(" AND c.connection_id = ").push_bind(connection);
    }
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let pattern = format!(
            "%{}%",
            search
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        query
            .push(" AND (c.email LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR c.name LIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
    }
    match filter.buyers.as_deref() {
        Some("paid") => {
            query
                .push(format!(
                    " AND EXISTS (SELECT 1 {ORDERS_OF} AND o.fapi_state = "
                ))
                .push_bind(FapiState::Paid)
                .push(")");
        }
        Some("cancelled") => {
            query
                .push(format!(
                    " AND EXISTS (SELECT 1 {ORDERS_OF}) AND NOT EXISTS (SELECT 1 {ORDERS_OF} AND o.fapi_state <> "
                ))
                .push_bind(FapiState::Cancelled)
                .push(")");
        }
        _ => {}
    }
    if let Some(from) = filter.last_from.as_deref().and_then(prague_day_start) {
        query
            .push(format!(
                " AND (SELECT MAX(o.fapi_created_at) {ORDERS_OF}) >= "
            ))
            .push_bind(from);
    }
    if let Some(to) = filter.last_to.as_deref().and_then(prague_day_start) {
        query
            .push(format!(
                " AND (SELECT MAX(o.fapi_created_at) {ORDERS_OF}) < "
            ))
            .push_bind(to + chrono::Duration::days(1));
    }
}

pub async fn count(db: &SqlitePool, filter: &ContactFilter) -> Result<i64, sqlx::Error> {
    let mut query = QueryBuilder::new("SELECT COUNT(*)");
    push_where(&mut query, filter);
    query.build_query_scalar().fetch_one(db).await
}

#[derive(FromRow)]
struct ContactRecord {
    id: i64,
    connection_id: i64,
    connection: String,
    email: String,
    name: Option<String>,
    checked_at: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct OrderFacts {
    connection_id: i64,
    customer_email: Option<String>,
    fapi_state: FapiState,
    total: Option<String>,
    currency: Option<String>,
    fapi_created_at: Option<DateTime<Utc>>,
}

/// One page (0-based) of contacts without a list, by e-mail.
pub async fn page(
    db: &SqlitePool,
    filter: &ContactFilter,
    page: i64,
) -> Result<Vec<ContactRow>, sqlx::Error> {
    let mut query = QueryBuilder::new(
        "SELECT c.id, c.connection_id, k.name AS connection, c.email, c.name, c.checked_at",
    );
    push_where(&mut query, filter);
    query
        .push(" ORDER BY c.email, c.id LIMIT ")
        .push_bind(PAGE_SIZE)
        .push(" OFFSET ")
        .push_bind(page.max(0) * PAGE_SIZE);
    let records: Vec<ContactRecord> = query.build_query_as().fetch_all(db).await?;
    // One query for the orders of the whole page (a page may span connections).
    let mut orders = Vec::new();
    let connections: std::collections::BTreeSet<i64> =
        records.iter().map(|r| r.connection_id).collect();
    for connection in connections {
        let emails: Vec<&str> = records
            .iter()
            .filter(|r| r.connection_id == connection)
            .map(|r| r.email.as_str())
            .collect();
        orders.extend(orders_of(db, connection, &emails).await?);
    }
    Ok(records
        .into_iter()
        .map(|record| summarize(record, &orders))
        .collect())
}

/// One contact (any state), for its page.
pub async fn one(
    db: &SqlitePool,
    id: i64,
) -> Result<Option<(ContactRow, Option<bool>, Option<i64>)>, sqlx::Error> {
    #[derive(FromRow)]
    struct Found {
        #[sqlx(flatten)]
        record: ContactRecord,
        in_list: Option<bool>,
        se_contact_id: Option<i64>,
    }
    let found: Option<Found> = sqlx::query_as(
        "SELECT c.id, c.connection_id, k.name AS connection, c.email, c.name, c.checked_at,
                c.in_list, c.se_contact_id
         FROM contacts c JOIN connections k ON k.id = c.connection_id
         WHERE c.id = ? AND c.forgotten_at IS NULL",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    let Some(found) = found else {
        return Ok(None);
    };
    let orders = orders_of(db, found.record.connection_id, &[&found.record.email]).await?;
    Ok(Some((
        summarize(found.record, &orders),
        found.in_list,
        found.se_contact_id,
    )))
}

/// The orders of these buyers of one connection (index orders_by_email).
async fn orders_of(
    db: &SqlitePool,
    connection_id: i64,
    emails: &[&str],
) -> Result<Vec<OrderFacts>, sqlx::Error> {
    let mut query = QueryBuilder::new(
        "SELECT connection_id, customer_email, fapi_state, total, currency, fapi_created_at
         FROM orders WHERE connection_id = ",
    );
    query
        .push_bind(connection_id)
        .push(" AND customer_email IN (");
    let mut list = query.separated(", ");
    for email in emails {
        list.push_bind(email.to_string());
    }
    list.push_unseparated(")");
    query.build_query_as().fetch_all(db).await
}

/// A contact's row from its orders (among `orders`, which may hold other buyers' too).
fn summarize(record: ContactRecord, orders: &[OrderFacts]) -> ContactRow {
    let orders: Vec<&OrderFacts> = orders
        .iter()
        .filter(|o| {
            o.connection_id == record.connection_id
                && o.customer_email.as_deref() == Some(record.email.as_str())
        })
        .collect();
    let mut spent: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut states: Vec<FapiState> = Vec::new();
    for order in &orders {
        if order.fapi_state == FapiState::Paid {
            let total = order
                .total
                .as_deref()
                .and_then(|t| t.parse::<Decimal>().ok())
                .unwrap_or_default();
            *spent
                .entry(order.currency.clone().unwrap_or_default())
                .or_default() += total;
        }
        if !states.contains(&order.fapi_state) {
            states.push(order.fapi_state);
        }
    }
    // In the order of their text, as the page has always listed them.
    states.sort_by_key(|state| state.as_str());
    ContactRow {
        id: record.id,
        connection_id: record.connection_id,
        connection: record.connection,
        email: record.email,
        name: record.name,
        orders: orders.len() as i64,
        spent: spent
            .into_iter()
            .map(|(currency, total)| format!("{} {currency}", total.round_dp(2)))
            .collect(),
        last_order: orders
            .iter()
            .filter_map(|o| o.fapi_created_at)
            .max()
            .map(DisplayTime::new),
        states,
        checked_at: record.checked_at.map(DisplayTime::new),
    }
}

/// The contacts a bulk action acts on: the selected ids that are still without a list, or every
/// contact matching the filter. (id, connection id, e-mail, SmartEmailing id).
pub async fn targets(
    db: &SqlitePool,
    filter: &ContactFilter,
    selected: Option<&[i64]>,
) -> Result<Vec<(i64, i64, String, Option<i64>)>, sqlx::Error> {
    let mut query = QueryBuilder::new("SELECT c.id, c.connection_id, c.email, c.se_contact_id");
    push_where(&mut query, filter);
    if let Some(ids) = selected {
        query.push(" AND c.id IN (");
        let mut list = query.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        list.push_unseparated(")");
    }
    query.push(" ORDER BY c.id");
    query.build_query_as().fetch_all(db).await
}
