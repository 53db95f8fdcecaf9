//! iCalendar (RFC 5545) for the engagement reminders: invitations (`METHOD:REQUEST`,
//! `METHOD:CANCEL`) and the personal feed. Pure: events in, text out.
//!
//! Times are written in `Europe/Prague` with its `VTIMEZONE`, so a calendar shows 09:00 on
//! either side of a daylight-saving change; `DTSTAMP` is UTC.

use chrono::{DateTime, Utc};

use crate::platform::time::to_prague;

/// What a calendar message asks of the recipient's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Add or update the event (an invitation).
    Request,
    /// Remove the event.
    Cancel,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }
}

/// One reminder as an event.
#[derive(Debug, Clone)]
pub struct Event {
    /// Stable across updates and the cancellation (`reminder-<id>@<host>`).
    pub uid: String,
    /// Bumped with every change the recipients must see (the cancellation).
    pub sequence: i64,
    pub start: DateTime<Utc>,
    pub minutes: i64,
    pub summary: String,
    pub description: String,
    pub url: String,
    pub cancelled: bool,
}

/// The organizer and the attendee of an invitation (RFC 5546 needs both for `REQUEST`).
#[derive(Debug, Clone)]
pub struct Invitation<'a> {
    pub method: Method,
    pub organizer: &'a str,
    pub attendee: &'a str,
}

/// A calendar with `events`: an invitation when `invitation` is given, else a feed (`name`
/// shown by calendar apps).
pub fn calendar(
    events: &[Event],
    invitation: Option<&Invitation>,
    name: &str,
    now: DateTime<Utc>,
) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".into(),
        "PRODID:-//fapi-bridge//engagement reminders//EN".into(),
        "CALSCALE:GREGORIAN".into(),
    ];
    match invitation {
        Some(invitation) => lines.push(format!("METHOD:{}", invitation.method.as_str())),
        None => {
            lines.push("METHOD:PUBLISH".into());
            lines.push(format!("X-WR-CALNAME:{}", escape(name)));
            lines.push("X-WR-TIMEZONE:Europe/Prague".into());
        }
    }
    lines.extend(PRAGUE.lines().map(str::to_string));
    for event in events {
        lines.push("BEGIN:VEVENT".into());
        lines.push(format!("UID:{}", escape(&event.uid)));
        lines.push(format!("SEQUENCE:{}", event.sequence));
        lines.push(format!("DTSTAMP:{}", now.format("%Y%m%dT%H%M%SZ")));
        lines.push(format!(
            "DTSTART;TZID=Europe/Prague:{}",
            prague(event.start)
        ));
        let end = event.start + chrono::Duration::minutes(event.minutes);
        lines.push(format!("DTEND;TZID=Europe/Prague:{}", prague(end)));
        lines.push(format!("SUMMARY:{}", escape(&event.summary)));
        lines.push(format!("DESCRIPTION:{}", escape(&event.description)));
        lines.push(format!("URL:{}", event.url));
        if let Some(invitation) = invitation {
            lines.push(format!("ORGANIZER:mailto:{}", invitation.organizer));
            lines.push(format!(
                "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE:mailto:{}",
                invitation.attendee
            ));
        }
        lines.push(
            if event.cancelled {
                "STATUS:CANCELLED"
            } else {
                "STATUS:CONFIRMED"
            }
            .into(),
        );
        lines.push("TRANSP:OPAQUE".into());
        if !event.cancelled {
            lines.extend(
                [
                    "BEGIN:VALARM",
                    "ACTION:DISPLAY",
                    "DESCRIPTION:Reminder",
                    "TRIGGER:-PT15M",
                    "END:VALARM",
                ]
                .map(str::to_string),
            );
        }
        lines.push("END:VEVENT".into());
    }
    lines.push("END:VCALENDAR".into());
    lines.iter().map(|line| fold(line)).collect::<String>()
}

fn prague(moment: DateTime<Utc>) -> String {
    to_prague(moment).format("%Y%m%dT%H%M%S").to_string()
}

/// Europe/Prague's rules since 1996 (CET/CEST, the last Sundays of March and October).
const PRAGUE: &str = "BEGIN:VTIMEZONE
TZID:Europe/Prague
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE";

/// TEXT values escape backslashes, semicolons, commas and line breaks.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A content line ends with CRLF and is folded after 75 octets (never inside a character).
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut octets = 0;
    for c in line.chars() {
        if octets + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            octets = 1;
        }
        out.push(c);
        octets += c.len_utf8();
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(start: &str) -> Event {
        Event {
            uid: "reminder-7@bridge.example.cz".into(),
            sequence: 0,
            start: start.parse().unwrap(),
            minutes: 30,
            summary: "Připravit scénář engagementu, Obchod; test".into(),
            description: "Řádek 1\nŘádek 2 s čárkou, a středníkem; a \\".into(),
            url: "https://bridge.example.cz/reminders".into(),
            cancelled: false,
        }
    }

    #[test]
    fn times_are_prague_wall_clock_on_both_sides_of_a_dst_change() {
        let now = "2026-10-20T10:00:00Z".parse().unwrap();
        // 09:00 in summer time is 07:00 UTC; after the last Sunday of October, 08:00 UTC.
        let summer = calendar(&[event("2026-10-19T07:00:00Z")], None, "x", now);
        assert!(summer.contains("DTSTART;TZID=Europe/Prague:20261019T090000\r\n"));
        let winter = calendar(&[event("2026-10-26T08:00:00Z")], None, "x", now);
        assert!(winter.contains("DTSTART;TZID=Europe/Prague:20261026T090000\r\n"));
        assert!(winter.contains("DTSTAMP:20261020T100000Z\r\n"));
        assert!(winter.contains("TZID:Europe/Prague\r\n"));
    }

    #[test]
    fn text_is_escaped_and_long_lines_are_folded_on_character_boundaries() {
        let now = "2026-10-20T10:00:00Z".parse().unwrap();
        let text = calendar(&[event("2026-10-26T08:00:00Z")], None, "x", now);
        assert!(text.contains("Obchod\\; test"));
        assert!(text.contains("Řádek 1\\nŘádek 2 s čárkou\\, a středníkem\\; a \\\\"));
        for line in text.split("\r\n") {
            assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
        }
        let unfolded = text.replace("\r\n ", "");
        assert!(unfolded.contains("SUMMARY:Připravit scénář engagementu\\, Obchod\\; test\r\n"));
    }

    #[test]
    fn an_invitation_names_its_method_organizer_and_attendee_and_a_cancel_says_so() {
        let now = "2026-10-20T10:00:00Z".parse().unwrap();
        let invitation = Invitation {
            method: Method::Cancel,
            organizer: "bridge@example.cz",
            attendee: "jana@example.cz",
        };
        let mut cancelled = event("2026-10-26T08:00:00Z");
        cancelled.sequence = 1;
        cancelled.cancelled = true;
        let text = calendar(&[cancelled], Some(&invitation), "x", now);
        for line in [
            "METHOD:CANCEL",
            "SEQUENCE:1",
            "STATUS:CANCELLED",
            "ORGANIZER:mailto:bridge@example.cz",
        ] {
            assert!(text.contains(&format!("{line}\r\n")), "{line} missing");
        }
        let unfolded = text.replace("\r\n ", "");
        assert!(unfolded.contains("RSVP=FALSE:mailto:jana@example.cz\r\n"));
        assert!(!text.contains("VALARM"));
    }
}
