//! What the session remembers about the signed-in user, and how it is checked.
//!
//! Sessions end after `SESSION_IDLE_TIMEOUT` without a request (`Expiry::OnInactivity`).
//! tower-sessions saves, and so extends, only a session that changed, so a signed-in request
//! touches the session once less than half of the timeout is left since it was last saved:
//! the timeout slides with one write per half-timeout, not one per request. Sessions run on
//! real time (the store compares expiry dates with the system clock), not on the app's clock.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions::{Expiry, Session};
use tower_sessions_sqlx_store::SqliteStore;

use crate::accounts::users::{self, UserRecord};
use crate::error::AppError;

const USER_KEY: &str = "user";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionUser {
    id: i64,
    /// The user's `auth_version` at sign-in; a password reset or disabling bumps it.
    auth_version: i64,
    /// When the session was last saved (Unix milliseconds, real time); 0 in sessions from
    /// before this was kept, which are then saved at their next request.
    #[serde(default)]
    saved_at_ms: u64,
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// Starts an authenticated session under a new ID (defeats session fixation).
pub async fn sign_in(session: &Session, user: &UserRecord) -> Result<(), AppError> {
    session.cycle_id().await?;
    session
        .insert(
            USER_KEY,
            SessionUser {
                id: user.id,
                auth_version: user.auth_version,
                saved_at_ms: unix_ms(SystemTime::now()),
            },
        )
        .await?;
    Ok(())
}

pub async fn sign_out(session: &Session) -> Result<(), AppError> {
    session.flush().await?;
    Ok(())
}

/// The user of this session, if it is signed in and the account is still active and unchanged.
pub async fn signed_in_user(
    session: &Session,
    db: &SqlitePool,
) -> Result<Option<UserRecord>, AppError> {
    signed_in_user_with(session, db, Activity::User).await
}

/// Whether a request is the user's doing (it keeps the session alive) or a page polling in
/// the background (it must not: an open tab would never reach the idle timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    User,
    Background,
}

pub async fn signed_in_user_with(
    session: &Session,
    db: &SqlitePool,
    activity: Activity,
) -> Result<Option<UserRecord>, AppError> {
    let Some(stored) = session.get::<SessionUser>(USER_KEY).await? else {
        return Ok(None);
    };
    let user = users::find_by_id(db, stored.id).await?;
    match user {
        Some(user) if !user.disabled && user.auth_version == stored.auth_version => {
            if activity == Activity::User {
                keep_alive(session, stored, SystemTime::now()).await?;
            }
            Ok(Some(user))
        }
        _ => {
            session.flush().await?;
            Ok(None)
        }
    }
}

/// Touches the session when less than half of its idle timeout is left, so it is saved with a
/// new expiry (and its cookie sent again).
async fn keep_alive(
    session: &Session,
    mut stored: SessionUser,
    now: SystemTime,
) -> Result<(), AppError> {
    let Some(Expiry::OnInactivity(timeout)) = session.expiry() else {
        return Ok(());
    };
    let half = Duration::try_from(timeout).unwrap_or_default() / 2;
    let now_ms = unix_ms(now);
    if u128::from(now_ms.saturating_sub(stored.saved_at_ms)) >= half.as_millis() {
        stored.saved_at_ms = now_ms;
        session.insert(USER_KEY, stored).await?;
    }
    Ok(())
}

/// Deletes the sessions whose idle timeout has passed (run on a schedule by the worker).
pub async fn delete_expired(db: &SqlitePool) -> anyhow::Result<()> {
    SqliteStore::new(db.clone()).delete_expired().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn a_session_is_saved_again_only_once_half_its_timeout_is_gone() {
        let db = SqlitePool::connect("sqlite::memory:").await.unwrap();
        let store = SqliteStore::new(db);
        store.migrate().await.unwrap();
        let timeout = time::Duration::minutes(30);
        let session = Session::new(None, Arc::new(store), Some(Expiry::OnInactivity(timeout)));
        let saved_at = SystemTime::now();
        let stored = SessionUser {
            id: 1,
            auth_version: 1,
            saved_at_ms: unix_ms(saved_at),
        };
        let minutes = |n: u64| Duration::from_secs(n * 60);

        keep_alive(&session, stored.clone(), saved_at + minutes(14))
            .await
            .unwrap();
        assert!(!session.is_modified(), "more than half is left: no write");
        keep_alive(&session, stored, saved_at + minutes(16))
            .await
            .unwrap();
        assert!(session.is_modified(), "less than half is left: saved again");
    }
}
