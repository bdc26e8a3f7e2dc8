//! One trade batch against the raw SQL it cannot avoid, on the same machine
//! in the same run: `run_batch` on ORDERS buy orders spread over ACCOUNTS
//! accounts and SYMBOLS symbols, against plain rusqlite inserting the same
//! ORDERS transaction rows plus one cash update per account in one
//! transaction. Target: raw_time / batch_time at least 0.3.
//!
//! `cargo bench -p papertrader-master --bench trade_batch`. Bounded: ROUNDS
//! rounds of each, each on a fresh database; the best round counts.
//!
//! Both sides commit once with `synchronous=FULL`, so each pays one or two
//! fsyncs. On a container's tmpfs or page cache those are far cheaper than
//! on real disks, where the commit's fixed cost narrows the gap further.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use papertrader_common::value::{Quantity, SHARE_SCALE, Symbol};
use papertrader_master::trade::position::ShortRules;
use papertrader_master::trade::{Order, Outcome, Rules, Side, Size, run_batch_with};
use rusqlite::{Connection, TransactionBehavior, params};

mod support;

use support::{ACCOUNTS, NOW, START_CASH, SYMBOLS, TempDir, prices, symbols};

const ORDERS: usize = 100_000;
const ROUNDS: usize = 3;

/// A fresh database with ACCOUNTS accounts; returns their ids.
fn fresh_db(dir: &TempDir, name: &str) -> (Connection, Vec<i64>) {
    let mut ids = Vec::new();
    let conn = support::with_accounts(dir, name, |_, made| ids = made.to_vec());
    (conn, ids)
}

/// The orders, with timestamps scrambled so the batch really sorts.
fn orders(ids: &[i64], symbols: &[Symbol]) -> Vec<Order> {
    (0..ORDERS)
        .map(|i| Order {
            account: ids[i % ACCOUNTS],
            side: Side::Buy,
            symbol: symbols[(i / ACCOUNTS + i) % SYMBOLS].clone(),
            size: Size::Shares(Quantity::whole(1 + (i % 10) as i64).expect("quantity")),
            ts_ms: ((i * 7_919) % ORDERS) as u64,
            seq: i as u64,
        })
        .collect()
}

fn time_batch(dir: &TempDir, round: usize) -> Duration {
    let (mut conn, ids) = fresh_db(dir, &format!("batch{round}.db"));
    let symbols = symbols();
    let orders = orders(&ids, &symbols);
    let prices = prices(&symbols);
    // As a deployment runs by default: short selling on, so that every
    // buy that adds to a long asks whether its account owes shares.
    let rules = Rules {
        shorts: ShortRules::default(),
        marks: &prices,
        fractional: &|_| true,
        fees: Default::default(),
        bounds: &|_| Default::default(),
        volumes: &Default::default(),
    };
    let start = Instant::now();
    let batch = run_batch_with(&mut conn, &orders, &[], &prices, NOW, &rules).expect("batch");
    let (outcomes, unpriced) = (batch.outcomes, batch.unpriced);
    let elapsed = start.elapsed();
    assert!(unpriced.is_empty());
    let filled = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Filled { .. }))
        .count();
    assert_eq!(filled, ORDERS, "every order fills");
    elapsed
}

fn time_raw(dir: &TempDir, round: usize) -> Duration {
    let (mut conn, ids) = fresh_db(dir, &format!("raw{round}.db"));
    let symbols = symbols();
    let orders = orders(&ids, &symbols);
    let prices = prices(&symbols);
    // The rows and final balances, computed before the clock starts.
    let mut cash: HashMap<i64, i64> = ids.iter().map(|&id| (id, START_CASH.raw())).collect();
    let rows: Vec<(i64, &str, i64, i64)> = orders
        .iter()
        .map(|o| {
            let price = prices[&o.symbol].raw();
            // Whole shares: the cost is exact, the row holds 10^-9 units.
            let Size::Shares(q) = o.size else {
                unreachable!("the bench orders whole shares")
            };
            let q = q.raw();
            *cash.get_mut(&o.account).expect("account") -= price * (q / SHARE_SCALE);
            (o.account, o.symbol.as_str(), q, price)
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
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .expect("prepare insert");
        for &(account, symbol, q, price) in &rows {
            insert
                .insert(params![account, NOW.0, "buy", symbol, q, price])
                .expect("insert");
        }
        let mut update = tx
            .prepare_cached("UPDATE accounts SET cash = ?2 WHERE id = ?1")
            .expect("prepare update");
        for (&id, &value) in &cash {
            update.execute(params![id, value]).expect("update");
        }
    }
    tx.commit().expect("commit");
    start.elapsed()
}

fn main() {
    let dir = TempDir::new("trade");
    let what = format!("{ORDERS} orders, {ACCOUNTS} accounts, {SYMBOLS} symbols");
    support::compare(ROUNDS, &what, 0.3, |round| {
        (time_batch(&dir, round), time_raw(&dir, round))
    });
}
