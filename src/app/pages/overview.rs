//! The landing page: one card per connection with its health at a glance.

use leptos::prelude::*;

use crate::api::reminders::{ScheduleReminder, get_overview};
use crate::app::components::{ErrorMessage, Loading, Time};
use crate::app::pages::connections::HealthLine;
use crate::app::pages::reminders::ReminderScheduler;
use crate::i18n::use_i18n;
use crate::model::{OverviewCard, SyncStatus, System};
use crate::t;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = Resource::new(|| (), |_| get_overview());
    view! {
        <h1>{t!(i18n, nav_overview)}</h1>
        <p>{t!(i18n, overview_intro)}</p>
        <Transition fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => view! { <ErrorMessage error=Some(error) /> }.into_any(),
                    Ok(overview) if overview.cards.is_empty() => view! {
                        <p class="notice">{t!(i18n, no_connections_overview)}</p>
                        {overview.can_manage.then(|| view! {
                            <p><a class="button" href="/connections/new">{t!(i18n, new_connection)}</a></p>
                        })}
                    }
                        .into_any(),
                    Ok(overview) => {
                        let can_schedule = overview.can_schedule;
                        view! {
                            <ul class="cards overview-cards">
                                {overview
                                    .cards
                                    .into_iter()
                                    .map(|card| view! { <HealthCard card can_schedule /> })
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
fn HealthCard(card: OverviewCard, can_schedule: bool) -> impl IntoView {
    let i18n = use_i18n();
    // Each card's scheduler reports its own outcome.
    let schedule = ServerAction::<ScheduleReminder>::new();
    let connection = card.connection;
    let id = connection.id;
    let forwarding = connection.forwarding_enabled;
    let has_failed = card.failed > 0;
    let orders = move |status: SyncStatus| format!("/orders?connection={id}&status={status}");
    view! {
        <li class="card health-card" data-connection=connection.name.clone()>
            <h2><a href=format!("/connections/{id}")>{connection.name.clone()}</a></h2>
            <HealthLine system=System::Fapi health=connection.fapi.clone() />
            <HealthLine system=System::SmartEmailing health=connection.smartemailing.clone() />
            <dl class="facts">
                <dt>{t!(i18n, forwarding)}</dt>
                <dd data-testid="forwarding">
                    {move || if forwarding { i18n.t().forwarding_on } else { i18n.t().forwarding_off }}
                    {connection.forwarding_since.clone().map(|since| view! { " (" <Time time=since /> ")" })}
                </dd>
                <dt>{t!(i18n, last_notification)}</dt>
                <dd data-testid="last-notification">
                    {match card.last_notification {
                        Some(at) => view! { <Time time=at /> }.into_any(),
                        None => view! { {t!(i18n, none_yet)} }.into_any(),
                    }}
                </dd>
                <dt>{t!(i18n, orders_waiting)}</dt>
                <dd data-testid="orders-waiting"><a href=orders(SyncStatus::Pending)>{card.waiting}</a></dd>
                <dt>{t!(i18n, orders_failed)}</dt>
                <dd data-testid="orders-failed" class:bad=has_failed>
                    <a href=orders(SyncStatus::Failed)>{card.failed}</a>
                </dd>
                <dt>{t!(i18n, last_run)}</dt>
                <dd data-testid="last-run">
                    {match card.last_run {
                        Some(run) => {
                            let (kind, status) = (run.kind, run.status);
                            view! {
                                <a href=format!("/sync-history/{}", run.id)>
                                    {move || i18n.t().run_kind(kind)} ": " {move || i18n.t().run_status(status)}
                                </a>
                                " " <Time time=run.finished_at.unwrap_or(run.started_at) />
                            }
                                .into_any()
                        }
                        None => view! { {t!(i18n, none_yet)} }.into_any(),
                    }}
                </dd>
                <dt>{t!(i18n, nav_contacts)}</dt>
                <dd data-testid="without-list">
                    <a href=format!("/contacts?connection={id}")>{card.without_list}</a>
                </dd>
                <dt>{t!(i18n, reminders_label)}</dt>
                <dd data-testid="reminders">
                    <a href="/reminders">
                        {move || (i18n.t().reminders_due_count)(card.due_reminders)}
                    </a>
                    {card.next_reminder.map(|at| view! { ", " {t!(i18n, next_reminder)} " " <Time time=at /> })}
                </dd>
            </dl>
            {can_schedule.then(|| view! { <ReminderScheduler connection=id action=schedule /> })}
        </li>
    }
}
