//! The client's address of a request: the TCP peer, or — behind the operator's own reverse
//! proxies (`TRUST_FORWARDED_FOR=true`) — the address the outermost of them saw, taken from the
//! right of `X-Forwarded-For` (`TRUSTED_PROXY_HOPS` entries from the end). Entries further left
//! are whatever the client sent, so they are never used. Resolved once per request and handed
//! to handlers as [`ClientAddr`]; the login limiter, the webhook and the audit log all use it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderMap;

use crate::accounts::auth::guard::ClientAddr;
use crate::web::state::AppState;

/// The address to record and rate-limit by. `proxy_hops`: `None` to ignore `X-Forwarded-For`,
/// else how many trusted proxies append to it. A header too short for that many proxies, or an
/// entry that is no IP address, falls back to the peer (the proxy itself).
pub fn resolve(proxy_hops: Option<usize>, headers: &HeaderMap, peer: SocketAddr) -> String {
    proxy_hops
        .and_then(|hops| forwarded_client(headers, hops))
        .unwrap_or_else(|| peer.ip())
        .to_canonical()
        .to_string()
}

/// The entry `hops` places from the right of `X-Forwarded-For` (all its header lines, in order).
fn forwarded_client(headers: &HeaderMap, hops: usize) -> Option<IpAddr> {
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let entry = entries[entries.len().checked_sub(hops.max(1))?];
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

/// Middleware: puts the request's [`ClientAddr`] into its extensions.
pub async fn attach(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    if let Some(peer) = peer {
        let addr = resolve(state.config.proxy_hops(), request.headers(), peer);
        request.extensions_mut().insert(ClientAddr(addr));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", line.parse().unwrap());
        }
        headers
    }

    fn peer() -> SocketAddr {
        "192.0.2.1:40000".parse().unwrap()
    }

    #[test]
    fn the_entry_the_proxy_appended_is_the_client() {
        let forged = headers(&["6.6.6.6, 10.0.0.1, 203.0.113.7"]);
        assert_eq!(resolve(Some(1), &forged, peer()), "203.0.113.7");
        assert_eq!(resolve(Some(2), &forged, peer()), "10.0.0.1");
        assert_eq!(resolve(None, &forged, peer()), "192.0.2.1", "not trusted");
        // A client's own header line comes first; the proxy's entry is still the last.
        let lines = headers(&["6.6.6.6", "203.0.113.7"]);
        assert_eq!(resolve(Some(1), &lines, peer()), "203.0.113.7");
        assert_eq!(
            resolve(Some(1), &headers(&["[2001:db8::1]:443"]), peer()),
            "2001:db8::1"
        );
    }

    #[test]
    fn a_short_or_unusable_header_falls_back_to_the_peer() {
        assert_eq!(resolve(Some(1), &HeaderMap::new(), peer()), "192.0.2.1");
        assert_eq!(
            resolve(Some(2), &headers(&["203.0.113.7"]), peer()),
            "192.0.2.1"
        );
        assert_eq!(
            resolve(Some(1), &headers(&["1.2.3.4, not-an-address"]), peer()),
            "192.0.2.1"
        );
        let mapped: SocketAddr = "[::ffff:192.0.2.9]:1".parse().unwrap();
        assert_eq!(resolve(None, &HeaderMap::new(), mapped), "192.0.2.9");
    }
}
