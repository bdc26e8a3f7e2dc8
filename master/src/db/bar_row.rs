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

/// The bars of `symbol` that `sql` selects between `from` and `to`.
pub(super) fn range(
    conn: &rusqlite::Connection,
    sql: &str,
    symbol: &Symbol,
    from: Timestamp,
    to: Timestamp,
) -> rusqlite::Result<Vec<Bar>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(rusqlite::params![symbol.as_str(), from.0, to.0], read)?;
    rows.collect()
}
