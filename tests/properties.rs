//! Robustness against any input, by property: the FAPI decoder, the document reader the sync
//! uses, and the webhook's form parser return a value or a clear error for whatever they are
//! given, and never panic. (The mapping's own properties are in `sync::mapping`'s tests.)

use axum::body::Bytes;
use fapi_bridge::fapi::{FapiClientRecord, FapiOrder, Invoice};
use fapi_bridge::model::FapiField;
use fapi_bridge::sync::field_mapping;
use fapi_bridge::sync::ingest::ParsedDocument;
use fapi_bridge::web::webhook;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Keys FAPI documents carry (so generated objects hit the decoder's real paths), and others.
const KEYS: &[&str] = &[
    "id",
    "number",
    "variable_symbol",
    "type",
    "proforma",
    "credit_note",
    "simplified_invoice",
    "payment_confirmation",
    "paid",
    "paid_on",
    "cancelled",
    "has_credit_note",
    "created_on",
    "last_modified_on",
    "new_order",
    "parent",
    "client",
    "customer",
    "items",
    "total",
    "total_vat",
    "currency",
    "language",
    "payment_type",
    "form",
    "form_url",
    "email",
    "name",
    "first_name",
    "last_name",
    "phone",
    "company",
    "address",
    "street",
    "city",
    "zip",
    "country",
    "price",
    "vat",
    "including_vat",
    "count",
    "code",
    "round_item",
    "correction_item",
    "ic",
    "dic",
    "tax_payer",
    "custom_fields",
    "value",
    "shipping_method",
    "discount_code",
    "campaign_code",
    "labels",
    "unknown",
];

/// Scalars as FAPI sends them, and as a broken or hostile server might.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e30f64..1e30).prop_map(Value::from),
        prop::sample::select(vec![
            "",
            "0",
            "-0",
            "1",
            "-1",
            "100",
            "-100",
            "21",
            "0.5",
            "1e400",
            "-1e400",
            "NaN",
            "79228162514264337593543950335",
            "99999999999999999999999999999999",
            "1.2.3",
            "2026-03-29 02:30:00",
            "2026-10-25 02:30:00",
            "2026-13-40 25:61:61",
            "2026-11-29",
            "yes",
            "true",
            "false",
            "CZK",
            "EUR",
            "cs",
            "jana@example.cz",
            "not an e-mail",
        ])
        .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ]
}

/// JSON values shaped like FAPI documents: objects keyed by FAPI's field names, nested a few
/// levels, with arrays (items) among them.
fn document() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..12).prop_map(|pairs| {
                Value::Object(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn the_fapi_decoder_never_panics(value in document()) {
        let _ = Invoice::from_json(&value);
        let _ = FapiOrder::from_json(&value);
        let _ = FapiClientRecord::from_json(&value);
        // What the sync reads of a document (its id, its order, its state) is total too.
        let parsed = ParsedDocument::parse(&value);
        let _ = parsed.client_id();
        // The field mapping reads every field it offers from whatever was decoded.
        if let Ok(invoice) = Invoice::from_json(&value) {
            let names: Vec<String> = invoice.custom_fields.iter().map(|(n, _)| n.clone()).collect();
            let documents = [invoice];
            for field in FapiField::FIXED.into_iter().chain(names.into_iter().map(FapiField::CustomField)) {
                let _ = field_mapping::values(&field, &documents, None);
            }
        }
    }

    #[test]
    fn an_invoice_with_an_id_and_wild_fields_is_read_or_refused_with_a_reason(
        id in 1i64..i64::MAX,
        rest in document(),
    ) {
        let mut value = match rest {
            Value::Object(map) => Value::Object(map),
            other => json!({ "items": [other] }),
        };
        value["id"] = json!(id);
        match Invoice::from_json(&value) {
            Ok(invoice) => prop_assert_eq!(invoice.id, id),
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }

    #[test]
    fn the_webhook_parser_never_panics(
        content_type in prop::option::of(prop::sample::select(vec![
            "application/x-www-form-urlencoded",
            "application/json",
            "application/json; charset=utf-8",
            "multipart/form-data; boundary=X",
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "text/plain",
            "",
        ])),
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let fields = runtime.block_on(webhook::parse(content_type, &Bytes::from(body)));
        prop_assert!(fields.id.is_none_or(|id| id > 0), "ids are positive");
    }

    #[test]
    fn a_well_formed_notification_is_read_whatever_else_it_carries(
        id in 1i64..i64::MAX,
        time in "[0-9]{1,12}",
        security in "[0-9a-f]{40}",
        noise in prop::collection::vec(("[a-z_]{1,8}", ".{0,20}"), 0..5),
    ) {
        let mut pairs: Vec<(String, String)> = noise
            .into_iter()
            .filter(|(key, _)| !matches!(key.as_str(), "id" | "time" | "security"))
            .collect();
        pairs.push(("id".into(), id.to_string()));
        pairs.push(("time".into(), time.clone()));
        pairs.push(("security".into(), security.clone()));
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let fields = runtime.block_on(webhook::parse(
            Some("application/x-www-form-urlencoded"),
            &Bytes::from(body),
        ));
        prop_assert_eq!(fields.id, Some(id));
        prop_assert_eq!(fields.time, Some(time));
        prop_assert_eq!(fields.security, Some(security));
    }
}
