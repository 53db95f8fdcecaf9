//! E-mails (admins): the SMTP set-up, a test e-mail, and the outbox — what was sent to whom,
//! when, and what failed.

use leptos::prelude::*;

use crate::api::alerts::{SendTestEmail, email_outbox};
use crate::app::components::{ActionOutcome, Time};
use crate::app::paged_table::{Column, Older, PagedTable};
use crate::app::pages::not_found::Forbidden;
use crate::i18n::use_i18n;
use crate::model::{EmailPage, EmailRow};

const COLUMNS: &[Column] = &[
    |t| t.col_created,
    |t| t.col_kind,
    |t| t.alerts.col_to,
    |t| t.alerts.col_subject,
    |t| t.col_status,
    |t| t.alerts.col_attempts,
    |t| t.alerts.col_error,
    |t| t.alerts.col_sent,
];

#[component]
pub fn EmailsPage() -> impl IntoView {
    let i18n = use_i18n();
    let before = RwSignal::new(None::<i64>);
    let test = ServerAction::<SendTestEmail>::new();
    let page = Resource::new(
        move || (before.get(), test.version().get()),
        |(before, _)| email_outbox(before),
    );
    view! {
        <PagedTable
            page
            above=move |page: &EmailPage| {
                let server = page.server.clone();
                let from = page.from.clone();
                view! {
                    <h1>{move || i18n.t().alerts.emails_title}</h1>
                    <p>{move || i18n.t().alerts.emails_intro}</p>
                    {match server {
                        None => view! {
                            <p class="message warning" data-testid="email-off">
                                {move || i18n.t().alerts.emails_off}
                            </p>
                        }
                            .into_any(),
                        Some(server) => view! {
                            <section class="card">
                                <p class="facts">
                                    {move || i18n.t().alerts.emails_server} ": " <code>{server}</code>
                                    " · " {move || i18n.t().alerts.emails_from} ": "
                                    <code>{from.clone().unwrap_or_default()}</code>
                                </p>
                                <h2>{move || i18n.t().alerts.test_title}</h2>
                                <ActionForm action=test attr:data-testid="test-email">
                                    <label>
                                        <span>{move || i18n.t().alerts.test_to}</span>
                                        <input type="email" name="to" />
                                    </label>
                                    <button type="submit">{move || i18n.t().alerts.test_send}</button>
                                </ActionForm>
                                <ActionOutcome result=test.value() success=|t| t.alerts.test_sent />
                            </section>
                        }
                            .into_any(),
                    }}
                }
            }
            empty=move || view! { <p>{move || i18n.t().alerts.emails_empty}</p> }
            forbidden=|| view! { <Forbidden /> }
            columns=COLUMNS
            row=move |email: EmailRow| {
                let (kind, status) = (email.kind, email.status);
                view! {
                    <tr data-status=status.as_str() data-kind=kind.as_str()>
                        <td><Time time=email.created_at /></td>
                        <td>{move || (i18n.t().alerts.email_kind)(kind)}</td>
                        <td class="long">{email.to}</td>
                        <td>{email.subject}</td>
                        <td>{move || (i18n.t().alerts.email_status)(status)}</td>
                        <td>{email.attempts}</td>
                        <td class="long">{email.last_error.unwrap_or_default()}</td>
                        <td>{email.sent_at.map(|at| view! { <Time time=at /> })}</td>
                    </tr>
                }
            }
            older=Older::Button(before)
        />
    }
}
