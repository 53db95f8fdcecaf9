//! Team management (admins only).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{Role, Team};

#[server(endpoint = "list_team")]
pub async fn list_team() -> Result<Team, AppError> {
    use crate::server::{auth, state::app_state, users};
    crate::server::error::respond(async {
        let me = auth::require(Role::Admin).await?;
        let members = users::list(&app_state().db).await?;
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
    use crate::server::audit::Actor;
    use crate::server::state::app_state;
    use crate::server::team::{self, NewMember};
    crate::server::error::respond(async move {
        let actor = Actor::require(Role::Admin).await?;
        let state = app_state();
        let input = NewMember {
            email: &email,
            name: &name,
            role,
            password: &password,
        };
        team::add_member(&state.db, state.clock.now(), &actor, input).await?;
        Ok(())
    })
    .await
}

#[server(endpoint = "change_member_role")]
pub async fn change_member_role(user_id: i64, role: Role) -> Result<(), AppError> {
    use crate::server::audit::Actor;
    use crate::server::state::app_state;
    use crate::server::team;
    crate::server::error::respond(async move {
        let actor = Actor::require(Role::Admin).await?;
        let state = app_state();
        team::change_role(&state.db, state.clock.now(), &actor, user_id, role).await
    })
    .await
}

#[server(endpoint = "set_member_disabled")]
pub async fn set_member_disabled(user_id: i64, disabled: bool) -> Result<(), AppError> {
    use crate::server::audit::Actor;
    use crate::server::state::app_state;
    use crate::server::team;
    crate::server::error::respond(async move {
        let actor = Actor::require(Role::Admin).await?;
        let state = app_state();
        team::set_disabled(&state.db, state.clock.now(), &actor, user_id, disabled).await
    })
    .await
}

#[server(endpoint = "reset_member_password")]
pub async fn reset_member_password(user_id: i64, password: String) -> Result<(), AppError> {
    use crate::server::audit::Actor;
    use crate::server::state::app_state;
    use crate::server::team;
    crate::server::error::respond(async move {
        let actor = Actor::require(Role::Admin).await?;
        let state = app_state();
        team::reset_password(&state.db, state.clock.now(), &actor, user_id, &password).await
    })
    .await
}
