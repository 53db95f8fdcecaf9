//! HTTP client of the SmartEmailing API v3.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

use super::model::*;
use crate::platform::http::{HttpSettings, RetryPolicy, build_http_client};

pub const DEFAULT_BASE_URL: &str = "https://app.smartemailing.cz/api/v3";

/// The longest `Retry-After` we honour; beyond it the call fails and the caller's own retry
/// schedule takes over.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// SmartEmailing user name and API key. `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct SeCredentials {
    pub username: String,
    pub api_key: String,
}

impl std::fmt::Debug for SeCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeCredentials")
            .field("username", &self.username)
            .field("api_key", &"***")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeError {
    #[error("SmartEmailing refused the credentials ({status}): {message}")]
    Unauthorized { status: u16, message: String },
    /// A 4xx other than 401/403/429: the request itself is wrong (e.g. an invalid e-mail).
    #[error("SmartEmailing rejected the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("SmartEmailing asked to slow down (429) and kept refusing")]
    RateLimited,
    #[error("SmartEmailing failed ({status}): {message}")]
    Server { status: u16, message: String },
    /// A 2xx answer whose body says `"status": "error"`.
    #[error("SmartEmailing answered {status} but reported an error: {message}")]
    ErrorInBody { status: u16, message: String },
    #[error("SmartEmailing did not answer within {} s", .0.as_secs())]
    Timeout(Duration),
    #[error("SmartEmailing cannot be reached: {0}")]
    Unreachable(String),
    #[error("SmartEmailing sent an unexpected answer: {0}")]
    Decode(String),
}

/// Whether SmartEmailing's message says the request itself is wrong (an invalid e-mail, a
/// missing or unknown field or value …) rather than that it failed for now. SmartEmailing
/// documents no error codes, so its words are what there is to go by.
pub fn is_validation_message(message: &str) -> bool {
    let message = message.to_lowercase();
    [
        "invalid",
        "not valid",
        "required",
        "missing",
        "must ",
        "exceed",
        "does not exist",
        "not allowed",
        "unknown",
        "malformed",
        "too long",
    ]
    .iter()
    .any(|words| message.contains(words))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_in_a_2xx_body_are_classified_by_their_message() {
        let body = |message: &str| SeError::ErrorInBody {
            status: 200,
            message: message.into(),
        };
        let invalid = body("Emailaddress x@y@z is not valid email address.");
        assert!(invalid.is_validation() && !invalid.is_transient());
        let status = body("Invalid order status canceled.");
        assert!(status.refuses_status());
        let outage = body("Simulated error inside a 200 answer");
        assert!(outage.is_transient() && !outage.is_validation());
        assert!(
            !SeError::Server {
                status: 500,
                message: "Invalid state".into()
            }
            .refuses_status()
        );
    }
}

impl SeError {
    /// Worth trying again later. A 2xx answer that reports an error counts as a 4xx or a 5xx by
    /// its message.
    pub fn is_transient(&self) -> bool {
        match self {
            SeError::RateLimited
            | SeError::Server { .. }
            | SeError::Timeout(_)
            | SeError::Unreachable(_) => true,
            SeError::ErrorInBody { message, .. } => !is_validation_message(message),
            _ => false,
        }
    }

    /// SmartEmailing refused the request's content: sending it again as it is will not help.
    pub fn is_validation(&self) -> bool {
        match self {
            SeError::Rejected { .. } => true,
            SeError::ErrorInBody { message, .. } => is_validation_message(message),
            _ => false,
        }
    }

    /// SmartEmailing refused an order's status.
    pub fn refuses_status(&self) -> bool {
        match self {
            SeError::Rejected { message, .. } | SeError::ErrorInBody { message, .. } => {
                self.is_validation() && message.to_lowercase().contains("status")
            }
            _ => false,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            SeError::Unauthorized { status, .. }
            | SeError::Rejected { status, .. }
            | SeError::Server { status, .. }
            | SeError::ErrorInBody { status, .. } => Some(*status),
            SeError::RateLimited => Some(429),
            _ => None,
        }
    }
}

