//! How the documents of one FAPI order become one SmartEmailing order and contact.
//!
//! | FAPI | SmartEmailing |
//! |---|---|
//! | no document paid, none cancelled | `placed` |
//! | a document paid | `processing`, `paid_at` = earliest payment |
//! | a document cancelled (storno) or a credit note issued | `cancelled` |
//! | first document's `created_on` | `created_at` |
//! | items of the latest non-credit document, without rounding lines | `items` |
//! | `price` without VAT (`including_vat` false) or with VAT (true), `vat` % | `price.without_vat`, `price.with_vat` |
//! | no `code` | item id `fapi-item-` + hash of the name |
//! | document numbers, payment type, sales form, source | `attributes` |
//!
//! The state only moves forward (placed → processing → cancelled): a late or repeated
//! notification never moves an order back.

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use sha2::{Digest, Sha256};

use crate::fapi::{DocumentKind, Invoice};
use crate::model::FapiState;
use crate::platform::time::format_prague_local;
use crate::smartemailing::{
    Attribute, ContactImport, ListMembership, ListStatus, OrderImport, OrderItem, OrderStatus,
    Price,
};

/// Where an order came from, written into its `source` attribute so scenarios can filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Webhook,
    Reconciliation,
    HistoricalSync,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Webhook => "webhook",
            Source::Reconciliation => "reconciliation",
            Source::HistoricalSync => "historical-sync",
        }
    }

    pub fn parse(text: &str) -> Option<Source> {
        [
            Source::Webhook,
            Source::Reconciliation,
            Source::HistoricalSync,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// The status SmartEmailing shows for an order in this FAPI state.
pub fn se_status(state: FapiState) -> OrderStatus {
    match state {
        FapiState::Unpaid => OrderStatus::Placed,
        FapiState::Paid => OrderStatus::Processing,
        FapiState::Cancelled => OrderStatus::Cancelled,
    }
}

/// The state the documents show, never below `previous`.
pub fn order_state(documents: &[Invoice], previous: Option<FapiState>) -> FapiState {
    let cancelled = documents
        .iter()
        .any(|d| d.cancelled || d.has_credit_note || d.kind == DocumentKind::CreditNote);
    let paid = documents
        .iter()
        .any(|d| d.paid && d.kind != DocumentKind::CreditNote);
    let now = if cancelled {
        FapiState::Cancelled
    } else if paid {
        FapiState::Paid
    } else {
        FapiState::Unpaid
    };
    previous.map_or(now, |previous| previous.max(now))
}

/// The key that groups documents into one order: FAPI's order id (`new_order`), else the
/// order of the parent document, else the document itself.
pub fn order_key(document: &Invoice, parent_order_key: Option<&str>) -> String {
    match (document.new_order, parent_order_key) {
        (Some(order), _) => order.to_string(),
        (None, Some(parent)) => parent.to_string(),
        (None, None) => format!("doc-{}", document.id),
    }
}

/// The stable item id for lines without a product code.
pub fn item_id(name: &str) -> String {
    let digest = Sha256::digest(name.trim().to_lowercase().as_bytes());
    format!("fapi-item-{}", &hex::encode(digest)[..12])
}

fn money(value: Decimal) -> Decimal {
    value
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
        .normalize()
}

/// Unit price with and without VAT from FAPI's `price`, `vat` and `including_vat`.
pub fn unit_price(
    price: Decimal,
    vat: Option<Decimal>,
    including_vat: bool,
    currency: &str,
) -> Price {
    let factor = Decimal::ONE + vat.unwrap_or_default() / Decimal::ONE_HUNDRED;
    let (without_vat, with_vat) = match vat {
        // Not a VAT payer: the price is final.
        None => (price, price),
        Some(_) if including_vat => (price / factor, price),
        Some(_) => (price, price * factor),
    };
    Price {
        without_vat: money(without_vat),
        with_vat: money(with_vat),
        currency: currency.to_string(),
    }
}

/// The document whose items and buyer describe the order: the latest one that is not a
/// credit note (the final invoice rather than its proforma).
fn principal(documents: &[Invoice]) -> Option<&Invoice> {
    documents
        .iter()
        .filter(|d| d.kind != DocumentKind::CreditNote)
        .max_by_key(|d| (d.created_on, d.id))
        .or_else(|| documents.iter().max_by_key(|d| d.id))
}

/// Why documents cannot become an order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("the order has no documents")]
    NoDocuments,
    #[error("the buyer has no e-mail address")]
    NoEmail,
}

/// The e-mail of the order's buyer, lower-cased.
pub fn buyer_email(documents: &[Invoice]) -> Option<String> {
    principal(documents)
        .and_then(|d| d.customer.email.clone())
        .or_else(|| documents.iter().find_map(|d| d.customer.email.clone()))
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
}

/// The earliest moment among the documents (the order's creation).
pub fn created_at(documents: &[Invoice]) -> Option<DateTime<Utc>> {
    documents.iter().filter_map(|d| d.created_on).min()
}

pub struct OrderContext<'a> {
    pub eshop_name: &'a str,
    /// Fixed when the order was first seen; never changes.
    pub eshop_code: &'a str,
    pub source: Source,
    /// The state last sent to SmartEmailing, so the status never moves back.
    pub previous: Option<FapiState>,
}

