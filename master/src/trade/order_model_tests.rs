//! Property test of the trade thread with orders: random sequences of
//! placed orders (every type, trailing stops too, both sides, day, gtc,
//! ioc and fok), replaces, cancels, resets, market orders, splits,
//! dividends and price sets, with short selling, commissions, slippage
//! and a volume cap on (so orders fill in parts), sent to the real
//! "trade" thread over its channel, with a second connection reading the
//! same database file.
//! After every price set: no cash or position below zero, no `internal`
//! answer, every open order of the thread also open in the table, every
//! open trailing stop marked at or beyond the last price and short of its
//! stop, no account left under the maintenance margin that its cash could
//! still cover, no account and asset filled beyond the volume cap at a
//! price set, and `ptctl audit` clean.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use mio::Token;
use papertrader_common::request::{ClassSpec, NewStop, OrderChange, OrderSpec, Size};
use papertrader_common::value::{
    Money, OrderClass, OrderKind, Quantity, ReasonCode, SHARE_SCALE, SessionId, Shares, Symbol,
    Tif, Timestamp, Trail,
};
use papertrader_common::{Frame, Instr};
use parking_lot::RwLock;
use proptest::prelude::*;
use rusqlite::Connection;

use super::fees::Fees;
use super::position::{Exposure, Holding, ShortRules};
use super::queue::{self, Limits, TradeMsg};
use super::test_util::add_account;
use super::{Side, audit};
use crate::db::sessions::{self, NewSession};
use crate::db::{self, TempDir};
use crate::event::{Event, Notifier};
use crate::job::{Job, Origin, ReplyTo};
use crate::market::Asset;
use crate::market::assets::Terms;
use crate::market::calendar::{Clock, Market};
use crate::market::feed::FeedMsg;
use crate::market::provider::{Action, ActionKind};
use papertrader_common::request::Request;

const SYMBOLS: [&str; 2] = ["AAA", "BBB"];
const ACCOUNTS: usize = 2;
/// 500.0000: enough for some orders, not for all.
const START: i64 = 5_000_000;

#[derive(Debug, Clone)]
enum Step {
    Place {
        account: usize,
        side: Side,
        symbol: usize,
        /// In 10^-9 shares.
        quantity: i64,
        kind: OrderKind,
        tif: Tif,
    },
    /// A bracket, OCO or OTO: its exits around the entry's price (an
    /// OCO's around `reference`), or on the wrong side when `wrong`.
    Class {
        account: usize,
        side: Side,
        symbol: usize,
        quantity: i64,
        class: OrderClass,
        entry: Option<Money>,
        spread: i64,
        wrong: bool,
    },
    Market {
        account: usize,
        side: Side,
        symbol: usize,
        /// In 10^-9 shares.
        quantity: i64,
    },
    /// A market order for an amount of money, on AAA (BBB would refuse
    /// it at once: whole shares only).
    Notional {
        account: usize,
        side: Side,
        amount: i64,
    },
    Cancel {
        account: usize,
        nth: usize,
    },
    Replace {
        account: usize,
        nth: usize,
        change: OrderChange,
    },
    Reset {
        account: usize,
    },
    Split {
        symbol: usize,
        to: u32,
        from: u32,
    },
    Dividend {
        symbol: usize,
        amount: i64,
    },
    /// Prices and the volumes traded since the last set (0: none
    /// reported, no cap).
    Prices([i64; 2], [u64; 2]),
}

/// A fills model with every part: 0.05 a fill, 0.001 a share, 0.05%,
/// at least 0.10, 0.2% slippage, and 10% of the volume per price set.
const FEES: Fees = Fees {
    per_order: Money(500),
    per_share: Money(10),
    percent_bps: 5,
    minimum: Money(1_000),
    slippage_bps: 20,
    volume_cap_bps: 1_000,
};

/// Short selling as a deployment could set it, scaled to the model's
/// 500 of cash.
const SHORTS: ShortRules = ShortRules {
    enabled: true,
    min_equity: Money(1_000_000),
    initial_pct: 150,
    maintenance_pct: 30,
};

fn price() -> impl Strategy<Value = Money> {
    (50_000i64..=300_000).prop_map(Money)
}

