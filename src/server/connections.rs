//! Connections: one FAPI account paired with one SmartEmailing account.
//!
//! Credentials are checked live before they are saved (a refused side is reported and nothing
//! is stored), API keys are encrypted at rest and never leave the server, and every change is
//! in the audit log without secrets. Deleting keeps the row (marked deleted) so the history of
//! its orders stays readable.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{FromRow, SqlitePool};

use crate::error::{AppError, Invalid};
use crate::fapi::{FapiClient, FapiCredentials, FapiError};
use crate::model::{CheckOutcome, ConnectionView, DisplayTime, Health, ListRef, System};
use crate::server::audit::{self, Actor};
use crate::server::email::EmailAddress;
use crate::server::outbound::{HttpSettings, RetryPolicy};
use crate::server::state::AppState;
use crate::server::text::slug;
use crate::smartemailing::{SeCredentials, SeError, SmartEmailingClient};

pub mod actions {
    pub const CREATED: &str = "connection.created";
    pub const UPDATED: &str = "connection.updated";
    pub const DELETED: &str = "connection.deleted";
    pub const WEBHOOK_ROTATED: &str = "connection.webhook_rotated";
    pub const FORWARDING_ENABLED: &str = "connection.forwarding_enabled";
    pub const FORWARDING_DISABLED: &str = "connection.forwarding_disabled";
    pub const DEFAULT_LIST_SET: &str = "connection.default_list_set";
}

/// The path under which FAPI calls a connection's webhook.
pub const WEBHOOK_PATH: &str = "/webhooks/fapi/";

#[derive(Debug, Clone, FromRow)]
pub struct ConnectionRecord {
    pub id: i64,
    pub name: String,
    pub eshop_name: String,
    pub fapi_login: String,
    fapi_api_key: Vec<u8>,
    pub se_username: String,
    se_api_key: Vec<u8>,
    webhook_token: Vec<u8>,
    pub forwarding_enabled: bool,
    pub forwarding_enabled_at: Option<DateTime<Utc>>,
    pub default_list_id: Option<i64>,
    pub default_list_name: Option<String>,
    fapi_checked_at: Option<DateTime<Utc>>,
    fapi_check: Option<String>,
    fapi_check_message: Option<String>,
    se_checked_at: Option<DateTime<Utc>>,
    se_check: Option<String>,
    se_check_message: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Reconciliation looked at documents changed up to this moment.
    pub reconciled_until: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, name, eshop_name, fapi_login, fapi_api_key, se_username, se_api_key, \
    webhook_token, forwarding_enabled, forwarding_enabled_at, default_list_id, default_list_name, \
    fapi_checked_at, fapi_check, fapi_check_message, se_checked_at, se_check, se_check_message, created_at, reconciled_until";

impl ConnectionRecord {
    pub fn fapi_client(&self, state: &AppState) -> Result<FapiClient, AppError> {
        let api_key = decrypt(state, &self.fapi_api_key)?;
        Ok(FapiClient::with_http(
            state.http.clone(),
            state.config.fapi_api_url.as_str(),
            FapiCredentials {
                login: self.fapi_login.clone(),
                api_key,
            },
            &state.config.http,
        ))
    }

    pub fn smartemailing_client(&self, state: &AppState) -> Result<SmartEmailingClient, AppError> {
        let api_key = decrypt(state, &self.se_api_key)?;
        Ok(SmartEmailingClient::with_http(
            state.http.clone(),
            state.config.smartemailing_api_url.as_str(),
            SeCredentials {
                username: self.se_username.clone(),
                api_key,
            },
            &state.config.http,
        ))
    }

    pub fn webhook_url(&self, state: &AppState) -> Result<String, AppError> {
        let token = decrypt(state, &self.webhook_token)?;
        Ok(format!(
            "{}{WEBHOOK_PATH}{token}",
            state.config.public_base()
        ))
    }

