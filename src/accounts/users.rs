//! The `users` table.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor, SqlitePool};

use crate::error::{AppError, Invalid};
use crate::i18n::Lang;
use crate::model::{CurrentUser, DisplayTime, Role, TeamMember};
use crate::platform::email::EmailAddress;
use crate::platform::error::taken_if_unique;

#[derive(Debug, Clone, FromRow)]
pub struct UserRecord {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub disabled: bool,
    pub language: String,
    pub auth_version: i64,
    pub created_at: DateTime<Utc>,
}

impl UserRecord {
    pub fn to_current(&self) -> CurrentUser {
        CurrentUser {
            id: self.id,
            email: self.email.clone(),
            name: self.name.clone(),
            role: self.role,
        }
    }

    pub fn to_member(&self) -> TeamMember {
        TeamMember {
            id: self.id,
            email: self.email.clone(),
            name: self.name.clone(),
            role: self.role,
            disabled: self.disabled,
            created_at: DisplayTime::new(self.created_at),
        }
    }

    pub fn lang(&self) -> Lang {
        Lang::parse(&self.language).unwrap_or_default()
    }
}

pub struct NewUser<'a> {
    pub email: &'a EmailAddress,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
}

const COLUMNS: &str =
    "id, email, name, password_hash, role, disabled, language, auth_version, created_at";

pub async fn find_by_id(db: &SqlitePool, id: i64) -> Result<Option<UserRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn find_by_email(
    db: &SqlitePool,
    email: &str,
) -> Result<Option<UserRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = ?"))
        .bind(email.trim())
        .fetch_optional(db)
        .await
}

pub async fn list(db: &SqlitePool) -> Result<Vec<UserRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users ORDER BY disabled, email"
    ))
    .fetch_all(db)
    .await
}

pub async fn count(db: impl SqliteExecutor<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(db)
        .await
}

pub async fn count_active_admins(db: impl SqliteExecutor<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0")
        .fetch_one(db)
        .await
}

/// Inserts a user; a taken e-mail is reported as [`Invalid::EmailTaken`].
pub async fn insert(
    db: impl SqliteExecutor<'_>,
    user: NewUser<'_>,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let result = sqlx::query(
        "INSERT INTO users (email, name, password_hash, role, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(user.email.as_str())
    .bind(user.name)
    .bind(user.password_hash)
    .bind(user.role)
    .bind(now)
    .bind(now)
    .execute(db)
    .await;
    taken_if_unique(result, || Invalid::EmailTaken.into()).map(|done| done.last_insert_rowid())
}

pub async fn set_role(
    db: impl SqliteExecutor<'_>,
    id: i64,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET role = ?, updated_at = ? WHERE id = ?")
        .bind(role)
        .bind(now)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Disabling also ends the user's sessions (by bumping `auth_version`).
pub async fn set_disabled(
    db: impl SqliteExecutor<'_>,
    id: i64,
    disabled: bool,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET disabled = ?, auth_version = auth_version + 1, updated_at = ? WHERE id = ?",
    )
    .bind(disabled)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// A new password ends the user's other sessions.
pub async fn set_password_hash(
    db: impl SqliteExecutor<'_>,
    id: i64,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET password_hash = ?, auth_version = auth_version + 1, updated_at = ? WHERE id = ?",
    )
    .bind(password_hash)
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_language(db: &SqlitePool, id: i64, lang: Lang) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET language = ? WHERE id = ?")
        .bind(lang.code())
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Remembers that the user signed in from `client_addr`.
pub async fn record_sign_in_address(
    db: &SqlitePool,
    id: i64,
    client_addr: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sign_in_addresses (user_id, client_addr, last_used_at) VALUES (?, ?, ?)
         ON CONFLICT (user_id, client_addr) DO UPDATE SET last_used_at = excluded.last_used_at",
    )
    .bind(id)
    .bind(client_addr)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Whether the user has signed in from `client_addr` before.
pub async fn has_signed_in_from(
    db: &SqlitePool,
    id: i64,
    client_addr: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sign_in_addresses WHERE user_id = ? AND client_addr = ?)",
    )
    .bind(id)
    .bind(client_addr)
    .fetch_one(db)
    .await
}
