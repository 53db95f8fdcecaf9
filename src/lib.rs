//! fapi-bridge: moves orders from FAPI into SmartEmailing and shows a team what happens.
//!
//! The crate is built twice: with `ssr` for the server binary and with `hydrate` for the
//! browser (WebAssembly). Shared code (UI, DTOs, server-function signatures) compiles in both;
//! everything under [`server`] exists only on the server.

pub mod api;
pub mod app;
pub mod error;
pub mod i18n;
pub mod model;

#[cfg(feature = "ssr")]
pub mod contacts;
#[cfg(feature = "ssr")]
pub mod fapi;
#[cfg(feature = "ssr")]
pub mod reminders;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod simulators;
#[cfg(feature = "ssr")]
pub mod smartemailing;
#[cfg(feature = "ssr")]
pub mod sync;

/// Entry point of the browser half: attaches the UI to the server-rendered HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
