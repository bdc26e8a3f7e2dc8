//! The row shape the `ticks`, `daily_bars` and `monthly_bars` tables share:
//! (symbol, start time, open, high, low, close, volume), keyed by the first
//! two. Used by those tables' modules only.

use papertrader_common::payload::Bar;
use papertrader_common::value::{Money, Symbol, Timestamp};
use rusqlite::Row;

/// The seven values of a bar row, keyed by `time`.
pub(super) fn params<'a>(
    symbol: &'a Symbol,
    time: Timestamp,
    bar: &Bar,
) -> (&'a str, i64, i64, i64, i64, i64, u64) {
    (
        symbol.as_str(),
        time.0,
        bar.open.0,
        bar.high.0,
        bar.low.0,
        bar.close.0,
        bar.volume,
    )
}

/// A bar from `SELECT time, open, high, low, close, volume`.
pub(super) fn read(row: &Row<'_>) -> rusqlite::Result<Bar> {
    Ok(Bar {
        time: Timestamp(row.get(0)?),
        open: Money(row.get(1)?),
        high: Money(row.get(2)?),
        low: Money(row.get(3)?),
        close: Money(row.get(4)?),
        volume: row.get(5)?,
    })
}

/// A table of bars, each keyed by (symbol, time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarTable {
    /// `ticks`: each price set's bar.
    Ticks,
    /// `daily_bars`: a bar a day, at 00:00 UTC.
    Daily,
    /// `monthly_bars`: a bar a month, at its first day.
    Monthly,
}

impl BarTable {
    /// The statement reading bars of ?1 timed ?2 to ?3, oldest first.
    pub(super) fn range_sql(self) -> &'static str {
        match self {
            BarTable::Ticks => {
                "SELECT time, open, high, low, close, volume FROM ticks
                 WHERE symbol = ?1 AND time BETWEEN ?2 AND ?3 ORDER BY time"
            }
            BarTable::Daily => {
                "SELECT day, open, high, low, close, volume FROM daily_bars
                 WHERE symbol = ?1 AND day BETWEEN ?2 AND ?3 ORDER BY day"
            }
            BarTable::Monthly => {
                "SELECT month, open, high, low, close, volume FROM monthly_bars
                 WHERE symbol = ?1 AND month BETWEEN ?2 AND ?3 ORDER BY month"
            }
        }
    }

    /// The bars of `symbol` with `from <= time <= to`, oldest first.
    pub fn range(
        self,
        conn: &rusqlite::Connection,
        symbol: &Symbol,
        from: Timestamp,
        to: Timestamp,
    ) -> rusqlite::Result<Vec<Bar>> {
        let mut stmt = conn.prepare_cached(self.range_sql())?;
        let rows = stmt.query_map(rusqlite::params![symbol.as_str(), from.0, to.0], read)?;
        rows.collect()
    }
}
