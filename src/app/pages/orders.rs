//! Orders (filters, keyset pages, bulk retry), one order (documents, attempts, payload,
//! retry) and the raw notifications.

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::orders::{
    RetryFailedOrders, RetryOrder, get_order, list_notifications, list_orders,
};
use crate::app::components::{ActionOutcome, ErrorMessage, Loading, Time, id_param};
use crate::app::paged_table::{Column, Older, PagedTable};
use crate::i18n::use_i18n;
use crate::model::{
    ConnectionRef, NotificationPage, NotificationRow, NotificationStatus, OrderFilter, OrderPage,
    OrderRow, SyncStatus,
};
use crate::t;

const ORDER_COLUMNS: &[Column] = &[
    |t| t.col_fapi_numbers,
    |t| t.col_connection,
    |t| t.col_email,
    |t| t.col_amount,
    |t| t.col_fapi_state,
    |t| t.col_se_status,
    |t| t.col_sync_status,
    |t| t.col_last_attempt,
];

const NOTIFICATION_COLUMNS: &[Column] = &[
    |t| t.col_time,
    |t| t.col_connection,
    |t| t.col_invoice_id,
    |t| t.col_status,
    |t| t.col_order,
    |t| t.col_raw,
];

pub(crate) fn query_text(name: &'static str) -> impl Fn() -> Option<String> + Copy {
    let query = use_query_map();
    move || query.read().get(name).filter(|v| !v.trim().is_empty())
}

/// `/orders?…` with the current filters and another `before`.
fn page_link(filter: &OrderFilter, before: i64) -> String {
    let mut parts = vec![format!("before={before}")];
    if let Some(connection) = filter.connection {
        parts.push(format!("connection={connection}"));
    }
    if let Some(status) = filter.status {
        parts.push(format!("status={status}"));
    }
    for (name, value) in [
        ("from", &filter.from),
        ("to", &filter.to),
        ("search", &filter.search),
    ] {
        if let Some(value) = value {
            let encoded: String = url_escape(value);
            parts.push(format!("{name}={encoded}"));
        }
    }
    format!("/orders?{}", parts.join("&"))
}

pub(crate) fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[component]
pub(crate) fn ConnectionSelect(
    connections: Vec<ConnectionRef>,
    selected: Option<i64>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="field">
            <label for="filter-connection">{t!(i18n, col_connection)}</label>
            <select id="filter-connection" name="connection">
                <option value="">{t!(i18n, all)}</option>
                {connections
                    .into_iter()
                    .map(|c| view! { <option value=c.id selected=Some(c.id) == selected>{c.name}</option> })
                    .collect_view()}
            </select>
        </div>
    }
}

