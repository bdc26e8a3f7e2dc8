//! SQL of the `daily_bars` table: one bar per symbol and UTC day, from the
//! day's ticks or a provider's back-fill, kept forever. Written by the
//! "asset" thread through `market::store`, read by the data threads.

use papertrader_common::payload::Bar;
use papertrader_common::value::{Symbol, Timestamp};
use rusqlite::Connection;

use super::bar_row;

/// Folds one tick into its day. Ticks come in time order, so the first one
/// of a day sets `open` and each later one sets `close`.
const MERGE_TICK: &str = "INSERT INTO daily_bars (symbol, day, open, high, low, close, volume)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
     ON CONFLICT (symbol, day) DO UPDATE SET
         high = max(high, excluded.high),
         low = min(low, excluded.low),
         close = excluded.close,
         volume = volume + excluded.volume";

const INSERT: &str = "INSERT INTO daily_bars (symbol, day, open, high, low, close, volume)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (symbol, day) DO NOTHING";

const EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM daily_bars WHERE symbol = ?1)";

/// Folds `tick` into the bar of the day starting at `day`: the first tick
/// of a day opens it; high, low, close and volume follow the later ones.
pub fn merge_tick(
    conn: &Connection,
    symbol: &Symbol,
    day: Timestamp,
    tick: &Bar,
) -> rusqlite::Result<()> {
    let mut merge = conn.prepare_cached(MERGE_TICK)?;
    merge.execute(bar_row::params(symbol, day, tick))?;
    Ok(())
}

/// Stores `bar` as the day starting at `day`; false when that day is
/// already stored (it is left as it was).
pub fn insert(
    conn: &Connection,
    symbol: &Symbol,
    day: Timestamp,
    bar: &Bar,
) -> rusqlite::Result<bool> {
    let mut insert = conn.prepare_cached(INSERT)?;
    Ok(insert.execute(bar_row::params(symbol, day, bar))? > 0)
}

/// Whether any daily bar exists for the symbol.
pub fn exists(conn: &Connection, symbol: &Symbol) -> rusqlite::Result<bool> {
    conn.prepare_cached(EXISTS)?
        .query_row([symbol.as_str()], |row| row.get(0))
}

#[cfg(test)]
mod tests {
    use papertrader_common::value::Money;

    use super::*;
    use crate::db::bar_row::BarTable;
    use crate::db::{self, TempDir};

    fn bar(time: i64, open: i64, close: i64, volume: u64) -> Bar {
        Bar {
            time: Timestamp(time),
            open: Money(open),
            high: Money(open.max(close)),
            low: Money(open.min(close)),
            close: Money(close),
            volume,
        }
    }

    #[test]
    fn ticks_merge_and_back_fills_do_not_overwrite() {
        let dir = TempDir::new("daily-bars");
        let conn = db::open(&dir.join("pt.db")).expect("open");
        let v = Symbol::parse("V").expect("symbol");
        assert!(!exists(&conn, &v).expect("exists"));
        let day = Timestamp(86_400);
        merge_tick(&conn, &v, day, &bar(86_500, 10, 12, 5)).expect("merge");
        merge_tick(&conn, &v, day, &bar(86_600, 12, 8, 7)).expect("merge");
        let merged = BarTable::Daily.range(&conn, &v, day, day).expect("range");
        assert_eq!(
            merged,
            [Bar {
                time: day,
                high: Money(12),
                ..bar(0, 10, 8, 12)
            }]
        );
        assert!(!insert(&conn, &v, day, &bar(0, 1, 1, 1)).expect("insert"));
        let next = Timestamp(2 * 86_400);
        assert!(insert(&conn, &v, next, &bar(0, 1, 1, 1)).expect("insert"));
        assert_eq!(
            BarTable::Daily
                .range(&conn, &v, day, next)
                .expect("range")
                .len(),
            2
        );
        assert!(exists(&conn, &v).expect("exists"));
    }

    #[test]
    fn queries_use_the_primary_key() {
        let dir = TempDir::new("daily-bars-plan");
        let conn = db::open(&dir.join("pt.db")).expect("open");
        for sql in [BarTable::Daily.range_sql(), EXISTS] {
            db::assert_key_scan(&conn, sql);
        }
    }
}
