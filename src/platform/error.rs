//! Server side of [`AppError`]: logging internal failures and setting the HTTP status.

use std::future::Future;

use crate::error::AppError;

/// Logs an internal failure with its whole cause chain and returns the generic error the
/// browser sees.
pub fn internal(error: impl Into<anyhow::Error>) -> AppError {
    let error = error.into();
    tracing::error!(error = format!("{error:#}"), "internal error");
    AppError::Internal
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        internal(error)
    }
}

impl From<anyhow::Error> for AppError {
    fn from(error: anyhow::Error) -> Self {
        internal(error)
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(error: tower_sessions::session::Error) -> Self {
        internal(error)
    }
}

/// Runs a server function's body and, on error, answers with the error's HTTP status
/// (401, 403, 422, 429, 503 …) instead of the framework's blanket 500.
pub async fn respond<T>(body: impl Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
    let result = body.await;
    if let Err(error) = &result
        && let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = http::StatusCode::from_u16(error.status_code())
    {
        response.set_status(status);
        if let AppError::RateLimited { retry_after_secs } | AppError::Busy { retry_after_secs } =
            error
        {
            response.insert_header(http::header::RETRY_AFTER, (*retry_after_secs).into());
        }
    }
    result
}

/// Whether a write was refused because it would break a unique constraint.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// A write's result, with a unique-constraint violation turned into the user's error `taken`
/// (a name already used …) and any other database error into an internal one.
pub fn taken_if_unique<T>(
    result: Result<T, sqlx::Error>,
    taken: impl FnOnce() -> AppError,
) -> Result<T, AppError> {
    result.map_err(|error| {
        if is_unique_violation(&error) {
            taken()
        } else {
            error.into()
        }
    })
}

/// The text of a panic's payload (for the log and for the item that caused it).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
