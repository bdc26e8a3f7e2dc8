//! Stored price history (seed 2.3.4, 3.1.6), as the market sees it: ticks
//! for the retention window rolled up into daily and monthly bars, and the
//! ranges of the history instructions (PROTOCOL.md section 4). The SQL is
//! in `crate::db::{ticks, daily_bars, monthly_bars}`; this is what a tick,
//! a back-fill or a history instruction means in those tables.
//!
//! Plain functions on a `rusqlite::Connection`: the "asset" thread writes
//! through its own connection, the data and trade threads read through
//! theirs, and each caller owns its transactions.

use std::collections::{BTreeSet, HashMap};

use papertrader_common::payload;
use papertrader_common::value::{Date, Money, Symbol, Timestamp};
use rusqlite::Connection;

use super::{Asset, Bar, Tick};
use crate::db::bar_row::BarTable;
use crate::db::{daily_bars, monthly_bars, ticks};

/// Stores ticks and rolls them up into the daily and monthly bars of their
/// UTC day and month: open = first, high = max, low = min, close = last,
/// volume = sum. A tick already stored (same symbol and time) is ignored
/// entirely. Ticks must arrive in time order per symbol. Returns how many
/// were newly stored.
pub fn store_ticks(conn: &Connection, ticks: &[Tick]) -> rusqlite::Result<usize> {
    let mut months = BTreeSet::new();
    let mut stored = 0;
    for tick in ticks {
        let bar = &tick.bar;
        if !ticks::insert(conn, &tick.symbol, bar)? {
            continue;
        }
        let day = Date::of_timestamp(bar.time);
        daily_bars::merge_tick(conn, &tick.symbol, day.start(), bar)?;
        months.insert((tick.symbol.clone(), first_of_month(day)));
        stored += 1;
    }
    roll_up_months(conn, &months)?;
    Ok(stored)
}

/// Back-fill: daily bars (oldest first) for one symbol, merged into
/// daily_bars (each bar's time taken as its UTC day) and rolled up into
/// monthly_bars. A day already present is left as it is and not counted
/// twice. Returns how many days were newly stored.
pub fn store_daily(conn: &Connection, symbol: &Symbol, bars: &[Bar]) -> rusqlite::Result<usize> {
    let mut months = BTreeSet::new();
    let mut stored = 0;
    for bar in bars {
        let day = Date::of_timestamp(bar.time);
        if !daily_bars::insert(conn, symbol, day.start(), bar)? {
            continue;
        }
        months.insert((symbol.clone(), first_of_month(day)));
        stored += 1;
    }
    roll_up_months(conn, &months)?;
    Ok(stored)
}

/// Deletes ticks older than `before`; daily and monthly bars stay
/// forever. Returns how many went.
pub fn purge_ticks(conn: &Connection, before: Timestamp) -> rusqlite::Result<usize> {
    ticks::purge_before(conn, before)
}

/// Whether the symbol has any history (a daily bar).
pub fn has_history(conn: &Connection, symbol: &Symbol) -> rusqlite::Result<bool> {
    daily_bars::exists(conn, symbol)
}

/// The latest tick of the symbol, if any: its current price.
pub fn last_tick(conn: &Connection, symbol: &Symbol) -> rusqlite::Result<Option<Bar>> {
    ticks::last(conn, symbol)
}

/// The daily bar of `day`, if any.
pub fn daily_bar(conn: &Connection, symbol: &Symbol, day: Date) -> rusqlite::Result<Option<Bar>> {
    let start = day.start();
    Ok(BarTable::Daily.range(conn, symbol, start, start)?.pop())
}

/// getAssetValueDay: the ticks inside that UTC day, oldest first (none once
/// the day has left the retention window).
pub fn day(conn: &Connection, symbol: &Symbol, date: Date) -> rusqlite::Result<Vec<Bar>> {
    let last_second = match date.0.next_day() {
        Some(next) => Timestamp(Date(next).start().0 - 1),
        None => Timestamp(i64::MAX),
    };
    BarTable::Ticks.range(conn, symbol, date.start(), last_second)
}

