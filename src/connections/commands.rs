//! Changes to connections: create, edit, delete, rotate the webhook token, switch forwarding,
//! choose the default list. Each is checked, written with its audit entry in one transaction,
//! and tells the webhook's token cache when what it holds changed.

use serde_json::json;

use crate::accounts::audit::{self, Actor};
use crate::error::{AppError, Invalid};
use crate::model::{ListRef, System};
use crate::platform::Context;
use crate::platform::crypto::{token_hash, url_token};
use crate::platform::db;
use crate::platform::email::EmailAddress;
use crate::platform::error::taken_if_unique;
use crate::platform::text::slug;

use super::checks::check_both;
use super::record::{decrypt, find};

pub mod actions {
    pub const CREATED: &str = "connection.created";
    pub const UPDATED: &str = "connection.updated";
    pub const DELETED: &str = "connection.deleted";
    pub const WEBHOOK_ROTATED: &str = "connection.webhook_rotated";
    pub const FORWARDING_ENABLED: &str = "connection.forwarding_enabled";
    pub const FORWARDING_DISABLED: &str = "connection.forwarding_disabled";
    pub const DEFAULT_LIST_SET: &str = "connection.default_list_set";
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

fn summary(valid: &Validated) -> serde_json::Value {
    json!({
        "name": valid.name, "eshop_name": valid.eshop_name,
        "fapi_login": valid.fapi_login, "se_username": valid.se_username,
    })
}

pub async fn create(ctx: &Context, actor: &Actor, form: ConnectionForm) -> Result<i64, AppError> {
    let valid = validate(&form)?;
    if form.fapi_api_key.trim().is_empty() {
        return Err(Invalid::ApiKeyRequired(System::Fapi).into());
    }
    if form.se_api_key.trim().is_empty() {
        return Err(Invalid::ApiKeyRequired(System::SmartEmailing).into());
    }
    let (fapi_key, se_key) = (form.fapi_api_key.trim(), form.se_api_key.trim());
    let (fapi, se) =
        check_both(ctx, &valid.fapi_login, fapi_key, &valid.se_username, se_key).await?;
    let now = ctx.clock.now();
    let token = url_token();
    let (fapi_kind, fapi_message) = fapi.kind();
    let (se_kind, se_message) = se.kind();
    let key = &ctx.secret_key;
    let mut tx = ctx.db.begin().await?;
    let inserted = sqlx::query(
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
    .await;
    let id = taken_if_unique(inserted, || Invalid::ConnectionNameTaken.into())?.last_insert_rowid();
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

pub async fn update(
    ctx: &Context,
    actor: &Actor,
    id: i64,
    form: ConnectionForm,
) -> Result<(), AppError> {
    let current = find(&ctx.db, id).await?;
    let valid = validate(&form)?;
    let fapi_key = match form.fapi_api_key.trim() {
        "" => decrypt(ctx, &current.fapi_api_key)?,
        given => given.to_string(),
    };
    let se_key = match form.se_api_key.trim() {
        "" => decrypt(ctx, &current.se_api_key)?,
        given => given.to_string(),
    };
    let (fapi, se) = check_both(
        ctx,
        &valid.fapi_login,
        &fapi_key,
        &valid.se_username,
        &se_key,
    )
    .await?;
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
    let now = ctx.clock.now();
    let (fapi_kind, fapi_message) = fapi.kind();
    let (se_kind, se_message) = se.kind();
    let key = &ctx.secret_key;
    let mut tx = ctx.db.begin().await?;
    let updated = sqlx::query(
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
    .await;
    taken_if_unique(updated, || Invalid::ConnectionNameTaken.into())?;
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

pub async fn delete(ctx: &Context, actor: &Actor, id: i64) -> Result<(), AppError> {
    let current = find(&ctx.db, id).await?;
    let now = ctx.clock.now();
    let mut tx = ctx.db.begin().await?;
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
    db::generations::bump(&mut tx, db::generations::CONNECTIONS).await?;
    tx.commit().await?;
    ctx.connections_changed.bump();
    Ok(())
}

/// A new secret webhook URL; the old one stops working at once.
pub async fn rotate_webhook_token(ctx: &Context, actor: &Actor, id: i64) -> Result<(), AppError> {
    let current = find(&ctx.db, id).await?;
    let token = url_token();
    let now = ctx.clock.now();
    let mut tx = ctx.db.begin().await?;
    sqlx::query("UPDATE connections SET webhook_token = ?, webhook_token_hash = ?, updated_at = ? WHERE id = ?")
        .bind(ctx.secret_key.encrypt(token.as_bytes()))
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
    db::generations::bump(&mut tx, db::generations::CONNECTIONS).await?;
    tx.commit().await?;
    ctx.connections_changed.bump();
    Ok(())
}

/// The switch "send order data to SmartEmailing"; switching on records the moment.
pub async fn set_forwarding(
    ctx: &Context,
    actor: &Actor,
    id: i64,
    enabled: bool,
) -> Result<(), AppError> {
    let current = find(&ctx.db, id).await?;
    if current.forwarding_enabled == enabled {
        return Ok(());
    }
    let now = ctx.clock.now();
    let mut tx = ctx.db.begin().await?;
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
    db::generations::bump(&mut tx, db::generations::CONNECTIONS).await?;
    tx.commit().await?;
    ctx.connections_changed.bump();
    Ok(())
}

/// The SmartEmailing lists of the connection's account.
pub async fn contact_lists(ctx: &Context, id: i64) -> Result<Vec<ListRef>, AppError> {
    let current = find(&ctx.db, id).await?;
    let lists = current
        .smartemailing_client(ctx)?
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
    ctx: &Context,
    actor: &Actor,
    id: i64,
    list_id: Option<i64>,
) -> Result<(), AppError> {
    let current = find(&ctx.db, id).await?;
    let list = match list_id {
        None => None,
        Some(list_id) => Some(
            contact_lists(ctx, id)
                .await?
                .into_iter()
                .find(|l| l.id == list_id)
                .ok_or(AppError::NotFound)?,
        ),
    };
    let now = ctx.clock.now();
    let mut tx = ctx.db.begin().await?;
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
