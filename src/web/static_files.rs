//! Cache headers for the static files the fallback serves from the site folder: the build's
//! JS, wasm and CSS under `/pkg/` (names without a content hash, so browsers revalidate them:
//! a deploy takes effect at once, an unchanged file costs a 304) and the assets copied from
//! `public/` (kept for a day).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, header};

/// What a static file's response may be cached as; `None` for everything else (pages, API).
pub fn cache_control(path: &str) -> Option<&'static str> {
    if path.starts_with("/pkg/") {
        return Some("no-cache");
    }
    let file = path.rsplit('/').next().unwrap_or_default();
    let asset = matches!(
        file.rsplit_once('.').map(|(_, extension)| extension),
        Some("ico" | "png" | "svg" | "webmanifest" | "txt")
    );
    asset.then_some("public, max-age=86400")
}

/// Middleware: adds `Cache-Control` to successful answers for static files.
pub async fn cache_headers(request: Request, next: Next) -> Response {
    let policy = cache_control(request.uri().path());
    let mut response = next.run(request).await;
    let served =
        response.status().is_success() || response.status() == http::StatusCode::NOT_MODIFIED;
    if let Some(policy) = policy.filter(|_| served) {
        response
            .headers_mut()
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static(policy));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::cache_control;

    #[test]
    fn build_output_is_revalidated_and_assets_kept_for_a_day() {
        assert_eq!(cache_control("/pkg/fapi-bridge.wasm"), Some("no-cache"));
        assert_eq!(cache_control("/favicon.ico"), Some("public, max-age=86400"));
        assert_eq!(cache_control("/orders"), None);
        assert_eq!(cache_control("/api/list_orders"), None);
    }
}
