//! The one error type that server functions return and the UI shows.
//!
//! Variants carry what the user needs to act, never internal detail: an internal failure is
//! logged on the server with its cause chain and reaches the browser only as
//! [`AppError::Internal`]. The UI turns every variant into words through the translation layer.

use serde::{Deserialize, Serialize};

use crate::model::{CheckOutcome, SmtpProblem, System};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No valid session: the user must sign in.
    #[error("not signed in")]
    Unauthenticated,
    /// Signed in, but the role does not allow this action.
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// Wrong e-mail or password (deliberately not saying which).
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("account disabled")]
    AccountDisabled,
    /// Too many failed attempts; the caller may try again after `retry_after_secs`.
    #[error("too many attempts, retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// The server is too busy to check a password now (every hashing slot stayed taken); the
    /// caller may try again after `retry_after_secs`.
    #[error("busy, retry in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// The input was refused; the reason names the field and the rule.
    #[error("invalid input: {0:?}")]
    Invalid(Invalid),
    /// Something failed on the server; details are in the server log only.
    #[error("internal error")]
    Internal,
    /// FAPI or SmartEmailing failed while the server acted for the user; their message.
    #[error("{0:?} failed: {1}")]
    Upstream(System, String),
    /// The request did not reach the server or the answer could not be read.
    #[error("request failed: {0}")]
    Request(String),
    /// The server could not read the request's arguments (a malformed or hand-made request);
    /// the parser's message says which argument.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The SMTP server did not take an e-mail: why, in words, and the server's own answer.
    #[error("SMTP: {0:?}: {1}")]
    Smtp(SmtpProblem, String),
}

/// Why an input was refused. Each variant has a translated message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Invalid {
    EmailInvalid,
    EmailTaken,
    NameEmpty,
    PasswordEmpty,
    PasswordTooShort {
        min: usize,
    },
    /// Too easy to guess (judged by the zxcvbn strength estimator).
    PasswordWeak,
    PasswordsDiffer,
    LastAdmin,
    CannotChangeSelf,
    SetupLinkInvalid,
    SetupAlreadyDone,
    UnknownRole,
    UnknownLanguage,
    ConnectionNameTaken,
    EshopNameInvalid,
    SeUsernameEmpty,
    /// A new connection needs both API keys.
    ApiKeyRequired(System),
    /// The live check refused the credentials; nothing was saved. `None`: that side passed.
    CredentialsRefused {
        fapi: Option<CheckOutcome>,
        smartemailing: Option<CheckOutcome>,
    },
    /// A destructive action was sent without its confirmation.
    ConfirmationMissing,
    /// The number of items changed since the user confirmed; `now` is the new count.
    CountChanged {
        now: i64,
    },
    /// A historical sync of this connection is already running (or paused): that run.
    SyncAlreadyRunning {
        run_id: i64,
    },
    /// The run is not in a state that allows this (e.g. resuming a finished run).
    RunNotControllable,
    DateInvalid,
    /// Only a due reminder can be marked done.
    ReminderNotDue,
    /// A reminder that is already due can no longer be cancelled: mark it done.
    ReminderAlreadyDue,
    /// The reminder was already marked done or cancelled.
    ReminderFinished,
    /// A bulk action without any contact selected.
    NothingSelected,
    /// A bulk action acts on one connection's contacts: choose the connection first.
    ConnectionRequired,
    /// The chosen SmartEmailing list does not exist (any more).
    ListUnknown,
    /// A field mapping that cannot be saved or previewed; the detail says which rule and why.
    MappingInvalid(String),
    /// E-mail is off: `SMTP_URL` is not set.
    EmailOff,
}

impl From<Invalid> for AppError {
    fn from(value: Invalid) -> Self {
        AppError::Invalid(value)
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // On the server: the arguments could not be read. Answered 400, not 500.
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::Deserialization(message)
                if cfg!(feature = "ssr") =>
            {
                let error = AppError::BadRequest(message);
                #[cfg(feature = "ssr")]
                if let Some(response) =
                    leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
                {
                    response.set_status(http::StatusCode::BAD_REQUEST);
                }
                error
            }
            ServerFnErrorErr::ServerError(message) | ServerFnErrorErr::MiddlewareError(message) => {
                AppError::Request(message)
            }
            other => AppError::Request(other.to_string()),
        }
    }
}

impl AppError {
    /// The HTTP status this error is answered with.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => 401,
            AppError::Forbidden | AppError::AccountDisabled => 403,
            AppError::NotFound => 404,
            AppError::RateLimited { .. } => 429,
            AppError::Busy { .. } => 503,
            AppError::Invalid(_) => 422,
            AppError::BadRequest(_) => 400,
            AppError::Upstream(..) | AppError::Smtp(..) => 502,
            AppError::Internal | AppError::Request(_) => 500,
        }
    }
}
