//! The trade queue (seed 3.1.7, PROTOCOL.md section 9). Runs on the
//! "trade" thread, which owns the connection that writes trades. Orders
//! are checked when they arrive and answered at once if they cannot be
//! placed; the rest wait for the next price set, then run in one batch, one
//! transaction, in order of the workers' timestamps. Replies go out only
//! after the batch has committed.
//!
//! The same thread keeps the open orders of `placeOrder` ([`OpenOrder`],
//! in arrival order): it stores a new one before `orderAccepted`, tries
//! them all in each batch after the queue, cancels them, resets accounts,
//! expires orders past their time in force (also between price sets), and
//! has the daily equity snapshot taken when a price set of a new UTC day
//! arrives (by the "snapshot" thread, [`super::snapshots`]: the trade
//! thread waits only for its read to begin).

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use papertrader_common::reply::{Fill, Reply};
use papertrader_common::request::{ClassSpec, OrderChange, OrderSpec, Request};
use papertrader_common::value::{
    ClientOrderId, Date, Money, Quantity, Reason, ReasonCode, SessionId, Symbol, Timestamp,
};
use papertrader_common::{Frame, Instr};
use parking_lot::RwLock;
use rusqlite::{Connection, params};

use crate::auth::session_viewer;
use crate::db;
use crate::event::{Event, Notifier};
use crate::job::{Job, ReplyTo};
use crate::market::assets::{SharedTerms, Terms};
use crate::market::calendar::{self, Clock};
use crate::market::feed::FeedMsg;
use crate::market::routes::Staleness;
use crate::market::{Asset, store};
use crate::trade::fees::Fees;
use crate::trade::orders::{self, NewOrder, OpenOrder};
use crate::trade::position::ShortRules;
use crate::trade::snapshots::Snapshots;
use crate::trade::{
    Batch, Change, Order, Outcome, Rest, Rules, Side, Size, run_batch, run_batch_with, standing,
};

/// Work for the trade thread.
pub enum TradeMsg {
    /// A forwarded `purchaseAsset`, `sellAsset`, `placeOrder` or
    /// `cancelOrder`, its arguments parsed.
    Job(Job),
    /// A resetAccount whose password the auth thread has checked.
    Reset {
        /// Where the answer goes.
        to: ReplyTo,
        /// The account to reset.
        account: i64,
    },
    /// Prices, markets, stale assets or corporate actions from the asset
    /// thread.
    Feed(FeedMsg),
    /// Graceful shutdown: answer every queued order `unavailable`, then ack.
    Shutdown(Sender<()>),
}

impl From<FeedMsg> for TradeMsg {
    fn from(msg: FeedMsg) -> TradeMsg {
        TradeMsg::Feed(msg)
    }
}

/// A market order as it arrives.
struct Arrival {
    to: ReplyTo,
    side: Side,
    session: SessionId,
    symbol: Symbol,
    size: Size,
    /// The worker's receive time (TIMESTAMP_MS).
    ts_ms: u64,
}

/// An order in the queue with where its answer goes.
struct Queued {
    to: ReplyTo,
    order: Order,
    /// Price sets that came without a price for its symbol.
    missed: u32,
}

mod admission;
mod games;

/// Price sets an order may wait for its symbol before it is refused, so a
/// failing source or a finished CSV file cannot hold a client forever.
const MAX_MISSED: u32 = 10;

/// How often the thread looks for open orders past their time in force
/// when no price set comes.
const EXPIRY_CHECK: Duration = Duration::from_secs(30);