fn kind() -> impl Strategy<Value = OrderKind> {
    prop_oneof![
        Just(OrderKind::Market),
        price().prop_map(OrderKind::Limit),
        price().prop_map(OrderKind::Stop),
        (price(), price()).prop_map(|(stop, limit)| OrderKind::StopLimit { stop, limit }),
        trail().prop_map(OrderKind::TrailingStop),
    ]
}

fn trail() -> impl Strategy<Value = Trail> {
    prop_oneof![
        (1i64..=100_000).prop_map(|units| Trail::Amount(Money(units))),
        (1u32..=9_999).prop_map(Trail::Percent),
    ]
}

/// A replace's change: any mix of fields, fitting the order's type or not
/// (a misfit is `bad-price`).
fn change() -> impl Strategy<Value = OrderChange> {
    let stop = prop_oneof![
        price().prop_map(NewStop::Price),
        (1u32..=9_999).prop_map(|bp| NewStop::Trail(Trail::Percent(bp))),
    ];
    let tif = prop_oneof![Just(Tif::Day), Just(Tif::Gtc), Just(Tif::Ioc)];
    (
        proptest::option::of(quantity()),
        proptest::option::of(price()),
        proptest::option::of(stop),
        proptest::option::of(tif),
    )
        .prop_map(|(quantity, limit, stop, tif)| OrderChange {
            quantity: quantity.and_then(|q| Quantity::from_shares(Shares(q))),
            limit,
            stop,
            tif,
        })
        .prop_filter("changes something", |c| !c.is_empty())
}

/// 1 to 12 whole shares, or any count up to 12 shares to 10^-9 (AAA
/// trades in fractions, BBB in whole shares only).
fn quantity() -> impl Strategy<Value = i64> {
    const ONE: i64 = SHARE_SCALE;
    prop_oneof![(1i64..=12).prop_map(|q| q * ONE), 1i64..=12 * ONE]
}

fn step() -> impl Strategy<Value = Step> {
    let side = || prop_oneof![Just(Side::Buy), Just(Side::Sell)];
    let tif = prop_oneof![
        Just(Tif::Day),
        Just(Tif::Gtc),
        Just(Tif::Ioc),
        Just(Tif::Fok)
    ];
    prop_oneof![
        6 => (0..ACCOUNTS, side(), 0..SYMBOLS.len(), quantity(), kind(), tif).prop_map(
            |(account, side, symbol, quantity, kind, tif)| {
                // ioc and fok take market and limit orders only.
                let tif = match kind {
                    OrderKind::Market | OrderKind::Limit(_) => tif,
                    _ if tif.is_immediate() => Tif::Day,
                    _ => tif,
                };
                Step::Place { account, side, symbol, quantity, kind, tif }
            }
        ),
        2 => (0..ACCOUNTS, side(), 0..SYMBOLS.len(), quantity()).prop_map(
            |(account, side, symbol, quantity)| Step::Market { account, side, symbol, quantity }
        ),
        3 => (
            (0..ACCOUNTS, side(), 0..SYMBOLS.len(), quantity()),
            prop_oneof![Just(OrderClass::Bracket), Just(OrderClass::Oco), Just(OrderClass::Oto)],
            proptest::option::of(price()),
            1i64..=100_000,
            proptest::bool::weighted(0.1),
        )
            .prop_map(|((account, side, symbol, quantity), class, entry, spread, wrong)| {
                Step::Class { account, side, symbol, quantity, class, entry, spread, wrong }
            }),
        1 => (0..ACCOUNTS, side(), 1i64..=3_000_000).prop_map(
            |(account, side, amount)| Step::Notional { account, side, amount }
        ),
        2 => (0..ACCOUNTS, 0usize..8).prop_map(|(account, nth)| Step::Cancel { account, nth }),
        2 => (0..ACCOUNTS, 0usize..8, change())
            .prop_map(|(account, nth, change)| Step::Replace { account, nth, change }),
        1 => (0..ACCOUNTS).prop_map(|account| Step::Reset { account }),
        1 => (0..SYMBOLS.len(), 1u32..=4, 1u32..=4)
            .prop_map(|(symbol, to, from)| Step::Split { symbol, to, from }),
        1 => (0..SYMBOLS.len(), 1i64..=20_000)
            .prop_map(|(symbol, amount)| Step::Dividend { symbol, amount }),
        4 => (50_000i64..=300_000, 50_000i64..=300_000, 0u64..=100, 0u64..=100)
            .prop_map(|(a, b, va, vb)| Step::Prices([a, b], [va, vb])),
    ]
}