/// The SmartEmailing order for one FAPI order's documents.
pub fn build_order(
    documents: &[Invoice],
    context: &OrderContext<'_>,
) -> Result<OrderImport, MappingError> {
    let main = principal(documents).ok_or(MappingError::NoDocuments)?;
    let email = buyer_email(documents).ok_or(MappingError::NoEmail)?;
    let state = order_state(documents, context.previous);
    let paid_at = documents
        .iter()
        .filter(|d| d.paid && d.kind != DocumentKind::CreditNote)
        .filter_map(|d| d.paid_on.or(d.last_modified_on))
        .min();
    let created_at = created_at(documents).unwrap_or_else(Utc::now);

    let items = main
        .items
        .iter()
        .filter(|item| !item.round_item)
        .map(|item| OrderItem {
            id: item.code.clone().unwrap_or_else(|| item_id(&item.name)),
            name: item.name.clone(),
            price: unit_price(item.price, item.vat, item.including_vat, &main.currency),
            quantity: item.count.ceil().try_into().unwrap_or(1u32).max(1),
            url: None,
        })
        .collect();

    let mut numbers: Vec<(Option<DateTime<Utc>>, i64, String)> = documents
        .iter()
        .filter_map(|d| d.number.clone().map(|n| (d.created_on, d.id, n)))
        .collect();
    numbers.sort();
    let numbers: Vec<String> = numbers.into_iter().map(|(_, _, n)| n).collect();
    let mut attributes = vec![Attribute {
        name: "fapi_documents".into(),
        value: numbers.join(", "),
    }];
    if let Some(payment_type) = &main.payment_type {
        attributes.push(Attribute {
            name: "payment_type".into(),
            value: payment_type.clone(),
        });
    }
    if let Some(form) = main.form {
        attributes.push(Attribute {
            name: "sales_form".into(),
            value: form.to_string(),
        });
    }
    attributes.push(Attribute {
        name: "source".into(),
        value: context.source.as_str().into(),
    });

    Ok(OrderImport {
        emailaddress: email,
        eshop_name: context.eshop_name.to_string(),
        eshop_code: context.eshop_code.to_string(),
        created_at: format_prague_local(created_at),
        paid_at: (state >= FapiState::Paid)
            .then_some(paid_at)
            .flatten()
            .map(format_prague_local),
        status: se_status(state),
        attributes,
        items,
    })
}

