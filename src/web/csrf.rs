//! Cross-site request forgery defence, in two layers: the session cookie is `SameSite=Strict`,
//! and every state-changing request must come from a page of our own origin (the `Origin`
//! header, or `Referer` when a browser sends no `Origin`). Requests with neither are refused:
//! browsers always send one of them on a POST, and scripts can set it explicitly.
//!
//! Webhook endpoints (called by FAPI, not by browsers) are exempt: they authenticate with the
//! secret token in their URL.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, header};
use url::Url;

use crate::web::state::AppState;

pub const EXEMPT_PREFIXES: &[&str] = &["/webhooks/"];

pub async fn verify_origin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let exempt = EXEMPT_PREFIXES
        .iter()
        .any(|prefix| request.uri().path().starts_with(prefix));
    if safe || exempt || is_same_origin(request.headers(), &state.config.public_url) {
        return next.run(request).await;
    }
    tracing::warn!(
        path = %request.uri().path(),
        origin = ?request.headers().get(header::ORIGIN),
        referer = ?request.headers().get(header::REFERER),
        "refused a cross-origin state-changing request"
    );
    (StatusCode::FORBIDDEN, "Cross-origin request refused").into_response()
}

/// True when the request's `Origin` (or `Referer`) names our public URL or the host the
/// browser addressed (so `localhost` and `127.0.0.1` both work in development).
pub fn is_same_origin(headers: &HeaderMap, public_url: &Url) -> bool {
    let claimed = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|v| *v != "null")
        .or_else(|| headers.get(header::REFERER).and_then(|v| v.to_str().ok()));
    let Some(claimed) = claimed.and_then(|v| Url::parse(v).ok()) else {
        return false;
    };
    let Some(claimed_host) = claimed.host_str() else {
        return false;
    };
    let claimed_authority = match claimed.port() {
        Some(port) => format!("{claimed_host}:{port}"),
        None => claimed_host.to_string(),
    };
    if claimed.origin() == public_url.origin() {
        return true;
    }
    // Same authority as the Host the browser sent, over the scheme we serve.
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    host.is_some_and(|host| host.eq_ignore_ascii_case(&claimed_authority))
        && claimed.scheme() == public_url.scheme()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn public() -> Url {
        Url::parse("https://bridge.example.cz").unwrap()
    }

    #[test]
    fn own_origin_passes() {
        assert!(is_same_origin(
            &headers(&[(header::ORIGIN, "https://bridge.example.cz")]),
            &public()
        ));
        assert!(is_same_origin(
            &headers(&[(header::REFERER, "https://bridge.example.cz/team")]),
            &public()
        ));
    }

    #[test]
    fn foreign_or_missing_origin_is_refused() {
        assert!(!is_same_origin(
            &headers(&[(header::ORIGIN, "https://evil.example")]),
            &public()
        ));
        assert!(!is_same_origin(
            &headers(&[(header::ORIGIN, "http://bridge.example.cz")]),
            &public()
        ));
        assert!(!is_same_origin(&headers(&[]), &public()));
        assert!(!is_same_origin(
            &headers(&[(header::ORIGIN, "null")]),
            &public()
        ));
    }

    #[test]
    fn the_addressed_host_counts_as_ours() {
        let public = Url::parse("http://127.0.0.1:3000").unwrap();
        let ok = headers(&[
            (header::ORIGIN, "http://localhost:3000"),
            (header::HOST, "localhost:3000"),
        ]);
        assert!(is_same_origin(&ok, &public));
        let spoofed = headers(&[
            (header::ORIGIN, "http://evil.example"),
            (header::HOST, "localhost:3000"),
        ]);
        assert!(!is_same_origin(&spoofed, &public));
    }
}
