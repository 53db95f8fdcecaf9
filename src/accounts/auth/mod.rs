//! Sign-in, sessions, roles and login throttling.

pub mod guard;
pub mod login;
pub mod password;
pub mod rate_limit;
pub mod session;

pub use guard::{client_addr, current_user, require};
