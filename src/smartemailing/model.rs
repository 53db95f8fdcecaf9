//! SmartEmailing payloads. Field names follow the API (including its spelling
//! `add_salutions`).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub const BATCH_LIMIT: usize = 500;

/// `settings` of `POST /import`.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSettings {
    pub update: bool,
    pub add_namedays: bool,
    pub add_genders: bool,
    pub add_salutions: bool,
    /// Keep contacts who unsubscribed from a list unsubscribed, whatever the import says.
    pub preserve_unsubscribed: bool,
    pub skip_invalid_emails: bool,
}

impl Default for ImportSettings {
    /// What SmartEmailing's own plugin sends: update, keep unsubscribed people unsubscribed.
    fn default() -> Self {
        ImportSettings {
            update: true,
            add_namedays: true,
            add_genders: true,
            add_salutions: true,
            preserve_unsubscribed: true,
            skip_invalid_emails: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListStatus {
    Confirmed,
    Unsubscribed,
    Removed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListMembership {
    pub id: i64,
    pub status: ListStatus,
}

/// The `blacklisted` flag can only be set on purpose: routine imports leave it out entirely
/// (setting it also unsubscribes the contact from every list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blacklist;

impl Serialize for Blacklist {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(1)
    }
}

impl<'de> Deserialize<'de> for Blacklist {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match u8::deserialize(deserializer)? {
            1 => Ok(Blacklist),
            other => Err(serde::de::Error::custom(format!(
                "blacklisted must be 1, got {other}"
            ))),
        }
    }
}

/// One contact of `POST /import`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactImport {
    pub emailaddress: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub town: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postalcode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cellphone: Option<String>,
    /// POSIX locale, e.g. `cs_CZ`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contactlists: Vec<ListMembership>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blacklisted: Option<Blacklist>,
    /// Values of contact custom fields (from the connection's field mapping). "Custom fields
    /// unlisted in imported data will be untouched."
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customfields: Vec<CustomFieldValue>,
}

/// A contact custom field's value in `POST /import`: text for simple fields, option ids for
/// select, radio and checkbox fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomFieldValue {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<i64>,
}

/// A contact custom field as `GET /customfields?expand=customfield_options` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CustomFieldDefinition {
    pub id: i64,
    pub name: String,
    #[serde(rename = "type", default)]
    pub field_type: String,
    /// The options of a choice field (the expanded key; `options` accepted too).
    #[serde(default, alias = "options")]
    pub customfield_options: Vec<CustomFieldOption>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CustomFieldOption {
    pub id: i64,
    pub name: String,
}

/// `contacts_map` entry of the import answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ContactMapEntry {
    pub emailaddress: String,
    pub contact_id: i64,
}

/// How an account spells the cancelled status of an order: SmartEmailing's documentation and
/// its own plugin say `cancelled`, both published PHP clients send `canceled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelledSpelling {
    Cancelled,
    Canceled,
}

impl CancelledSpelling {
    pub fn as_str(self) -> &'static str {
        match self {
            CancelledSpelling::Cancelled => "cancelled",
            CancelledSpelling::Canceled => "canceled",
        }
    }

    pub fn parse(text: &str) -> Option<CancelledSpelling> {
        match text {
            "cancelled" => Some(CancelledSpelling::Cancelled),
            "canceled" => Some(CancelledSpelling::Canceled),
            _ => None,
        }
    }

    pub fn other(self) -> CancelledSpelling {
        match self {
            CancelledSpelling::Cancelled => CancelledSpelling::Canceled,
            CancelledSpelling::Canceled => CancelledSpelling::Cancelled,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Placed,
    Processing,
    Shipped,
    Cancelled,
    Unknown,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Processing => "processing",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    pub name: String,
    pub value: String,
}

/// A unit price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    #[serde(with = "rust_decimal::serde::float")]
    pub without_vat: Decimal,
    #[serde(with = "rust_decimal::serde::float")]
    pub with_vat: Decimal,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    pub id: String,
    pub name: String,
    pub price: Price,
    pub quantity: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// One order of `POST /import-orders`; `eshop_name` + `eshop_code` identify it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderImport {
    pub emailaddress: String,
    pub eshop_name: String,
    pub eshop_code: String,
    /// Prague local time, `YYYY-MM-DD HH:MM:SS`.
    pub created_at: String,
    pub paid_at: Option<String>,
    pub status: OrderStatus,
    pub attributes: Vec<Attribute>,
    pub items: Vec<OrderItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactList {
    pub id: i64,
    pub name: String,
}

/// A membership status as SmartEmailing reports it: one the bridge knows, or another one
/// (kept as "other" with its text, so that a new status never fails a page of contacts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipStatus {
    Known(ListStatus),
    Other(String),
}

