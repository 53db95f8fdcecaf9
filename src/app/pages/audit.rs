//! The audit log (admins only), newest first, one page at a time.

use leptos::prelude::*;

use crate::api::audit::audit_log;
use crate::app::components::Time;
use crate::app::paged_table::{Column, Older, PagedTable};
use crate::app::pages::not_found::Forbidden;
use crate::i18n::use_i18n;
use crate::model::{AuditEntry, AuditPage};
use crate::t;

const COLUMNS: &[Column] = &[
    |t| t.col_time,
    |t| t.col_actor,
    |t| t.col_action,
    |t| t.col_target,
    |t| t.col_details,
    |t| t.col_client,
];

#[component]
pub fn AuditPage() -> impl IntoView {
    let i18n = use_i18n();
    let before = RwSignal::new(None::<i64>);
    let page = Resource::new(move || before.get(), audit_log);

    view! {
        <PagedTable
            page
            above=move |_: &AuditPage| {
                view! {
                    <h1>{t!(i18n, audit_title)}</h1>
                    <p>{t!(i18n, audit_intro)}</p>
                }
            }
            empty=move || view! { <p>{t!(i18n, audit_empty)}</p> }
            forbidden=|| view! { <Forbidden /> }
            columns=COLUMNS
            row=move |entry: AuditEntry| {
                let action = entry.action.clone();
                view! {
                    <tr data-action=entry.action.clone()>
                        <td>
                            <Time time=entry.at />
                        </td>
                        <td>{entry.actor.unwrap_or_default()}</td>
                        <td>{move || i18n.t().audit_action(&action)}</td>
                        <td>{entry.target.unwrap_or_default()}</td>
                        <td>
                            <code>{entry.details.unwrap_or_default()}</code>
                        </td>
                        <td>{entry.client_addr.unwrap_or_default()}</td>
                    </tr>
                }
            }
            older=Older::Button(before)
        />
    }
}
