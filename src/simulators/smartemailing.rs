//! The SmartEmailing simulator (API v3 under `/api/v3`): credentials check, contact import,
//! order import keyed by e-shop name + code, contact lists, contacts with paging and filters,
//! GDPR forget, contact custom fields with options (`GET /customfields`, values in imports).
//!
//! Behaviour follows the reference: envelopes `{status, meta, message, data}`, 401
//! "Authentication Failed", 422 for invalid e-mails unless skipping is asked for, at most 500
//! items per import, `preserve_unsubscribed`, `blacklisted = 1` unsubscribing from every list,
//! orders of unknown e-mails creating list-less contacts.
//!
//! Assumed where the reference says "unknown": `/import-orders` upserts on (`eshop_name`,
//! `eshop_code`) and answers `201 {"status":"created","meta":[],"message":null}`; the cancelled
//! status is accepted as `cancelled` and as `canceled` unless the account is set to accept only
//! one ([`SeStore::cancelled_spelling`]; the other is then a 422 "Invalid order status …");
//! the `emailaddress` filter matches the whole address (or, when
//! [`SeStore::lookup_matches_part`] is set, any address containing it); a 501st item is refused
//! with 422; a custom field or option that does not exist in an import is a 422 for the whole
//! request ("Customfield 12 does not exist.").

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router, middleware};
use chrono::{DateTime, Utc};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::faults::{self, Behaviour};
use crate::smartemailing::ListStatus;

pub const DEFAULT_USERNAME: &str = "demo@smartemailing.example";
pub const DEFAULT_API_KEY: &str = "se-demo-key";
const LIMIT: usize = 500;

#[derive(Debug, Clone, PartialEq)]
pub struct SimContact {
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    pub surname: Option<String>,
    pub company: Option<String>,
    pub phone: Option<String>,
    pub street: Option<String>,
    pub town: Option<String>,
    pub postalcode: Option<String>,
    pub country: Option<String>,
    pub blacklisted: bool,
    /// List id → status.
    pub lists: BTreeMap<i64, ListStatus>,
    /// Custom field id → its value: text, or the chosen options' ids.
    pub customfields: BTreeMap<i64, SimFieldValue>,
    pub created: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SimFieldValue {
    Text(String),
    Options(Vec<i64>),
}

/// A contact custom field of the account.
#[derive(Debug, Clone, PartialEq)]
pub struct SimCustomField {
    pub id: i64,
    pub name: String,
    /// `text`, `select`, `radio`, `checkbox` …
    pub field_type: String,
    /// Option id → name.
    pub options: BTreeMap<i64, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimOrder {
    /// The order as last received.
    pub body: Value,
    pub contact_id: i64,
    /// How many times this order key was received (1 = created, more = updated).
    pub received: u32,
}

pub struct SeStore {
    pub username: String,
    pub api_key: String,
    pub contacts: BTreeMap<i64, SimContact>,
    by_email: HashMap<String, i64>,
    /// List id → name.
    pub lists: BTreeMap<i64, String>,
    /// (eshop_name, eshop_code) → order.
    pub orders: BTreeMap<(String, String), SimOrder>,
    next_contact_id: i64,
    next_list_id: i64,
    /// The only spelling of the cancelled status this account accepts; `None`: both.
    pub cancelled_spelling: Option<String>,
    /// `GET /contacts?emailaddress=` matches every address that contains the value.
    pub lookup_matches_part: bool,
    /// Contact custom fields by id.
    pub custom_fields: BTreeMap<i64, SimCustomField>,
    next_field_id: i64,
}

impl SeStore {
    pub fn new(username: &str, api_key: &str) -> SeStore {
        SeStore {
            username: username.to_string(),
            api_key: api_key.to_string(),
            contacts: BTreeMap::new(),
            by_email: HashMap::new(),
            lists: BTreeMap::new(),
            orders: BTreeMap::new(),
            next_contact_id: 6_722_449,
            next_list_id: 769,
            cancelled_spelling: None,
            lookup_matches_part: false,
            custom_fields: BTreeMap::new(),
            next_field_id: 120,
        }
    }

