//! The HTTP application: configuration, start-up and router, the web state, FAPI's webhook
//! endpoint, the calendar feed, the CSRF check, the page guard, health probes, the command line and the demo.

pub mod calendar;
pub mod cli;
pub mod client_addr;
pub mod config;
pub mod csrf;
pub mod demo;
pub mod health;
pub mod metrics;
pub mod page_guard;
pub mod startup;
pub mod state;
pub mod static_files;
pub mod webhook;
