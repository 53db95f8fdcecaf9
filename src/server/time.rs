//! Time zones: everything is stored in UTC and shown in Europe/Prague.

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Prague;

pub fn to_prague(utc: DateTime<Utc>) -> DateTime<chrono_tz::Tz> {
    utc.with_timezone(&Prague)
}
