//! Server functions: the browser's API. Each one is a thin adapter — check the session and
//! role, call the server module that holds the logic, map the result — and each has a fixed
//! endpoint under `/api/` so tests and scripts can call it.

pub mod alerts;
pub mod audit;
pub mod auth;
pub mod connections;
pub mod contacts;
pub mod mapping;
pub mod orders;
pub mod reminders;
pub mod sync;
pub mod team;
