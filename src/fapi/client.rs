//! HTTP client of the FAPI API: Basic auth (login e-mail + API key), JSON, timeouts, and
//! retries of safe GETs on timeouts and 5xx.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::model::{FapiClientRecord, FapiOrder, Invoice};
use crate::platform::http::{HttpSettings, RetryPolicy, build_http_client};
use crate::platform::time::format_prague_local;

pub const DEFAULT_BASE_URL: &str = "https://api.fapi.cz";

/// FAPI login e-mail and API key. `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct FapiCredentials {
    pub login: String,
    pub api_key: String,
}

impl std::fmt::Debug for FapiCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FapiCredentials")
            .field("login", &self.login)
            .field("api_key", &"***")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FapiError {
    /// 401: wrong login or key, or a document of another account.
    #[error("FAPI refused the credentials ({status}): {message}")]
    Unauthorized {
        status: u16,
        message: String,
        kind: Option<String>,
    },
    /// Any other error answer, with FAPI's `message` and `type`.
    #[error("FAPI answered {status}: {message}")]
    Api {
        status: u16,
        message: String,
        kind: Option<String>,
    },
    #[error("FAPI did not answer within {} s", .0.as_secs())]
    Timeout(Duration),
    #[error("FAPI cannot be reached: {0}")]
    Unreachable(String),
    /// The answer was not what the API documents (e.g. an invoice without `id`).
    #[error("FAPI sent an unexpected answer: {0}")]
    Decode(String),
}

impl FapiError {
    /// Worth trying again later: timeouts, connection failures, 5xx, 429.
    pub fn is_transient(&self) -> bool {
        match self {
            FapiError::Timeout(_) | FapiError::Unreachable(_) => true,
            FapiError::Api { status, .. } => *status >= 500 || *status == 429,
            FapiError::Unauthorized { .. } | FapiError::Decode(_) => false,
        }
    }

    /// FAPI refused the page size (`limit`) of a list request, e.g. 400 "Limit must be at most
    /// 100." (`ValidationException`): asking for smaller pages will do.
    pub fn is_page_size_refused(&self) -> bool {
        matches!(self, FapiError::Api { status: 400, message, .. }
            if message.to_ascii_lowercase().contains("limit"))
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            FapiError::Unauthorized { status, .. } | FapiError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Filters of `GET /invoices` and `GET /invoices/count`.
#[derive(Debug, Clone, Default)]
pub struct InvoiceQuery {
    pub limit: Option<u32>,
    pub offset: Option<u32>,
    /// Sort column, e.g. `id` (FAPI's direction syntax is undocumented; ascending is assumed).
    pub order: Option<String>,
    /// Documents changed after this moment (sent as Prague local time).
    pub last_modified_after: Option<chrono::DateTime<chrono::Utc>>,
    pub created_on_from: Option<chrono::DateTime<chrono::Utc>>,
    pub created_on_to: Option<chrono::DateTime<chrono::Utc>>,
    pub parent: Option<i64>,
}

impl InvoiceQuery {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        if let Some(offset) = self.offset {
            pairs.push(("offset", offset.to_string()));
        }
        if let Some(order) = &self.order {
            pairs.push(("order", order.clone()));
        }
        if let Some(at) = self.last_modified_after {
            pairs.push(("last_modified_after", format_prague_local(at)));
        }
        if let Some(at) = self.created_on_from {
            pairs.push(("created_on_from", format_prague_local(at)));
        }
        if let Some(at) = self.created_on_to {
            pairs.push(("created_on_to", format_prague_local(at)));
        }
        if let Some(parent) = self.parent {
            pairs.push(("parent", parent.to_string()));
        }
        pairs
    }
}

/// Counts a FAPI request by outcome and records its duration (see `platform::metrics`).
fn record_request(result: &Result<Value, FapiError>, took: Duration) {
    use crate::platform::metrics::{FAPI_REQUEST_DURATION, FAPI_REQUESTS};
    let outcome = match result {
        Ok(_) => "ok",
        Err(FapiError::Timeout(_)) => "timeout",
        Err(FapiError::Unreachable(_)) => "unreachable",
        Err(FapiError::Decode(_)) => "unreadable",
        Err(FapiError::Unauthorized { .. }) => "unauthorized",
        Err(FapiError::Api { status, .. }) if *status >= 500 => "server_error",
        Err(FapiError::Api { status: 429, .. }) => "rate_limited",
        Err(FapiError::Api { .. }) => "client_error",
    };
    metrics::counter!(FAPI_REQUESTS, "outcome" => outcome).increment(1);
    metrics::histogram!(FAPI_REQUEST_DURATION).record(took.as_secs_f64());
}

#[derive(Clone)]
pub struct FapiClient {
    http: reqwest::Client,
    base: String,
    credentials: FapiCredentials,
    retry: RetryPolicy,
    timeout: Duration,
}

impl FapiClient {
    pub fn new(
        base_url: &str,
        credentials: FapiCredentials,
        settings: &HttpSettings,
    ) -> FapiClient {
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
        credentials: FapiCredentials,
        settings: &HttpSettings,
    ) -> FapiClient {
        FapiClient {
            http,
            base: base_url.trim_end_matches('/').to_string(),
            credentials,
            retry: settings.retry.clone(),
            timeout: settings.timeout,
        }
    }

