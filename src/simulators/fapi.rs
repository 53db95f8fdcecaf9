//! The FAPI simulator: `GET /`, `/user`, `/invoices` (with paging and filters), `/invoices/count`,
//! `/invoices/{id}`, `/orders/{id}`, `/clients/{id}`, and FAPI's form notification.
//!
//! Quirks reproduced from the recordings: Prague local times without offset, `new_order` as a
//! string, keys omitted when empty (`paid_on`, `form`, customer name), the customer's `name`
//! falling back to the e-mail, errors as `{"message", "type"}` with 400/401/404, `paid_on` a
//! date (`… 00:00:00`), the buyer's company, IČ and DIČ only on the client record
//! (`/clients/{id}`), not in the document's `customer`.
//!
//! Assumed where the reference says "unknown": `limit` defaults to 100, and a larger `limit`
//! than the account's `max_page_size` (default 100, the safe assumption; one source says FAPI
//! allows no more) is refused with 400 `ValidationException`;
//! `order=id` (default) sorts ascending and `order=-id` descending; `last_modified_after`
//! compares Prague local time, inclusive.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router, middleware};
use chrono::{DateTime, Duration, Utc};
use http::{HeaderMap, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use super::czech::{self, Person, Product};
use super::faults::{self, Behaviour};
use crate::fapi::security::{HashInput, expected_security};
use crate::platform::time::{format_prague_local, parse_prague_local};

pub const DEFAULT_LOGIN: &str = "demo@fapi.example";
pub const DEFAULT_API_KEY: &str = "fapi-demo-key";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Proforma,
    Invoice,
    SimplifiedInvoice,
    CreditNote,
}

