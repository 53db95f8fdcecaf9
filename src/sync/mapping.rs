//! How the documents of one FAPI order become one SmartEmailing order and contact.
//!
//! | FAPI | SmartEmailing |
//! |---|---|
//! | no document paid, none cancelled | `placed` |
//! | a document paid | `processing`, `paid_at` = the later of the earliest `paid_on` (a date: 00:00 Prague) and the order's creation |
//! | a document cancelled (storno), or credit notes for the full amount | `cancelled` |
//! | credit notes for less than the full amount | status kept, value lowered by the credited amount, attribute `refunded` |
//! | first document's `created_on` | `created_at` |
//! | product lines of the latest non-credit document | `items`, adding up to the document's `total` (with VAT) and `total - total_vat` (without) to the cent |
//! | rounding (`round_item`), correction (`correction_item`) and discount (negative) lines | spread over the product lines in proportion to their value |
//! | `count` | `quantity`: rounded, at least 1; the unit price keeps the line total |
//! | no `code` | item id `fapi-item-` + hash of the name |
//! | document numbers, payment type, sales form, source, refund | `attributes` |
//! | the client record's company and phone, the document's language | contact `company`, `cellphone`/`phone`, `language` |
//!
//! The state only moves forward (placed → processing → cancelled): a late or repeated
//! notification never moves an order back.
//!
//! Everything here is total: any numbers FAPI sends give an order or a [`MappingError`] that
//! says which number is wrong, never a panic (arithmetic is checked; amounts are whole cents
//! in `i128` while they are spread).

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Europe::Prague;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use sha2::{Digest, Sha256};

use crate::fapi::{DocumentKind, Invoice, InvoiceItem};
use crate::model::FapiState;
use crate::platform::time::{format_prague_local, to_prague};
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

/// Credit notes that count: issued (not themselves cancelled).
fn credit_notes(documents: &[Invoice]) -> impl Iterator<Item = &Invoice> {
    documents
        .iter()
        .filter(|d| d.kind == DocumentKind::CreditNote && !d.cancelled)
}

/// The state the documents show, never below `previous`. A storno cancels; credit notes cancel
/// when they credit the full amount (a partial refund keeps the order's state). Documents
/// whose amounts cannot be read count as not refunded.
pub fn order_state(documents: &[Invoice], previous: Option<FapiState>) -> FapiState {
    let cancelled = documents
        .iter()
        .any(|d| d.cancelled && d.kind != DocumentKind::CreditNote)
        || refund(documents).is_ok_and(|r| r.is_some_and(|r| r.full));
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

/// The document whose items and buyer describe the order: the latest one that is not a
/// credit note (the final invoice rather than its proforma).
pub(crate) fn principal(documents: &[Invoice]) -> Option<&Invoice> {
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
    /// A number that cannot be an amount (a VAT rate of -100 % or less, an amount too large to
    /// compute with …), with where it is.
    #[error("document {document}: {problem}")]
    BadNumber { document: i64, problem: String },
    #[error("document {document}: the order's value without VAT is negative ({net})")]
    NegativeTotal { document: i64, net: Decimal },
    #[error("document {document}: no product line to carry the total of {total}")]
    NoProductLines { document: i64, total: Decimal },
    /// The field mapping maps a choice field but not this value.
    #[error("the FAPI value \"{value}\" has no option in the SmartEmailing field \"{field}\"")]
    NoOption { field: String, value: String },
    #[error("two rules of the field mapping write the SmartEmailing field \"{field}\"")]
    FieldTwice { field: String },
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

/// When the order was paid, as SmartEmailing gets it: FAPI's `paid_on` is a date (the earliest
/// of the paid documents, at 00:00 Prague time), which on the day of the order would lie
/// before the order was placed; so the later of that and `created_at`. A paid document without
/// `paid_on` counts from its last modification.
pub fn paid_at(documents: &[Invoice], created_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    documents
        .iter()
        .filter(|d| d.paid && d.kind != DocumentKind::CreditNote)
        .filter_map(|d| d.paid_on.map(prague_midnight).or(d.last_modified_on))
        .min()
        .map(|paid| paid.max(created_at))
}

/// 00:00 Prague time of the (Prague) day of `at`.
fn prague_midnight(at: DateTime<Utc>) -> DateTime<Utc> {
    let day = to_prague(at).date_naive();
    day.and_hms_opt(0, 0, 0)
        .and_then(|midnight| Prague.from_local_datetime(&midnight).earliest())
        .map_or(at, |midnight| midnight.with_timezone(&Utc))
}

/// SmartEmailing's POSIX language for FAPI's document language; others are left out.
pub fn se_language(fapi: &str) -> Option<&'static str> {
    match fapi.trim().to_ascii_lowercase().as_str() {
        "cs" => Some("cs_CZ"),
        "sk" => Some("sk_SK"),
        "pl" => Some("pl_PL"),
        "en" => Some("en_US"),
        "de" => Some("de_DE"),
        _ => None,
    }
}

/// Whether a phone number is a mobile one (SmartEmailing's `cellphone`): Czech numbers
/// starting with 6 or 7 (with or without +420), Slovak ones with +421 9. Others are `phone`.
pub fn is_cellphone(number: &str) -> bool {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let international = number.trim_start().starts_with('+') || digits.starts_with("00");
    let digits = digits.strip_prefix("00").unwrap_or(&digits);
    if let Some(national) = digits.strip_prefix("420").filter(|_| international) {
        return national.len() == 9 && (national.starts_with('6') || national.starts_with('7'));
    }
    if let Some(national) = digits.strip_prefix("421").filter(|_| international) {
        return national.len() == 9 && national.starts_with('9');
    }
    !international && digits.len() == 9 && (digits.starts_with('6') || digits.starts_with('7'))
}

/// What FAPI's client record (`GET /clients/{id}`) adds to the buyer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuyerDetails {
    pub company: Option<String>,
    pub phone: Option<String>,
    /// IČ and DIČ, for the field mapping.
    pub ic: Option<String>,
    pub dic: Option<String>,
}

