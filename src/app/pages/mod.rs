//! One module per page.

pub mod audit;
pub mod connections;
pub mod contacts;
pub mod emails;
pub mod login;
pub mod mapping;
pub mod not_found;
pub mod orders;
pub mod overview;
pub mod reminders;
pub mod settings;
pub mod setup;
pub mod sync_history;
pub mod team;
