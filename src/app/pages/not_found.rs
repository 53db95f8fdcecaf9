use leptos::prelude::*;

use crate::i18n::use_i18n;
use crate::t;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    let i18n = use_i18n();
    view! {
        <main id="content" class="content narrow">
            <h1>{t!(i18n, not_found_title)}</h1>
            <p>{t!(i18n, not_found_body)}</p>
            <p>
                <a href="/">{t!(i18n, back_to_overview)}</a>
            </p>
        </main>
    }
}

/// Shown in place of a page the user's role may not open.
#[component]
pub fn Forbidden() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="forbidden">
            <h1>{t!(i18n, forbidden_title)}</h1>
            <p role="alert">{t!(i18n, forbidden_admin_only)}</p>
        </section>
    }
}
