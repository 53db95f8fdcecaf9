//! The site's static files: where they come from (the binary itself with the `embed-site`
//! feature, else the site folder) and their cache headers: the build's JS, wasm and CSS under
//! `/pkg/` (names without a content hash, so browsers revalidate them: a deploy takes effect at
//! once, an unchanged file costs a 304) and the assets copied from `public/` (kept for a day).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, header};

/// The folder a build without the embedded site serves from when `LEPTOS_SITE_ROOT` is unset.
pub const DEFAULT_SITE_ROOT: &str = "target/site";

/// Where the site's files are served from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteSource {
    /// Compiled into the binary (`embed-site`): production is one file.
    Embedded,
    /// A folder on disk: development, or `LEPTOS_SITE_ROOT` set to override the embedded site.
    Folder(String),
}

impl SiteSource {
    /// `LEPTOS_SITE_ROOT` wins; else the embedded site when the binary has one.
    pub fn choose(site_root: Option<&str>) -> anyhow::Result<Self> {
        if let Some(folder) = site_root {
            return Ok(Self::Folder(folder.to_owned()));
        }
        if cfg!(feature = "embed-site") {
            anyhow::ensure!(
                embedded::has_site(),
                "this binary was built with `embed-site` but without the site in target/site; build it with scripts/release, or set LEPTOS_SITE_ROOT to a site folder"
            );
            return Ok(Self::Embedded);
        }
        Ok(Self::Folder(DEFAULT_SITE_ROOT.to_owned()))
    }

    /// The folder Leptos is told about; an embedded site has none on disk, and this one is
    /// never read (the embedded fallback serves files and renders the 404 page itself).
    pub fn leptos_site_root(&self) -> &str {
        match self {
            Self::Embedded => "/nonexistent/embedded-site",
            Self::Folder(folder) => folder,
        }
    }
}

#[cfg(feature = "embed-site")]
pub mod embedded {
    use axum::body::Body;
    use axum::response::{IntoResponse, Response};
    use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
    use rust_embed::RustEmbed;
    use std::borrow::Cow;

    /// The site as cargo-leptos leaves it; `allow_missing` lets `cargo clippy` build without it
    /// (`SiteSource::choose` then refuses to start).
    #[derive(RustEmbed)]
    #[folder = "target/site"]
    #[allow_missing = true]
    struct Site;

    /// True when the build found the site (its wasm, at least).
    pub fn has_site() -> bool {
        Site::iter().any(|path| path.ends_with(".wasm"))
    }

    /// The embedded file at the request's path, answered as a static file server would
    /// (content type, a strong ETag from the file's hash, 304 when the browser has it); `None`
    /// when no file has that path, or the method is not GET or HEAD.
    pub fn response(method: &Method, path: &str, headers: &HeaderMap) -> Option<Response> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let file = Site::get(path.trim_start_matches('/'))?;
        let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
        let etag_value = HeaderValue::from_str(&etag).ok()?;
        let fresh = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|tags| {
                tags.split(',')
                    .any(|tag| tag.trim() == etag || tag.trim() == "*")
            });
        if fresh {
            return Some((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response());
        }
        let content_type = HeaderValue::from_str(file.metadata.mimetype())
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        let body = match (method == Method::HEAD, file.data) {
            (true, _) => Body::empty(),
            (false, Cow::Borrowed(bytes)) => Body::from(bytes),
            (false, Cow::Owned(bytes)) => Body::from(bytes),
        };
        let mut response = Response::new(body);
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, content_type);
        headers.insert(header::ETAG, etag_value);
        Some(response)
    }

    /// The fallback of an embedded site: the file at the request's path, else the app's page
    /// for it (rendered by `render_page`) as a 404.
    pub async fn serve_or_not_found<Page>(
        request: axum::extract::Request,
        render_page: impl FnOnce(axum::extract::Request) -> Page,
    ) -> Response
    where
        Page: std::future::Future<Output = Response>,
    {
        if let Some(file) = response(request.method(), request.uri().path(), request.headers()) {
            return file;
        }
        let mut page = render_page(request).await;
        if page.status() == StatusCode::OK {
            *page.status_mut() = StatusCode::NOT_FOUND;
        }
        page
    }
}

#[cfg(not(feature = "embed-site"))]
pub mod embedded {
    /// A build without `embed-site` carries no site.
    pub fn has_site() -> bool {
        false
    }
}

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
    use super::{SiteSource, cache_control};

    #[test]
    fn the_site_folder_setting_wins_over_the_embedded_site() {
        assert_eq!(
            SiteSource::choose(Some("/srv/site")).unwrap(),
            SiteSource::Folder("/srv/site".into())
        );
        // `cargo test` builds without `embed-site`: the development folder.
        assert_eq!(
            SiteSource::choose(None).unwrap(),
            SiteSource::Folder("target/site".into())
        );
    }

    #[test]
    fn build_output_is_revalidated_and_assets_kept_for_a_day() {
        assert_eq!(cache_control("/pkg/fapi-bridge.wasm"), Some("no-cache"));
        assert_eq!(cache_control("/favicon.ico"), Some("public, max-age=86400"));
        assert_eq!(cache_control("/orders"), None);
        assert_eq!(cache_control("/api/list_orders"), None);
    }
}
