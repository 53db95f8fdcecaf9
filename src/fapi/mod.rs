//! The FAPI API (api.fapi.cz): a client, the documents it returns, and the check of the
//! `security` hash FAPI puts on its notifications.
//!
//! FAPI answers in Prague local time without an offset, sends numbers sometimes as strings and
//! omits keys instead of sending null; decoding here absorbs that and is strict only where it
//! matters (a document without `id` is an error naming the field).

pub mod client;
pub mod decode;
pub mod model;
pub mod security;

pub use client::{FapiClient, FapiCredentials, FapiError, InvoiceQuery};
pub use model::{Customer, DocumentKind, FapiClientRecord, FapiOrder, Invoice, InvoiceItem};
