//! The SmartEmailing API v3: a client and the payloads it sends and reads.
//!
//! Bulk calls are split into batches of at most 500; 429 is retried after `Retry-After`, 5xx
//! and timeouts with backoff; 4xx validation errors are not retried and carry SmartEmailing's
//! message; a 2xx answer whose body says `"status": "error"` is an error. Requests are paced
//! per account.

pub mod client;
pub mod model;

pub use client::{SeCredentials, SeError, SmartEmailingClient};
pub use model::*;