pub struct OrderContext<'a> {
    pub eshop_name: &'a str,
    /// Fixed when the order was first seen; never changes.
    pub eshop_code: &'a str,
    pub source: Source,
    /// The state last sent to SmartEmailing, so the status never moves back.
    pub previous: Option<FapiState>,
    /// When the bridge first saw the order: its creation time if no document has one.
    pub first_seen: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------
// Amounts

/// Cents of an amount, rounded half away from zero; `None` beyond what `i128` holds.
fn cents(value: Decimal) -> Option<i128> {
    value
        .checked_mul(Decimal::ONE_HUNDRED)?
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i128()
}

/// The amount of `cents`; `None` beyond what `Decimal` holds.
fn try_from_cents(cents: i128) -> Option<Decimal> {
    Decimal::try_from_i128_with_scale(cents, 2)
        .ok()
        .map(|d| d.normalize())
}

/// [`try_from_cents`] for messages and display (0 where it does not fit).
fn from_cents(cents: i128) -> Decimal {
    try_from_cents(cents).unwrap_or_default()
}

/// A line's total without VAT and its VAT, exact (before cents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LineAmount {
    net: Decimal,
    vat: Decimal,
}

fn line_amount(document: i64, item: &InvoiceItem) -> Result<LineAmount, MappingError> {
    let bad = |problem: String| MappingError::BadNumber { document, problem };
    let too_large = || bad(format!("line {:?}: the amount is too large", item.name));
    let value = item.price.checked_mul(item.count).ok_or_else(too_large)?;
    match item.vat {
        // Not a VAT payer: the price is final.
        None => Ok(LineAmount {
            net: value,
            vat: Decimal::ZERO,
        }),
        Some(rate) => {
            let share = rate
                .checked_div(Decimal::ONE_HUNDRED)
                .ok_or_else(too_large)?;
            let factor = Decimal::ONE.checked_add(share).ok_or_else(too_large)?;
            if factor <= Decimal::ZERO {
                return Err(bad(format!(
                    "line {:?}: a VAT rate of {rate} % is not possible",
                    item.name
                )));
            }
            if item.including_vat {
                let net = value.checked_div(factor).ok_or_else(too_large)?;
                let vat = value.checked_sub(net).ok_or_else(too_large)?;
                Ok(LineAmount { net, vat })
            } else {
                let vat = value.checked_mul(share).ok_or_else(too_large)?;
                Ok(LineAmount { net: value, vat })
            }
        }
    }
}

/// Unit price with and without VAT from FAPI's `price`, `vat` and `including_vat`, rounded to
/// cents (for display; the order's items come from [`spread`]).
pub fn unit_price(
    price: Decimal,
    vat: Option<Decimal>,
    including_vat: bool,
    currency: &str,
) -> Result<Price, MappingError> {
    let item = InvoiceItem {
        id: String::new(),
        name: String::new(),
        code: None,
        price,
        count: Decimal::ONE,
        vat,
        including_vat,
        round_item: false,
        correction_item: false,
    };
    let amount = line_amount(0, &item)?;
    let too_large = || MappingError::BadNumber {
        document: 0,
        problem: "the price is too large".into(),
    };
    let net = cents(amount.net).ok_or_else(too_large)?;
    let gross =
        cents(amount.net.checked_add(amount.vat).ok_or_else(too_large)?).ok_or_else(too_large)?;
    Ok(Price {
        without_vat: try_from_cents(net).ok_or_else(too_large)?,
        with_vat: try_from_cents(gross).ok_or_else(too_large)?,
        currency: currency.to_string(),
    })
}

/// A product line to be priced by [`spread`]: its exact total without VAT and VAT, in cents,
/// and its quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpreadLine {
    pub net: i128,
    pub vat: i128,
    pub quantity: u32,
}

/// Units of a line that share one unit price (in cents): a line whose total does not divide by
/// its quantity becomes up to three such groups of the same product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitGroup {
    pub quantity: u32,
    pub net: i128,
    pub gross: i128,
}

/// Shares of `total` in proportion to `weights` (all ≥ 0; all zero: equal shares), by
/// largest-remainder rounding (ties go to the earlier line); then each share is raised to its
/// `reserve` with cents from the shares that have the most above theirs. `None` on overflow
/// or when `total` cannot cover the reserves.
fn allocate(total: i128, weights: &[i128], reserve: &[i128]) -> Option<Vec<i128>> {
    let reserved: i128 = reserve.iter().try_fold(0i128, |a, r| a.checked_add(*r))?;
    if total < reserved {
        return None;
    }
    let mut weight_sum: i128 = weights.iter().try_fold(0i128, |a, w| a.checked_add(*w))?;
    let equal: Vec<i128>;
    let weights = if weight_sum == 0 {
        equal = vec![1; weights.len()];
        weight_sum = weights.len() as i128;
        &equal
    } else {
        weights
    };
    if weight_sum == 0 {
        return (total == 0).then(Vec::new);
    }
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given = 0i128;
    for (index, weight) in weights.iter().enumerate() {
        let product = total.checked_mul(*weight)?;
        let share = product.div_euclid(weight_sum);
        remainders.push((product.rem_euclid(weight_sum), index));
        given = given.checked_add(share)?;
        shares.push(share);
    }
    // Fewer cents are left than there are lines: one more each to the largest remainders.
    let left = total.checked_sub(given)?;
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, index) in remainders.into_iter().take(usize::try_from(left).ok()?) {
        shares[index] += 1;
    }
    // Shares below their reserve take what they lack from the shares with the most to spare.
    for index in 0..shares.len() {
        while shares[index] < reserve[index] {
            let lack = reserve[index] - shares[index];
            let (donor, spare) = shares
                .iter()
                .zip(reserve)
                .map(|(s, r)| s - r)
                .enumerate()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))?;
            let moved = lack.min(spare);
            if moved <= 0 {
                return None;
            }
            shares[donor] -= moved;
            shares[index] += moved;
        }
    }
    Some(shares)
}

