//! Checking a sign-in: the limits, the password and the audit entries. The session is the
//! caller's (the web request's) business.

use chrono::{DateTime, Utc};

use crate::accounts::audit::{self, AuditEvent, actions};
use crate::accounts::auth::password;
use crate::accounts::auth::rate_limit::{AttemptKeys, LoginRateLimiter, Refusal, Scope};
use crate::accounts::users::{self, UserRecord};
use crate::error::AppError;
use crate::platform::Context;

/// The longest e-mail address there is; no account has a longer one.
const MAX_EMAIL_LEN: usize = 254;

/// The account whose e-mail and password these are, if the limits let the attempt through.
///
/// The attempt is counted before the password is checked, so attempts running at the same time
/// cannot all pass the limit. An address the account signed in from before is held to its own
/// limit only, so failures from elsewhere cannot lock the user out; a new password starts the
/// e-mail's count afresh.
pub async fn check(
    ctx: &Context,
    limiter: &LoginRateLimiter,
    client_addr: &str,
    email: &str,
    password: String,
) -> Result<UserRecord, AppError> {
    let now = ctx.now();
    let email = email.trim();
    let user = if email.len() <= MAX_EMAIL_LEN {
        users::find_by_email(&ctx.db, email).await?
    } else {
        None
    };
    let keys = AttemptKeys::new(
        client_addr,
        email,
        user.as_ref().map_or(0, |u| u.auth_version),
    );
    let scope = match &user {
        Some(user) if users::has_signed_in_from(&ctx.db, user.id, client_addr).await? => {
            Scope::ClientOnly
        }
        _ => Scope::Both,
    };
    let reservation = match limiter.reserve(&keys, scope, now) {
        Ok(reservation) => reservation,
        Err(refusal) => {
            record_refusal(ctx, limiter, &keys, client_addr, email, refusal, now).await?;
            return Err(AppError::RateLimited {
                retry_after_secs: refusal.retry_after_secs,
            });
        }
    };

    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let matches = match password::verify(password, stored_hash).await {
        Ok(matches) => matches,
        Err(error) => {
            // Not checked (the server was too busy, or failed): the attempt does not count.
            limiter.release(reservation);
            return Err(error);
        }
    };
    let failed = |reason: &'static str| {
        AuditEvent::new(actions::LOGIN_FAILED)
            .by_email(email)
            .from_addr(client_addr)
            .details(serde_json::json!({ "reason": reason }))
    };
    // A failed attempt keeps its reservation: it stays counted.
    let user = match user {
        Some(user) if matches => user,
        _ => {
            audit::record(&ctx.db, now, failed("wrong_credentials")).await?;
            return Err(AppError::InvalidCredentials);
        }
    };
    if user.disabled {
        audit::record(&ctx.db, now, failed("disabled")).await?;
        return Err(AppError::AccountDisabled);
    }

    limiter.succeeded(reservation);
    users::record_sign_in_address(&ctx.db, user.id, client_addr, now).await?;
    audit::record(
        &ctx.db,
        now,
        AuditEvent::new(actions::LOGIN_SUCCEEDED)
            .by(&user)
            .from_addr(client_addr),
    )
    .await?;
    Ok(user)
}

/// Counts a refused attempt in the client's one audit entry of the window: the first refusal
/// writes it, later ones raise its count.
async fn record_refusal(
    ctx: &Context,
    limiter: &LoginRateLimiter,
    keys: &AttemptKeys,
    client_addr: &str,
    email: &str,
    refusal: Refusal,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    match refusal.audit_entry {
        Some(entry) => audit::count_refused_logins(&ctx.db, entry, refusal.count).await?,
        None if refusal.count == 1 => {
            let event = AuditEvent::new(actions::LOGIN_REFUSED)
                .by_email(email)
                .from_addr(client_addr);
            let entry = audit::record_refused_login(&ctx.db, now, event).await?;
            // Refusals that came while the entry was written are counted now.
            let count = limiter.note_refusal_entry(keys, entry);
            if count > 1 {
                audit::count_refused_logins(&ctx.db, entry, count).await?;
            }
        }
        // The window's first refusal is writing the entry and will take this one along.
        None => {}
    }
    Ok(())
}
