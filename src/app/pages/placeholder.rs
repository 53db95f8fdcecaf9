//! Pages whose features later work delivers: they say so plainly and show no invented data.

use leptos::prelude::*;

use crate::i18n::{Texts, use_i18n};

#[component]
fn NotYet(title: fn(&Texts) -> &'static str, intro: fn(&Texts) -> &'static str) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h1>{move || title(i18n.t())}</h1>
        <p>{move || intro(i18n.t())}</p>
        <div class="notice" role="note">
            <h2>{move || i18n.t().not_yet_title}</h2>
            <p>{move || i18n.t().not_yet_body}</p>
        </div>
    }
}

#[component]
pub fn ContactsPage() -> impl IntoView {
    view! { <NotYet title=|t| t.nav_contacts intro=|t| t.contacts_intro /> }
}
