//! Signing in and out, the first-admin setup, the language preference.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::CurrentUser;

/// The signed-in user, or `None`.
#[server(endpoint = "session_info")]
pub async fn session_info() -> Result<Option<CurrentUser>, AppError> {
    crate::platform::error::respond(async {
        let user = crate::accounts::auth::current_user().await?;
        Ok(user.map(|u| u.to_current()))
    })
    .await
}

#[server(endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<(), AppError> {
    use crate::accounts::auth::{
        client_addr, guard::request_session, login, rate_limit::LoginRateLimiter, session,
    };
    use crate::platform::Context;

    crate::platform::error::respond(async move {
        let ctx = Context::current();
        let limiter = leptos::prelude::expect_context::<std::sync::Arc<LoginRateLimiter>>();
        let user = login::check(&ctx, &limiter, &client_addr().await, &email, password).await?;
        session::sign_in(&request_session().await?, &user).await?;
        set_lang_cookie(user.lang());
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::accounts::audit::{self, AuditEvent, actions};
    use crate::accounts::auth::{client_addr, current_user, guard::request_session, session};
    use crate::platform::Context;

    crate::platform::error::respond(async {
        let ctx = Context::current();
        if let Some(user) = current_user().await? {
            audit::record(
                &ctx.db,
                ctx.clock.now(),
                AuditEvent::new(actions::LOGOUT)
                    .by(&user)
                    .from_addr(client_addr().await),
            )
            .await?;
        }
        session::sign_out(&request_session().await?).await?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// Creates the first admin through the one-time setup link.
#[server(endpoint = "complete_setup")]
pub async fn complete_setup(
    token: String,
    name: String,
    email: String,
    password: String,
    password_again: String,
) -> Result<(), AppError> {
    use crate::accounts::auth::client_addr;
    use crate::accounts::setup::{self, FirstAdmin};
    use crate::error::Invalid;
    use crate::platform::Context;

    crate::platform::error::respond(async move {
        if password != password_again {
            return Err(Invalid::PasswordsDiffer.into());
        }
        let ctx = Context::current();
        let input = FirstAdmin {
            token: &token,
            email: &email,
            name: &name,
            password: &password,
        };
        setup::complete(&ctx.db, ctx.clock.now(), &client_addr().await, input).await?;
        Ok(())
    })
    .await
}

/// Switches the UI language; remembered in a cookie and, when signed in, on the account.
#[server(endpoint = "set_language")]
pub async fn set_language(lang: String) -> Result<(), AppError> {
    use crate::accounts::auth::current_user;
    use crate::accounts::users;
    use crate::error::Invalid;
    use crate::i18n::Lang;
    use crate::platform::Context;

    crate::platform::error::respond(async move {
        let lang = Lang::parse(&lang).ok_or(Invalid::UnknownLanguage)?;
        if let Some(user) = current_user().await? {
            users::set_language(&Context::current().db, user.id, lang).await?;
        }
        set_lang_cookie(lang);
        Ok(())
    })
    .await
}

#[cfg(feature = "ssr")]
fn set_lang_cookie(lang: crate::i18n::Lang) {
    use crate::i18n::LANG_COOKIE;
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        );
        if let Ok(value) = http::HeaderValue::from_str(&cookie) {
            response.append_header(http::header::SET_COOKIE, value);
        }
    }
}
