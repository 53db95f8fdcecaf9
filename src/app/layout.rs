//! The frame around every signed-in page: header, navigation, language switch, sign-out.
//! Visitors without a session are sent to the sign-in page.

use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};

use crate::api::auth::{Logout, SetLanguage, session_info};
use crate::app::components::{ErrorMessage, Loading};
use crate::error::AppError;
use crate::i18n::{Lang, use_i18n};
use crate::model::{CurrentUser, Role};
use crate::t;

/// The signed-in user, loaded once by the layout and read by pages.
#[derive(Clone, Copy)]
pub struct SessionResource(Resource<Result<Option<CurrentUser>, AppError>>);

/// The signed-in user (pages render only after the layout has loaded it).
pub fn use_current_user() -> Option<CurrentUser> {
    use_context::<SessionResource>()
        .and_then(|session| session.0.get())
        .and_then(Result::ok)
        .flatten()
}

#[component]
pub fn AuthenticatedLayout() -> impl IntoView {
    let session = Resource::new(|| (), |_| session_info());
    provide_context(SessionResource(session));
    view! {
        <Transition fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match session.await {
                    Ok(Some(user)) => view! { <Frame user /> }.into_any(),
                    Ok(None) | Err(AppError::Unauthenticated) => {
                        view! { <Redirect path="/login" /> }.into_any()
                    }
                    Err(error) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Frame(user: CurrentUser) -> impl IntoView {
    let i18n = use_i18n();
    let logout = ServerAction::<Logout>::new();
    let is_admin = user.can(Role::Admin);
    let role = user.role;
    view! {
        <a class="skip-link" href="#content">
            {t!(i18n, skip_to_content)}
        </a>
        <header class="topbar">
            <a class="brand" href="/">
                {t!(i18n, app_name)}
            </a>
            <div class="topbar-tools">
                <span class="who">
                    {t!(i18n, signed_in_as)} " " <strong>{user.name.clone()}</strong> " ("
                    {move || i18n.t().role(role)} ")"
                </span>
                <LanguageSwitcher />
                <ActionForm action=logout attr:class="inline-form">
                    <button type="submit" class="secondary">
                        {t!(i18n, sign_out)}
                    </button>
                </ActionForm>
            </div>
        </header>
        <div class="frame">
            <nav class="sidebar" aria-label=t!(i18n, main_navigation)>
                <ul>
                    <li>
                        <A href="/" exact=true>
                            {t!(i18n, nav_overview)}
                        </A>
                    </li>
                    <li>
                        <A href="/connections">{t!(i18n, nav_connections)}</A>
                    </li>
                    <li>
                        <A href="/orders">{t!(i18n, nav_orders)}</A>
                    </li>
                    <li>
                        <A href="/sync-history">{t!(i18n, nav_sync_history)}</A>
                    </li>
                    <li>
                        <A href="/contacts">{t!(i18n, nav_contacts)}</A>
                    </li>
                    <li>
                        <A href="/reminders">{t!(i18n, nav_reminders)}</A>
                    </li>
                    <Show when=move || is_admin>
                        <li>
                            <A href="/team">{t!(i18n, nav_team)}</A>
                        </li>
                        <li>
                            <A href="/audit">{t!(i18n, nav_audit)}</A>
                        </li>
                    </Show>
                </ul>
            </nav>
            <main id="content" class="content">
                <Outlet />
            </main>
        </div>
    }
}

/// Switches the UI language at once and remembers the choice on the server.
#[component]
pub fn LanguageSwitcher() -> impl IntoView {
    let i18n = use_i18n();
    let save = ServerAction::<SetLanguage>::new();
    let on_change = move |event| {
        let code = event_target_value(&event);
        if let Some(lang) = Lang::parse(&code) {
            i18n.set(lang);
            #[cfg(feature = "hydrate")]
            if let Some(root) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.document_element())
            {
                let _ = root.set_attribute("lang", lang.code());
            }
            save.dispatch(SetLanguage { lang: code });
        }
    };
    view! {
        <label class="lang-switch">
            <span>{t!(i18n, language)}</span>
            <select name="lang" on:change=on_change prop:value=move || i18n.lang().code()>
                {Lang::ALL
                    .into_iter()
                    .map(|lang| {
                        view! {
                            <option value=lang.code() selected=move || i18n.lang() == lang>
                                {lang.native_name()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        </label>
    }
}