/// Pacers by (account user name, requests per second).
type Pacers = HashMap<(String, u32), Arc<DefaultDirectRateLimiter>>;

/// One pace per SmartEmailing account, shared by every client of that account in the process.
fn pacer(username: &str, per_second: u32) -> Arc<DefaultDirectRateLimiter> {
    static PACERS: LazyLock<Mutex<Pacers>> = LazyLock::new(|| Mutex::new(HashMap::new()));
    let per_second = NonZeroU32::new(per_second.max(1)).expect("at least one per second");
    PACERS
        .lock()
        .expect("pacer registry lock")
        .entry((username.to_lowercase(), per_second.get()))
        .or_insert_with(|| Arc::new(RateLimiter::direct(Quota::per_second(per_second))))
        .clone()
}

#[derive(Clone)]
pub struct SmartEmailingClient {
    http: reqwest::Client,
    base: String,
    credentials: SeCredentials,
    retry: RetryPolicy,
    timeout: Duration,
    pace: Arc<DefaultDirectRateLimiter>,
    /// Requests already paid for with [`SmartEmailingClient::reserve`]: they skip the pace.
    reserved: Arc<std::sync::atomic::AtomicU32>,
}

impl SmartEmailingClient {
    pub fn new(
        base_url: &str,
        credentials: SeCredentials,
        settings: &HttpSettings,
    ) -> SmartEmailingClient {
        Self::with_http(
            build_http_client(settings.timeout),
            base_url,
            credentials,
            settings,
        )
    }

    /// A client on an existing connection pool (the app shares one: see `AppState::http`).
    pub fn with_http(
        http: reqwest::Client,
        base_url: &str,
        credentials: SeCredentials,
        settings: &HttpSettings,
    ) -> SmartEmailingClient {
        SmartEmailingClient {
            http,
            base: base_url.trim_end_matches('/').to_string(),
            pace: pacer(
                &credentials.username,
                settings.smartemailing_requests_per_second,
            ),
            credentials,
            retry: settings.retry.clone(),
            timeout: settings.timeout,
            reserved: Default::default(),
        }
    }

    /// Waits until the account's pace allows `requests` more requests and takes them, so the
    /// next `requests` calls of this client go out at once. A caller that waits here before
    /// deciding what to send (the push step) sends what accumulated while it waited.
    pub async fn reserve(&self, requests: u32) {
        let Some(wanted) = NonZeroU32::new(requests) else {
            return;
        };
        // More than the pace allows at once (a pace of 1/s) is taken one by one.
        if self.pace.until_n_ready(wanted).await.is_err() {
            for _ in 0..requests {
                self.pace.until_ready().await;
            }
        }
        self.reserved
            .fetch_add(requests, std::sync::atomic::Ordering::AcqRel);
    }

    /// Waits for the pace, unless a reserved request is left.
    async fn paced(&self) {
        let took_reserved = self
            .reserved
            .fetch_update(
                std::sync::atomic::Ordering::AcqRel,
                std::sync::atomic::Ordering::Acquire,
                |left| left.checked_sub(1),
            )
            .is_ok();
        if !took_reserved {
            self.pace.until_ready().await;
        }
    }

    /// `GET /check-credentials`; the account id on success.
    pub async fn check_credentials(&self) -> Result<i64, SeError> {
        let body = self
            .send(Method::GET, "/check-credentials", None::<&()>, &[])
            .await?;
        Ok(body["account_id"].as_i64().unwrap_or_default())
    }

