//! Team accounts: users and their roles, the first-admin setup link, sign-in and sessions,
//! login throttling and the audit log.

pub mod audit;
pub mod auth;
pub mod preferences;
pub mod setup;
pub mod team;
pub mod users;
