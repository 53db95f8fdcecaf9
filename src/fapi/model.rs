//! FAPI's documents as the bridge uses them, decoded leniently from JSON.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

use super::decode::{DecodeError, Fields};

/// What a document is: FAPI's `type`, cross-checked with its boolean flags (shared with the UI).
pub use crate::model::DocumentKind;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub street: Option<String>,
    pub city: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
}

/// The buyer as written on the document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Customer {
    pub email: Option<String>,
    /// FAPI falls back to the e-mail when the buyer gave no name.
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub address: Address,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceItem {
    /// FAPI's line id, as sent (used in the notification hash).
    pub id: String,
    pub name: String,
    pub code: Option<String>,
    /// Unit price; without VAT unless `including_vat`.
    pub price: Decimal,
    pub count: Decimal,
    /// VAT rate in percent; absent for non-VAT payers.
    pub vat: Option<Decimal>,
    pub including_vat: bool,
    /// "Zaokrouhlení": a rounding line, not a product.
    pub round_item: bool,
    pub correction_item: bool,
}

/// One FAPI document (proforma, invoice, credit note …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub id: i64,
    pub number: Option<String>,
    pub variable_symbol: Option<String>,
    pub kind: DocumentKind,
    pub paid: bool,
    pub paid_on: Option<DateTime<Utc>>,
    pub cancelled: bool,
    pub has_credit_note: bool,
    pub created_on: Option<DateTime<Utc>>,
    pub last_modified_on: Option<DateTime<Utc>>,
    /// The FAPI order this document belongs to.
    pub new_order: Option<i64>,
    /// The document this one was derived from (final invoice from proforma, credit note …).
    pub parent: Option<i64>,
    pub client: Option<i64>,
    pub customer: Customer,
    pub items: Vec<InvoiceItem>,
    pub total: Option<Decimal>,
    pub total_vat: Option<Decimal>,
    pub currency: String,
    /// The document's language (`cs`, `sk`, `pl` …).
    pub language: Option<String>,
    pub payment_type: Option<String>,
    pub form: Option<i64>,
    pub form_url: Option<String>,
    /// The sales form's custom fields as the buyer filled them: (name, value as FAPI sends
    /// it; a multi-checkbox's value is a JSON list in a string).
    pub custom_fields: Vec<(String, String)>,
    /// The shipping method's name.
    pub shipping_method: Option<String>,
    /// The discount code used (FAPI's `discount_code`, or its `campaign_code`).
    pub discount_code: Option<String>,
    /// The names of the document's labels.
    pub labels: Vec<String>,
}

impl Invoice {
    pub fn from_json(value: &Value) -> Result<Invoice, DecodeError> {
        let f = Fields::new("invoice", value)?;
        let id = f.required_id("id")?;
        let kind = match f.opt_string("type") {
            Some(kind) => DocumentKind::from(kind),
            // Older responses carry only the flags.
            None if f.flag("credit_note")? => DocumentKind::CreditNote,
            None if f.flag("proforma")? => DocumentKind::Proforma,
            None if f.flag("simplified_invoice")? => DocumentKind::SimplifiedInvoice,
            None if f.flag("payment_confirmation")? => DocumentKind::PaymentConfirmation,
            None => DocumentKind::Invoice,
        };
        let customer = match f.object("customer") {
            Some(c) => Customer {
                email: c.opt_string("email"),
                name: c.opt_string("name"),
                first_name: c.opt_string("first_name"),
                last_name: c.opt_string("last_name"),
                phone: c.opt_string("phone"),
                company: c.opt_string("company"),
                address: c.object("address").map(|a| address(&a)).unwrap_or_default(),
            },
            None => Customer::default(),
        };
        let items = f
            .array("items")?
            .iter()
            .map(InvoiceItem::from_json)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Invoice {
            id,
            number: f.opt_string("number"),
            variable_symbol: f.opt_string("variable_symbol"),
            kind,
            paid: f.flag("paid")?,
            paid_on: f.opt_prague_time("paid_on")?,
            cancelled: f.flag("cancelled")?,
            has_credit_note: f.flag("has_credit_note")?,
            created_on: f.opt_prague_time("created_on")?,
            last_modified_on: f.opt_prague_time("last_modified_on")?,
            new_order: f.opt_id("new_order")?,
            parent: f.opt_id("parent")?,
            client: f.opt_id("client")?,
            customer,
            items,
            total: f.opt_decimal("total")?,
            total_vat: f.opt_decimal("total_vat")?,
            currency: f.opt_string("currency").unwrap_or_else(|| "CZK".into()),
            language: f.opt_string("language"),
            payment_type: f.opt_string("payment_type"),
            form: f.opt_id("form")?,
            form_url: f.opt_string("form_url"),
            custom_fields: custom_fields(&f),
            shipping_method: match f.get("shipping_method") {
                Some(Value::Object(_)) => f
                    .object("shipping_method")
                    .and_then(|m| m.opt_string("name")),
                _ => f.opt_string("shipping_method"),
            },
            discount_code: f
                .opt_string("discount_code")
                .or_else(|| f.opt_string("campaign_code")),
            labels: named_entries(f.get("labels")),
        })
    }
}