impl DocKind {
    fn code(self) -> &'static str {
        match self {
            DocKind::Proforma => "proforma",
            DocKind::Invoice => "invoice",
            DocKind::SimplifiedInvoice => "simplified_invoice",
            DocKind::CreditNote => "credit_note",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SimItem {
    pub id: i64,
    pub name: String,
    pub code: Option<String>,
    pub price: Decimal,
    pub count: Decimal,
    pub vat: Option<Decimal>,
    pub including_vat: bool,
    pub round_item: bool,
}

/// A customer as written on a document; `with_name: false` is a buyer who gave only an e-mail.
#[derive(Debug, Clone)]
pub struct SimCustomer {
    pub person: Person,
    pub with_name: bool,
}

#[derive(Debug, Clone)]
pub struct SimInvoice {
    pub id: i64,
    pub number: String,
    pub variable_symbol: String,
    pub kind: DocKind,
    pub paid: bool,
    pub paid_on: Option<DateTime<Utc>>,
    pub cancelled: bool,
    pub has_credit_note: bool,
    pub created_on: DateTime<Utc>,
    pub last_modified_on: DateTime<Utc>,
    pub new_order: i64,
    pub parent: Option<i64>,
    pub client: i64,
    pub customer: SimCustomer,
    pub items: Vec<SimItem>,
    pub currency: String,
    pub payment_type: String,
    pub form: Option<i64>,
    /// The sales form's custom fields as the buyer filled them (name, value).
    pub custom_fields: Vec<(String, String)>,
    pub shipping_method: Option<String>,
}

/// The question the simulated sales forms ask, and its answers (chosen by order id, so the
/// generated data set does not change with it).
pub const FORM_QUESTION: &str = "Jak jste se o nás dozvěděli";
const FORM_ANSWERS: [&str; 4] = ["Facebook", "Instagram", "Doporučení", "Google"];
const SHIPPING_METHODS: [&str; 3] = ["Zásilkovna", "Česká pošta", "Osobní odběr"];

/// The page size a simulated account allows unless told otherwise (see the module comment).
pub const DEFAULT_MAX_PAGE_SIZE: usize = 100;

/// What the simulated account holds.
pub struct FapiStore {
    pub login: String,
    pub api_key: String,
    /// VAT payers have `vat`/`including_vat` on items; others do not.
    pub vat_payer: bool,
    pub invoices: BTreeMap<i64, SimInvoice>,
    /// Order id → its first document.
    pub orders: BTreeMap<i64, (i64, DateTime<Utc>)>,
    pub clients: BTreeMap<i64, Person>,
    /// E-mail → client id: generating 100,000 orders stays linear.
    client_ids: std::collections::HashMap<String, i64>,
    next_invoice_id: i64,
    next_item_id: i64,
    next_order_id: i64,
    next_client_id: i64,
    next_number: u64,
    /// Raw JSON served instead of a stored invoice (tests of malformed answers).
    pub raw_overrides: BTreeMap<i64, Value>,
    /// The largest `limit` a list request may ask for; more is a 400 `ValidationException`.
    pub max_page_size: usize,
    rng: StdRng,
    people_served: u64,
}

impl FapiStore {
    pub fn new(login: &str, api_key: &str, seed: u64) -> FapiStore {
        FapiStore {
            login: login.to_string(),
            api_key: api_key.to_string(),
            vat_payer: true,
            invoices: BTreeMap::new(),
            orders: BTreeMap::new(),
            clients: BTreeMap::new(),
            client_ids: Default::default(),
            next_invoice_id: 185_993_812,
            next_item_id: 10_182_751,
            next_order_id: 3_023_569,
            next_client_id: 1_808_089,
            next_number: 1,
            raw_overrides: BTreeMap::new(),
            max_page_size: DEFAULT_MAX_PAGE_SIZE,
            rng: StdRng::seed_from_u64(seed),
            people_served: 0,
        }
    }

    /// A new buyer (random, unique e-mail).
    pub fn new_customer(&mut self) -> SimCustomer {
        self.people_served += 1;
        let person = czech::person(&mut self.rng, self.people_served);
        let with_name = self.rng.gen_bool(0.85);
        SimCustomer { person, with_name }
    }

    fn items_for(&mut self, products: &[(Product, u32)], currency: &str) -> Vec<SimItem> {
        let mut items = Vec::new();
        let mut gross = Decimal::ZERO;
        for (product, count) in products {
            let price = if currency == "EUR" {
                product.price_eur
            } else {
                product.price_czk
            };
            let count = Decimal::from(*count);
            let vat = self.vat_payer.then_some(product.vat);
            let line_gross = match vat {
                Some(vat) => (price * (Decimal::ONE + vat / Decimal::ONE_HUNDRED)).round_dp(2),
                None => price,
            };
            gross += line_gross * count;
            self.next_item_id += 1;
            items.push(SimItem {
                id: self.next_item_id,
                name: product.name.to_string(),
                code: product.code.map(str::to_string),
                price,
                count,
                vat,
                including_vat: false,
                round_item: false,
            });
        }
        // CZK totals are rounded to whole crowns with a "Zaokrouhlení" line.
        let rounded = gross.round();
        if currency == "CZK" && rounded != gross {
            self.next_item_id += 1;
            items.push(SimItem {
                id: self.next_item_id,
                name: "Zaokrouhlení".into(),
                code: None,
                price: rounded - gross,
                count: Decimal::ONE,
                vat: self.vat_payer.then_some(Decimal::ZERO),
                including_vat: true,
                round_item: true,
            });
        }
        items
    }

    fn next_number(&mut self, at: DateTime<Utc>) -> String {
        let number = format!(
            "{}{:06}",
            crate::platform::time::to_prague(at).format("%Y"),
            self.next_number
        );
        self.next_number += 1;
        number
    }

    fn client_for(&mut self, customer: &SimCustomer) -> i64 {
        if let Some(id) = self.client_ids.get(&customer.person.email) {
            return *id;
        }
        self.next_client_id += 1;
        self.clients
            .insert(self.next_client_id, customer.person.clone());
        self.client_ids
            .insert(customer.person.email.clone(), self.next_client_id);
        self.next_client_id
    }

    /// A new order: a proforma (or, without proforma, an unpaid invoice). Returns the document id.
    pub fn create_order(
        &mut self,
        customer: SimCustomer,
        products: &[(Product, u32)],
        currency: &str,
        with_proforma: bool,
        at: DateTime<Utc>,
    ) -> i64 {
        self.next_order_id += 1;
        let order_id = self.next_order_id;
        let items = self.items_for(products, currency);
        let client = self.client_for(&customer);
        self.next_invoice_id += 1;
        let id = self.next_invoice_id;
        let number = self.next_number(at);
        let payment_type = if self.rng.gen_bool(0.6) {
            "credit card"
        } else {
            "wire"
        };
        let form = self
            .rng
            .gen_bool(0.9)
            .then(|| self.rng.gen_range(60_690..60_699));
        self.invoices.insert(
            id,
            SimInvoice {
                id,
                variable_symbol: number.clone(),
                number,
                kind: if with_proforma {
                    DocKind::Proforma
                } else {
                    DocKind::Invoice
                },
                paid: false,
                paid_on: None,
                cancelled: false,
                has_credit_note: false,
                created_on: at,
                last_modified_on: at,
                new_order: order_id,
                parent: None,
                client,
                customer,
                items,
                currency: currency.to_string(),
                payment_type: payment_type.to_string(),
                custom_fields: form
                    .map(|_| {
                        let answer = FORM_ANSWERS[order_id as usize % FORM_ANSWERS.len()];
                        vec![(FORM_QUESTION.to_string(), answer.to_string())]
                    })
                    .unwrap_or_default(),
                shipping_method: Some(
                    SHIPPING_METHODS[order_id as usize % SHIPPING_METHODS.len()].to_string(),
                ),
                form,
            },
        );
        self.orders.insert(order_id, (id, at));
        id
    }

    /// Marks a document paid; a paid proforma gets its final invoice (`parent` = proforma),
    /// whose id is returned.
    pub fn pay(&mut self, invoice_id: i64, at: DateTime<Utc>) -> Option<i64> {
        let document = self.invoices.get_mut(&invoice_id)?;
        document.paid = true;
        document.paid_on = Some(at);
        document.last_modified_on = at;
        if document.kind != DocKind::Proforma {
            return None;
        }
        let mut final_invoice = document.clone();
        self.next_invoice_id += 1;
        final_invoice.id = self.next_invoice_id;
        final_invoice.kind = DocKind::Invoice;
        final_invoice.parent = Some(invoice_id);
        final_invoice.created_on = at;
        final_invoice.number = self.next_number(at);
        for item in &mut final_invoice.items {
            self.next_item_id += 1;
            item.id = self.next_item_id;
        }
        let id = final_invoice.id;
        self.invoices.insert(id, final_invoice);
        Some(id)
    }

    /// Storno of a document.
    pub fn cancel(&mut self, invoice_id: i64, at: DateTime<Utc>) {
        if let Some(document) = self.invoices.get_mut(&invoice_id) {
            document.cancelled = true;
            document.last_modified_on = at;
        }
    }

    /// A credit note for a (paid) invoice; returns its id.
    pub fn credit(&mut self, invoice_id: i64, at: DateTime<Utc>) -> Option<i64> {
        let document = self.invoices.get_mut(&invoice_id)?;
        document.has_credit_note = true;
        document.last_modified_on = at;
        let mut note = document.clone();
        self.next_invoice_id += 1;
        note.id = self.next_invoice_id;
        note.kind = DocKind::CreditNote;
        note.parent = Some(invoice_id);
        note.has_credit_note = false;
        note.created_on = at;
        note.number = self.next_number(at);
        for item in &mut note.items {
            self.next_item_id += 1;
            item.id = self.next_item_id;
            item.price = -item.price;
        }
        let id = note.id;
        self.invoices.insert(id, note);
        Some(id)
    }

    /// `count` orders spread between `from` and `to`, in every state a shop sees: paid via
    /// proforma, unpaid, cancelled, paid without proforma, refunded, simplified invoices;
    /// CZK and EUR; buyers with and without names.
    pub fn generate(&mut self, count: usize, from: DateTime<Utc>, to: DateTime<Utc>) {
        let catalogue = czech::products();
        let span = (to - from).num_seconds().max(1);
        let mut starts: Vec<i64> = (0..count).map(|_| self.rng.gen_range(0..span)).collect();
        starts.sort_unstable();
        for offset in starts {
            let at = from + Duration::seconds(offset);
            let customer = self.new_customer();
            let lines = self.rng.gen_range(1..=3);
            let products: Vec<(Product, u32)> = (0..lines)
                .map(|_| {
                    let product = catalogue[self.rng.gen_range(0..catalogue.len())].clone();
                    (product, if self.rng.gen_bool(0.9) { 1 } else { 2 })
                })
                .collect();
            let currency = if self.rng.gen_bool(0.1) { "EUR" } else { "CZK" };
            let paid_at = at + Duration::minutes(self.rng.gen_range(2..60 * 48));
            let flow = self.rng.gen_range(0..100);
            match flow {
                0..=54 => {
                    let id = self.create_order(customer, &products, currency, true, at);
                    self.pay(id, paid_at);
                }
                55..=69 => {
                    self.create_order(customer, &products, currency, true, at);
                }
                70..=77 => {
                    let id = self.create_order(customer, &products, currency, true, at);
                    self.cancel(id, paid_at);
                }
                78..=87 => {
                    let id = self.create_order(customer, &products, currency, false, at);
                    self.pay(id, paid_at);
                }
                88..=94 => {
                    let id = self.create_order(customer, &products, currency, true, at);
                    if let Some(invoice) = self.pay(id, paid_at) {
                        self.credit(invoice, paid_at + Duration::days(3));
                    }
                }
                _ => {
                    let id = self.create_order(customer, &products, currency, false, at);
                    if let Some(document) = self.invoices.get_mut(&id) {
                        document.kind = DocKind::SimplifiedInvoice;
                    }
                    self.pay(id, at);
                }
            }
        }
    }

    /// The invoice as FAPI's API returns it.
    pub fn invoice_json(&self, id: i64) -> Option<Value> {
        if let Some(raw) = self.raw_overrides.get(&id) {
            return Some(raw.clone());
        }
        self.invoices.get(&id).map(|invoice| self.render(invoice))
    }

    fn render(&self, invoice: &SimInvoice) -> Value {
        let mut total = Decimal::ZERO;
        let mut total_vat = Decimal::ZERO;
        let items: Vec<Value> = invoice
            .items
            .iter()
            .map(|item| {
                let (gross, vat_part) = match item.vat {
                    Some(rate) if item.including_vat => {
                        let gross = item.price;
                        (
                            gross,
                            gross - gross / (Decimal::ONE + rate / Decimal::ONE_HUNDRED),
                        )
                    }
                    Some(rate) => {
                        let net = item.price;
                        (
                            net * (Decimal::ONE + rate / Decimal::ONE_HUNDRED),
                            net * rate / Decimal::ONE_HUNDRED,
                        )
                    }
                    None => (item.price, Decimal::ZERO),
                };
                total += gross * item.count;
                total_vat += vat_part * item.count;
                let mut line = json!({
                    "id": item.id,
                    "invoice": invoice.id,
                    "name": item.name,
                    "code": item.code,
                    "accounting_code": null,
                    "price": number(item.price),
                    "count": number(item.count),
                    "type": "good",
                    "round_item": item.round_item,
                    "correction_item": false,
                    "moss": false,
                });
                if let Some(rate) = item.vat {
                    line["vat"] = number(rate);
                    line["including_vat"] = Value::Bool(item.including_vat);
                }
                line
            })
            .collect();
        let person = &invoice.customer.person;
        let mut customer = json!({
            // FAPI writes the e-mail where a buyer gave no name.
            "name": if invoice.customer.with_name {
                format!("{} {}", person.first_name, person.last_name)
            } else {
                person.email.clone()
            },
            "email": person.email,
        });
        if invoice.customer.with_name {
            customer["first_name"] = json!(person.first_name);
            customer["last_name"] = json!(person.last_name);
            customer["phone"] = json!(person.phone);
            customer["address"] = json!({
                "street": person.street, "city": person.city, "zip": person.zip, "country": "CZ"
            });
            customer["shipping_address"] = Value::Null;
        }
        let mut body = json!({
            "id": invoice.id,
            "number": invoice.number,
            "variable_symbol": invoice.variable_symbol,
            "created_on": format_prague_local(invoice.created_on),
            "last_modified_on": format_prague_local(invoice.last_modified_on),
            "create_date": crate::platform::time::to_prague(invoice.created_on).format("%Y-%m-%d").to_string(),
            "payday_date": crate::platform::time::to_prague(invoice.created_on + Duration::days(14)).format("%Y-%m-%d").to_string(),
            "client": invoice.client,
            "type": invoice.kind.code(),
            "proforma": invoice.kind == DocKind::Proforma,
            "simplified_invoice": invoice.kind == DocKind::SimplifiedInvoice,
            "credit_note": invoice.kind == DocKind::CreditNote,
            "payment_confirmation": false,
            "payment_type": invoice.payment_type,
            "currency": invoice.currency,
            "exchange_rate_czk": if invoice.currency == "EUR" { json!("24.71500000000000000000") } else { json!(1) },
            "exchange_rate": 1,
            "language": "cs",
            "paid": invoice.paid,
            "cancelled": invoice.cancelled,
            "cancellation_reason": null,
            "has_credit_note": invoice.has_credit_note,
            "new_order": invoice.new_order.to_string(),
            "parent": invoice.parent,
            "project": 31862,
            "supplier": {
                "name": "Simulovaný obchod s.r.o.", "ic": "12345678", "email": "info@obchod.example",
                "address": {"street": "Ulice 1", "city": "Praha", "zip": "110 00", "country": "CZ"}
            },
            "customer": customer,
            "items": items,
            "total": number(total.round_dp(2)),
            "total_vat": number(total_vat.round_dp(2)),
            "form_url": invoice.form.map(|_| "https://www.obchod.example/kurz/"),
            "labels": [],
            "custom_fields": invoice
                .custom_fields
                .iter()
                .enumerate()
                .map(|(i, (name, value))| json!({
                    "invoice_custom_fields_data_id": invoice.id * 10 + i as i64,
                    "custom_field_id": 1117 + i as i64,
                    "name": name,
                    "value": value,
                    "type": "text",
                }))
                .collect::<Vec<_>>(),
            "shipping_method": invoice.shipping_method.as_ref().map(|name| json!({ "id": 3, "name": name })),
        });
        if let Some(paid_on) = invoice.paid_on {
            // A date, as FAPI has it.
            body["paid_on"] = json!(format!(
                "{} 00:00:00",
                crate::platform::time::to_prague(paid_on).format("%Y-%m-%d")
            ));
        }
        if let Some(form) = invoice.form {
            body["form"] = json!(form);
        }
        if invoice.parent.is_none() {
            body.as_object_mut().expect("object").remove("parent");
        }
        body
    }

    /// `(time, security)` for a notification about `invoice_id`, computed like FAPI does.
    pub fn notification(&self, invoice_id: i64, time: i64) -> Option<(String, String)> {
        let body = self.invoice_json(invoice_id)?;
        let raw = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let items: Vec<(String, String)> = body["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|i| (raw(&i["id"]), raw(&i["name"])))
                    .collect()
            })
            .unwrap_or_default();
        let id = raw(&body["id"]);
        let number = raw(&body["number"]);
        let input = HashInput {
            invoice_id: &id,
            number: &number,
            items: items
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect(),
        };
        let time = time.to_string();
        let security = expected_security(&time, &input);
        Some((time, security))
    }
}

fn number(value: Decimal) -> Value {
    let value = value.normalize();
    if value.scale() == 0 {
        value.to_i64().map(Value::from).unwrap_or(Value::Null)
    } else {
        value.to_f64().map(Value::from).unwrap_or(Value::Null)
    }
}

/// The simulator: the store, its behaviour (faults, request log) and the HTTP routes.
#[derive(Clone)]
pub struct FapiSimulator {
    pub store: Arc<Mutex<FapiStore>>,
    pub behaviour: Behaviour,
}

impl FapiSimulator {
    pub fn new(store: FapiStore) -> FapiSimulator {
        FapiSimulator {
            store: Arc::new(Mutex::new(store)),
            behaviour: Behaviour::default(),
        }
    }

