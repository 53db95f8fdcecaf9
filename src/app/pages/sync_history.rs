//! Sync history (every run, filterable; starting a historical sync) and one run's page with
//! live progress.

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::reminders::ScheduleReminder;
use crate::api::sync::{ControlSync, StartHistoricalSync, get_run, list_runs};
use crate::app::components::{ErrorMessage, Loading, SyncStartError, Time, id_param, ticker};
use crate::app::paged_table::{Column, Older, PageOfRows, PagedTable};
use crate::app::pages::reminders::ReminderScheduler;
use crate::i18n::use_i18n;
use crate::model::{ConnectionRef, OrderRow, RunKind, RunPage, RunRow, RunStatus};
use crate::t;

const RUN_COLUMNS: &[Column] = &[
    |t| t.col_started,
    |t| t.col_connection,
    |t| t.col_kind,
    |t| t.col_started_by,
    |t| t.col_duration,
    |t| t.col_status,
    |t| t.col_counts,
];

const RUN_ORDER_COLUMNS: &[Column] = &[
    |t| t.col_fapi_numbers,
    |t| t.col_email,
    |t| t.col_fapi_state,
    |t| t.col_sync_status,
];

fn query_number(name: &'static str) -> impl Fn() -> Option<i64> + Copy {
    let query = use_query_map();
    move || query.read().get(name).and_then(|v| v.trim().parse().ok())
}

#[component]
pub fn SyncHistoryPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let connection = query_number("connection");
    let before = query_number("before");
    // An unknown kind in the address filters nothing.
    let kind = move || query.read().get("kind").and_then(|k| RunKind::parse(&k));
    let start = ServerAction::<StartHistoricalSync>::new();
    let page = Resource::new(
        move || (connection(), kind(), before(), start.version().get()),
        |(connection, kind, before, _)| list_runs(connection, kind, before),
    );
    Effect::new(move |_| {
        if let Some(Ok(run)) = start.value().get() {
            use_navigate()(&format!("/sync-history/{run}"), Default::default());
        }
    });

    view! {
        <h1>{t!(i18n, nav_sync_history)}</h1>
        <p>{t!(i18n, sync_history_intro)}</p>
        <PagedTable
            page
            above=move |page: &RunPage| {
                let connections = page.connections.clone();
                view! {
                    {page.can_start.then(|| view! { <StartSyncForm connections=connections.clone() selected=connection() start /> })}
                    <Form method="GET" action="/sync-history" attr:class="filters">
                        <div class="field-row">
                            <div class="field">
                                <label for="runs-connection">{t!(i18n, col_connection)}</label>
                                <select id="runs-connection" name="connection">
                                    <option value="">{t!(i18n, all)}</option>
                                    {connections.iter().map(|c| view! { <option value=c.id selected=Some(c.id) == connection()>{c.name.clone()}</option> }).collect_view()}
                                </select>
                            </div>
                            <div class="field">
                                <label for="runs-kind">{t!(i18n, col_kind)}</label>
                                <select id="runs-kind" name="kind">
                                    <option value="">{t!(i18n, all)}</option>
                                    {RunKind::ALL.iter().map(|&k| view! { <option value=k.as_str() selected=kind() == Some(k)>{move || i18n.t().run_kind(k)}</option> }).collect_view()}
                                </select>
                            </div>
                        </div>
                        <button type="submit" class="secondary">{t!(i18n, filter)}</button>
                    </Form>
                }
            }
            columns=RUN_COLUMNS
            row=|run: RunRow| view! { <RunTableRow run /> }
            older=Older::link(move |b| {
                let mut href = format!("/sync-history?before={b}");
                if let Some(c) = connection() {
                    href.push_str(&format!("&connection={c}"));
                }
                if let Some(k) = kind() {
                    href.push_str(&format!("&kind={k}"));
                }
                href
            })
        />
    }
}