/// Prices the product lines so that they add up to `target_net` (without VAT) and
/// `target_vat` (VAT) to the cent: both are spread over the lines in proportion to the lines'
/// own amounts (largest-remainder rounding), each line keeping at least a cent per unit when
/// the total allows. A line whose share does not divide by its quantity is split into units
/// one cent apart. Every unit price is positive when `target_net` covers a cent for each unit
/// of the lines that have a value, and the VAT is never negative when `target_vat` is not.
pub fn spread(
    lines: &[SpreadLine],
    target_net: i128,
    target_vat: i128,
) -> Option<Vec<Vec<UnitGroup>>> {
    if lines.is_empty() {
        return (target_net == 0 && target_vat == 0).then(Vec::new);
    }
    if target_net < 0 {
        return None;
    }
    let weights: Vec<i128> = lines.iter().map(|l| l.net.max(0)).collect();
    let units: Vec<i128> = lines.iter().map(|l| i128::from(l.quantity)).collect();
    let wanted: Vec<i128> = lines
        .iter()
        .zip(&units)
        .map(|(l, u)| {
            if l.net > 0 || weights.iter().all(|w| *w == 0) {
                *u
            } else {
                0
            }
        })
        .collect();
    let wanted_sum: i128 = wanted.iter().sum();
    let reserve = if target_net >= wanted_sum {
        wanted
    } else {
        vec![0; lines.len()]
    };
    let net = allocate(target_net, &weights, &reserve)?;
    let vat_weights: Vec<i128> = lines.iter().map(|l| l.vat.max(0)).collect();
    let vat_weights = if vat_weights.iter().all(|w| *w == 0) {
        net.clone()
    } else {
        vat_weights
    };
    let zero = vec![0; lines.len()];
    let vat = if target_vat >= 0 {
        allocate(target_vat, &vat_weights, &zero)?
    } else {
        allocate(target_vat.checked_neg()?, &vat_weights, &zero)?
            .into_iter()
            .map(|v| -v)
            .collect()
    };
    Some(
        lines
            .iter()
            .zip(net.into_iter().zip(vat))
            .map(|(line, (net, vat))| unit_groups(line.quantity.max(1), net, vat))
            .collect(),
    )
}

/// A line total (net, VAT) over `quantity` units at whole-cent unit prices.
fn unit_groups(quantity: u32, net: i128, vat: i128) -> Vec<UnitGroup> {
    let q = i128::from(quantity);
    let (net_unit, net_extra) = (net.div_euclid(q), net.rem_euclid(q));
    let (vat_unit, vat_extra) = (vat.div_euclid(q), vat.rem_euclid(q));
    // Units from the end get the extra cent: the last `net_extra` of net, the last
    // `vat_extra` of VAT.
    let mut cuts = vec![0, q - net_extra, q - vat_extra, q];
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .filter(|w| w[1] > w[0])
        .map(|w| {
            let unit = w[0];
            let n = net_unit + i128::from(unit >= q - net_extra);
            let v = vat_unit + i128::from(unit >= q - vat_extra);
            UnitGroup {
                quantity: u32::try_from(w[1] - w[0]).unwrap_or(u32::MAX),
                net: n,
                gross: n + v,
            }
        })
        .collect()
}

/// What credit notes took back of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Refund {
    /// Credited, with VAT and VAT alone (positive), in cents.
    gross: i128,
    vat: i128,
    /// The whole amount (or more) was credited.
    full: bool,
}

/// The totals of a document in cents (with VAT, VAT): FAPI's `total` and `total_vat`, else
/// the sum of its lines.
fn document_totals(document: &Invoice) -> Result<(i128, i128), MappingError> {
    let too_large = || MappingError::BadNumber {
        document: document.id,
        problem: "the total is too large".into(),
    };
    let mut net = Decimal::ZERO;
    let mut vat = Decimal::ZERO;
    if document.total.is_none() || document.total_vat.is_none() {
        for item in &document.items {
            let line = line_amount(document.id, item)?;
            net = net.checked_add(line.net).ok_or_else(too_large)?;
            vat = vat.checked_add(line.vat).ok_or_else(too_large)?;
        }
    }
    let gross = match document.total {
        Some(total) => total,
        None => net.checked_add(vat).ok_or_else(too_large)?,
    };
    let vat = document.total_vat.unwrap_or(vat);
    Ok((
        cents(gross).ok_or_else(too_large)?,
        cents(vat).ok_or_else(too_large)?,
    ))
}

/// The credit notes' refund against the principal document's totals.
fn refund(documents: &[Invoice]) -> Result<Option<Refund>, MappingError> {
    let Some(main) = principal(documents).filter(|d| d.kind != DocumentKind::CreditNote) else {
        return Ok(None);
    };
    let mut gross = 0i128;
    let mut vat = 0i128;
    let mut any = false;
    for note in credit_notes(documents) {
        let (g, v) = document_totals(note)?;
        let too_large = || MappingError::BadNumber {
            document: note.id,
            problem: "the credited amount is too large".into(),
        };
        // Credit notes carry negative amounts; some may be written as positive ones.
        gross = gross
            .checked_add(g.checked_abs().ok_or_else(too_large)?)
            .ok_or_else(too_large)?;
        vat = vat
            .checked_add(v.checked_abs().ok_or_else(too_large)?)
            .ok_or_else(too_large)?;
        any = true;
    }
    if !any {
        return Ok(None);
    }
    let (total, _) = document_totals(main)?;
    Ok(Some(Refund {
        gross,
        vat,
        full: gross >= total,
    }))
}

