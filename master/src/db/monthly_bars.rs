//! SQL of the `monthly_bars` table: one bar per symbol and UTC month,
//! recomputed from the month's daily bars by `market::store` on the
//! "asset" thread, kept forever, read by the data threads.

use papertrader_common::payload::Bar;
use papertrader_common::value::{Symbol, Timestamp};
use rusqlite::Connection;

use super::bar_row;

const PUT: &str = "INSERT INTO monthly_bars (symbol, month, open, high, low, close, volume)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
     ON CONFLICT (symbol, month) DO UPDATE SET
         open = excluded.open,
         high = excluded.high,
         low = excluded.low,
         close = excluded.close,
         volume = excluded.volume";

/// Stores `bar` as the month starting at `month`, replacing what was there.
pub fn put(
    conn: &Connection,
    symbol: &Symbol,
    month: Timestamp,
    bar: &Bar,
) -> rusqlite::Result<()> {
    let mut put = conn.prepare_cached(PUT)?;
    put.execute(bar_row::params(symbol, month, bar))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use papertrader_common::value::Money;

    use super::*;
    use crate::db::bar_row::BarTable;
    use crate::db::{self, TempDir};

    #[test]
    fn a_month_is_replaced_whole() {
        let dir = TempDir::new("monthly-bars");
        let conn = db::open(&dir.join("pt.db")).expect("open");
        let ko = Symbol::parse("KO").expect("symbol");
        let month = Timestamp(0);
        let bar = |price: i64, volume| Bar {
            time: month,
            open: Money(price),
            high: Money(price),
            low: Money(price),
            close: Money(price),
            volume,
        };
        put(&conn, &ko, month, &bar(5, 10)).expect("put");
        put(&conn, &ko, month, &bar(7, 3)).expect("put again");
        assert_eq!(
            BarTable::Monthly
                .range(&conn, &ko, month, month)
                .expect("range"),
            [bar(7, 3)]
        );
    }

    #[test]
    fn queries_use_the_primary_key() {
        let dir = TempDir::new("monthly-bars-plan");
        let conn = db::open(&dir.join("pt.db")).expect("open");
        db::assert_key_scan(&conn, BarTable::Monthly.range_sql());
    }
}