    /// `POST /import` in batches of 500; the contact ids SmartEmailing assigned.
    pub async fn import_contacts(
        &self,
        contacts: &[ContactImport],
        settings: &ImportSettings,
    ) -> Result<Vec<ContactMapEntry>, SeError> {
        let mut map = Vec::with_capacity(contacts.len());
        for batch in contacts.chunks(BATCH_LIMIT) {
            let body = json!({ "settings": settings, "data": batch });
            let answer = self.send(Method::POST, "/import", Some(&body), &[]).await?;
            let entries: Vec<ContactMapEntry> =
                serde_json::from_value(answer.get("contacts_map").cloned().unwrap_or(json!([])))
                    .map_err(|e| SeError::Decode(format!("contacts_map: {e}")))?;
            map.extend(entries);
        }
        Ok(map)
    }

    /// `POST /import-orders` in batches of 500, cancelled orders with the account's spelling.
    /// Orders are keyed by e-shop name and code, so a batch sent twice (a retry) updates rather
    /// than duplicates.
    pub async fn import_orders(
        &self,
        orders: &[OrderImport],
        cancelled: CancelledSpelling,
    ) -> Result<(), SeError> {
        for batch in orders.chunks(BATCH_LIMIT) {
            let batch: Vec<Value> = batch
                .iter()
                .map(|order| {
                    let mut value = serde_json::to_value(order).unwrap_or_default();
                    if order.status == OrderStatus::Cancelled {
                        value["status"] = json!(cancelled.as_str());
                    }
                    value
                })
                .collect();
            let body = json!({ "settings": { "skip_invalid_orders": false }, "data": batch });
            self.send(Method::POST, "/import-orders", Some(&body), &[])
                .await?;
        }
        Ok(())
    }

    /// Every contact list of the account (`GET /contactlists`, paged).
    pub async fn contact_lists(&self) -> Result<Vec<ContactList>, SeError> {
        self.list_all("/contactlists", &[], "contact lists").await
    }

    /// Every contact custom field of the account with its options
    /// (`GET /customfields?expand=customfield_options`, paged).
    pub async fn custom_fields(&self) -> Result<Vec<CustomFieldDefinition>, SeError> {
        self.list_all(
            "/customfields",
            &[("expand", "customfield_options")],
            "custom fields",
        )
        .await
    }