    /// `GET /`: `{}` with valid credentials, 401 otherwise.
    pub async fn check_credentials(&self) -> Result<(), FapiError> {
        self.get_json("/", &[]).await.map(|_| ())
    }

    pub async fn list_invoices(&self, query: &InvoiceQuery) -> Result<Vec<Invoice>, FapiError> {
        let body = self.get_json("/invoices", &query.pairs()).await?;
        let list = body
            .get("invoices")
            .and_then(Value::as_array)
            .ok_or_else(|| FapiError::Decode("the invoice list has no `invoices` array".into()))?;
        list.iter()
            .map(|value| Invoice::from_json(value).map_err(|e| FapiError::Decode(e.to_string())))
            .collect()
    }

    /// The invoices as FAPI sent them (for storing and hashing the raw values).
    pub async fn list_invoices_json(&self, query: &InvoiceQuery) -> Result<Vec<Value>, FapiError> {
        let mut body = self.get_json("/invoices", &query.pairs()).await?;
        match body.get_mut("invoices").map(Value::take) {
            Some(Value::Array(list)) => Ok(list),
            _ => Err(FapiError::Decode(
                "the invoice list has no `invoices` array".into(),
            )),
        }
    }

    pub async fn count_invoices(&self, query: &InvoiceQuery) -> Result<u64, FapiError> {
        let body = self.get_json("/invoices/count", &query.pairs()).await?;
        let count = &body["count"];
        count
            .as_u64()
            .or_else(|| count.as_str().and_then(|s| s.trim().parse().ok()))
            .ok_or_else(|| FapiError::Decode(format!("the count is not a number: {count}")))
    }

    /// The invoice as FAPI sent it (the notification hash is computed over these raw values).
    pub async fn invoice_json(&self, id: i64) -> Result<Value, FapiError> {
        self.get_json(&format!("/invoices/{id}"), &[]).await
    }

    pub async fn invoice(&self, id: i64) -> Result<Invoice, FapiError> {
        let body = self.invoice_json(id).await?;
        Invoice::from_json(&body).map_err(|e| FapiError::Decode(e.to_string()))
    }

    pub async fn order(&self, id: i64) -> Result<FapiOrder, FapiError> {
        let body = self.get_json(&format!("/orders/{id}"), &[]).await?;
        FapiOrder::from_json(&body).map_err(|e| FapiError::Decode(e.to_string()))
    }

    /// A page of the account's client records (`GET /clients?limit=&offset=`), in id order.
    pub async fn list_clients(
        &self,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<FapiClientRecord>, FapiError> {
        let query = [("limit", limit.to_string()), ("offset", offset.to_string())];
        let body = self.get_json("/clients", &query).await?;
        let Some(list) = body["clients"].as_array() else {
            return Err(FapiError::Decode(
                "the client list has no `clients` array".into(),
            ));
        };
        list.iter()
            .map(|raw| {
                FapiClientRecord::from_json(raw).map_err(|e| FapiError::Decode(e.to_string()))
            })
            .collect()
    }

    pub async fn client(&self, id: i64) -> Result<FapiClientRecord, FapiError> {
        let body = self.get_json(&format!("/clients/{id}"), &[]).await?;
        FapiClientRecord::from_json(&body).map_err(|e| FapiError::Decode(e.to_string()))
    }

    /// A GET with retries on transient failures (GETs are safe to repeat).
    async fn get_json(
        &self,
        path: &str,
        query: &[(&'static str, String)],
    ) -> Result<Value, FapiError> {
        let mut attempt = 1;
        loop {
            let started = std::time::Instant::now();
            let result = self.get_once(path, query).await;
            record_request(&result, started.elapsed());
            match result {
                Err(error) if error.is_transient() && attempt < self.retry.max_attempts => {
                    tracing::debug!(%path, attempt, %error, "FAPI request failed; retrying");
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn get_once(
        &self,
        path: &str,
        query: &[(&'static str, String)],
    ) -> Result<Value, FapiError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .basic_auth(&self.credentials.login, Some(&self.credentials.api_key))
            .header(reqwest::header::ACCEPT, "application/json")
            .query(query)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| self.transport_error(e))?;
        if status.is_success() {
            return serde_json::from_str(&text)
                .map_err(|e| FapiError::Decode(format!("the answer is not JSON ({e})")));
        }
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let message = body["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
        let kind = body["type"].as_str().map(str::to_string);
        let status_code = status.as_u16();
        Err(if status == StatusCode::UNAUTHORIZED {
            FapiError::Unauthorized {
                status: status_code,
                message,
                kind,
            }
        } else {
            FapiError::Api {
                status: status_code,
                message,
                kind,
            }
        })
    }

    fn transport_error(&self, error: reqwest::Error) -> FapiError {
        if error.is_timeout() {
            FapiError::Timeout(self.timeout)
        } else {
            // Without the URL: it is ours, and the message stays readable.
            FapiError::Unreachable(error.without_url().to_string())
        }
    }
}
