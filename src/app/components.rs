//! Small building blocks shared by the pages.

use leptos::prelude::*;

use crate::error::AppError;
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
