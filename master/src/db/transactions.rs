//! SQL of the `transactions` table (the history) that is not a fill: the
//! batch writes fills in `trade::batch`.

use papertrader_common::value::{Money, Timestamp};
use rusqlite::{Connection, params};

/// The history line of a reset to `cash`.
pub fn insert_reset(
    conn: &Connection,
    account: i64,
    cash: Money,
    now: Timestamp,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO transactions (account_id, time, side, symbol, quantity, price)
         VALUES (?1, ?2, 'reset', '-', 0, ?3)",
        params![account, now.0, cash.raw()],
    )?;
    Ok(())
}