/// The trade thread on a fresh database, and what it needs.
struct Rig {
    _dir: TempDir,
    reader: Connection,
    tx: crossbeam_channel::Sender<TradeMsg>,
    rx: Receiver<Event>,
    accounts: Vec<i64>,
    sessions: Vec<SessionId>,
    reqid: u64,
    pending: std::collections::VecDeque<Frame>,
    /// The last price sent of each symbol.
    last: [Option<Money>; 2],
}

impl Rig {
    fn new() -> Rig {
        let dir = TempDir::new("order-model");
        let path = dir.join("pt.db");
        let reader = db::open(&path).expect("open db");
        let mut accounts = Vec::new();
        let mut ids = Vec::new();
        for i in 0..ACCOUNTS {
            let account = add_account(&reader, &format!("user{i}"), START);
            let id = SessionId::from_bytes([i as u8 + 1; 16]);
            let session = NewSession {
                hash: sessions::hash(&id),
                account_id: account,
                created: Timestamp::now(),
                expires: Timestamp(Timestamp::now().0 + 86_400),
                client_addr: "127.0.0.1:1",
                expirable: false,
                worker: "w1",
            };
            sessions::insert(&reader, &session).expect("session");
            accounts.push(account);
            ids.push(id);
        }
        let assets = SYMBOLS
            .iter()
            .map(|s| Asset {
                symbol: Symbol::parse(s).expect("symbol"),
                name: format!("{s} Corp."),
            })
            .collect();
        let (notifier, rx) = Notifier::new(Arc::new(|| Ok(())));
        let (tx, trade_rx) = crossbeam_channel::unbounded();
        let limits = Limits {
            per_account: 1000,
            total: 10_000,
            open_per_account: 6,
            starting_cash: Money(START),
            shorts: SHORTS,
            fees: FEES,
        };
        let conn = db::open(&path).expect("open writer");
        queue::spawn(
            conn,
            Arc::new(RwLock::new(assets)),
            limits,
            trade_rx,
            notifier,
            Default::default(),
            Default::default(),
        )
        .expect("trade thread");
        let terms = SYMBOLS
            .iter()
            .map(|s| {
                let terms = Terms {
                    market: Market::Always,
                    fractional: *s == "AAA",
                    crypto: false,
                };
                (Symbol::parse(s).expect("symbol"), terms)
            })
            .collect();
        tx.send(FeedMsg::Markets(terms, Clock::default()).into())
            .expect("send terms");
        Rig {
            _dir: dir,
            reader,
            tx,
            rx,
            accounts,
            sessions: ids,
            reqid: 0,
            pending: Default::default(),
            last: [None, None],
        }
    }

    fn next_reqid(&mut self) -> String {
        self.reqid += 1;
        self.reqid.to_string()
    }

    /// The next reply frame (the answers of one batch come together).
    fn reply(&mut self) -> Frame {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return frame;
            }
            match self
                .rx
                .recv_timeout(Duration::from_secs(10))
                .expect("a reply")
            {
                Event::Reply { frame, .. } => return frame,
                Event::Replies { frames, .. } => self.pending.extend(frames),
                _ => {}
            }
        }
    }

    /// Sends a cancel nobody owns and waits for its answer: everything sent
    /// before it has been handled.
    fn settle(&mut self) -> Vec<Frame> {
        let reqid = self.next_reqid();
        let cancel = Request::CancelOrder {
            session: self.sessions[0].clone(),
            id: u64::MAX >> 1,
        };
        self.tx
            .send(TradeMsg::Job(job(&reqid, cancel)))
            .expect("send");
        let mut seen = Vec::new();
        loop {
            let frame = self.reply();
            if frame.data.starts_with(format!("{reqid} ").as_bytes()) {
                return seen;
            }
            seen.push(frame);
        }
    }

    fn open_ids(&self, account: i64) -> Vec<u64> {
        self.reader
            .prepare("SELECT id FROM orders WHERE account_id = ?1 AND status IN ('open', 'triggered') ORDER BY id")
            .and_then(|mut s| s.query_map([account], |r| r.get::<_, i64>(0))?.collect::<rusqlite::Result<Vec<_>>>())
            .expect("open orders")
            .into_iter()
            .map(|id| id as u64)
            .collect()
    }
}

