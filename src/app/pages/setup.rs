//! The one-time page that creates the first admin.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::auth::CompleteSetup;
use crate::app::components::ErrorMessage;
use crate::app::layout::LanguageSwitcher;
use crate::i18n::use_i18n;
use crate::t;

#[component]
pub fn SetupPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let setup = ServerAction::<CompleteSetup>::new();
    let error = Signal::derive(move || setup.value().get().and_then(Result::err));
    let done = move || matches!(setup.value().get(), Some(Ok(())));

    view! {
        <main id="content" class="auth-page">
            <div class="auth-card">
                <div class="auth-head">
                    <p class="brand">{t!(i18n, app_name)}</p>
                    <LanguageSwitcher />
                </div>
                <h1>{t!(i18n, setup_title)}</h1>
                <Show
                    when=done
                    fallback=move || {
                        view! {
                            <p>{t!(i18n, setup_intro)}</p>
                            <Show when=move || token().is_empty()>
                                <p class="message error" role="alert">
                                    {t!(i18n, setup_missing_token)}
                                </p>
                            </Show>
                            <ActionForm action=setup>
                                <input type="hidden" name="token" prop:value=token />
                                <div class="field">
                                    <label for="setup-name">{t!(i18n, name)}</label>
                                    <input id="setup-name" name="name" autocomplete="name" required />
                                </div>
                                <div class="field">
                                    <label for="setup-email">{t!(i18n, email)}</label>
                                    <input
                                        id="setup-email"
                                        type="email"
                                        name="email"
                                        autocomplete="username"
                                        required
                                    />
                                </div>
                                <div class="field">
                                    <label for="setup-password">{t!(i18n, password)}</label>
                                    <input
                                        id="setup-password"
                                        type="password"
                                        name="password"
                                        autocomplete="new-password"
                                        aria-describedby="setup-password-rule"
                                        required
                                    />
                                    <p id="setup-password-rule" class="hint">
                                        {t!(i18n, password_rule)}
                                    </p>
                                </div>
                                <div class="field">
                                    <label for="setup-password-again">{t!(i18n, password_again)}</label>
                                    <input
                                        id="setup-password-again"
                                        type="password"
                                        name="password_again"
                                        autocomplete="new-password"
                                        required
                                    />
                                </div>
                                <ErrorMessage error />
                                <button type="submit" disabled=move || setup.pending().get()>
                                    {t!(i18n, setup_submit)}
                                </button>
                            </ActionForm>
                        }
                    }
                >
                    <p class="message success" role="status">
                        {t!(i18n, setup_done)}
                    </p>
                    <p>
                        <a class="button" href="/login">
                            {t!(i18n, go_to_login)}
                        </a>
                    </p>
                </Show>
            </div>
        </main>
    }
}
