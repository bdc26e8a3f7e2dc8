//! Fixtures shared by the trade tests: a fresh database file with accounts
//! inserted directly (no argon2), orders, and readers of the tables.

use papertrader_common::value::{Money, Quantity, Symbol, Timestamp};
use rusqlite::{Connection, OptionalExtension};

use super::{Order, Side, Size};
use crate::db::accounts::{self, NewAccount};
use crate::db::{self, TempDir};

/// The batch time the tests use.
pub(super) const NOW: Timestamp = Timestamp(1_732_147_200);

/// A database in its own temp dir, removed on drop.
pub(super) struct TestDb {
    pub conn: Connection,
    _dir: TempDir,
}

pub(super) fn test_db(tag: &str) -> TestDb {
    let dir = TempDir::new(tag);
    let conn = db::open(&dir.join("pt.db")).expect("open db");
    TestDb { conn, _dir: dir }
}

/// Inserts an account with `cash` (raw units) and returns its id.
pub(super) fn add_account(conn: &Connection, name: &str, cash: i64) -> i64 {
    let key = name.to_ascii_lowercase();
    let email = format!("{key}@example.com");
    let account = NewAccount {
        username: name,
        username_key: &key,
        email: &email,
        pass_hash: None,
        cash: Money(cash),
        created: Timestamp(1_700_000_000),
    };
    accounts::insert(conn, &account).expect("insert account")
}

pub(super) fn sym(text: &str) -> Symbol {
    Symbol::parse(text).expect("symbol")
}

/// One whole share in the 10^-9 units of the tables.
pub(super) const ONE: i64 = papertrader_common::value::SHARE_SCALE;

/// A queued order of `quantity` whole shares.
pub(super) fn order(account: i64, side: Side, symbol: &str, quantity: i64, ts_ms: u64) -> Order {
    Order {
        account,
        side,
        symbol: sym(symbol),
        size: Size::Shares(Quantity::whole(quantity).expect("quantity")),
        ts_ms,
        seq: ts_ms,
    }
}

pub(super) fn cash(conn: &Connection, account: i64) -> i64 {
    conn.query_row("SELECT cash FROM accounts WHERE id = ?1", [account], |r| {
        r.get(0)
    })
    .expect("cash")
}

/// `(quantity in 10^-9 shares, cost)` of a position, `None` when there is
/// no row.
pub(super) fn position(conn: &Connection, account: i64, symbol: &str) -> Option<(i64, i64)> {
    conn.query_row(
        "SELECT quantity, cost FROM positions WHERE account_id = ?1 AND symbol = ?2",
        rusqlite::params![account, symbol],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .expect("position")
}

pub(super) fn transaction_count(conn: &Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM transactions", [], |r| r.get(0))
        .expect("count")
}

/// Stores one tick with close `close` for `symbol` at `time`.
pub(super) fn tick(conn: &Connection, symbol: &str, time: i64, close: i64) {
    conn.execute(
        "INSERT INTO ticks (symbol, time, open, high, low, close, volume)
         VALUES (?1, ?2, ?3, ?3, ?3, ?3, 1)",
        rusqlite::params![symbol, time, close],
    )
    .expect("insert tick");
}