/// Starts the "trade" thread: loads the open orders and the last prices,
/// then serves `rx`.
pub fn spawn(
    conn: Connection,
    assets: Arc<RwLock<Vec<Asset>>>,
    limits: Limits,
    rx: Receiver<TradeMsg>,
    notifier: Notifier,
    board: standing::Board,
    shared_terms: SharedTerms,
) -> io::Result<JoinHandle<()>> {
    let open = orders::load_live(&conn).map_err(io::Error::other)?;
    let snapshots = match conn.path().filter(|p| !p.is_empty()) {
        Some(path) => Some(Snapshots::spawn(
            db::open(std::path::Path::new(path)).map_err(io::Error::other)?,
        )?),
        None => None,
    };
    let stored = store::last_prices(&conn, &assets.read()).map_err(io::Error::other)?;
    let day = stored
        .values()
        .map(|&(_, time)| time)
        .max()
        .map(Date::of_timestamp);
    let last = stored
        .iter()
        .map(|(s, &(price, _))| (s.clone(), price))
        .collect();
    let priced_at = stored.into_iter().map(|(s, (_, time))| (s, time)).collect();
    let games = games::Games::load(&conn).map_err(io::Error::other)?;
    if !open.is_empty() {
        papertrader_common::info!("{} open orders loaded", open.len());
    }
    thread::Builder::new().name("trade".into()).spawn(move || {
        let mut queue = Queue {
            conn,
            assets,
            notifier,
            limits,
            waiting: Vec::new(),
            per_account: HashMap::new(),
            seq: 0,
            open,
            last,
            priced_at,
            day,
            terms: HashMap::new(),
            shared_terms,
            clock: Clock::default(),
            stale: HashMap::new(),
            snapshots,
            board,
            games,
        };
        loop {
            match rx.recv_timeout(EXPIRY_CHECK) {
                Ok(TradeMsg::Job(job)) => queue.take(job),
                Ok(TradeMsg::Reset { to, account }) => queue.reset(&to, account),
                Ok(TradeMsg::Feed(FeedMsg::Prices(prices, volumes, now))) => {
                    let started = std::time::Instant::now();
                    queue.run(&prices, &volumes, now);
                    // The whole of it, a new day's snapshot hand-off too:
                    // how long the thread took no other work.
                    papertrader_common::debug!(
                        "price set of {} prices at {now} handled in {:?}",
                        prices.len(),
                        started.elapsed()
                    );
                    // After the batch committed: a ranking of the new
                    // prices sees its fills.
                    queue.board.advance();
                }
                Ok(TradeMsg::Feed(FeedMsg::Markets(markets, clock))) => {
                    queue.set_markets(markets, clock)
                }
                Ok(TradeMsg::Feed(FeedMsg::Stale(stale))) => queue.stale = stale,
                Ok(TradeMsg::Feed(FeedMsg::Actions(actions))) => queue.corporate(&actions),
                Ok(TradeMsg::Shutdown(ack)) => {
                    queue.refuse_all();
                    let _ = ack.send(());
                }
                Err(RecvTimeoutError::Timeout) => {
                    queue.end_games(Timestamp::now());
                    queue.expire_due(Timestamp::now())
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        queue.refuse_all();
    })
}

/// How many orders may wait for a price set, and stay open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From one account (`max_waiting_orders_per_account`); beyond it an
    /// order is refused `rate-limited`.
    pub per_account: usize,
    /// In all (`max_waiting_orders`); beyond it `unavailable`.
    pub total: usize,
    /// Open orders per account (`max_open_orders`); beyond it
    /// `too-many-orders`.
    pub open_per_account: usize,
    /// What an account is reset to (`starting_cash`).
    pub starting_cash: Money,
    /// Short selling and its margins (`short_selling`, `short_*`).
    pub shorts: ShortRules,
    /// Commissions and slippage (`fee_*`, `slippage_bps`).
    pub fees: Fees,
}

struct Queue {
    conn: Connection,
    assets: Arc<RwLock<Vec<Asset>>>,
    notifier: Notifier,
    limits: Limits,
    waiting: Vec<Queued>,
    /// Orders waiting per account, in step with `waiting`.
    per_account: HashMap<i64, usize>,
    seq: u64,
    /// Open and triggered orders, in arrival order.
    open: Vec<OpenOrder>,
    /// The latest price of each symbol.
    last: HashMap<Symbol, Money>,
    /// When each symbol's latest price came.
    priced_at: HashMap<Symbol, Timestamp>,
    /// The UTC day of the latest price set.
    day: Option<Date>,
    /// Each asset's market and whether it trades in fractions; an asset
    /// not here never closes and trades in whole shares.
    terms: HashMap<Symbol, Terms>,
    /// The same, for the data threads.
    shared_terms: SharedTerms,
    /// The market-hours clock.
    clock: Clock,
    /// Assets without a good price, and why.
    stale: HashMap<Symbol, Staleness>,
    /// The thread that writes the daily equity snapshots (none for a
    /// database without a file).
    snapshots: Option<Snapshots>,
    /// The leaderboard, told of each price set and reset.
    board: standing::Board,
    /// Competitions and their players (protocol 1.2).
    games: games::Games,
}

impl Queue {
    /// A forwarded request for this thread.
    fn take(&mut self, job: Job) {
        let Job {
            to,
            origin,
            request,
        } = job;
        match request {
            Request::Trade {
                side,
                session,
                symbol,
                size,
            } => self.arrive(Arrival {
                to,
                side,
                session,
                symbol,
                size,
                ts_ms: origin.arrival_ms,
            }),
            Request::PlaceOrder { session, order } => {
                let reply = self.place(&session, &order, origin.arrival_ms, None);
                to.send(&self.notifier, reply);
            }
            Request::Tagged { client, inner } => {
                let reply = match *inner {
                    Request::PlaceOrder { session, order } => {
                        self.place(&session, &order, origin.arrival_ms, Some(&client))
                    }
                    Request::PlaceOrderClass {
                        session,
                        order,
                        class,
                    } => {
                        self.place_class(&session, &order, &class, origin.arrival_ms, Some(&client))
                    }
                    other => {
                        let text = format!("{} cannot be tagged", other.instr().name());
                        Reply::fail(Instr::PlaceOrderTagged, ReasonCode::BadArguments, text)
                    }
                };
                to.send(&self.notifier, reply);
            }
            Request::ReplaceOrder {
                session,
                id,
                change,
            } => {
                let reply = self.replace(&session, id, &change, origin.arrival_ms);
                to.send(&self.notifier, reply);
            }
            Request::PlaceOrderClass {
                session,
                order,
                class,
            } => {
                let reply = self.place_class(&session, &order, &class, origin.arrival_ms, None);
                to.send(&self.notifier, reply);
            }
            Request::Portfolio { session, op } => {
                let reply = self.portfolio_op(&session, &op);
                to.send(&self.notifier, reply);
            }
            Request::Game { session, op } => {
                let reply = self.game_op(&session, &op, &origin.client);
                to.send(&self.notifier, reply);
            }
            Request::CancelOrder { session, id } => {
                let reply = match self.cancel(&session, id) {
                    Ok(()) => Reply::Cancelled(id),
                    Err(reason) => Reply::failure(Instr::CancelOrder, reason),
                };
                to.send(&self.notifier, reply);
            }
            other => {
                let text = format!("{} is not a trade request", other.instr().name());
                let reply = Reply::fail(other.instr(), ReasonCode::Internal, text);
                to.send(&self.notifier, reply);
            }
        }
    }

    /// The arrival checks: the session, the asset list. A failure is
    /// answered at once; a good order waits for the next price set.
    fn arrive(&mut self, arrival: Arrival) {
        match self.check(&arrival) {
            Ok(order) => {
                *self.per_account.entry(order.account).or_default() += 1;
                self.waiting.push(Queued {
                    to: arrival.to,
                    order,
                    missed: 0,
                });
            }
            Err(reason) => {
                let reply = Reply::failure(arrival.side.instr(), reason);
                arrival.to.send(&self.notifier, reply);
            }
        }
    }

    /// Runs every order that has a price in `prices` as one batch, then the
    /// open orders; queued orders without a price wait for the next set.
    fn run(
        &mut self,
        prices: &HashMap<Symbol, Money>,
        volumes: &HashMap<Symbol, u64>,
        now: Timestamp,
    ) {
        self.snapshot_if_new_day(now);
        // Before any fill: a competition that has ended trades no more.
        self.end_games(now);
        self.last
            .extend(prices.iter().map(|(s, p)| (s.clone(), *p)));
        self.priced_at
            .extend(prices.keys().map(|s| (s.clone(), now)));
        self.drop_stale();
        self.refuse_closed(now);
        if self.waiting.is_empty() && self.open.is_empty() && !self.shorts_exist() {
            return;
        }
        // A closed market's price fills nothing: its open orders wait for
        // the open (PROTOCOL.md section 9).
        let prices: HashMap<Symbol, Money> = prices
            .iter()
            .filter(|(symbol, _)| self.closed(symbol, now).is_none())
            .map(|(s, p)| (s.clone(), *p))
            .collect();
        let orders: Vec<Order> = self.waiting.iter().map(|q| q.order.clone()).collect();
        let started = std::time::Instant::now();
        let terms = &self.terms;
        let fractional = |s: &Symbol| terms.get(s).is_some_and(|t| t.fractional);
        let games = &self.games;
        let bounds = |account: i64| games.bounds(account);
        let rules = Rules {
            shorts: self.limits.shorts,
            marks: &self.last,
            fractional: &fractional,
            fees: self.limits.fees,
            bounds: &bounds,
            volumes,
        };
        let result = run_batch_with(&mut self.conn, &orders, &self.open, &prices, now, &rules);
        let waiting = std::mem::take(&mut self.waiting);
        let batch = match result {
            Ok(batch) => batch,
            Err(err) => {
                papertrader_common::error!(
                    "trade batch of {} orders and {} open orders failed and was rolled back: {err}",
                    orders.len(),
                    self.open.len()
                );
                let reason = Reason::new(
                    ReasonCode::Internal,
                    "the trade could not be run; nothing was changed",
                );
                return self.refuse(&waiting, &reason);
            }
        };
        let Batch {
            outcomes,
            unpriced,
            changes,
            liquidations,
        } = batch;
        for l in &liquidations {
            papertrader_common::info!(
                "account {}: {} {} short covered at {} (transaction {})",
                l.account,
                l.quantity,
                l.symbol,
                l.price,
                l.txid
            );
        }
        papertrader_common::debug!(
            "trade batch: {} orders, {} open orders changed, in {:?}",
            outcomes.len(),
            changes.len(),
            started.elapsed()
        );
        apply_changes(&mut self.open, changes);
        let mut slots: Vec<Option<Queued>> = waiting.into_iter().map(Some).collect();
        let replies: Vec<(Queued, Outcome)> = outcomes
            .into_iter()
            .filter_map(|(i, outcome)| slots[i].take().map(|q| (q, outcome)))
            .collect();
        self.waiting = unpriced
            .into_iter()
            .filter_map(|i| slots[i].take())
            .collect();
        self.count_waiting();
        for q in &mut self.waiting {
            q.missed += 1;
        }
        self.send_replies(replies.iter().map(|(q, o)| (q, o.clone())).collect());
    }

    /// Whether any account owes shares (the maintenance rule then runs at
    /// every price set, orders or not).
    fn shorts_exist(&self) -> bool {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM positions WHERE quantity < 0)",
                [],
                |row| row.get(0),
            )
            .unwrap_or(true)
    }

    /// Expires open orders past their time in force when no price set has
    /// done it (a quiet market, or none at all).
    fn expire_due(&mut self, now: Timestamp) {
        if !self.open.iter().any(|o| now >= o.expires()) {
            return;
        }
        match run_batch(&mut self.conn, &[], &self.open, &HashMap::new(), now) {
            Ok(batch) => apply_changes(&mut self.open, batch.changes),
            Err(err) => papertrader_common::error!("cannot expire orders: {err}"),
        }
    }

    /// When `now` starts a later UTC day than the last price set, writes
    /// every account's equity at the last prices as that day's snapshot.
    fn snapshot_if_new_day(&mut self, now: Timestamp) {
        let today = Date::of_timestamp(now);
        let Some(day) = self.day.replace(today) else {
            return;
        };
        if day >= today {
            return;
        }
        let handed = match &self.snapshots {
            Some(snapshots) => snapshots.take(day, self.last.clone()),
            None => false,
        };
        if handed {
            return;
        }
        papertrader_common::warn!("the snapshot thread did not take {day}'s equity: written here");
        match standing::snapshot(&mut self.conn, day, &self.last) {
            Ok(n) => papertrader_common::info!("equity of {n} accounts recorded for {day}"),
            Err(err) => papertrader_common::error!("cannot record the equity of {day}: {err}"),
        }
    }

    /// placeOrder: the arrival checks of section 9, then the order is
    /// stored (durably) before `orderAccepted`.
    fn place(
        &mut self,
        session: &SessionId,
        spec: &OrderSpec,
        arrival_ms: u64,
        client: Option<&ClientOrderId>,
    ) -> Reply {
        let new = match self.check_placement(session, spec, arrival_ms) {
            Ok(new) => new,
            Err(reason) => return Reply::failure(Instr::PlaceOrder, reason),
        };
        if let Err(reason) = self.check_client(new.account, client) {
            return Reply::failure(Instr::PlaceOrder, reason);
        }
        let stored = match client {
            Some(client) => orders::insert_tagged(&mut self.conn, &new, client),
            None => orders::insert(&self.conn, &new),
        };
        match stored {
            Ok(order) => {
                Reply::OrderAccepted(u64::try_from(self.add_open(order)).unwrap_or_default())
            }
            Err(err) => {
                let reason = super::internal("cannot store an order", err);
                Reply::failure(Instr::PlaceOrder, reason)
            }
        }
    }

    /// replaceOrder: the checks of [`Queue::check_replace`], then in one
    /// transaction the new order is stored and the old one ends
    /// `replaced`, before `orderAccepted` with the new order's id.
    fn replace(
        &mut self,
        session: &SessionId,
        id: u64,
        change: &OrderChange,
        arrival_ms: u64,
    ) -> Reply {
        let checked = match self.check_replace(session, id, change, arrival_ms) {
            Ok(checked) => checked,
            Err(reason) => return Reply::failure(Instr::ReplaceOrder, reason),
        };
        let old = checked.old;
        let stored = orders::replace(&mut self.conn, old, &checked.new_order());
        match stored {
            Ok(Some(order)) => {
                self.open.retain(|o| o.id != old);
                Reply::OrderAccepted(u64::try_from(self.add_open(order)).unwrap_or_default())
            }
            Ok(None) => {
                let text = format!("order {id} is not an open order of yours");
                Reply::fail(Instr::ReplaceOrder, ReasonCode::UnknownOrder, text)
            }
            Err(err) => {
                let reason = super::internal("cannot replace an order", err);
                Reply::failure(Instr::ReplaceOrder, reason)
            }
        }
    }

    /// placeOrderClass: the checks of [`Queue::check_class`], then every
    /// order of the class stored in one transaction before
    /// `orderAccepted` with the entry's id (an OCO's: its take-profit's).
    fn place_class(
        &mut self,
        session: &SessionId,
        spec: &OrderSpec,
        class: &ClassSpec,
        arrival_ms: u64,
        client: Option<&ClientOrderId>,
    ) -> Reply {
        let orders = match self.check_class(session, spec, class, arrival_ms) {
            Ok(orders) => orders,
            Err(reason) => return Reply::failure(Instr::PlaceOrderClass, reason),
        };
        if let Err(reason) = self.check_client(orders[0].account, client) {
            return Reply::failure(Instr::PlaceOrderClass, reason);
        }
        match orders::insert_class(&mut self.conn, &orders[0], &orders[1..], client) {
            Ok(stored) => {
                let ids: Vec<i64> = stored.into_iter().map(|o| self.add_open(o)).collect();
                Reply::OrderAccepted(u64::try_from(ids[0]).unwrap_or_default())
            }
            Err(err) => {
                let reason = super::internal("cannot store an order class", err);
                Reply::failure(Instr::PlaceOrderClass, reason)
            }
        }
    }

    /// A client order id must be new among the account's orders
    /// (`bad-arguments` naming the order that has it).
    fn check_client(&self, account: i64, client: Option<&ClientOrderId>) -> Result<(), Reason> {
        let Some(client) = client else {
            return Ok(());
        };
        match orders::tagged(&self.conn, account, client) {
            Ok(None) => Ok(()),
            Ok(Some(id)) => Err(Reason::new(
                ReasonCode::BadArguments,
                format!(
                    "client order id {client} is taken by order {id}; client order ids are unique"
                ),
            )),
            Err(err) => Err(super::internal("cannot look up a client order id", err)),
        }
    }

    /// Keeps a newly stored order among the open ones, in arrival order;
    /// returns its id.
    fn add_open(&mut self, mut order: OpenOrder) -> i64 {
        self.set_session_close(&mut order);
        let id = order.id;
        let at = self
            .open
            .partition_point(|o| (o.arrival_ms, o.id) <= (order.arrival_ms, id));
        self.open.insert(at, order);
        id
    }

    /// cancelOrder: only an open or triggered order of the session's own
    /// account; anything else is `unknown-order`.
    fn cancel(&mut self, session: &SessionId, id: u64) -> Result<(), Reason> {
        let now = Timestamp::now();
        session_viewer(&self.conn, session, now).and_then(|viewer| {
            let index = self
                .open
                .iter()
                .position(|o| u64::try_from(o.id) == Ok(id) && o.account == viewer.book)
                .ok_or_else(|| {
                    let text = format!("order {id} is not an open order of yours");
                    Reason::new(ReasonCode::UnknownOrder, text)
                })?;
            // Any order of a class takes the rest of it along.
            let order = &self.open[index];
            let root = order.parent.unwrap_or(order.id);
            let group: Vec<i64> = match order.class {
                None => vec![order.id],
                Some(_) => self
                    .open
                    .iter()
                    .filter(|o| o.id == root || o.parent == Some(root))
                    .map(|o| o.id)
                    .collect(),
            };
            match orders::cancel_all(&mut self.conn, &group, now) {
                Ok(()) => {
                    self.open.retain(|o| !group.contains(&o.id));
                    Ok(())
                }
                Err(err) => Err(super::internal("cannot cancel an order", err)),
            }
        })
    }

    /// resetAccount, its password checked: in one transaction every open
    /// order is cancelled, every position removed, cash set to
    /// `starting_cash` and a `reset` history line written.
    fn reset(&mut self, to: &ReplyTo, account: i64) {
        let now = Timestamp::now();
        let cash = match self.reset_cash(account) {
            Ok(cash) => cash,
            Err(reason) => {
                to.send(&self.notifier, Reply::failure(Instr::ResetAccount, reason));
                return;
            }
        };
        let result = (|| -> rusqlite::Result<()> {
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(orders::CANCEL_ALL, params![account, now.0])?;
            db::positions::delete_all(&tx, account)?;
            db::accounts::restart(&tx, account, cash, now)?;
            db::transactions::insert_reset(&tx, account, cash, now)?;
            tx.commit()
        })();
        let reply = match result {
            Ok(()) => {
                self.open.retain(|o| o.account != account);
                self.board.advance();
                papertrader_common::info!("account {account} reset to {cash}");
                Reply::Reset(cash)
            }
            Err(err) => {
                let reason = super::internal("cannot reset an account", err);
                Reply::failure(Instr::ResetAccount, reason)
            }
        };
        to.send(&self.notifier, reply);
    }

    /// Sends each answer to its link, frames of one link together, in
    /// the order the orders were run.
    fn send_replies(&self, replies: Vec<(&Queued, Outcome)>) {
        let mut by_link: HashMap<mio::Token, Vec<Frame>> = HashMap::new();
        for (q, outcome) in replies {
            by_link
                .entry(q.to.link)
                .or_default()
                .push(q.to.frame(&reply_of(q, outcome)));
        }
        for (token, frames) in by_link {
            self.notifier.send(Event::Replies { token, frames });
        }
    }

    /// New markets (or clock): every open `day` order on an asset with
    /// market hours now expires at its session's close.
    fn set_markets(&mut self, terms: HashMap<Symbol, Terms>, clock: Clock) {
        self.shared_terms.write().clone_from(&terms);
        self.terms = terms;
        self.clock = clock;
        let mut open = std::mem::take(&mut self.open);
        for order in &mut open {
            self.set_session_close(order);
        }
        self.open = open;
    }

    /// The close of the session an order was placed in (or the next one).
    fn set_session_close(&self, order: &mut OpenOrder) {
        let market = self
            .terms
            .get(&order.symbol)
            .copied()
            .unwrap_or_default()
            .market;
        order.session_close =
            calendar::current_or_next_session(market, self.clock.at(order.created))
                .map(|(_, close)| self.clock.real(close));
    }

    /// Refuses the queued orders whose market closed while they waited.
    fn refuse_closed(&mut self, now: Timestamp) {
        let waiting = std::mem::take(&mut self.waiting);
        let mut refused = Vec::new();
        for q in waiting {
            match self.closed(&q.order.symbol, now) {
                Some(reason) => refused.push((q, reason)),
                None => self.waiting.push(q),
            }
        }
        if refused.is_empty() {
            return;
        }
        self.count_waiting();
        let replies = refused
            .iter()
            .map(|(q, reason)| (q, Outcome::Refused(reason.clone())))
            .collect();
        self.send_replies(replies);
    }

    /// Applies reported splits and dividends.
    fn corporate(&mut self, actions: &[(Symbol, crate::market::provider::Action)]) {
        let terms = &self.terms;
        let fractional = |symbol: &Symbol| terms.get(symbol).is_some_and(|t| t.fractional);
        match super::corporate::apply(&mut self.conn, actions, &fractional, Timestamp::now()) {
            Ok(0) => {}
            Ok(n) => papertrader_common::info!("corporate actions changed {n} accounts"),
            Err(err) => papertrader_common::error!("cannot apply corporate actions: {err}"),
        }
    }

    /// Refuses orders whose asset left the list (`unknown-asset`), whose
    /// price source is failing, or whose price has not come for MAX_MISSED
    /// price sets (`unavailable`, saying how old the last price is).
    fn drop_stale(&mut self) {
        let listed: Vec<Symbol> = self
            .assets
            .read()
            .iter()
            .map(|a| a.symbol.clone())
            .collect();
        let (stale, keep): (Vec<Queued>, Vec<Queued>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|q| {
                let symbol = &q.order.symbol;
                q.missed >= MAX_MISSED
                    || !listed.contains(symbol)
                    || self.stale.get(symbol) == Some(&Staleness::Failing)
            });
        self.waiting = keep;
        self.count_waiting();
        let refusals = stale.iter().map(|q| {
            let symbol = &q.order.symbol;
            let reason = if listed.contains(symbol) {
                self.no_price(symbol, Timestamp::now())
            } else {
                let text = format!("{symbol} left the asset list; the order was not placed");
                Reason::new(ReasonCode::UnknownAsset, text)
            };
            (q, Outcome::Refused(reason))
        });
        self.send_replies(refusals.collect());
    }

    /// Recounts the orders waiting per account after the queue changed.
    fn count_waiting(&mut self) {
        self.per_account.clear();
        for q in &self.waiting {
            *self.per_account.entry(q.order.account).or_default() += 1;
        }
    }

    /// Answers every queued order `unavailable`: it was never placed.
    fn refuse_all(&mut self) {
        self.per_account.clear();
        let waiting = std::mem::take(&mut self.waiting);
        if waiting.is_empty() {
            return;
        }
        papertrader_common::info!(
            "{} queued orders answered unavailable at shutdown",
            waiting.len()
        );
        let reason = Reason::new(
            ReasonCode::Unavailable,
            "the master is shutting down; the order was not placed",
        );
        self.refuse(&waiting, &reason);
    }

    /// Answers each of `queued` with the same refusal.
    fn refuse(&self, queued: &[Queued], reason: &Reason) {
        let replies = queued.iter().map(|q| (q, Outcome::Refused(reason.clone())));
        self.send_replies(replies.collect());
    }
}