/// The order's value with VAT as sent to SmartEmailing (after partial refunds), for display.
pub fn order_value(documents: &[Invoice]) -> Result<Option<Decimal>, MappingError> {
    let Some(main) = principal(documents) else {
        return Ok(None);
    };
    let (gross, _) = document_totals(main)?;
    let refunded = match refund(documents)? {
        Some(refund) if !refund.full => refund.gross,
        _ => 0,
    };
    Ok(try_from_cents(gross - refunded))
}

/// The items of the principal document, priced to add up to `target` (cents with VAT, VAT).
fn priced_items(
    main: &Invoice,
    target_gross: i128,
    target_vat: i128,
) -> Result<Vec<OrderItem>, MappingError> {
    let amounts = main
        .items
        .iter()
        .map(|item| line_amount(main.id, item))
        .collect::<Result<Vec<_>, _>>()?;
    let is_product = |(item, amount): &(&InvoiceItem, &LineAmount)| {
        !item.round_item && !item.correction_item && amount.net >= Decimal::ZERO
    };
    let mut products: Vec<(&InvoiceItem, &LineAmount)> =
        main.items.iter().zip(&amounts).filter(is_product).collect();
    if products.is_empty() {
        // No ordinary product line: positive corrections are what was sold.
        products = main
            .items
            .iter()
            .zip(&amounts)
            .filter(|(_, amount)| amount.net > Decimal::ZERO)
            .collect();
    }
    let target_net = target_gross - target_vat;
    if target_vat < 0 {
        return Err(MappingError::BadNumber {
            document: main.id,
            problem: format!(
                "the VAT of the order is negative ({})",
                from_cents(target_vat)
            ),
        });
    }
    if target_net < 0 {
        return Err(MappingError::NegativeTotal {
            document: main.id,
            net: from_cents(target_net),
        });
    }
    if products.is_empty() {
        if target_net == 0 && target_vat == 0 {
            return Ok(Vec::new());
        }
        return Err(MappingError::NoProductLines {
            document: main.id,
            total: from_cents(target_gross),
        });
    }
    let too_large = |name: &str| MappingError::BadNumber {
        document: main.id,
        problem: format!("line {name:?}: the amount is too large"),
    };
    let lines = products
        .iter()
        .map(|(item, amount)| {
            let quantity = item
                .count
                .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
                .to_u32()
                .filter(|_| item.count <= Decimal::from(u32::MAX))
                .ok_or_else(|| MappingError::BadNumber {
                    document: main.id,
                    problem: format!(
                        "line {:?}: the count {} is not possible",
                        item.name, item.count
                    ),
                })?
                .max(1);
            Ok(SpreadLine {
                net: cents(amount.net).ok_or_else(|| too_large(&item.name))?,
                vat: cents(amount.vat).ok_or_else(|| too_large(&item.name))?,
                quantity,
            })
        })
        .collect::<Result<Vec<_>, MappingError>>()?;
    let groups = spread(&lines, target_net, target_vat).ok_or_else(|| MappingError::BadNumber {
        document: main.id,
        problem: "the amounts are too large to spread".into(),
    })?;
    let mut items = Vec::with_capacity(products.len());
    for ((item, _), groups) in products.iter().zip(groups) {
        for group in groups {
            items.push(OrderItem {
                id: item.code.clone().unwrap_or_else(|| item_id(&item.name)),
                name: item.name.clone(),
                price: Price {
                    without_vat: try_from_cents(group.net).ok_or_else(|| too_large(&item.name))?,
                    with_vat: try_from_cents(group.gross).ok_or_else(|| too_large(&item.name))?,
                    currency: main.currency.clone(),
                },
                quantity: group.quantity,
                url: None,
            });
        }
    }
    Ok(items)
}

