//! Everything that runs only on the server: configuration, database, authentication, the
//! HTTP application and the command line.

pub mod audit;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connections;
pub mod crypto;
pub mod csrf;
pub mod db;
pub mod demo;
pub mod email;
pub mod error;
pub mod health;
pub mod outbound;
pub mod overview;
pub mod page_guard;
pub mod setup;
pub mod startup;
pub mod state;
pub mod team;
pub mod text;
pub mod time;
pub mod users;
pub mod webhook;
