//! Any bytes FAPI could answer with: whatever parses as JSON goes through every FAPI decoder
//! and the document reader of the sync. None may panic.
#![no_main]

use fapi_bridge::fapi::{FapiClientRecord, FapiOrder, Invoice};
use fapi_bridge::sync::ingest::ParsedDocument;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = Invoice::from_json(&value);
    let _ = FapiOrder::from_json(&value);
    let _ = FapiClientRecord::from_json(&value);
    let _ = ParsedDocument::parse(&value).client_id();
});