#[component]
pub fn OrdersPage() -> impl IntoView {
    let i18n = use_i18n();
    let (connection, status, from, to, search, before) = (
        query_text("connection"),
        query_text("status"),
        query_text("from"),
        query_text("to"),
        query_text("search"),
        query_text("before"),
    );
    let filter = move || OrderFilter {
        connection: connection().and_then(|c| c.parse().ok()),
        // An unknown status in the address filters nothing.
        status: status().and_then(|s| SyncStatus::parse(&s)),
        from: from(),
        to: to(),
        search: search(),
        run: None,
    };
    let retry_all = ServerAction::<RetryFailedOrders>::new();
    let page = Resource::new(
        move || {
            (
                filter(),
                before().and_then(|b| b.parse::<i64>().ok()),
                retry_all.version().get(),
            )
        },
        |(filter, before, _)| list_orders(filter, before),
    );

    view! {
        <h1>{t!(i18n, nav_orders)}</h1>
        <p>
            <a href="/notifications">{t!(i18n, notifications_link)}</a>
        </p>
        <PagedTable
            page
            above=move |page: &OrderPage| {
                let current = filter();
                let connections = page.connections.clone();
                let retry_count = (page.can_retry && page.failed_count > 0).then_some(page.failed_count);
                view! {
                    <Form method="GET" action="/orders" attr:class="filters">
                        <div class="field-row">
                            <ConnectionSelect connections selected=current.connection />
                            <div class="field">
                                <label for="filter-status">{t!(i18n, col_sync_status)}</label>
                                <select id="filter-status" name="status">
                                    <option value="">{t!(i18n, all)}</option>
                                    {SyncStatus::ALL
                                        .iter()
                                        .map(|&s| {
                                            view! {
                                                <option value=s.as_str() selected=current.status == Some(s)>
                                                    {move || i18n.t().sync_status(s)}
                                                </option>
                                            }
                                        })
                                        .collect_view()}
                                </select>
                            </div>
                            <div class="field">
                                <label for="filter-from">{t!(i18n, created_from)}</label>
                                <input id="filter-from" type="date" name="from" value=current.from.clone().unwrap_or_default() />
                            </div>
                            <div class="field">
                                <label for="filter-to">{t!(i18n, created_to)}</label>
                                <input id="filter-to" type="date" name="to" value=current.to.clone().unwrap_or_default() />
                            </div>
                            <div class="field">
                                <label for="filter-search">{t!(i18n, search_orders)}</label>
                                <input id="filter-search" type="search" name="search" value=current.search.clone().unwrap_or_default() />
                            </div>
                        </div>
                        <button type="submit" class="secondary">{t!(i18n, filter)}</button>
                    </Form>
                    {retry_count
                        .map(|count| {
                            view! {
                                <section class="card" aria-labelledby="retry-all-title">
                                    <h2 id="retry-all-title">{t!(i18n, retry_all_failed)}</h2>
                                    <ActionForm action=retry_all>
                                        {current.connection.map(|c| view! { <input type="hidden" name="connection" value=c /> })}
                                        <input type="hidden" name="expected" value=count />
                                        <label class="checkbox">
                                            <input type="checkbox" name="confirm" value="yes" required />
                                            {move || (i18n.t().retry_all_failed_confirm)(count)}
                                        </label>
                                        <button type="submit">{t!(i18n, retry_all_failed)}</button>
                                    </ActionForm>
                                </section>
                            }
                        })}
                    <ActionOutcome
                        result=Signal::derive(move || retry_all.value().get().map(|r| r.map(|_| ())))
                        success=|t| t.retry_queued
                    />
                }
            }
            empty=move || view! { <p class="notice">{t!(i18n, no_orders)}</p> }
            columns=ORDER_COLUMNS
            row=|row: OrderRow| view! { <OrderTableRow row /> }
            older=Older::link(move |next| page_link(&filter(), next))
        />
    }
}

#[component]
fn OrderTableRow(row: OrderRow) -> impl IntoView {
    let i18n = use_i18n();
    let status = row.sync_status;
    let status_class = format!("badge status-{status}");
    let fapi_state = row.fapi_state;
    let se_status = row.se_status.clone();
    let numbers = if row.fapi_numbers.is_empty() {
        row.eshop_code.clone()
    } else {
        row.fapi_numbers.clone()
    };
    view! {
        <tr data-order=row.eshop_code.clone() data-status=status.as_str()>
            <td>
                <a href=format!("/orders/{}", row.id)>{numbers}</a>
            </td>
            <td>{row.connection.clone()}</td>
            <td class="long">{row.customer_email.clone().unwrap_or_default()}</td>
            <td>{row.total.clone().map(|t| format!("{t} {}", row.currency.clone().unwrap_or_default())).unwrap_or_default()}</td>
            <td>{move || i18n.t().fapi_state(fapi_state)}</td>
            <td>{se_status.unwrap_or_else(|| "—".into())}</td>
            <td>
                <span class=status_class>{move || i18n.t().sync_status(status)}</span>
                {row.status_reason.clone().map(|reason| view! { <br /><small class="reason">{reason}</small> })}
            </td>
            <td>{row.last_attempt.clone().map(|at| view! { <Time time=at /> })}</td>
        </tr>
    }
}

