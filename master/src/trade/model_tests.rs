//! Model-based property test of the trade batch: random orders, price
//! changes and batch runs for a few accounts and symbols, executed through
//! [`run_batch`] and through a plain in-memory model written independently
//! from the same rules; after every batch the tables must equal the model
//! and the audit must be clean.

use std::collections::{BTreeMap, HashMap};

use papertrader_common::value::{Money, Quantity, ReasonCode, Shares, Symbol};
use proptest::prelude::*;
use rusqlite::Connection;

use super::test_util::*;
use super::{Order, Outcome, Side, Size, audit, run_batch};

const SYMBOLS: [&str; 2] = ["AAA", "BBB"];
const ACCOUNTS: usize = 2;
/// 500.0000 each: enough for several orders, not for every one.
const START: i64 = 5_000_000;
/// Prices up to 30.0000, arbitrary in the last digit so that costs rarely
/// divide evenly and sales exercise the rounding.
const PRICE: std::ops::RangeInclusive<i64> = 1..=300_000;

#[derive(Debug, Clone)]
enum Step {
    Order {
        account: usize,
        side: Side,
        symbol: usize,
        size: Size,
        ts_ms: u64,
    },
    Price {
        symbol: usize,
        price: i64,
    },
    Unprice {
        symbol: usize,
    },
    Run,
}

fn step() -> impl Strategy<Value = Step> {
    let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
    prop_oneof![
        6 => (0..ACCOUNTS, side, 0..SYMBOLS.len(), size(), 0u64..20).prop_map(
            |(account, side, symbol, size, ts_ms)| Step::Order {
                account,
                side,
                symbol,
                size,
                ts_ms
            }
        ),
        2 => (0..SYMBOLS.len(), PRICE)
            .prop_map(|(symbol, price)| Step::Price { symbol, price }),
        1 => (0..SYMBOLS.len()).prop_map(|symbol| Step::Unprice { symbol }),
        2 => Just(Step::Run),
    ]
}

/// Whole counts of 1 to 8 shares, or any count up to 8 shares to 10^-9.
fn quantity() -> impl Strategy<Value = i64> {
    prop_oneof![(1i64..=8).prop_map(|q| q * ONE), 1i64..=8 * ONE]
}

/// Mostly share counts, sometimes an amount of money up to 200.0000
/// (tiny amounts buy less than 10^-9 share of a dear asset: refused).
fn size() -> impl Strategy<Value = Size> {
    prop_oneof![
        4 => quantity()
            .prop_map(|q| Size::Shares(Quantity::from_shares(Shares(q)).expect("in range"))),
        1 => (1i64..=2_000_000).prop_map(|m| Size::Notional(Money(m))),
    ]
}

/// What the model says an order does.
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Filled(i64),
    Refused(ReasonCode),
}

#[derive(Default)]
struct Model {
    cash: HashMap<i64, i64>,
    positions: BTreeMap<(i64, String), (i64, i64)>,
    transactions: i64,
}

impl Model {
    /// `cost * sold / held` rounded half up (all values non-negative).
    fn part(cost: i64, sold: i64, held: i64) -> i64 {
        let (c, s, h) = (i128::from(cost), i128::from(sold), i128::from(held));
        ((2 * c * s + h) / (2 * h)) as i64
    }

    fn run(&mut self, order: &Order, price: i64) -> Expect {
        let q = match order.size {
            Size::Shares(q) => q.raw(),
            // What the amount pays for, rounded down to 10^-9 share.
            Size::Notional(m) => {
                let q = (i128::from(m.raw()) * i128::from(ONE) / i128::from(price)) as i64;
                if q == 0 {
                    return Expect::Refused(ReasonCode::BadQuantity);
                }
                q
            }
        };
        // A buy costs the exact amount rounded up, a sale brings it
        // rounded down (1/10 000 units).
        let exact = i128::from(price) * i128::from(q);
        let scale = i128::from(ONE);
        let amount = match order.side {
            Side::Buy => (exact + scale - 1) / scale,
            Side::Sell => exact / scale,
        } as i64;
        let cash = self.cash[&order.account];
        let key = (order.account, order.symbol.as_str().to_string());
        let (held, cost) = self.positions.get(&key).copied().unwrap_or((0, 0));
        match order.side {
            Side::Buy if cash < amount => return Expect::Refused(ReasonCode::InsufficientFunds),
            Side::Sell if held < q => return Expect::Refused(ReasonCode::InsufficientShares),
            Side::Buy => {
                self.cash.insert(order.account, cash - amount);
                self.positions.insert(key, (held + q, cost + amount));
            }
            Side::Sell => {
                self.cash.insert(order.account, cash + amount);
                if held == q {
                    self.positions.remove(&key);
                } else {
                    let left = cost - Model::part(cost, q, held);
                    self.positions.insert(key, (held - q, left));
                }
            }
        }
        self.transactions += 1;
        Expect::Filled(self.transactions)
    }
}

