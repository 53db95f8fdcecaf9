//! Connections: one FAPI account paired with one SmartEmailing account.
//!
//! Credentials are checked live before they are saved (a refused side is reported and nothing
//! is stored), API keys are encrypted at rest and never leave the server, and every change is
//! in the audit log without secrets. Deleting keeps the row (marked deleted) so the history of
//! its orders stays readable.

mod checks;
mod commands;
mod record;

pub use checks::{check_fapi, check_smartemailing, test};
pub use commands::*;
pub use record::*;
