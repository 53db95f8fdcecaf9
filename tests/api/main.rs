//! Integration tests: the real application on a free port with a fresh SQLite database,
//! driven over HTTP with a cookie jar, as a browser would.

mod alerts;
mod auth;
mod cli;
mod clients;
mod connections;
mod contacts;
mod crash;
mod disk;
mod faults;
mod forwarding;
mod gdpr;
mod helpers;
mod historical;
mod ingest;
mod mail;
mod mapping;
mod memory;
mod metrics;
mod migrate;
mod orders;
mod pages;
mod postgres;
mod reminders;
mod replicas;
mod retention;
mod schema;
mod secrets;
mod simulators;
mod team;
