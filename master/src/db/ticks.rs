//! SQL of the `ticks` table: each update's bar per symbol, kept for the
//! retention window. Written by the "asset" thread (`market::store` rolls
//! each tick into its day and month), read by the data and trade threads.
//! Every query is a range scan on the (symbol, time) primary key.

use papertrader_common::payload::Bar;
use papertrader_common::value::{Symbol, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

use super::bar_row;

// `ON CONFLICT DO NOTHING` skips only a key already present; `OR IGNORE`
// would also swallow CHECK failures and lose bad data silently.
const INSERT: &str = "INSERT INTO ticks (symbol, time, open, high, low, close, volume)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (symbol, time) DO NOTHING";

const LAST: &str = "SELECT time, open, high, low, close, volume FROM ticks
     WHERE symbol = ?1 ORDER BY time DESC LIMIT 1";

/// The next symbol holding ticks after `?1`: a skip scan over the key.
const NEXT_SYMBOL: &str = "SELECT symbol FROM ticks WHERE symbol > ?1 ORDER BY symbol LIMIT 1";

const PURGE_SYMBOL: &str = "DELETE FROM ticks WHERE symbol = ?1 AND time < ?2";

/// Stores `bar` as the tick of `symbol` at `bar.time`; false when that
/// tick is already stored (it is left as it was).
pub fn insert(conn: &Connection, symbol: &Symbol, bar: &Bar) -> rusqlite::Result<bool> {
    let mut insert = conn.prepare_cached(INSERT)?;
    Ok(insert.execute(bar_row::params(symbol, bar.time, bar))? > 0)
}

/// The latest tick of the symbol, if any.
pub fn last(conn: &Connection, symbol: &Symbol) -> rusqlite::Result<Option<Bar>> {
    conn.prepare_cached(LAST)?
        .query_row([symbol.as_str()], bar_row::read)
        .optional()
}

/// Deletes ticks older than `before`, one symbol's key range at a time.
/// Returns how many went.
pub fn purge_before(conn: &Connection, before: Timestamp) -> rusqlite::Result<usize> {
    let mut next = conn.prepare_cached(NEXT_SYMBOL)?;
    let mut delete = conn.prepare_cached(PURGE_SYMBOL)?;
    // "" sorts before every symbol.
    let mut after = String::new();
    let mut removed = 0;
    while let Some(symbol) = next
        .query_row([&after], |row| row.get::<_, String>(0))
        .optional()?
    {
        removed += delete.execute(params![symbol, before.0])?;
        after = symbol;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use papertrader_common::value::Money;

    use super::*;
    use crate::db::bar_row::BarTable;
    use crate::db::{self, TempDir};

    fn bar(time: i64, price: i64) -> Bar {
        let price = Money(price);
        Bar {
            time: Timestamp(time),
            open: price,
            high: price,
            low: price,
            close: price,
            volume: 1,
        }
    }

    fn sym(text: &str) -> Symbol {
        Symbol::parse(text).expect("symbol")
    }

    #[test]
    fn a_tick_is_stored_once_and_purged_by_age() {
        let dir = TempDir::new("ticks");
        let conn = db::open(&dir.join("pt.db")).expect("open");
        let (aapl, ko) = (sym("AAPL"), sym("KO"));
        assert!(insert(&conn, &aapl, &bar(100, 10)).expect("insert"));
        assert!(!insert(&conn, &aapl, &bar(100, 99)).expect("again"));
        assert!(insert(&conn, &aapl, &bar(200, 20)).expect("insert"));
        assert!(insert(&conn, &ko, &bar(150, 30)).expect("insert"));
        assert_eq!(last(&conn, &aapl).expect("last"), Some(bar(200, 20)));
        let all = BarTable::Ticks.range(&conn, &aapl, Timestamp(0), Timestamp(i64::MAX));
        assert_eq!(all.expect("range"), [bar(100, 10), bar(200, 20)]);
        assert_eq!(purge_before(&conn, Timestamp(200)).expect("purge"), 2);
        assert_eq!(last(&conn, &ko).expect("last"), None);
        assert_eq!(last(&conn, &aapl).expect("last"), Some(bar(200, 20)));
    }

    #[test]
    fn a_bad_tick_is_refused_not_skipped() {
        let dir = TempDir::new("ticks-check");
        let conn = db::open(&dir.join("pt.db")).expect("open");
        let err = insert(&conn, &sym("AAPL"), &bar(100, 0)).expect_err("CHECK refuses");
        let code = err.sqlite_error_code();
        assert_eq!(code, Some(rusqlite::ErrorCode::ConstraintViolation));
    }

    #[test]
    fn queries_use_the_primary_key() {
        let dir = TempDir::new("ticks-plan");
        let conn = db::open(&dir.join("pt.db")).expect("open");
        for sql in [BarTable::Ticks.range_sql(), LAST, NEXT_SYMBOL, PURGE_SYMBOL] {
            db::assert_key_scan(&conn, sql);
        }
    }
}