    pub fn with_default_account(seed: u64) -> FapiSimulator {
        FapiSimulator::new(FapiStore::new(DEFAULT_LOGIN, DEFAULT_API_KEY, seed))
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(root))
            .route("/user", get(user))
            .route("/invoices", get(list_invoices))
            .route("/invoices/count", get(count_invoices))
            .route("/invoices/{id}", get(get_invoice))
            .route("/orders/{id}", get(get_order))
            .route("/clients", get(list_clients))
            .route("/clients/{id}", get(get_client))
            .route("/_simulator/orders", axum::routing::post(simulate_order))
            .with_state(self.clone())
            .merge(faults::control_routes(self.behaviour.clone()))
            .layer(middleware::from_fn_with_state(
                self.behaviour.clone(),
                faults::apply,
            ))
    }

    /// Sends FAPI's notification about `invoice_id` to `url` as a form POST.
    pub async fn notify(&self, url: &str, invoice_id: i64) -> reqwest::Result<reqwest::Response> {
        let notification = {
            let store = self.store.lock().expect("store lock");
            store.notification(invoice_id, Utc::now().timestamp())
        };
        let (time, security) =
            notification.unwrap_or_else(|| (Utc::now().timestamp().to_string(), String::new()));
        reqwest::Client::new()
            .post(url)
            .form(&[
                ("id", invoice_id.to_string()),
                ("time", time),
                ("security", security),
            ])
            .send()
            .await
    }
}

