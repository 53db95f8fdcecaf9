//! Engagement reminders: the page, the "schedule" control used on several pages, and the
//! banner that shows due reminders on every page.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::api::reminders::{
    FinishReminder, ScheduleReminder, get_due_reminders, list_reminders, plan_reminder,
};
use crate::app::components::{ErrorMessage, Loading, Time};
use crate::i18n::use_i18n;
use crate::model::{ConnectionRef, ReminderState, ReminderView};
use crate::t;

/// "Schedule engagement reminder": shows the exact due time before the user confirms.
///
/// With `connections`, the user picks the connection; otherwise it is `connection`. The due
/// time is fetched by an action, not a resource, so the control can sit inside any page's
/// suspense boundary.
#[component]
pub fn ReminderScheduler(
    #[prop(optional)] connection: Option<i64>,
    #[prop(optional)] connections: Vec<ConnectionRef>,
    action: ServerAction<ScheduleReminder>,
) -> impl IntoView {
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    let selected = RwSignal::new(connection.or_else(|| connections.first().map(|c| c.id)));
    let plan = Action::new(|connection: &i64| plan_reminder(*connection));
    let show_plan = move || {
        if let Some(connection) = selected.get_untracked() {
            plan.dispatch(connection);
        }
    };
    let connections = StoredValue::new(connections);
    let choose = move || {
        let connections = connections.get_value();
        (!connections.is_empty()).then(|| {
            view! {
                <label>
                    <span>{t!(i18n, col_connection)}</span>
                    <select
                        name="connection-choice"
                        on:change=move |event| {
                            selected.set(event_target_value(&event).parse().ok());
                            show_plan();
                        }
                    >
                        {connections
                            .into_iter()
                            .map(|c| view! { <option value=c.id>{c.name}</option> })
                            .collect_view()}
                    </select>
                </label>
            }
        })
    };
    view! {
        <section class="card scheduler" aria-label=t!(i18n, schedule_reminder)>
            <Show
                when=move || open.get()
                fallback=move || {
                    view! {
                        <button
                            type="button"
                            on:click=move |_| {
                                open.set(true);
                                show_plan();
                            }
                        >
                            {t!(i18n, schedule_reminder)}
                        </button>
                    }
                }
            >
                <h2>{t!(i18n, schedule_reminder)}</h2>
                <p>{t!(i18n, schedule_reminder_intro)}</p>
                {choose}
                {move || match plan.value().get() {
                    None => view! { <Loading /> }.into_any(),
                    Some(Err(error)) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                    Some(Ok(plan)) => {
                        let after_sync = plan.after_run.is_some();
                        view! {
                            <p class="due-preview" data-testid="reminder-due">
                                {t!(i18n, reminder_will_be_due)} " "
                                <strong><Time time=plan.due_at.clone() /></strong> "."
                            </p>
                            <p class="hint">
                                {t!(i18n, recalculation_at)} " " <Time time=plan.recalculation.clone() /> ". "
                                {if after_sync {
                                    view! { {t!(i18n, reminder_after_sync)} " " <Time time=plan.basis.clone() /> "." }.into_any()
                                } else {
                                    view! { {t!(i18n, reminder_after_now)} }.into_any()
                                }}
                            </p>
                            <ActionForm action=action>
                                <input type="hidden" name="connection" value=plan.connection_id />
                                <label>
                                    <span>{t!(i18n, reminder_note)}</span>
                                    <input type="text" name="note" maxlength="500" />
                                </label>
                                <button type="submit">{t!(i18n, confirm_schedule)}</button>
                            </ActionForm>
                        }
                            .into_any()
                    }
                }}
                {move || match action.value().get() {
                    Some(Ok(_)) => Some(view! {
                        <p class="message success" role="status">
                            {t!(i18n, reminder_scheduled)} " " <a href="/reminders">{t!(i18n, nav_reminders)} " →"</a>
                        </p>
                    }.into_any()),
                    Some(Err(error)) => Some(view! { <ErrorMessage error=Some(error) /> }.into_any()),
                    None => None,
                }}
            </Show>
        </section>
    }
}