/// The buyer as a SmartEmailing contact: what FAPI knows, and the connection's default list if
/// one is set. Never the blacklist flag.
pub fn build_contact(
    documents: &[Invoice],
    default_list: Option<i64>,
) -> Result<ContactImport, MappingError> {
    let main = principal(documents).ok_or(MappingError::NoDocuments)?;
    let email = buyer_email(documents).ok_or(MappingError::NoEmail)?;
    let customer = &main.customer;
    // FAPI writes the e-mail where the buyer gave no name; that is not a name.
    let (first, last) = match (&customer.first_name, &customer.last_name) {
        (None, None) => match customer.name.as_deref().map(str::trim) {
            Some(name) if !name.contains('@') && !name.is_empty() => match name.split_once(' ') {
                Some((first, last)) => (Some(first.to_string()), Some(last.trim().to_string())),
                None => (Some(name.to_string()), None),
            },
            _ => (None, None),
        },
        (first, last) => (first.clone(), last.clone()),
    };
    Ok(ContactImport {
        emailaddress: email,
        name: first,
        surname: last,
        company: customer.company.clone(),
        street: customer.address.street.clone(),
        town: customer.address.city.clone(),
        postalcode: customer.address.zip.clone(),
        country: customer.address.country.clone(),
        phone: customer.phone.clone(),
        contactlists: default_list
            .map(|id| {
                vec![ListMembership {
                    id,
                    status: ListStatus::Confirmed,
                }]
            })
            .unwrap_or_default(),
        blacklisted: None,
    })
}

