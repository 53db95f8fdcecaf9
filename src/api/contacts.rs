//! Contacts without a list: everyone reads; operators and admins refresh, move and blacklist;
//! only admins delete.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{ContactDetail, ContactFilter, ContactJobDetail, ContactPage, ListRef};

#[server(endpoint = "list_contacts")]
pub async fn list_contacts(
    #[server(default)] filter: ContactFilter,
    page: Option<i64>,
) -> Result<ContactPage, AppError> {
    use crate::accounts::auth;
    use crate::connections;
    use crate::contacts::{jobs, queries};
    use crate::model::{ConnectionRef, Role};
    use crate::platform::Context;
    use rand::Rng;
    crate::platform::error::respond(async move {
        let user = auth::require(Role::Viewer).await?;
        let db = &Context::current().db;
        let matching = queries::count(db, &filter).await?;
        let pages = (matching + queries::PAGE_SIZE - 1) / queries::PAGE_SIZE;
        let page = page.unwrap_or(0).clamp(0, (pages - 1).max(0));
        let rows = queries::page(db, &filter, page).await?;
        let all = connections::list(db).await?;
        let with_default_list = all
            .iter()
            .filter(|c| c.default_list_id.is_some())
            .map(|c| c.name.clone())
            .collect();
        let request_key: String = {
            let mut rng = rand::thread_rng();
            (0..16)
                .map(|_| format!("{:x}", rng.gen_range(0..16)))
                .collect()
        };
        Ok(ContactPage {
            rows,
            matching,
            page,
            pages: pages.max(1),
            connections: all
                .into_iter()
                .map(|c| ConnectionRef {
                    id: c.id,
                    name: c.name,
                })
                .collect(),
            with_default_list,
            jobs: jobs::recent(db, 10).await?,
            request_key,
            can_act: user.role >= Role::Operator,
            can_delete: user.role >= Role::Admin,
        })
    })
    .await
}

/// The SmartEmailing lists of a connection, to move contacts into.
#[server(endpoint = "move_target_lists")]
pub async fn move_target_lists(connection: i64) -> Result<Vec<ListRef>, AppError> {
    use crate::accounts::auth;
    use crate::connections;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        auth::require(Role::Operator).await?;
        connections::contact_lists(&Context::current(), connection).await
    })
    .await
}

#[server(endpoint = "refresh_contacts")]
pub async fn refresh_contacts(connection: i64) -> Result<i64, AppError> {
    use crate::accounts::audit::Actor;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Operator).await?;
        crate::contacts::jobs::start_refresh(&Context::current(), &actor, connection).await
    })
    .await
}

/// A bulk action: `action` is move, blacklist or delete; `selected` the contact ids (comma
/// separated), or "all" for every contact matching `filter`; `expected` the count the user
/// confirmed; for delete, `typed` must repeat it.
#[server(endpoint = "bulk_contacts")]
pub async fn bulk_contacts(
    action: String,
    #[server(default)] filter: ContactFilter,
    selected: String,
    list: Option<i64>,
    expected: i64,
    typed: Option<String>,
    request_key: String,
) -> Result<i64, AppError> {
    use crate::accounts::audit::Actor;
    use crate::contacts::jobs::{self, BulkAction};
    use crate::error::Invalid;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let action = match (action.as_str(), list) {
            ("move", Some(list_id)) => BulkAction::Move { list_id },
            ("move", None) => return Err(Invalid::ListUnknown.into()),
            ("blacklist", _) => BulkAction::Blacklist,
            ("delete", _) => BulkAction::Delete,
            _ => return Err(AppError::NotFound),
        };
        let actor = Actor::require(if action == BulkAction::Delete {
            Role::Admin
        } else {
            Role::Operator
        })
        .await?;
        if action == BulkAction::Delete
            && typed.as_deref().map(str::trim) != Some(expected.to_string().as_str())
        {
            return Err(Invalid::ConfirmationMissing.into());
        }
        let ids: Vec<i64> = selected
            .split(',')
            .filter_map(|id| id.trim().parse().ok())
            .collect();
        let selection = (selected.trim() != "all").then_some(ids.as_slice());
        if selection.is_some_and(<[i64]>::is_empty) {
            return Err(Invalid::NothingSelected.into());
        }
        jobs::start_bulk(
            &Context::current(),
            &actor,
            action,
            &filter,
            selection,
            expected,
            &request_key,
        )
        .await
    })
    .await
}

#[server(endpoint = "get_contact")]
pub async fn get_contact(id: i64) -> Result<ContactDetail, AppError> {
    use crate::accounts::auth;
    use crate::model::{OrderFilter, Role};
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        auth::require(Role::Viewer).await?;
        let db = &Context::current().db;
        let (contact, in_list, se_contact_id) = crate::contacts::queries::one(db, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let filter = OrderFilter {
            connection: Some(contact.connection_id),
            search: Some(contact.email.clone()),
            ..OrderFilter::default()
        };
        let (orders, _) = crate::sync::queries::orders(db, &filter, None, 200).await?;
        let orders = orders
            .into_iter()
            .filter(|o| o.customer_email.as_deref() == Some(contact.email.as_str()))
            .collect();
        Ok(ContactDetail {
            contact,
            in_list,
            se_contact_id,
            orders,
        })
    })
    .await
}

#[server(endpoint = "get_contact_job")]
pub async fn get_contact_job(id: i64) -> Result<ContactJobDetail, AppError> {
    use crate::accounts::auth;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        auth::require(Role::Viewer).await?;
        crate::contacts::jobs::detail(&Context::current().db, id)
            .await?
            .ok_or(AppError::NotFound)
    })
    .await
}