/// The custom fields of a document; entries without a name are left out (these fields are
/// extras: a malformed one is no reason to refuse the document).
fn custom_fields(f: &Fields<'_>) -> Vec<(String, String)> {
    let Some(Value::Array(entries)) = f.get("custom_fields") else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            let entry = Fields::new("custom field", entry).ok()?;
            Some((
                entry.opt_string("name")?,
                entry.opt_string("value").unwrap_or_default(),
            ))
        })
        .collect()
}

/// The `name`s of a list of objects (labels); anything else is left out.
fn named_entries(value: Option<&Value>) -> Vec<String> {
    let Some(Value::Array(entries)) = value else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| Fields::new("label", entry).ok()?.opt_string("name"))
        .collect()
}

/// The fields of a document that say nothing about its buyer: what the bridge keeps of a
/// forgotten buyer's documents, so that the order's state can still be told (and never moves
/// back), without personal data. Everything else (customer, client, custom fields, shipping,
/// notes, the public link …) is dropped.
const IMPERSONAL_FIELDS: &[&str] = &[
    "id",
    "number",
    "type",
    "proforma",
    "simplified_invoice",
    "credit_note",
    "payment_confirmation",
    "paid",
    "paid_on",
    "cancelled",
    "has_credit_note",
    "created_on",
    "last_modified_on",
    "create_date",
    "new_order",
    "parent",
    "currency",
    "total",
    "total_vat",
    "language",
    "payment_type",
    "form",
];

/// Fields of an item kept for a forgotten buyer (the product lines, not who bought them).
const IMPERSONAL_ITEM_FIELDS: &[&str] = &[
    "id",
    "name",
    "code",
    "price",
    "count",
    "vat",
    "including_vat",
    "round_item",
    "correction_item",
];

/// The document without personal data (see [`IMPERSONAL_FIELDS`]).
pub fn without_personal_data(raw: &Value) -> Value {
    let keep = |value: &Value, fields: &[&str]| -> Value {
        match value.as_object() {
            Some(map) => Value::Object(
                map.iter()
                    .filter(|(key, _)| fields.contains(&key.as_str()))
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .collect(),
            ),
            None => Value::Object(Default::default()),
        }
    };
    let mut document = keep(raw, IMPERSONAL_FIELDS);
    if let Some(items) = raw.get("items").and_then(Value::as_array) {
        document["items"] = Value::Array(
            items
                .iter()
                .map(|item| keep(item, IMPERSONAL_ITEM_FIELDS))
                .collect(),
        );
    }
    document
}

fn address(a: &Fields<'_>) -> Address {
    Address {
        street: a.opt_string("street"),
        city: a.opt_string("city"),
        zip: a.opt_string("zip"),
        country: a.opt_string("country"),
    }
}

impl InvoiceItem {
    fn from_json(value: &Value) -> Result<InvoiceItem, DecodeError> {
        let f = Fields::new("invoice item", value)?;
        let id = f.opt_string("id").ok_or_else(|| DecodeError {
            object: "invoice item",
            field: "id".into(),
            problem: "is missing".into(),
        })?;
        Ok(InvoiceItem {
            id,
            name: f.opt_string("name").unwrap_or_default(),
            code: f.opt_string("code"),
            price: f.opt_decimal("price")?.unwrap_or_default(),
            count: f.opt_decimal("count")?.unwrap_or(Decimal::ONE),
            vat: f.opt_decimal("vat")?,
            including_vat: f.flag("including_vat")?,
            round_item: f.flag("round_item")?,
            correction_item: f.flag("correction_item")?,
        })
    }
}