    /// Adds a contact custom field (with options for a choice field); its id and the options'.
    pub fn add_custom_field(
        &mut self,
        name: &str,
        field_type: &str,
        options: &[&str],
    ) -> (i64, Vec<i64>) {
        self.next_field_id += 1;
        let id = self.next_field_id;
        let options: BTreeMap<i64, String> = options
            .iter()
            .enumerate()
            .map(|(i, name)| (id * 100 + i as i64 + 1, name.to_string()))
            .collect();
        let option_ids = options.keys().copied().collect();
        self.custom_fields.insert(
            id,
            SimCustomField {
                id,
                name: name.to_string(),
                field_type: field_type.to_string(),
                options,
            },
        );
        (id, option_ids)
    }

    /// Why an import's custom-field values cannot be taken, if they cannot.
    fn custom_field_problem(&self, contact: &Value) -> Option<String> {
        for value in contact["customfields"].as_array().into_iter().flatten() {
            let id = value["id"].as_i64().unwrap_or_default();
            let Some(field) = self.custom_fields.get(&id) else {
                return Some(format!("Customfield {id} does not exist."));
            };
            for option in value["options"].as_array().into_iter().flatten() {
                let option = option.as_i64().unwrap_or_default();
                if !field.options.contains_key(&option) {
                    return Some(format!(
                        "Customfield option {option} does not exist in customfield {id}."
                    ));
                }
            }
        }
        None
    }

    pub fn add_list(&mut self, name: &str) -> i64 {
        self.next_list_id += 1;
        self.lists.insert(self.next_list_id, name.to_string());
        self.next_list_id
    }

    pub fn contact(&self, email: &str) -> Option<&SimContact> {
        self.by_email
            .get(&email.trim().to_lowercase())
            .and_then(|id| self.contacts.get(id))
    }

    /// What someone does inside SmartEmailing's UI: puts a contact into a list (or out of it).
    pub fn set_membership(&mut self, email: &str, list: i64, status: ListStatus) -> bool {
        let Some(id) = self.by_email.get(&email.trim().to_lowercase()).copied() else {
            return false;
        };
        if let Some(contact) = self.contacts.get_mut(&id) {
            contact.lists.insert(list, status);
        }
        true
    }

    /// Removes a contact (someone deleted it in SmartEmailing's UI); whether it existed.
    pub fn remove_contact(&mut self, email: &str) -> bool {
        match self.by_email.remove(&email.trim().to_lowercase()) {
            Some(id) => self.contacts.remove(&id).is_some(),
            None => false,
        }
    }

    pub fn contact_or_create(&mut self, email: &str) -> &mut SimContact {
        let email = email.trim().to_lowercase();
        let id = match self.by_email.get(&email) {
            Some(id) => *id,
            None => {
                self.next_contact_id += 1;
                let id = self.next_contact_id;
                self.by_email.insert(email.clone(), id);
                self.contacts.insert(
                    id,
                    SimContact {
                        id,
                        email,
                        name: None,
                        surname: None,
                        company: None,
                        phone: None,
                        street: None,
                        town: None,
                        postalcode: None,
                        country: None,
                        blacklisted: false,
                        lists: BTreeMap::new(),
                        customfields: BTreeMap::new(),
                        created: Utc::now(),
                    },
                );
                id
            }
        };
        self.contacts.get_mut(&id).expect("just ensured")
    }

    pub fn orders_of(&self, email: &str) -> Vec<&SimOrder> {
        let Some(contact) = self.contact(email) else {
            return Vec::new();
        };
        self.orders
            .values()
            .filter(|o| o.contact_id == contact.id)
            .collect()
    }

    fn contact_json(&self, contact: &SimContact) -> Value {
        let lists: Vec<Value> = contact
            .lists
            .iter()
            .map(|(list, status)| {
                json!({
                    "id": contact.id * 1000 + list, "contactlist_id": list, "contact_id": contact.id,
                    "status": status, "added": "2026-01-01 00:00:00", "updated": null
                })
            })
            .collect();
        json!({
            "id": contact.id,
            "guid": format!("df2198a1-4027-11e5-8cf3-{:012x}", contact.id),
            "emailaddress": contact.email,
            "name": contact.name,
            "surname": contact.surname,
            "company": contact.company,
            "phone": contact.phone,
            "street": contact.street,
            "town": contact.town,
            "postalcode": contact.postalcode,
            "country": contact.country,
            "language": "cs_CZ",
            "gender": null,
            "blacklisted": u8::from(contact.blacklisted),
            "created": crate::platform::time::format_prague_local(contact.created),
            "updated": null,
            "last_opened": null,
            "last_clicked": null,
            "softbounced": 0,
            "hardbounced": 0,
            "contactlists": lists,
            // As `expand=customfields` shows them: one row per value, one per chosen option.
            "customfields": contact.customfields.iter().flat_map(|(field, value)| match value {
                SimFieldValue::Text(text) => vec![json!({
                    "customfield_id": field, "value": text, "customfield_options_id": null
                })],
                SimFieldValue::Options(options) => options.iter().map(|option| json!({
                    "customfield_id": field, "value": null, "customfield_options_id": option
                })).collect(),
            }).collect::<Vec<_>>(),
        })
    }
}

#[derive(Clone)]
pub struct SmartEmailingSimulator {
    pub store: Arc<Mutex<SeStore>>,
    pub behaviour: Behaviour,
}

impl SmartEmailingSimulator {
    pub fn new(store: SeStore) -> SmartEmailingSimulator {
        SmartEmailingSimulator {
            store: Arc::new(Mutex::new(store)),
            behaviour: Behaviour::default(),
        }
    }

