//! The scale generator: fills a database through the master's schema
//! with accounts whose books agree with their history (`ptctl audit`
//! passes on it). Each account has 5 positions, 20 buys, one filled order
//! naming its last buy and 30 days of equity history. Shared by
//! master/benches/audit_scale.rs and benches/master_scale.rs.

use papertrader_master::db;
use rusqlite::{Connection, params};

/// The symbols every account holds.
pub const SYMBOLS: [&str; 5] = ["AAA", "BBB", "CCC", "DDD", "EEE"];
/// Buys per symbol, one share each at 10.0000 + symbol index.
const BUYS: i64 = 4;
const ONE: i64 = 1_000_000_000;
const START: i64 = 1_000_000_000;

/// Fills `path` with `n` accounts whose books agree with their history.
pub fn fill(path: &std::path::Path, n: usize) -> Connection {
    let mut conn = db::open(path).expect("open");
    let tx = conn.transaction().expect("begin");
    {
        let mut account = tx
            .prepare(
                "INSERT INTO accounts (id, username, username_key, email, pass_hash, cash,
                     created, opening_cash, start_cash, started)
                 VALUES (?1, ?2, ?2, 'bench@example.com', NULL, ?3, 0, ?4, ?4, 0)",
            )
            .expect("prepare");
        let mut trade = tx
            .prepare(
                "INSERT INTO transactions (account_id, time, side, symbol, quantity, price,
                     order_id)
                 VALUES (?1, ?2, 'buy', ?3, ?4, ?5, ?6)",
            )
            .expect("prepare");
        let mut position = tx
            .prepare("INSERT INTO positions VALUES (?1, ?2, ?3, ?4)")
            .expect("prepare");
        let mut order = tx
            .prepare(
                "INSERT INTO orders (id, account_id, created, arrival_ms, side, symbol,
                     quantity, type, limit_price, stop_price, tif, status, updated, txid,
                     filled, filled_cost, filled_avg)
                 VALUES (?1, ?2, 1, 1, 'buy', ?3, ?4, 'market', NULL, NULL, 'gtc', 'open',
                     2, NULL, 0, 0, 0)",
            )
            .expect("prepare");
        let mut named = tx
            .prepare(
                "UPDATE orders SET status = 'filled', txid = ?2, filled = ?3, filled_cost = ?4,
                     filled_avg = ?4 WHERE id = ?1",
            )
            .expect("prepare");
        let mut equity = tx
            .prepare("INSERT INTO equity_days VALUES (?1, ?2, ?3)")
            .expect("prepare");
        for i in 0..n {
            let id = i as i64 + 1;
            let spent: i64 = (0..SYMBOLS.len() as i64)
                .map(|s| BUYS * (100_000 + s * 10_000))
                .sum();
            account
                .execute(params![id, format!("user{i}"), START - spent, START])
                .expect("account");
            // The order of the last buy is stored first: the fill names it.
            let last = SYMBOLS[SYMBOLS.len() - 1];
            let price = 100_000 + (SYMBOLS.len() as i64 - 1) * 10_000;
            order.execute(params![id, id, last, ONE]).expect("order");
            let mut txid = 0;
            for (s, symbol) in SYMBOLS.iter().enumerate() {
                let p = 100_000 + s as i64 * 10_000;
                for b in 0..BUYS {
                    let filling = (s == SYMBOLS.len() - 1 && b == BUYS - 1).then_some(id);
                    trade
                        .execute(params![id, 1 + b, symbol, ONE, p, filling])
                        .expect("trade");
                    txid = tx.last_insert_rowid();
                }
                position
                    .execute(params![id, symbol, BUYS * ONE, BUYS * p])
                    .expect("position");
            }
            named.execute(params![id, txid, ONE, price]).expect("named");
            for day in 0..30 {
                equity
                    .execute(params![id, 20_000 + day, START])
                    .expect("equity");
            }
        }
    }
    tx.commit().expect("commit");
    conn
}