    pub fn to_view(
        &self,
        state: &AppState,
        with_webhook_url: bool,
    ) -> Result<ConnectionView, AppError> {
        Ok(ConnectionView {
            id: self.id,
            name: self.name.clone(),
            eshop_name: self.eshop_name.clone(),
            fapi_login: self.fapi_login.clone(),
            se_username: self.se_username.clone(),
            forwarding_enabled: self.forwarding_enabled,
            forwarding_since: self
                .forwarding_enabled_at
                .filter(|_| self.forwarding_enabled)
                .map(DisplayTime::new),
            default_list: self.default_list_id.map(|id| ListRef {
                id,
                name: self.default_list_name.clone().unwrap_or_default(),
            }),
            fapi: health(
                self.fapi_checked_at,
                self.fapi_check.as_deref(),
                self.fapi_check_message.clone(),
            ),
            smartemailing: health(
                self.se_checked_at,
                self.se_check.as_deref(),
                self.se_check_message.clone(),
            ),
            webhook_url: if with_webhook_url {
                Some(self.webhook_url(state)?)
            } else {
                None
            },
            created_at: DisplayTime::new(self.created_at),
        })
    }
}

fn decrypt(state: &AppState, stored: &[u8]) -> Result<String, AppError> {
    let bytes = state
        .secret_key
        .decrypt(stored)
        .map_err(|e| e.context("a stored secret cannot be decrypted (was SECRET_KEY changed?)"))?;
    String::from_utf8(bytes).map_err(|e| anyhow::Error::from(e).into())
}

fn health(
    checked_at: Option<DateTime<Utc>>,
    kind: Option<&str>,
    message: Option<String>,
) -> Health {
    let message = message.unwrap_or_default();
    let outcome = kind.map(|kind| match kind {
        "ok" => CheckOutcome::Ok,
        "wrong_credentials" => CheckOutcome::WrongCredentials(message),
        "unreachable" => CheckOutcome::Unreachable(message),
        "timeout" => CheckOutcome::Timeout,
        _ => CheckOutcome::Failed(message),
    });
    Health {
        checked_at: checked_at.map(DisplayTime::new),
        outcome,
    }
}

fn outcome_columns(outcome: &CheckOutcome) -> (&'static str, Option<&str>) {
    match outcome {
        CheckOutcome::Ok => ("ok", None),
        CheckOutcome::WrongCredentials(m) => ("wrong_credentials", Some(m)),
        CheckOutcome::Unreachable(m) => ("unreachable", Some(m)),
        CheckOutcome::Timeout => ("timeout", None),
        CheckOutcome::Failed(m) => ("failed", Some(m)),
    }
}

/// A credential check should answer within one timeout, not a whole retry schedule.
fn check_settings(http: &HttpSettings) -> HttpSettings {
    HttpSettings {
        retry: RetryPolicy {
            max_attempts: 2,
            ..http.retry.clone()
        },
        ..http.clone()
    }
}

pub async fn check_fapi(state: &AppState, login: &str, api_key: &str) -> CheckOutcome {
    let client = FapiClient::with_http(
        state.http.clone(),
        state.config.fapi_api_url.as_str(),
        FapiCredentials {
            login: login.to_string(),
            api_key: api_key.to_string(),
        },
        &check_settings(&state.config.http),
    );
    match client.check_credentials().await {
        Ok(()) => CheckOutcome::Ok,
        Err(FapiError::Unauthorized { message, .. }) => CheckOutcome::WrongCredentials(message),
        Err(FapiError::Timeout(_)) => CheckOutcome::Timeout,
        Err(FapiError::Unreachable(message)) => CheckOutcome::Unreachable(message),
        Err(other) => CheckOutcome::Failed(other.to_string()),
    }
}

pub async fn check_smartemailing(state: &AppState, username: &str, api_key: &str) -> CheckOutcome {
    let client = SmartEmailingClient::with_http(
        state.http.clone(),
        state.config.smartemailing_api_url.as_str(),
        SeCredentials {
            username: username.to_string(),
            api_key: api_key.to_string(),
        },
        &check_settings(&state.config.http),
    );
    match client.check_credentials().await {
        Ok(_) => CheckOutcome::Ok,
        Err(SeError::Unauthorized { message, .. }) => CheckOutcome::WrongCredentials(message),
        Err(SeError::Timeout(_)) => CheckOutcome::Timeout,
        Err(SeError::Unreachable(message)) => CheckOutcome::Unreachable(message),
        Err(other) => CheckOutcome::Failed(other.to_string()),
    }
}

/// What the connection form sends. Empty API keys keep the stored ones (on edit).
#[derive(Debug, Clone, Default)]
pub struct ConnectionForm {
    pub name: String,
    pub eshop_name: String,
    pub fapi_login: String,
    pub fapi_api_key: String,
    pub se_username: String,
    pub se_api_key: String,
}

struct Validated {
    name: String,
    eshop_name: String,
    fapi_login: String,
    se_username: String,
}

fn validate(form: &ConnectionForm) -> Result<Validated, Invalid> {
    let name = form.name.trim().to_string();
    if name.is_empty() {
        return Err(Invalid::NameEmpty);
    }
    // Orders are keyed by e-shop name + code in SmartEmailing: the default is stable and ASCII.
    let eshop_name = match form.eshop_name.trim() {
        "" => match slug(&name).as_str() {
            "" => return Err(Invalid::EshopNameInvalid),
            slug => format!("fapi-{slug}"),
        },
        given if given.chars().count() <= 100 => given.to_string(),
        _ => return Err(Invalid::EshopNameInvalid),
    };
    let fapi_login = EmailAddress::parse(&form.fapi_login)?.to_string();
    let se_username = form.se_username.trim().to_string();
    if se_username.is_empty() {
        return Err(Invalid::SeUsernameEmpty);
    }
    Ok(Validated {
        name,
        eshop_name,
        fapi_login,
        se_username,
    })
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Checks both sides at once; refuses when either fails.
async fn check_both(
    state: &AppState,
    valid: &Validated,
    fapi_key: &str,
    se_key: &str,
) -> Result<(CheckOutcome, CheckOutcome), AppError> {
    let (fapi, se) = tokio::join!(
        check_fapi(state, &valid.fapi_login, fapi_key),
        check_smartemailing(state, &valid.se_username, se_key),
    );
    if fapi.is_ok() && se.is_ok() {
        Ok((fapi, se))
    } else {
        Err(Invalid::CredentialsRefused {
            fapi: (!fapi.is_ok()).then_some(fapi),
            smartemailing: (!se.is_ok()).then_some(se),
        }
        .into())
    }
}

fn unique_name(error: sqlx::Error) -> AppError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Invalid::ConnectionNameTaken.into()
        }
        _ => error.into(),
    }
}