    pub fn with_default_account() -> SmartEmailingSimulator {
        let mut store = SeStore::new(DEFAULT_USERNAME, DEFAULT_API_KEY);
        store.add_list("Zákazníci");
        store.add_list("Newsletter");
        store.add_custom_field(
            "Odkud o nás ví",
            "select",
            &["Facebook", "Instagram", "Doporučení", "Jinak"],
        );
        store.add_custom_field("IČ", "text", &[]);
        SmartEmailingSimulator::new(store)
    }

    /// Routes under `/api/v3`, plus `/_simulator/…`.
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/ping", get(ping))
            .route(
                "/check-credentials",
                get(check_credentials).post(check_credentials),
            )
            .route("/import", axum::routing::post(import_contacts))
            .route("/import-orders", axum::routing::post(import_orders))
            .route("/contactlists", get(contact_lists))
            .route("/customfields", get(custom_fields))
            .route("/contacts", get(contacts))
            .route("/contacts/{id}", get(contact))
            .route("/contacts/forget/{id}", delete(forget))
            .with_state(self.clone());
        Router::new()
            .nest("/api/v3", api)
            .merge(faults::control_routes(self.behaviour.clone()))
            .layer(middleware::from_fn_with_state(
                self.behaviour.clone(),
                faults::apply,
            ))
    }
}

fn failure(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "status": "error", "meta": [], "message": message })),
    )
        .into_response()
}

fn authorized(sim: &SmartEmailingSimulator, headers: &HeaderMap) -> bool {
    let store = sim.store.lock().expect("store lock");
    matches!(super::basic_auth(headers), Some((user, key)) if user == store.username && key == store.api_key)
}

/// The answer to missing or wrong credentials.
fn unauthorized() -> Response {
    failure(StatusCode::UNAUTHORIZED, "Authentication Failed")
}

fn valid_email(text: &str) -> bool {
    email_address::EmailAddress::is_valid(text.trim()) && text.contains('.')
}

async fn ping() -> Response {
    Json(json!({ "status": "ok", "meta": [], "message": "Hi there! API version 3 here!" }))
        .into_response()
}

async fn check_credentials(
    State(sim): State<SmartEmailingSimulator>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    Json(json!({ "status": "ok", "meta": [], "message": "Hi there! Your credentials are valid!", "account_id": 2 }))
        .into_response()
}

fn text(value: &Value, field: &str) -> Option<String> {
    value[field]
        .as_str()
        .map(str::to_string)
        .filter(|s| !s.trim().is_empty())
}

