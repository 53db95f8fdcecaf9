//! The audit log (admins only), newest first, one page at a time.

use leptos::prelude::*;

use crate::api::audit::audit_log;
use crate::app::components::{ErrorMessage, Loading, Time};
use crate::app::pages::not_found::Forbidden;
use crate::error::AppError;
use crate::i18n::use_i18n;
use crate::t;

#[component]
pub fn AuditPage() -> impl IntoView {
    let i18n = use_i18n();
    let before = RwSignal::new(None::<i64>);
    let page = Resource::new(move || before.get(), audit_log);

    view! {
        <Transition fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(AppError::Forbidden) => view! { <Forbidden /> }.into_any(),
                    Err(error) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                    Ok(page) => {
                        let next = page.next_before;
                        let empty = page.entries.is_empty();
                        view! {
                            <h1>{t!(i18n, audit_title)}</h1>
                            <p>{t!(i18n, audit_intro)}</p>
                            <Show when=move || empty>
                                <p>{t!(i18n, audit_empty)}</p>
                            </Show>
                            <div class="table-wrap">
                                <table>
                                    <thead>
                                        <tr>
                                            <th scope="col">{t!(i18n, col_time)}</th>
                                            <th scope="col">{t!(i18n, col_actor)}</th>
                                            <th scope="col">{t!(i18n, col_action)}</th>
                                            <th scope="col">{t!(i18n, col_target)}</th>
                                            <th scope="col">{t!(i18n, col_details)}</th>
                                            <th scope="col">{t!(i18n, col_client)}</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {page
                                            .entries
                                            .into_iter()
                                            .map(|entry| {
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
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            {next
                                .map(|next| {
                                    view! {
                                        <button class="secondary" on:click=move |_| before.set(Some(next))>
                                            {t!(i18n, older_entries)}
                                        </button>
                                    }
                                })}
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}