/// Applies a batch's changes to the open orders: a triggered, marked,
/// opened, cut or part-filled one stays, the rest leave.
pub(super) fn apply_changes(open: &mut Vec<OpenOrder>, changes: Vec<(usize, Change)>) {
    if changes.is_empty() {
        return;
    }
    let mut gone = vec![false; open.len()];
    for (index, change) in changes {
        let order = &mut open[index];
        match change {
            Change::Triggered => order.triggered = true,
            Change::Marked(mark) => order.mark = Some(mark),
            Change::Activated(quantity) => {
                order.held = false;
                order.quantity = quantity;
            }
            Change::Resized(quantity) => order.quantity = quantity,
            Change::Cancelled => gone[index] = true,
            Change::Rejected(reason) => {
                papertrader_common::info!("order {} rejected: {reason}", order.id);
                gone[index] = true;
            }
            Change::Filled {
                quantity,
                price,
                amount,
                rest: Rest::Open,
                ..
            } => {
                order.filled = order.filled.after(quantity, price, amount);
                order.triggered = order.is_stop();
            }
            Change::Filled { .. } | Change::Expired => gone[index] = true,
        }
    }
    let mut index = 0;
    open.retain(|_| {
        index += 1;
        !gone[index - 1]
    });
}

/// The answer to a queued market order.
fn reply_of(q: &Queued, outcome: Outcome) -> Reply {
    match outcome {
        Outcome::Filled {
            txid,
            quantity,
            price,
            time,
        } => Reply::Filled(Fill {
            side: q.order.side,
            txid,
            symbol: q.order.symbol.clone(),
            quantity,
            price,
            time,
        }),
        Outcome::Refused(reason) => Reply::failure(q.order.side.instr(), reason),
    }
}