async fn import_contacts(
    State(sim): State<SmartEmailingSimulator>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return failure(StatusCode::BAD_REQUEST, "Request body is not valid JSON");
    };
    let Some(data) = body["data"].as_array() else {
        return failure(StatusCode::UNPROCESSABLE_ENTITY, "Missing data");
    };
    if body.get("settings").is_none() {
        return failure(StatusCode::UNPROCESSABLE_ENTITY, "Missing settings");
    }
    if data.len() > LIMIT {
        return failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Maximum of 500 contacts per request exceeded",
        );
    }
    let settings = &body["settings"];
    let update = settings["update"].as_bool().unwrap_or(true);
    let preserve_unsubscribed = settings["preserve_unsubscribed"].as_bool().unwrap_or(true);
    let skip_invalid = settings["skip_invalid_emails"].as_bool().unwrap_or(false);

    let mut store = sim.store.lock().expect("store lock");
    for contact in data {
        let email = contact["emailaddress"].as_str().unwrap_or_default();
        if let Some(problem) = store.custom_field_problem(contact) {
            return failure(StatusCode::UNPROCESSABLE_ENTITY, &problem);
        }
        if !valid_email(email) && !skip_invalid {
            return failure(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("Emailaddress {email} is not valid email address."),
            );
        }
        for membership in contact["contactlists"].as_array().into_iter().flatten() {
            let list = membership["id"].as_i64().unwrap_or_default();
            if !store.lists.contains_key(&list) {
                return failure(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("Contactlist {list} does not exist."),
                );
            }
            if serde_json::from_value::<ListStatus>(membership["status"].clone()).is_err() {
                return failure(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid contactlist status.",
                );
            }
        }
    }
    let mut map = Vec::new();
    for contact in data {
        let email = contact["emailaddress"].as_str().unwrap_or_default();
        if !valid_email(email) {
            continue;
        }
        let existed = store.contact(email).is_some();
        let record = store.contact_or_create(email);
        if update || !existed {
            for (field, slot) in [
                ("name", &mut record.name),
                ("surname", &mut record.surname),
                ("company", &mut record.company),
                ("phone", &mut record.phone),
                ("street", &mut record.street),
                ("town", &mut record.town),
                ("postalcode", &mut record.postalcode),
                ("country", &mut record.country),
            ] {
                if let Some(value) = text(contact, field) {
                    *slot = Some(value);
                }
            }
        }
        for membership in contact["contactlists"].as_array().into_iter().flatten() {
            let list = membership["id"].as_i64().unwrap_or_default();
            let status: ListStatus =
                serde_json::from_value(membership["status"].clone()).expect("validated");
            let unsubscribed = record.lists.get(&list) == Some(&ListStatus::Unsubscribed);
            if !(preserve_unsubscribed && unsubscribed) {
                record.lists.insert(list, status);
            }
        }
        for value in contact["customfields"].as_array().into_iter().flatten() {
            let id = value["id"].as_i64().unwrap_or_default();
            let field_value = match value["options"].as_array() {
                Some(options) => {
                    SimFieldValue::Options(options.iter().filter_map(Value::as_i64).collect())
                }
                None => SimFieldValue::Text(value["value"].as_str().unwrap_or_default().into()),
            };
            record.customfields.insert(id, field_value);
        }
        match contact.get("blacklisted").and_then(Value::as_i64) {
            Some(1) => {
                record.blacklisted = true;
                for status in record.lists.values_mut() {
                    *status = ListStatus::Unsubscribed;
                }
            }
            Some(0) => record.blacklisted = false,
            _ => {}
        }
        map.push(json!({ "emailaddress": record.email, "contact_id": record.id }));
    }
    (
        StatusCode::CREATED,
        Json(json!({ "status": "created", "meta": [], "contacts_map": map, "double_opt_in_map": [] })),
    )
        .into_response()
}

const ORDER_STATUSES: &[&str] = &[
    "placed",
    "processing",
    "shipped",
    "cancelled",
    "canceled",
    "unknown",
];

async fn import_orders(
    State(sim): State<SmartEmailingSimulator>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return failure(StatusCode::BAD_REQUEST, "Request body is not valid JSON");
    };
    let Some(data) = body["data"].as_array() else {
        return failure(StatusCode::UNPROCESSABLE_ENTITY, "Missing data");
    };
    if data.len() > LIMIT {
        return failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Maximum of 500 orders per request exceeded",
        );
    }
    let skip_invalid = body["settings"]["skip_invalid_orders"]
        .as_bool()
        .unwrap_or(false);
    let only_spelling = sim
        .store
        .lock()
        .expect("store lock")
        .cancelled_spelling
        .clone();
    let problem = |order: &Value| -> Option<String> {
        let email = order["emailaddress"].as_str().unwrap_or_default();
        if !valid_email(email) {
            return Some(format!("Emailaddress {email} is not valid email address."));
        }
        if text(order, "eshop_name").is_none() {
            return Some("Field eshop_name is required.".into());
        }
        let status = order["status"].as_str().unwrap_or("placed");
        let other_spelling = matches!(status, "cancelled" | "canceled")
            && only_spelling.as_deref().is_some_and(|only| only != status);
        if !ORDER_STATUSES.contains(&status) || other_spelling {
            return Some(format!("Invalid order status {status}."));
        }
        None
    };
    if !skip_invalid && let Some(message) = data.iter().find_map(problem) {
        return failure(StatusCode::UNPROCESSABLE_ENTITY, &message);
    }
    let mut store = sim.store.lock().expect("store lock");
    for order in data.iter().filter(|o| problem(o).is_none()) {
        let contact_id = store
            .contact_or_create(order["emailaddress"].as_str().unwrap_or_default())
            .id;
        let key = (
            text(order, "eshop_name").unwrap_or_default(),
            text(order, "eshop_code").unwrap_or_default(),
        );
        let received = store.orders.get(&key).map_or(1, |o| o.received + 1);
        store.orders.insert(
            key,
            SimOrder {
                body: order.clone(),
                contact_id,
                received,
            },
        );
    }
    (
        StatusCode::CREATED,
        Json(json!({ "status": "created", "meta": [], "message": null })),
    )
        .into_response()
}