/// `POST /_simulator/orders` `{"email"?: "...", "notify"?: "<webhook URL>"}`: a new order
/// placed now (a proforma), optionally notified to the bridge like FAPI does. For driving a
/// standalone simulator (end-to-end tests, trying the bridge by hand).
async fn simulate_order(State(sim): State<FapiSimulator>, Json(request): Json<Value>) -> Response {
    let id = {
        let mut store = sim.store.lock().expect("store lock");
        let mut customer = store.new_customer();
        if let Some(email) = request["email"].as_str() {
            customer.person.email = email.to_string();
        }
        let product = super::czech::products()[0].clone();
        let id = store.create_order(customer, &[(product, 1)], "CZK", true, Utc::now());
        // Custom fields as the buyer filled them in the form: `{"custom_fields": {name: value}}`.
        if let Some(fields) = request["custom_fields"].as_object() {
            let invoice = store.invoices.get_mut(&id).expect("just created");
            invoice.custom_fields = fields
                .iter()
                .map(|(name, value)| {
                    let value = value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_string);
                    (name.clone(), value)
                })
                .collect();
        }
        id
    };
    let order = sim.store.lock().expect("store lock").invoices[&id].new_order;
    let notified = match request["notify"].as_str() {
        Some(url) => match sim.notify(url, id).await {
            Ok(response) => Some(response.status().as_u16()),
            Err(_) => None,
        },
        None => None,
    };
    Json(json!({ "invoice_id": id, "order_id": order, "notified": notified })).into_response()
}

