//! Any bytes FAPI could answer with: whatever parses as JSON goes through every FAPI decoder,
//! the document reader of the sync and the field mapping's readers. None may panic.
#![no_main]

use fapi_bridge::fapi::{FapiClientRecord, FapiOrder, Invoice};
use fapi_bridge::model::FapiField;
use fapi_bridge::sync::field_mapping;
use fapi_bridge::sync::ingest::ParsedDocument;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(invoice) = Invoice::from_json(&value) {
        let names: Vec<String> = invoice.custom_fields.iter().map(|(n, _)| n.clone()).collect();
        let documents = [invoice];
        for field in FapiField::FIXED
            .into_iter()
            .chain(names.into_iter().map(FapiField::CustomField))
        {
            let _ = field_mapping::values(&field, &documents, None);
        }
    }
    let _ = FapiOrder::from_json(&value);
    let _ = FapiClientRecord::from_json(&value);
    let _ = ParsedDocument::parse(&value).client_id();
});
