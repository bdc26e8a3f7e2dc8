//! One price set over 100 000 open orders of mixed kinds (issue 23),
//! against raw rusqlite doing the same writes, on the same machine in the
//! same run. Of the ORDERS open orders (ACCOUNTS accounts, SYMBOLS
//! symbols, short selling on as a deployment runs by default):
//! BRACKETS brackets (an entry limit buy that fills, and its two held
//! exits, which open in the same transaction), TRAILING trailing-stop
//! sells whose mark moves up to the new price, and limit buys for the
//! rest, which fill. `run_batch_with` tries every order and writes every
//! fill, status, mark, cash balance and position. The raw side then runs
//! exactly the writes the batch made (read back from its database before
//! the clock starts) on a fresh copy, in one transaction.
//! Target: raw_time / batch_time at least 0.5.
//!
//! `cargo bench -p papertrader-master --bench order_mix`. Bounded: ROUNDS
//! rounds of each, each on a fresh database; the best round counts. Both
//! sides commit once with `synchronous=FULL`: on this VM a sync is far
//! cheaper than on real disks, which favours neither side much.

use std::time::{Duration, Instant};

use papertrader_common::value::{Money, OrderClass, OrderKind, Quantity, Tif, Trail};
use papertrader_master::trade::fees::Fees;
use papertrader_master::trade::orders::{self, NewOrder, OpenOrder};
use papertrader_master::trade::position::ShortRules;
use papertrader_master::trade::{Change, Rules, Side, run_batch_with};
use rusqlite::{Connection, TransactionBehavior, params};

mod support;

use support::{ACCOUNTS, NOW, SYMBOLS, TempDir, prices, symbols};

const ORDERS: usize = 100_000;
/// Brackets: 3 orders each.
const BRACKETS: usize = 10_000;
const TRAILING: usize = 10_000;
const ROUNDS: usize = 3;

/// A fresh database with the accounts and their open orders, stored as
/// placeOrder and placeOrderClass store them.
fn fresh_db(dir: &TempDir, name: &str) -> (Connection, Vec<OpenOrder>) {
    let symbols = symbols();
    let conn = support::with_accounts(dir, name, |tx, ids| {
        let mut made = 0;
        let mut i = 0;
        while made < ORDERS {
            let base = NewOrder {
                account: ids[i % ACCOUNTS],
                side: Side::Buy,
                symbol: &symbols[(i / ACCOUNTS + i) % SYMBOLS],
                quantity: Quantity::whole(1 + (i % 10) as i64).expect("quantity"),
                kind: OrderKind::Limit(Money(2_000_000)),
                tif: Tif::Gtc,
                created: NOW,
                arrival_ms: i as u64,
                mark: None,
                triggered: false,
                class: None,
                parent: None,
                held: false,
            };
            if i < BRACKETS {
                let entry = NewOrder {
                    class: Some(OrderClass::Bracket),
                    ..base
                };
                let id = orders::insert(tx, &entry).expect("entry").id;
                for kind in [
                    OrderKind::Limit(Money(3_000_000)),
                    OrderKind::Stop(Money(500_000)),
                ] {
                    let leg = NewOrder {
                        side: Side::Sell,
                        kind,
                        parent: Some(id),
                        held: true,
                        ..entry
                    };
                    orders::insert(tx, &leg).expect("leg");
                }
                made += 3;
            } else if i < BRACKETS + TRAILING {
                let trailing = NewOrder {
                    side: Side::Sell,
                    kind: OrderKind::TrailingStop(Trail::Percent(500)),
                    mark: Some(Money(900_000)),
                    ..base
                };
                orders::insert(tx, &trailing).expect("trailing");
                made += 1;
            } else {
                orders::insert(tx, &base).expect("limit");
                made += 1;
            }
            i += 1;
        }
    });
    let open = orders::load_live(&conn).expect("load");
    assert_eq!(open.len(), ORDERS);
    (conn, open)
}

type Map<V> = std::collections::HashMap<papertrader_common::value::Symbol, V>;

fn rules<'r>(prices: &'r Map<Money>, volumes: &'r Map<u64>) -> Rules<'r> {
    Rules {
        shorts: ShortRules::default(),
        marks: prices,
        fractional: &|_| true,
        fees: Fees::default(),
        bounds: &|_| Default::default(),
        volumes,
    }
}

