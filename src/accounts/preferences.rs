//! Each user's alert settings: which alerts reach them by e-mail (a kind without a stored
//! choice takes the role's default), and their personal calendar feed.

use sqlx::{FromRow, SqliteConnection, SqlitePool};

use crate::i18n::Lang;
use crate::model::{AlertChoice, AlertKind, Role};
use crate::platform::crypto::{token_hash, url_token};

pub mod actions {
    pub const SETTINGS_SAVED: &str = "alerts.settings_saved";
    pub const CALENDAR_CREATED: &str = "calendar.feed_created";
    pub const CALENDAR_REVOKED: &str = "calendar.feed_revoked";
    pub const TEST_EMAIL: &str = "email.test_sent";
}

/// The user's choice for every kind, defaults filled in.
pub async fn choices(
    db: &SqlitePool,
    user_id: i64,
    role: Role,
) -> Result<Vec<AlertChoice>, sqlx::Error> {
    let stored: Vec<(AlertKind, bool)> =
        sqlx::query_as("SELECT kind, email FROM alert_preferences WHERE user_id = ?")
            .bind(user_id)
            .fetch_all(db)
            .await?;
    Ok(AlertKind::ALL
        .iter()
        .map(|&kind| AlertChoice {
            kind,
            email: stored
                .iter()
                .find(|(stored, _)| *stored == kind)
                .map_or(kind.email_by_default(role), |(_, email)| *email),
        })
        .collect())
}

/// Stores the user's choices (every kind given; others keep theirs).
pub async fn save(
    db: &SqlitePool,
    user_id: i64,
    choices: &[AlertChoice],
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    for choice in choices {
        sqlx::query(
            "INSERT INTO alert_preferences (user_id, kind, email) VALUES (?, ?, ?)
             ON CONFLICT (user_id, kind) DO UPDATE SET email = excluded.email",
        )
        .bind(user_id)
        .bind(choice.kind)
        .bind(choice.email)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Someone an alert e-mail goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub user_id: i64,
    pub email: String,
    pub role: Role,
    pub lang: Lang,
}

#[derive(FromRow)]
struct RecipientRow {
    id: i64,
    email: String,
    role: Role,
    language: String,
    chosen: Option<bool>,
}

/// The active users who get `kind` by e-mail (only `user_id`, when given). Read on the
/// caller's connection: it runs inside the transaction that writes their e-mails.
pub async fn recipients(
    db: &mut SqliteConnection,
    kind: AlertKind,
    user_id: Option<i64>,
) -> Result<Vec<Recipient>, sqlx::Error> {
    let rows: Vec<RecipientRow> = sqlx::query_as(
        "SELECT u.id, u.email, u.role, u.language, p.email AS chosen
         FROM users u LEFT JOIN alert_preferences p ON p.user_id = u.id AND p.kind = ?
         WHERE u.disabled = 0 AND (? IS NULL OR u.id = ?) ORDER BY u.id",
    )
    .bind(kind)
    .bind(user_id)
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|row| {
            row.chosen
                .unwrap_or_else(|| kind.email_by_default(row.role))
        })
        .map(|row| Recipient {
            user_id: row.id,
            email: row.email,
            role: row.role,
            lang: Lang::parse(&row.language).unwrap_or_default(),
        })
        .collect())
}

/// Makes a new calendar feed secret for the user (the old one stops working); returned once,
/// only its hash is stored.
pub async fn new_calendar_token(db: &SqlitePool, user_id: i64) -> Result<String, sqlx::Error> {
    let token = url_token();
    sqlx::query("UPDATE users SET calendar_token_hash = ? WHERE id = ?")
        .bind(token_hash(&token))
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(token)
}

pub async fn revoke_calendar_token(db: &SqlitePool, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET calendar_token_hash = NULL WHERE id = ?")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn has_calendar_token(db: &SqlitePool, user_id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT calendar_token_hash IS NOT NULL FROM users WHERE id = ?")
        .bind(user_id)
        .fetch_one(db)
        .await
}

/// The language of the active user whose feed secret this is; `None`: no such feed.
pub async fn calendar_owner_lang(
    db: &SqlitePool,
    token: &str,
) -> Result<Option<Lang>, sqlx::Error> {
    let language: Option<String> = sqlx::query_scalar(
        "SELECT language FROM users WHERE calendar_token_hash = ? AND disabled = 0",
    )
    .bind(token_hash(token))
    .fetch_optional(db)
    .await?;
    Ok(language.map(|language| Lang::parse(&language).unwrap_or_default()))
}
