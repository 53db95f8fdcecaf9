//! What the session remembers about the signed-in user, and how it is checked.

use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;
use tower_sessions::Session;

use crate::accounts::users::{self, UserRecord};
use crate::error::AppError;

const USER_KEY: &str = "user";

#[derive(Debug, Serialize, Deserialize)]
struct SessionUser {
    id: i64,
    /// The user's `auth_version` at sign-in; a password reset or disabling bumps it.
    auth_version: i64,
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
    let Some(stored) = session.get::<SessionUser>(USER_KEY).await? else {
        return Ok(None);
    };
    let user = users::find_by_id(db, stored.id).await?;
    match user {
        Some(user) if !user.disabled && user.auth_version == stored.auth_version => Ok(Some(user)),
        _ => {
            session.flush().await?;
            Ok(None)
        }
    }
}
