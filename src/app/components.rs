//! Small building blocks shared by the pages.

use leptos::prelude::*;

use crate::error::{AppError, Invalid};
use crate::i18n::use_i18n;
use crate::model::DisplayTime;

/// An error in words, announced to screen readers.
#[component]
pub fn ErrorMessage(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        error.get().map(|error| {
            view! {
                <p class="message error" role="alert">
                    {i18n.t().error(&error)}
                </p>
            }
        })
    }
}

/// The outcome of a server action: its error, or the `success` text once it succeeded.
#[component]
pub fn ActionOutcome(
    #[prop(into)] result: Signal<Option<Result<(), AppError>>>,
    success: fn(&crate::i18n::Texts) -> &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    move || match result.get() {
        Some(Ok(())) => Some(
            view! {
                <p class="message success" role="status">
                    {success(i18n.t())}
                </p>
            }
            .into_any(),
        ),
        Some(Err(error)) => Some(
            view! {
                <p class="message error" role="alert">
                    {i18n.t().error(&error)}
                </p>
            }
            .into_any(),
        ),
        None => None,
    }
}

/// A moment in Prague time, machine-readable in UTC.
#[component]
pub fn Time(time: DisplayTime) -> impl IntoView {
    view! { <time datetime=time.utc.to_rfc3339()>{time.prague}</time> }
}

/// "Loading…" while a resource is on its way.
#[component]
pub fn Loading() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="loading" aria-live="polite">
            {crate::t!(i18n, loading)}
        </p>
    }
}

/// A counter that moves every two seconds while `active` is true: a resource keyed on it
/// refetches, so a page follows background work without a reload.
pub fn ticker(active: RwSignal<bool>) -> RwSignal<u64> {
    ticker_every(active, std::time::Duration::from_secs(2))
}

/// [`ticker`] with its own period.
pub fn ticker_every(active: RwSignal<bool>, period: std::time::Duration) -> RwSignal<u64> {
    let tick = RwSignal::new(0u64);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if active.get_untracked() {
                    tick.update(|t| *t += 1);
                }
            },
            period,
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    tick
}

/// The page's `:id` route parameter as a number (0 when missing or not a number: the page's
/// server function then answers "not found").
pub fn id_param() -> impl Fn() -> i64 + Copy {
    let params = leptos_router::hooks::use_params_map();
    move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or_default()
    }
}

/// Which tab of a connection's pages is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionTab {
    Connection,
    Mapping,
}

/// A connection page's head: the way back to the list, the connection's name, and its tabs.
#[component]
pub fn ConnectionHeader(id: i64, name: String, current: ConnectionTab) -> impl IntoView {
    let i18n = use_i18n();
    let current_if = move |tab: ConnectionTab| (tab == current).then_some("page");
    view! {
        <p>
            <a href="/connections">{crate::t!(i18n, back_to_connections)}</a>
        </p>
        <h1>{name}</h1>
        <nav class="tabs" aria-label=crate::t!(i18n, connection_tabs)>
            <a href=format!("/connections/{id}") aria-current=current_if(ConnectionTab::Connection)>
                {crate::t!(i18n, connection_tab)}
            </a>
            <a href=format!("/connections/{id}/mapping") aria-current=current_if(ConnectionTab::Mapping)>
                {crate::t!(i18n, mapping_tab)}
            </a>
        </nav>
    }
}

/// Why a sync did not start: a link to the one already running, or the error in words.
#[component]
pub fn SyncStartError(error: AppError) -> impl IntoView {
    let i18n = use_i18n();
    match error {
        AppError::Invalid(Invalid::SyncAlreadyRunning { run_id }) => view! {
            <p class="message error" role="alert">
                {crate::t!(i18n, sync_already_running)} " "
                <a href=format!("/sync-history/{run_id}")>{crate::t!(i18n, open_running_sync)}</a>
            </p>
        }
        .into_any(),
        other => view! { <ErrorMessage error=Some(other) /> }.into_any(),
    }
}
