//! `ptctl audit`: replays every account's transaction history and compares
//! the result with the `accounts.cash` and `positions` tables. Runs on the
//! control thread through its own connection, inside one read transaction
//! so that a trade batch committing meanwhile cannot make it report a
//! half-seen state.
//!
//! The replay uses the very rules of the trade batch: i64 amounts, a sale
//! taking [`sold_cost`] of the position's cost, a position at zero gone.
//! Every account is assumed to have started with `starting_cash`, the
//! configured amount new accounts get; the table does not record what an
//! account started with, so after a change of `starting_cash` in the config
//! the audit reports every older account's cash.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use papertrader_common::value::Money;
use rusqlite::Connection;

use super::{Side, sold_cost};

const SELECT_HISTORY: &str = "SELECT account_id, txid, side, symbol, quantity, price
     FROM transactions ORDER BY account_id, txid";
const SELECT_POSITIONS: &str = "SELECT account_id, symbol, quantity, cost FROM positions";
const SELECT_ACCOUNTS: &str = "SELECT id, username, cash FROM accounts ORDER BY id";

/// `(quantity, cost)` by symbol.
type Holdings = BTreeMap<String, (i64, i64)>;

/// One account's state rebuilt from its transactions.
struct Replay {
    cash: i64,
    holdings: Holdings,
    /// Transactions that could not have been filled as recorded.
    notes: Vec<String>,
    /// Set when a transaction broke the replay (overflow): later ones are
    /// skipped and the tables are not compared.
    broken: bool,
}

/// One `transactions` row.
struct Trade {
    txid: i64,
    side: String,
    symbol: String,
    quantity: i64,
    price: i64,
}

/// Recomputes every account's cash (`starting_cash` minus buys plus sells)
/// and positions (quantity and cost, with the rounding of the trade batch)
/// from its transaction history and compares them with the tables: one
/// line per disagreement, like `alice: cash 100.0000 in the table, 90.0000
/// from the history`. Empty means clean.
pub fn audit(conn: &Connection, starting_cash: Money) -> rusqlite::Result<Vec<String>> {
    // DEFERRED: the snapshot starts at the first read and stays put.
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Deferred)?;
    let replays = replay_all(&tx, starting_cash)?;
    let mut tables: HashMap<i64, Holdings> = HashMap::new();
    {
        let mut stmt = tx.prepare(SELECT_POSITIONS)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let holding = (row.get(2)?, row.get(3)?);
            tables
                .entry(row.get(0)?)
                .or_default()
                .insert(row.get(1)?, holding);
        }
    }
    let mut report = Vec::new();
    let mut stmt = tx.prepare(SELECT_ACCOUNTS)?;
    let mut rows = stmt.query([])?;
    let empty = Holdings::new();
    while let Some(row) = rows.next()? {
        let (id, name, cash): (i64, String, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
        let table = tables.get(&id).unwrap_or(&empty);
        match replays.get(&id) {
            Some(replay) => compare(&name, cash, table, replay, &mut report),
            None => {
                let fresh = Replay::new(starting_cash);
                compare(&name, cash, table, &fresh, &mut report);
            }
        }
    }
    Ok(report)
}

/// Replays the whole transactions table, one account after the other.
fn replay_all(conn: &Connection, starting_cash: Money) -> rusqlite::Result<HashMap<i64, Replay>> {
    let mut replays: HashMap<i64, Replay> = HashMap::new();
    let mut stmt = conn.prepare(SELECT_HISTORY)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let account: i64 = row.get(0)?;
        let trade = Trade {
            txid: row.get(1)?,
            side: row.get(2)?,
            symbol: row.get(3)?,
            quantity: row.get(4)?,
            price: row.get(5)?,
        };
        let replay = replays
            .entry(account)
            .or_insert_with(|| Replay::new(starting_cash));
        replay.apply(&trade);
    }
    Ok(replays)
}

impl Replay {
    fn new(starting_cash: Money) -> Replay {
        Replay {
            cash: starting_cash.raw(),
            holdings: Holdings::new(),
            notes: Vec::new(),
            broken: false,
        }
    }

