//! Contacts without a list: filter, select, and move / blacklist / delete in bulk; a contact's
//! page; a bulk action's results.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_router::components::Form;

use crate::api::contacts::{
    BulkContacts, RefreshContacts, get_contact, get_contact_job, list_contacts, move_target_lists,
};
use crate::app::components::{ErrorMessage, Loading, Time, id_param, ticker};
use crate::app::pages::orders::{ConnectionSelect, query_text, url_escape};
use crate::i18n::use_i18n;
use crate::model::{ContactFilter, ContactJobStatus, ContactJobView, ContactPage, ContactRow};
use crate::t;

fn page_link(filter: &ContactFilter, page: i64) -> String {
    let mut parts = vec![format!("page={page}")];
    if let Some(connection) = filter.connection {
        parts.push(format!("connection={connection}"));
    }
    for (name, value) in [
        ("search", &filter.search),
        ("buyers", &filter.buyers),
        ("from", &filter.last_from),
        ("to", &filter.last_to),
    ] {
        if let Some(value) = value {
            parts.push(format!("{name}={}", url_escape(value)));
        }
    }
    format!("/contacts?{}", parts.join("&"))
}

#[component]
pub fn ContactsPage() -> impl IntoView {
    let i18n = use_i18n();
    let (connection, search, buyers, from, to, page_number) = (
        query_text("connection"),
        query_text("search"),
        query_text("buyers"),
        query_text("from"),
        query_text("to"),
        query_text("page"),
    );
    let filter = move || ContactFilter {
        connection: connection().and_then(|c| c.parse().ok()),
        search: search(),
        buyers: buyers(),
        last_from: from(),
        last_to: to(),
    };
    let refresh = ServerAction::<RefreshContacts>::new();
    let bulk = ServerAction::<BulkContacts>::new();
    let jobs_active = RwSignal::new(false);
    let tick = ticker(jobs_active);
    let page = Resource::new(
        move || {
            (
                filter(),
                page_number().and_then(|p| p.parse::<i64>().ok()),
                refresh.version().get(),
                bulk.version().get(),
                tick.get(),
            )
        },
        |(filter, page, ..)| list_contacts(filter, page),
    );

    view! {
        <h1>{t!(i18n, nav_contacts)}</h1>
        <p>{t!(i18n, contacts_intro)}</p>
        <Transition fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(error) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                    Ok(page) => {
                        jobs_active.set(page.jobs.iter().any(|j| matches!(j.status, ContactJobStatus::Queued | ContactJobStatus::Running)));
                        let current = filter();
                        view! { <ContactsView page current refresh bulk /> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn ContactsView(
    page: ContactPage,
    current: ContactFilter,
    refresh: ServerAction<RefreshContacts>,
    bulk: ServerAction<BulkContacts>,
) -> impl IntoView {
    let i18n = use_i18n();
    // One connection in view: bulk actions and refresh act on it.
    let acting_on = current
        .connection
        .or_else(|| (page.connections.len() == 1).then(|| page.connections[0].id));
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    let all_matching = RwSignal::new(false);
    let matching = page.matching;
    let count = Signal::derive(move || {
        if all_matching.get() {
            matching
        } else {
            selected.with(|s| s.len() as i64)
        }
    });
    let page_ids: Vec<i64> = page.rows.iter().map(|r| r.id).collect();
    let prev = (page.page > 0).then(|| page_link(&current, page.page - 1));
    let next = (page.page + 1 < page.pages).then(|| page_link(&current, page.page + 1));
    let empty = page.rows.is_empty();
    let can_act = page.can_act;
    let prevent = (!page.with_default_list.is_empty()).then(|| page.with_default_list.join(", "));
    let bulk_filter = current.clone();
    view! {
        {prevent.map(|names| view! { <p class="notice" role="note">{move || (i18n.t().contacts_prevent)(&names)}</p> })}
        <Form method="GET" action="/contacts" attr:class="filters">
            <div class="field-row">
                <ConnectionSelect connections=page.connections.clone() selected=current.connection />
                <div class="field">
                    <label for="filter-buyers">{t!(i18n, filter_buyers)}</label>
                    <select id="filter-buyers" name="buyers">
                        <option value="">{t!(i18n, buyers_all)}</option>
                        <option value="paid" selected=current.buyers.as_deref() == Some("paid")>{t!(i18n, buyers_paid)}</option>
                        <option value="cancelled" selected=current.buyers.as_deref() == Some("cancelled")>{t!(i18n, buyers_cancelled)}</option>
                    </select>
                </div>
                <div class="field">
                    <label for="filter-from">{t!(i18n, last_order_from)}</label>
                    <input id="filter-from" type="date" name="from" value=current.last_from.clone() />
                </div>
                <div class="field">
                    <label for="filter-to">{t!(i18n, last_order_to)}</label>
                    <input id="filter-to" type="date" name="to" value=current.last_to.clone() />
                </div>
                <div class="field">
                    <label for="filter-search">{t!(i18n, search_contacts)}</label>
                    <input id="filter-search" type="search" name="search" value=current.search.clone() />
                </div>
            </div>
            <button type="submit" class="secondary">{t!(i18n, filter)}</button>
        </Form>
        {(can_act && acting_on.is_some()).then(|| view! {
            <ActionForm action=refresh attr:class="inline-form">
                <input type="hidden" name="connection" value=acting_on />
                <button type="submit" class="secondary">{t!(i18n, refresh_from_se)}</button>
            </ActionForm>
        })}
        <ErrorMessage error=Signal::derive(move || refresh.value().get().and_then(Result::err)) />
        <p data-testid="contacts-matching">{move || (i18n.t().page_of)(page.page + 1, page.pages)} " · " {matching}</p>
        {if empty {
            view! { <p class="notice" data-testid="no-contacts">{t!(i18n, no_contacts_without_list)}</p> }.into_any()
        } else {
            view! {
                {can_act.then(|| {
                    let ids = page_ids.clone();
                    view! {
                        <div class="selection">
                            <label>
                                <input type="checkbox" on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    selected.update(|s| for id in &ids { if on { s.insert(*id); } else { s.remove(id); } });
                                } />
                                {t!(i18n, select_page)}
                            </label>
                            <label>
                                <input type="checkbox" name="all-matching" prop:checked=move || all_matching.get()
                                    on:change=move |ev| all_matching.set(event_target_checked(&ev)) />
                                {move || (i18n.t().select_all_matching)(matching)}
                            </label>
                            <span data-testid="selected-count">{move || (i18n.t().selected_count)(count.get())}</span>
                        </div>
                    }
                })}
                <div class="table-wrap">
                    <table data-testid="contacts">
                        <thead>
                            <tr>
                                {can_act.then(|| view! { <th scope="col"><span class="visually-hidden">{t!(i18n, select_contact)}</span></th> })}
                                <th scope="col">{t!(i18n, col_email)}</th>
                                <th scope="col">{t!(i18n, col_name)}</th>
                                <th scope="col">{t!(i18n, col_connection)}</th>
                                <th scope="col">{t!(i18n, col_orders_count)}</th>
                                <th scope="col">{t!(i18n, col_spent)}</th>
                                <th scope="col">{t!(i18n, col_last_order)}</th>
                                <th scope="col">{t!(i18n, col_order_states)}</th>
                            </tr>
                        </thead>
                        <tbody>
                            {page.rows.into_iter().map(|row| view! { <ContactLine row can_act selected all_matching /> }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <p class="pager">
                    {prev.map(|href| view! { <a href=href>{t!(i18n, previous)}</a> " " })}
                    {next.map(|href| view! { <a href=href>{t!(i18n, older_entries)} " →"</a> })}
                </p>
            }
                .into_any()
        }}
        {can_act.then(|| view! {
            <BulkPanel
                acting_on
                can_delete=page.can_delete
                filter=bulk_filter.clone()
                selected
                all_matching
                count
                request_key=page.request_key.clone()
                bulk
            />
        })}
        <JobList jobs=page.jobs />
    }
}

#[component]
fn ContactLine(
    row: ContactRow,
    can_act: bool,
    selected: RwSignal<BTreeSet<i64>>,
    all_matching: RwSignal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let id = row.id;
    let states = row.states.clone();
    view! {
        <tr data-email=row.email.clone()>
            {can_act.then(|| view! {
                <td>
                    <input
                        type="checkbox"
                        aria-label=format!("{} {}", i18n.t().select_contact, row.email)
                        prop:checked=move || all_matching.get() || selected.with(|s| s.contains(&id))
                        prop:disabled=move || all_matching.get()
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
                        }
                    />
                </td>
            })}
            <td><a href=format!("/contacts/{id}")>{row.email.clone()}</a></td>
            <td>{row.name.clone().unwrap_or_default()}</td>
            <td>{row.connection.clone()}</td>
            <td>{row.orders}</td>
            <td>{row.spent.join(", ")}</td>
            <td>{row.last_order.clone().map(|at| view! { <Time time=at /> })}</td>
            <td>{move || states.iter().map(|&s| i18n.t().fapi_state(s)).collect::<Vec<_>>().join(", ")}</td>
        </tr>
    }
}

/// Choose an action, read what it does (with the count), confirm.
#[allow(clippy::too_many_arguments)]
#[component]
fn BulkPanel(
    acting_on: Option<i64>,
    can_delete: bool,
    filter: ContactFilter,
    selected: RwSignal<BTreeSet<i64>>,
    all_matching: RwSignal<bool>,
    count: Signal<i64>,
    request_key: String,
    bulk: ServerAction<BulkContacts>,
) -> impl IntoView {
    let i18n = use_i18n();
    let Some(connection) = acting_on else {
        return view! {
            <section class="card" aria-labelledby="bulk-title">
                <h2 id="bulk-title">{t!(i18n, bulk_actions)}</h2>
                <p>{t!(i18n, choose_connection_first)}</p>
            </section>
        }
        .into_any();
    };
    let choice = RwSignal::new(None::<&'static str>);
    let lists = Action::new(|connection: &i64| move_target_lists(*connection));
    let list = RwSignal::new(None::<(i64, String)>);
    let filter = StoredValue::new(filter);
    let request_key = StoredValue::new(request_key);
    let choose = move |action: &'static str| {
        choice.set(Some(action));
        if action == "move" && lists.value().get_untracked().is_none() {
            lists.dispatch(connection);
        }
    };
    let nothing = move || count.get() == 0;
    view! {
        <section class="card bulk" aria-labelledby="bulk-title">
            <h2 id="bulk-title">{t!(i18n, bulk_actions)}</h2>
            <div class="actions">
                <button type="button" disabled=nothing on:click=move |_| choose("move")>{t!(i18n, move_to_list)}</button>
                <button type="button" class="secondary" disabled=nothing on:click=move |_| choose("blacklist")>{t!(i18n, blacklist_contacts)}</button>
                {can_delete.then(|| view! {
                    <button type="button" class="danger" disabled=nothing on:click=move |_| choose("delete")>{t!(i18n, delete_contacts)}</button>
                })}
            </div>
            {move || choice.get().map(|action| {
                let n = count.get();
                let submit_class = if action == "delete" { "danger" } else { "" };
                view! {
                    <ActionForm action=bulk attr:class="confirm" attr:data-testid="bulk-confirm">
                        <input type="hidden" name="action" value=action />
                        <input type="hidden" name="expected" value=n />
                        <input type="hidden" name="request_key" value=request_key.get_value() />
                        <input type="hidden" name="selected" value=move || if all_matching.get() {
                            "all".to_string()
                        } else {
                            selected.with(|s| s.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
                        } />
                        <FilterFields filter=filter.get_value() connection />
                        {match action {
                            "move" => view! {
                                {move || match lists.value().get() {
                                    None => view! { <Loading /> }.into_any(),
                                    Some(Err(error)) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                                    Some(Ok(options)) => {
                                        if list.get_untracked().is_none() {
                                            list.set(options.first().map(|l| (l.id, l.name.clone())));
                                        }
                                        let names = options.clone();
                                        view! {
                                            <label>
                                                <span>{t!(i18n, target_list)}</span>
                                                <select name="list" on:change=move |ev| {
                                                    let id: i64 = event_target_value(&ev).parse().unwrap_or_default();
                                                    let name = names.iter().find(|l| l.id == id).map(|l| l.name.clone()).unwrap_or_default();
                                                    list.set(Some((id, name)));
                                                }>
                                                    {options.iter().map(|l| view! { <option value=l.id>{l.name.clone()}</option> }).collect_view()}
                                                </select>
                                            </label>
                                        }.into_any()
                                    }
                                }}
                                <p role="note">{move || (i18n.t().confirm_move)(n, &list.get().map(|l| l.1).unwrap_or_default())}</p>
                            }.into_any(),
                            "blacklist" => view! { <p role="note">{move || (i18n.t().confirm_blacklist)(n)}</p> }.into_any(),
                            _ => view! {
                                <p role="note">{move || (i18n.t().confirm_delete)(n)}</p>
                                <label>
                                    <span>{move || (i18n.t().type_count)(n)}</span>
                                    <input type="text" name="typed" inputmode="numeric" autocomplete="off" />
                                </label>
                            }.into_any(),
                        }}
                        <button type="submit" class=submit_class>{t!(i18n, confirm)}</button>
                        <button type="button" class="secondary" on:click=move |_| choice.set(None)>{t!(i18n, back)}</button>
                    </ActionForm>
                }
            })}
            {move || match bulk.value().get() {
                Some(Ok(_)) => Some(view! { <p class="message success" role="status">{t!(i18n, action_started)}</p> }.into_any()),
                Some(Err(error)) => Some(view! { <ErrorMessage error=Some(error) /> }.into_any()),
                None => None,
            }}
        </section>
    }
    .into_any()
}

/// The filter as hidden fields of the bulk form ("all N matching" acts on it).
#[component]
fn FilterFields(filter: ContactFilter, connection: i64) -> impl IntoView {
    let fields: Vec<(&str, String)> = [
        ("filter[search]", filter.search),
        ("filter[buyers]", filter.buyers),
        ("filter[last_from]", filter.last_from),
        ("filter[last_to]", filter.last_to),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| (name, v)))
    .collect();
    view! {
        <input type="hidden" name="filter[connection]" value=connection />
        {fields.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value /> }).collect_view()}
    }
}

#[component]
fn JobList(jobs: Vec<ContactJobView>) -> impl IntoView {
    let i18n = use_i18n();
    (!jobs.is_empty()).then(|| view! {
        <h2>{t!(i18n, contact_jobs)}</h2>
        <div class="table-wrap">
            <table data-testid="contact-jobs">
                <thead>
                    <tr>
                        <th scope="col">{t!(i18n, col_started)}</th>
                        <th scope="col">{t!(i18n, col_connection)}</th>
                        <th scope="col">{t!(i18n, col_kind)}</th>
                        <th scope="col">{t!(i18n, col_status)}</th>
                        <th scope="col">{t!(i18n, progress)}</th>
                    </tr>
                </thead>
                <tbody>
                    {jobs.into_iter().map(|job| {
                        let (kind, status) = (job.kind, job.status);
                        let list = job.list_name.clone();
                        view! {
                            <tr data-kind=kind.as_str() data-status=status.as_str()>
                                <td><a href=format!("/contacts/jobs/{}", job.id)><Time time=job.created_at.clone() /></a> " — " {job.started_by.clone()}</td>
                                <td>{job.connection.clone()}</td>
                                <td>{move || i18n.t().contact_job_kind(kind)} {list.map(|l| format!(" „{l}“"))}</td>
                                <td>{move || i18n.t().contact_job_status(status)} {job.status_reason.clone().map(|r| format!(" — {r}"))}</td>
                                <td>{move || (i18n.t().job_progress)(job.done, job.total, job.succeeded, job.failed)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    })
}

#[component]
pub fn ContactJobPage() -> impl IntoView {
    let i18n = use_i18n();
    let id = id_param();
    let active = RwSignal::new(false);
    let tick = ticker(active);
    let detail = Resource::new(move || (id(), tick.get()), |(id, _)| get_contact_job(id));
    view! {
        <p><a href="/contacts">{t!(i18n, back_to_contacts)}</a></p>
        <Transition fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(error) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                    Ok(detail) => {
                        let job = detail.job;
                        active.set(matches!(job.status, ContactJobStatus::Queued | ContactJobStatus::Running));
                        let (kind, status) = (job.kind, job.status);
                        view! {
                            <h1>{move || crate::i18n::capitalize(i18n.t().contact_job_kind(kind))} " – " {job.connection.clone()}</h1>
                            <dl class="facts">
                                <dt>{t!(i18n, col_status)}</dt>
                                <dd data-testid="job-status">{move || i18n.t().contact_job_status(status)}</dd>
                                <dt>{t!(i18n, progress)}</dt>
                                <dd data-testid="job-progress">{move || (i18n.t().job_progress)(job.done, job.total, job.succeeded, job.failed)}</dd>
                                <dt>{t!(i18n, col_started)}</dt>
                                <dd><Time time=job.created_at.clone() /> " — " {job.started_by.clone()}</dd>
                                {job.status_reason.clone().map(|r| view! { <dt>{t!(i18n, reason)}</dt><dd>{r}</dd> })}
                            </dl>
                            {(!detail.items.is_empty()).then(|| view! {
                                <h2>{t!(i18n, job_results)}</h2>
                                <div class="table-wrap">
                                    <table data-testid="job-items">
                                        <thead><tr>
                                            <th scope="col">{t!(i18n, col_email)}</th>
                                            <th scope="col">{t!(i18n, col_status)}</th>
                                            <th scope="col">{t!(i18n, reason)}</th>
                                        </tr></thead>
                                        <tbody>
                                            {detail.items.into_iter().map(|item| view! {
                                                <tr data-status=item.status.as_str()>
                                                    <td>{item.email}</td>
                                                    <td>{item.status.as_str()}</td>
                                                    <td>{item.message.unwrap_or_default()}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            })}
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
pub fn ContactPage() -> impl IntoView {
    let i18n = use_i18n();
    let id = id_param();
    let detail = Resource::new(id, get_contact);
    view! {
        <p><a href="/contacts">{t!(i18n, back_to_contacts)}</a></p>
        <Transition fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(error) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                    Ok(detail) => {
                        let contact = detail.contact;
                        view! {
                            <h1>{contact.email.clone()}</h1>
                            <dl class="facts">
                                <dt>{t!(i18n, col_name)}</dt><dd>{contact.name.clone().unwrap_or_default()}</dd>
                                <dt>{t!(i18n, col_connection)}</dt><dd>{contact.connection.clone()}</dd>
                                <dt>{t!(i18n, in_a_list)}</dt>
                                <dd>{move || match detail.in_list { Some(true) => i18n.t().answer_yes, Some(false) => i18n.t().answer_no, None => "—" }}</dd>
                                <dt>{t!(i18n, col_spent)}</dt><dd>{contact.spent.join(", ")}</dd>
                            </dl>
                            <h2>{t!(i18n, contact_orders)}</h2>
                            <div class="table-wrap">
                                <table data-testid="contact-orders">
                                    <thead><tr>
                                        <th scope="col">{t!(i18n, col_fapi_numbers)}</th>
                                        <th scope="col">{t!(i18n, col_fapi_state)}</th>
                                        <th scope="col">{t!(i18n, col_se_status)}</th>
                                        <th scope="col">{t!(i18n, col_amount)}</th>
                                        <th scope="col">{t!(i18n, col_created)}</th>
                                    </tr></thead>
                                    <tbody>
                                        {detail.orders.into_iter().map(|order| {
                                            let (fapi_state, se_status) = (order.fapi_state, order.se_status.clone());
                                            view! {
                                                <tr>
                                                    <td><a href=format!("/orders/{}", order.id)>{order.fapi_numbers.clone()}</a></td>
                                                    <td>{move || i18n.t().fapi_state(fapi_state)}</td>
                                                    <td>{se_status.unwrap_or_else(|| "—".into())}</td>
                                                    <td>{order.total.clone().unwrap_or_default()} " " {order.currency.clone().unwrap_or_default()}</td>
                                                    <td>{order.created.clone().map(|at| view! { <Time time=at /> })}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}
