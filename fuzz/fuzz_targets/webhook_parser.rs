//! Any body a client could post to the webhook, under each content type it could claim: the
//! parser returns the fields it finds and never panics.
#![no_main]

use axum::body::Bytes;
use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("application/x-www-form-urlencoded"),
    Some("application/json"),
    Some("multipart/form-data; boundary=X"),
    Some("multipart/form-data; boundary=--------------------------boundary"),
    Some("multipart/form-data"),
    Some("text/plain"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[choice as usize % CONTENT_TYPES.len()];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let fields = runtime.block_on(fapi_bridge::web::webhook::parse(
        content_type,
        &Bytes::copy_from_slice(body),
    ));
    assert!(fields.id.is_none_or(|id| id > 0));
});
