//! The trade queue (seed 3.1.7, PROTOCOL.md section 9). Runs on the
//! "trade" thread, which owns the connection that writes trades. Orders
//! are checked when they arrive and answered at once if they cannot be
//! placed; the rest wait for the next price set, then run in one batch, one
//! transaction, in order of the workers' timestamps. Replies go out only
//! after the batch has committed.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender};
use mio::Token;
use papertrader_common::message::frame;
use papertrader_common::value::{
    Money, Quantity, Reason, ReasonCode, SessionId, Symbol, Timestamp,
};
use papertrader_common::{Frame, Instr};
use parking_lot::RwLock;
use rusqlite::Connection;

use crate::auth::session_account;
use crate::event::{Event, Notifier};
use crate::market::Asset;
use crate::trade::{Order, Outcome, Side, run_batch};

/// Work for the trade thread.
pub enum TradeMsg {
    /// A forwarded purchaseAsset or sellAsset, its arguments parsed.
    Order(Arrival),
    /// A new price set from the asset thread: run the queue.
    Prices(HashMap<Symbol, Money>, Timestamp),
    /// Graceful shutdown: answer every queued order `unavailable`, then ack.
    Shutdown(Sender<()>),
}

/// An order as it arrives from a worker link.
#[derive(Debug)]
pub struct Arrival {
    /// The worker link it came on.
    pub token: Token,
    /// The worker's REQID.
    pub reqid: String,
    /// Buy or sell.
    pub side: Side,
    /// Whose order.
    pub session: SessionId,
    /// What.
    pub symbol: Symbol,
    /// How many.
    pub quantity: Quantity,
    /// The worker's receive time (TIMESTAMP_MS).
    pub ts_ms: u64,
}

/// An order in the queue with where its answer goes.
struct Queued {
    token: Token,
    reqid: String,
    order: Order,
    /// Price sets that came without a price for its symbol.
    missed: u32,
}

/// Price sets an order may wait for its symbol before it is refused, so a
/// failing source or a finished CSV file cannot hold a client forever.
const MAX_MISSED: u32 = 10;

/// Starts the "trade" thread.
pub fn spawn(
    conn: Connection,
    assets: Arc<RwLock<Vec<Asset>>>,
    limits: Limits,
    rx: Receiver<TradeMsg>,
    notifier: Notifier,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new().name("trade".into()).spawn(move || {
        let mut queue = Queue {
            conn,
            assets,
            notifier,
            limits,
            waiting: Vec::new(),
            per_account: HashMap::new(),
            seq: 0,
        };
        for msg in rx.iter() {
            match msg {
                TradeMsg::Order(arrival) => queue.arrive(arrival),
                TradeMsg::Prices(prices, now) => queue.run(&prices, now),
                TradeMsg::Shutdown(ack) => {
                    queue.refuse_all();
                    let _ = ack.send(());
                }
            }
        }
        queue.refuse_all();
    })
}

/// How many orders may wait for a price set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From one account (`max_waiting_orders_per_account`); beyond it an
    /// order is refused `rate-limited`.
    pub per_account: usize,
    /// In all (`max_waiting_orders`); beyond it `unavailable`.
    pub total: usize,
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
}

impl Queue {
    /// The arrival checks: the session, the asset list. A failure is
    /// answered at once; a good order waits for the next price set.
    fn arrive(&mut self, arrival: Arrival) {
        match self.check(&arrival) {
            Ok(order) => {
                *self.per_account.entry(order.account).or_default() += 1;
                self.waiting.push(Queued {
                    token: arrival.token,
                    reqid: arrival.reqid,
                    order,
                    missed: 0,
                });
            }
            Err(reason) => {
                let failure = failure_of(arrival.side);
                let reply = frame(failure, &[arrival.reqid, reason.to_string()]);
                self.notifier.send(Event::Reply {
                    token: arrival.token,
                    frame: reply,
                });
            }
        }
    }

    fn check(&mut self, arrival: &Arrival) -> Result<Order, Reason> {
        if self.waiting.len() >= self.limits.total {
            let text = format!(
                "{} orders wait for prices already; try again after the next update",
                self.waiting.len()
            );
            return Err(Reason::new(ReasonCode::Unavailable, text));
        }
        let account = session_account(&self.conn, &arrival.session, Timestamp::now())?;
        let mine = self.per_account.get(&account.0).copied().unwrap_or(0);
        if mine >= self.limits.per_account {
            let text = format!(
                "{mine} of your orders wait for prices already (at most {}); \
                 try again after the next update",
                self.limits.per_account
            );
            return Err(Reason::new(ReasonCode::RateLimited, text));
        }
        let symbol = arrival.symbol.clone();
        if !self.assets.read().iter().any(|a| a.symbol == symbol) {
            let text = format!("{symbol} is not in the asset list");
            return Err(Reason::new(ReasonCode::UnknownAsset, text));
        }
        self.seq += 1;
        Ok(Order {
            account: account.0,
            side: arrival.side,
            symbol,
            quantity: arrival.quantity,
            ts_ms: arrival.ts_ms,
            seq: self.seq,
        })
    }