/// A FAPI order (the sales-form submission): the place where company details live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FapiOrder {
    pub id: i64,
    pub created: Option<DateTime<Utc>>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub address: Address,
    pub invoice: Option<i64>,
}

impl FapiOrder {
    pub fn from_json(value: &Value) -> Result<FapiOrder, DecodeError> {
        let f = Fields::new("order", value)?;
        Ok(FapiOrder {
            id: f.required_id("id")?,
            created: f.opt_prague_time("created")?,
            email: f.opt_string("email"),
            first_name: f.opt_string("first_name"),
            last_name: f.opt_string("last_name"),
            phone: f.opt_string("phone"),
            company: f.opt_string("company"),
            address: f.object("address").map(|a| address(&a)).unwrap_or_default(),
            invoice: f.opt_id("invoice")?,
        })
    }
}

/// A FAPI client record (customer card): where the buyer's company, IČ and DIČ live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FapiClientRecord {
    pub id: i64,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    /// IČ (company registration number).
    pub ic: Option<String>,
    /// DIČ (VAT number).
    pub dic: Option<String>,
    pub address: Address,
}

impl FapiClientRecord {
    pub fn from_json(value: &Value) -> Result<FapiClientRecord, DecodeError> {
        let f = Fields::new("client", value)?;
        Ok(FapiClientRecord {
            id: f.required_id("id")?,
            email: f.opt_string("email"),
            first_name: f.opt_string("first_name"),
            last_name: f.opt_string("last_name"),
            phone: f.opt_string("phone"),
            company: f.opt_string("company"),
            ic: f.opt_string("ic"),
            dic: f.opt_string("dic"),
            address: f.object("address").map(|a| address(&a)).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/tests/fixtures/fapi/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture exists")).unwrap()
    }

    fn recorded_body(file: &str, request: &str) -> Value {
        fixture(file)["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["request"] == request && e["status"] == 200)
            .unwrap_or_else(|| panic!("{request} in {file}"))["body"]
            .clone()
    }

    #[test]
    fn the_recorded_invoice_decodes() {
        let body = recorded_body("recorded-invoices.json", "GET /invoices/185993812");
        let invoice = Invoice::from_json(&body).unwrap();
        assert_eq!(invoice.id, 185993812);
        assert_eq!(invoice.number.as_deref(), Some("202010004"));
        assert_eq!(invoice.kind, DocumentKind::Proforma);
        assert_eq!(
            invoice.new_order,
            Some(3023569),
            "new_order is a string in the recording"
        );
        assert_eq!(invoice.customer.email.as_deref(), Some("buyer@example.com"));
        assert_eq!(invoice.currency, "CZK");
        assert!(!invoice.paid);
        // Prague summer time, two hours ahead of UTC.
        assert_eq!(
            invoice.created_on,
            Some("2020-09-08T13:50:34Z".parse().unwrap())
        );
        assert!(!invoice.items.is_empty());
    }

    #[test]
    fn the_recorded_list_decodes() {
        let body = recorded_body("recorded-invoices.json", "GET /invoices?limit=1");
        let invoices = body["invoices"].as_array().unwrap();
        assert_eq!(invoices.len(), 1);
        Invoice::from_json(&invoices[0]).unwrap();
    }

    #[test]
    fn the_recorded_order_and_client_decode() {
        let order = FapiOrder::from_json(&recorded_body(
            "recorded-orders.json",
            "GET /orders/12440538",
        ))
        .unwrap();
        assert_eq!(order.id, 12440538);
        let client = FapiClientRecord::from_json(&recorded_body(
            "recorded-clients.json",
            "GET /clients/1808080",
        ))
        .unwrap();
        assert_eq!(client.id, 1808080);
    }

    #[test]
    fn an_invoice_without_id_is_an_error_naming_the_field() {
        let error = Invoice::from_json(&serde_json::json!({"number": "2020"})).unwrap_err();
        assert_eq!(error.field, "id");
        assert!(error.to_string().contains("`id` is missing"));
    }
}
