//! The sync engine: FAPI documents in, SmartEmailing orders out.
//!
//! - [`mapping`] is the pure core: how a FAPI order's documents become one SmartEmailing order
//!   and contact, and the status rules (unit-tested, no I/O).
//! - [`field_mapping`] is pure too: the connection's extra fields (FAPI custom fields, shipping,
//!   IČ …) as order attributes or contact custom fields; [`mapping_editor`] loads, checks,
//!   saves and previews a mapping, and starts a re-send.
//! - [`store`] keeps notifications, orders, documents and attempts in SQLite; it is also the
//!   durable queue.
//! - [`inbox`] stores accepted webhook notifications (one writer, group commit).
//! - [`ingest`] turns fetched FAPI documents into order state (shared by the webhook path,
//!   reconciliation and the historical sync).
//! - [`notifications`] is the notification step: fetch the invoice, verify, ingest.
//! - [`push`] is the push step: batched imports to SmartEmailing with retries.
//! - [`historical`] is the resumable back-fill; [`reconcile`] catches documents whose
//!   notification never arrived.
//! - [`retention`] deletes finished notifications and old attempts of synced orders.
//! - [`queries`] and [`runs`] are the read models of the Orders, Notifications and Sync history
//!   pages.
//!
//! The loops that run these steps are in the `worker` module.

pub mod clients;
pub mod field_mapping;
pub mod historical;
pub mod inbox;
pub mod ingest;
pub mod mapping;
pub mod mapping_editor;
pub mod notifications;
pub mod push;
pub mod queries;
pub mod reconcile;
pub mod retention;
pub mod runs;
pub mod store;
