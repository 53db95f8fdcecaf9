//! Time zones: everything is stored in UTC and shown in Europe/Prague.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Europe::Prague;

/// A moment as the UI shows it: formatted in Prague on the server, so the browser needs no
/// time-zone data.
impl crate::model::DisplayTime {
    pub fn new(utc: DateTime<Utc>) -> Self {
        let prague = to_prague(utc).format("%-d. %-m. %Y %H:%M").to_string();
        crate::model::DisplayTime { utc, prague }
    }
}

pub fn to_prague(utc: DateTime<Utc>) -> DateTime<chrono_tz::Tz> {
    utc.with_timezone(&Prague)
}

/// Reads FAPI's Prague local time (`YYYY-MM-DD HH:MM:SS`, or just a date) as UTC.
///
/// In the autumn hour that happens twice, the earlier (summer-time) moment is taken; a time in
/// the spring gap (which no clock showed) is read one hour later.
pub fn parse_prague_local(text: &str) -> Option<DateTime<Utc>> {
    use chrono::{LocalResult, NaiveDate, NaiveDateTime, TimeZone};
    let text = text.trim();
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    match Prague.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Some(earlier.with_timezone(&Utc)),
        LocalResult::None => Prague
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
            .map(|t| t.with_timezone(&Utc)),
    }
}

/// Formats a UTC moment as Prague local time `YYYY-MM-DD HH:MM:SS` (what FAPI and
/// SmartEmailing expect).
pub fn format_prague_local(utc: DateTime<Utc>) -> String {
    to_prague(utc).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Midnight at the start of a Prague day, in UTC.
pub fn prague_day_start(day: &str) -> Option<DateTime<Utc>> {
    let date = chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").ok()?;
    chrono_tz::Europe::Prague
        .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn summer_and_winter_offsets() {
        // Recorded: "2020-09-08 15:50:34" with Date 13:50:34 GMT; "2025-12-05 14:07:18" with 13:07:18 GMT.
        assert_eq!(
            parse_prague_local("2020-09-08 15:50:34"),
            Some(utc("2020-09-08T13:50:34Z"))
        );
        assert_eq!(
            parse_prague_local("2025-12-05 14:07:18"),
            Some(utc("2025-12-05T13:07:18Z"))
        );
        assert_eq!(
            parse_prague_local("2020-09-22"),
            Some(utc("2020-09-21T22:00:00Z"))
        );
    }

    #[test]
    fn daylight_saving_edges() {
        // 2026-10-25 02:30 happens twice: the first (summer time, UTC+2) is taken.
        assert_eq!(
            parse_prague_local("2026-10-25 02:30:00"),
            Some(utc("2026-10-25T00:30:00Z"))
        );
        // 2026-03-29 02:30 never happened: read as 03:30 summer time.
        assert_eq!(
            parse_prague_local("2026-03-29 02:30:00"),
            Some(utc("2026-03-29T01:30:00Z"))
        );
    }

    #[test]
    fn round_trip_and_garbage() {
        let moment = utc("2026-11-29T09:15:00Z");
        assert_eq!(format_prague_local(moment), "2026-11-29 10:15:00");
        assert_eq!(
            parse_prague_local(&format_prague_local(moment)),
            Some(moment)
        );
        assert_eq!(parse_prague_local("yesterday"), None);
    }
}
