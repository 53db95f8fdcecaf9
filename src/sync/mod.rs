//! The sync engine: FAPI documents in, SmartEmailing orders out.
//!
//! - [`mapping`] is the pure core: how a FAPI order's documents become one SmartEmailing order
//!   and contact, and the status rules (unit-tested, no I/O).
//! - [`store`] keeps notifications, orders, documents and attempts in SQLite; it is also the
//!   durable queue.
//! - [`ingest`] turns one fetched FAPI document into order state (shared by the webhook path,
//!   reconciliation and the historical sync).
//! - [`worker`] runs the queues: notifications (fetch + verify + ingest) and order pushes
//!   (batched imports to SmartEmailing with retries).
//! - [`reconcile`] periodically catches documents whose notification never arrived.

pub mod historical;
pub mod inbox;
pub mod ingest;
pub mod mapping;
pub mod queries;
pub mod reconcile;
pub mod runs;
pub mod store;
pub mod worker;