    /// Applies one transaction as the trade batch filled it.
    fn apply(&mut self, trade: &Trade) {
        if self.broken {
            return;
        }
        let Some(amount) = trade.price.checked_mul(trade.quantity) else {
            return self.break_at(trade, "its amount overflows");
        };
        let held = self.holdings.get(&trade.symbol).copied().unwrap_or((0, 0));
        match Side::parse(&trade.side) {
            Some(Side::Buy) => {
                let (Some(cash), Some(quantity), Some(cost)) = (
                    self.cash.checked_sub(amount),
                    held.0.checked_add(trade.quantity),
                    held.1.checked_add(amount),
                ) else {
                    return self.break_at(trade, "the replay overflows");
                };
                if cash < 0 {
                    self.note(
                        trade,
                        format!("buys for {} with cash {}", Money(amount), Money(self.cash)),
                    );
                }
                self.cash = cash;
                self.holdings.insert(trade.symbol.clone(), (quantity, cost));
            }
            Some(Side::Sell) => {
                let Some(cash) = self.cash.checked_add(amount) else {
                    return self.break_at(trade, "the replay overflows");
                };
                self.cash = cash;
                if held.0 < trade.quantity {
                    let what = format!(
                        "sells {} {} while holding {}",
                        trade.quantity, trade.symbol, held.0
                    );
                    self.note(trade, what);
                    self.holdings.remove(&trade.symbol);
                    return;
                }
                let left = (
                    held.0 - trade.quantity,
                    held.1 - sold_cost(held.1, trade.quantity, held.0),
                );
                if left.0 == 0 {
                    self.holdings.remove(&trade.symbol);
                } else {
                    self.holdings.insert(trade.symbol.clone(), left);
                }
            }
            None => self.note(trade, format!("has an unknown side {:?}", trade.side)),
        }
    }

    fn note(&mut self, trade: &Trade, what: String) {
        self.notes
            .push(format!("transaction {} {what}", trade.txid));
    }

    fn break_at(&mut self, trade: &Trade, why: &str) {
        self.note(trade, format!("cannot be replayed: {why}"));
        self.broken = true;
    }
}

/// Appends one line per disagreement between the tables and the replay.
fn compare(name: &str, cash: i64, table: &Holdings, replay: &Replay, report: &mut Vec<String>) {
    report.extend(replay.notes.iter().map(|note| format!("{name}: {note}")));
    if replay.broken {
        return;
    }
    if cash != replay.cash {
        report.push(format!(
            "{name}: cash {} in the table, {} from the history",
            Money(cash),
            Money(replay.cash)
        ));
    }
    let symbols: BTreeSet<&String> = table.keys().chain(replay.holdings.keys()).collect();
    for symbol in symbols {
        let stored = table.get(symbol);
        let rebuilt = replay.holdings.get(symbol);
        if stored != rebuilt {
            report.push(format!(
                "{name}: {symbol} {} in the table, {} from the history",
                holding_text(stored),
                holding_text(rebuilt)
            ));
        }
    }
}