fn error(status: StatusCode, message: &str, kind: &str) -> Response {
    (status, Json(json!({ "message": message, "type": kind }))).into_response()
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "Specified resource does not exist.",
        "RequestException",
    )
}

/// Basic auth against the account; `Err` is the 401 FAPI answers.
fn authorized(sim: &FapiSimulator, headers: &HeaderMap) -> bool {
    let store = sim.store.lock().expect("store lock");
    matches!(super::basic_auth(headers), Some((login, key)) if login == store.login && key == store.api_key)
}

/// The answer to missing or wrong credentials.
fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "Invalid password.",
        "AuthenticationException",
    )
}

async fn root(State(sim): State<FapiSimulator>, headers: HeaderMap) -> Response {
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    Json(json!({})).into_response()
}

async fn user(State(sim): State<FapiSimulator>, headers: HeaderMap) -> Response {
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let login = sim.store.lock().expect("store lock").login.clone();
    Json(json!({ "id": 13057, "plan": "business", "username": login, "name": "Simulovaný obchod" }))
        .into_response()
}

type Params = BTreeMap<String, String>;

/// The filters and order of a list or count query.
struct Selection {
    modified_after: Option<DateTime<Utc>>,
    created_from: Option<DateTime<Utc>>,
    created_to: Option<DateTime<Utc>>,
    parent: Option<i64>,
    kind: Option<String>,
    descending: bool,
}