fn summary(valid: &Validated) -> serde_json::Value {
    json!({
        "name": valid.name, "eshop_name": valid.eshop_name,
        "fapi_login": valid.fapi_login, "se_username": valid.se_username,
    })
}

pub async fn create(
    state: &AppState,
    actor: &Actor,
    form: ConnectionForm,
) -> Result<i64, AppError> {
    let valid = validate(&form)?;
    if form.fapi_api_key.trim().is_empty() {
        return Err(Invalid::ApiKeyRequired(System::Fapi).into());
    }
    if form.se_api_key.trim().is_empty() {
        return Err(Invalid::ApiKeyRequired(System::SmartEmailing).into());
    }
    let (fapi_key, se_key) = (form.fapi_api_key.trim(), form.se_api_key.trim());
    let (fapi, se) = check_both(state, &valid, fapi_key, se_key).await?;
    let now = state.clock.now();
    let token = new_token();
    let (fapi_kind, fapi_message) = outcome_columns(&fapi);
    let (se_kind, se_message) = outcome_columns(&se);
    let key = &state.secret_key;
    let mut tx = state.db.begin().await?;
    let id = sqlx::query(
        "INSERT INTO connections (name, eshop_name, fapi_login, fapi_api_key, se_username, se_api_key,
            webhook_token, webhook_token_hash, fapi_checked_at, fapi_check, fapi_check_message,
            se_checked_at, se_check, se_check_message, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&valid.name)
    .bind(&valid.eshop_name)
    .bind(&valid.fapi_login)
    .bind(key.encrypt(fapi_key.as_bytes()))
    .bind(&valid.se_username)
    .bind(key.encrypt(se_key.as_bytes()))
    .bind(key.encrypt(token.as_bytes()))
    .bind(token_hash(&token))
    .bind(now)
    .bind(fapi_kind)
    .bind(fapi_message)
    .bind(now)
    .bind(se_kind)
    .bind(se_message)
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(unique_name)?
    .last_insert_rowid();
    audit::record(
        &mut *tx,
        now,
        actor
            .event(actions::CREATED)
            .target(&valid.name)
            .details(summary(&valid)),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn find(db: &SqlitePool, id: i64) -> Result<ConnectionRecord, AppError> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM connections WHERE id = ? AND deleted_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

/// The live connection a webhook token belongs to.
pub async fn find_by_webhook_token(
    db: &SqlitePool,
    token: &str,
) -> Result<Option<ConnectionRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM connections WHERE webhook_token_hash = ? AND deleted_at IS NULL"
    ))
    .bind(token_hash(token))
    .fetch_optional(db)
    .await
}

