//! Engagement reminders: scheduled for the Monday after SmartEmailing's weekly engagement
//! recalculation, due (a banner for everyone) until someone marks them done.
//!
//! "Due" is not stored: a scheduled reminder whose time has come is due, so one that fell due
//! while the server was down is due when it comes back.

pub mod calendar;
pub mod schedule;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{FromRow, SqlitePool};

use crate::accounts::audit::{self, Actor};
use crate::connections;
use crate::error::{AppError, Invalid};
use crate::model::{
    DisplayTime, ReminderPlan, ReminderState, ReminderStatus, ReminderView, RunKind, RunStatus,
};
use crate::platform::Context;
use crate::platform::db::partial_index::SCHEDULED_REMINDER;
pub use schedule::ReminderRule;

pub mod actions {
    pub const SCHEDULED: &str = "reminder.scheduled";
    pub const DONE: &str = "reminder.done";
    pub const CANCELLED: &str = "reminder.cancelled";
}

/// How many finished (done or cancelled) reminders the Reminders page lists.
const FINISHED_SHOWN: i64 = 50;

/// When a reminder scheduled now for `connection_id` would be due, and why.
///
/// The basis is the end of the connection's latest completed historical sync. When the reminder
/// for that sync has already passed (the sync is older than last week's recalculation), the
/// rule is applied to now instead: the next Monday is the useful one.
pub async fn plan(ctx: &Context, connection_id: i64) -> Result<ReminderPlan, AppError> {
    let connection = connections::find(&ctx.db, connection_id).await?;
    let now = ctx.clock.now();
    let rule = ctx.settings.reminders;
    let last_sync: Option<(i64, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, finished_at FROM sync_runs
         WHERE connection_id = ? AND kind = ? AND status = ?
         ORDER BY finished_at DESC LIMIT 1",
    )
    .bind(connection.id)
    .bind(RunKind::Historical)
    .bind(RunStatus::Completed)
    .fetch_optional(&ctx.db)
    .await?;
    let from_sync = last_sync
        .map(|(run, finished)| (run, finished, rule.due_after(finished)))
        .filter(|(_, _, due)| *due > now);
    Ok(match from_sync {
        Some((run, finished, due)) => ReminderPlan {
            connection_id: connection.id,
            connection: connection.name,
            due_at: DisplayTime::new(due),
            after_run: Some(run),
            basis: DisplayTime::new(finished),
            recalculation: DisplayTime::new(rule.next_recalculation(finished)),
        },
        None => ReminderPlan {
            connection_id: connection.id,
            connection: connection.name,
            due_at: DisplayTime::new(rule.due_after(now)),
            after_run: None,
            basis: DisplayTime::new(now),
            recalculation: DisplayTime::new(rule.next_recalculation(now)),
        },
    })
}

/// Schedules the reminder `plan` describes. Scheduling the same reminder again (a double
/// submit) returns the one already scheduled.
pub async fn schedule(
    ctx: &Context,
    actor: &Actor,
    connection_id: i64,
    note: &str,
) -> Result<i64, AppError> {
    let plan = plan(ctx, connection_id).await?;
    let now = ctx.clock.now();
    let note = note.trim();
    // The reminder, its audit entry and its invitations commit together.
    let mut tx = ctx.db.begin().await?;
    // The conflict target names the partial unique index, so its predicate is written out.
    let inserted: Option<i64> = sqlx::query_scalar(&format!(
        "INSERT INTO reminders (connection_id, due_at, note, after_run, created_by, created_at, status)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (connection_id, due_at) WHERE {SCHEDULED_REMINDER} DO NOTHING
         RETURNING id"
    ))
    .bind(plan.connection_id)
    .bind(plan.due_at.utc)
    .bind((!note.is_empty()).then_some(note))
    .bind(plan.after_run)
    .bind(actor.name())
    .bind(now)
    .bind(ReminderStatus::Scheduled)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = inserted else {
        let existing = sqlx::query_scalar(
            "SELECT id FROM reminders WHERE connection_id = ? AND due_at = ? AND status = ?",
        )
        .bind(plan.connection_id)
        .bind(plan.due_at.utc)
        .bind(ReminderStatus::Scheduled)
        .fetch_one(&mut *tx)
        .await?;
        return Ok(existing);
    };
    audit::record(
        &mut *tx,
        now,
        actor
            .event(actions::SCHEDULED)
            .target(&plan.connection)
            .details(json!({ "reminder": id, "due_at": plan.due_at.utc, "note": note })),
    )
    .await?;
    calendar::queue_invitations(ctx, &mut tx, id, crate::mail::ics::Method::Request).await?;
    tx.commit().await?;
    ctx.work.mail.notify_one();
    Ok(id)
}

/// Marks a due reminder done. Marking it again changes nothing.
pub async fn mark_done(ctx: &Context, actor: &Actor, id: i64) -> Result<(), AppError> {
    finish(ctx, actor, id, Finish::Done).await
}