/// getAssetValueWeek: the daily bars of the 7 UTC days ending with `date`.
pub fn week(conn: &Connection, symbol: &Symbol, date: Date) -> rusqlite::Result<Vec<Bar>> {
    let first = date
        .0
        .checked_sub(time::Duration::days(6))
        .unwrap_or(time::Date::MIN);
    BarTable::Daily.range(conn, symbol, Date(first).start(), date.start())
}

/// getAssetValueMonth: the daily bars from [`month_start`] up to and
/// including `date`.
pub fn month(conn: &Connection, symbol: &Symbol, date: Date) -> rusqlite::Result<Vec<Bar>> {
    BarTable::Daily.range(conn, symbol, month_start(date).start(), date.start())
}

/// getAssetValueYear: the monthly bars of the 12 months ending with
/// `date`'s month.
pub fn year(conn: &Connection, symbol: &Symbol, date: Date) -> rusqlite::Result<Vec<Bar>> {
    let last = Date(first_of_month(date));
    BarTable::Monthly.range(conn, symbol, year_first_month(date).start(), last.start())
}

/// getAssetValueAllTime: every monthly bar of the symbol.
pub fn all_time(conn: &Connection, symbol: &Symbol) -> rusqlite::Result<Vec<Bar>> {
    BarTable::Monthly.range(conn, symbol, Timestamp(i64::MIN), Timestamp(i64::MAX))
}

/// The first day of the `month` range: the day after the same day one
/// calendar month earlier, that day clamped to the earlier month's length
/// (2026-03-31 -> 2026-02-28 -> 2026-03-01).
pub fn month_start(date: Date) -> Date {
    let d = date.0;
    let (year, month) = match d.month() {
        time::Month::January => (d.year() - 1, time::Month::December),
        month => (d.year(), month.previous()),
    };
    let day = d.day().min(month.length(year));
    match time::Date::from_calendar_date(year, month, day) {
        Ok(earlier) => Date(earlier.next_day().unwrap_or(d)),
        // Only before the first representable month.
        Err(_) => Date(time::Date::MIN),
    }
}

/// The first month of the `year` range: the 1st of the month 11 months
/// before `date`'s month.
pub fn year_first_month(date: Date) -> Date {
    let d = date.0;
    let (year, month) = match d.month() {
        time::Month::December => (d.year(), time::Month::January),
        month => (d.year() - 1, month.next()),
    };
    Date(time::Date::from_calendar_date(year, month, 1).unwrap_or(time::Date::MIN))
}

/// The data payload of a history instruction: one bar line per bar.
pub fn lines(bars: &[Bar]) -> String {
    payload::write_lines(bars)
}

/// The 1st of `date`'s month.
fn first_of_month(date: Date) -> time::Date {
    date.0.replace_day(1).expect("every month has a 1st")
}

/// Recomputes each (symbol, month) bar from that month's daily bars, so a
/// month is right whatever order its days and ticks arrived in.
fn roll_up_months(
    conn: &Connection,
    months: &BTreeSet<(Symbol, time::Date)>,
) -> rusqlite::Result<()> {
    for (symbol, first) in months {
        let last = first
            .replace_day(first.month().length(first.year()))
            .expect("a month's length is one of its days");
        let month = Date(*first).start();
        let days = BarTable::Daily.range(conn, symbol, month, Date(last).start())?;
        if let Some(bar) = merge(month, &days)? {
            monthly_bars::put(conn, symbol, month, &bar)?;
        }
    }
    Ok(())
}

/// One bar spanning `bars` (oldest first), starting at `time`.
fn merge(time: Timestamp, bars: &[Bar]) -> rusqlite::Result<Option<Bar>> {
    let (Some(first), Some(last)) = (bars.first(), bars.last()) else {
        return Ok(None);
    };
    let mut merged = Bar {
        time,
        close: last.close,
        ..*first
    };
    for bar in &bars[1..] {
        merged.high = merged.high.max(bar.high);
        merged.low = merged.low.min(bar.low);
        merged.volume = merged.volume.checked_add(bar.volume).ok_or_else(|| {
            rusqlite::Error::ToSqlConversionFailure("monthly volume overflows u64".into())
        })?;
    }
    Ok(Some(merged))
}