impl Selection {
    /// `Err` names the parameter FAPI would refuse.
    fn parse(params: &Params) -> Result<Selection, &'static str> {
        let time = |field: &'static str| -> Result<Option<DateTime<Utc>>, &'static str> {
            params
                .get(field)
                .map(|text| parse_prague_local(text).ok_or(field))
                .transpose()
        };
        Ok(Selection {
            modified_after: time("last_modified_after")?,
            created_from: time("created_on_from")?,
            created_to: time("created_on_to")?,
            parent: params
                .get("parent")
                .map(|p| p.parse::<i64>().map_err(|_| "parent"))
                .transpose()?,
            kind: params.get("type").cloned(),
            descending: match params.get("order").map(String::as_str) {
                None | Some("id") => false,
                Some("-id") => true,
                Some(_) => return Err("order"),
            },
        })
    }

    fn matches(&self, i: &SimInvoice) -> bool {
        self.modified_after.is_none_or(|t| i.last_modified_on >= t)
            && self.created_from.is_none_or(|t| i.created_on >= t)
            && self.created_to.is_none_or(|t| i.created_on <= t)
            && self.parent.is_none_or(|p| i.parent == Some(p))
            && self.kind.as_deref().is_none_or(|k| i.kind.code() == k)
    }

    /// The selected invoices' ids in order, with the raw answers served in their place.
    fn ids(&self, store: &FapiStore) -> Vec<i64> {
        let mut ids: Vec<i64> = store
            .invoices
            .values()
            .filter(|i| self.matches(i))
            .map(|i| i.id)
            .chain(
                store
                    .raw_overrides
                    .keys()
                    .copied()
                    .filter(|id| !store.invoices.contains_key(id)),
            )
            .collect();
        ids.sort_unstable();
        if self.descending {
            ids.reverse();
        }
        ids
    }

    /// One page of the selection as FAPI's JSON. Without raw answers (every test but those of
    /// malformed answers) it walks the invoices in id order and stops after the page.
    fn page(&self, store: &FapiStore, offset: usize, limit: usize) -> Vec<Value> {
        if !store.raw_overrides.is_empty() {
            return self
                .ids(store)
                .into_iter()
                .skip(offset)
                .take(limit)
                .filter_map(|id| store.invoice_json(id))
                .collect();
        }
        let matching = store.invoices.values().filter(|i| self.matches(i));
        let page: Vec<&SimInvoice> = if self.descending {
            matching.rev().skip(offset).take(limit).collect()
        } else {
            matching.skip(offset).take(limit).collect()
        };
        page.into_iter().map(|i| store.render(i)).collect()
    }
}