    /// Every item of a paged list (`data`), 500 a page.
    async fn list_all<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        extra: &[(&str, &str)],
        what: &str,
    ) -> Result<Vec<T>, SeError> {
        let mut items = Vec::new();
        loop {
            let mut query = vec![
                ("limit", BATCH_LIMIT.to_string()),
                ("offset", items.len().to_string()),
            ];
            query.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
            let body = self.send(Method::GET, path, None::<&()>, &query).await?;
            let page: Vec<T> = serde_json::from_value(body["data"].clone())
                .map_err(|e| SeError::Decode(format!("{what}: {e}")))?;
            let done = page.len() < BATCH_LIMIT;
            items.extend(page);
            if done {
                return Ok(items);
            }
        }
    }

    /// One page of `GET /contacts`.
    pub async fn contacts(&self, query: &ContactQuery) -> Result<ContactsPage, SeError> {
        let mut pairs = vec![
            (
                "limit",
                query.limit.clamp(1, BATCH_LIMIT as u32).to_string(),
            ),
            ("offset", query.offset.to_string()),
        ];
        if let Some(email) = &query.emailaddress {
            pairs.push(("emailaddress", email.clone()));
        }
        if let Some(blacklisted) = query.blacklisted {
            pairs.push(("blacklisted", u8::from(blacklisted).to_string()));
        }
        let body = self
            .send(Method::GET, "/contacts", None::<&()>, &pairs)
            .await?;
        let contacts: Vec<Contact> = serde_json::from_value(body["data"].clone())
            .map_err(|e| SeError::Decode(format!("contacts: {e}")))?;
        for contact in &contacts {
            for entry in &contact.contactlists {
                if let MembershipStatus::Other(status) = &entry.status {
                    tracing::warn!(
                        contact = contact.id,
                        list = entry.contactlist_id,
                        %status,
                        "SmartEmailing reported a list membership status the bridge does not know; kept as other"
                    );
                }
            }
        }
        let total_count = body["meta"]["total_count"]
            .as_u64()
            .unwrap_or(contacts.len() as u64);
        Ok(ContactsPage {
            total_count,
            contacts,
        })
    }

    /// GDPR forget (`DELETE /contacts/forget/{id}`); cannot be undone.
    pub async fn forget_contact(&self, contact_id: i64) -> Result<ForgetOutcome, SeError> {
        match self
            .send(
                Method::DELETE,
                &format!("/contacts/forget/{contact_id}"),
                None::<&()>,
                &[],
            )
            .await
        {
            Ok(_) => Ok(ForgetOutcome::Forgotten),
            Err(SeError::Rejected { status: 404, .. }) => Ok(ForgetOutcome::AlreadyGone),
            Err(error) => Err(error),
        }
    }

    /// Sends with pacing and retries. Every call here is safe to repeat: imports are upserts,
    /// forget of a forgotten contact answers 404.
    async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        query: &[(&str, String)],
    ) -> Result<Value, SeError> {
        let mut attempt = 1;
        loop {
            self.paced().await;
            let outcome = self.send_once(method.clone(), path, body, query).await;
            let wait = match &outcome {
                Err(Attempt::RetryAfter(after)) => {
                    Some(after.unwrap_or_else(|| self.retry.backoff(attempt)))
                }
                Err(Attempt::Failed(error)) if error.is_transient() => {
                    Some(self.retry.backoff(attempt))
                }
                _ => None,
            };
            match (outcome, wait) {
                (Ok(value), _) => return Ok(value),
                (Err(attempt_error), Some(wait)) if attempt < self.retry.max_attempts => {
                    tracing::debug!(%path, attempt, ?wait, error = %attempt_error, "SmartEmailing request failed; retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                (Err(attempt_error), _) => return Err(attempt_error.into_error()),
            }
        }
    }

    async fn send_once<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        query: &[(&str, String)],
    ) -> Result<Value, Attempt> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(&self.credentials.username, Some(&self.credentials.api_key))
            .header(reqwest::header::ACCEPT, "application/json")
            .query(query);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.map_err(|e| self.transport_error(e))?;
        let body: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        let message = body["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
        let code = status.as_u16();
        if status == StatusCode::TOO_MANY_REQUESTS {
            return match retry_after {
                Some(after) if after > MAX_RETRY_AFTER => {
                    Err(Attempt::Failed(SeError::RateLimited))
                }
                after => Err(Attempt::RetryAfter(after)),
            };
        }
        if status.is_success() {
            if body["status"] == "error" {
                return Err(Attempt::Failed(SeError::ErrorInBody {
                    status: code,
                    message,
                }));
            }
            if body.is_null() && status != StatusCode::NO_CONTENT {
                return Err(Attempt::Failed(SeError::Decode(format!(
                    "{code} without a JSON body"
                ))));
            }
            return Ok(body);
        }
        Err(Attempt::Failed(match code {
            401 | 403 => SeError::Unauthorized {
                status: code,
                message,
            },
            400..=499 => SeError::Rejected {
                status: code,
                message,
            },
            _ => SeError::Server {
                status: code,
                message,
            },
        }))
    }

    fn transport_error(&self, error: reqwest::Error) -> Attempt {
        Attempt::Failed(if error.is_timeout() {
            SeError::Timeout(self.timeout)
        } else {
            SeError::Unreachable(error.without_url().to_string())
        })
    }
}

/// The outcome of one attempt that did not succeed.
enum Attempt {
    /// 429, possibly with the wait SmartEmailing asked for.
    RetryAfter(Option<Duration>),
    Failed(SeError),
}

impl Attempt {
    fn into_error(self) -> SeError {
        match self {
            Attempt::RetryAfter(_) => SeError::RateLimited,
            Attempt::Failed(error) => error,
        }
    }
}

impl std::fmt::Display for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attempt::RetryAfter(after) => write!(f, "429, retry after {after:?}"),
            Attempt::Failed(error) => error.fmt(f),
        }
    }
}
