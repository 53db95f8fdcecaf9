//! When the engagement reminder is due: a pure rule, evaluated in Europe/Prague.
//!
//! SmartEmailing recalculates contact engagement once a week (Sunday evening by default). Orders
//! synced before a recalculation starts count in it; the team prepares the engagement scenario
//! on the Monday after. A sync that ends while the recalculation runs, or after, waits for the
//! next week's.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Europe::Prague;

pub use crate::platform::settings::ReminderRule;

impl ReminderRule {
    /// The first recalculation that starts strictly after `moment`.
    pub fn next_recalculation(&self, moment: DateTime<Utc>) -> DateTime<Utc> {
        let today = moment.with_timezone(&Prague).date_naive();
        (0..=7)
            .map(|days| today + Duration::days(days))
            .filter(|day| day.weekday() == self.recalculation_day)
            .map(|day| prague_moment(day, self.recalculation_time))
            .find(|start| *start > moment)
            .expect("a weekday recurs within eight days")
    }

    /// When the reminder for orders synced at `synced_at` is due: the first Monday at the
    /// reminder time after the next recalculation.
    pub fn due_after(&self, synced_at: DateTime<Utc>) -> DateTime<Utc> {
        let recalculation = self.next_recalculation(synced_at);
        let day = recalculation.with_timezone(&Prague).date_naive();
        (0..=7)
            .map(|days| day + Duration::days(days))
            .filter(|day| day.weekday() == Weekday::Mon)
            .map(|day| prague_moment(day, self.reminder_time))
            .find(|due| *due > recalculation)
            .expect("a Monday recurs within eight days")
    }
}

/// A Prague wall-clock time as UTC. In the autumn hour that happens twice the first one counts;
/// a time in the spring gap (which no clock showed) moves one hour later.
fn prague_moment(day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = day.and_time(time);
    match Prague.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => Prague
            .from_local_datetime(&(local + Duration::hours(1)))
            .earliest()
            .expect("an hour after a gap exists")
            .with_timezone(&Utc),
    }
}

/// `ENGAGEMENT_RECALCULATION`: a weekday and a time, like `Sun 18:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recalculation(pub Weekday, pub NaiveTime);

impl FromStr for Recalculation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (day, time) = text
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(|| "expected a weekday and a time, like \"Sun 18:00\"".to_string())?;
        let day = day
            .parse::<Weekday>()
            .map_err(|_| format!("{day:?} is not a weekday (Mon … Sun)"))?;
        let time = NaiveTime::parse_from_str(time.trim(), "%H:%M")
            .map_err(|_| format!("{:?} is not a time like 18:00", time.trim()))?;
        Ok(Recalculation(day, time))
    }
}

impl fmt::Display for Recalculation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.1.format("%H:%M"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Prague wall-clock time, `YYYY-MM-DD HH:MM`.
    fn prague(text: &str) -> DateTime<Utc> {
        let local = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        Prague
            .from_local_datetime(&local)
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn due(synced: &str) -> String {
        ReminderRule::default()
            .due_after(prague(synced))
            .with_timezone(&Prague)
            .format("%a %Y-%m-%d %H:%M %Z")
            .to_string()
    }

    #[test]
    fn a_sync_in_the_middle_of_the_week_is_reminded_on_the_next_monday() {
        // 2026-12-02 is a Wednesday.
        assert_eq!(due("2026-12-02 14:30"), "Mon 2026-12-07 09:00 CET");
    }

    #[test]
    fn a_sync_ending_on_sunday_before_the_recalculation_counts_in_it() {
        assert_eq!(due("2026-12-06 17:59"), "Mon 2026-12-07 09:00 CET");
    }

    #[test]
    fn a_sync_ending_as_or_while_the_recalculation_runs_waits_a_week() {
        assert_eq!(due("2026-12-06 18:00"), "Mon 2026-12-14 09:00 CET");
        assert_eq!(due("2026-12-06 18:40"), "Mon 2026-12-14 09:00 CET");
    }

    #[test]
    fn a_sync_ending_on_sunday_night_waits_a_week() {
        assert_eq!(due("2026-12-06 23:15"), "Mon 2026-12-14 09:00 CET");
    }

    #[test]
    fn a_sync_ending_on_monday_morning_waits_for_the_next_sunday() {
        // Before and after the reminder hour: that Monday's reminder is for the previous week.
        assert_eq!(due("2026-12-07 07:00"), "Mon 2026-12-14 09:00 CET");
        assert_eq!(due("2026-12-07 10:00"), "Mon 2026-12-14 09:00 CET");
    }

    #[test]
    fn summer_time_starts_between_the_sync_and_the_reminder() {
        // Clocks go forward on Sunday 2026-03-29 at 02:00.
        assert_eq!(due("2026-03-27 12:00"), "Mon 2026-03-30 09:00 CEST");
        assert_eq!(
            ReminderRule::default().due_after(prague("2026-03-27 12:00")),
            "2026-03-30T07:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn summer_time_ends_between_the_sync_and_the_reminder() {
        // Clocks go back on Sunday 2026-10-25 at 03:00.
        assert_eq!(due("2026-10-23 12:00"), "Mon 2026-10-26 09:00 CET");
        assert_eq!(
            ReminderRule::default().due_after(prague("2026-10-23 12:00")),
            "2026-10-26T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        // On the changeover Sunday itself, 17:30 CET is still before the 18:00 recalculation.
        assert_eq!(due("2026-10-25 17:30"), "Mon 2026-10-26 09:00 CET");
    }

    #[test]
    fn a_recalculation_in_the_spring_gap_moves_an_hour_later() {
        let rule = ReminderRule {
            recalculation_time: NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            ..ReminderRule::default()
        };
        let start = rule.next_recalculation(prague("2026-03-28 12:00"));
        assert_eq!(
            start,
            "2026-03-29T01:30:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            rule.due_after(prague("2026-03-28 12:00")),
            "2026-03-30T07:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn a_configured_recalculation_on_monday_night_rings_the_monday_after() {
        let rule = ReminderRule {
            recalculation_day: Weekday::Mon,
            recalculation_time: NaiveTime::from_hms_opt(1, 0, 0).unwrap(),
            reminder_time: NaiveTime::from_hms_opt(8, 30, 0).unwrap(),
        };
        // Sunday evening: the recalculation on Monday 01:00, the reminder that morning.
        let due = rule.due_after(prague("2026-12-06 20:00"));
        assert_eq!(due, prague("2026-12-07 08:30"));
    }

    #[test]
    fn the_recalculation_setting_parses_and_explains_mistakes() {
        assert_eq!(
            "Sun 18:00".parse::<Recalculation>(),
            Ok(Recalculation(
                Weekday::Sun,
                NaiveTime::from_hms_opt(18, 0, 0).unwrap()
            ))
        );
        assert_eq!(
            "sunday 7:30".parse::<Recalculation>().unwrap().to_string(),
            "Sun 07:30"
        );
        assert!(
            "Sun"
                .parse::<Recalculation>()
                .unwrap_err()
                .contains("weekday and a time")
        );
        assert!(
            "Sonntag 18:00"
                .parse::<Recalculation>()
                .unwrap_err()
                .contains("not a weekday")
        );
        assert!(
            "Sun 25:00"
                .parse::<Recalculation>()
                .unwrap_err()
                .contains("not a time")
        );
    }
}
