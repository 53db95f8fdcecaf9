//! The frame around every signed-in page: header, navigation, language switch, sign-out.
//! Visitors without a session are sent to the sign-in page.

use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};

use crate::api::alerts::{MarkAlertsRead, my_alerts};
use crate::api::auth::{Logout, SetLanguage, session_info};
use crate::app::components::{ErrorMessage, Time, ticker_every};
use crate::app::pages::reminders::DueBanner;
use crate::error::AppError;
use crate::i18n::{Lang, Texts, use_i18n};
use crate::model::{AlertList, CurrentUser, Role};
use crate::t;

/// The frame around every signed-in page.
///
/// The page (`Outlet`) is deliberately *not* rendered inside the session's suspense boundary:
/// pages load their own data in their own boundaries, side by side with this one. Resources
/// created inside another boundary's content can stall server rendering
/// (leptos-rs/leptos#4851, #4866). Pages never rely on the frame for protection: every server
/// function checks the session and role itself.
#[component]
pub fn AuthenticatedLayout() -> impl IntoView {
    let i18n = use_i18n();
    let session = Resource::new(|| (), |_| session_info());
    view! {
        <a class="skip-link" href="#content">
            {t!(i18n, skip_to_content)}
        </a>
        // A grid places the top bar and the navigation (one boundary, one read of the
        // session) around the page.
        <div class="app-grid">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match session.await {
                        Ok(Some(user)) => view! { <TopBar user=user.clone() /> <Sidebar user /> }.into_any(),
                        Ok(None) | Err(AppError::Unauthenticated) => {
                            view! { <Redirect path="/login" /> }.into_any()
                        }
                        Err(error) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                    }
                })}
            </Transition>
            <main id="content" class="content">
                <DueBanner />
                <Outlet />
            </main>
        </div>
    }
}

#[component]
fn Sidebar(user: CurrentUser) -> impl IntoView {
    let i18n = use_i18n();
    let is_admin = user.can(Role::Admin);
    view! {
        <nav class="sidebar" aria-label=t!(i18n, main_navigation)>
            <ul>
                <NavLink href="/" label=|t| t.nav_overview />
                <NavLink href="/connections" label=|t| t.nav_connections />
                <NavLink href="/orders" label=|t| t.nav_orders />
                <NavLink href="/sync-history" label=|t| t.nav_sync_history />
                <NavLink href="/contacts" label=|t| t.nav_contacts />
                <NavLink href="/reminders" label=|t| t.nav_reminders />
                <NavLink href="/settings" label=|t| t.alerts.nav_settings />
                {is_admin
                    .then(|| {
                        view! {
                            <NavLink href="/team" label=|t| t.nav_team />
                            <NavLink href="/emails" label=|t| t.alerts.nav_emails />
                            <NavLink href="/audit" label=|t| t.nav_audit />
                        }
                    })}
            </ul>
        </nav>
    }
}

#[component]
fn NavLink(href: &'static str, label: fn(&Texts) -> &'static str) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <li>
            <A href=href exact=true>
                {move || label(i18n.t())}
            </A>
        </li>
    }
}

#[component]
fn TopBar(user: CurrentUser) -> impl IntoView {
    let i18n = use_i18n();
    let logout = ServerAction::<Logout>::new();
    let role = user.role;
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                {t!(i18n, app_name)}
            </a>
            <div class="topbar-tools">
                <span class="who">
                    {t!(i18n, signed_in_as)} " " <strong>{user.name}</strong> " ("
                    {move || i18n.t().role(role)} ")"
                </span>
                <Bell />
                <LanguageSwitcher />
                <ActionForm action=logout attr:class="inline-form">
                    <button type="submit" class="secondary">
                        {t!(i18n, sign_out)}
                    </button>
                </ActionForm>
            </div>
        </header>
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

/// The bell: unread alerts for everyone, a panel with the latest, and "mark all read".
/// Loaded in the browser only (after hydration) and refreshed every [`BELL_REFRESH`]; these
/// requests do not keep the session alive (`accounts::auth::guard::BACKGROUND_POLLS`).
const BELL_REFRESH: std::time::Duration = std::time::Duration::from_secs(10);

#[component]
fn Bell() -> impl IntoView {
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    let mark = ServerAction::<MarkAlertsRead>::new();
    let tick = ticker_every(RwSignal::new(true), BELL_REFRESH);
    // Fetched by an effect, not a resource: the frame's session boundary must not wait for it
    // on the server (a resource read there would hold the page's stream), and the server
    // renders the bell empty, as the browser does before its first fetch.
    let alerts = RwSignal::new(AlertList::default());
    Effect::new(move |_| {
        tick.track();
        mark.version().track();
        leptos::task::spawn_local(async move {
            if let Ok(list) = my_alerts().await {
                alerts.set(list);
            }
        });
    });
    let list = move || alerts.get();
    let unread = move || list().unread;
    view! {
        <div class="bell">
            <button
                type="button"
                class="bell-button secondary"
                data-testid="bell"
                aria-expanded=move || open.get().to_string()
                aria-label=move || (i18n.t().alerts.bell_label)(unread())
                on:click=move |_| open.update(|open| *open = !*open)
            >
                <span aria-hidden="true">"🔔"</span>
                {move || {
                    (unread() > 0)
                        .then(|| view! { <span class="badge" data-testid="bell-count">{unread()}</span> })
                }}
            </button>
            <Show when=move || open.get()>
                <div class="bell-panel" data-testid="bell-panel">
                    <h2>{move || i18n.t().alerts.bell_title}</h2>
                    {move || {
                        let items = list().items;
                        if items.is_empty() {
                            return view! { <p class="empty">{move || i18n.t().alerts.bell_empty}</p> }
                                .into_any();
                        }
                        view! {
                            <ul class="alerts">
                                {items
                                    .into_iter()
                                    .map(|item| {
                                        let line = item.clone();
                                        view! {
                                            <li
                                                class:unread=item.unread
                                                data-kind=item.kind.as_str()
                                                data-resolved=item.resolved.to_string()
                                            >
                                                <a href=item.link.clone() on:click=move |_| open.set(false)>
                                                    {move || (i18n.t().alerts.alert_line)(&line)}
                                                </a>
                                                <span class="hint">
                                                    {item.connection.clone().map(|c| format!("{c} · "))}
                                                    <Time time=item.at.clone() />
                                                </span>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any()
                    }}
                    <button
                        type="button"
                        class="secondary"
                        on:click=move |_| {
                            let up_to = alerts.get_untracked().items.first().map_or(0, |a| a.id);
                            mark.dispatch(MarkAlertsRead { up_to });
                        }
                    >
                        {move || i18n.t().alerts.mark_all_read}
                    </button>
                </div>
            </Show>
        </div>
    }
}
