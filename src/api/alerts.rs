//! Alerts: the bell and each user's Settings (everyone, for themselves), and the E-mails page
//! with the test e-mail (admins).

use leptos::prelude::*;
use server_fn::codec::Json;

use crate::error::AppError;
use crate::model::{AlertChoice, AlertList, AlertSettings, EmailPage};

pub const EMAIL_PAGE_SIZE: i64 = 50;

/// The bell: the latest alerts the user may see and how many are unread.
#[server(endpoint = "my_alerts")]
pub async fn my_alerts() -> Result<AlertList, AppError> {
    use crate::accounts::auth;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let user = auth::require(Role::Viewer).await?;
        Ok(crate::alerts::bell::list(&Context::current().db, user.id).await?)
    })
    .await
}

/// Marks the alerts up to `up_to` (the newest the user was shown) as read.
#[server(endpoint = "mark_alerts_read")]
pub async fn mark_alerts_read(up_to: i64) -> Result<(), AppError> {
    use crate::accounts::auth;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let user = auth::require(Role::Viewer).await?;
        Ok(crate::alerts::bell::mark_read(&Context::current().db, user.id, up_to).await?)
    })
    .await
}

#[server(endpoint = "alert_settings")]
pub async fn get_alert_settings() -> Result<AlertSettings, AppError> {
    use crate::accounts::{auth, preferences};
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let user = auth::require(Role::Viewer).await?;
        let ctx = Context::current();
        Ok(AlertSettings {
            email_on: ctx.mailer.is_some(),
            address: user.email.clone(),
            choices: preferences::choices(&ctx.db, user.id, user.role).await?,
            has_calendar_feed: preferences::has_calendar_token(&ctx.db, user.id).await?,
        })
    })
    .await
}

/// Stores which alerts reach the user by e-mail.
#[server(endpoint = "save_alert_settings", input = Json)]
pub async fn save_alert_settings(choices: Vec<AlertChoice>) -> Result<(), AppError> {
    use crate::accounts::audit::{self, Actor};
    use crate::accounts::preferences;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Viewer).await?;
        let user = actor.user.as_ref().ok_or(AppError::Unauthenticated)?;
        let ctx = Context::current();
        preferences::save(&ctx.db, user.id, &choices).await?;
        let chosen: Vec<_> = choices
            .iter()
            .filter(|c| c.email)
            .map(|c| c.kind.as_str())
            .collect();
        audit::record(
            &ctx.db,
            ctx.now(),
            actor
                .event(preferences::actions::SETTINGS_SAVED)
                .details(serde_json::json!({ "email": chosen })),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Makes a new personal calendar feed (the old address stops working); its URL, shown once.
#[server(endpoint = "new_calendar_feed")]
pub async fn new_calendar_feed() -> Result<String, AppError> {
    use crate::accounts::audit::{self, Actor};
    use crate::accounts::preferences;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Viewer).await?;
        let user = actor.user.as_ref().ok_or(AppError::Unauthenticated)?;
        let ctx = Context::current();
        let token = preferences::new_calendar_token(&ctx.db, user.id).await?;
        audit::record(
            &ctx.db,
            ctx.now(),
            actor.event(preferences::actions::CALENDAR_CREATED),
        )
        .await?;
        Ok(format!("{}/calendar/{token}.ics", ctx.settings.public_base))
    })
    .await
}

#[server(endpoint = "revoke_calendar_feed")]
pub async fn revoke_calendar_feed() -> Result<(), AppError> {
    use crate::accounts::audit::{self, Actor};
    use crate::accounts::preferences;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Viewer).await?;
        let user = actor.user.as_ref().ok_or(AppError::Unauthenticated)?;
        let ctx = Context::current();
        preferences::revoke_calendar_token(&ctx.db, user.id).await?;
        audit::record(
            &ctx.db,
            ctx.now(),
            actor.event(preferences::actions::CALENDAR_REVOKED),
        )
        .await?;
        Ok(())
    })
    .await
}

/// The outbox, newest first, with the SMTP set-up (admins).
#[server(endpoint = "email_outbox")]
pub async fn email_outbox(before: Option<i64>) -> Result<EmailPage, AppError> {
    use crate::accounts::auth;
    use crate::model::Role;
    use crate::platform::Context;
    crate::platform::error::respond(async move {
        auth::require(Role::Admin).await?;
        Ok(crate::mail::outbox::page(&Context::current(), before, EMAIL_PAGE_SIZE).await?)
    })
    .await
}

/// Sends a test e-mail now to `to` (the admin's own address when empty); SMTP's refusal comes
/// back in words.
#[server(endpoint = "send_test_email")]
pub async fn send_test_email(#[server(default)] to: String) -> Result<(), AppError> {
    use crate::accounts::audit::{self, Actor};
    use crate::accounts::preferences;
    use crate::model::Role;
    use crate::platform::Context;
    use crate::platform::email::EmailAddress;
    crate::platform::error::respond(async move {
        let actor = Actor::require(Role::Admin).await?;
        let user = actor.user.as_ref().ok_or(AppError::Unauthenticated)?;
        let ctx = Context::current();
        let to = match to.trim() {
            "" => EmailAddress::parse(&user.email)?,
            other => EmailAddress::parse(other)?,
        };
        if ctx.mailer.is_none() {
            return Err(crate::error::Invalid::EmailOff.into());
        }
        let sent = crate::mail::outbox::send_test(&ctx, &to, user.lang()).await;
        audit::record(
            &ctx.db,
            ctx.now(),
            actor
                .event(preferences::actions::TEST_EMAIL)
                .target(to.as_str())
                .details(serde_json::json!({ "sent": sent.is_ok() })),
        )
        .await?;
        sent
    })
    .await
}
