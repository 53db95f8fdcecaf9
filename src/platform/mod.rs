//! Infrastructure that every feature uses and that imports no feature: the database, the
//! clock, Prague time, encryption of stored secrets, owner-only files, outbound HTTP, error
//! mapping, settings, signals to the workers, the SMTP connection, the copy into PostgreSQL, and the [`context::Context`] that domain code
//! receives.

pub mod clock;
pub mod context;
pub mod crypto;
pub mod db;
pub mod email;
pub mod error;
pub mod http;
pub mod leases;
pub mod metrics;
pub mod owner_only;
pub mod paging;
pub mod postgres_copy;
pub mod settings;
pub mod signals;
pub mod smtp;
pub mod text;
pub mod time;

pub use context::Context;
