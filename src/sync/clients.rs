//! FAPI client records (`GET /clients/{id}`): the buyer's company and phone, which the
//! document's `customer` does not carry. Cached per connection (`fapi_clients`) and fetched
//! again when a newer version of one of the client's documents arrives; never fetched (nor
//! kept) for a forgotten buyer. A record FAPI does not give is no reason to hold an order
//! back: the order goes out without it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde_json::Value;
use sqlx::SqlitePool;

use crate::contacts::suppression;
use crate::fapi::{FapiClient, FapiClientRecord, Invoice};
use crate::platform::crypto::SecretKey;
use crate::sync::store;

/// Client records fetched at once.
const CONCURRENT_FETCHES: usize = 4;

/// Fetches the client records these documents need (not cached, or cached for an older
/// version of the documents), by client id.
pub async fn fetch_needed(
    db: &SqlitePool,
    key: &SecretKey,
    connection_id: i64,
    fapi: &FapiClient,
    documents: &[&Value],
) -> Result<HashMap<i64, FapiClientRecord>, sqlx::Error> {
    // Client id → the newest modification among the documents, and their buyers' e-mails.
    let mut wanted: HashMap<i64, Option<DateTime<Utc>>> = HashMap::new();
    let mut emails: HashMap<i64, Vec<String>> = HashMap::new();
    for raw in documents {
        let Ok(document) = Invoice::from_json(raw) else {
            continue;
        };
        let Some(client) = document.client else {
            continue;
        };
        let newest = wanted.entry(client).or_default();
        *newest = (*newest).max(document.last_modified_on);
        if let Some(email) = document.customer.email.filter(|e| !e.trim().is_empty()) {
            emails.entry(client).or_default().push(email);
        }
    }
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let mut conn = db.acquire().await?;
    // Forgotten buyers' records are not fetched.
    let hashes: Vec<(i64, String)> = emails
        .iter()
        .flat_map(|(client, emails)| {
            emails
                .iter()
                .map(|email| (*client, suppression::email_hash(key, email)))
        })
        .collect();
    let all: Vec<String> = hashes.iter().map(|(_, h)| h.clone()).collect();
    let forgotten = suppression::forgotten(&mut conn, connection_id, &all).await?;
    let suppressed: HashSet<i64> = hashes
        .iter()
        .filter(|(_, hash)| forgotten.contains_key(hash))
        .map(|(client, _)| *client)
        .collect();
    let ids: Vec<i64> = wanted.keys().copied().collect();
    let cached: HashMap<i64, Option<DateTime<Utc>>> =
        store::cached_clients(&mut conn, connection_id, &ids)
            .await?
            .into_iter()
            .map(|c| (c.client_id, c.document_modified_on))
            .collect();
    drop(conn);
    let to_fetch: Vec<i64> = wanted
        .into_iter()
        .filter(|(client, _)| !suppressed.contains(client))
        .filter(|(client, modified)| match cached.get(client) {
            None => true,
            Some(cached) => modified > cached,
        })
        .map(|(client, _)| client)
        .collect();
    let fetched = futures_util::stream::iter(to_fetch)
        .map(|client| async move { (client, fapi.client(client).await) })
        .buffer_unordered(CONCURRENT_FETCHES)
        .collect::<Vec<_>>()
        .await;
    Ok(fetched
        .into_iter()
        .filter_map(|(client, result)| match result {
            Ok(record) => Some((client, record)),
            Err(error) => {
                tracing::warn!(connection = connection_id, client, %error, "FAPI client record not fetched; the order goes without it");
                None
            }
        })
        .collect())
}

/// Caches client records read from FAPI's list (a back-fill reads them all at once): current
/// for every document modified before `now`. Forgotten buyers' records are not kept.
pub async fn remember_listed(
    db: &SqlitePool,
    key: &SecretKey,
    connection_id: i64,
    records: &[FapiClientRecord],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let hashes: Vec<String> = records
        .iter()
        .filter_map(|r| r.email.as_deref())
        .map(|email| suppression::email_hash(key, email))
        .collect();
    let mut conn = db.acquire().await?;
    let forgotten = suppression::forgotten(&mut conn, connection_id, &hashes).await?;
    let keep: Vec<store::CachedClient> = records
        .iter()
        .filter(|r| {
            r.email
                .as_deref()
                .is_none_or(|email| !forgotten.contains_key(&suppression::email_hash(key, email)))
        })
        .map(|r| store::CachedClient::from_record(r, Some(now)))
        .collect();
    store::upsert_clients(&mut conn, connection_id, &keep, now).await
}
