//! The web UI, shared by the server (rendering) and the browser (hydration).

mod components;
mod layout;
mod paged_table;
mod pages;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

use crate::i18n::{initial_lang, provide_i18n};
use layout::AuthenticatedLayout;
use pages::audit::AuditPage;
use pages::connections::{ConnectionPage, ConnectionsPage, NewConnectionPage};
use pages::contacts::{ContactJobPage, ContactPage, ContactsPage};
use pages::emails::EmailsPage;
use pages::login::LoginPage;
use pages::mapping::MappingPage;
use pages::not_found::NotFound;
use pages::orders::{NotificationsPage, OrderPage, OrdersPage};
use pages::overview::OverviewPage;
use pages::reminders::RemindersPage;
use pages::settings::SettingsPage;
use pages::setup::SetupPage;
use pages::sync_history::{RunPage, SyncHistoryPage};
use pages::team::TeamPage;

/// The HTML document around the app (rendered on the server only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = initial_lang();
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.ico" sizes="16x16 32x32 48x48" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let i18n = provide_i18n(initial_lang());

    // Effects run only in the browser: this marks the page as interactive, which end-to-end
    // tests wait for before clicking.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/fapi-bridge.css" />
        <Title text=move || i18n.t().app_name />
        <Router>
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/setup") view=SetupPage />
                // Sign-in redirects and 403 statuses for these pages are set by the server's
                // page guard (src/server/page_guard.rs) before rendering starts.
                <ParentRoute path=path!("") view=AuthenticatedLayout>
                    <Route path=path!("") view=OverviewPage />
                    <Route path=path!("connections") view=ConnectionsPage />
                    <Route path=path!("connections/new") view=NewConnectionPage />
                    <Route path=path!("connections/:id") view=ConnectionPage />
                    <Route path=path!("connections/:id/mapping") view=MappingPage />
                    <Route path=path!("orders") view=OrdersPage />
                    <Route path=path!("orders/:id") view=OrderPage />
                    <Route path=path!("notifications") view=NotificationsPage />
                    <Route path=path!("sync-history") view=SyncHistoryPage />
                    <Route path=path!("sync-history/:id") view=RunPage />
                    <Route path=path!("contacts") view=ContactsPage />
                    <Route path=path!("contacts/jobs/:id") view=ContactJobPage />
                    <Route path=path!("contacts/:id") view=ContactPage />
                    <Route path=path!("reminders") view=RemindersPage />
                    <Route path=path!("team") view=TeamPage />
                    <Route path=path!("audit") view=AuditPage />
                    <Route path=path!("settings") view=SettingsPage />
                    <Route path=path!("emails") view=EmailsPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
