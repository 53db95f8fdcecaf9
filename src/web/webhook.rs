//! `POST /webhooks/fapi/{token}`: FAPI's notifications.
//!
//! Every request with a known token is stored durably (raw body, the headers that matter, time,
//! connection) and answered at once; nothing calls FAPI on the request path. FAPI sends a form
//! (`id`, `time`, `security`); JSON and multipart with the same fields are accepted too.
//! Unknown token: 404 without detail. Body over 64 KiB: 413. No `id`: 400, still recorded.
//! More than the configured rate per connection: 429.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::{HeaderMap, StatusCode, header};

use crate::connections;
use crate::model::NotificationStatus;
use crate::platform::db;
use crate::sync::store::OwnedNotification;
use crate::web::client_addr;
use crate::web::state::AppState;

pub const MAX_BODY: usize = 64 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/fapi/{token}", post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// The fields of a notification; each is `None` when absent or unusable.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NotificationFields {
    pub id: Option<i64>,
    pub time: Option<String>,
    pub security: Option<String>,
}

/// Reads `id`, `time` and `security` from a form, JSON or multipart body.
pub async fn parse(content_type: Option<&str>, body: &Bytes) -> NotificationFields {
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let pairs: Vec<(String, String)> = match media.as_str() {
        "application/json" => match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(map)) => map
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, text)
                })
                .collect(),
            _ => Vec::new(),
        },
        "multipart/form-data" => {
            multipart_fields(content_type.unwrap_or_default(), body.clone()).await
        }
        // FAPI's own format, and the default when no type is given.
        _ => url::form_urlencoded::parse(body).into_owned().collect(),
    };
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    NotificationFields {
        id: field("id")
            .and_then(|id| id.parse().ok())
            .filter(|id: &i64| *id > 0),
        time: field("time"),
        security: field("security"),
    }
}

async fn multipart_fields(content_type: &str, body: Bytes) -> Vec<(String, String)> {
    let Ok(boundary) = multer::parse_boundary(content_type) else {
        return Vec::new();
    };
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut fields = Vec::new();
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().unwrap_or_default().to_string();
        if let Ok(text) = field.text().await {
            fields.push((name, text));
        }
    }
    fields
}

/// What a notification needs to know of its connection.
#[derive(Debug, Clone, Copy)]
pub struct KnownToken {
    pub connection_id: i64,
    pub forwarding_enabled: bool,
}

/// Webhook tokens of live connections seen recently. Every change of a connection's token,
/// forwarding switch or existence bumps the `connections` generation, in this process (the
/// context's `connections_changed`, seen at once) and in the database (seen by every replica:
/// the cache reads it at most once per [`SHARED_GENERATION_CHECK`]). The cache empties itself
/// when either moved on, and a look-up that raced with a change does not cache what it read
/// before it.
#[derive(Debug, Default)]
pub struct KnownTokens(std::sync::Mutex<TokenCache>);

/// How stale a replica's view of the database's generation may be.
pub const SHARED_GENERATION_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Debug, Default)]
struct TokenCache {
    /// (this process's generation, the database's) the tokens were read under.
    generation: (u64, i64),
    /// The database's generation and when it was read.
    shared: Option<(i64, std::time::Instant)>,
    tokens: std::collections::HashMap<String, KnownToken>,
}

impl KnownTokens {
    fn get(&self, generation: (u64, i64), token: &str) -> Option<KnownToken> {
        let mut cache = self.0.lock().expect("token cache lock");
        if cache.generation != generation {
            cache.generation = generation;
            cache.tokens.clear();
        }
        cache.tokens.get(token).copied()
    }

    fn remember(&self, generation: (u64, i64), token: &str, entry: KnownToken) {
        let mut cache = self.0.lock().expect("token cache lock");
        if cache.generation == generation {
            cache.tokens.insert(token.to_string(), entry);
        }
    }

    /// The database's `connections` generation, read again when the last read is older than
    /// [`SHARED_GENERATION_CHECK`].
    async fn shared_generation(&self, db: &sqlx::SqlitePool) -> Result<i64, sqlx::Error> {
        let cached = self.0.lock().expect("token cache lock").shared;
        if let Some((value, read_at)) = cached
            && read_at.elapsed() < SHARED_GENERATION_CHECK
        {
            return Ok(value);
        }
        let read_at = std::time::Instant::now();
        let value = db::generations::read(db, db::generations::CONNECTIONS).await?;
        self.0.lock().expect("token cache lock").shared = Some((value, read_at));
        Ok(value)
    }
}