/// Cancels a reminder that is not due yet. Cancelling it again changes nothing.
pub async fn cancel(ctx: &Context, actor: &Actor, id: i64) -> Result<(), AppError> {
    finish(ctx, actor, id, Finish::Cancelled).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Finish {
    Done,
    Cancelled,
}

async fn finish(ctx: &Context, actor: &Actor, id: i64, how: Finish) -> Result<(), AppError> {
    let now = ctx.clock.now();
    let row: Option<(ReminderStatus, DateTime<Utc>, String)> = sqlx::query_as(
        "SELECT r.status, r.due_at, c.name FROM reminders r JOIN connections c ON c.id = r.connection_id
         WHERE r.id = ?",
    )
    .bind(id)
    .fetch_optional(&ctx.db)
    .await?;
    let (status, due_at, connection) = row.ok_or(AppError::NotFound)?;
    let (target_status, action) = match how {
        Finish::Done => (ReminderStatus::Done, actions::DONE),
        Finish::Cancelled => (ReminderStatus::Cancelled, actions::CANCELLED),
    };
    if status == target_status {
        return Ok(());
    }
    if status != ReminderStatus::Scheduled {
        return Err(Invalid::ReminderFinished.into());
    }
    match how {
        Finish::Done if due_at > now => return Err(Invalid::ReminderNotDue.into()),
        Finish::Cancelled if due_at <= now => return Err(Invalid::ReminderAlreadyDue.into()),
        _ => {}
    }
    // The change, its audit entry and the calendar's cancellation commit together.
    let mut tx = ctx.db.begin().await?;
    // A cancellation is a new version of the calendar event (SEQUENCE).
    let updated = sqlx::query(
        "UPDATE reminders SET status = ?, finished_by = ?, finished_at = ?, sequence = sequence + ?
         WHERE id = ? AND status = ?",
    )
    .bind(target_status)
    .bind(actor.name())
    .bind(now)
    .bind(i64::from(how == Finish::Cancelled))
    .bind(id)
    .bind(ReminderStatus::Scheduled)
    .execute(&mut *tx)
    .await?;
    // A concurrent click got there first: it recorded the event.
    if updated.rows_affected() == 1 {
        audit::record(
            &mut *tx,
            now,
            actor
                .event(action)
                .target(&connection)
                .details(json!({ "reminder": id, "due_at": due_at })),
        )
        .await?;
        if how == Finish::Cancelled {
            calendar::queue_invitations(ctx, &mut tx, id, crate::mail::ics::Method::Cancel).await?;
        }
    }
    tx.commit().await?;
    ctx.work.mail.notify_one();
    Ok(())
}

#[derive(FromRow)]
struct ReminderRecord {
    id: i64,
    connection_id: i64,
    connection: String,
    due_at: DateTime<Utc>,
    note: Option<String>,
    after_run: Option<i64>,
    created_by: String,
    created_at: DateTime<Utc>,
    status: ReminderStatus,
    finished_by: Option<String>,
    finished_at: Option<DateTime<Utc>>,
}

impl ReminderRecord {
    fn view(self, now: DateTime<Utc>) -> ReminderView {
        let state = match self.status {
            ReminderStatus::Scheduled if self.due_at <= now => ReminderState::Due,
            ReminderStatus::Scheduled => ReminderState::Upcoming,
            ReminderStatus::Done => ReminderState::Done,
            ReminderStatus::Cancelled => ReminderState::Cancelled,
        };
        ReminderView {
            id: self.id,
            connection_id: self.connection_id,
            connection: self.connection,
            due_at: DisplayTime::new(self.due_at),
            note: self.note,
            after_run: self.after_run,
            created_by: self.created_by,
            created_at: DisplayTime::new(self.created_at),
            state,
            finished_by: self.finished_by,
            finished_at: self.finished_at.map(DisplayTime::new),
        }
    }
}

const SELECT: &str =
    "SELECT r.id, r.connection_id, c.name AS connection, r.due_at, r.note, r.after_run,
        r.created_by, r.created_at, r.status, r.finished_by, r.finished_at
     FROM reminders r JOIN connections c ON c.id = r.connection_id";

/// Scheduled reminders (due ones first, then upcoming, by due time) and the latest finished.
pub async fn list(db: &SqlitePool, now: DateTime<Utc>) -> Result<Vec<ReminderView>, sqlx::Error> {
    let scheduled: Vec<ReminderRecord> = sqlx::query_as(&format!(
        "{SELECT} WHERE r.status = ? ORDER BY r.due_at, r.id"
    ))
    .bind(ReminderStatus::Scheduled)
    .fetch_all(db)
    .await?;
    let finished: Vec<ReminderRecord> = sqlx::query_as(&format!(
        "{SELECT} WHERE r.status <> ? ORDER BY r.finished_at DESC, r.id DESC LIMIT ?"
    ))
    .bind(ReminderStatus::Scheduled)
    .bind(FINISHED_SHOWN)
    .fetch_all(db)
    .await?;
    Ok(scheduled
        .into_iter()
        .chain(finished)
        .map(|record| record.view(now))
        .collect())
}

/// The reminders due now: the banner on every page.
pub async fn due(db: &SqlitePool, now: DateTime<Utc>) -> Result<Vec<ReminderView>, sqlx::Error> {
    let records: Vec<ReminderRecord> = sqlx::query_as(&format!(
        "{SELECT} WHERE r.status = ? AND r.due_at <= ? ORDER BY r.due_at, r.id"
    ))
    .bind(ReminderStatus::Scheduled)
    .bind(now)
    .fetch_all(db)
    .await?;
    Ok(records.into_iter().map(|record| record.view(now)).collect())
}