#[component]
pub fn RemindersPage() -> impl IntoView {
    let i18n = use_i18n();
    let schedule = ServerAction::<ScheduleReminder>::new();
    let finish = ServerAction::<FinishReminder>::new();
    let page = Resource::new(
        move || (schedule.version().get(), finish.version().get()),
        |_| list_reminders(),
    );
    view! {
        <h1>{t!(i18n, nav_reminders)}</h1>
        <p>{t!(i18n, reminders_intro)}</p>
        <Transition fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(error) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                    Ok(page) => {
                        let can_manage = page.can_manage;
                        let of = |state: ReminderState| -> Vec<ReminderView> {
                            page.reminders.iter().filter(|r| r.state == state).cloned().collect()
                        };
                        let finished: Vec<ReminderView> = page
                            .reminders
                            .iter()
                            .filter(|r| matches!(r.state, ReminderState::Done | ReminderState::Cancelled))
                            .cloned()
                            .collect();
                        view! {
                            {(can_manage && !page.connections.is_empty()).then(|| view! {
                                <ReminderScheduler connections=page.connections.clone() action=schedule />
                            })}
                            <h2>{t!(i18n, reminders_due)}</h2>
                            <ReminderTable reminders=of(ReminderState::Due) can_manage finish testid="reminders-due" />
                            <h2>{t!(i18n, reminders_upcoming)}</h2>
                            <ReminderTable reminders=of(ReminderState::Upcoming) can_manage finish testid="reminders-upcoming" />
                            <h2>{t!(i18n, reminders_finished)}</h2>
                            <ReminderTable reminders=finished can_manage=false finish testid="reminders-finished" />
                            <ErrorMessage error=Signal::derive(move || finish.value().get().and_then(Result::err)) />
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn ReminderTable(
    reminders: Vec<ReminderView>,
    can_manage: bool,
    finish: ServerAction<FinishReminder>,
    testid: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    if reminders.is_empty() {
        return view! { <p class="empty" data-testid=testid>{t!(i18n, no_reminders)}</p> }
            .into_any();
    }
    view! {
        <div class="table-wrap">
            <table data-testid=testid>
                <thead>
                    <tr>
                        <th scope="col">{t!(i18n, col_due)}</th>
                        <th scope="col">{t!(i18n, col_connection)}</th>
                        <th scope="col">{t!(i18n, col_note)}</th>
                        <th scope="col">{t!(i18n, col_scheduled_by)}</th>
                        <th scope="col">{t!(i18n, col_status)}</th>
                        <th scope="col">{t!(i18n, col_finished_by)}</th>
                        {can_manage.then(|| view! { <th scope="col"></th> })}
                    </tr>
                </thead>
                <tbody>
                    {reminders
                        .into_iter()
                        .map(|reminder| {
                            let state = reminder.state;
                            let (action, button) = if state == ReminderState::Due {
                                ("done", i18n.t().mark_done)
                            } else {
                                ("cancel", i18n.t().cancel_reminder)
                            };
                            view! {
                                <tr data-state=state.as_str()>
                                    <td><Time time=reminder.due_at /></td>
                                    <td>{reminder.connection}</td>
                                    <td>{reminder.note.unwrap_or_default()}</td>
                                    <td>{reminder.created_by} " " <Time time=reminder.created_at /></td>
                                    <td>{move || i18n.t().reminder_state(state)}</td>
                                    <td>
                                        {reminder.finished_by.unwrap_or_default()} " "
                                        {reminder.finished_at.map(|at| view! { <Time time=at /> })}
                                    </td>
                                    {can_manage.then(|| view! {
                                        <td>
                                            <ActionForm action=finish attr:class="inline-form">
                                                <input type="hidden" name="id" value=reminder.id />
                                                <input type="hidden" name="action" value=action />
                                                <button type="submit" class="secondary">{button}</button>
                                            </ActionForm>
                                        </td>
                                    })}
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// Due reminders, on every signed-in page, until someone marks them done. Refreshed on every
/// navigation.
#[component]
pub fn DueBanner() -> impl IntoView {
    let i18n = use_i18n();
    let location = use_location();
    let finish = ServerAction::<FinishReminder>::new();
    let due = Resource::new(
        move || (location.pathname.get(), finish.version().get()),
        |_| get_due_reminders(),
    );
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let Ok(due) = due.await else { return ().into_any() };
                let can_mark_done = due.can_mark_done;
                due.reminders
                    .into_iter()
                    .map(|reminder| {
                        let connection = reminder.connection.clone();
                        let when = reminder.due_at.prague.clone();
                        view! {
                            <aside class="banner" role="status" data-testid="reminder-banner">
                                <strong>{t!(i18n, banner_title)} ": "</strong>
                                {move || (i18n.t().banner_text)(&connection, &when)}
                                {reminder.note.clone().map(|note| view! { " " <em>{note}</em> })}
                                {can_mark_done.then(|| view! {
                                    <ActionForm action=finish attr:class="inline-form">
                                        <input type="hidden" name="id" value=reminder.id />
                                        <input type="hidden" name="action" value="done" />
                                        <button type="submit" class="secondary">{t!(i18n, mark_done)}</button>
                                    </ActionForm>
                                })}
                            </aside>
                        }
                    })
                    .collect_view()
                    .into_any()
            })}
        </Transition>
    }
}