#[component]
pub fn OrderPage() -> impl IntoView {
    let i18n = use_i18n();
    let id = id_param();
    let retry = ServerAction::<RetryOrder>::new();
    let detail = Resource::new(
        move || (id(), retry.version().get()),
        |(id, _)| get_order(id),
    );
    view! {
        <p>
            <a href="/orders">{t!(i18n, back_to_orders)}</a>
        </p>
        <Transition fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(error) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                    Ok(detail) => {
                        let order = detail.order;
                        let retryable = detail.can_retry && matches!(order.sync_status, SyncStatus::Failed | SyncStatus::Pending) && detail.payload.is_some();
                        let status = order.sync_status;
                        let status_class = format!("badge status-{status}");
                        let fapi_state = order.fapi_state;
                        let source = detail.source.clone();
                        let forgotten = order.buyer_forgotten;
                        view! {
                            <h1>{move || (i18n.t().order_title)(&order.eshop_code)}</h1>
                            {forgotten.then(|| view! { <p class="notice" data-testid="buyer-forgotten">{t!(i18n, buyer_forgotten)}</p> })}
                            <dl class="facts">
                                <dt>{t!(i18n, col_connection)}</dt>
                                <dd>{order.connection.clone()}</dd>
                                <dt>{t!(i18n, col_fapi_numbers)}</dt>
                                <dd>{order.fapi_numbers.clone()}</dd>
                                <dt>{t!(i18n, col_email)}</dt>
                                <dd>{order.customer_email.clone().unwrap_or_default()}</dd>
                                <dt>{t!(i18n, col_amount)}</dt>
                                <dd>{order.total.clone().map(|t| format!("{t} {}", order.currency.clone().unwrap_or_default())).unwrap_or_default()}</dd>
                                <dt>{t!(i18n, col_fapi_state)}</dt>
                                <dd>{move || i18n.t().fapi_state(fapi_state)}</dd>
                                <dt>{t!(i18n, col_se_status)}</dt>
                                <dd>{order.se_status.clone().unwrap_or_else(|| "—".into())}</dd>
                                <dt>{t!(i18n, col_sync_status)}</dt>
                                <dd>
                                    <span class=status_class data-testid="sync-status">
                                        {move || i18n.t().sync_status(status)}
                                    </span>
                                    {order.status_reason.clone().map(|r| view! { " — " <span class="reason">{r}</span> })}
                                </dd>
                                <dt>{t!(i18n, col_source)}</dt>
                                <dd>{source}</dd>
                                <dt>{t!(i18n, col_created)}</dt>
                                <dd>{order.created.clone().map(|at| view! { <Time time=at /> })}</dd>
                                {detail.next_attempt.clone().map(|at| view! { <dt>{t!(i18n, next_attempt)}</dt><dd><Time time=at /></dd> })}
                            </dl>
                            {retryable
                                .then(|| {
                                    view! {
                                        <ActionForm action=retry>
                                            <input type="hidden" name="id" value=order.id />
                                            <button type="submit">{t!(i18n, retry_order)}</button>
                                        </ActionForm>
                                    }
                                })}
                            <ActionOutcome result=retry.value() success=|t| t.retry_queued />
                            <h2>{t!(i18n, attempts)}</h2>
                            <div class="table-wrap">
                                <table>
                                    <thead>
                                        <tr>
                                            <th scope="col">{t!(i18n, col_time)}</th>
                                            <th scope="col">{t!(i18n, col_outcome)}</th>
                                            <th scope="col">{t!(i18n, col_http_status)}</th>
                                            <th scope="col">{t!(i18n, col_provider_answer)}</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {detail
                                            .attempts
                                            .into_iter()
                                            .map(|a| {
                                                let outcome = a.outcome;
                                                view! {
                                                    <tr>
                                                        <td><Time time=a.at /></td>
                                                        <td>{move || i18n.t().attempt_outcome(outcome)}</td>
                                                        <td>{a.http_status.map(|s| s.to_string()).unwrap_or_default()}</td>
                                                        <td>{a.message.unwrap_or_default()}</td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <h2>{t!(i18n, documents)}</h2>
                            <ul class="documents">
                                {detail
                                    .documents
                                    .into_iter()
                                    .map(|d| {
                                        let kind = d.kind.clone();
                                        view! {
                                            <li>
                                                <details>
                                                    <summary>
                                                        {move || i18n.t().document_kind(&kind).to_string()} " " {d.number.clone().unwrap_or_default()}
                                                        " (FAPI id " {d.invoice_id} ", " {t!(i18n, fetched)} " " <Time time=d.fetched_at /> ")"
                                                    </summary>
                                                    <pre>{d.raw}</pre>
                                                </details>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                            <h2>{t!(i18n, payload_sent)}</h2>
                            {match detail.payload {
                                Some(payload) => view! { <pre class="payload">{payload}</pre> }.into_any(),
                                None => view! { <p>{t!(i18n, no_payload)}</p> }.into_any(),
                            }}
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let i18n = use_i18n();
    let (connection, status_text, before) = (
        query_text("connection"),
        query_text("status"),
        query_text("before"),
    );
    // An unknown status in the address filters nothing.
    let status = move || status_text().and_then(|s| NotificationStatus::parse(&s));
    let page = Resource::new(
        move || {
            (
                connection().and_then(|c| c.parse::<i64>().ok()),
                status(),
                before().and_then(|b| b.parse::<i64>().ok()),
            )
        },
        |(connection, status, before)| list_notifications(connection, status, before),
    );
    view! {
        <p>
            <a href="/orders">{t!(i18n, back_to_orders)}</a>
        </p>
        <h1>{t!(i18n, notifications_title)}</h1>
        <p>{t!(i18n, notifications_intro)}</p>
        <Form method="GET" action="/notifications" attr:class="filters">
            <div class="field-row">
                <div class="field">
                    <label for="notification-status">{t!(i18n, col_status)}</label>
                    <select id="notification-status" name="status">
                        <option value="">{t!(i18n, all)}</option>
                        {NotificationStatus::ALL
                            .iter()
                            .map(|&s| view! { <option value=s.as_str() selected=move || status() == Some(s)>{move || i18n.t().notification_status(s)}</option> })
                            .collect_view()}
                    </select>
                </div>
            </div>
            <button type="submit" class="secondary">{t!(i18n, filter)}</button>
        </Form>
        <PagedTable
            page
            above=|_: &NotificationPage| ()
            columns=NOTIFICATION_COLUMNS
            row=move |n: NotificationRow| {
                let status = n.status;
                view! {
                    <tr data-status=status.as_str()>
                        <td><Time time=n.received /></td>
                        <td>{n.connection}</td>
                        <td>{n.invoice_id.map(|i| i.to_string()).unwrap_or_else(|| "—".into())}</td>
                        <td>
                            {move || i18n.t().notification_status(status)}
                            {n.status_reason.map(|r| view! { <br /><small class="reason">{r}</small> })}
                        </td>
                        <td>{n.order_id.map(|o| view! { <a href=format!("/orders/{o}")>{o}</a> })}</td>
                        <td>
                            <details>
                                <summary>{n.content_type.unwrap_or_default()} " " {n.remote_addr.unwrap_or_default()}</summary>
                                <pre>{n.raw_body}</pre>
                            </details>
                        </td>
                    </tr>
                }
            }
            older=Older::link(move |b| {
                let status = status().map(|s| format!("&status={s}")).unwrap_or_default();
                format!("/notifications?before={b}{status}")
            })
        />
    }
}
