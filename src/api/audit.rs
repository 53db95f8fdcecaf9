//! Reading the audit log (admins only).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::AuditPage;

pub const PAGE_SIZE: i64 = 50;

#[server(endpoint = "audit_log")]
pub async fn audit_log(before: Option<i64>) -> Result<AuditPage, AppError> {
    use crate::accounts::audit;
    use crate::accounts::auth;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        auth::require(Role::Admin).await?;
        Ok(audit::page(&Context::current().db, before, PAGE_SIZE).await?)
    })
    .await
}
