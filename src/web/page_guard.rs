//! HTTP-level access to pages: visitors without a session are redirected to sign-in, and a
//! page the user's role may not open is answered with 403 (the page itself shows why).
//!
//! This runs before rendering, so the status is right even though pages stream. It only
//! concerns the HTML pages; the data behind them is protected separately by every server
//! function's own role check.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::{Method, StatusCode, header};

use crate::accounts::auth::guard::RequestUser;
use crate::model::Role;

/// Pages anyone may open.
const PUBLIC_PAGES: &[&str] = &["/login", "/setup"];

/// Pages that need more than the viewer role.
const RESTRICTED_PAGES: &[(&str, Role)] = &[
    ("/team", Role::Admin),
    ("/audit", Role::Admin),
    ("/emails", Role::Admin),
    ("/connections/new", Role::Admin),
];

/// Paths that are not pages: server functions, webhooks, built assets.
const NOT_PAGES: &[&str] = &["/api/", "/pkg/", "/webhooks/", "/calendar/"];

pub async fn guard_pages(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let is_page = request.method() == Method::GET
        && !NOT_PAGES.iter().any(|prefix| path.starts_with(prefix))
        && !path.rsplit('/').next().unwrap_or_default().contains('.');
    if !is_page || PUBLIC_PAGES.contains(&path) {
        return next.run(request).await;
    }
    let role = request
        .extensions()
        .get::<RequestUser>()
        .and_then(|user| user.0.as_ref())
        .map(|user| user.role);
    let Some(role) = role else {
        return Redirect::to("/login").into_response();
    };
    let needed = RESTRICTED_PAGES
        .iter()
        .find(|(page, _)| path == *page || path.starts_with(&format!("{page}/")))
        .map(|(_, needed)| *needed);
    let mut response = next.run(request).await;
    if needed.is_some_and(|needed| role < needed) {
        *response.status_mut() = StatusCode::FORBIDDEN;
        response.headers_mut().remove(header::CACHE_CONTROL);
    }
    response
}
