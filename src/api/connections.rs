//! Connections: everyone reads; admins create, edit, delete and switch; operators may re-test.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{CheckOutcome, ConnectionDetail, ConnectionList, ListRef};

#[server(endpoint = "list_connections")]
pub async fn list_connections() -> Result<ConnectionList, AppError> {
    use crate::accounts::auth;
    use crate::connections;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async {
        let user = auth::require(Role::Viewer).await?;
        let ctx = Context::current();
        let can_manage = user.role >= Role::Admin;
        let connections = connections::list(&ctx.db)
            .await?
            .iter()
            .map(|c| c.to_view(&ctx, can_manage))
            .collect::<Result<_, _>>()?;
        Ok(ConnectionList {
            can_manage,
            connections,
        })
    })
    .await
}

#[server(endpoint = "get_connection")]
pub async fn get_connection(id: i64) -> Result<ConnectionDetail, AppError> {
    use crate::accounts::auth;
    use crate::connections;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let user = auth::require(Role::Viewer).await?;
        let ctx = Context::current();
        let can_manage = user.role >= Role::Admin;
        let connection = connections::find(&ctx.db, id)
            .await?
            .to_view(&ctx, can_manage)?;
        Ok(ConnectionDetail {
            connection,
            can_manage,
            can_test: user.role >= Role::Operator,
        })
    })
    .await
}

#[server(endpoint = "create_connection")]
pub async fn create_connection(
    name: String,
    eshop_name: String,
    fapi_login: String,
    fapi_api_key: String,
    se_username: String,
    se_api_key: String,
) -> Result<i64, AppError> {
    use crate::accounts::audit::Actor;
    use crate::connections::{self, ConnectionForm};
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Admin).await?;
        let form = ConnectionForm {
            name,
            eshop_name,
            fapi_login,
            fapi_api_key,
            se_username,
            se_api_key,
        };
        connections::create(&Context::current(), &actor, form).await
    })
    .await
}

#[server(endpoint = "update_connection")]
#[allow(clippy::too_many_arguments)]
pub async fn update_connection(
    id: i64,
    name: String,
    eshop_name: String,
    fapi_login: String,
    fapi_api_key: String,
    se_username: String,
    se_api_key: String,
) -> Result<(), AppError> {
    use crate::accounts::audit::Actor;
    use crate::connections::{self, ConnectionForm};
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Admin).await?;
        let form = ConnectionForm {
            name,
            eshop_name,
            fapi_login,
            fapi_api_key,
            se_username,
            se_api_key,
        };
        connections::update(&Context::current(), &actor, id, form).await
    })
    .await
}

/// Deletes a connection; `confirm` must be "yes" (the form's confirmation checkbox).
#[server(endpoint = "delete_connection")]
pub async fn delete_connection(id: i64, confirm: Option<String>) -> Result<(), AppError> {
    use crate::accounts::audit::Actor;
    use crate::connections;
    use crate::error::Invalid;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Admin).await?;
        if confirm.as_deref() != Some("yes") {
            return Err(Invalid::ConfirmationMissing.into());
        }
        connections::delete(&Context::current(), &actor, id).await?;
        leptos_axum::redirect("/connections");
        Ok(())
    })
    .await
}

#[server(endpoint = "rotate_webhook")]
pub async fn rotate_webhook(id: i64) -> Result<(), AppError> {
    use crate::accounts::audit::Actor;
    use crate::connections;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Admin).await?;
        connections::rotate_webhook_token(&Context::current(), &actor, id).await
    })
    .await
}

/// Re-checks both credentials now.
#[server(endpoint = "test_connection")]
pub async fn test_connection(id: i64) -> Result<(CheckOutcome, CheckOutcome), AppError> {
    use crate::accounts::auth;
    use crate::connections;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        auth::require(Role::Operator).await?;
        connections::test(&Context::current(), id).await
    })
    .await
}

#[server(endpoint = "set_forwarding")]
pub async fn set_forwarding(id: i64, enabled: bool) -> Result<(), AppError> {
    use crate::accounts::audit::Actor;
    use crate::connections;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Admin).await?;
        connections::set_forwarding(&Context::current(), &actor, id, enabled).await
    })
    .await
}

/// The SmartEmailing lists of the connection's account (to choose the default list).
#[server(endpoint = "connection_lists")]
pub async fn connection_lists(id: i64) -> Result<Vec<ListRef>, AppError> {
    use crate::accounts::auth;
    use crate::connections;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        auth::require(Role::Admin).await?;
        connections::contact_lists(&Context::current(), id).await
    })
    .await
}

/// Sets the list new buyers go into; an empty `list_id` clears it.
#[server(endpoint = "set_default_list")]
pub async fn set_default_list(id: i64, list_id: String) -> Result<(), AppError> {
    use crate::accounts::audit::Actor;
    use crate::connections;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Admin).await?;
        let list_id = match list_id.trim() {
            "" => None,
            text => Some(text.parse::<i64>().map_err(|_| AppError::NotFound)?),
        };
        connections::set_default_list(&Context::current(), &actor, id, list_id).await
    })
    .await
}