/// A fingerprint of what would be sent, to skip orders SmartEmailing already has unchanged.
pub fn fingerprint(order: &OrderImport, contact: &ContactImport) -> String {
    let mut hasher = Sha256::new();
    // The source attribute says how the order arrived, not what it is: it does not count.
    let mut order = order.clone();
    order.attributes.retain(|a| a.name != "source");
    hasher.update(serde_json::to_vec(&order).unwrap_or_default());
    hasher.update(serde_json::to_vec(contact).unwrap_or_default());
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fapi::model::{Address, Customer, InvoiceItem};

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn item(
        id: &str,
        name: &str,
        code: Option<&str>,
        price: i64,
        vat: Option<i64>,
        including_vat: bool,
    ) -> InvoiceItem {
        InvoiceItem {
            id: id.into(),
            name: name.into(),
            code: code.map(str::to_string),
            price: Decimal::new(price, 2),
            count: Decimal::ONE,
            vat: vat.map(Decimal::from),
            including_vat,
            round_item: false,
            correction_item: false,
        }
    }

    fn proforma() -> Invoice {
        Invoice {
            id: 100,
            number: Some("2026000001".into()),
            variable_symbol: Some("2026000001".into()),
            kind: DocumentKind::Proforma,
            paid: false,
            paid_on: None,
            cancelled: false,
            has_credit_note: false,
            created_on: Some(at("2026-11-02T09:00:00Z")),
            last_modified_on: Some(at("2026-11-02T09:00:00Z")),
            new_order: Some(555),
            parent: None,
            client: Some(1),
            customer: Customer {
                email: Some("Jana.Novakova@Example.cz".into()),
                name: Some("Jana Nováková".into()),
                first_name: Some("Jana".into()),
                last_name: Some("Nováková".into()),
                phone: Some("+420 601 000 000".into()),
                company: None,
                address: Address {
                    street: Some("Husova 5".into()),
                    city: Some("Brno".into()),
                    zip: Some("602 00".into()),
                    country: Some("CZ".into()),
                },
            },
            items: vec![
                item(
                    "1",
                    "Online kurz",
                    Some("KURZ-01"),
                    106_600,
                    Some(21),
                    false,
                ),
                InvoiceItem {
                    round_item: true,
                    ..item("2", "Zaokrouhlení", None, -71, Some(21), false)
                },
            ],
            total: Some(Decimal::new(1289, 0)),
            total_vat: Some(Decimal::new(22371, 2)),
            currency: "CZK".into(),
            payment_type: Some("credit card".into()),
            form: Some(16),
            form_url: None,
        }
    }

    fn paid_invoice() -> Invoice {
        Invoice {
            id: 101,
            number: Some("2026000002".into()),
            kind: DocumentKind::Invoice,
            paid: true,
            paid_on: Some(at("2026-11-03T10:00:00Z")),
            parent: Some(100),
            created_on: Some(at("2026-11-03T10:00:05Z")),
            last_modified_on: Some(at("2026-11-03T10:00:05Z")),
            ..proforma()
        }
    }

    fn context(previous: Option<FapiState>) -> OrderContext<'static> {
        OrderContext {
            eshop_name: "fapi-obchod",
            eshop_code: "555",
            source: Source::Webhook,
            previous,
        }
    }

    #[test]
    fn a_proforma_is_a_placed_order() {
        let order = build_order(&[proforma()], &context(None)).unwrap();
        assert_eq!(order.status, OrderStatus::Placed);
        assert_eq!(order.emailaddress, "jana.novakova@example.cz");
        assert_eq!(order.eshop_code, "555");
        assert_eq!(
            order.created_at, "2026-11-02 10:00:00",
            "Prague time, winter"
        );
        assert_eq!(order.paid_at, None);
        assert_eq!(order.items.len(), 1, "no rounding line");
        let price = &order.items[0].price;
        assert_eq!(
            (price.without_vat, price.with_vat),
            (Decimal::new(1066, 0), Decimal::new(128986, 2))
        );
        let attribute = |name: &str| {
            order
                .attributes
                .iter()
                .find(|a| a.name == name)
                .map(|a| a.value.clone())
        };
        assert_eq!(attribute("fapi_documents").as_deref(), Some("2026000001"));
        assert_eq!(attribute("payment_type").as_deref(), Some("credit card"));
        assert_eq!(attribute("sales_form").as_deref(), Some("16"));
        assert_eq!(attribute("source").as_deref(), Some("webhook"));
    }

    #[test]
    fn proforma_then_invoice_is_one_paid_order() {
        let order = build_order(&[proforma(), paid_invoice()], &context(None)).unwrap();
        assert_eq!(order.status, OrderStatus::Processing);
        assert_eq!(order.paid_at.as_deref(), Some("2026-11-03 11:00:00"));
        assert_eq!(
            order.created_at, "2026-11-02 10:00:00",
            "from the first document"
        );
        assert_eq!(order.eshop_code, "555");
        let documents = &order.attributes[0].value;
        assert_eq!(documents, "2026000001, 2026000002");
    }

    #[test]
    fn the_order_of_notifications_does_not_matter() {
        let forward = build_order(&[proforma(), paid_invoice()], &context(None)).unwrap();
        let backward = build_order(&[paid_invoice(), proforma()], &context(None)).unwrap();
        assert_eq!(forward, backward);
    }

    #[test]
    fn the_state_never_moves_back() {
        // The proforma alone (its notification arrived last, unpaid) cannot undo a payment.
        assert_eq!(
            order_state(&[proforma()], Some(FapiState::Paid)),
            FapiState::Paid
        );
        let order = build_order(&[proforma()], &context(Some(FapiState::Paid))).unwrap();
        assert_eq!(order.status, OrderStatus::Processing);
        assert_eq!(
            order_state(&[paid_invoice()], Some(FapiState::Cancelled)),
            FapiState::Cancelled
        );
    }

    #[test]
    fn cancellation_and_credit_notes_cancel() {
        let cancelled = Invoice {
            cancelled: true,
            ..proforma()
        };
        assert_eq!(order_state(&[cancelled], None), FapiState::Cancelled);
        let credit = Invoice {
            id: 102,
            kind: DocumentKind::CreditNote,
            parent: Some(101),
            ..paid_invoice()
        };
        let order = build_order(&[proforma(), paid_invoice(), credit], &context(None)).unwrap();
        assert_eq!(order.status, OrderStatus::Cancelled);
        assert_eq!(
            order.items.len(),
            1,
            "items come from the invoice, not the credit note"
        );
        assert!(order.items[0].price.with_vat > Decimal::ZERO);
    }

    #[test]
    fn prices_with_and_without_vat_and_for_non_vat_payers() {
        let net = unit_price(
            Decimal::new(1000, 0),
            Some(Decimal::new(21, 0)),
            false,
            "CZK",
        );
        assert_eq!(
            (net.without_vat, net.with_vat),
            (Decimal::new(1000, 0), Decimal::new(1210, 0))
        );
        let gross = unit_price(
            Decimal::new(1000, 0),
            Some(Decimal::new(21, 0)),
            true,
            "EUR",
        );
        assert_eq!(
            (gross.without_vat, gross.with_vat),
            (Decimal::new(82645, 2), Decimal::new(1000, 0))
        );
        assert_eq!(gross.currency, "EUR");
        let plain = unit_price(Decimal::new(499, 0), None, false, "CZK");
        assert_eq!(
            (plain.without_vat, plain.with_vat),
            (Decimal::new(499, 0), Decimal::new(499, 0))
        );
    }

    #[test]
    fn items_without_code_get_a_stable_id() {
        let mut document = proforma();
        document.items[0].code = None;
        let first = build_order(&[document.clone()], &context(None))
            .unwrap()
            .items[0]
            .id
            .clone();
        let again = build_order(&[document], &context(None)).unwrap().items[0]
            .id
            .clone();
        assert_eq!(first, again);
        assert!(first.starts_with("fapi-item-"));
        assert_ne!(item_id("Online kurz"), item_id("E-book"));
    }

    #[test]
    fn orders_are_grouped_by_fapi_order_then_parent() {
        assert_eq!(order_key(&proforma(), None), "555");
        let orphan = Invoice {
            new_order: None,
            parent: Some(100),
            ..paid_invoice()
        };
        assert_eq!(order_key(&orphan, Some("555")), "555");
        let alone = Invoice {
            new_order: None,
            parent: None,
            ..proforma()
        };
        assert_eq!(order_key(&alone, None), "doc-100");
    }

    #[test]
    fn the_contact_carries_what_fapi_knows_and_only_the_default_list() {
        let contact = build_contact(&[proforma()], None).unwrap();
        assert_eq!(contact.emailaddress, "jana.novakova@example.cz");
        assert_eq!(contact.name.as_deref(), Some("Jana"));
        assert_eq!(contact.surname.as_deref(), Some("Nováková"));
        assert_eq!(contact.town.as_deref(), Some("Brno"));
        assert!(contact.contactlists.is_empty());
        assert_eq!(contact.blacklisted, None);
        let listed = build_contact(&[proforma()], Some(770)).unwrap();
        assert_eq!(
            listed.contactlists,
            vec![ListMembership {
                id: 770,
                status: ListStatus::Confirmed
            }]
        );
    }

    #[test]
    fn a_buyer_without_a_name_gets_no_name() {
        let mut document = proforma();
        document.customer = Customer {
            email: Some("buyer@example.com".into()),
            name: Some("buyer@example.com".into()),
            ..Customer::default()
        };
        let contact = build_contact(&[document], None).unwrap();
        assert_eq!((contact.name, contact.surname), (None, None));
    }

    #[test]
    fn a_document_without_email_cannot_become_an_order() {
        let mut document = proforma();
        document.customer.email = None;
        assert_eq!(
            build_order(&[document], &context(None)),
            Err(MappingError::NoEmail)
        );
    }

    #[test]
    fn the_fingerprint_ignores_the_source_but_not_the_status() {
        let documents = [proforma()];
        let contact = build_contact(&documents, None).unwrap();
        let webhook = build_order(&documents, &context(None)).unwrap();
        let reconciled = build_order(
            &documents,
            &OrderContext {
                source: Source::Reconciliation,
                ..context(None)
            },
        )
        .unwrap();
        assert_eq!(
            fingerprint(&webhook, &contact),
            fingerprint(&reconciled, &contact)
        );
        let paid = build_order(&[proforma(), paid_invoice()], &context(None)).unwrap();
        assert_ne!(
            fingerprint(&webhook, &contact),
            fingerprint(&paid, &contact)
        );
    }
}
