//! A connection's stored record: reading it, decrypting its secrets, the API clients built from
//! it, and its view for the UI (secrets never leave the server).

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqlitePool};

use crate::error::AppError;
use crate::fapi::{FapiClient, FapiCredentials};
use crate::model::{
    CheckKind, CheckOutcome, ConnectionView, DisplayTime, FieldRule, Health, ListRef, System,
};
use crate::platform::Context;
use crate::platform::crypto::token_hash;
use crate::smartemailing::{SeCredentials, SmartEmailingClient};

/// The path under which FAPI calls a connection's webhook.
pub const WEBHOOK_PATH: &str = "/webhooks/fapi/";

#[derive(Debug, Clone, FromRow)]
pub struct ConnectionRecord {
    pub id: i64,
    pub name: String,
    pub eshop_name: String,
    pub fapi_login: String,
    pub(super) fapi_api_key: Vec<u8>,
    pub se_username: String,
    pub(super) se_api_key: Vec<u8>,
    webhook_token: Vec<u8>,
    pub forwarding_enabled: bool,
    pub forwarding_enabled_at: Option<DateTime<Utc>>,
    pub default_list_id: Option<i64>,
    pub default_list_name: Option<String>,
    fapi_checked_at: Option<DateTime<Utc>>,
    fapi_check: Option<CheckKind>,
    fapi_check_message: Option<String>,
    se_checked_at: Option<DateTime<Utc>>,
    se_check: Option<CheckKind>,
    se_check_message: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Reconciliation looked at documents changed up to this moment.
    pub reconciled_until: Option<DateTime<Utc>>,
    /// The FAPI page size this connection's account accepted after refusing a larger one.
    pub fapi_page_size: Option<i64>,
    /// Extra fields sent to SmartEmailing (`sync::field_mapping`); empty by default.
    pub field_mapping: sqlx::types::Json<Vec<FieldRule>>,
}

const COLUMNS: &str = "id, name, eshop_name, fapi_login, fapi_api_key, se_username, se_api_key, \
    webhook_token, forwarding_enabled, forwarding_enabled_at, default_list_id, default_list_name, \
    fapi_checked_at, fapi_check, fapi_check_message, se_checked_at, se_check, se_check_message, created_at, reconciled_until, fapi_page_size, field_mapping";

impl ConnectionRecord {
    /// Whether `system` refused the stored credentials at the last check or sync call.
    pub fn credentials_refused(&self, system: System) -> bool {
        let check = match system {
            System::Fapi => self.fapi_check,
            System::SmartEmailing => self.se_check,
        };
        check == Some(CheckKind::WrongCredentials)
    }

    /// A system that refuses the stored credentials now (FAPI first), with its message.
    pub fn refused_credentials(&self) -> Option<(System, String)> {
        [
            (System::Fapi, &self.fapi_check_message),
            (System::SmartEmailing, &self.se_check_message),
        ]
        .into_iter()
        .find(|(system, _)| self.credentials_refused(*system))
        .map(|(system, message)| (system, message.clone().unwrap_or_default()))
    }

    /// Records what a sync call learnt of `system`'s credentials: refused (401/403, with the
    /// message), or accepted — written only when they were refused before, so a working
    /// connection costs no write. The alerts read it; so does the connection's health.
    pub async fn note_credentials(
        &self,
        db: &SqlitePool,
        system: System,
        refused: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        if refused.is_none() && !self.credentials_refused(system) {
            return Ok(());
        }
        note_credentials(db, self.id, system, refused, now).await
    }

    pub fn fapi_client(&self, ctx: &Context) -> Result<FapiClient, AppError> {
        let api_key = decrypt(ctx, &self.fapi_api_key)?;
        Ok(FapiClient::with_http(
            ctx.http.clone(),
            ctx.settings.fapi_api_url.as_str(),
            FapiCredentials {
                login: self.fapi_login.clone(),
                api_key,
            },
            &ctx.settings.http,
        ))
    }

    pub fn smartemailing_client(&self, ctx: &Context) -> Result<SmartEmailingClient, AppError> {
        let api_key = decrypt(ctx, &self.se_api_key)?;
        Ok(SmartEmailingClient::with_http(
            ctx.http.clone(),
            ctx.settings.smartemailing_api_url.as_str(),
            SeCredentials {
                username: self.se_username.clone(),
                api_key,
            },
            &ctx.settings.http,
        ))
    }

    pub fn webhook_url(&self, ctx: &Context) -> Result<String, AppError> {
        let token = decrypt(ctx, &self.webhook_token)?;
        Ok(format!("{}{WEBHOOK_PATH}{token}", ctx.settings.public_base))
    }

    pub fn to_view(
        &self,
        ctx: &Context,
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
                self.fapi_check,
                self.fapi_check_message.clone(),
            ),
            smartemailing: health(
                self.se_checked_at,
                self.se_check,
                self.se_check_message.clone(),
            ),
            webhook_url: if with_webhook_url {
                Some(self.webhook_url(ctx)?)
            } else {
                None
            },
            created_at: DisplayTime::new(self.created_at),
        })
    }
}

pub(super) fn decrypt(ctx: &Context, stored: &[u8]) -> Result<String, AppError> {
    let bytes = ctx
        .secret_key
        .decrypt(stored)
        .map_err(|e| e.context("a stored secret cannot be decrypted (was SECRET_KEY changed?)"))?;
    String::from_utf8(bytes).map_err(|e| anyhow::Error::from(e).into())
}

fn health(
    checked_at: Option<DateTime<Utc>>,
    kind: Option<CheckKind>,
    message: Option<String>,
) -> Health {
    let outcome = kind.map(|kind| CheckOutcome::from_kind(kind, message.unwrap_or_default()));
    Health {
        checked_at: checked_at.map(DisplayTime::new),
        outcome,
    }
}

pub async fn find(
    db: impl sqlx::SqliteExecutor<'_>,
    id: i64,
) -> Result<ConnectionRecord, AppError> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM connections WHERE id = ? AND deleted_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

/// The live connection a webhook token belongs to.
/// One value encrypted with the secret key (a stored API key, deleted connections included),
/// to check the key against at start; `None` while nothing is stored encrypted.
pub async fn encrypted_sample(db: &SqlitePool) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT fapi_api_key FROM connections LIMIT 1")
        .fetch_optional(db)
        .await
}

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

/// Remembers the largest FAPI page the connection's account accepts.
pub async fn remember_fapi_page_size(
    db: &SqlitePool,
    id: i64,
    page_size: u32,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE connections SET fapi_page_size = ? WHERE id = ?")
        .bind(i64::from(page_size))
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}

/// [`ConnectionRecord::note_credentials`], by id: accepted clears only a refusal.
async fn note_credentials(
    db: &SqlitePool,
    id: i64,
    system: System,
    refused: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let side = match system {
        System::Fapi => "fapi",
        System::SmartEmailing => "se",
    };
    let query = match refused {
        Some(_) => format!(
            "UPDATE connections SET {side}_checked_at = ?, {side}_check = ?, {side}_check_message = ?
             WHERE id = ?"
        ),
        None => format!(
            "UPDATE connections SET {side}_checked_at = ?, {side}_check = ?, {side}_check_message = ?
             WHERE id = ? AND {side}_check = ?"
        ),
    };
    sqlx::query(&query)
        .bind(now)
        .bind(if refused.is_some() {
            CheckKind::WrongCredentials
        } else {
            CheckKind::Ok
        })
        .bind(refused)
        .bind(id)
        .bind(CheckKind::WrongCredentials)
        .execute(db)
        .await?;
    Ok(())
}