impl<'de> Deserialize<'de> for MembershipStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Ok(match serde_json::from_value::<ListStatus>(value.clone()) {
            Ok(status) => MembershipStatus::Known(status),
            Err(_) => MembershipStatus::Other(match value {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            }),
        })
    }
}

/// A contact's membership in one list, as `GET /contacts` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ContactListEntry {
    pub contactlist_id: i64,
    pub status: MembershipStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Contact {
    pub id: i64,
    pub emailaddress: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub surname: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    pub blacklisted: bool,
    #[serde(default)]
    pub contactlists: Vec<ContactListEntry>,
}

impl Contact {
    /// In at least one list with a confirmed membership.
    pub fn in_a_list(&self) -> bool {
        self.contactlists
            .iter()
            .any(|entry| entry.status == MembershipStatus::Known(ListStatus::Confirmed))
    }
}

fn flag<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(match value {
        serde_json::Value::Bool(b) => b,
        serde_json::Value::Number(n) => n.as_i64().unwrap_or(0) != 0,
        serde_json::Value::String(s) => s == "1" || s == "true",
        _ => false,
    })
}

/// Filters and paging of `GET /contacts`.
#[derive(Debug, Clone, Default)]
pub struct ContactQuery {
    /// At most 500.
    pub limit: u32,
    pub offset: u32,
    pub emailaddress: Option<String>,
    pub blacklisted: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactsPage {
    pub total_count: u64,
    pub contacts: Vec<Contact>,
}

/// The answer of `DELETE /contacts/forget/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForgetOutcome {
    Forgotten,
    /// 404: SmartEmailing no longer has the contact.
    AlreadyGone,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routine_contact_imports_never_carry_blacklisted() {
        let contact = ContactImport {
            emailaddress: "jana@example.cz".into(),
            name: Some("Jana".into()),
            ..ContactImport::default()
        };
        let json = serde_json::to_value(&contact).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"emailaddress": "jana@example.cz", "name": "Jana"})
        );

        let blacklisted = ContactImport {
            blacklisted: Some(Blacklist),
            ..contact
        };
        assert_eq!(
            serde_json::to_value(&blacklisted).unwrap()["blacklisted"],
            1
        );
    }

    #[test]
    fn orders_serialize_like_the_documented_sample() {
        let order = OrderImport {
            emailaddress: "jan.novak@example.cz".into(),
            eshop_name: "fapi-mujobchod".into(),
            eshop_code: "2024000123".into(),
            created_at: "2024-11-05 14:03:11".into(),
            paid_at: Some("2024-11-05 14:10:42".into()),
            status: OrderStatus::Processing,
            attributes: vec![Attribute {
                name: "payment_method".into(),
                value: "card".into(),
            }],
            items: vec![OrderItem {
                id: "KURZ-01".into(),
                name: "Online kurz".into(),
                price: Price {
                    without_vat: Decimal::new(82645, 2),
                    with_vat: Decimal::new(1000, 0),
                    currency: "CZK".into(),
                },
                quantity: 1,
                url: Some("https://mujobchod.cz/kurz".into()),
            }],
        };
        let path = format!(
            "{}/tests/fixtures/smartemailing/doc-samples.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let samples: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let sample = samples["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["request"] == "POST /import-orders")
            .unwrap();
        assert_eq!(
            serde_json::to_value(&order).unwrap(),
            sample["request_body"]["data"][0]
        );
    }

    #[test]
    fn an_unknown_membership_status_is_other() {
        let contact: Contact = serde_json::from_value(serde_json::json!({
            "id": 1, "emailaddress": "a@example.cz",
            "contactlists": [
                {"contactlist_id": 7, "status": "bounced"},
                {"contactlist_id": 8, "status": "confirmed"}
            ]
        }))
        .unwrap();
        assert_eq!(
            contact.contactlists[0].status,
            MembershipStatus::Other("bounced".into())
        );
        assert!(contact.in_a_list());
    }

    #[test]
    fn the_documented_contact_sample_decodes() {
        let path = format!(
            "{}/tests/fixtures/smartemailing/doc-samples.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let samples: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let sample = samples["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["request"].as_str().unwrap().starts_with("GET /contacts?"))
            .unwrap();
        let contact: Contact = serde_json::from_value(sample["body"]["data"][0].clone()).unwrap();
        assert_eq!(contact.id, 29678);
        assert!(!contact.blacklisted);
        assert!(contact.in_a_list());
    }
}
