//! Each user's Settings: which alerts reach them by e-mail, and their calendar feed.

use leptos::prelude::*;

use crate::api::alerts::{
    NewCalendarFeed, RevokeCalendarFeed, SaveAlertSettings, get_alert_settings,
};
use crate::app::components::{ActionOutcome, ErrorMessage, Loading};
use crate::i18n::use_i18n;
use crate::model::{AlertChoice, AlertSettings};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let i18n = use_i18n();
    let feed_created = ServerAction::<NewCalendarFeed>::new();
    let feed_revoked = ServerAction::<RevokeCalendarFeed>::new();
    let settings = Resource::new(
        move || (feed_created.version().get(), feed_revoked.version().get()),
        |_| get_alert_settings(),
    );
    view! {
        <h1>{move || i18n.t().alerts.settings_title}</h1>
        <p>{move || i18n.t().alerts.settings_intro}</p>
        <Transition fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Err(error) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                    Ok(settings) => {
                        let has_feed = settings.has_calendar_feed;
                        view! {
                            <AlertChoices settings />
                            <CalendarFeed has_feed created=feed_created revoked=feed_revoked />
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// One checkbox per kind of alert, saved together.
#[component]
fn AlertChoices(settings: AlertSettings) -> impl IntoView {
    let i18n = use_i18n();
    let save = ServerAction::<SaveAlertSettings>::new();
    let choices: Vec<(AlertChoice, RwSignal<bool>)> = settings
        .choices
        .into_iter()
        .map(|choice| {
            let on = RwSignal::new(choice.email);
            (choice, on)
        })
        .collect();
    let signals = choices.clone();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let choices = signals
            .iter()
            .map(|(choice, on)| AlertChoice {
                kind: choice.kind,
                email: on.get_untracked(),
            })
            .collect();
        save.dispatch(SaveAlertSettings { choices });
    };
    let email_on = settings.email_on;
    view! {
        <section class="card">
            {if email_on {
                view! {
                    <p>
                        {move || i18n.t().alerts.settings_email_to} " "
                        <strong>{settings.address.clone()}</strong>
                    </p>
                }
                    .into_any()
            } else {
                view! {
                    <p class="message warning" data-testid="email-off">
                        {move || i18n.t().alerts.settings_email_off}
                    </p>
                }
                    .into_any()
            }}
            <form on:submit=submit data-testid="alert-settings">
                <div class="table-wrap">
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">{move || i18n.t().alerts.col_alert}</th>
                                <th scope="col">{move || i18n.t().alerts.col_by_email}</th>
                            </tr>
                        </thead>
                        <tbody>
                            {choices
                                .into_iter()
                                .map(|(choice, on)| {
                                    let kind = choice.kind;
                                    let id = format!("alert-{}", kind.as_str());
                                    view! {
                                        <tr data-kind=kind.as_str()>
                                            <td>
                                                <label for=id.clone()>
                                                    <strong>{move || (i18n.t().alerts.kind_label)(kind)}</strong>
                                                </label>
                                                <br />
                                                <span class="hint">{move || (i18n.t().alerts.kind_help)(kind)}</span>
                                            </td>
                                            <td>
                                                <input
                                                    type="checkbox"
                                                    id=id
                                                    name=kind.as_str()
                                                    checked=choice.email
                                                    prop:checked=move || on.get()
                                                    on:change=move |event| on.set(event_target_checked(&event))
                                                />
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                </div>
                <button type="submit">{move || i18n.t().save}</button>
            </form>
            <ActionOutcome result=save.value() success=|t| t.saved />
        </section>
    }
}

/// The personal calendar feed: made (its address shown once), replaced or revoked.
#[component]
fn CalendarFeed(
    has_feed: bool,
    created: ServerAction<NewCalendarFeed>,
    revoked: ServerAction<RevokeCalendarFeed>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="card" data-testid="calendar-feed">
            <h2>{move || i18n.t().alerts.calendar_title}</h2>
            <p>{move || i18n.t().alerts.calendar_intro}</p>
            {move || match created.value().get() {
                Some(Ok(url)) => Some(view! {
                    <p class="message success" role="status">
                        {move || i18n.t().alerts.calendar_copy_now} " "
                        <code data-testid="calendar-url">{url}</code>
                    </p>
                }.into_any()),
                Some(Err(error)) => Some(view! { <ErrorMessage error=Some(error) /> }.into_any()),
                None => None,
            }}
            <p>
                {move || if has_feed {
                    i18n.t().alerts.calendar_active
                } else {
                    i18n.t().alerts.calendar_none
                }}
            </p>
            <ActionForm action=created attr:class="inline-form">
                <button type="submit">
                    {move || if has_feed {
                        i18n.t().alerts.calendar_replace
                    } else {
                        i18n.t().alerts.calendar_create
                    }}
                </button>
            </ActionForm>
            {has_feed.then(|| view! {
                <ActionForm action=revoked attr:class="inline-form">
                    <button type="submit" class="secondary">{move || i18n.t().alerts.calendar_revoke}</button>
                </ActionForm>
            })}
            {move || matches!(revoked.value().get(), Some(Ok(()))).then(|| view! {
                <p class="message success" role="status">{move || i18n.t().alerts.calendar_revoked}</p>
            })}
        </section>
    }
}