fn invalid_parameter(field: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        &format!("Invalid value of parameter {field}."),
        "ValidationException",
    )
}

/// A list request's `offset` and `limit` (100 when not given); a `limit` above the account's
/// maximum page is refused as FAPI would.
fn page_of(params: &Params, store: &FapiStore) -> Result<(usize, usize), Box<Response>> {
    let limit = match params.get("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(limit)) if (1..=store.max_page_size).contains(&limit) => limit,
        Some(Ok(limit)) if limit > store.max_page_size => {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                &format!("Limit must be at most {}.", store.max_page_size),
                "ValidationException",
            )));
        }
        Some(_) => return Err(Box::new(invalid_parameter("limit"))),
    };
    let offset = params
        .get("offset")
        .and_then(|o| o.parse::<usize>().ok())
        .unwrap_or(0);
    Ok((offset, limit))
}

async fn list_invoices(
    State(sim): State<FapiSimulator>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let store = sim.store.lock().expect("store lock");
    let selection = match Selection::parse(&params) {
        Ok(selection) => selection,
        Err(field) => return invalid_parameter(field),
    };
    let (offset, limit) = match page_of(&params, &store) {
        Ok(page) => page,
        Err(refused) => return *refused,
    };
    let invoices = selection.page(&store, offset, limit);
    Json(json!({ "invoices": invoices })).into_response()
}

