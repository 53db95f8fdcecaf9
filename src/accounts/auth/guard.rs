//! Role checks for server functions. Every server function that reads or changes data calls
//! [`require`] first; hiding a link in the UI is never the protection.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use http::request::Parts;
use tower_sessions::Session;

use crate::accounts::auth::session;
use crate::accounts::users::UserRecord;
use crate::error::AppError;
use crate::model::Role;
use crate::platform::Context;
use crate::platform::error::internal;

pub async fn request_session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(internal)
}

/// The signed-in user of a request, looked up once per request by [`load_request_user`].
#[derive(Debug, Clone)]
pub struct RequestUser(pub Option<UserRecord>);

/// Server functions pages call on a timer (the bell): they do not keep a session alive.
const BACKGROUND_POLLS: &[&str] = &["/api/my_alerts"];

/// Middleware: resolves the session to its user before any handler runs, so server functions
/// and the resources of one page share one lookup instead of each loading the session.
pub async fn load_request_user(
    axum::extract::State(ctx): axum::extract::State<Context>,
    session: Session,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let activity = if BACKGROUND_POLLS.contains(&request.uri().path()) {
        session::Activity::Background
    } else {
        session::Activity::User
    };
    match session::signed_in_user_with(&session, &ctx.db, activity).await {
        Ok(user) => {
            request.extensions_mut().insert(RequestUser(user));
            next.run(request).await
        }
        Err(error) => {
            let status = http::StatusCode::from_u16(error.status_code())
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
            (status, "The session could not be read").into_response()
        }
    }
}

/// The signed-in user of the current request, if any.
pub async fn current_user() -> Result<Option<UserRecord>, AppError> {
    let resolved = leptos::prelude::use_context::<Parts>()
        .and_then(|parts| parts.extensions.get::<RequestUser>().cloned());
    match resolved {
        Some(RequestUser(user)) => Ok(user),
        // Outside the HTTP stack (no middleware ran): ask the session directly.
        None => session::signed_in_user(&request_session().await?, &Context::current().db).await,
    }
}

/// The signed-in user, if their role is at least `role`.
pub async fn require(role: Role) -> Result<UserRecord, AppError> {
    match current_user().await? {
        None => Err(AppError::Unauthenticated),
        Some(user) if user.role >= role => Ok(user),
        Some(_) => Err(AppError::Forbidden),
    }
}

/// The client's address, as the web layer resolved it for this request (the TCP peer, or what
/// the trusted reverse proxy reports).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

/// The client's address of the current request.
pub async fn client_addr() -> String {
    if let Some(ClientAddr(addr)) = leptos::prelude::use_context::<Parts>()
        .and_then(|parts| parts.extensions.get::<ClientAddr>().cloned())
    {
        return addr;
    }
    match leptos_axum::extract::<ConnectInfo<SocketAddr>>().await {
        Ok(ConnectInfo(addr)) => addr.ip().to_string(),
        Err(_) => "unknown".into(),
    }
}
