//! Live checks of a connection's credentials against FAPI and SmartEmailing.

use crate::error::{AppError, Invalid};
use crate::fapi::{FapiClient, FapiCredentials, FapiError};
use crate::model::CheckOutcome;
use crate::platform::Context;
use crate::platform::http::{HttpSettings, RetryPolicy};
use crate::smartemailing::{SeCredentials, SeError, SmartEmailingClient};

use super::record::{decrypt, find};

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

pub async fn check_fapi(ctx: &Context, login: &str, api_key: &str) -> CheckOutcome {
    let client = FapiClient::with_http(
        ctx.http.clone(),
        ctx.settings.fapi_api_url.as_str(),
        FapiCredentials {
            login: login.to_string(),
            api_key: api_key.to_string(),
        },
        &check_settings(&ctx.settings.http),
    );
    match client.check_credentials().await {
        Ok(()) => CheckOutcome::Ok,
        Err(FapiError::Unauthorized { message, .. }) => CheckOutcome::WrongCredentials(message),
        Err(FapiError::Timeout(_)) => CheckOutcome::Timeout,
        Err(FapiError::Unreachable(message)) => CheckOutcome::Unreachable(message),
        Err(other) => CheckOutcome::Failed(other.to_string()),
    }
}

pub async fn check_smartemailing(ctx: &Context, username: &str, api_key: &str) -> CheckOutcome {
    let client = SmartEmailingClient::with_http(
        ctx.http.clone(),
        ctx.settings.smartemailing_api_url.as_str(),
        SeCredentials {
            username: username.to_string(),
            api_key: api_key.to_string(),
        },
        &check_settings(&ctx.settings.http),
    );
    match client.check_credentials().await {
        Ok(_) => CheckOutcome::Ok,
        Err(SeError::Unauthorized { message, .. }) => CheckOutcome::WrongCredentials(message),
        Err(SeError::Timeout(_)) => CheckOutcome::Timeout,
        Err(SeError::Unreachable(message)) => CheckOutcome::Unreachable(message),
        Err(other) => CheckOutcome::Failed(other.to_string()),
    }
}

/// Checks both sides at once; refuses when either fails.
pub(super) async fn check_both(
    ctx: &Context,
    fapi_login: &str,
    fapi_key: &str,
    se_username: &str,
    se_key: &str,
) -> Result<(CheckOutcome, CheckOutcome), AppError> {
    let (fapi, se) = tokio::join!(
        check_fapi(ctx, fapi_login, fapi_key),
        check_smartemailing(ctx, se_username, se_key),
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

/// Re-checks both credentials with the stored keys and records the result.
pub async fn test(ctx: &Context, id: i64) -> Result<(CheckOutcome, CheckOutcome), AppError> {
    let current = find(&ctx.db, id).await?;
    let fapi_key = decrypt(ctx, &current.fapi_api_key)?;
    let se_key = decrypt(ctx, &current.se_api_key)?;
    let (fapi, se) = tokio::join!(
        check_fapi(ctx, &current.fapi_login, &fapi_key),
        check_smartemailing(ctx, &current.se_username, &se_key),
    );
    let now = ctx.clock.now();
    let (fapi_kind, fapi_message) = fapi.kind();
    let (se_kind, se_message) = se.kind();
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
    .execute(&ctx.db)
    .await?;
    Ok((fapi, se))
}
