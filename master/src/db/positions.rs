//! SQL of the `positions` table that the trade thread's checks and resets
//! use (the batch writes positions in `trade::batch`).

use rusqlite::{Connection, OptionalExtension, params};

/// Shares of `symbol` the account holds (0 for none).
pub fn held(conn: &Connection, account: i64, symbol: &str) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT quantity FROM positions WHERE account_id = ?1 AND symbol = ?2",
        params![account, symbol],
        |r| r.get(0),
    )
    .optional()
    .map(|held| held.unwrap_or(0))
}

/// Every position of the account: symbol, signed 10^-9 shares, signed cost.
pub fn all(conn: &Connection, account: i64) -> rusqlite::Result<Vec<(String, i64, i64)>> {
    let mut stmt =
        conn.prepare_cached("SELECT symbol, quantity, cost FROM positions WHERE account_id = ?1")?;
    let rows = stmt.query_map([account], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect()
}

/// Removes every position of the account (a reset).
pub fn delete_all(conn: &Connection, account: i64) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM positions WHERE account_id = ?1", [account])
}