    /// Runs every order that has a price in `prices` as one batch; orders
    /// without one wait for the next set.
    fn run(&mut self, prices: &HashMap<Symbol, Money>, now: Timestamp) {
        self.drop_stale();
        if self.waiting.is_empty() {
            return;
        }
        let orders: Vec<Order> = self.waiting.iter().map(|q| q.order.clone()).collect();
        let started = std::time::Instant::now();
        let result = run_batch(&mut self.conn, &orders, prices, now);
        let waiting = std::mem::take(&mut self.waiting);
        let (outcomes, unpriced) = match result {
            Ok(done) => done,
            Err(err) => {
                papertrader_common::error!(
                    "trade batch of {} orders failed and was rolled back: {err}",
                    orders.len()
                );
                let reason = Reason::new(
                    ReasonCode::Internal,
                    "the trade could not be run; nothing was changed",
                );
                let replies = waiting
                    .iter()
                    .map(|q| (q, Outcome::Refused(reason.clone())));
                return self.send_replies(replies.collect());
            }
        };
        papertrader_common::debug!(
            "trade batch: {} orders in {:?}",
            outcomes.len(),
            started.elapsed()
        );
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

    /// Sends each answer to its link, frames of one link together, in
    /// the order the orders were run.
    fn send_replies(&self, replies: Vec<(&Queued, Outcome)>) {
        let mut by_link: HashMap<Token, Vec<Frame>> = HashMap::new();
        for (q, outcome) in replies {
            by_link
                .entry(q.token)
                .or_default()
                .push(reply_frame(q, &outcome));
        }
        for (token, frames) in by_link {
            self.notifier.send(Event::Replies { token, frames });
        }
    }

    /// Refuses orders whose asset left the list (`unknown-asset`) or whose
    /// price has not come for MAX_MISSED price sets (`unavailable`).
    fn drop_stale(&mut self) {
        let listed: Vec<Symbol> = self
            .assets
            .read()
            .iter()
            .map(|a| a.symbol.clone())
            .collect();
        let (stale, keep): (Vec<Queued>, Vec<Queued>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|q| q.missed >= MAX_MISSED || !listed.contains(&q.order.symbol));
        self.waiting = keep;
        self.count_waiting();
        let refusals = stale.iter().map(|q| {
            let symbol = &q.order.symbol;
            let reason = if listed.contains(symbol) {
                let text = format!(
                    "no price for {symbol} came in {MAX_MISSED} updates; the order was not placed"
                );
                Reason::new(ReasonCode::Unavailable, text)
            } else {
                let text = format!("{symbol} left the asset list; the order was not placed");
                Reason::new(ReasonCode::UnknownAsset, text)
            };
            (q, Outcome::Refused(reason))
        });
        self.send_replies(refusals.collect());
    }

    /// Answers every queued order `unavailable`: it was never placed.
    /// Recounts the orders waiting per account after the queue changed.
    fn count_waiting(&mut self) {
        self.per_account.clear();
        for q in &self.waiting {
            *self.per_account.entry(q.order.account).or_default() += 1;
        }
    }

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
        self.send_replies(
            waiting
                .iter()
                .map(|q| (q, Outcome::Refused(reason.clone())))
                .collect(),
        );
    }
}

fn reply_frame(q: &Queued, outcome: &Outcome) -> Frame {
    match outcome {
        Outcome::Filled { txid, price, time } => {
            let success = match q.order.side {
                Side::Buy => Instr::PurchaseSuccess,
                Side::Sell => Instr::SellSuccess,
            };
            let args = [
                q.reqid.clone(),
                txid.to_string(),
                q.order.symbol.to_string(),
                q.order.quantity.to_string(),
                price.to_string(),
                time.to_string(),
            ];
            frame(success, &args)
        }
        Outcome::Refused(reason) => frame(
            failure_of(q.order.side),
            &[q.reqid.clone(), reason.to_string()],
        ),
    }
}

fn failure_of(side: Side) -> Instr {
    match side {
        Side::Buy => Instr::PurchaseFail,
        Side::Sell => Instr::SellFail,
    }
}