fn to(reqid: &str) -> ReplyTo {
    ReplyTo {
        link: Token(1),
        reqid: reqid.to_string(),
    }
}

/// A job from link 1 whose REQID is also its arrival time.
fn job(reqid: &str, request: Request) -> Job {
    Job {
        to: to(reqid),
        origin: Origin {
            client: "127.0.0.1:1".into(),
            worker: "w".into(),
            arrival_ms: reqid.parse().unwrap_or(0),
        },
        request,
    }
}

/// The reason code of a failure frame, if it is one.
fn code(frame: &Frame) -> Option<ReasonCode> {
    let text = std::str::from_utf8(&frame.data).ok()?;
    let mut words = text.split(' ');
    words.next()?;
    ReasonCode::parse(words.next()?)
}

fn check(rig: &Rig, answers: &[Frame]) -> Result<(), TestCaseError> {
    for frame in answers {
        prop_assert_ne!(code(frame), Some(ReasonCode::Internal), "{:?}", frame);
    }
    let negative: i64 = rig
        .reader
        .query_row(
            "SELECT (SELECT count(*) FROM accounts WHERE cash < 0)
                  + (SELECT count(*) FROM positions WHERE quantity = 0
                     OR (quantity > 0 AND cost < 0) OR (quantity < 0 AND cost > 0))",
            [],
            |r| r.get(0),
        )
        .expect("count");
    prop_assert_eq!(negative, 0);
    let report = audit(&rig.reader).expect("audit");
    prop_assert!(report.is_empty(), "{:?}", report);
    Ok(())
}

