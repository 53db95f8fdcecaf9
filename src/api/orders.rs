//! Orders and notifications: everyone reads; operators and admins retry.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{NotificationPage, NotificationStatus, OrderDetail, OrderFilter, OrderPage};

pub const PAGE_SIZE: i64 = 50;

#[server(endpoint = "list_orders")]
pub async fn list_orders(
    #[server(default)] filter: OrderFilter,
    before: Option<i64>,
) -> Result<OrderPage, AppError> {
    use crate::accounts::auth;
    use crate::model::Role;
    use crate::platform::Context;
    use crate::sync::queries;
    crate::platform::error::respond(async move {
        let user = auth::require(Role::Viewer).await?;
        let db = &Context::current().db;
        let (rows, next_before) = queries::orders(db, &filter, before, PAGE_SIZE).await?;
        Ok(OrderPage {
            rows,
            next_before,
            connections: queries::connection_refs(db).await?,
            can_retry: user.role >= Role::Operator,
            failed_count: queries::failed_count(db, filter.connection).await?,
        })
    })
    .await
}

#[server(endpoint = "get_order")]
pub async fn get_order(id: i64) -> Result<OrderDetail, AppError> {
    use crate::accounts::auth;
    use crate::model::{DisplayTime, Role};
    use crate::platform::Context;
    use crate::sync::queries;
    crate::platform::error::respond(async move {
        let user = auth::require(Role::Viewer).await?;
        let db = &Context::current().db;
        let order = queries::order(db, id).await?.ok_or(AppError::NotFound)?;
        Ok(OrderDetail {
            order: order.row,
            source: order.source,
            next_attempt: order.next_attempt.map(DisplayTime::new),
            documents: queries::documents(db, id).await?,
            attempts: queries::attempts(db, id).await?,
            payload: order.payload.as_deref().map(queries::pretty),
            can_retry: user.role >= Role::Operator,
        })
    })
    .await
}

/// Sends one order again now (a failed one, or a pending one waiting for its next attempt).
#[server(endpoint = "retry_order")]
pub async fn retry_order(id: i64) -> Result<(), AppError> {
    use crate::accounts::audit::{self, Actor};
    use crate::model::{Role, SyncStatus};
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Operator).await?;
        let ctx = Context::current();
        let now = ctx.clock.now();
        let code: Option<String> = sqlx::query_scalar(
            "UPDATE orders SET sync_status = ?, attempts = 0, next_attempt_at = ?, status_reason = NULL,
                updated_at = ?
             WHERE id = ? AND sync_status IN (?, ?) AND payload IS NOT NULL
             RETURNING eshop_code",
        )
        .bind(SyncStatus::Pending)
        .bind(now)
        .bind(now)
        .bind(id)
        .bind(SyncStatus::Failed)
        .bind(SyncStatus::Pending)
        .fetch_optional(&ctx.db)
        .await?;
        let code = code.ok_or(AppError::NotFound)?;
        audit::record(&ctx.db, now, actor.event(actions::ORDER_RETRIED).target(format!("order {code}"))).await?;
        ctx.work.orders.notify_one();
        Ok(())
    })
    .await
}

/// Re-queues every failed order (of a connection, or all). `expected` is the count the user
/// confirmed; if it changed meanwhile the request is refused so nobody retries more than they
/// saw.
#[server(endpoint = "retry_failed_orders")]
pub async fn retry_failed_orders(
    connection: Option<i64>,
    expected: i64,
    confirm: Option<String>,
) -> Result<u64, AppError> {
    use crate::accounts::audit::{self, Actor};
    use crate::error::Invalid;
    use crate::model::Role;
    use crate::platform::Context;
    use crate::sync::{queries, store};
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Operator).await?;
        if confirm.as_deref() != Some("yes") {
            return Err(Invalid::ConfirmationMissing.into());
        }
        let ctx = Context::current();
        let ids = queries::failed_ids(&ctx.db, connection).await?;
        if ids.len() as i64 != expected {
            return Err(Invalid::CountChanged {
                now: ids.len() as i64,
            }
            .into());
        }
        let now = ctx.clock.now();
        let count = store::requeue_failed(&ctx.db, Some(&ids), now).await?;
        audit::record(
            &ctx.db,
            now,
            actor
                .event(actions::FAILED_RETRIED)
                .details(serde_json::json!({ "count": count, "connection": connection })),
        )
        .await?;
        ctx.work.orders.notify_one();
        Ok(count)
    })
    .await
}

#[server(endpoint = "list_notifications")]
pub async fn list_notifications(
    connection: Option<i64>,
    status: Option<NotificationStatus>,
    before: Option<i64>,
) -> Result<NotificationPage, AppError> {
    use crate::accounts::auth;
    use crate::model::Role;
    use crate::platform::Context;
    use crate::sync::queries;
    crate::platform::error::respond(async move {
        auth::require(Role::Viewer).await?;
        let (rows, next_before) = queries::notifications(
            &Context::current().db,
            connection,
            status,
            before,
            PAGE_SIZE,
        )
        .await?;
        Ok(NotificationPage { rows, next_before })
    })
    .await
}

#[cfg(feature = "ssr")]
pub mod actions {
    pub const ORDER_RETRIED: &str = "order.retried";
    pub const FAILED_RETRIED: &str = "orders.failed_retried";
}
