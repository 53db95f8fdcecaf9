//! Fault injection and the request log shared by both simulators.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// What a simulator should do wrong. Rates are shares of requests (0.0–1.0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Added to every request.
    pub latency_ms: u64,
    /// Answer 503.
    pub server_error_rate: f64,
    /// Answer 429 with `Retry-After: retry_after_secs`.
    pub rate_limit_rate: f64,
    pub retry_after_secs: u64,
    /// Answer 200 with `{"status": "error"}` (SmartEmailing's quirk).
    pub error_in_body_rate: f64,
    /// Hold the request for `hang_ms` before answering (a client timeout).
    pub hang_rate: f64,
    pub hang_ms: u64,
    /// Only the next N requests are affected; `None`: all.
    pub remaining: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    ServerError,
    RateLimited(u64),
    ErrorInBody,
    Hang(u64),
}

/// One request a simulator received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub body: String,
    /// The status it was answered with.
    pub status: u16,
}

/// Faults and the request log of one simulator.
#[derive(Clone)]
pub struct Behaviour {
    inner: Arc<Mutex<BehaviourInner>>,
}

struct BehaviourInner {
    faults: FaultConfig,
    rng: StdRng,
    log: Vec<RecordedRequest>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            inner: Arc::new(Mutex::new(BehaviourInner {
                faults: FaultConfig::default(),
                rng: StdRng::seed_from_u64(7),
                log: Vec::new(),
            })),
        }
    }
}

impl Behaviour {
    pub fn set_faults(&self, faults: FaultConfig) {
        self.inner.lock().expect("behaviour lock").faults = faults;
    }

    pub fn clear_faults(&self) {
        self.set_faults(FaultConfig::default());
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.lock().expect("behaviour lock").log.clone()
    }

    /// Requests whose path (without query) is `path`.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.uri.split('?').next() == Some(path))
            .collect()
    }

    /// How many requests each `METHOD /path` (without query) received: the log without the
    /// bodies, small enough to fetch after a load of thousands of requests.
    pub fn request_counts(&self) -> std::collections::BTreeMap<String, usize> {
        let inner = self.inner.lock().expect("behaviour lock");
        let mut counts = std::collections::BTreeMap::new();
        for request in &inner.log {
            let path = request.uri.split('?').next().unwrap_or_default();
            *counts
                .entry(format!("{} {path}", request.method))
                .or_default() += 1;
        }
        counts
    }

    pub fn clear_requests(&self) {
        self.inner.lock().expect("behaviour lock").log.clear();
    }

    fn decide(&self) -> (Duration, Option<Fault>) {
        let mut inner = self.inner.lock().expect("behaviour lock");
        let latency = Duration::from_millis(inner.faults.latency_ms);
        if inner.faults.remaining == Some(0) {
            return (latency, None);
        }
        let faults = inner.faults.clone();
        let roll: f64 = inner.rng.r#gen();
        let mut threshold = 0.0;
        let mut pick = |rate: f64| {
            threshold += rate;
            roll < threshold
        };
        let fault = if pick(faults.server_error_rate) {
            Some(Fault::ServerError)
        } else if pick(faults.rate_limit_rate) {
            Some(Fault::RateLimited(faults.retry_after_secs))
        } else if pick(faults.error_in_body_rate) {
            Some(Fault::ErrorInBody)
        } else if pick(faults.hang_rate) {
            Some(Fault::Hang(faults.hang_ms))
        } else {
            None
        };
        if let (Some(_), Some(remaining)) = (fault, inner.faults.remaining.as_mut()) {
            *remaining -= 1;
        }
        (latency, fault)
    }

    fn record(&self, request: RecordedRequest) {
        self.inner.lock().expect("behaviour lock").log.push(request);
    }
}

/// Middleware: records the request, then answers with a fault or passes it on.
pub async fn apply(State(behaviour): State<Behaviour>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/_simulator") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    let method = parts.method.to_string();
    let uri = parts.uri.to_string();
    let body_text = String::from_utf8_lossy(&bytes).into_owned();

    let (latency, fault) = behaviour.decide();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let response = match fault {
        Some(Fault::ServerError) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "error", "meta": [], "message": "Simulated outage"})),
        )
            .into_response(),
        Some(Fault::RateLimited(secs)) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(http::header::RETRY_AFTER, secs.to_string())],
            Json(serde_json::json!({"status": "error", "meta": [], "message": "Too Many Requests"})),
        )
            .into_response(),
        Some(Fault::ErrorInBody) => (
            StatusCode::OK,
            Json(serde_json::json!({"status": "error", "meta": [], "message": "Simulated error inside a 200 answer"})),
        )
            .into_response(),
        Some(Fault::Hang(ms)) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            (StatusCode::GATEWAY_TIMEOUT, "Simulated hang").into_response()
        }
        None => {
            let request = Request::from_parts(parts, Body::from(bytes));
            next.run(request).await
        }
    };
    behaviour.record(RecordedRequest {
        method,
        uri,
        body: body_text,
        status: response.status().as_u16(),
    });
    response
}

/// `/_simulator/…` routes to drive a standalone simulator over HTTP.
pub fn control_routes<S: Clone + Send + Sync + 'static>(behaviour: Behaviour) -> axum::Router<S> {
    use axum::routing::{get, put};
    let for_faults = behaviour.clone();
    let for_clear = behaviour.clone();
    let for_counts = behaviour.clone();
    axum::Router::new()
        .route(
            "/_simulator/requests/counts",
            get(move || {
                let behaviour = for_counts.clone();
                async move { Json(behaviour.request_counts()) }
            }),
        )
        .route(
            "/_simulator/requests",
            get(move || {
                let behaviour = behaviour.clone();
                async move { Json(behaviour.requests()) }
            })
            .delete(move || {
                let behaviour = for_clear.clone();
                async move {
                    behaviour.clear_requests();
                    StatusCode::NO_CONTENT
                }
            }),
        )
        .route(
            "/_simulator/faults",
            put(move |Json(faults): Json<FaultConfig>| {
                let behaviour = for_faults.clone();
                async move {
                    behaviour.set_faults(faults);
                    StatusCode::NO_CONTENT
                }
            }),
        )
}
