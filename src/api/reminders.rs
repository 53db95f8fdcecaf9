//! Engagement reminders and the Overview: everyone reads; operators and admins schedule,
//! mark done and cancel.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{DueReminders, Overview, ReminderPage, ReminderPlan};

#[server(endpoint = "overview")]
pub async fn get_overview() -> Result<Overview, AppError> {
    use crate::accounts::auth;
    use crate::model::Role;
    use crate::overview;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let user = auth::require(Role::Viewer).await?;
        Ok(Overview {
            cards: overview::cards(&Context::current()).await?,
            can_schedule: user.role >= Role::Operator,
            can_manage: user.role >= Role::Admin,
        })
    })
    .await
}

#[server(endpoint = "list_reminders")]
pub async fn list_reminders() -> Result<ReminderPage, AppError> {
    use crate::accounts::auth;
    use crate::connections;
    use crate::model::{ConnectionRef, Role};
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let user = auth::require(Role::Viewer).await?;
        let ctx = Context::current();
        let connections = connections::list(&ctx.db)
            .await?
            .into_iter()
            .map(|c| ConnectionRef {
                id: c.id,
                name: c.name,
            })
            .collect();
        Ok(ReminderPage {
            reminders: crate::reminders::list(&ctx.db, ctx.clock.now()).await?,
            connections,
            can_manage: user.role >= Role::Operator,
        })
    })
    .await
}

/// Reminders due now: the banner every signed-in page shows.
#[server(endpoint = "due_reminders")]
pub async fn get_due_reminders() -> Result<DueReminders, AppError> {
    use crate::accounts::auth;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let user = auth::require(Role::Viewer).await?;
        let ctx = Context::current();
        Ok(DueReminders {
            reminders: crate::reminders::due(&ctx.db, ctx.clock.now()).await?,
            can_mark_done: user.role >= Role::Operator,
        })
    })
    .await
}

/// When a reminder for `connection` scheduled now would be due: shown before confirming.
#[server(endpoint = "plan_reminder")]
pub async fn plan_reminder(connection: i64) -> Result<ReminderPlan, AppError> {
    use crate::accounts::auth;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        auth::require(Role::Operator).await?;
        crate::reminders::plan(&Context::current(), connection).await
    })
    .await
}

#[server(endpoint = "schedule_reminder")]
pub async fn schedule_reminder(connection: i64, note: Option<String>) -> Result<i64, AppError> {
    use crate::accounts::audit::Actor;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Operator).await?;
        crate::reminders::schedule(
            &Context::current(),
            &actor,
            connection,
            note.as_deref().unwrap_or_default(),
        )
        .await
    })
    .await
}

/// Marks a due reminder done (`action` = "done") or cancels one not yet due ("cancel").
#[server(endpoint = "finish_reminder")]
pub async fn finish_reminder(id: i64, action: String) -> Result<(), AppError> {
    use crate::accounts::audit::Actor;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Operator).await?;
        let ctx = Context::current();
        match action.as_str() {
            "done" => crate::reminders::mark_done(&ctx, &actor, id).await,
            "cancel" => crate::reminders::cancel(&ctx, &actor, id).await,
            _ => Err(AppError::NotFound),
        }
    })
    .await
}
