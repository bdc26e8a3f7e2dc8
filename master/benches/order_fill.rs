//! One price set that fills 100 000 open limit orders (issue 13), against
//! raw rusqlite doing the same writes, on the same machine in the same
//! run: ORDERS open limit buys from ACCOUNTS accounts (100 each, the
//! default max_open_orders) over SYMBOLS symbols, all within their limit
//! at the new prices. `run_batch` tries each order, checks the fill,
//! writes its transaction row and its order row, and writes every changed
//! cash balance and position once; the raw side runs exactly those
//! INSERTs and UPDATEs, computed beforehand, in one transaction.
//! Target: raw_time / batch_time at least 0.5.
//!
//! `cargo bench -p papertrader-master --bench order_fill`. Bounded: ROUNDS
//! rounds of each, each on a fresh database; the best round counts. Both
//! sides commit once with `synchronous=FULL`: on this VM a sync is far
//! cheaper than on real disks, which favours neither side much.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use papertrader_common::value::{Money, OrderKind, Quantity, SHARE_SCALE, Tif};
use papertrader_master::trade::orders::{self, NewOrder, OpenOrder};
use papertrader_master::trade::{Change, Side, run_batch};
use rusqlite::{Connection, TransactionBehavior, params};

mod support;

use support::{ACCOUNTS, NOW, START_CASH, SYMBOLS, TempDir, prices, symbols};

const ORDERS: usize = 100_000;
const ROUNDS: usize = 3;

/// A fresh database with the accounts and their open orders, stored as
/// placeOrder stores them; returns the open orders in arrival order.
fn fresh_db(dir: &TempDir, name: &str) -> (Connection, Vec<OpenOrder>) {
    let symbols = symbols();
    let conn = support::with_accounts(dir, name, |tx, ids| {
        for i in 0..ORDERS {
            let new = NewOrder {
                account: ids[i % ACCOUNTS],
                side: Side::Buy,
                symbol: &symbols[(i / ACCOUNTS + i) % SYMBOLS],
                quantity: Quantity::whole(1 + (i % 10) as i64).expect("quantity"),
                kind: OrderKind::Limit(Money(2_000_000)),
                tif: Tif::Gtc,
                created: NOW,
                arrival_ms: ((i * 7_919) % ORDERS) as u64,
                mark: None,
                triggered: false,
                class: None,
                parent: None,
                held: false,
            };
            orders::insert(tx, &new).expect("insert order");
        }
    });
    let open = orders::load_live(&conn).expect("load");
    assert_eq!(open.len(), ORDERS);
    (conn, open)
}

fn time_batch(dir: &TempDir, round: usize) -> Duration {
    let (mut conn, open) = fresh_db(dir, &format!("batch{round}.db"));
    let prices = prices(&symbols());
    let start = Instant::now();
    let batch = run_batch(&mut conn, &[], &open, &prices, NOW).expect("batch");
    let elapsed = start.elapsed();
    let filled = batch
        .changes
        .iter()
        .filter(|(_, c)| matches!(c, Change::Filled { .. }))
        .count();
    assert_eq!(filled, ORDERS, "every order fills");
    elapsed
}

fn time_raw(dir: &TempDir, round: usize) -> Duration {
    let (mut conn, open) = fresh_db(dir, &format!("raw{round}.db"));
    let prices = prices(&symbols());
    // The rows and final balances, computed before the clock starts.
    let mut cash: HashMap<i64, i64> = HashMap::new();
    let mut held: HashMap<(i64, &str), (i64, i64)> = HashMap::new();
    let rows: Vec<(i64, i64, &str, i64, i64)> = open
        .iter()
        .map(|o| {
            let price = prices[&o.symbol].raw();
            // Whole shares: the cost is exact, the row holds 10^-9 units.
            let q = o.quantity.raw();
            let whole = q / SHARE_SCALE;
            *cash.entry(o.account).or_insert(START_CASH.raw()) -= price * whole;
            let h = held.entry((o.account, o.symbol.as_str())).or_default();
            *h = (h.0 + q, h.1 + price * whole);
            (o.id, o.account, o.symbol.as_str(), q, price)
        })
        .collect();
    let start = Instant::now();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .expect("begin");
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO transactions (account_id, time, side, symbol, quantity, price)
                 VALUES (?1, ?2, 'buy', ?3, ?4, ?5)",
            )
            .expect("prepare insert");
        let mut update = tx
            .prepare_cached("UPDATE orders SET status = ?2, updated = ?3, txid = ?4 WHERE id = ?1")
            .expect("prepare order update");
        for &(id, account, symbol, q, price) in &rows {
            let txid = insert
                .insert(params![account, NOW.0, symbol, q, price])
                .expect("insert");
            update
                .execute(params![id, "filled", NOW.0, txid])
                .expect("update order");
        }
        let mut update = tx
            .prepare_cached("UPDATE accounts SET cash = ?2 WHERE id = ?1")
            .expect("prepare update");
        for (&id, &value) in &cash {
            update.execute(params![id, value]).expect("update");
        }
        let mut put = tx
            .prepare_cached(
                "INSERT INTO positions (account_id, symbol, quantity, cost) VALUES (?1, ?2, ?3, ?4)",
            )
            .expect("prepare position");
        for (&(account, symbol), &(q, cost)) in &held {
            put.execute(params![account, symbol, q, cost])
                .expect("position");
        }
    }
    tx.commit().expect("commit");
    start.elapsed()
}

fn main() {
    let dir = TempDir::new("order-fill");
    let what = format!("{ORDERS} open limit orders, {ACCOUNTS} accounts, {SYMBOLS} symbols");
    support::compare(ROUNDS, &what, 0.5, |round| {
        (time_batch(&dir, round), time_raw(&dir, round))
    });
}