fn table_positions(conn: &Connection) -> BTreeMap<(i64, String), (i64, i64)> {
    let mut stmt = conn
        .prepare("SELECT account_id, symbol, quantity, cost FROM positions")
        .expect("prepare");
    stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?))))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
}

/// Runs the pending orders through both, checks they agree, and keeps the
/// unpriced orders pending.
fn run_both(
    conn: &mut Connection,
    model: &mut Model,
    pending: &mut Vec<Order>,
    prices: &HashMap<Symbol, Money>,
) -> Result<(), TestCaseError> {
    let super::Batch {
        outcomes, unpriced, ..
    } = run_batch(conn, pending, &[], prices, NOW).expect("batch");
    let expected_unpriced: Vec<usize> = (0..pending.len())
        .filter(|&i| !prices.contains_key(&pending[i].symbol))
        .collect();
    prop_assert_eq!(&unpriced, &expected_unpriced);

    let mut order: Vec<usize> = (0..pending.len())
        .filter(|i| !unpriced.contains(i))
        .collect();
    order.sort_by_key(|&i| (pending[i].ts_ms, pending[i].seq));
    let mut expected: BTreeMap<usize, Expect> = BTreeMap::new();
    for i in order {
        let price = prices[&pending[i].symbol].raw();
        expected.insert(i, model.run(&pending[i], price));
    }
    let got: BTreeMap<usize, Expect> = outcomes
        .into_iter()
        .map(|(i, outcome)| match outcome {
            Outcome::Filled { txid, .. } => (i, Expect::Filled(txid)),
            Outcome::Refused(reason) => (i, Expect::Refused(reason.code)),
        })
        .collect();
    prop_assert_eq!(got, expected);

    for (&account, &cash) in &model.cash {
        prop_assert!(cash >= 0);
        prop_assert_eq!(super::test_util::cash(conn, account), cash);
    }
    let positions = table_positions(conn);
    prop_assert!(positions.values().all(|&(q, c)| q > 0 && c >= 0));
    prop_assert_eq!(&positions, &model.positions);
    prop_assert_eq!(transaction_count(conn), model.transactions);
    prop_assert_eq!(audit(conn).expect("audit"), Vec::<String>::new());

    let keep: Vec<Order> = unpriced.iter().map(|&i| pending[i].clone()).collect();
    *pending = keep;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn batches_match_the_model(
        start_prices in prop::array::uniform2(PRICE),
        steps in prop::collection::vec(step(), 1..60),
    ) {
        let mut db = test_db("trade-model");
        let mut model = Model::default();
        let ids: Vec<i64> = (0..ACCOUNTS)
            .map(|i| add_account(&db.conn, &format!("user{i}"), START))
            .collect();
        for &id in &ids {
            model.cash.insert(id, START);
        }
        let mut prices: HashMap<Symbol, Money> =
            SYMBOLS.iter().zip(start_prices).map(|(s, p)| (sym(s), Money(p))).collect();
        let mut pending: Vec<Order> = Vec::new();
        let mut seq = 0;
        for step in steps.into_iter().chain([Step::Run]) {
            match step {
                Step::Order { account, side, symbol, size, ts_ms } => {
                    seq += 1;
                    pending.push(Order {
                        account: ids[account],
                        side,
                        symbol: sym(SYMBOLS[symbol]),
                        size,
                        ts_ms,
                        seq,
                    });
                }
                Step::Price { symbol, price } => {
                    prices.insert(sym(SYMBOLS[symbol]), Money(price));
                }
                Step::Unprice { symbol } => {
                    prices.remove(&sym(SYMBOLS[symbol]));
                }
                Step::Run => run_both(&mut db.conn, &mut model, &mut pending, &prices)?,
            }
        }
    }
}
