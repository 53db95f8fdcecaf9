//! The audit log: who did what, when, from where. Nothing secret is ever written here.
//!
//! Every feature records its actions through [`record`]; action names are stable codes
//! (`login.failed`, `user.added` …) that the UI translates. Text that may come from a request
//! without a session (the e-mail typed at sign-in, the client address) is cut to
//! [`MAX_FIELD_CHARS`]; refused sign-ins are counted in one entry per client and window.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor, SqlitePool};

use crate::accounts::users::UserRecord;
use crate::model::{AuditEntry, AuditPage, DisplayTime};
use crate::platform::paging::Keyset;
use crate::platform::text::truncate_chars;

/// The longest actor e-mail, subject or client address stored (an e-mail address's maximum).
pub const MAX_FIELD_CHARS: usize = 254;

pub mod actions {
    pub const LOGIN_SUCCEEDED: &str = "login.succeeded";
    pub const LOGIN_FAILED: &str = "login.failed";
    /// Sign-ins refused by the limit: one entry per client and window, `details.refused` counts.
    pub const LOGIN_REFUSED: &str = "login.refused";
    pub const LOGOUT: &str = "logout";
    pub const SETUP_COMPLETED: &str = "setup.completed";
    pub const USER_ADDED: &str = "user.added";
    pub const USER_ROLE_CHANGED: &str = "user.role_changed";
    pub const USER_DISABLED: &str = "user.disabled";
    pub const USER_ENABLED: &str = "user.enabled";
    pub const USER_PASSWORD_RESET: &str = "user.password_reset";
}

/// Who is acting: a signed-in user, or the command line / demo set-up (no user).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: Option<UserRecord>,
    pub client_addr: String,
}

impl Actor {
    /// The signed-in user of the current request, if their role is at least `role`.
    pub async fn require(role: crate::model::Role) -> Result<Actor, crate::error::AppError> {
        let user = crate::accounts::auth::require(role).await?;
        Ok(Actor {
            user: Some(user),
            client_addr: crate::accounts::auth::client_addr().await,
        })
    }

    /// Work started outside the web UI (`fapi-bridge user add`, the demo).
    pub fn system(origin: &str) -> Actor {
        Actor {
            user: None,
            client_addr: origin.to_string(),
        }
    }

    /// Who this is, as recorded on things they start: the user's e-mail, else the origin.
    pub fn name(&self) -> String {
        self.user
            .as_ref()
            .map_or_else(|| self.client_addr.clone(), |u| u.email.clone())
    }

    /// An audit event attributed to this actor.
    pub fn event(&self, action: &'static str) -> AuditEvent {
        let event = AuditEvent::new(action).from_addr(self.client_addr.clone());
        match &self.user {
            Some(user) => event.by(user),
            None => event.by_email(&self.client_addr),
        }
    }
}

#[derive(Debug, Default)]
pub struct AuditEvent {
    action: &'static str,
    actor_user_id: Option<i64>,
    actor_email: Option<String>,
    target: Option<String>,
    details: Option<serde_json::Value>,
    client_addr: Option<String>,
}

impl AuditEvent {
    pub fn new(action: &'static str) -> AuditEvent {
        AuditEvent {
            action,
            ..AuditEvent::default()
        }
    }

    pub fn by(mut self, user: &UserRecord) -> AuditEvent {
        self.actor_user_id = Some(user.id);
        self.actor_email = Some(truncate_chars(&user.email, MAX_FIELD_CHARS));
        self
    }

    /// An actor known only by the e-mail they typed (failed logins); cut to an e-mail's
    /// maximum length.
    pub fn by_email(mut self, email: &str) -> AuditEvent {
        self.actor_email = Some(truncate_chars(
            &email.trim().to_lowercase(),
            MAX_FIELD_CHARS,
        ));
        self
    }

    pub fn target(mut self, target: impl Into<String>) -> AuditEvent {
        self.target = Some(truncate_chars(&target.into(), MAX_FIELD_CHARS));
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> AuditEvent {
        self.details = Some(details);
        self
    }

    pub fn from_addr(mut self, addr: impl Into<String>) -> AuditEvent {
        self.client_addr = Some(truncate_chars(&addr.into(), MAX_FIELD_CHARS));
        self
    }
}

pub async fn record(
    db: impl SqliteExecutor<'_>,
    now: DateTime<Utc>,
    event: AuditEvent,
) -> Result<(), sqlx::Error> {
    insert(db, now, event).await.map(|_| ())
}

/// Records the first refused sign-in of a client's window (`details.refused` = 1); later
/// refusals update the count with [`count_refused_logins`] instead of adding entries.
pub async fn record_refused_login(
    db: impl SqliteExecutor<'_>,
    now: DateTime<Utc>,
    event: AuditEvent,
) -> Result<i64, sqlx::Error> {
    insert(db, now, event.details(serde_json::json!({ "refused": 1 }))).await
}

/// Raises the count of a refused-sign-ins entry to `refused` (never lowers it: counts written
/// by concurrent requests may arrive out of order).
pub async fn count_refused_logins(
    db: impl SqliteExecutor<'_>,
    entry: i64,
    refused: u32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE audit_log
         SET details = json_set(details, '$.refused', max(json_extract(details, '$.refused'), ?))
         WHERE id = ? AND action = ?",
    )
    .bind(refused)
    .bind(entry)
    .bind(actions::LOGIN_REFUSED)
    .execute(db)
    .await?;
    Ok(())
}

async fn insert(
    db: impl SqliteExecutor<'_>,
    now: DateTime<Utc>,
    event: AuditEvent,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO audit_log (at, actor_user_id, actor_email, action, target, details, client_addr)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(now)
    .bind(event.actor_user_id)
    .bind(event.actor_email)
    .bind(event.action)
    .bind(event.target)
    .bind(event.details.map(|d| d.to_string()))
    .bind(event.client_addr)
    .fetch_one(db)
    .await
}

#[derive(FromRow)]
struct AuditRow {
    id: i64,
    at: DateTime<Utc>,
    actor_email: Option<String>,
    action: String,
    target: Option<String>,
    details: Option<String>,
    client_addr: Option<String>,
}

/// Newest first, `limit` entries older than `before` (an entry id).
pub async fn page(
    db: &SqlitePool,
    before: Option<i64>,
    limit: i64,
) -> Result<AuditPage, sqlx::Error> {
    let page = Keyset::new(before, limit);
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, at, actor_email, action, target, details, client_addr FROM audit_log
         WHERE id < ? ORDER BY id DESC LIMIT ?",
    )
    .bind(page.upper_bound())
    .bind(page.fetch_limit())
    .fetch_all(db)
    .await?;
    let (rows, next_before) = page.split(rows, |row| row.id);
    let entries: Vec<AuditEntry> = rows
        .into_iter()
        .map(|row| AuditEntry {
            id: row.id,
            at: DisplayTime::new(row.at),
            actor: row.actor_email,
            action: row.action,
            target: row.target,
            details: row.details,
            client_addr: row.client_addr,
        })
        .collect();
    Ok(AuditPage {
        entries,
        next_before,
    })
}

/// Deletes up to `limit` entries made before `cutoff` (retention); how many.
pub async fn delete_older_than(
    db: &SqlitePool,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? ORDER BY id LIMIT ?)",
    )
    .bind(cutoff)
    .bind(limit)
    .execute(db)
    .await
    .map(|done| done.rows_affected())
}