fn holding_text(holding: Option<&(i64, i64)>) -> String {
    match holding {
        Some(&(quantity, cost)) => format!("{quantity} shares costing {}", Money(cost)),
        None => "no shares".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use papertrader_common::value::Symbol;

    use super::super::test_util::*;
    use super::super::{Order, run_batch};
    use super::*;

    const START: i64 = 10_000_000;

    /// A small deterministic generator, so the trading is varied but
    /// repeatable.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, below: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % below
        }
    }

    /// Three accounts trading three symbols over twenty batches.
    fn traded(tag: &str) -> (TestDb, Vec<i64>) {
        let mut db = test_db(tag);
        let ids: Vec<i64> = ["alice", "bob", "carol"]
            .iter()
            .map(|name| add_account(&db.conn, name, START))
            .collect();
        let mut rng = Lcg(42);
        let symbols = ["AAA", "BBB", "CCC"];
        for batch in 0..20 {
            let prices: HashMap<Symbol, Money> = symbols
                .iter()
                .map(|s| (sym(s), Money(1 + rng.next(2_000_000) as i64)))
                .collect();
            let orders: Vec<Order> = (0..15)
                .map(|i| {
                    let side = if rng.next(3) == 0 {
                        Side::Sell
                    } else {
                        Side::Buy
                    };
                    let account = ids[rng.next(3) as usize];
                    let symbol = symbols[rng.next(3) as usize];
                    order(account, side, symbol, 1 + rng.next(7), batch * 100 + i)
                })
                .collect();
            run_batch(&mut db.conn, &orders, &prices, NOW).expect("batch");
        }
        (db, ids)
    }

    #[test]
    fn clean_after_random_trading() {
        let (db, _) = traded("audit-clean");
        assert!(transaction_count(&db.conn) > 100);
        let sells: i64 = db
            .conn
            .query_row(
                "SELECT count(*) FROM transactions WHERE side = 'sell'",
                [],
                |r| r.get(0),
            )
            .expect("sells");
        assert!(sells > 10, "{sells} sells");
        assert_eq!(
            audit(&db.conn, Money(START)).expect("audit"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn reports_tampered_cash_and_positions() {
        let (db, ids) = traded("audit-tampered");
        let table = cash(&db.conn, ids[0]);
        db.conn
            .execute(
                "UPDATE accounts SET cash = cash + 12345 WHERE id = ?1",
                [ids[0]],
            )
            .expect("tamper cash");
        let report = audit(&db.conn, Money(START)).expect("audit");
        assert_eq!(
            report,
            vec![format!(
                "alice: cash {} in the table, {} from the history",
                Money(table + 12_345),
                Money(table)
            )]
        );

        let (symbol, quantity, cost): (String, i64, i64) = db
            .conn
            .query_row(
                "SELECT symbol, quantity, cost FROM positions WHERE account_id = ?1 LIMIT 1",
                [ids[1]],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("bob holds something");
        db.conn
            .execute(
                "UPDATE positions SET quantity = quantity + 1 WHERE account_id = ?1 AND symbol = ?2",
                rusqlite::params![ids[1], symbol],
            )
            .expect("tamper position");
        db.conn
            .execute(
                "INSERT INTO positions VALUES (?1, 'ZZZ', 5, 50000)",
                [ids[2]],
            )
            .expect("phantom position");
        let report = audit(&db.conn, Money(START)).expect("audit");
        assert_eq!(report.len(), 3, "{report:?}");
        assert_eq!(
            report[1],
            format!(
                "bob: {symbol} {} shares costing {} in the table, {quantity} shares costing {} from the history",
                quantity + 1,
                Money(cost),
                Money(cost)
            )
        );
        assert_eq!(
            report[2],
            "carol: ZZZ 5 shares costing 5.0000 in the table, no shares from the history"
        );
    }

    #[test]
    fn a_changed_starting_cash_is_reported() {
        let db = test_db("audit-start");
        add_account(&db.conn, "dave", START);
        assert_eq!(
            audit(&db.conn, Money(START)).expect("audit"),
            Vec::<String>::new()
        );
        assert_eq!(
            audit(&db.conn, Money(START + 1)).expect("audit"),
            vec!["dave: cash 1000.0000 in the table, 1000.0001 from the history".to_string()]
        );
    }

    #[test]
    fn reports_an_impossible_sale() {
        let db = test_db("audit-sale");
        let erin = add_account(&db.conn, "erin", START);
        db.conn
            .execute(
                "INSERT INTO transactions (account_id, time, side, symbol, quantity, price)
                 VALUES (?1, 0, 'sell', 'AAA', 2, 10000)",
                [erin],
            )
            .expect("insert");
        let report = audit(&db.conn, Money(START)).expect("audit");
        assert_eq!(
            report,
            vec![
                "erin: transaction 1 sells 2 AAA while holding 0".to_string(),
                "erin: cash 1000.0000 in the table, 1002.0000 from the history".to_string(),
            ]
        );
    }
}