fn time_batch(dir: &TempDir, round: usize) -> (Duration, Connection) {
    let (mut conn, open) = fresh_db(dir, &format!("batch{round}.db"));
    let prices = prices(&symbols());
    let volumes = Map::new();
    let rules = rules(&prices, &volumes);
    let start = Instant::now();
    let batch = run_batch_with(&mut conn, &[], &open, &prices, NOW, &rules).expect("batch");
    let elapsed = start.elapsed();
    let count = |f: fn(&Change) -> bool| batch.changes.iter().filter(|(_, c)| f(c)).count();
    let fills = ORDERS - 3 * BRACKETS - TRAILING + BRACKETS;
    assert_eq!(count(|c| matches!(c, Change::Filled { .. })), fills);
    assert_eq!(count(|c| matches!(c, Change::Activated(_))), 2 * BRACKETS);
    assert_eq!(count(|c| matches!(c, Change::Marked(_))), TRAILING);
    (elapsed, conn)
}

/// An order row as the batch left it: id, status, updated, txid, mark,
/// and (quantity, filled, filled_cost, filled_avg).
type OrderRow = (i64, String, i64, Option<i64>, Option<i64>, [i64; 4]);

/// A transaction row: account, time, side, symbol, quantity, price, order.
type TxRow = (i64, i64, String, String, i64, i64, Option<i64>);

/// The writes the batch made, read back from its database: transaction
/// rows, order rows, cash balances and positions.
struct Writes {
    transactions: Vec<TxRow>,
    orders: Vec<OrderRow>,
    cash: Vec<(i64, i64)>,
    positions: Vec<(i64, String, i64, i64)>,
}

fn writes_of(conn: &Connection) -> Writes {
    let rows = |sql: &str| conn.prepare(sql).expect("prepare");
    let transactions = rows(
        "SELECT account_id, time, side, symbol, quantity, price, order_id FROM transactions
         ORDER BY txid",
    )
    .query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        ))
    })
    .expect("query")
    .collect::<rusqlite::Result<_>>()
    .expect("rows");
    let orders = rows(
        "SELECT id, status, updated, txid, mark, quantity, filled, filled_cost, filled_avg
         FROM orders ORDER BY id",
    )
    .query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            [r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
        ))
    })
    .expect("query")
    .collect::<rusqlite::Result<_>>()
    .expect("rows");
    let cash = rows("SELECT id, cash FROM accounts ORDER BY id")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    let positions = rows("SELECT account_id, symbol, quantity, cost FROM positions")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    Writes {
        transactions,
        orders,
        cash,
        positions,
    }
}

fn time_raw(dir: &TempDir, round: usize, writes: &Writes) -> Duration {
    let (mut conn, _) = fresh_db(dir, &format!("raw{round}.db"));
    let start = Instant::now();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .expect("begin");
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO transactions (account_id, time, side, symbol, quantity, price,
                     order_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .expect("prepare insert");
        for (account, time, side, symbol, q, price, order) in &writes.transactions {
            insert
                .execute(params![account, time, side, symbol, q, price, order])
                .expect("insert");
        }
        // Every change the batch made, filled shares and leg quantities
        // included, through one statement.
        let mut status = tx
            .prepare_cached(
                "UPDATE orders SET status = ?2, updated = ?3, txid = ?4, quantity = ?5,
                     filled = ?6, filled_cost = ?7, filled_avg = ?8 WHERE id = ?1",
            )
            .expect("prepare order update");
        let mut mark = tx
            .prepare_cached("UPDATE orders SET mark = ?2 WHERE id = ?1")
            .expect("prepare mark update");
        for (id, s, updated, txid, m, [q, filled, cost, avg]) in &writes.orders {
            match (s.as_str(), m) {
                ("open", Some(m)) => mark.execute(params![id, m]).expect("mark"),
                _ => status
                    .execute(params![id, s, updated, txid, q, filled, cost, avg])
                    .expect("status"),
            };
        }
        let mut cash = tx
            .prepare_cached("UPDATE accounts SET cash = ?2 WHERE id = ?1")
            .expect("prepare cash");
        for (id, value) in &writes.cash {
            cash.execute(params![id, value]).expect("cash");
        }
        let mut put = tx
            .prepare_cached(
                "INSERT INTO positions (account_id, symbol, quantity, cost) VALUES (?1, ?2, ?3, ?4)",
            )
            .expect("prepare position");
        for (account, symbol, q, cost) in &writes.positions {
            put.execute(params![account, symbol, q, cost])
                .expect("position");
        }
    }
    tx.commit().expect("commit");
    start.elapsed()
}

fn main() {
    let dir = TempDir::new("order-mix");
    let what = format!(
        "{ORDERS} open orders ({BRACKETS} brackets, {TRAILING} trailing stops, limits), \
         {ACCOUNTS} accounts, {SYMBOLS} symbols"
    );
    support::compare(ROUNDS, &what, 0.5, |round| {
        let (batch, conn) = time_batch(&dir, round);
        let writes = writes_of(&conn);
        (batch, time_raw(&dir, round, &writes))
    });
}