/// Where the prices stood when the master stopped: the close and time of
/// each listed asset's latest tick.
pub fn last_prices(
    conn: &Connection,
    assets: &[Asset],
) -> rusqlite::Result<HashMap<Symbol, (Money, Timestamp)>> {
    let mut last = HashMap::new();
    for asset in assets {
        if let Some(tick) = last_tick(conn, &asset.symbol)? {
            last.insert(asset.symbol.clone(), (tick.close, tick.time));
        }
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use papertrader_common::value::Money;

    use super::*;
    use crate::db::{self, TempDir};

    type Range = fn(&Connection, &Symbol, Date) -> rusqlite::Result<Vec<Bar>>;

    fn open(tag: &str) -> (TempDir, Connection) {
        let dir = TempDir::new(tag);
        let conn = db::open(&dir.join("pt.db")).expect("open");
        (dir, conn)
    }

    fn sym(text: &str) -> Symbol {
        Symbol::parse(text).expect("symbol")
    }

    fn date(text: &str) -> Date {
        Date::parse(text).expect("date")
    }

    /// `YYYY-MM-DD` at `hh:mm` UTC.
    fn at(day: &str, hh: i64, mm: i64) -> Timestamp {
        Timestamp(date(day).start().0 + hh * 3600 + mm * 60)
    }

    /// A bar from `"OPEN HIGH LOW CLOSE VOLUME"`.
    fn bar(time: Timestamp, ohlcv: &str) -> Bar {
        let f: Vec<&str> = ohlcv.split(' ').collect();
        let px = |i: usize| Money::parse(f[i]).expect("price");
        let volume = f[4].parse().expect("volume");
        Bar {
            time,
            open: px(0),
            high: px(1),
            low: px(2),
            close: px(3),
            volume,
        }
    }

    fn tick(symbol: &str, time: Timestamp, ohlcv: &str) -> Tick {
        Tick {
            symbol: sym(symbol),
            bar: bar(time, ohlcv),
        }
    }

    fn daily(conn: &Connection, symbol: &str, day: &str) -> Option<Bar> {
        daily_bar(conn, &sym(symbol), date(day)).expect("daily_bar")
    }

    fn monthly(conn: &Connection, symbol: &str, month: &str) -> Option<Bar> {
        let start = date(month).start();
        let bars = BarTable::Monthly.range(conn, &sym(symbol), start, start);
        bars.expect("monthly").pop()
    }

    /// One daily bar per day from `first` to `last`, all prices the day of
    /// the month, volume 10.
    fn back_fill(conn: &Connection, symbol: &str, first: &str, last: &str) -> usize {
        let mut bars = Vec::new();
        let mut day = date(first).0;
        while day <= date(last).0 {
            let price = Money::from_units(i64::from(day.day())).expect("price");
            let time = Date(day).start();
            let volume = 10;
            bars.push(Bar {
                time,
                open: price,
                high: price,
                low: price,
                close: price,
                volume,
            });
            day = day.next_day().expect("next day");
        }
        let tx = conn.unchecked_transaction().expect("begin");
        let n = store_daily(&tx, &sym(symbol), &bars).expect("store_daily");
        tx.commit().expect("commit");
        n
    }

    #[test]
    fn ticks_roll_up_into_day_and_month() {
        let (_dir, conn) = open("store-rollup");
        let d = "2026-03-10";
        let ticks = [
            tick("AAPL", at(d, 14, 30), "100.0 101.0 99.5 100.5 1000"),
            tick("AAPL", at(d, 14, 35), "100.5 103.25 100.0 102.0 2500"),
            tick("AAPL", at(d, 14, 40), "102.0 102.5 98.75 99.0 700"),
            tick("AAPL", at(d, 14, 45), "99.0 100.0 98.9 99.9999 300"),
        ];
        assert_eq!(store_ticks(&conn, &ticks).expect("store"), 4);
        let want = bar(date(d).start(), "100.0 103.25 98.75 99.9999 4500");
        assert_eq!(daily(&conn, "AAPL", d), Some(want));
        let month = Bar {
            time: date("2026-03-01").start(),
            ..want
        };
        assert_eq!(monthly(&conn, "AAPL", "2026-03-01"), Some(month));
        let aapl = sym("AAPL");
        assert_eq!(last_tick(&conn, &aapl).expect("last"), Some(ticks[3].bar));
        let bars: Vec<Bar> = ticks.iter().map(|t| t.bar).collect();
        assert_eq!(day(&conn, &aapl, date(d)).expect("day"), bars);
        assert!(has_history(&conn, &aapl).expect("has"));
        assert!(!has_history(&conn, &sym("MSFT")).expect("has"));
        assert_eq!(last_tick(&conn, &sym("MSFT")).expect("last"), None);
        assert_eq!(daily(&conn, "AAPL", "2026-03-11"), None);
    }

    #[test]
    fn ticks_across_days_and_a_month_end() {
        let (_dir, conn) = open("store-boundary");
        let ticks = [
            tick("KO", at("2026-01-31", 23, 50), "60.0 61.0 59.0 60.5 10"),
            tick(
                "MSFT",
                at("2026-01-31", 23, 55),
                "400.0 401.0 399.0 400.5 7",
            ),
            tick("KO", at("2026-01-31", 23, 55), "60.5 62.0 60.0 61.5 20"),
            tick("KO", at("2026-02-01", 0, 0), "61.5 61.75 58.0 59.0 30"),
            tick("KO", at("2026-02-01", 9, 0), "59.0 63.0 58.5 62.5 40"),
        ];
        assert_eq!(store_ticks(&conn, &ticks).expect("store"), 5);
        let jan31 = bar(date("2026-01-31").start(), "60.0 62.0 59.0 61.5 30");
        let feb1 = bar(date("2026-02-01").start(), "61.5 63.0 58.0 62.5 70");
        assert_eq!(daily(&conn, "KO", "2026-01-31"), Some(jan31));
        assert_eq!(daily(&conn, "KO", "2026-02-01"), Some(feb1));
        let jan = Bar {
            time: date("2026-01-01").start(),
            ..jan31
        };
        let ko = sym("KO");
        assert_eq!(all_time(&conn, &ko).expect("all"), vec![jan, feb1]);
        let msft = all_time(&conn, &sym("MSFT")).expect("all");
        assert_eq!(msft.iter().map(|b| b.volume).collect::<Vec<_>>(), [7]);
        assert_eq!(
            day(&conn, &ko, date("2026-02-01")).expect("day"),
            [ticks[3].bar, ticks[4].bar]
        );
        assert_eq!(
            day(&conn, &ko, date("2026-01-31")).expect("day"),
            [ticks[0].bar, ticks[2].bar]
        );
    }

    #[test]
    fn a_duplicate_tick_is_not_counted_twice() {
        let (_dir, conn) = open("store-dup");
        let first = tick("SPY", at("2026-05-04", 13, 0), "500.0 502.0 499.0 501.0 5");
        let second = tick("SPY", at("2026-05-04", 13, 5), "501.0 503.0 500.0 502.0 6");
        assert_eq!(
            store_ticks(&conn, &[first.clone(), first.clone()]).expect("s"),
            1
        );
        assert_eq!(
            store_ticks(&conn, &[first.clone(), second.clone()]).expect("s"),
            1
        );
        assert_eq!(store_ticks(&conn, &[first, second]).expect("s"), 0);
        let want = bar(date("2026-05-04").start(), "500.0 503.0 499.0 502.0 11");
        assert_eq!(daily(&conn, "SPY", "2026-05-04"), Some(want));
        assert_eq!(
            monthly(&conn, "SPY", "2026-05-01").map(|b| b.volume),
            Some(11)
        );
    }

    #[test]
    fn back_fill_merges_into_months_once() {
        let (_dir, conn) = open("store-daily");
        let v = sym("V");
        let days = [
            bar(date("2026-01-30").start(), "10.0 12.0 9.0 11.0 100"),
            bar(date("2026-01-31").start(), "11.0 15.0 10.5 14.0 200"),
            bar(date("2026-02-01").start(), "14.0 14.5 8.0 9.0 300"),
        ];
        assert_eq!(store_daily(&conn, &v, &days[..2]).expect("s"), 2);
        // Only 02-01 is new; 01-31 with other values is left as it was.
        let changed = bar(days[1].time, "1.0 99.0 1.0 1.0 9999");
        assert_eq!(store_daily(&conn, &v, &[changed, days[2]]).expect("s"), 1);
        assert_eq!(daily(&conn, "V", "2026-01-31"), Some(days[1]));
        let jan = bar(date("2026-01-01").start(), "10.0 15.0 9.0 14.0 300");
        assert_eq!(all_time(&conn, &v).expect("all"), vec![jan, days[2]]);
        // Ticks of a later day join the back-filled month.
        let t = tick("V", at("2026-02-02", 15, 0), "9.0 16.0 8.5 15.5 50");
        assert_eq!(store_ticks(&conn, &[t]).expect("s"), 1);
        let feb = bar(date("2026-02-01").start(), "14.0 16.0 8.0 15.5 350");
        assert_eq!(monthly(&conn, "V", "2026-02-01"), Some(feb));
        // A late back-filled day earlier in the month becomes its open; a
        // bar time inside the day is taken as that day.
        let early = bar(at("2026-01-02", 16, 0), "5.0 5.5 4.5 5.25 1");
        assert_eq!(store_daily(&conn, &v, &[early]).expect("s"), 1);
        let jan = bar(date("2026-01-01").start(), "5.0 15.0 4.5 14.0 301");
        assert_eq!(monthly(&conn, "V", "2026-01-01"), Some(jan));
        let jan2 = Bar {
            time: date("2026-01-02").start(),
            ..early
        };
        assert_eq!(daily(&conn, "V", "2026-01-02"), Some(jan2));
    }

    #[test]
    fn calendar_helpers() {
        let cases = [
            ("2026-03-31", "2026-03-01", "2025-04-01"),
            ("2024-03-29", "2024-03-01", "2023-04-01"),
            ("2026-01-15", "2025-12-16", "2025-02-01"),
            ("2024-02-29", "2024-01-30", "2023-03-01"),
            ("2026-01-31", "2026-01-01", "2025-02-01"),
            ("2026-04-30", "2026-03-31", "2025-05-01"),
            ("2026-12-31", "2026-12-01", "2026-01-01"),
            ("2025-03-01", "2025-02-02", "2024-04-01"),
            ("2024-03-30", "2024-03-01", "2023-04-01"),
            ("2100-03-29", "2100-03-01", "2099-04-01"),
        ];
        for (day, month_first, year_first) in cases {
            assert_eq!(month_start(date(day)), date(month_first), "month of {day}");
            assert_eq!(
                year_first_month(date(day)),
                date(year_first),
                "year of {day}"
            );
        }
    }

    #[test]
    fn ranges_at_month_and_year_ends() {
        let (_dir, conn) = open("store-ranges");
        assert_eq!(back_fill(&conn, "QQQ", "2023-01-01", "2026-05-31"), 1247);
        assert_eq!(back_fill(&conn, "QQQ", "2023-01-01", "2026-05-31"), 0);
        let cases: [(Range, &str, &str, &str, usize); 12] = [
            (week, "2026-01-03", "2025-12-28", "2026-01-03", 7),
            (week, "2024-03-02", "2024-02-25", "2024-03-02", 7),
            (month, "2026-01-31", "2026-01-01", "2026-01-31", 31),
            (month, "2026-03-31", "2026-03-01", "2026-03-31", 31),
            (month, "2026-04-30", "2026-03-31", "2026-04-30", 31),
            (month, "2024-02-29", "2024-01-30", "2024-02-29", 31),
            (month, "2024-03-29", "2024-03-01", "2024-03-29", 29),
            (month, "2026-01-15", "2025-12-16", "2026-01-15", 31),
            (year, "2024-02-29", "2023-03-01", "2024-02-01", 12),
            (year, "2026-01-31", "2025-02-01", "2026-01-01", 12),
            (year, "2025-12-31", "2025-01-01", "2025-12-01", 12),
            // Reaching before or after the stored history: what exists.
            (year, "2023-05-15", "2023-01-01", "2023-05-01", 5),
        ];
        let qqq = sym("QQQ");
        for (range, day, first, last, n) in cases {
            let bars = range(&conn, &qqq, date(day)).expect("range");
            let got = (bars[0].time, bars[bars.len() - 1].time, bars.len());
            assert_eq!(got, (date(first).start(), date(last).start(), n), "{day}");
            assert!(
                bars.windows(2).all(|w| w[0].time < w[1].time),
                "{day}: oldest first"
            );
        }
        assert_eq!(week(&conn, &qqq, date("2026-06-03")).expect("w").len(), 4);
        let all = all_time(&conn, &qqq).expect("all");
        assert_eq!((all.len(), all[0].time), (41, date("2023-01-01").start()));
        // Open = the 1st's price, close = the last day's, volume = days * 10.
        let want = bar(date("2024-02-01").start(), "1 29 1 29 290");
        assert_eq!(monthly(&conn, "QQQ", "2024-02-01"), Some(want));
        assert_eq!(
            week(&conn, &sym("MSFT"), date("2026-01-03")).expect("w"),
            []
        );
        assert_eq!(all_time(&conn, &sym("MSFT")).expect("all"), []);
    }

    #[test]
    fn purge_keeps_the_bars() {
        let (_dir, conn) = open("store-purge");
        let ticks = [
            tick("AAPL", at("2026-03-01", 12, 0), "10.0 11.0 9.0 10.5 1"),
            tick("AAPL", at("2026-03-02", 12, 0), "10.5 12.0 10.0 11.0 2"),
            tick("KO", at("2026-03-01", 12, 0), "60.0 61.0 59.0 60.5 3"),
            tick("KO", at("2026-03-02", 12, 0), "60.5 62.0 60.0 61.0 4"),
        ];
        store_ticks(&conn, &ticks).expect("store");
        assert_eq!(
            purge_ticks(&conn, date("2026-03-02").start()).expect("purge"),
            2
        );
        assert_eq!(
            purge_ticks(&conn, date("2026-03-02").start()).expect("purge"),
            0
        );
        let aapl = sym("AAPL");
        assert_eq!(day(&conn, &aapl, date("2026-03-01")).expect("day"), []);
        assert_eq!(
            day(&conn, &aapl, date("2026-03-02")).expect("day"),
            [ticks[1].bar]
        );
        assert_eq!(
            day(&conn, &sym("KO"), date("2026-03-02")).expect("day"),
            [ticks[3].bar]
        );
        assert!(daily(&conn, "AAPL", "2026-03-01").is_some());
        assert_eq!(week(&conn, &aapl, date("2026-03-02")).expect("w").len(), 2);
        assert_eq!(
            monthly(&conn, "AAPL", "2026-03-01").map(|b| b.volume),
            Some(3)
        );
        assert_eq!(last_tick(&conn, &aapl).expect("last"), Some(ticks[1].bar));
        assert_eq!(purge_ticks(&conn, Timestamp(i64::MAX)).expect("purge"), 2);
        assert_eq!(last_tick(&conn, &aapl).expect("last"), None);
        assert!(has_history(&conn, &aapl).expect("has"));
    }

    #[test]
    fn lines_are_protocol_bar_lines() {
        let b = bar(Timestamp(1732147200), "189.5 191.25 188 190.75 53200000");
        assert_eq!(
            lines(&[b]),
            "1732147200 189.5000 191.2500 188.0000 190.7500 53200000\n"
        );
        assert_eq!(lines(&[b, b]).lines().count(), 2);
        assert_eq!(lines(&[]), "");
    }

    #[test]
    fn checks_refuse_bad_bars() {
        let (_dir, conn) = open("store-check");
        let inverted = tick("AAPL", at("2026-03-01", 12, 0), "10.0 9.0 11.0 10.0 1");
        let zero = tick("AAPL", at("2026-03-01", 12, 5), "0 9.0 1.0 1.0 1");
        let daily = bar(date("2026-03-01").start(), "-1 9.0 1.0 1.0 1");
        let errs = [
            store_ticks(&conn, &[inverted]).expect_err("CHECK refuses"),
            store_ticks(&conn, &[zero]).expect_err("CHECK refuses"),
            store_daily(&conn, &sym("AAPL"), &[daily]).expect_err("CHECK refuses"),
        ];
        for err in errs {
            let code = err.sqlite_error_code();
            assert_eq!(
                code,
                Some(rusqlite::ErrorCode::ConstraintViolation),
                "{err}"
            );
        }
        assert!(!has_history(&conn, &sym("AAPL")).expect("has"));
    }
}