/// The SmartEmailing order for one FAPI order's documents.
pub fn build_order(
    documents: &[Invoice],
    context: &OrderContext<'_>,
) -> Result<OrderImport, MappingError> {
    let main = principal(documents).ok_or(MappingError::NoDocuments)?;
    let email = buyer_email(documents).ok_or(MappingError::NoEmail)?;
    let refund = refund(documents)?;
    let state = order_state(documents, context.previous);
    let created_at = created_at(documents).unwrap_or(context.first_seen);
    let paid_at = paid_at(documents, created_at);

    let (gross, vat) = document_totals(main)?;
    let items = match refund {
        // A partial refund lowers the order's value; a full one cancels the order as it was.
        Some(refund) if !refund.full => priced_items(main, gross - refund.gross, vat - refund.vat)?,
        _ => priced_items(main, gross, vat)?,
    };

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
    if let Some(refund) = refund {
        attributes.push(Attribute {
            name: "refunded".into(),
            value: format!("{:.2}", from_cents(refund.gross)),
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

/// The buyer as a SmartEmailing contact: what FAPI knows (the document's buyer, the client
/// record's company and phone, the document's language), and the connection's default list if
/// one is set. Never the blacklist flag.
pub fn build_contact(
    documents: &[Invoice],
    client: Option<&BuyerDetails>,
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
    let phone = client
        .and_then(|c| c.phone.clone())
        .or_else(|| customer.phone.clone())
        .filter(|p| !p.trim().is_empty());
    let (cellphone, phone) = match phone {
        Some(number) if is_cellphone(&number) => (Some(number), None),
        other => (None, other),
    };
    Ok(ContactImport {
        emailaddress: email,
        name: first,
        surname: last,
        company: client
            .and_then(|c| c.company.clone())
            .or_else(|| customer.company.clone()),
        street: customer.address.street.clone(),
        town: customer.address.city.clone(),
        postalcode: customer.address.zip.clone(),
        country: customer.address.country.clone(),
        phone,
        cellphone,
        language: main
            .language
            .as_deref()
            .and_then(se_language)
            .map(str::to_string),
        contactlists: default_list
            .map(|id| {
                vec![ListMembership {
                    id,
                    status: ListStatus::Confirmed,
                }]
            })
            .unwrap_or_default(),
        blacklisted: None,
        customfields: Vec::new(),
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
            language: Some("cs".into()),
            payment_type: Some("credit card".into()),
            form: Some(16),
            form_url: None,
            custom_fields: Vec::new(),
            shipping_method: None,
            discount_code: None,
            labels: Vec::new(),
        }
    }

    fn paid_invoice() -> Invoice {
        Invoice {
            id: 101,
            number: Some("2026000002".into()),
            kind: DocumentKind::Invoice,
            paid: true,
            // FAPI's `paid_on` is a date: 2026-11-03 00:00 Prague time.
            paid_on: Some(at("2026-11-02T23:00:00Z")),
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
            first_seen: at("2026-11-02T09:00:30Z"),
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
        // The rounding line (-0.71 without VAT) is spread over the product: the order is worth
        // what the buyer pays, 1,289.00 with VAT and 1,289.00 - 223.71 without (it used to say
        // 1,289.86, the product alone).
        let price = &order.items[0].price;
        assert_eq!(
            (price.without_vat, price.with_vat),
            (Decimal::new(106529, 2), Decimal::new(1289, 0))
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
        assert_eq!(
            order.paid_at.as_deref(),
            Some("2026-11-03 00:00:00"),
            "paid the day after the order: the day's start"
        );
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
        )
        .unwrap();
        assert_eq!(
            (net.without_vat, net.with_vat),
            (Decimal::new(1000, 0), Decimal::new(1210, 0))
        );
        let gross = unit_price(
            Decimal::new(1000, 0),
            Some(Decimal::new(21, 0)),
            true,
            "EUR",
        )
        .unwrap();
        assert_eq!(
            (gross.without_vat, gross.with_vat),
            (Decimal::new(82645, 2), Decimal::new(1000, 0))
        );
        assert_eq!(gross.currency, "EUR");
        let plain = unit_price(Decimal::new(499, 0), None, false, "CZK").unwrap();
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
        let contact = build_contact(&[proforma()], None, None).unwrap();
        assert_eq!(contact.emailaddress, "jana.novakova@example.cz");
        assert_eq!(contact.name.as_deref(), Some("Jana"));
        assert_eq!(contact.surname.as_deref(), Some("Nováková"));
        assert_eq!(contact.town.as_deref(), Some("Brno"));
        assert!(contact.contactlists.is_empty());
        assert_eq!(contact.blacklisted, None);
        let listed = build_contact(&[proforma()], None, Some(770)).unwrap();
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
        let contact = build_contact(&[document], None, None).unwrap();
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
        let contact = build_contact(&documents, None, None).unwrap();
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

    // -----------------------------------------------------------------------------------------
    // Totals, credit notes, quantities, paid_at, language (issue 15)

    fn line(price: &str, count: &str, vat: Option<i64>, including_vat: bool) -> InvoiceItem {
        InvoiceItem {
            id: "x".into(),
            name: format!("Produkt {price}"),
            code: None,
            price: price.parse().unwrap(),
            count: count.parse().unwrap(),
            vat: vat.map(Decimal::from),
            including_vat,
            round_item: false,
            correction_item: false,
        }
    }

    /// (Σ quantity × with VAT, Σ quantity × without VAT) of an order.
    fn sums(order: &OrderImport) -> (Decimal, Decimal) {
        order
            .items
            .iter()
            .fold((Decimal::ZERO, Decimal::ZERO), |(g, n), item| {
                let q = Decimal::from(item.quantity);
                (g + item.price.with_vat * q, n + item.price.without_vat * q)
            })
    }

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    /// The paid simplified invoice of a VAT payer with a rounding line, as recorded by a
    /// third-party FAPI connector (source C of the FAPI reference): 1,066 + 21 % VAT and a
    /// rounding line of -0.71, total 1,289 with 223.71 VAT, paid on 2018-08-31, language pl.
    fn recorded_simplified_invoice() -> serde_json::Value {
        serde_json::json!({
            "id": 239, "number": "20180020", "variable_symbol": "20180020",
            "created_on": "2018-08-31 15:04:59", "last_modified_on": "2018-08-31 15:08:08",
            "client": 23, "type": "simplified_invoice", "payment_type": "wire",
            "currency": "CZK", "language": "pl", "paid": true, "cancelled": false,
            "has_credit_note": false, "proforma": false, "simplified_invoice": true,
            "credit_note": false, "paid_on": "2018-08-31 00:00:00",
            "customer": {"name": "buyer@example.com", "email": "buyer@example.com", "address": {"country": "CZ"}},
            "form": 16,
            "items": [
                {"id": 600, "invoice": 239, "name": "simple", "code": "86096", "price": 1066, "count": 1,
                 "round_item": false, "correction_item": false, "type": "good", "vat": 21, "including_vat": false},
                {"id": 601, "invoice": 239, "name": "Zaokrouhlení", "code": null, "price": -0.71, "count": 1,
                 "round_item": true, "correction_item": false, "type": "good", "vat": 21, "including_vat": false}
            ],
            "total": 1289, "total_vat": 223.71, "total_czk": 1289, "total_vat_czk": 223.71
        })
    }

    #[test]
    fn the_recorded_simplified_invoice_is_sent_as_paid_to_the_cent() {
        let invoice = Invoice::from_json(&recorded_simplified_invoice()).unwrap();
        let order = build_order(std::slice::from_ref(&invoice), &context(None)).unwrap();
        assert_eq!(order.status, OrderStatus::Processing);
        assert_eq!(order.items.len(), 1);
        let item = &order.items[0];
        assert_eq!((item.id.as_str(), item.quantity), ("86096", 1));
        // Before: 1,066.00 / 1,289.86 (the rounding line left out); now FAPI's totals.
        assert_eq!(
            (item.price.without_vat, item.price.with_vat),
            (dec("1065.29"), dec("1289"))
        );
        assert_eq!(sums(&order), (dec("1289"), dec("1065.29")));
        assert_eq!(
            order.paid_at.as_deref(),
            Some("2018-08-31 15:04:59"),
            "paid on the day it was ordered: not before the order"
        );
        let contact = build_contact(&[invoice], None, None).unwrap();
        assert_eq!(contact.language.as_deref(), Some("pl_PL"));
    }

    #[test]
    fn discounts_and_corrections_are_spread_over_the_products_in_proportion() {
        let mut document = proforma();
        document.items = vec![
            line("1000", "1", Some(21), false),
            line("500", "1", Some(21), false),
            InvoiceItem {
                name: "Sleva 10 %".into(),
                ..line("-150", "1", Some(21), false)
            },
            InvoiceItem {
                correction_item: true,
                ..line("0.10", "1", None, false)
            },
        ];
        document.total = Some(dec("1633.60"));
        document.total_vat = Some(dec("283.50"));
        let order = build_order(&[document], &context(None)).unwrap();
        assert_eq!(
            order.items.len(),
            2,
            "the discount and correction are no products"
        );
        assert_eq!(sums(&order), (dec("1633.60"), dec("1350.10")));
        let [a, b] = [&order.items[0], &order.items[1]];
        assert_eq!(
            a.price.without_vat,
            dec("900.07"),
            "two thirds of the discount"
        );
        assert_eq!(b.price.without_vat, dec("450.03"));
        assert!(a.price.with_vat > a.price.without_vat && b.price.with_vat > b.price.without_vat);
    }

    #[test]
    fn spreading_is_exact_and_keeps_prices_positive() {
        // Three equal lines and one cent too few to share evenly: largest remainder.
        let lines = [SpreadLine {
            net: 100,
            vat: 21,
            quantity: 1,
        }; 3];
        let groups = spread(&lines, 299, 62).unwrap();
        let net: i128 = groups
            .iter()
            .flatten()
            .map(|g| g.net * i128::from(g.quantity))
            .sum();
        let gross: i128 = groups
            .iter()
            .flatten()
            .map(|g| g.gross * i128::from(g.quantity))
            .sum();
        assert_eq!((net, gross), (299, 361));
        assert_eq!(groups[0][0].net, 100, "ties go to the earlier line");
        // A tiny line next to a large one still costs a cent.
        let lines = [
            SpreadLine {
                net: 1_000_000,
                vat: 0,
                quantity: 1,
            },
            SpreadLine {
                net: 1,
                vat: 0,
                quantity: 1,
            },
        ];
        let groups = spread(&lines, 500_000, 0).unwrap();
        assert!(groups.iter().flatten().all(|g| g.net > 0));
        // A share that does not divide by the quantity: units one cent apart.
        let groups = spread(
            &[SpreadLine {
                net: 100,
                vat: 0,
                quantity: 3,
            }],
            100,
            0,
        )
        .unwrap();
        assert_eq!(
            groups[0],
            vec![
                UnitGroup {
                    quantity: 2,
                    net: 33,
                    gross: 33
                },
                UnitGroup {
                    quantity: 1,
                    net: 34,
                    gross: 34
                }
            ]
        );
        assert_eq!(
            spread(&lines, -1, 0),
            None,
            "a negative total cannot be spread"
        );
    }

    #[test]
    fn fractional_and_zero_counts_keep_the_line_total() {
        let mut document = proforma();
        document.items = vec![
            line("100", "2.5", None, false),
            line("80", "0.4", None, false),
            line("50", "0", None, false),
        ];
        document.total = Some(dec("282"));
        document.total_vat = Some(Decimal::ZERO);
        let order = build_order(&[document], &context(None)).unwrap();
        let quantities: Vec<u32> = order.items.iter().map(|i| i.quantity).collect();
        // 2.5 → 3 units for 250 (two at 83.33, one at 83.34), 0.4 → 1, 0 → 1.
        assert_eq!(quantities, [2, 1, 1, 1], "rounded, at least one");
        assert_eq!(order.items[0].price.with_vat, dec("83.33"));
        assert_eq!(
            order.items[1].price.with_vat,
            dec("83.34"),
            "250 over 3 units"
        );
        assert_eq!(
            order.items[2].price.with_vat,
            dec("32"),
            "0.4 × 80 at quantity 1"
        );
        assert_eq!(
            order.items[3].price.with_vat,
            Decimal::ZERO,
            "nothing is not 50"
        );
        assert_eq!(sums(&order).0, dec("282"));
    }

    fn credit_note(id: i64, amount: &str) -> Invoice {
        Invoice {
            id,
            number: Some(format!("ODD{id}")),
            kind: DocumentKind::CreditNote,
            paid: false,
            paid_on: None,
            parent: Some(101),
            created_on: Some(at("2026-11-05T10:00:00Z")),
            items: vec![line(amount, "1", None, false)],
            total: Some(dec(amount)),
            total_vat: Some(Decimal::ZERO),
            ..paid_invoice()
        }
    }

    #[test]
    fn a_partial_credit_note_lowers_the_value_and_keeps_the_status() {
        let documents = [proforma(), paid_invoice(), credit_note(102, "-289")];
        assert_eq!(order_state(&documents, None), FapiState::Paid);
        let order = build_order(&documents, &context(None)).unwrap();
        assert_eq!(order.status, OrderStatus::Processing);
        assert_eq!(sums(&order).0, dec("1000"));
        let refunded = order
            .attributes
            .iter()
            .find(|a| a.name == "refunded")
            .unwrap();
        assert_eq!(refunded.value, "289.00");
        assert_eq!(order_value(&documents).unwrap(), Some(dec("1000")));
    }

    #[test]
    fn credit_notes_for_the_full_amount_cancel_for_good() {
        let documents = [
            proforma(),
            paid_invoice(),
            credit_note(102, "-1000"),
            credit_note(103, "-289"),
        ];
        let order = build_order(&documents, &context(None)).unwrap();
        assert_eq!(order.status, OrderStatus::Cancelled);
        assert_eq!(sums(&order).0, dec("1289"), "the order as it was");
        // A later copy without the credit notes does not bring the order back.
        assert_eq!(
            order_state(&[paid_invoice()], Some(FapiState::Cancelled)),
            FapiState::Cancelled
        );
        // A flag alone (the credit note not seen yet) is no refund.
        let flagged = Invoice {
            has_credit_note: true,
            ..paid_invoice()
        };
        assert_eq!(order_state(&[flagged], None), FapiState::Paid);
    }

    #[test]
    fn paid_at_is_never_before_the_order() {
        let created = at("2026-11-02T09:00:00Z");
        let same_day = Invoice {
            paid_on: Some(at("2026-11-01T23:00:00Z")),
            ..paid_invoice()
        };
        assert_eq!(paid_at(&[same_day], created), Some(created));
        let next_day = paid_invoice();
        assert_eq!(
            paid_at(&[next_day], created),
            Some(at("2026-11-02T23:00:00Z"))
        );
        // A paid_on with a time counts from the start of its day.
        let with_time = Invoice {
            paid_on: Some(at("2026-11-04T15:30:00Z")),
            ..paid_invoice()
        };
        assert_eq!(
            paid_at(&[with_time], created),
            Some(at("2026-11-03T23:00:00Z"))
        );
        assert_eq!(paid_at(&[proforma()], created), None);
    }

    #[test]
    fn languages_map_to_posix_and_phones_to_cellphone_or_phone() {
        for (fapi, se) in [
            ("cs", Some("cs_CZ")),
            ("sk", Some("sk_SK")),
            ("pl", Some("pl_PL")),
            ("en", Some("en_US")),
            ("de", Some("de_DE")),
            ("hu", None),
            ("", None),
        ] {
            assert_eq!(se_language(fapi), se, "{fapi}");
        }
        assert!(is_cellphone("+420 601 000 000"));
        assert!(is_cellphone("777123456"));
        assert!(is_cellphone("+421 905 123 456"));
        assert!(!is_cellphone("+420 222 000 000"));
        assert!(!is_cellphone("+48 601 000 000"));
        let client = BuyerDetails {
            company: Some("Kavárna U Lípy s.r.o.".into()),
            phone: Some("+420 222 111 000".into()),
            ..BuyerDetails::default()
        };
        let contact = build_contact(&[proforma()], Some(&client), None).unwrap();
        assert_eq!(contact.company.as_deref(), Some("Kavárna U Lípy s.r.o."));
        assert_eq!(
            (contact.phone.as_deref(), contact.cellphone.as_deref()),
            (Some("+420 222 111 000"), None)
        );
        assert_eq!(contact.language.as_deref(), Some("cs_CZ"));
        let contact = build_contact(&[proforma()], None, None).unwrap();
        assert_eq!(
            (contact.phone.as_deref(), contact.cellphone.as_deref()),
            (None, Some("+420 601 000 000"))
        );
    }

    #[test]
    fn impossible_numbers_are_errors_not_panics() {
        let mut document = proforma();
        document.items = vec![line("100", "1", Some(-100), true)];
        let error = build_order(&[document], &context(None)).unwrap_err();
        assert!(error.to_string().contains("VAT rate of -100"), "{error}");
        let mut document = proforma();
        document.items = vec![InvoiceItem {
            price: Decimal::MAX,
            ..line("1", "2", Some(21), false)
        }];
        document.total = None;
        let error = build_order(&[document], &context(None)).unwrap_err();
        assert!(error.to_string().contains("too large"), "{error}");
        assert!(unit_price(Decimal::MAX, Some(Decimal::from(21)), false, "CZK").is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn amount() -> impl Strategy<Value = Decimal> {
            prop_oneof![
                8 => (-10_000_000i64..10_000_000).prop_map(|c| Decimal::new(c, 2)),
                1 => (-1_000_000i64..1_000_000, 0u32..6).prop_map(|(m, s)| Decimal::new(m, s)),
                1 => prop_oneof![
                    Just(Decimal::MAX),
                    Just(Decimal::MIN),
                    Just(Decimal::ZERO),
                    Just(Decimal::new(i64::MAX, 0)),
                    Just(Decimal::new(1, 28)),
                ],
            ]
        }

        fn count() -> impl Strategy<Value = Decimal> {
            prop_oneof![
                6 => (1i64..5).prop_map(Decimal::from),
                2 => (0i64..1000).prop_map(|c| Decimal::new(c, 2)),
                1 => prop_oneof![Just(Decimal::MAX), Just(Decimal::from(-2)), Just(Decimal::from(5_000_000_000i64))],
            ]
        }

        fn vat() -> impl Strategy<Value = Option<Decimal>> {
            prop_oneof![
                2 => Just(None),
                4 => prop_oneof![Just(0i64), Just(12), Just(21)].prop_map(|v| Some(Decimal::from(v))),
                1 => prop_oneof![Just(-100i64), Just(-250), Just(-50), Just(1000)].prop_map(|v| Some(Decimal::from(v))),
                1 => amount().prop_map(Some),
            ]
        }

        fn item() -> impl Strategy<Value = InvoiceItem> {
            (amount(), count(), vat(), any::<bool>(), 0u8..10).prop_map(
                |(price, count, vat, including_vat, kind)| InvoiceItem {
                    id: "1".into(),
                    name: format!("Produkt {kind}"),
                    code: (kind % 2 == 0).then(|| format!("P{kind}")),
                    price,
                    count,
                    vat,
                    including_vat,
                    round_item: kind == 8,
                    correction_item: kind == 9,
                },
            )
        }

        fn kind() -> impl Strategy<Value = DocumentKind> {
            prop_oneof![
                Just(DocumentKind::Proforma),
                Just(DocumentKind::Invoice),
                Just(DocumentKind::SimplifiedInvoice),
                Just(DocumentKind::CreditNote),
            ]
        }

        fn document() -> impl Strategy<Value = Invoice> {
            (
                (kind(), any::<bool>(), any::<bool>(), any::<bool>()),
                prop::collection::vec(item(), 0..5),
                prop_oneof![Just(None), amount().prop_map(Some)],
                prop_oneof![Just(None), amount().prop_map(Some)],
                (0i64..4_000_000_000, 0i64..4_000_000_000, any::<bool>()),
                prop_oneof![Just("CZK"), Just("EUR")],
            )
                .prop_map(
                    |(
                        (kind, paid, cancelled, flag),
                        items,
                        total,
                        total_vat,
                        (c, p, has_paid_on),
                        currency,
                    )| {
                        Invoice {
                            kind,
                            paid,
                            cancelled,
                            has_credit_note: flag,
                            items,
                            total,
                            total_vat,
                            created_on: DateTime::from_timestamp(c, 0),
                            paid_on: DateTime::from_timestamp(p, 0).filter(|_| has_paid_on),
                            currency: currency.into(),
                            ..proforma()
                        }
                    },
                )
        }

        fn documents() -> impl Strategy<Value = Vec<Invoice>> {
            prop::collection::vec(document(), 1..4).prop_map(|mut documents| {
                for (i, d) in documents.iter_mut().enumerate() {
                    d.id = 100 + i as i64;
                }
                documents
            })
        }

        fn state() -> impl Strategy<Value = Option<FapiState>> {
            prop_oneof![
                Just(None),
                Just(Some(FapiState::Unpaid)),
                Just(Some(FapiState::Paid)),
                Just(Some(FapiState::Cancelled)),
            ]
        }

        /// A product line a shop really sells: a positive price, a whole count.
        fn sane_item() -> impl Strategy<Value = InvoiceItem> {
            (
                1i64..2_000_000,
                1i64..4,
                prop_oneof![Just(None), Just(Some(0i64)), Just(Some(12)), Just(Some(21))],
                any::<bool>(),
            )
                .prop_map(|(cents, count, vat, including_vat)| InvoiceItem {
                    id: "1".into(),
                    name: format!("Produkt {cents}"),
                    code: None,
                    price: Decimal::new(cents, 2),
                    count: Decimal::from(count),
                    vat: vat.map(Decimal::from),
                    including_vat,
                    round_item: false,
                    correction_item: false,
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// Any documents: an order or a clear error, never a panic; the state never moves
            /// back; a built order's items are in the document's currency, add up to its totals
            /// (less partial refunds) to the cent, cost nothing negative, and carry VAT ≥ 0.
            #[test]
            fn the_mapping_is_total_and_keeps_its_invariants(documents in documents(), previous in state()) {
                let state = order_state(&documents, previous);
                prop_assert!(previous.is_none_or(|p| state >= p));
                let built = build_order(&documents, &context(previous));
                let _ = build_contact(&documents, None, None);
                let _ = order_value(&documents);
                if let Ok(order) = built {
                    prop_assert_eq!(order.status, se_status(state));
                    let main = principal(&documents).unwrap();
                    let (mut gross, mut vat) = document_totals(main).unwrap();
                    if let Some(refund) = refund(&documents).unwrap().filter(|r| !r.full) {
                        gross -= refund.gross;
                        vat -= refund.vat;
                    }
                    let (g, n) = sums(&order);
                    prop_assert_eq!(g, from_cents(gross));
                    prop_assert_eq!(n, from_cents(gross - vat));
                    for item in &order.items {
                        prop_assert_eq!(&item.price.currency, &main.currency);
                        prop_assert!(item.quantity >= 1);
                        prop_assert!(item.price.without_vat >= Decimal::ZERO);
                        prop_assert!(item.price.with_vat >= item.price.without_vat);
                    }
                }
            }

            /// Real invoices (positive products, a rounding line, a discount within reason,
            /// FAPI's totals): always an order, exact to the cent, every price positive.
            #[test]
            fn real_invoices_add_up_to_the_cent_with_positive_prices(
                items in prop::collection::vec(sane_item(), 1..5),
                rounding in -99i64..100,
                discount_percent in 0i64..50,
            ) {
                let mut document = paid_invoice();
                let mut lines = items.clone();
                let value: Decimal = items.iter().map(|i| {
                    let a = line_amount(0, i).unwrap();
                    a.net + a.vat
                }).sum();
                let discount = (value * Decimal::new(discount_percent, 2)).round_dp(2);
                if !discount.is_zero() {
                    lines.push(InvoiceItem { name: "Sleva".into(), price: -discount, ..line("0", "1", None, false) });
                }
                lines.push(InvoiceItem { round_item: true, price: Decimal::new(rounding, 2), ..line("0", "1", None, false) });
                let (mut net, mut vat) = (Decimal::ZERO, Decimal::ZERO);
                for l in &lines {
                    let a = line_amount(0, l).unwrap();
                    net += a.net;
                    vat += a.vat;
                }
                let total = (net + vat).round_dp(2);
                let total_vat = vat.round_dp(2);
                prop_assume!(total - total_vat >= Decimal::from(items.len() as i64 * 4));
                document.items = lines;
                document.total = Some(total);
                document.total_vat = Some(total_vat);
                let order = build_order(&[document], &context(None)).unwrap();
                prop_assert_eq!(sums(&order), (total, total - total_vat));
                for item in &order.items {
                    prop_assert!(item.price.without_vat > Decimal::ZERO);
                    prop_assert!(item.price.with_vat >= item.price.without_vat);
                }
            }
        }
    }
}