async fn count_invoices(
    State(sim): State<FapiSimulator>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let store = sim.store.lock().expect("store lock");
    match Selection::parse(&params) {
        Ok(selection) => Json(json!({ "count": selection.ids(&store).len() })).into_response(),
        Err(field) => invalid_parameter(field),
    }
}

async fn get_invoice(
    State(sim): State<FapiSimulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let store = sim.store.lock().expect("store lock");
    match id.parse::<i64>().ok().and_then(|id| store.invoice_json(id)) {
        Some(body) => Json(body).into_response(),
        None => not_found(),
    }
}

async fn get_order(
    State(sim): State<FapiSimulator>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let store = sim.store.lock().expect("store lock");
    let Some((first_document, created)) = store.orders.get(&id).copied() else {
        return not_found();
    };
    let Some(invoice) = store.invoices.get(&first_document) else {
        return not_found();
    };
    let person = &invoice.customer.person;
    Json(json!({
        "id": id,
        "form": invoice.form,
        "created": format_prague_local(created),
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "phone": person.phone,
        "company": person.company,
        "address": { "street": person.street, "city": person.city, "zip": person.zip, "country": "CZ", "company": person.company },
        "payment_type": invoice.payment_type,
        "currency": invoice.currency,
        "pending": !invoice.paid,
        "client": invoice.client,
        "invoice": first_document,
    }))
    .into_response()
}

async fn get_client(
    State(sim): State<FapiSimulator>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let store = sim.store.lock().expect("store lock");
    let Some(person) = store.clients.get(&id) else {
        return not_found();
    };
    Json(render_client(id, person)).into_response()
}

/// `GET /clients?limit=&offset=`: the account's clients in id order, `{"clients": [...]}`;
/// pages no larger than the account allows, like `/invoices`.
async fn list_clients(
    State(sim): State<FapiSimulator>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let store = sim.store.lock().expect("store lock");
    let (offset, limit) = match page_of(&params, &store) {
        Ok(page) => page,
        Err(refused) => return *refused,
    };
    let clients: Vec<Value> = store
        .clients
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(id, person)| render_client(*id, person))
        .collect();
    Json(json!({ "clients": clients })).into_response()
}

/// A client record as FAPI answers it; keys without a value are left out, as FAPI does.
fn render_client(id: i64, person: &Person) -> Value {
    let mut body = json!({
        "id": id, "email": person.email, "tax_payer": person.dic.is_some(),
        "first_name": person.first_name, "last_name": person.last_name, "phone": person.phone,
        "address": { "street": person.street, "city": person.city, "zip": person.zip, "country": "CZ" },
    });
    for (key, value) in [
        ("company", &person.company),
        ("ic", &person.ic),
        ("dic", &person.dic),
    ] {
        if let Some(value) = value {
            body[key] = json!(value);
        }
    }
    body
}
