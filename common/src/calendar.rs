//! Market hours (PROTOCOL.md section 9): when an asset's market is open.
//! US equities follow the NYSE/Nasdaq regular session, 09:30 to 16:00 in
//! America/New_York (13:00 on the exchange's early-close days), Monday to
//! Friday except the exchange's holidays, which are computed from NYSE's
//! published rules (Rule 7.2): New Year's Day, Martin Luther King Jr. Day,
//! Washington's Birthday, Good Friday, Memorial Day, Juneteenth,
//! Independence Day, Labor Day, Thanksgiving and Christmas; a holiday on
//! a Saturday is observed the Friday before, on a Sunday the Monday after,
//! except New Year's Day on a Saturday, which is not observed (the Friday
//! ends the year). Closings the exchange announces ad hoc (national days
//! of mourning) cannot be computed and are not known. Crypto and the
//! simulated market never close.
//!
//! The time zone comes from jiff's bundled copy of the tz database, so
//! daylight saving time follows the law, not hand-written offsets. Pure
//! functions of a time; used by the master's "trade" thread (arrival
//! checks, open orders, `day` expiry) and "asset" thread, and by
//! `papertrader` to say whether the stock market is open.

use crate::value::Timestamp;
use jiff::civil::{Date as CivilDate, Weekday, date};
use jiff::tz::TimeZone;

/// Which sessions an asset trades in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Market {
    /// Never closes: crypto, `sim`, and feeds that say nothing of hours.
    #[default]
    Always,
    /// NYSE and Nasdaq regular hours.
    Nyse,
}

impl Market {
    /// `always` or `nyse`.
    pub fn parse(text: &str) -> Option<Market> {
        [Market::Always, Market::Nyse]
            .into_iter()
            .find(|m| m.name() == text)
    }

    /// Its name in the asset list.
    pub fn name(self) -> &'static str {
        match self {
            Market::Always => "always",
            Market::Nyse => "nyse",
        }
    }
}

/// The exchange's time zone.
fn new_york() -> Option<TimeZone> {
    TimeZone::get("America/New_York").ok()
}

/// Easter Sunday (the anonymous Gregorian computus).
pub fn easter(year: i16) -> Option<CivilDate> {
    let y = i32::from(year);
    let (a, b, c) = (y % 19, y / 100, y % 100);
    let (d, e) = (b / 4, b % 4);
    let g = (8 * b + 13) / 25;
    let h = (19 * a + b - d - g + 15) % 30;
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 19 * l) / 433;
    let month = (h + l - 7 * m + 90) / 25;
    let day = (h + l - 7 * m + 33 * month + 19) % 32;
    CivilDate::new(year, month as i8, day as i8).ok()
}

/// A fixed-date holiday as observed: Saturday to Friday, Sunday to Monday.
fn observed(d: CivilDate) -> Option<CivilDate> {
    match d.weekday() {
        Weekday::Saturday => d.yesterday().ok(),
        Weekday::Sunday => d.tomorrow().ok(),
        _ => Some(d),
    }
}

/// The NYSE holidays (full closings) of `year`, in date order.
pub fn nyse_holidays(year: i16) -> Vec<CivilDate> {
    let nth = |month: i8, n: i8, wd: Weekday| date(year, month, 1).nth_weekday_of_month(n, wd).ok();
    let new_year = date(year, 1, 1);
    let days = [
        // New Year's Day on a Saturday is not observed on Dec 31.
        observed(new_year).filter(|_| new_year.weekday() != Weekday::Saturday),
        nth(1, 3, Weekday::Monday),
        nth(2, 3, Weekday::Monday),
        easter(year).and_then(|e| e.checked_sub(jiff::Span::new().days(2)).ok()),
        nth(5, -1, Weekday::Monday),
        observed(date(year, 6, 19)).filter(|_| year >= 2022),
        observed(date(year, 7, 4)),
        nth(9, 1, Weekday::Monday),
        nth(11, 4, Weekday::Thursday),
        observed(date(year, 12, 25)),
    ];
    let mut days: Vec<CivilDate> = days.into_iter().flatten().collect();
    days.sort();
    days
}

/// Whether `d` is an NYSE trading day.
pub fn is_trading_day(d: CivilDate) -> bool {
    !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
        && !nyse_holidays(d.year()).contains(&d)
}