pub async fn list(db: &SqlitePool) -> Result<Vec<ConnectionRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM connections WHERE deleted_at IS NULL ORDER BY name"
    ))
    .fetch_all(db)
    .await
}

pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: i64,
    form: ConnectionForm,
) -> Result<(), AppError> {
    let current = find(&state.db, id).await?;
    let valid = validate(&form)?;
    let fapi_key = match form.fapi_api_key.trim() {
        "" => decrypt(state, &current.fapi_api_key)?,
        given => given.to_string(),
    };
    let se_key = match form.se_api_key.trim() {
        "" => decrypt(state, &current.se_api_key)?,
        given => given.to_string(),
    };
    let (fapi, se) = check_both(state, &valid, &fapi_key, &se_key).await?;
    let mut changed: Vec<&str> = Vec::new();
    for (field, before, after) in [
        ("name", &current.name, &valid.name),
        ("eshop_name", &current.eshop_name, &valid.eshop_name),
        ("fapi_login", &current.fapi_login, &valid.fapi_login),
        ("se_username", &current.se_username, &valid.se_username),
    ] {
        if before != after {
            changed.push(field);
        }
    }
    if !form.fapi_api_key.trim().is_empty() {
        changed.push("fapi_api_key");
    }
    if !form.se_api_key.trim().is_empty() {
        changed.push("se_api_key");
    }
    let now = state.clock.now();
    let (fapi_kind, fapi_message) = outcome_columns(&fapi);
    let (se_kind, se_message) = outcome_columns(&se);
    let key = &state.secret_key;
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "UPDATE connections SET name = ?, eshop_name = ?, fapi_login = ?, fapi_api_key = ?, se_username = ?,
            se_api_key = ?, fapi_checked_at = ?, fapi_check = ?, fapi_check_message = ?, se_checked_at = ?,
            se_check = ?, se_check_message = ?, updated_at = ?
         WHERE id = ?",
    )
    .bind(&valid.name)
    .bind(&valid.eshop_name)
    .bind(&valid.fapi_login)
    .bind(key.encrypt(fapi_key.as_bytes()))
    .bind(&valid.se_username)
    .bind(key.encrypt(se_key.as_bytes()))
    .bind(now)
    .bind(fapi_kind)
    .bind(fapi_message)
    .bind(now)
    .bind(se_kind)
    .bind(se_message)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(unique_name)?;
    audit::record(
        &mut *tx,
        now,
        actor
            .event(actions::UPDATED)
            .target(&valid.name)
            .details(json!({ "changed": changed })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Re-checks both credentials with the stored keys and records the result.
pub async fn test(state: &AppState, id: i64) -> Result<(CheckOutcome, CheckOutcome), AppError> {
    let current = find(&state.db, id).await?;
    let fapi_key = decrypt(state, &current.fapi_api_key)?;
    let se_key = decrypt(state, &current.se_api_key)?;
    let (fapi, se) = tokio::join!(
        check_fapi(state, &current.fapi_login, &fapi_key),
        check_smartemailing(state, &current.se_username, &se_key),
    );
    let now = state.clock.now();
    let (fapi_kind, fapi_message) = outcome_columns(&fapi);
    let (se_kind, se_message) = outcome_columns(&se);
    sqlx::query(
        "UPDATE connections SET fapi_checked_at = ?, fapi_check = ?, fapi_check_message = ?,
            se_checked_at = ?, se_check = ?, se_check_message = ? WHERE id = ?",
    )
    .bind(now)
    .bind(fapi_kind)
    .bind(fapi_message)
    .bind(now)
    .bind(se_kind)
    .bind(se_message)
    .bind(id)
    .execute(&state.db)
    .await?;
    Ok((fapi, se))
}

pub async fn delete(state: &AppState, actor: &Actor, id: i64) -> Result<(), AppError> {
    let current = find(&state.db, id).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sqlx::query("UPDATE connections SET deleted_at = ?, forwarding_enabled = 0, updated_at = ? WHERE id = ?")
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut *tx,
        now,
        actor.event(actions::DELETED).target(&current.name),
    )
    .await?;
    tx.commit().await?;
    state.webhook_tokens.forget_all();
    Ok(())
}

/// A new secret webhook URL; the old one stops working at once.
pub async fn rotate_webhook_token(
    state: &AppState,
    actor: &Actor,
    id: i64,
) -> Result<(), AppError> {
    let current = find(&state.db, id).await?;
    let token = new_token();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sqlx::query("UPDATE connections SET webhook_token = ?, webhook_token_hash = ?, updated_at = ? WHERE id = ?")
        .bind(state.secret_key.encrypt(token.as_bytes()))
        .bind(token_hash(&token))
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut *tx,
        now,
        actor.event(actions::WEBHOOK_ROTATED).target(&current.name),
    )
    .await?;
    tx.commit().await?;
    state.webhook_tokens.forget_all();
    Ok(())
}

