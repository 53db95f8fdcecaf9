//! Team management (admins only).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{Role, Team};

#[server(endpoint = "list_team")]
pub async fn list_team() -> Result<Team, AppError> {
    use crate::accounts::auth;
    use crate::accounts::users;
    use crate::platform::Context;
    crate::platform::error::respond(async {
        let me = auth::require(Role::Admin).await?;
        let members = users::list(&Context::current().db).await?;
        Ok(Team {
            me: me.id,
            members: members.iter().map(|u| u.to_member()).collect(),
        })
    })
    .await
}

#[server(endpoint = "add_team_member")]
pub async fn add_team_member(
    email: String,
    name: String,
    role: Role,
    password: String,
) -> Result<(), AppError> {
    use crate::accounts::audit::Actor;
    use crate::accounts::team::{self, NewMember};
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Admin).await?;
        let ctx = Context::current();
        let input = NewMember {
            email: &email,
            name: &name,
            role,
            password: &password,
        };
        team::add_member(&ctx.db, ctx.clock.now(), &actor, input).await?;
        Ok(())
    })
    .await
}

#[server(endpoint = "change_member_role")]
pub async fn change_member_role(user_id: i64, role: Role) -> Result<(), AppError> {
    use crate::accounts::audit::Actor;
    use crate::accounts::team;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Admin).await?;
        let ctx = Context::current();
        team::change_role(&ctx.db, ctx.clock.now(), &actor, user_id, role).await
    })
    .await
}

#[server(endpoint = "set_member_disabled")]
pub async fn set_member_disabled(user_id: i64, disabled: bool) -> Result<(), AppError> {
    use crate::accounts::audit::Actor;
    use crate::accounts::team;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Admin).await?;
        let ctx = Context::current();
        team::set_disabled(&ctx.db, ctx.clock.now(), &actor, user_id, disabled).await
    })
    .await
}

#[server(endpoint = "reset_member_password")]
pub async fn reset_member_password(user_id: i64, password: String) -> Result<(), AppError> {
    use crate::accounts::audit::Actor;
    use crate::accounts::team;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Admin).await?;
        let ctx = Context::current();
        team::reset_password(&ctx.db, ctx.clock.now(), &actor, user_id, &password).await
    })
    .await
}