/// 13:00 closings: the day before Independence Day (when that is a
/// trading day and July 4 a weekday), the day after Thanksgiving, and
/// Christmas Eve when it is a trading day.
pub fn is_early_close(d: CivilDate) -> bool {
    if !is_trading_day(d) {
        return false;
    }
    let y = d.year();
    let july4 = date(y, 7, 4);
    let before_july4 =
        d == date(y, 7, 3) && !matches!(july4.weekday(), Weekday::Saturday | Weekday::Sunday);
    let after_thanksgiving = date(y, 11, 1)
        .nth_weekday_of_month(4, Weekday::Thursday)
        .ok()
        .and_then(|t| t.tomorrow().ok())
        == Some(d);
    before_july4 || after_thanksgiving || d == date(y, 12, 24)
}

/// The regular session of trading day `d`: (open, close) as Unix times.
fn session(tz: &TimeZone, d: CivilDate) -> Option<(Timestamp, Timestamp)> {
    let at = |h: i8, m: i8| {
        d.at(h, m, 0, 0)
            .to_zoned(tz.clone())
            .ok()
            .map(|z| Timestamp(z.timestamp().as_second()))
    };
    let close = if is_early_close(d) { 13 } else { 16 };
    Some((at(9, 30)?, at(close, 0)?))
}

/// The session open at `now`, or else the next one: (open, close). None
/// for a market that never closes (or a time beyond the calendar).
pub fn current_or_next_session(market: Market, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
    if market == Market::Always {
        return None;
    }
    let tz = new_york()?;
    let mut d = jiff::Timestamp::from_second(now.0)
        .ok()?
        .to_zoned(tz.clone())
        .date();
    // At most ~4 days of weekend and holiday in a row; 10 is plenty.
    for _ in 0..10 {
        let hours = is_trading_day(d).then(|| session(&tz, d)).flatten();
        if let Some((open, close)) = hours.filter(|(_, close)| now < *close) {
            return Some((open, close));
        }
        d = d.tomorrow().ok()?;
    }
    None
}

/// Whether the day `year-month-day` is an NYSE trading day, and whether
/// it closes early (13:00); `None` for a day that does not exist.
pub fn trading_day(year: i32, month: u8, day: u8) -> Option<(bool, bool)> {
    let d = CivilDate::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()?;
    Some((is_trading_day(d), is_early_close(d)))
}

/// Whether `market` is open at `now`.
pub fn is_open(market: Market, now: Timestamp) -> bool {
    match current_or_next_session(market, now) {
        None => market == Market::Always,
        Some((open, close)) => open <= now && now < close,
    }
}

/// When `market` next opens after `now` (it is closed at `now`).
pub fn next_open(market: Market, now: Timestamp) -> Option<Timestamp> {
    current_or_next_session(market, now).map(|(open, _)| open)
}

/// "Mon 2026-03-09 09:30 America/New_York (2026-03-09T13:30:00Z)".
pub fn describe(t: Timestamp) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(t.0) else {
        return t.to_string();
    };
    match new_york() {
        Some(tz) => format!(
            "{} America/New_York ({ts})",
            ts.to_zoned(tz).strftime("%a %Y-%m-%d %H:%M")
        ),
        None => ts.to_string(),
    }
}

/// The market clock: real time shifted by `offset` seconds. The offset
/// is 0 unless the `market_clock` key sets where the clock starts (to
/// test or demonstrate a closed market); it moves only market hours,
/// never trades, sessions or history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    /// Seconds added to real time.
    pub offset: i64,
}

impl Clock {
    /// Market time now.
    pub fn now(&self) -> Timestamp {
        self.at(Timestamp::now())
    }

    /// Market time at real time `real`.
    pub fn at(&self, real: Timestamp) -> Timestamp {
        Timestamp(real.0.saturating_add(self.offset))
    }

