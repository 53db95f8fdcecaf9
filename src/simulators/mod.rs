//! Stand-ins for the two external APIs, served over real HTTP: the demo runs against them,
//! tests drive them, and `fapi-bridge simulate fapi|smartemailing` serves them standalone.
//!
//! They follow `../shared/reference/` and the recorded fixtures: same paths, Basic auth with the
//! real error bodies, envelopes, paging and field quirks. Each keeps an in-memory store, records
//! every request, and can inject faults (latency, 5xx, 429 with `Retry-After`, 2xx with
//! `"status": "error"`, hangs that end in a client timeout).

pub mod czech;
pub mod fapi;
pub mod faults;
pub mod smartemailing;

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A simulator serving on a local port until dropped.
pub struct RunningSimulator {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl RunningSimulator {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves `router` on `addr` (port 0: any free port).
    pub async fn start(
        router: axum::Router,
        addr: SocketAddr,
    ) -> std::io::Result<RunningSimulator> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::error!(%error, "simulator stopped with an error");
            }
        });
        Ok(RunningSimulator {
            addr,
            shutdown: Some(shutdown),
        })
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Reads HTTP Basic credentials.
pub(crate) fn basic_auth(headers: &http::HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}