type Params = BTreeMap<String, String>;

fn paging(params: &Params) -> (usize, usize) {
    let limit = params
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100)
        .clamp(1, LIMIT);
    let offset = params
        .get("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    (limit, offset)
}

async fn contact_lists(
    State(sim): State<SmartEmailingSimulator>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let store = sim.store.lock().expect("store lock");
    let (limit, offset) = paging(&params);
    let data: Vec<Value> = store
        .lists
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(id, name)| {
            let members = store.contacts.values().filter(|c| c.lists.contains_key(id)).count();
            json!({
                "id": id, "name": name, "category": null, "publicname": name, "sendername": "Obchod",
                "senderemail": "info@obchod.example", "replyto": "info@obchod.example",
                "alertIn": 0, "alertOut": members, "activeContacts": members, "hidden": 0
            })
        })
        .collect();
    list_page(data, store.lists.len(), limit, offset)
}

async fn custom_fields(
    State(sim): State<SmartEmailingSimulator>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let store = sim.store.lock().expect("store lock");
    let (limit, offset) = paging(&params);
    let expand = params
        .get("expand")
        .is_some_and(|e| e == "customfield_options");
    let data: Vec<Value> = store
        .custom_fields
        .values()
        .skip(offset)
        .take(limit)
        .map(|field| {
            let mut entry = json!({ "id": field.id, "name": field.name, "type": field.field_type });
            if expand {
                entry["customfield_options"] = field
                    .options
                    .iter()
                    .enumerate()
                    .map(|(order, (id, name))| {
                        json!({ "id": id, "customfield_id": field.id, "name": name, "order": order })
                    })
                    .collect();
            }
            entry
        })
        .collect();
    list_page(data, store.custom_fields.len(), limit, offset)
}

/// A page of a list in SmartEmailing's envelope.
fn list_page(data: Vec<Value>, total: usize, limit: usize, offset: usize) -> Response {
    Json(json!({
        "status": "ok",
        "meta": { "displayed_count": data.len(), "total_count": total, "limit": limit, "offset": offset },
        "data": data,
    }))
    .into_response()
}

async fn contacts(
    State(sim): State<SmartEmailingSimulator>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let store = sim.store.lock().expect("store lock");
    let (limit, offset) = paging(&params);
    let email = params.get("emailaddress").map(|e| e.trim().to_lowercase());
    let blacklisted = params.get("blacklisted").map(|b| b == "1");
    let part = store.lookup_matches_part;
    let matching: Vec<&SimContact> = store
        .contacts
        .values()
        .filter(|c| {
            email
                .as_ref()
                .is_none_or(|e| &c.email == e || (part && c.email.contains(e.as_str())))
        })
        .filter(|c| blacklisted.is_none_or(|b| c.blacklisted == b))
        .collect();
    let data: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|c| store.contact_json(c))
        .collect();
    list_page(data, matching.len(), limit, offset)
}

async fn contact(
    State(sim): State<SmartEmailingSimulator>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let store = sim.store.lock().expect("store lock");
    match store.contacts.get(&id) {
        Some(contact) => {
            Json(json!({ "status": "ok", "meta": [], "data": store.contact_json(contact) }))
                .into_response()
        }
        None => failure(StatusCode::NOT_FOUND, "Not Found"),
    }
}

async fn forget(
    State(sim): State<SmartEmailingSimulator>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if !authorized(&sim, &headers) {
        return unauthorized();
    }
    let mut store = sim.store.lock().expect("store lock");
    match store.contacts.remove(&id) {
        Some(contact) => {
            store.by_email.remove(&contact.email);
            store.orders.retain(|_, order| order.contact_id != id);
            StatusCode::NO_CONTENT.into_response()
        }
        None => failure(StatusCode::NOT_FOUND, "Not Found"),
    }
}
