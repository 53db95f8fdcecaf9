//! A connection's field mapping: everyone reads; admins save; operators and admins preview and
//! re-send. Rules travel as JSON (they are nested), the rest as forms.

use leptos::prelude::*;
use server_fn::codec::Json;

use crate::error::AppError;
use crate::model::{FieldMappingPage, FieldRule, MappingPreview};

#[server(endpoint = "get_field_mapping")]
pub async fn get_field_mapping(connection: i64) -> Result<FieldMappingPage, AppError> {
    use crate::accounts::auth;
    use crate::model::Role;
    use crate::platform::Context;
    use crate::sync::mapping_editor;
    crate::platform::error::respond(async move {
        let user = auth::require(Role::Viewer).await?;
        mapping_editor::page(
            &Context::current(),
            connection,
            user.role >= Role::Admin,
            user.role >= Role::Operator,
        )
        .await
    })
    .await
}

#[server(endpoint = "save_field_mapping", input = Json)]
pub async fn save_field_mapping(connection: i64, rules: Vec<FieldRule>) -> Result<(), AppError> {
    use crate::accounts::audit::Actor;
    use crate::model::Role;
    use crate::platform::Context;
    use crate::sync::mapping_editor;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Admin).await?;
        mapping_editor::save(&Context::current(), &actor, connection, rules).await
    })
    .await
}

/// What would be sent for one order with these rules (the saved ones or an edit). Sends nothing.
#[server(endpoint = "preview_field_mapping", input = Json)]
pub async fn preview_field_mapping(
    connection: i64,
    reference: String,
    rules: Vec<FieldRule>,
) -> Result<MappingPreview, AppError> {
    use crate::accounts::auth;
    use crate::model::Role;
    use crate::platform::Context;
    use crate::sync::mapping_editor;
    crate::platform::error::respond(async move {
        // Reads FAPI on the user's behalf for an order the bridge does not hold.
        auth::require(Role::Operator).await?;
        mapping_editor::preview(&Context::current(), connection, &reference, rules).await
    })
    .await
}

/// Re-sends the orders from `since` (YYYY-MM-DD; all when empty) with the current mapping, as a
/// historical run; `confirm` must be "yes". Returns the run's id.
#[server(endpoint = "resend_with_mapping")]
pub async fn resend_with_mapping(
    connection: i64,
    since: Option<String>,
    confirm: Option<String>,
) -> Result<i64, AppError> {
    use crate::accounts::audit::Actor;
    use crate::model::Role;
    use crate::platform::Context;
    use crate::sync::mapping_editor;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Operator).await?;
        let since = crate::api::sync::optional_day(since.as_deref())?;
        mapping_editor::resend(
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
