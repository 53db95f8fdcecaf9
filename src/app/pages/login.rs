use leptos::prelude::*;

use crate::api::auth::Login;
use crate::app::components::ErrorMessage;
use crate::app::layout::LanguageSwitcher;
use crate::i18n::use_i18n;
use crate::t;

#[component]
pub fn LoginPage() -> impl IntoView {
    let i18n = use_i18n();
    let login = ServerAction::<Login>::new();
    let error = Signal::derive(move || login.value().get().and_then(Result::err));
    view! {
        <main id="content" class="auth-page">
            <div class="auth-card">
                <div class="auth-head">
                    <p class="brand">{t!(i18n, app_name)}</p>
                    <LanguageSwitcher />
                </div>
                <h1>{t!(i18n, login_title)}</h1>
                <ActionForm action=login>
                    <div class="field">
                        <label for="login-email">{t!(i18n, email)}</label>
                        <input id="login-email" type="email" name="email" autocomplete="username" required />
                    </div>
                    <div class="field">
                        <label for="login-password">{t!(i18n, password)}</label>
                        <input
                            id="login-password"
                            type="password"
                            name="password"
                            autocomplete="current-password"
                            required
                        />
                    </div>
                    <ErrorMessage error />
                    <button type="submit" disabled=move || login.pending().get()>
                        {t!(i18n, sign_in)}
                    </button>
                </ActionForm>
            </div>
        </main>
    }
}
