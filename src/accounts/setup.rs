//! The first admin: while the database has no users, a one-time link (valid one hour) lets
//! whoever started the server create the first admin account.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sqlx::SqlitePool;

use crate::accounts::audit::{self, AuditEvent, actions};
use crate::accounts::auth::password;
use crate::accounts::users::{self, NewUser};
use crate::error::{AppError, Invalid};
use crate::model::Role;
use crate::platform::crypto::token_hash;
use crate::platform::email::EmailAddress;

pub const LINK_VALIDITY: Duration = Duration::hours(1);

/// When there are no users yet, creates a setup token and returns the link to print.
pub async fn issue_link_if_needed(
    db: &SqlitePool,
    public_base: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, sqlx::Error> {
    if users::count(db).await? > 0 {
        return Ok(None);
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    sqlx::query("INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (?, ?, ?)")
        .bind(token_hash(&token))
        .bind(now)
        .bind(now + LINK_VALIDITY)
        .execute(db)
        .await?;
    Ok(Some(format!("{public_base}/setup?token={token}")))
}

pub struct FirstAdmin<'a> {
    pub token: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub password: &'a str,
}

/// Creates the first admin if the token is valid and unused and nobody has done it yet.
///
/// The token is checked before anything else: without a valid link no password is judged or
/// hashed, so strangers cannot make the server spend memory and CPU on argon2.
pub async fn complete(
    db: &SqlitePool,
    now: DateTime<Utc>,
    client_addr: &str,
    input: FirstAdmin<'_>,
) -> Result<i64, AppError> {
    let usable: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM setup_tokens
                        WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?)",
    )
    .bind(token_hash(input.token))
    .bind(now)
    .fetch_one(db)
    .await?;
    if !usable {
        return Err(Invalid::SetupLinkInvalid.into());
    }
    if users::count(db).await? > 0 {
        return Err(Invalid::SetupAlreadyDone.into());
    }
    let email = EmailAddress::parse(input.email)?;
    let name = input.name.trim();
    if name.is_empty() {
        return Err(Invalid::NameEmpty.into());
    }
    password::check_strength(input.password, &[email.as_str(), name])?;
    let hash = password::hash(input.password.to_string()).await?;

    let mut tx = db.begin().await?;
    let claimed = sqlx::query(
        "UPDATE setup_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
    )
    .bind(now)
    .bind(token_hash(input.token))
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if claimed == 0 {
        return Err(Invalid::SetupLinkInvalid.into());
    }
    if users::count(&mut *tx).await? > 0 {
        return Err(Invalid::SetupAlreadyDone.into());
    }
    let id = users::insert(
        &mut *tx,
        NewUser {
            email: &email,
            name,
            password_hash: &hash,
            role: Role::Admin,
        },
        now,
    )
    .await?;
    audit::record(
        &mut *tx,
        now,
        AuditEvent::new(actions::SETUP_COMPLETED)
            .by_email(email.as_str())
            .target(email.as_str())
            .from_addr(client_addr),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}
