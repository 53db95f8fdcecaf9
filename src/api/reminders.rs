//! Engagement reminders and the Overview: everyone reads; operators and admins schedule,
//! mark done and cancel.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{DueReminders, Overview, ReminderPage, ReminderPlan};

#[server(endpoint = "overview")]
pub async fn get_overview() -> Result<Overview, AppError> {
    use crate::model::Role;
    use crate::server::{auth, overview, state::app_state};
    crate::server::error::respond(async move {
        let user = auth::require(Role::Viewer).await?;
        Ok(Overview {
            cards: overview::cards(&app_state()).await?,
            can_schedule: user.role >= Role::Operator,
            can_manage: user.role >= Role::Admin,
        })
    })
    .await
}

#[server(endpoint = "list_reminders")]
pub async fn list_reminders() -> Result<ReminderPage, AppError> {
    use crate::model::{ConnectionRef, Role};
    use crate::server::{auth, connections, state::app_state};
    crate::server::error::respond(async move {
        let user = auth::require(Role::Viewer).await?;
        let state = app_state();
        let connections = connections::list(&state.db)
            .await?
            .into_iter()
            .map(|c| ConnectionRef {
                id: c.id,
                name: c.name,
            })
            .collect();
        Ok(ReminderPage {
            reminders: crate::reminders::list(&state.db, state.clock.now()).await?,
            connections,
            can_manage: user.role >= Role::Operator,
        })
    })
    .await
}

/// Reminders due now: the banner every signed-in page shows.
#[server(endpoint = "due_reminders")]
pub async fn get_due_reminders() -> Result<DueReminders, AppError> {
    use crate::model::Role;
    use crate::server::{auth, state::app_state};
    crate::server::error::respond(async move {
        let user = auth::require(Role::Viewer).await?;
        let state = app_state();
        Ok(DueReminders {
            reminders: crate::reminders::due(&state.db, state.clock.now()).await?,
            can_mark_done: user.role >= Role::Operator,
        })
    })
    .await
}

/// When a reminder for `connection` scheduled now would be due: shown before confirming.
#[server(endpoint = "plan_reminder")]
pub async fn plan_reminder(connection: i64) -> Result<ReminderPlan, AppError> {
    use crate::model::Role;
    use crate::server::{auth, state::app_state};
    crate::server::error::respond(async move {
        auth::require(Role::Operator).await?;
        crate::reminders::plan(&app_state(), connection).await
    })
    .await
}

#[server(endpoint = "schedule_reminder")]
pub async fn schedule_reminder(connection: i64, note: Option<String>) -> Result<i64, AppError> {
    use crate::model::Role;
    use crate::server::audit::Actor;
    use crate::server::state::app_state;
    crate::server::error::respond(async move {
        let actor = Actor::require(Role::Operator).await?;
        crate::reminders::schedule(
            &app_state(),
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
    use crate::model::Role;
    use crate::server::audit::Actor;
    use crate::server::state::app_state;
    crate::server::error::respond(async move {
        let actor = Actor::require(Role::Operator).await?;
        let state = app_state();
        match action.as_str() {
            "done" => crate::reminders::mark_done(&state, &actor, id).await,
            "cancel" => crate::reminders::cancel(&state, &actor, id).await,
            _ => Err(AppError::NotFound),
        }
    })
    .await
}
