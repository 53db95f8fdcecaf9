//! The client's address of a request: the TCP peer, or — behind the operator's own reverse
//! proxy (`TRUST_FORWARDED_FOR=true`) — the address in `X-Forwarded-For`. Resolved once per
//! request and handed to handlers as [`ClientAddr`].

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderMap;

use crate::accounts::auth::guard::ClientAddr;
use crate::web::state::AppState;

/// The address to record and rate-limit by.
pub fn resolve(trust_forwarded_for: bool, headers: &HeaderMap, peer: SocketAddr) -> String {
    if trust_forwarded_for
        && let Some(forwarded) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    {
        return forwarded.to_string();
    }
    peer.ip().to_string()
}

/// Middleware: puts the request's [`ClientAddr`] into its extensions.
pub async fn attach(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    if let Some(peer) = peer {
        let addr = resolve(state.config.trust_forwarded_for, request.headers(), peer);
        request.extensions_mut().insert(ClientAddr(addr));
    }
    next.run(request).await
}
