//! fapi-bridge: moves orders from FAPI into SmartEmailing and shows a team what happens.
//!
//! The crate is built twice: with `ssr` for the server binary and with `hydrate` for the
//! browser (WebAssembly). Shared code (UI, DTOs, server-function signatures) compiles in both;
//! everything else exists only on the server. ARCHITECTURE.md maps the folders and the order
//! in which they may depend on each other.

// Shared by both halves.
pub mod api;
pub mod app;
pub mod error;
pub mod i18n;
pub mod model;

// Server only, lowest layer first: each imports only those before it (and the shared ones;
// `api` and `app` sit between `worker` and `web`, see ARCHITECTURE.md).
#[cfg(feature = "ssr")]
pub mod accounts;
#[cfg(feature = "ssr")]
pub mod alerts;
#[cfg(feature = "ssr")]
pub mod connections;
#[cfg(feature = "ssr")]
pub mod contacts;
#[cfg(feature = "ssr")]
pub mod fapi;
#[cfg(feature = "ssr")]
pub mod mail;
#[cfg(feature = "ssr")]
pub mod overview;
#[cfg(feature = "ssr")]
pub mod platform;
#[cfg(feature = "ssr")]
pub mod reminders;
#[cfg(feature = "ssr")]
pub mod simulators;
#[cfg(feature = "ssr")]
pub mod smartemailing;
#[cfg(feature = "ssr")]
pub mod sync;
#[cfg(feature = "ssr")]
pub mod web;
#[cfg(feature = "ssr")]
pub mod worker;

/// Entry point of the browser half: attaches the UI to the server-rendered HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
