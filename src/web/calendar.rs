//! `GET /calendar/<secret>.ics`: a user's personal feed of the team's upcoming reminders, for
//! calendar apps (which send no cookie: the secret in the URL is the authentication, and only
//! its hash is stored; Settings revokes it).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::accounts::preferences;
use crate::reminders::calendar;
use crate::web::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/calendar/{file}", get(feed))
}

async fn feed(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(token) = file.strip_suffix(".ics").filter(|t| !t.is_empty()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let ctx = &state.ctx;
    let lang = match preferences::calendar_owner_lang(&ctx.db, token).await {
        Ok(Some(lang)) => lang,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(error) => {
            tracing::error!(%error, "the calendar feed could not be read");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    match calendar::feed(ctx, lang).await {
        Ok(text) => (
            [
                (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
                (header::CACHE_CONTROL, "private, max-age=300"),
            ],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "the calendar feed could not be read");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