#[component]
fn StartSyncForm(
    connections: Vec<ConnectionRef>,
    selected: Option<i64>,
    start: ServerAction<StartHistoricalSync>,
) -> impl IntoView {
    let i18n = use_i18n();
    let error = Signal::derive(move || start.value().get().and_then(Result::err));
    view! {
        <section class="card" aria-labelledby="start-sync-title">
            <h2 id="start-sync-title">{t!(i18n, start_historical_sync)}</h2>
            <p>{t!(i18n, historical_sync_intro)}</p>
            <ActionForm action=start>
                <div class="field-row">
                    <div class="field">
                        <label for="sync-connection">{t!(i18n, col_connection)}</label>
                        <select id="sync-connection" name="connection" required>
                            {connections.into_iter().map(|c| view! { <option value=c.id selected=Some(c.id) == selected>{c.name}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="sync-since">{t!(i18n, sync_since)}</label>
                        <input id="sync-since" type="date" name="since" aria-describedby="sync-since-hint" />
                        <p id="sync-since-hint" class="hint">{t!(i18n, sync_since_hint)}</p>
                    </div>
                </div>
                <div class="notice warning" role="note">
                    <h3>{t!(i18n, before_you_start)}</h3>
                    <p>{t!(i18n, new_order_trigger_warning)}</p>
                    <p>{t!(i18n, double_transfer_warning)}</p>
                </div>
                <label class="checkbox">
                    <input type="checkbox" name="confirm" value="yes" required />
                    {t!(i18n, sync_confirm)}
                </label>
                {move || error.get().map(|error| view! { <SyncStartError error /> })}
                <button type="submit" disabled=move || start.pending().get()>{t!(i18n, start_sync)}</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn RunTableRow(run: RunRow) -> impl IntoView {
    let i18n = use_i18n();
    let (kind, status) = (run.kind, run.status);
    view! {
        <tr data-run=run.id data-status=status.as_str()>
            <td><a href=format!("/sync-history/{}", run.id)><Time time=run.started_at.clone() /></a></td>
            <td>{run.connection.clone()}</td>
            <td>
                {move || i18n.t().run_kind(kind)}
                {run.resend.then(|| view! { " (" {t!(i18n, run_resend)} ")" })}
            </td>
            <td>{run.started_by.clone()}</td>
            <td>{run.duration_secs.map(format_duration).unwrap_or_default()}</td>
            <td>
                <span class=format!("badge run-{status}")>{move || i18n.t().run_status(status)}</span>
                {run.status_reason.clone().map(|r| view! { <br /><small class="reason">{r}</small> })}
            </td>
            <td>{move || (i18n.t().run_counts)(run.created, run.updated, run.skipped, run.failed)}</td>
        </tr>
    }
}

/// "1 h 2 min 3 s"
pub fn format_duration(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s} s"),
        _ => format!("{h} h {m} min"),
    }
}

#[component]
pub fn RunPage() -> impl IntoView {
    let i18n = use_i18n();
    let id = id_param();
    let orders_before = query_number("orders_before");
    let control = ServerAction::<ControlSync>::new();
    let schedule = ServerAction::<ScheduleReminder>::new();
    // While the run is active, the page asks for fresh progress every two seconds.
    let active = RwSignal::new(false);
    let tick = ticker(active);
    let detail = Resource::new(
        move || (id(), orders_before(), tick.get(), control.version().get()),
        |(id, before, _, _)| get_run(id, before),
    );

    view! {
        <p><a href="/sync-history">{t!(i18n, back_to_sync_history)}</a></p>
        <Transition fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(error) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                    Ok(detail) => {
                        let run = detail.run.clone();
                        let running = matches!(run.status, RunStatus::Running | RunStatus::Paused);
                        active.set(running);
                        let (kind, status, phase) = (run.kind, run.status, run.phase);
                        let completed = run.status == RunStatus::Completed && run.kind == RunKind::Historical;
                        let run_id = run.id;
                        let older = Older::link(move |b| format!("/sync-history/{run_id}?orders_before={b}"));
                        view! {
                            <h1>{move || (i18n.t().run_title)(i18n.t().run_kind(kind), &run.connection)}</h1>
                            {run.resend.then(|| view! { <p>{t!(i18n, run_resend_intro)}</p> })}
                            <section class="card" aria-labelledby="progress-title" aria-live="polite">
                                <h2 id="progress-title">{t!(i18n, progress)}</h2>
                                {run.total.map(|total| view! {
                                    <label class="progress">
                                        <span>{move || (i18n.t().documents_progress)(run.documents, total)}</span>
                                        <progress max=total.max(1) value=run.documents></progress>
                                    </label>
                                })}
                                <dl class="facts">
                                    <dt>{t!(i18n, col_status)}</dt>
                                    <dd data-testid="run-status">{move || i18n.t().run_status(status)}</dd>
                                    {phase.map(|phase| view! { <dt>{t!(i18n, phase)}</dt><dd data-testid="run-phase">{move || i18n.t().run_phase(phase)}</dd> })}
                                    <dt>{t!(i18n, col_counts)}</dt>
                                    <dd data-testid="run-counts">{move || (i18n.t().run_counts)(run.created, run.updated, run.skipped, run.failed)}</dd>
                                    <dt>{t!(i18n, in_smartemailing)}</dt>
                                    <dd data-testid="run-synced">{move || (i18n.t().synced_waiting)(detail.synced, detail.waiting)}</dd>
                                    {detail.rate.map(|rate| view! { <dt>{t!(i18n, rate)}</dt><dd>{move || (i18n.t().per_second)(rate)}</dd> })}
                                    {detail.eta_secs.map(|eta| view! { <dt>{t!(i18n, time_left)}</dt><dd>{format_duration(eta)}</dd> })}
                                    <dt>{t!(i18n, col_started)}</dt>
                                    <dd><Time time=run.started_at.clone() /> " — " {run.started_by.clone()}</dd>
                                    {run.finished_at.clone().map(|at| view! { <dt>{t!(i18n, finished)}</dt><dd><Time time=at /></dd> })}
                                    {run.status_reason.clone().map(|r| view! { <dt>{t!(i18n, reason)}</dt><dd>{r}</dd> })}
                                </dl>
                                {(detail.can_control && running).then(|| {
                                    let paused = run.status == RunStatus::Paused;
                                    let run_id = run.id;
                                    view! {
                                        <div class="actions">
                                            <ActionForm action=control attr:class="inline-form">
                                                <input type="hidden" name="run" value=run_id />
                                                <input type="hidden" name="action" value=if paused { "resume" } else { "pause" } />
                                                <button type="submit" class="secondary">{move || if paused { i18n.t().resume } else { i18n.t().pause }}</button>
                                            </ActionForm>
                                            <ActionForm action=control attr:class="inline-form">
                                                <input type="hidden" name="run" value=run_id />
                                                <input type="hidden" name="action" value="cancel" />
                                                <button type="submit" class="danger">{t!(i18n, cancel_sync)}</button>
                                            </ActionForm>
                                        </div>
                                    }
                                })}
                                <ErrorMessage error=Signal::derive(move || control.value().get().and_then(Result::err)) />
                            </section>
                            {completed.then(|| view! {
                                <section class="notice success-notice" role="status">
                                    <h2>{t!(i18n, sync_finished)}</h2>
                                    <p>{move || (i18n.t().sync_summary)(run.documents, run.created, run.updated, run.skipped, run.failed)}</p>
                                    <p><strong>{t!(i18n, switch_scenarios_back_on)}</strong></p>
                                </section>
                                // The engagement reminder, offered where the sync ends.
                                {detail.can_control.then(|| view! {
                                    <ReminderScheduler connection=run.connection_id action=schedule />
                                })}
                            })}
                            <h2>{t!(i18n, run_orders)}</h2>
                            <PageOfRows
                                columns=RUN_ORDER_COLUMNS
                                rows=detail.orders
                                row=move |o: OrderRow| {
                                    let (status, state) = (o.sync_status, o.fapi_state);
                                    view! {
                                        <tr>
                                            <td><a href=format!("/orders/{}", o.id)>{if o.fapi_numbers.is_empty() { o.eshop_code.clone() } else { o.fapi_numbers.clone() }}</a></td>
                                            <td>{o.customer_email.clone().unwrap_or_default()}</td>
                                            <td>{move || i18n.t().fapi_state(state)}</td>
                                            <td>{move || i18n.t().sync_status(status)} {o.status_reason.clone().map(|r| view! { <br /><small class="reason">{r}</small> })}</td>
                                        </tr>
                                    }
                                }
                                next=detail.next_orders_before
                                older
                            />
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}