/// The switch "send order data to SmartEmailing"; switching on records the moment.
pub async fn set_forwarding(
    state: &AppState,
    actor: &Actor,
    id: i64,
    enabled: bool,
) -> Result<(), AppError> {
    let current = find(&state.db, id).await?;
    if current.forwarding_enabled == enabled {
        return Ok(());
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "UPDATE connections SET forwarding_enabled = ?,
            forwarding_enabled_at = CASE WHEN ? THEN ? ELSE forwarding_enabled_at END, updated_at = ?
         WHERE id = ?",
    )
    .bind(enabled)
    .bind(enabled)
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let action = if enabled {
        actions::FORWARDING_ENABLED
    } else {
        actions::FORWARDING_DISABLED
    };
    audit::record(&mut *tx, now, actor.event(action).target(&current.name)).await?;
    tx.commit().await?;
    state.webhook_tokens.forget_all();
    Ok(())
}

/// The SmartEmailing lists of the connection's account.
pub async fn contact_lists(state: &AppState, id: i64) -> Result<Vec<ListRef>, AppError> {
    let current = find(&state.db, id).await?;
    let lists = current
        .smartemailing_client(state)?
        .contact_lists()
        .await
        .map_err(|e| AppError::Upstream(System::SmartEmailing, e.to_string()))?;
    Ok(lists
        .into_iter()
        .map(|l| ListRef {
            id: l.id,
            name: l.name,
        })
        .collect())
}

/// Sets (or clears) the list new buyers are put into; the list must exist in SmartEmailing.
pub async fn set_default_list(
    state: &AppState,
    actor: &Actor,
    id: i64,
    list_id: Option<i64>,
) -> Result<(), AppError> {
    let current = find(&state.db, id).await?;
    let list = match list_id {
        None => None,
        Some(list_id) => Some(
            contact_lists(state, id)
                .await?
                .into_iter()
                .find(|l| l.id == list_id)
                .ok_or(AppError::NotFound)?,
        ),
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sqlx::query("UPDATE connections SET default_list_id = ?, default_list_name = ?, updated_at = ? WHERE id = ?")
        .bind(list.as_ref().map(|l| l.id))
        .bind(list.as_ref().map(|l| l.name.clone()))
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut *tx,
        now,
        actor
            .event(actions::DEFAULT_LIST_SET)
            .target(&current.name)
            .details(json!({ "list": list.map(|l| l.name) })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