async fn known_token(state: &AppState, token: &str) -> Result<Option<KnownToken>, sqlx::Error> {
    let generation = (
        state.ctx.connections_changed.current(),
        state
            .webhook_tokens
            .shared_generation(&state.ctx.db)
            .await?,
    );
    if let Some(known) = state.webhook_tokens.get(generation, token) {
        return Ok(Some(known));
    }
    let found = connections::find_by_webhook_token(&state.ctx.db, token).await?;
    Ok(found.map(|connection| {
        let known = KnownToken {
            connection_id: connection.id,
            forwarding_enabled: connection.forwarding_enabled,
        };
        state.webhook_tokens.remember(generation, token, known);
        known
    }))
}

async fn receive(
    state: State<AppState>,
    token: Path<String>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (result, response) = handle(state, token, peer, headers, body).await;
    metrics::counter!(crate::platform::metrics::WEBHOOKS_RECEIVED, "result" => result).increment(1);
    response
}

/// The answer to a notification, and what became of it (for the metrics).
async fn handle(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> (&'static str, Response) {
    let connection = match known_token(&state, &token).await {
        Ok(Some(connection)) => connection,
        Ok(None) => return ("unknown_token", StatusCode::NOT_FOUND.into_response()),
        Err(error) => {
            tracing::error!(%error, "could not look up a webhook token");
            return (
                "unavailable",
                StatusCode::SERVICE_UNAVAILABLE.into_response(),
            );
        }
    };
    if state
        .webhook_limiter
        .check_key(&connection.connection_id)
        .is_err()
    {
        let answer = (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "Too many notifications",
        );
        return ("rate_limited", answer.into_response());
    }

    let header = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let content_type = header(header::CONTENT_TYPE);
    let fields = parse(content_type, &body).await;
    let (status, reason, answer) = match (&fields.id, connection.forwarding_enabled) {
        (None, _) => (
            NotificationStatus::Invalid,
            Some("the notification has no usable id"),
            (StatusCode::BAD_REQUEST, "Missing or invalid id"),
        ),
        (Some(_), false) => (
            NotificationStatus::ForwardingOff,
            None,
            (StatusCode::OK, "OK"),
        ),
        (Some(_), true) => (NotificationStatus::Queued, None, (StatusCode::OK, "OK")),
    };
    let client_addr = client_addr::resolve(state.config.proxy_hops(), &headers, peer);
    let stored = state
        .inbox
        .store(OwnedNotification {
            connection_id: connection.connection_id,
            received_at: state.ctx.now(),
            content_type: content_type.map(str::to_string),
            remote_addr: Some(client_addr),
            user_agent: header(header::USER_AGENT).map(str::to_string),
            raw_body: String::from_utf8_lossy(&body).into_owned(),
            invoice_id: fields.id,
            notified_time: fields.time,
            security: fields.security,
            status,
            status_reason: reason,
        })
        .await;
    match stored {
        Ok(_) => {
            if status == NotificationStatus::Queued {
                state.ctx.work.notifications.notify_one();
            }
            (status.as_str(), answer.into_response())
        }
        Err(error) => {
            // Not stored means not accepted: FAPI should see a failure and try again.
            tracing::error!(%error, "could not store a notification");
            (
                "unavailable",
                StatusCode::SERVICE_UNAVAILABLE.into_response(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn forms_json_and_multipart_are_read_alike() {
        let expected = NotificationFields {
            id: Some(183488476),
            time: Some("1542298656".into()),
            security: Some("35221e0d0168d282edc3768ed4b4e878dec3c921".into()),
        };
        let form = Bytes::from(
            "id=183488476&time=1542298656&security=35221e0d0168d282edc3768ed4b4e878dec3c921",
        );
        assert_eq!(
            parse(Some("application/x-www-form-urlencoded"), &form).await,
            expected
        );
        assert_eq!(parse(None, &form).await, expected);

        let json = Bytes::from(
            r#"{"id": 183488476, "time": 1542298656, "security": "35221e0d0168d282edc3768ed4b4e878dec3c921"}"#,
        );
        assert_eq!(
            parse(Some("application/json; charset=utf-8"), &json).await,
            expected
        );

        let multipart = Bytes::from(
            "--X\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n183488476\r\n\
             --X\r\nContent-Disposition: form-data; name=\"time\"\r\n\r\n1542298656\r\n\
             --X\r\nContent-Disposition: form-data; name=\"security\"\r\n\r\n35221e0d0168d282edc3768ed4b4e878dec3c921\r\n--X--\r\n",
        );
        assert_eq!(
            parse(Some("multipart/form-data; boundary=X"), &multipart).await,
            expected
        );
    }

    #[tokio::test]
    async fn missing_or_malformed_ids_are_none() {
        assert_eq!(
            parse(None, &Bytes::from("time=1&security=x")).await.id,
            None
        );
        assert_eq!(parse(None, &Bytes::from("id=abc")).await.id, None);
        assert_eq!(
            parse(Some("application/json"), &Bytes::from("not json")).await,
            NotificationFields::default()
        );
    }
}