    /// Real time at market time `market`.
    pub fn real(&self, market: Timestamp) -> Timestamp {
        Timestamp(market.0.saturating_sub(self.offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i16, m: i8, day: i8) -> CivilDate {
        date(y, m, day)
    }

    #[test]
    fn easter_dates() {
        assert_eq!(easter(2024), Some(d(2024, 3, 31)));
        assert_eq!(easter(2025), Some(d(2025, 4, 20)));
        assert_eq!(easter(2026), Some(d(2026, 4, 5)));
        assert_eq!(easter(2027), Some(d(2027, 3, 28)));
        assert_eq!(easter(2038), Some(d(2038, 4, 25)));
    }

    #[test]
    fn nyse_holidays_2025_to_2027_as_published() {
        assert_eq!(
            nyse_holidays(2025),
            [
                d(2025, 1, 1),
                d(2025, 1, 20),
                d(2025, 2, 17),
                d(2025, 4, 18),
                d(2025, 5, 26),
                d(2025, 6, 19),
                d(2025, 7, 4),
                d(2025, 9, 1),
                d(2025, 11, 27),
                d(2025, 12, 25),
            ]
        );
        assert_eq!(
            nyse_holidays(2026),
            [
                d(2026, 1, 1),
                d(2026, 1, 19),
                d(2026, 2, 16),
                d(2026, 4, 3),
                d(2026, 5, 25),
                d(2026, 6, 19),
                d(2026, 7, 3),
                d(2026, 9, 7),
                d(2026, 11, 26),
                d(2026, 12, 25),
            ]
        );
        assert_eq!(
            nyse_holidays(2027),
            [
                d(2027, 1, 1),
                d(2027, 1, 18),
                d(2027, 2, 15),
                d(2027, 3, 26),
                d(2027, 5, 31),
                d(2027, 6, 18),
                d(2027, 7, 5),
                d(2027, 9, 6),
                d(2027, 11, 25),
                d(2027, 12, 24),
            ]
        );
        // 2028 starts on a Saturday: no New Year holiday at all, and
        // Friday 2027-12-31 trades.
        assert!(!nyse_holidays(2028).contains(&d(2027, 12, 31)));
        assert!(is_trading_day(d(2027, 12, 31)));
        assert_eq!(nyse_holidays(2028)[0], d(2028, 1, 17));
    }

    #[test]
    fn early_closes() {
        assert!(is_early_close(d(2025, 7, 3)));
        assert!(is_early_close(d(2025, 11, 28)));
        assert!(is_early_close(d(2025, 12, 24)));
        assert!(!is_early_close(d(2026, 7, 2)), "July 4 2026 is a Saturday");
        assert!(is_early_close(d(2026, 11, 27)));
        assert!(is_early_close(d(2026, 12, 24)));
        assert!(
            !is_early_close(d(2027, 12, 24)),
            "a holiday, not an early close"
        );
        assert!(!is_early_close(d(2025, 12, 23)));
    }

    fn t(text: &str) -> Timestamp {
        let ts: jiff::Timestamp = text.parse().expect("time");
        Timestamp(ts.as_second())
    }

    #[test]
    fn sessions_follow_daylight_saving_time() {
        // 2026-03-06 is a Friday in EST (UTC-5); DST starts Sunday 03-08.
        assert!(is_open(Market::Nyse, t("2026-03-06T14:30:00Z")));
        assert!(!is_open(Market::Nyse, t("2026-03-06T14:29:59Z")));
        assert!(!is_open(Market::Nyse, t("2026-03-06T21:00:00Z")));
        assert!(is_open(Market::Nyse, t("2026-03-06T20:59:59Z")));
        // Saturday: the next open is Monday 09:30 EDT, 13:30 UTC.
        let saturday = t("2026-03-07T15:00:00Z");
        assert!(!is_open(Market::Nyse, saturday));
        assert_eq!(
            next_open(Market::Nyse, saturday),
            Some(t("2026-03-09T13:30:00Z"))
        );
        assert_eq!(
            describe(t("2026-03-09T13:30:00Z")),
            "Mon 2026-03-09 09:30 America/New_York (2026-03-09T13:30:00Z)"
        );
        // DST ends 2026-11-01: Monday 11-02 opens 14:30 UTC again.
        assert_eq!(
            next_open(Market::Nyse, t("2026-10-31T12:00:00Z")),
            Some(t("2026-11-02T14:30:00Z"))
        );
        // Good Friday 2026-04-03: Thursday's close to Monday's open.
        assert_eq!(
            next_open(Market::Nyse, t("2026-04-02T20:00:01Z")),
            Some(t("2026-04-06T13:30:00Z"))
        );
        // The day after Thanksgiving closes at 13:00.
        assert_eq!(
            current_or_next_session(Market::Nyse, t("2026-11-27T15:00:00Z")),
            Some((t("2026-11-27T14:30:00Z"), t("2026-11-27T18:00:00Z")))
        );
        assert!(is_open(Market::Always, saturday));
        assert_eq!(next_open(Market::Always, saturday), None);
    }

    #[test]
    fn clock_offsets_only_market_time() {
        let clock = Clock { offset: -3600 };
        assert_eq!(clock.at(Timestamp(10_000)), Timestamp(6400));
        assert_eq!(clock.real(Timestamp(6400)), Timestamp(10_000));
    }
}
