//! Calendar dates (`YYYY-MM-DD`, UTC) and Unix timestamps.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use super::ValueError;

/// A UTC calendar day. Calendar arithmetic is the `time` crate's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub time::Date);

const EXPECTED: &str = "a calendar day as YYYY-MM-DD";

impl Date {
    /// Parses exactly `YYYY-MM-DD` naming a day that exists.
    pub fn parse(text: &str) -> Result<Date, ValueError> {
        let bad = || ValueError::new("date", text, EXPECTED);
        let b = text.as_bytes();
        let shape_ok = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape_ok {
            return Err(bad());
        }
        let year: i32 = text[0..4].parse().map_err(|_| bad())?;
        let month: u8 = text[5..7].parse().map_err(|_| bad())?;
        let day: u8 = text[8..10].parse().map_err(|_| bad())?;
        let month = time::Month::try_from(month).map_err(|_| bad())?;
        time::Date::from_calendar_date(year, month, day)
            .map(Date)
            .map_err(|_| bad())
    }

    /// The UTC day that contains `ts`.
    pub fn of_timestamp(ts: Timestamp) -> Date {
        let dt = time::OffsetDateTime::from_unix_timestamp(ts.0)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        Date(dt.date())
    }

    /// 00:00 UTC on this day.
    pub fn start(self) -> Timestamp {
        Timestamp(self.0.midnight().assume_utc().unix_timestamp())
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(f, "{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
    }
}

/// Unix seconds, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current time.
    pub fn now() -> Timestamp {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Timestamp(secs as i64)
    }

    /// ISO 8601 / RFC 3339 in UTC: `2026-11-20T10:00:00Z`.
    pub fn iso(self) -> String {
        let secs = self.0.rem_euclid(86_400);
        format!(
            "{}T{:02}:{:02}:{:02}Z",
            Date::of_timestamp(self),
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }

    /// Parses decimal Unix seconds (digits only).
    pub fn parse(text: &str) -> Result<Timestamp, ValueError> {
        super::decimal(text, 18)
            .map(Timestamp)
            .ok_or_else(|| ValueError::new("timestamp", text, "Unix seconds as a decimal"))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_days() {
        assert_eq!(
            Date::parse("2026-11-20").expect("ok").to_string(),
            "2026-11-20"
        );
        assert!(Date::parse("2028-02-29").is_ok(), "leap day");
    }

    #[test]
    fn refuses_days_that_do_not_exist() {
        let err = Date::parse("2026-02-30").expect_err("no 30 February");
        assert_eq!(
            err.to_string(),
            "date \"2026-02-30\": expected a calendar day as YYYY-MM-DD"
        );
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-1-01",
            "26-01-01",
            "2026/01/01",
            "",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn day_of_timestamp() {
        let d = Date::parse("2024-11-21").expect("ok");
        assert_eq!(d.start(), Timestamp(1_732_147_200));
        assert_eq!(Date::of_timestamp(Timestamp(1_732_147_200 + 86_399)), d);
    }

    #[test]
    fn timestamps() {
        assert_eq!(Timestamp::parse("1732147205"), Ok(Timestamp(1_732_147_205)));
        assert!(Timestamp::parse("-1").is_err());
        assert!(Timestamp::parse("12a").is_err());
    }
}
