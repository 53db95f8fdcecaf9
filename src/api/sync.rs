//! Sync history and the historical sync: everyone reads; operators and admins start and steer.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{RunDetail, RunKind, RunPage};

pub const PAGE_SIZE: i64 = 50;

#[server(endpoint = "list_runs")]
pub async fn list_runs(
    connection: Option<i64>,
    kind: Option<RunKind>,
    before: Option<i64>,
) -> Result<RunPage, AppError> {
    use crate::accounts::auth;
    use crate::model::Role;
    use crate::platform::Context;
    use crate::sync::runs;
    crate::platform::error::respond(async move {
        let user = auth::require(Role::Viewer).await?;
        let db = &Context::current().db;
        let (rows, next_before) = runs::list(db, connection, kind, before, PAGE_SIZE).await?;
        let connections = crate::connections::list(db)
            .await?
            .into_iter()
            .map(|c| crate::model::ConnectionRef {
                id: c.id,
                name: c.name,
            })
            .collect();
        Ok(RunPage {
            rows,
            next_before,
            connections,
            can_start: user.role >= Role::Operator,
        })
    })
    .await
}

#[server(endpoint = "get_run")]
pub async fn get_run(id: i64, orders_before: Option<i64>) -> Result<RunDetail, AppError> {
    use crate::accounts::auth;
    use crate::model::{OrderFilter, Role};
    use crate::platform::Context;
    use crate::sync::{queries, runs};
    crate::platform::error::respond(async move {
        let user = auth::require(Role::Viewer).await?;
        let db = &Context::current().db;
        let (run, rate, eta_secs) = runs::one(db, id).await?.ok_or(AppError::NotFound)?;
        let (synced, waiting) = runs::order_counts(db, id).await?;
        let filter = OrderFilter {
            run: Some(id),
            ..OrderFilter::default()
        };
        let (orders, next_orders_before) =
            queries::orders(db, &filter, orders_before, PAGE_SIZE).await?;
        Ok(RunDetail {
            can_control: user.role >= Role::Operator && run.kind == RunKind::Historical,
            run,
            synced,
            waiting,
            rate,
            eta_secs,
            orders,
            next_orders_before,
        })
    })
    .await
}

/// An optional day typed in a date field (YYYY-MM-DD; empty is none).
#[cfg(feature = "ssr")]
pub(crate) fn optional_day(day: Option<&str>) -> Result<Option<chrono::NaiveDate>, AppError> {
    match day.map(str::trim) {
        None | Some("") => Ok(None),
        Some(day) => chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| crate::error::Invalid::DateInvalid.into()),
    }
}

/// Starts a historical sync; `since` is an optional day (YYYY-MM-DD), `confirm` must be "yes".
#[server(endpoint = "start_historical_sync")]
pub async fn start_historical_sync(
    connection: i64,
    since: Option<String>,
    confirm: Option<String>,
) -> Result<i64, AppError> {
    use crate::accounts::audit::Actor;
    use crate::model::Role;
    use crate::platform::Context;
    use crate::sync::historical;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Operator).await?;
        let since = optional_day(since.as_deref())?;
        historical::start(
            &Context::current(),
            &actor,
            connection,
            since,
            confirm.as_deref() == Some("yes"),
        )
        .await
    })
    .await
}

/// Pauses, resumes or cancels a historical sync.
#[server(endpoint = "control_sync")]
pub async fn control_sync(run: i64, action: String) -> Result<(), AppError> {
    use crate::accounts::audit::Actor;
    use crate::error::Invalid;
    use crate::model::Role;
    use crate::platform::Context;
    use crate::sync::historical;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Operator).await?;
        if !matches!(action.as_str(), "pause" | "resume" | "cancel") {
            return Err(Invalid::RunNotControllable.into());
        }
        historical::control(&Context::current(), &actor, run, &action).await
    })
    .await
}
