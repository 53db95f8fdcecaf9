//! Connections: the list with each one's health, a new-connection form, and one connection's
//! page (health, test, forwarding switch, webhook URL, default list, edit, delete).

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api::connections::{
    CreateConnection, DeleteConnection, RotateWebhook, SetDefaultList, SetForwarding,
    TestConnection, UpdateConnection, connection_lists, get_connection, list_connections,
};
use crate::api::reminders::ScheduleReminder;
use crate::app::components::{
    ActionOutcome, ConnectionHeader, ConnectionTab, ErrorMessage, Loading, Time, id_param,
};
use crate::app::pages::not_found::Forbidden;
use crate::app::pages::reminders::ReminderScheduler;
use crate::error::AppError;
use crate::i18n::use_i18n;
use crate::model::{CheckOutcome, ConnectionView, Health, System};
use crate::t;

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let i18n = use_i18n();
    let list = Resource::new(|| (), |_| list_connections());
    view! {
        <h1>{t!(i18n, nav_connections)}</h1>
        <p>{t!(i18n, connections_intro)}</p>
        <Transition fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(error) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                    Ok(list) => {
                        let empty = list.connections.is_empty();
                        view! {
                            {list
                                .can_manage
                                .then(|| {
                                    view! {
                                        <p>
                                            <a class="button" href="/connections/new">
                                                {t!(i18n, new_connection)}
                                            </a>
                                        </p>
                                    }
                                })}
                            <Show when=move || empty>
                                <p class="notice">{t!(i18n, no_connections)}</p>
                            </Show>
                            <ul class="cards">
                                {list
                                    .connections
                                    .into_iter()
                                    .map(|connection| view! { <ConnectionCard connection /> })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn ConnectionCard(connection: ConnectionView) -> impl IntoView {
    let i18n = use_i18n();
    let forwarding = connection.forwarding_enabled;
    view! {
        <li class="card connection-card" data-connection=connection.name.clone()>
            <h2>
                <a href=format!("/connections/{}", connection.id)>{connection.name.clone()}</a>
            </h2>
            <dl class="facts">
                <dt>{t!(i18n, eshop_name)}</dt>
                <dd>{connection.eshop_name.clone()}</dd>
                <dt>{t!(i18n, forwarding)}</dt>
                <dd>{move || if forwarding { i18n.t().forwarding_on } else { i18n.t().forwarding_off }}</dd>
            </dl>
            <HealthLine system=System::Fapi health=connection.fapi.clone() />
            <HealthLine system=System::SmartEmailing health=connection.smartemailing.clone() />
        </li>
    }
}

/// "FAPI: OK (checked …)" or the reason it failed.
#[component]
pub fn HealthLine(system: System, health: Health) -> impl IntoView {
    let i18n = use_i18n();
    let ok = health.outcome.as_ref().is_some_and(CheckOutcome::is_ok);
    let outcome = health.outcome.clone();
    view! {
        <p class="health" class:ok=ok class:bad=move || !ok>
            <strong>{move || i18n.t().system(system)} ": "</strong>
            {move || match &outcome {
                Some(outcome) => i18n.t().check_outcome(outcome),
                None => i18n.t().not_checked.to_string(),
            }}
            {health
                .checked_at
                .map(|at| {
                    view! {
                        " (" {t!(i18n, checked_at)} " " <Time time=at /> ")"
                    }
                })}
        </p>
    }
}

/// The fields shared by the new and edit forms. Key fields start empty: keys never reach the
/// browser, and an empty field on edit keeps the stored key.
#[component]
fn ConnectionFields(#[prop(optional)] current: Option<ConnectionView>) -> impl IntoView {
    let i18n = use_i18n();
    let editing = current.is_some();
    let value =
        move |pick: fn(&ConnectionView) -> String| current.as_ref().map(pick).unwrap_or_default();
    let key_hint = move || {
        if editing {
            i18n.t().api_key_keep
        } else {
            i18n.t().api_key_new
        }
    };
    view! {
        <div class="field-row">
            <div class="field">
                <label for="connection-name">{t!(i18n, connection_name)}</label>
                <input id="connection-name" name="name" required value=value(|c| c.name.clone()) />
            </div>
            <div class="field">
                <label for="connection-eshop">{t!(i18n, eshop_name)}</label>
                <input
                    id="connection-eshop"
                    name="eshop_name"
                    value=value(|c| c.eshop_name.clone())
                    aria-describedby="connection-eshop-hint"
                />
                <p id="connection-eshop-hint" class="hint">{t!(i18n, eshop_name_hint)}</p>
            </div>
        </div>
        <fieldset>
            <legend>"FAPI"</legend>
            <div class="field-row">
                <div class="field">
                    <label for="fapi-login">{t!(i18n, fapi_login)}</label>
                    <input
                        id="fapi-login"
                        type="email"
                        name="fapi_login"
                        required
                        autocomplete="off"
                        value=value(|c| c.fapi_login.clone())
                    />
                </div>
                <div class="field">
                    <label for="fapi-key">{t!(i18n, fapi_api_key)}</label>
                    <input
                        id="fapi-key"
                        type="password"
                        name="fapi_api_key"
                        autocomplete="off"
                        required=!editing
                        placeholder=move || if editing { i18n.t().api_key_stored } else { "" }
                        aria-describedby="fapi-key-hint"
                    />
                    <p id="fapi-key-hint" class="hint">{key_hint}</p>
                </div>
            </div>
        </fieldset>
        <fieldset>
            <legend>"SmartEmailing"</legend>
            <div class="field-row">
                <div class="field">
                    <label for="se-username">{t!(i18n, se_username)}</label>
                    <input
                        id="se-username"
                        name="se_username"
                        required
                        autocomplete="off"
                        value=value(|c| c.se_username.clone())
                    />
                </div>
                <div class="field">
                    <label for="se-key">{t!(i18n, se_api_key)}</label>
                    <input
                        id="se-key"
                        type="password"
                        name="se_api_key"
                        autocomplete="off"
                        required=!editing
                        placeholder=move || if editing { i18n.t().api_key_stored } else { "" }
                        aria-describedby="se-key-hint"
                    />
                    <p id="se-key-hint" class="hint">{key_hint}</p>
                </div>
            </div>
        </fieldset>
    }
}

#[component]
pub fn NewConnectionPage() -> impl IntoView {
    let i18n = use_i18n();
    let create = ServerAction::<CreateConnection>::new();
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    // Tells whether the viewer may create connections (admins), to show the form or a refusal.
    let permissions = Resource::new(|| (), |_| list_connections());
    Effect::new(move |_| {
        if let Some(Ok(id)) = create.value().get() {
            use_navigate()(&format!("/connections/{id}"), Default::default());
        }
    });
    view! {
        <Transition fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match permissions.await {
                    Ok(list) if !list.can_manage => view! { <Forbidden /> }.into_any(),
                    Err(error) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                    Ok(_) => {
                        view! {
                            <h1>{t!(i18n, new_connection)}</h1>
                            <p>{t!(i18n, new_connection_intro)}</p>
                            <ActionForm action=create>
                                <ConnectionFields />
                                <ErrorMessage error />
                                <button type="submit" disabled=move || create.pending().get()>
                                    {move || {
                                        if create.pending().get() {
                                            i18n.t().checking
                                        } else {
                                            i18n.t().save_connection
                                        }
                                    }}
                                </button>
                            </ActionForm>
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
pub fn ConnectionPage() -> impl IntoView {
    let i18n = use_i18n();
    let id = id_param();

    let update = ServerAction::<UpdateConnection>::new();
    let test = ServerAction::<TestConnection>::new();
    let rotate = ServerAction::<RotateWebhook>::new();
    let forwarding = ServerAction::<SetForwarding>::new();
    let default_list = ServerAction::<SetDefaultList>::new();
    let delete = ServerAction::<DeleteConnection>::new();
    let schedule = ServerAction::<ScheduleReminder>::new();

    let detail = Resource::new(
        move || {
            (
                id(),
                update.version().get(),
                test.version().get(),
                rotate.version().get(),
                forwarding.version().get(),
                default_list.version().get(),
            )
        },
        |(id, ..)| get_connection(id),
    );
    // Loaded beside the page, not inside it: admins only (others get "forbidden", shown nowhere).
    let lists = Resource::new(id, connection_lists);

    view! {
        <Transition fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(error) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                    Ok(detail) => {
                        let connection = detail.connection;
                        let id = connection.id;
                        let enabled = connection.forwarding_enabled;
                        view! {
                            <ConnectionHeader id name=connection.name.clone() current=ConnectionTab::Connection />
                            <p>
                                <a href=format!("/sync-history?connection={id}")>{t!(i18n, historical_sync_link)}</a>
                            </p>
                            <section class="card" aria-labelledby="health-title">
                                <h2 id="health-title">{t!(i18n, health)}</h2>
                                <HealthLine system=System::Fapi health=connection.fapi.clone() />
                                <HealthLine system=System::SmartEmailing health=connection.smartemailing.clone() />
                                {detail
                                    .can_test
                                    .then(|| {
                                        view! {
                                            <ActionForm action=test>
                                                <input type="hidden" name="id" value=id />
                                                <button type="submit" class="secondary" disabled=move || test.pending().get()>
                                                    {move || if test.pending().get() { i18n.t().checking } else { i18n.t().test_connection }}
                                                </button>
                                            </ActionForm>
                                        }
                                    })}
                            </section>
                            {detail.can_test.then(|| view! { <ReminderScheduler connection=id action=schedule /> })}
                            <section class="card" aria-labelledby="forwarding-title">
                                <h2 id="forwarding-title">{t!(i18n, forwarding)}</h2>
                                <p>
                                    {move || if enabled { i18n.t().forwarding_on } else { i18n.t().forwarding_off }}
                                    {connection
                                        .forwarding_since
                                        .clone()
                                        .map(|since| view! { " — " {t!(i18n, since)} " " <Time time=since /> })}
                                </p>
                                <p class="hint">{t!(i18n, forwarding_hint)}</p>
                                {detail
                                    .can_manage
                                    .then(|| {
                                        view! {
                                            <ActionForm action=forwarding>
                                                <input type="hidden" name="id" value=id />
                                                <input type="hidden" name="enabled" value=(!enabled).to_string() />
                                                <button type="submit">
                                                    {move || if enabled { i18n.t().forwarding_switch_off } else { i18n.t().forwarding_switch_on }}
                                                </button>
                                            </ActionForm>
                                        }
                                    })}
                                <ActionOutcome result=forwarding.value() success=|t| t.saved />
                            </section>
                            {connection
                                .webhook_url
                                .clone()
                                .map(|url| {
                                    view! {
                                        <section class="card" aria-labelledby="webhook-title">
                                            <h2 id="webhook-title">{t!(i18n, webhook)}</h2>
                                            <div class="field">
                                                <label for="webhook-url">{t!(i18n, webhook_url)}</label>
                                                <input id="webhook-url" readonly value=url class="mono" />
                                            </div>
                                            <p class="hint">{t!(i18n, webhook_hint)}</p>
                                            <ActionForm action=rotate>
                                                <input type="hidden" name="id" value=id />
                                                <button type="submit" class="secondary">
                                                    {t!(i18n, rotate_webhook)}
                                                </button>
                                            </ActionForm>
                                            <ActionOutcome result=rotate.value() success=|t| t.webhook_rotated />
                                        </section>
                                    }
                                })}
                            <section class="card" aria-labelledby="default-list-title">
                                <h2 id="default-list-title">{t!(i18n, default_list)}</h2>
                                <p>
                                    {match connection.default_list.clone() {
                                        Some(list) => list.name.into_any(),
                                        None => view! { {t!(i18n, default_list_none)} }.into_any(),
                                    }}
                                </p>
                                <p class="hint">{t!(i18n, default_list_hint)}</p>
                                <ActionOutcome result=default_list.value() success=|t| t.saved />
                            </section>
                            {detail
                                .can_manage
                                .then(|| {
                                    let current = connection.clone();
                                    let name = connection.name.clone();
                                    view! {
                                        <section class="card" aria-labelledby="edit-title">
                                            <h2 id="edit-title">{t!(i18n, edit_connection)}</h2>
                                            <ActionForm action=update>
                                                <input type="hidden" name="id" value=id />
                                                <ConnectionFields current=current />
                                                <ActionOutcome result=update.value() success=|t| t.saved />
                                                <button type="submit" disabled=move || update.pending().get()>
                                                    {move || if update.pending().get() { i18n.t().checking } else { i18n.t().save_connection }}
                                                </button>
                                            </ActionForm>
                                        </section>
                                        <section class="card danger-zone" aria-labelledby="delete-title">
                                            <h2 id="delete-title">{t!(i18n, delete_connection)}</h2>
                                            <p>{t!(i18n, delete_connection_warning)}</p>
                                            <ActionForm action=delete>
                                                <input type="hidden" name="id" value=id />
                                                <label class="checkbox">
                                                    <input type="checkbox" name="confirm" value="yes" required />
                                                    {move || (i18n.t().delete_connection_confirm)(&name)}
                                                </label>
                                                <ErrorMessage error=Signal::derive(move || delete.value().get().and_then(Result::err)) />
                                                <button type="submit" class="danger">
                                                    {t!(i18n, delete_connection)}
                                                </button>
                                            </ActionForm>
                                        </section>
                                    }
                                })}
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match lists.await {
                    // Only admins choose the list; for others there is nothing to show.
                    Err(AppError::Forbidden) | Err(AppError::NotFound) => None,
                    Err(error) => Some(view! { <ErrorMessage error=Some(error) /> }.into_any()),
                    Ok(lists) => Some(
                        view! {
                            <section class="card" aria-labelledby="choose-list-title">
                                <h2 id="choose-list-title">{t!(i18n, choose_default_list)}</h2>
                                <ActionForm action=default_list>
                                    <input type="hidden" name="id" value=id />
                                    <div class="field">
                                        <label for="default-list">{t!(i18n, default_list)}</label>
                                        <select id="default-list" name="list_id">
                                            <option value="">{t!(i18n, default_list_none)}</option>
                                            {lists
                                                .into_iter()
                                                .map(|list| view! { <option value=list.id>{list.name}</option> })
                                                .collect_view()}
                                        </select>
                                    </div>
                                    <button type="submit" class="secondary">{t!(i18n, save)}</button>
                                </ActionForm>
                            </section>
                        }
                            .into_any(),
                    ),
                }
            })}
        </Transition>
    }
}