/// At the price set of `time`, no account filled more of an asset than
/// the volume cap allows (market orders and open orders together; the
/// master's covers are not capped), and no order more than its quantity.
fn check_cap(rig: &Rig, time: i64, volumes: [u64; 2]) -> Result<(), TestCaseError> {
    let mut stmt = rig
        .reader
        .prepare(
            "SELECT account_id, symbol, sum(quantity) FROM transactions
             WHERE time = ?1 AND side IN ('buy', 'sell') GROUP BY account_id, symbol",
        )
        .expect("prepare");
    let rows: Vec<(i64, String, i64)> = stmt
        .query_map([time], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    for (account, symbol, filled) in rows {
        let i = SYMBOLS.iter().position(|s| *s == symbol).expect("symbol");
        if let Some(cap) = FEES.allowance(volumes[i], symbol == "AAA") {
            prop_assert!(
                filled <= cap,
                "account {account} filled {} {symbol}, the cap {}",
                Shares(filled),
                Shares(cap)
            );
        }
    }
    let over: i64 = rig
        .reader
        .query_row(
            "SELECT count(*) FROM orders WHERE filled > quantity
             OR (status = 'filled') <> (filled = quantity)",
            [],
            |r| r.get(0),
        )
        .expect("count");
    prop_assert_eq!(over, 0);
    Ok(())
}

/// Every open trailing stop, after a price set that priced both symbols:
/// its mark is at the last price or beyond it (a sell's the highest, a
/// buy's the lowest), and the last price did not reach its stop unless
/// the volume cap held its fill back (`capped`).
fn check_trailing(rig: &Rig, last: [i64; 2], capped: [bool; 2]) -> Result<(), TestCaseError> {
    let mut stmt = rig
        .reader
        .prepare(
            "SELECT side, symbol, trail, mark FROM orders
             WHERE type = 'trailing-stop' AND status = 'open'",
        )
        .expect("prepare");
    let rows: Vec<(String, String, String, Option<i64>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    for (side, symbol, trail, mark) in rows {
        let i = SYMBOLS.iter().position(|s| *s == symbol).expect("symbol");
        let p = last[i];
        let buy = side == "buy";
        let mark = mark.expect("a priced trailing stop has a mark");
        prop_assert!(
            if buy { mark <= p } else { mark >= p },
            "{side} mark {mark} at {p}"
        );
        let trail = Trail::parse(&trail).expect("trail");
        if let Some(stop) = trail.stop(buy, Money(mark)).filter(|_| !capped[i]) {
            let reached = if buy {
                p >= stop.raw()
            } else {
                p <= stop.raw()
            };
            prop_assert!(!reached, "{side} {trail} from {mark}: {p} reached {stop}");
        }
    }
    Ok(())
}

/// After a price set that priced both symbols, no account is under the
/// maintenance margin while its cash could still buy back a unit (10^-9
/// of AAA, a whole BBB) of one of its shorts.
fn check_maintenance(rig: &Rig, last: [i64; 2]) -> Result<(), TestCaseError> {
    for &account in &rig.accounts {
        let cash: i64 = rig
            .reader
            .query_row("SELECT cash FROM accounts WHERE id = ?1", [account], |r| {
                r.get(0)
            })
            .expect("cash");
        let mut stmt = rig
            .reader
            .prepare("SELECT symbol, quantity, cost FROM positions WHERE account_id = ?1")
            .expect("prepare");
        let held: Vec<(String, Holding)> = stmt
            .query_map([account], |r| {
                Ok((
                    r.get(0)?,
                    Holding {
                        quantity: r.get(1)?,
                        cost: r.get(2)?,
                    },
                ))
            })
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        let price = |s: &str| SYMBOLS.iter().position(|x| *x == s).map(|i| Money(last[i]));
        let standing = Exposure::of(cash, held.iter().map(|(s, h)| (s.as_str(), *h)), &price);
        if !standing.under_maintenance(&SHORTS) {
            continue;
        }
        for (symbol, h) in held.iter().filter(|(_, h)| h.is_short()) {
            let unit = if symbol == "AAA" { 1 } else { SHARE_SCALE };
            let p = price(symbol).expect("priced");
            let one = p.buy_cost(Shares(unit)).expect("cost");
            prop_assert!(
                one.raw() > cash,
                "account {account} under maintenance with {cash} cash, short {} {symbol}",
                Shares(h.quantity)
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn orders_cancels_resets_and_prices_keep_the_books_clean(
        steps in prop::collection::vec(step(), 1..60)
    ) {
        let mut rig = Rig::new();
        let mut answers = Vec::new();
        let mut time = Timestamp::now().0;
        for step in steps {
            match step {
                Step::Place { account, side, symbol, quantity, kind, tif } => {
                    let reqid = rig.next_reqid();
                    let place = Request::PlaceOrder {
                        session: rig.sessions[account].clone(),
                        order: OrderSpec {
                            side,
                            symbol: Symbol::parse(SYMBOLS[symbol]).expect("symbol"),
                            quantity: Quantity::from_shares(Shares(quantity)).expect("quantity"),
                            kind,
                            tif,
                        },
                    };
                    rig.tx.send(TradeMsg::Job(job(&reqid, place))).expect("send");
                    let answer = rig.reply();
                    let accepted = answer.instruction == Instr::OrderAccepted.code();
                    let fine = matches!(
                        code(&answer),
                        Some(ReasonCode::InsufficientFunds
                            | ReasonCode::InsufficientShares
                            | ReasonCode::TooManyOrders
                            | ReasonCode::BadQuantity
                            | ReasonCode::Unavailable)
                    );
                    prop_assert!(accepted || fine, "{:?}", answer);
                }
                Step::Class { account, side, symbol, quantity, class, entry, spread, wrong } => {
                    // The entry: a limit at `entry`, or a market order
                    // placed against the last price (an OCO's reference).
                    let quantity = match SYMBOLS[symbol] {
                        "BBB" => (quantity + SHARE_SCALE - 1) / SHARE_SCALE * SHARE_SCALE,
                        _ => quantity,
                    };
                    let reference = match (class, entry) {
                        (OrderClass::Oco, _) | (_, None) => rig.last[symbol],
                        (_, Some(limit)) => Some(limit),
                    };
                    let Some(reference) = reference else { continue };
                    let long = match class {
                        OrderClass::Oco => side == Side::Sell,
                        _ => side == Side::Buy,
                    };
                    let up = if long != wrong { spread } else { -spread };
                    let take_profit = Money(reference.raw() + up).raw().max(1);
                    let stop_loss = Money(reference.raw() - up).raw().max(1);
                    let (take_profit, stop_loss) = match class {
                        OrderClass::Oto if spread % 2 == 0 => (Some(Money(take_profit)), None),
                        OrderClass::Oto => (None, Some(Money(stop_loss))),
                        _ => (Some(Money(take_profit)), Some(Money(stop_loss))),
                    };
                    let kind = match (class, entry) {
                        (OrderClass::Oco, _) => OrderKind::Limit(take_profit.expect("tp")),
                        (_, Some(limit)) => OrderKind::Limit(limit),
                        (_, None) => OrderKind::Market,
                    };
                    let reqid = rig.next_reqid();
                    let place = Request::PlaceOrderClass {
                        session: rig.sessions[account].clone(),
                        order: OrderSpec {
                            side,
                            symbol: Symbol::parse(SYMBOLS[symbol]).expect("symbol"),
                            quantity: Quantity::from_shares(Shares(quantity)).expect("quantity"),
                            kind,
                            tif: Tif::Gtc,
                        },
                        class: ClassSpec { class, take_profit, stop_loss },
                    };
                    rig.tx.send(TradeMsg::Job(job(&reqid, place))).expect("send");
                    let answer = rig.reply();
                    let accepted = answer.instruction == Instr::OrderAccepted.code();
                    let fine = matches!(
                        code(&answer),
                        Some(ReasonCode::InsufficientFunds
                            | ReasonCode::InsufficientShares
                            | ReasonCode::TooManyOrders
                            | ReasonCode::BadQuantity
                            | ReasonCode::BadPrice
                            | ReasonCode::Unavailable)
                    );
                    prop_assert!(accepted || fine, "{:?}", answer);
                    if wrong && spread > 0 {
                        prop_assert!(!accepted, "exits on the wrong side: {:?}", answer);
                    }
                }
                Step::Market { account, side, symbol, quantity } => {
                    // BBB trades in whole shares: a fraction would be
                    // refused at once, an answer the steps do not wait for.
                    let quantity = match SYMBOLS[symbol] {
                        "BBB" => (quantity + SHARE_SCALE - 1) / SHARE_SCALE * SHARE_SCALE,
                        _ => quantity,
                    };
                    let reqid = rig.next_reqid();
                    let trade = Request::Trade {
                        side,
                        session: rig.sessions[account].clone(),
                        symbol: Symbol::parse(SYMBOLS[symbol]).expect("symbol"),
                        size: Size::Shares(Quantity::from_shares(Shares(quantity)).expect("quantity")),
                    };
                    rig.tx.send(TradeMsg::Job(job(&reqid, trade))).expect("send");
                }
                Step::Notional { account, side, amount } => {
                    let reqid = rig.next_reqid();
                    let trade = Request::Trade {
                        side,
                        session: rig.sessions[account].clone(),
                        symbol: Symbol::parse("AAA").expect("symbol"),
                        size: Size::Notional(Money(amount)),
                    };
                    rig.tx.send(TradeMsg::Job(job(&reqid, trade))).expect("send");
                }
                Step::Cancel { account, nth } => {
                    let open = rig.open_ids(rig.accounts[account]);
                    let Some(&id) = open.get(nth % open.len().max(1)) else { continue };
                    let reqid = rig.next_reqid();
                    let cancel = Request::CancelOrder {
                        session: rig.sessions[account].clone(),
                        id,
                    };
                    rig.tx.send(TradeMsg::Job(job(&reqid, cancel))).expect("send");
                    let answer = rig.reply();
                    prop_assert_eq!(answer.instruction, Instr::CancelSuccess.code(), "{:?}", answer);
                }
                Step::Replace { account, nth, change } => {
                    let open = rig.open_ids(rig.accounts[account]);
                    let Some(&id) = open.get(nth % open.len().max(1)) else { continue };
                    let reqid = rig.next_reqid();
                    let replace = Request::ReplaceOrder {
                        session: rig.sessions[account].clone(),
                        id,
                        change,
                    };
                    rig.tx.send(TradeMsg::Job(job(&reqid, replace))).expect("send");
                    let answer = rig.reply();
                    let fine = matches!(
                        code(&answer),
                        Some(ReasonCode::InsufficientFunds
                            | ReasonCode::InsufficientShares
                            | ReasonCode::BadQuantity
                            | ReasonCode::BadPrice
                            | ReasonCode::BadArguments
                            | ReasonCode::Unavailable)
                    );
                    if answer.instruction == Instr::OrderAccepted.code() {
                        // The old order is gone, the new one open.
                        let open = rig.open_ids(rig.accounts[account]);
                        prop_assert!(!open.contains(&id), "{id} still open");
                        let status: String = rig.reader.query_row(
                            "SELECT status FROM orders WHERE id = ?1",
                            [id as i64],
                            |r| r.get(0),
                        ).expect("old order");
                        prop_assert_eq!(status, "replaced");
                    } else {
                        prop_assert!(fine, "{:?}", answer);
                        prop_assert!(rig.open_ids(rig.accounts[account]).contains(&id));
                    }
                }
                Step::Reset { account } => {
                    let reqid = rig.next_reqid();
                    rig.tx.send(TradeMsg::Reset {
                        to: to(&reqid),
                        account: rig.accounts[account],
                    }).expect("send");
                    answers.extend(rig.settle());
                    prop_assert!(rig.open_ids(rig.accounts[account]).is_empty());
                }
                Step::Split { symbol, to, from } => {
                    time += 1;
                    let action = Action {
                        effective: Timestamp(time),
                        kind: ActionKind::Split { to, from },
                    };
                    let symbol = Symbol::parse(SYMBOLS[symbol]).expect("symbol");
                    rig.tx.send(FeedMsg::Actions(vec![(symbol, action)]).into()).expect("send");
                    answers.extend(rig.settle());
                    check(&rig, &answers)?;
                }
                Step::Dividend { symbol, amount } => {
                    time += 1;
                    let action = Action {
                        effective: Timestamp(time),
                        kind: ActionKind::Dividend(Money(amount)),
                    };
                    let symbol = Symbol::parse(SYMBOLS[symbol]).expect("symbol");
                    rig.tx.send(FeedMsg::Actions(vec![(symbol, action)]).into()).expect("send");
                    answers.extend(rig.settle());
                    check(&rig, &answers)?;
                }
                Step::Prices([a, b], [va, vb]) => {
                    time += 60;
                    rig.last = [Some(Money(a)), Some(Money(b))];
                    let prices: HashMap<Symbol, Money> = [
                        (Symbol::parse("AAA").expect("symbol"), Money(a)),
                        (Symbol::parse("BBB").expect("symbol"), Money(b)),
                    ].into_iter().collect();
                    let volumes: HashMap<Symbol, u64> = [
                        (Symbol::parse("AAA").expect("symbol"), va),
                        (Symbol::parse("BBB").expect("symbol"), vb),
                    ].into_iter().collect();
                    let set = FeedMsg::Prices(prices, volumes, Timestamp(time));
                    rig.tx.send(set.into()).expect("send");
                    answers.extend(rig.settle());
                    check(&rig, &answers)?;
                    // Every symbol had a price: no ioc or fok order outlives it.
                    let immediate: i64 = rig.reader.query_row(
                        "SELECT count(*) FROM orders WHERE tif IN ('ioc', 'fok')
                         AND status IN ('open', 'triggered')",
                        [],
                        |r| r.get(0),
                    ).expect("count");
                    prop_assert_eq!(immediate, 0);
                    check_trailing(&rig, [a, b], [va > 0, vb > 0])?;
                    check_cap(&rig, time, [va, vb])?;
                    check_maintenance(&rig, [a, b])?;
                }
            }
        }
        answers.extend(rig.settle());
        check(&rig, &answers)?;
    }
}
