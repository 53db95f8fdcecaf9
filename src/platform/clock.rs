//! The source of "now". Production uses the system clock; tests move a manual clock.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(start)))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().expect("clock lock") += by;
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// The system clock moved by an offset that end-to-end tests set over HTTP
/// (`PUT /_test/clock`), only when the server runs with `TEST_CLOCK=true`.
#[derive(Debug, Clone, Default)]
pub struct OffsetClock(Arc<Mutex<Duration>>);

impl OffsetClock {
    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = to - Utc::now();
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.0.lock().expect("clock lock")
    }
}

/// `PUT /_test/clock` with `{"now": "<RFC 3339>"}`: moves the test clock.
pub fn test_routes<S: Clone + Send + Sync + 'static>(clock: OffsetClock) -> axum::Router<S> {
    use axum::Json;
    use axum::routing::put;

    #[derive(serde::Deserialize)]
    struct SetClock {
        now: DateTime<Utc>,
    }

    axum::Router::new().route(
        "/_test/clock",
        put(move |Json(body): Json<SetClock>| {
            let clock = clock.clone();
            async move {
                clock.set(body.now);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    )
}
