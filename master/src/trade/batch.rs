//! The trade batch (PROTOCOL.md section 9): every queued order filled at
//! the new price set, in the workers' timestamp order, then every open
//! order ([`OpenOrder`]) tried in arrival order, all in one IMMEDIATE
//! transaction. Runs on the "trade" thread, called by `crate::queue`.
//!
//! Speed comes from touching each row once: cash balances and positions
//! are read the first time an order needs them, kept in memory while the
//! batch runs, and written back once per changed row before COMMIT. The
//! transaction rows are the only per-order writes, through one prepared
//! statement.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use papertrader_common::value::{
    Money, OrderClass, OrderKind, OrderStatus, Quantity, Reason, ReasonCode, SHARE_SCALE, Shares,
    Symbol, Tif, Timestamp,
};
use rusqlite::{CachedStatement, Connection, OptionalExtension, TransactionBehavior, params};

use super::fees::Fees;
use super::orders::{OpenOrder, Step, UPDATE_FILL, UPDATE_MARK, UPDATE_QUANTITY, UPDATE_STATUS};
use super::position::{self, Exposure, Holding, ShortRules, adds_long, adds_short, after_fill};
use super::{Order, Outcome, Side, Size, fill_amount, internal};

const SELECT_CASH: &str = "SELECT cash FROM accounts WHERE id = ?1";
const SELECT_POSITION: &str =
    "SELECT quantity, cost FROM positions WHERE account_id = ?1 AND symbol = ?2";
const INSERT_TRANSACTION: &str =
    "INSERT INTO transactions (account_id, time, side, symbol, quantity, price, order_id)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const UPDATE_CASH: &str = "UPDATE accounts SET cash = ?2 WHERE id = ?1";
const PUT_POSITION: &str = "INSERT INTO positions (account_id, symbol, quantity, cost)
     VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (account_id, symbol) DO UPDATE SET
         quantity = excluded.quantity,
         cost = excluded.cost";
const DELETE_POSITION: &str = "DELETE FROM positions WHERE account_id = ?1 AND symbol = ?2";
const SELECT_HOLDINGS: &str = "SELECT symbol, quantity, cost FROM positions WHERE account_id = ?1";
const HAS_SHORT: &str =
    "SELECT EXISTS (SELECT 1 FROM positions WHERE account_id = ?1 AND quantity < 0)";
const SHORT_ACCOUNTS: &str = "SELECT DISTINCT account_id FROM positions WHERE quantity < 0";
const INSERT_FEE: &str =
    "INSERT INTO transactions (account_id, time, side, symbol, quantity, price, order_id)
     VALUES (?1, ?2, 'fee', ?3, ?4, ?5, ?6)";
/// Cuts an exit's quantity after its sibling's part fill.
const RESIZE: &str = "UPDATE orders SET quantity = ?2, updated = ?3 WHERE id = ?1";
const INSERT_LIQUIDATION: &str =
    "INSERT INTO transactions (account_id, time, side, symbol, quantity, price)
     VALUES (?1, ?2, 'liquidation', ?3, ?4, ?5)";

/// What a batch needs besides the orders and the price set: the short
/// selling rules, the latest price of every symbol (to value accounts
/// for the margin rules), which assets trade in fractions, the fills
/// model and the volume each asset traded since the last price set.
pub struct Rules<'r> {
    /// Short selling and its margins.
    pub shorts: ShortRules,
    /// The latest price of each symbol, this price set's included.
    pub marks: &'r HashMap<Symbol, Money>,
    /// Whether an asset trades in fractions of a share.
    pub fractional: &'r dyn Fn(&Symbol) -> bool,
    /// Commissions, slippage and the volume cap.
    pub fees: Fees,
    /// What a competition's rules change for an account's fills.
    pub bounds: &'r dyn Fn(i64) -> Bounds,
    /// Shares traded in each asset since the last price set (missing or 0:
    /// not reported, so not capped).
    pub volumes: &'r HashMap<Symbol, u64>,
}

/// What a competition's rules (protocol 1.2) change for one account's
/// fills; the default changes nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bounds {
    /// No commission and no slippage (the volume cap still holds).
    pub fee_free: bool,
    /// No sale beyond the shares held.
    pub no_short: bool,
    /// Whole shares only, also in a fill cut by the volume cap.
    pub whole_shares: bool,
}

impl Rules<'_> {
    /// The short selling rules of `account`'s fills.
    pub fn shorts_of(&self, account: i64) -> ShortRules {
        if (self.bounds)(account).no_short {
            ShortRules::off()
        } else {
            self.shorts
        }
    }

    /// The fills model of `account`'s fills.
    pub fn fees_of(&self, account: i64) -> Fees {
        if (self.bounds)(account).fee_free {
            Fees {
                volume_cap_bps: self.fees.volume_cap_bps,
                ..Fees::default()
            }
        } else {
            self.fees
        }
    }
}

/// A short the master covered because its account fell below the
/// maintenance margin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Liquidation {
    /// Whose.
    pub account: i64,
    /// Which asset.
    pub symbol: Symbol,
    /// Shares bought back.
    pub quantity: Shares,
    /// At this price.
    pub price: Money,
    /// `transactions.txid` of its `liquidation` line.
    pub txid: i64,
}

/// What [`run_batch`] did.
#[derive(Debug, Default)]
pub struct Batch {
    /// `(input index, outcome)` of every queued order that ran, by index.
    pub outcomes: Vec<(usize, Outcome)>,
    /// Input indexes of the queued orders left unpriced.
    pub unpriced: Vec<usize>,
    /// `(index in open, change)` of every open order whose status changed,
    /// in the order of `open`.
    pub changes: Vec<(usize, Change)>,
    /// Shorts covered by the maintenance rule, after the orders.
    pub liquidations: Vec<Liquidation>,
}

/// What is left of an open order after a fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rest {
    /// Nothing: it is filled.
    Nothing,
    /// The rest stays live for the next price sets (the volume cap let
    /// only part of it fill).
    Open,
    /// The rest expired: an `ioc` order fills what it can at once.
    Expired,
}

/// How an open order's status changed in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A stop-limit reached its stop and now waits as a limit.
    Triggered,
    /// Filled, all that was left of it or (under the volume cap) a part,
    /// recorded as transaction `txid`.
    Filled {
        /// `transactions.txid`.
        txid: i64,
        /// The fill price.
        price: Money,
        /// The shares this fill took.
        quantity: Shares,
        /// The cash they moved, fees aside.
        amount: Money,
        /// What is left.
        rest: Rest,
    },
    /// Its fill could not be covered.
    Rejected(Reason),
    /// Its time in force ran out.
    Expired,
    /// A trailing stop's mark moved to this price; it stays open.
    Marked(Money),
    /// A held leg whose entry ended having filled: now open, for the
    /// shares the entry filled (its new quantity).
    Activated(Quantity),
    /// An exit whose sibling filled a part: its new quantity, cut by the
    /// shares that part took.
    Resized(Quantity),
    /// Cancelled by the fill of another order of its class (a sibling
    /// exit), or by its entry ending without a fill.
    Cancelled,
}

impl Change {
    /// The status it leaves `order` in; `None` for a change that keeps it
    /// (a mark, a new quantity).
    pub fn status(&self, order: &OpenOrder) -> Option<OrderStatus> {
        Some(match self {
            Change::Triggered => OrderStatus::Triggered,
            Change::Filled { rest, .. } => match rest {
                Rest::Nothing => OrderStatus::Filled,
                Rest::Expired => OrderStatus::Expired,
                // The rest of a stop fills at the next prices, reached
                // or not.
                Rest::Open if order.is_stop() => OrderStatus::Triggered,
                Rest::Open => OrderStatus::Open,
            },
            Change::Rejected(_) => OrderStatus::Rejected,
            Change::Expired => OrderStatus::Expired,
            Change::Activated(_) => OrderStatus::Open,
            Change::Cancelled => OrderStatus::Cancelled,
            Change::Marked(_) | Change::Resized(_) => return None,
        })
    }
}

/// Runs the queued `orders` in `(ts_ms, seq)` order, each at
/// `prices[symbol]`, then tries every order of `open` (which the caller
/// keeps in arrival order) as section 9's table says, all in one
/// `BEGIN IMMEDIATE ... COMMIT`. Returns one [`Outcome`] per queued order
/// that had a price, as `(input index, outcome)` sorted by input index,
/// the input indexes of the queued orders whose symbol has no price in
/// `prices` (not run: queue them again), and every change of an open
/// order's status. An open order past its time in force expires first,
/// priced or not; one that fills is checked like any trade, and becomes
/// `rejected` when it cannot be covered.
///
/// A buy costs `price * quantity` and needs that much cash; a sell needs the
/// shares and takes its part of the position's cost away ([`sold_cost`]);
/// a position sold to zero is deleted. An amount that would overflow is
/// refused with `bad-quantity`, a missing cash or shares with
/// `insufficient-funds` / `insufficient-shares`. A non-positive price (never
/// produced by the price sources) refuses the order with `internal` rather
/// than breaking the CHECK on `transactions.price`. Any SQL error rolls the
/// whole batch back and is returned: nothing is half applied.
pub fn run_batch(
    conn: &mut Connection,
    orders: &[Order],
    open: &[OpenOrder],
    prices: &HashMap<Symbol, Money>,
    now: Timestamp,
) -> rusqlite::Result<Batch> {
    let rules = Rules {
        shorts: ShortRules::off(),
        marks: prices,
        fractional: &|_| true,
        fees: Fees::default(),
        bounds: &|_| Bounds::default(),
        volumes: &HashMap::new(),
    };
    run_batch_with(conn, orders, open, prices, now, &rules)
}

/// [`run_batch`] under `rules`: with short selling on, a sale beyond the
/// shares held opens a short and buys may cover one, both held to the
/// margin rules ([`Book::fill`]); after the orders, every account below
/// the maintenance margin has its shorts covered at this price set
/// ([`Book::maintain`]), in the same transaction.
pub fn run_batch_with<'o>(
    conn: &mut Connection,
    orders: &'o [Order],
    open: &'o [OpenOrder],
    prices: &'o HashMap<Symbol, Money>,
    now: Timestamp,
    rules: &Rules<'_>,
) -> rusqlite::Result<Batch> {
    let mut runnable = Vec::with_capacity(orders.len());
    let mut unpriced = Vec::new();
    for (index, order) in orders.iter().enumerate() {
        match prices.get(&order.symbol) {
            Some(&price) => runnable.push((order.ts_ms, order.seq, index, price)),
            None => unpriced.push(index),
        }
    }
    runnable.sort_unstable_by_key(|&(ts_ms, seq, index, _)| (ts_ms, seq, index));

    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(runnable.len());
    let mut changes = Vec::new();
    let liquidations = {
        let mut book = Book::new(&tx, rules)?;
        for &(_, _, index, price) in &runnable {
            // A notional order's shares come from the price it fills at.
            let order = &orders[index];
            let paid = rules
                .fees_of(order.account)
                .fill_price(order.side, price, None);
            let ticket = Ticket::of(&orders[index], paid).and_then(|t| book.cap(t));
            let outcome = match ticket {
                Ok(ticket) => match book.fill(ticket, price, now)? {
                    Ok(done) => Outcome::Filled {
                        txid: done.txid,
                        quantity: ticket.quantity,
                        price: done.price,
                        time: now,
                    },
                    Err(reason) => Outcome::Refused(reason),
                },
                Err(reason) => Outcome::Refused(reason),
            };
            outcomes.push((index, outcome));
        }
        let mut writes = Writes::new(&tx)?;
        let mut classes = Classes::of(open);
        for (index, order) in open.iter().enumerate() {
            if order.held || classes.ended.contains(&index) {
                continue;
            }
            let quantity = classes.resized.get(&index).copied();
            let quantity = quantity.unwrap_or(order.quantity);
            let Some(change) = try_open(&mut book, order, quantity, prices, now)? else {
                continue;
            };
            // What this change does to the other orders of its class, in
            // the same transaction.
            let mut all = vec![(index, change)];
            all.extend(classes.follow(open, index, &all[0].1));
            for (index, change) in all {
                writes.write(&open[index], &change, now)?;
                changes.push((index, change));
            }
        }
        // Shorts made before short selling was turned off still meet
        // the maintenance margin.
        let liquidations = book.maintain(prices, now)?;
        book.write_back(&tx)?;
        liquidations
    };
    tx.commit()?;
    outcomes.sort_unstable_by_key(|&(index, _)| index);
    Ok(Batch {
        outcomes,
        unpriced,
        changes,
        liquidations,
    })
}

/// The statements that write an open order's change.
struct Writes<'c> {
    status: CachedStatement<'c>,
    fill: CachedStatement<'c>,
    quantity: CachedStatement<'c>,
    resize: CachedStatement<'c>,
    mark: CachedStatement<'c>,
}

impl<'c> Writes<'c> {
    fn new(conn: &'c Connection) -> rusqlite::Result<Writes<'c>> {
        Ok(Writes {
            status: conn.prepare_cached(UPDATE_STATUS)?,
            fill: conn.prepare_cached(UPDATE_FILL)?,
            quantity: conn.prepare_cached(UPDATE_QUANTITY)?,
            resize: conn.prepare_cached(RESIZE)?,
            mark: conn.prepare_cached(UPDATE_MARK)?,
        })
    }

    /// Writes `change` of `order` to its row.
    fn write(
        &mut self,
        order: &OpenOrder,
        change: &Change,
        now: Timestamp,
    ) -> rusqlite::Result<()> {
        let id = order.id;
        let status = change.status(order).map(OrderStatus::name);
        match change {
            Change::Marked(to) => self.mark.execute(params![id, to.raw()])?,
            Change::Resized(q) => self.resize.execute(params![id, q.raw(), now.0])?,
            Change::Activated(q) => self.quantity.execute(params![id, status, now.0, q.raw()])?,
            Change::Filled {
                txid,
                price,
                quantity,
                amount,
                rest,
            } => {
                let txid = (*rest == Rest::Nothing).then_some(*txid);
                let after = order.filled.after(*quantity, *price, *amount);
                self.fill.execute(params![
                    id,
                    status,
                    now.0,
                    txid,
                    after.shares.raw(),
                    after.cost,
                    after.avg.raw()
                ])?
            }
            _ => self
                .status
                .execute(params![id, status, now.0, None::<i64>])?,
        };
        Ok(())
    }
}

/// The open orders that belong to a class, for what a change of one does
/// to the others.
struct Classes {
    /// Index in `open` by order id, for the orders of a class.
    by_id: HashMap<i64, usize>,
    /// Indexes of each order's legs.
    legs: HashMap<i64, Vec<usize>>,
    /// Orders ended in this batch by another's change: not tried.
    ended: std::collections::HashSet<usize>,
    /// The quantities of orders cut or opened in this batch.
    resized: HashMap<usize, Quantity>,
}

impl Classes {
    fn of(open: &[OpenOrder]) -> Classes {
        let mut classes = Classes {
            by_id: HashMap::new(),
            legs: HashMap::new(),
            ended: Default::default(),
            resized: HashMap::new(),
        };
        for (index, order) in open.iter().enumerate() {
            if order.class.is_none() {
                continue;
            }
            classes.by_id.insert(order.id, index);
            if let Some(parent) = order.parent {
                classes.legs.entry(parent).or_default().push(index);
            }
        }
        classes
    }

    /// The changes `change` of `open[index]` brings to its class. An
    /// entry that ends having filled (all of it, or a part before it
    /// expired or was rejected) opens its held legs for the shares it
    /// filled; one that ends with none cancels them, and so does an OCO's
    /// take-profit that ends unfilled. A fill of an exit (a bracket's
    /// leg, either order of an OCO) cuts the other exits by the shares it
    /// took, and cancels them when it completes or nothing is left.
    fn follow(
        &mut self,
        open: &[OpenOrder],
        index: usize,
        change: &Change,
    ) -> Vec<(usize, Change)> {
        let order = &open[index];
        let Some(class) = order.class else {
            return Vec::new();
        };
        let exit = order.parent.is_some() || class == OrderClass::Oco;
        let mut out = Vec::new();
        match change {
            Change::Filled { quantity, rest, .. } if exit => {
                let siblings = match order.parent {
                    Some(parent) => {
                        let mut all = self.legs.get(&parent).cloned().unwrap_or_default();
                        if class == OrderClass::Oco {
                            all.extend(self.by_id.get(&parent).copied());
                        }
                        all
                    }
                    None => self.legs.get(&order.id).cloned().unwrap_or_default(),
                };
                for other in siblings.into_iter().filter(|&i| i != index) {
                    if self.ended.contains(&other) {
                        continue;
                    }
                    let now = self.resized.get(&other).copied();
                    let now = now.unwrap_or(open[other].quantity).raw();
                    let cut = now - quantity.raw();
                    let to = match Quantity::from_shares(Shares(cut)) {
                        Some(q)
                            if *rest != Rest::Nothing && cut > open[other].filled.shares.raw() =>
                        {
                            Change::Resized(q)
                        }
                        _ => Change::Cancelled,
                    };
                    out.push((other, to));
                }
            }
            Change::Filled {
                rest: Rest::Open, ..
            }
            | Change::Triggered
            | Change::Marked(_)
            | Change::Activated(_)
            | Change::Resized(_)
            | Change::Cancelled => {}
            Change::Filled { .. } | Change::Expired | Change::Rejected(_) => {
                let filled = match change {
                    Change::Filled { quantity, .. } => order.filled.shares.raw() + quantity.raw(),
                    _ => order.filled.shares.raw(),
                };
                let legs = self.legs.get(&order.id).cloned().unwrap_or_default();
                for leg in legs {
                    if self.ended.contains(&leg) {
                        continue;
                    }
                    let opened =
                        Quantity::from_shares(Shares(filled)).filter(|_| !exit && open[leg].held);
                    out.push((leg, opened.map_or(Change::Cancelled, Change::Activated)));
                }
            }
        }
        for (i, to) in &out {
            match to {
                Change::Cancelled => {
                    self.ended.insert(*i);
                }
                Change::Resized(q) | Change::Activated(q) => {
                    self.resized.insert(*i, *q);
                }
                _ => {}
            }
        }
        out
    }
}

/// What the price set does to one open order (whose quantity is now
/// `quantity`), the fill included. Under the volume cap the fill takes
/// what the account may still fill of the asset at this price set: the
/// rest stays live (an `ioc` order's expires; a `fok` order that cannot
/// fill whole expires unfilled).
fn try_open<'o>(
    book: &mut Book<'_, 'o, '_>,
    order: &'o OpenOrder,
    quantity: Quantity,
    prices: &HashMap<Symbol, Money>,
    now: Timestamp,
) -> rusqlite::Result<Option<Change>> {
    if now >= order.expires() {
        return Ok(Some(Change::Expired));
    }
    let Some(&price) = prices.get(&order.symbol) else {
        return Ok(None);
    };
    let immediate = order.tif.is_immediate();
    Ok(match order.step(price) {
        // ioc and fok live for one price set: what does not fill expires.
        Step::Wait | Step::Trigger if immediate => Some(Change::Expired),
        // A trailing stop that did not fire follows a better price.
        Step::Wait => order.new_mark(price).map(Change::Marked),
        Step::Trigger => Some(Change::Triggered),
        Step::Fill => {
            let left = quantity.raw() - order.filled.shares.raw();
            let take = book
                .allowed(order.account, &order.symbol)
                .map_or(left, |allowed| allowed.min(left));
            let whole = take == left;
            let part = Quantity::from_shares(Shares(take));
            let Some(part) = part.filter(|_| whole || order.tif != Tif::Fok) else {
                // The cap lets none of it fill now (a fok: not all of it).
                // A stop fires only at a price that fills a part of it; a
                // stop-limit reached its stop all the same, and waits as
                // a limit from now on.
                let stop_limit = matches!(order.kind, OrderKind::StopLimit { .. });
                return Ok(match () {
                    () if immediate => Some(Change::Expired),
                    () if stop_limit && !order.triggered => Some(Change::Triggered),
                    () => None,
                });
            };
            let ticket = Ticket {
                account: order.account,
                side: order.side,
                symbol: &order.symbol,
                quantity: part,
                limit: order.kind.limit(),
                order: Some(order.id),
                before: (order.filled.shares, Money(order.filled.cost)),
            };
            Some(match book.fill(ticket, price, now)? {
                Ok(done) => Change::Filled {
                    txid: done.txid,
                    price: done.price,
                    quantity: part.shares(),
                    amount: done.amount,
                    rest: match () {
                        () if whole => Rest::Nothing,
                        () if immediate => Rest::Expired,
                        () => Rest::Open,
                    },
                },
                Err(reason) => Change::Rejected(reason),
            })
        }
    })
}

/// One fill to try: whose, which side, what and how many.
#[derive(Clone, Copy)]
struct Ticket<'o> {
    account: i64,
    side: Side,
    symbol: &'o Symbol,
    quantity: Quantity,
    /// The limit a slipped fill price may not pass.
    limit: Option<Money>,
    /// The open order it fills, if any (`transactions.order_id`).
    order: Option<i64>,
    /// What that order has filled already and the cash it moved, for the
    /// commission of a part.
    before: (Shares, Money),
}

/// A fill made.
struct Done {
    /// `transactions.txid`.
    txid: i64,
    /// The fill price, slipped.
    price: Money,
    /// The cash it moved, fees aside.
    amount: Money,
}

impl<'o> Ticket<'o> {
    /// The fill a queued order asks for at `price`: a notional order buys
    /// or sells what its amount pays for, rounded down to 10^-9 share.
    fn of(order: &'o Order, price: Money) -> Result<Ticket<'o>, Reason> {
        let quantity = match order.size {
            Size::Shares(quantity) => quantity,
            Size::Notional(amount) => {
                let shares = amount.buys(price).unwrap_or(Shares::ZERO);
                Quantity::from_shares(shares).ok_or_else(|| {
                    let text = format!(
                        "{amount} at {price} comes to {shares} shares; \
                         an order is above 0 and at most 1000000000 shares"
                    );
                    Reason::new(ReasonCode::BadQuantity, text)
                })?
            }
        };
        Ok(Ticket {
            account: order.account,
            side: order.side,
            symbol: &order.symbol,
            quantity,
            limit: None,
            order: None,
            before: (Shares::ZERO, Money(0)),
        })
    }
}

/// A row's value as read from the table and as the batch has left it.
struct Cached<T> {
    loaded: T,
    now: T,
}

impl<T: Copy> Cached<T> {
    fn new(value: T) -> Cached<T> {
        Cached {
            loaded: value,
            now: value,
        }
    }
}

/// The rows the batch has touched and the statements it runs per order.
struct Book<'c, 'o, 'r> {
    /// Cash by account id; `None` for an id with no account.
    cash: HashMap<i64, Option<Cached<i64>>>,
    /// Positions by (account id, symbol); `None` when nothing is held.
    positions: HashMap<(i64, &'o str), Cached<Option<Holding>>>,
    /// The symbols of `positions` by account, for the margin rules.
    touched: HashMap<i64, Vec<&'o str>>,
    /// Shares filled per account and asset in this batch, under a volume
    /// cap.
    used: HashMap<(i64, &'o str), i64>,
    conn: &'c Connection,
    select_cash: CachedStatement<'c>,
    select_position: CachedStatement<'c>,
    insert_transaction: CachedStatement<'c>,
    rules: &'r Rules<'r>,
}

impl<'c, 'o, 'r> Book<'c, 'o, 'r> {
    fn new(conn: &'c Connection, rules: &'r Rules<'r>) -> rusqlite::Result<Book<'c, 'o, 'r>> {
        Ok(Book {
            cash: HashMap::new(),
            positions: HashMap::new(),
            touched: HashMap::new(),
            used: HashMap::new(),
            conn,
            select_cash: conn.prepare_cached(SELECT_CASH)?,
            select_position: conn.prepare_cached(SELECT_POSITION)?,
            insert_transaction: conn.prepare_cached(INSERT_TRANSACTION)?,
            rules,
        })
    }

    /// What `account` may still fill of `symbol` at this price set under
    /// the volume cap (10^-9 shares); `None` without a cap.
    fn allowed(&self, account: i64, symbol: &Symbol) -> Option<i64> {
        let volume = self.rules.volumes.get(symbol).copied().unwrap_or(0);
        let fractional =
            (self.rules.fractional)(symbol) && !(self.rules.bounds)(account).whole_shares;
        let cap = self.rules.fees.allowance(volume, fractional)?;
        let used = self.used.get(&(account, symbol.as_str())).copied();
        Some((cap - used.unwrap_or(0)).max(0))
    }

    /// A queued order cut to what the volume cap allows: as `ioc`, the
    /// rest is not placed; with nothing allowed, `unavailable`.
    fn cap<'t>(&self, mut ticket: Ticket<'t>) -> Result<Ticket<'t>, Reason> {
        let Some(allowed) = self.allowed(ticket.account, ticket.symbol) else {
            return Ok(ticket);
        };
        if allowed >= ticket.quantity.raw() {
            return Ok(ticket);
        }
        match Quantity::from_shares(Shares(allowed)) {
            Some(part) => {
                ticket.quantity = part;
                Ok(ticket)
            }
            None => {
                let text = format!(
                    "the volume cap lets no more {} fill for you at this price; \
                     nothing was changed",
                    ticket.symbol
                );
                Err(Reason::new(ReasonCode::Unavailable, text))
            }
        }
    }

    /// The position `key`, read on first use.
    fn position(&mut self, key: (i64, &'o str)) -> rusqlite::Result<&mut Cached<Option<Holding>>> {
        if !self.positions.contains_key(&key) {
            self.touched.entry(key.0).or_default().push(key.1);
        }
        position_entry(&mut self.positions, &mut self.select_position, key)
    }

    /// Every position of `account` as the batch has left it so far.
    fn holdings(&self, account: i64) -> rusqlite::Result<Vec<(String, Holding)>> {
        let mut stmt = self.conn.prepare_cached(SELECT_HOLDINGS)?;
        let stored = stmt.query_map([account], |row| {
            Ok((
                row.get::<_, String>(0)?,
                Holding {
                    quantity: row.get(1)?,
                    cost: row.get(2)?,
                },
            ))
        })?;
        let mut all: HashMap<String, Holding> = HashMap::new();
        for row in stored {
            let (symbol, held) = row?;
            all.insert(symbol, held);
        }
        for &symbol in self.touched.get(&account).into_iter().flatten() {
            match self.positions.get(&(account, symbol)).and_then(|c| c.now) {
                Some(held) => all.insert(symbol.to_string(), held),
                None => all.remove(symbol),
            };
        }
        let mut out: Vec<(String, Holding)> = all.into_iter().collect();
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Whether `account` owes shares, in the table or in this batch.
    fn has_short(&self, account: i64) -> rusqlite::Result<bool> {
        let in_batch = self.touched.get(&account).into_iter().flatten().any(|&s| {
            self.positions.get(&(account, s)).is_some_and(|c| {
                c.now.is_some_and(Holding::is_short) || c.loaded.is_some_and(Holding::is_short)
            })
        });
        if in_batch {
            return Ok(true);
        }
        self.conn
            .prepare_cached(HAS_SHORT)?
            .query_row([account], |row| row.get(0))
    }

    /// The account's standing with `cash` and its positions, `changed`
    /// standing in for its row of `symbol`.
    fn exposure(
        &self,
        account: i64,
        cash: i64,
        changed: Option<(&str, Option<Holding>)>,
    ) -> rusqlite::Result<Exposure> {
        let mut all = self.holdings(account)?;
        if let Some((symbol, held)) = changed {
            all.retain(|(s, _)| s != symbol);
            all.extend(held.map(|h| (symbol.to_string(), h)));
        }
        let marks = |symbol: &str| self.rules.marks.get(symbol).copied();
        Ok(Exposure::of(
            cash,
            all.iter().map(|(s, h)| (s.as_str(), *h)),
            &marks,
        ))
    }

    /// The margin rules for a fill that leaves `cash` and `after` in
    /// `symbol`: a new or larger short needs the minimum equity before it
    /// and buying power left after it, and so does a buy that adds to a
    /// long while the account owes shares.
    fn margin(
        &self,
        order: &Ticket<'_>,
        before: (i64, Option<Holding>),
        after: (i64, Option<Holding>),
    ) -> rusqlite::Result<Result<(), Reason>> {
        let rules = self.rules.shorts;
        let held = before.1.unwrap_or_default();
        let q = order.quantity.raw();
        let shorting = adds_short(order.side, held, q);
        if !rules.enabled || !(shorting || adds_long(order.side, held, q)) {
            return Ok(Ok(()));
        }
        if !shorting && !self.has_short(order.account)? {
            return Ok(Ok(()));
        }
        let symbol = order.symbol.as_str();
        if shorting {
            let now = self.exposure(order.account, before.0, None)?;
            if now.equity < i128::from(rules.min_equity.raw()) {
                let text = format!(
                    "short selling needs an equity of at least {}; yours is {}",
                    rules.min_equity,
                    position::shown(now.equity)
                );
                return Ok(Err(Reason::new(ReasonCode::InsufficientFunds, text)));
            }
        }
        let then = self.exposure(order.account, after.0, Some((symbol, after.1)))?;
        let power = then.buying_power(&rules);
        if power < 0 {
            let text = format!(
                "margin: cash {} would be short of {}% of the shorts' value {} by {}",
                position::shown(then.cash),
                rules.initial_pct,
                position::shown(then.shorts),
                position::shown(-power)
            );
            return Ok(Err(Reason::new(ReasonCode::InsufficientFunds, text)));
        }
        Ok(Ok(()))
    }

    /// The maintenance rule, after the orders of a price set: an account
    /// whose equity is below `maintenance_pct` of its shorts' value has
    /// each short priced in `prices` bought back, in symbol order, as far
    /// as its cash goes (to a whole share on an asset that trades in whole
    /// shares); each cover is a `liquidation` line.
    fn maintain(
        &mut self,
        prices: &'o HashMap<Symbol, Money>,
        now: Timestamp,
    ) -> rusqlite::Result<Vec<Liquidation>> {
        let mut accounts: Vec<i64> = {
            let mut stmt = self.conn.prepare_cached(SHORT_ACCOUNTS)?;
            stmt.query_map([], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        // And those whose first short this batch made.
        accounts.extend(self.positions.iter().filter_map(|(&(account, _), row)| {
            row.now.is_some_and(Holding::is_short).then_some(account)
        }));
        accounts.sort_unstable();
        accounts.dedup();
        let mut out = Vec::new();
        for account in accounts {
            let Some(cash) =
                cash_entry(&mut self.cash, &mut self.select_cash, account)?.map(|c| c.now)
            else {
                continue;
            };
            let standing = self.exposure(account, cash, None)?;
            if !standing.under_maintenance(&self.rules.shorts) {
                continue;
            }
            let shorts: Vec<(String, Holding)> = self
                .holdings(account)?
                .into_iter()
                .filter(|(_, h)| h.is_short())
                .collect();
            let covered = out.len();
            for (symbol, held) in shorts {
                let Some((symbol, &price)) = prices.get_key_value(symbol.as_str()) else {
                    continue;
                };
                if let Some(done) = self.cover(account, symbol, held, price, now)? {
                    out.push(done);
                }
            }
            if out.len() == covered {
                continue;
            }
            papertrader_common::info!(
                "account {account} under the maintenance margin (equity {}, shorts {}): covered",
                position::shown(standing.equity),
                position::shown(standing.shorts)
            );
        }
        Ok(out)
    }

    /// Buys back as much of the short `held` in `symbol` as cash allows.
    fn cover(
        &mut self,
        account: i64,
        symbol: &'o Symbol,
        held: Holding,
        price: Money,
        now: Timestamp,
    ) -> rusqlite::Result<Option<Liquidation>> {
        let Some(cash) = cash_entry(&mut self.cash, &mut self.select_cash, account)?.map(|c| c.now)
        else {
            return Ok(None);
        };
        let owed = -held.quantity;
        let mut q = owed;
        if price
            .buy_cost(Shares(q))
            .is_none_or(|cost| cost.raw() > cash)
        {
            q = Money(cash).buys(price).map_or(0, Shares::raw).min(owed);
            if !(self.rules.fractional)(symbol) {
                q -= q % SHARE_SCALE;
            }
        }
        let Some(cost) = price.buy_cost(Shares(q)).filter(|_| q > 0) else {
            return Ok(None);
        };
        let Some(after) = after_fill(Side::Buy, held, q, price, cost.raw()) else {
            return Ok(None);
        };
        let txid = self
            .conn
            .prepare_cached(INSERT_LIQUIDATION)?
            .insert(params![account, now.0, symbol.as_str(), q, price.raw()])?;
        if let Some(row) = cash_entry(&mut self.cash, &mut self.select_cash, account)? {
            row.now = cash - cost.raw();
        }
        self.position((account, symbol.as_str()))?.now = after.kept();
        Ok(Some(Liquidation {
            account,
            symbol: symbol.clone(),
            quantity: Shares(q),
            price,
            txid,
        }))
    }

    /// Fills one order at `price` or says why not.
    fn fill(
        &mut self,
        order: Ticket<'o>,
        price: Money,
        now: Timestamp,
    ) -> rusqlite::Result<Result<Done, Reason>> {
        if price.raw() <= 0 {
            let err = format!("price {price} of {} is not positive", order.symbol);
            return Ok(Err(internal("cannot fill an order", err)));
        }
        let Some(account) = cash_entry(&mut self.cash, &mut self.select_cash, order.account)?
        else {
            let err = format!("account {} does not exist", order.account);
            return Ok(Err(internal("cannot fill an order", err)));
        };
        let before_cash = account.now;
        let key = (order.account, order.symbol.as_str());
        let held = self.position(key)?.now;
        let fees = self.rules.fees_of(order.account);
        let price = fees.fill_price(order.side, price, order.limit);
        let shorts = self.rules.shorts_of(order.account);
        let (cash, holding) = match apply(&order, price, before_cash, held, &shorts) {
            Ok(after) => after,
            Err(reason) => return Ok(Err(reason)),
        };
        // The commission comes out of the cash the fill leaves.
        let amount = fill_amount(order.side, price, order.quantity.shares()).unwrap_or(Money(0));
        let Some(fee) = fees.of_part(order.before, (order.quantity.shares(), amount)) else {
            let text = format!("the commission on {} shares overflows", order.quantity);
            return Ok(Err(Reason::new(ReasonCode::BadQuantity, text)));
        };
        if cash < fee.raw() {
            let text = format!(
                "cash {} is below the cost {} and the commission {}",
                Money(before_cash),
                amount,
                fee
            );
            return Ok(Err(Reason::new(ReasonCode::InsufficientFunds, text)));
        }
        let cash = cash - fee.raw();
        if let Err(reason) = self.margin(&order, (before_cash, held), (cash, holding))? {
            return Ok(Err(reason));
        }
        let txid = self.insert_transaction.insert(params![
            order.account,
            now.0,
            order.side.name(),
            order.symbol.as_str(),
            quantity(&order),
            price.raw(),
            order.order,
        ])?;
        if fee.raw() > 0 {
            self.conn.prepare_cached(INSERT_FEE)?.execute(params![
                order.account,
                now.0,
                order.symbol.as_str(),
                quantity(&order),
                fee.raw(),
                order.order,
            ])?;
        }
        if let Some(row) = cash_entry(&mut self.cash, &mut self.select_cash, order.account)? {
            row.now = cash;
        }
        self.position(key)?.now = holding;
        if self.rules.fees.volume_cap_bps > 0 {
            *self.used.entry(key).or_default() += quantity(&order);
        }
        Ok(Ok(Done {
            txid,
            price,
            amount,
        }))
    }

    /// Writes every changed cash balance and position, in key order so that
    /// the B-tree pages are visited in sequence.
    fn write_back(self, conn: &Connection) -> rusqlite::Result<()> {
        let Book {
            cash, positions, ..
        } = self;
        let mut cash: Vec<(i64, i64)> = cash
            .into_iter()
            .filter_map(|(id, row)| row.filter(|c| c.now != c.loaded).map(|c| (id, c.now)))
            .collect();
        cash.sort_unstable();
        let mut update = conn.prepare_cached(UPDATE_CASH)?;
        for (id, value) in cash {
            update.execute(params![id, value])?;
        }

        let mut positions: Vec<((i64, &str), Option<Holding>)> = positions
            .into_iter()
            .filter(|(_, row)| row.now != row.loaded)
            .map(|(key, row)| (key, row.now))
            .collect();
        positions.sort_unstable_by_key(|&(key, _)| key);
        let mut put = conn.prepare_cached(PUT_POSITION)?;
        let mut delete = conn.prepare_cached(DELETE_POSITION)?;
        for ((account, symbol), holding) in positions {
            match holding {
                Some(h) => put.execute(params![account, symbol, h.quantity, h.cost])?,
                None => delete.execute(params![account, symbol])?,
            };
        }
        Ok(())
    }
}

/// The account's cash row, read on first use.
fn cash_entry<'m>(
    cash: &'m mut HashMap<i64, Option<Cached<i64>>>,
    select: &mut CachedStatement<'_>,
    account: i64,
) -> rusqlite::Result<Option<&'m mut Cached<i64>>> {
    let slot = match cash.entry(account) {
        Entry::Occupied(slot) => slot.into_mut(),
        Entry::Vacant(slot) => {
            let loaded: Option<i64> = select.query_row([account], |row| row.get(0)).optional()?;
            slot.insert(loaded.map(Cached::new))
        }
    };
    Ok(slot.as_mut())
}

/// The position row, read on first use.
fn position_entry<'m, 'o>(
    positions: &'m mut HashMap<(i64, &'o str), Cached<Option<Holding>>>,
    select: &mut CachedStatement<'_>,
    key: (i64, &'o str),
) -> rusqlite::Result<&'m mut Cached<Option<Holding>>> {
    Ok(match positions.entry(key) {
        Entry::Occupied(slot) => slot.into_mut(),
        Entry::Vacant(slot) => {
            let loaded = select
                .query_row(params![key.0, key.1], |row| {
                    Ok(Holding {
                        quantity: row.get(0)?,
                        cost: row.get(1)?,
                    })
                })
                .optional()?;
            slot.insert(Cached::new(loaded))
        }
    })
}

/// The order's quantity as the i64 of 10^-9 shares SQLite stores.
fn quantity(order: &Ticket<'_>) -> i64 {
    order.quantity.raw()
}

/// Cash and position after filling `order` at `price`, or why it cannot
/// be: a buy needs its cost in cash; a sale beyond the shares held needs
/// short selling on (the margin rules come after, in [`Book::margin`]).
fn apply(
    order: &Ticket<'_>,
    price: Money,
    cash: i64,
    holding: Option<Holding>,
    shorts: &ShortRules,
) -> Result<(i64, Option<Holding>), Reason> {
    let q = quantity(order);
    let overflow = || {
        Reason::new(
            ReasonCode::BadQuantity,
            format!(
                "{} shares at {price} is beyond the amounts this server can hold",
                order.quantity
            ),
        )
    };
    let amount = fill_amount(order.side, price, order.quantity.shares())
        .ok_or_else(overflow)?
        .raw();
    let held = holding.unwrap_or_default();
    let cash = match order.side {
        Side::Buy if cash < amount => {
            return Err(Reason::new(
                ReasonCode::InsufficientFunds,
                format!("cash {} is below the cost {}", Money(cash), Money(amount)),
            ));
        }
        Side::Buy => cash - amount,
        Side::Sell if !shorts.enabled && held.quantity < q => {
            return Err(Reason::new(
                ReasonCode::InsufficientShares,
                format!(
                    "holding {} shares, selling {}",
                    Shares(held.quantity.max(0)),
                    order.quantity
                ),
            ));
        }
        Side::Sell => cash.checked_add(amount).ok_or_else(overflow)?,
    };
    let after = after_fill(order.side, held, q, price, amount).ok_or_else(overflow)?;
    Ok((cash, after.kept()))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    fn prices(list: &[(&str, i64)]) -> HashMap<Symbol, Money> {
        list.iter().map(|&(s, p)| (sym(s), Money(p))).collect()
    }

    /// Runs a batch that must find a price for every order.
    fn run(conn: &mut Connection, orders: &[Order], list: &[(&str, i64)]) -> Vec<Outcome> {
        let Batch {
            outcomes, unpriced, ..
        } = run_batch(conn, orders, &[], &prices(list), NOW).expect("batch");
        assert!(unpriced.is_empty(), "{unpriced:?}");
        let indexes: Vec<usize> = outcomes.iter().map(|(i, _)| *i).collect();
        assert_eq!(indexes, (0..orders.len()).collect::<Vec<_>>());
        outcomes.into_iter().map(|(_, o)| o).collect()
    }

    fn refusal(outcome: &Outcome) -> &Reason {
        match outcome {
            Outcome::Refused(reason) => reason,
            Outcome::Filled { .. } => panic!("filled: {outcome:?}"),
        }
    }

    fn txid(outcome: &Outcome) -> i64 {
        match outcome {
            Outcome::Filled { txid, .. } => *txid,
            Outcome::Refused(reason) => panic!("refused: {reason}"),
        }
    }

    /// A batch under the default short selling rules (min equity 2,000,
    /// initial 150%, maintenance 30%), every asset fractional.
    fn run_short(conn: &mut Connection, orders: &[Order], list: &[(&str, i64)]) -> Batch {
        let prices = prices(list);
        let rules = Rules {
            shorts: ShortRules::default(),
            marks: &prices,
            fractional: &|s: &Symbol| s.as_str() != "WHL",
            fees: Default::default(),
            bounds: &|_| Bounds::default(),
            volumes: &HashMap::new(),
        };
        run_batch_with(conn, orders, &[], &prices, NOW, &rules).expect("batch")
    }

    fn refused(outcome: &Outcome) -> (ReasonCode, String) {
        match outcome {
            Outcome::Refused(reason) => (reason.code, reason.text.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn shorts_open_add_cover_and_flip() {
        let mut db = test_db("trade-short");
        // 10,000 of cash.
        let sam = add_account(&db.conn, "sam", 100_000_000);
        // Sell 10 never held at 100: a short; cash 11,000.
        let batch = run_short(
            &mut db.conn,
            &[order(sam, Side::Sell, "AAA", 10, 1)],
            &[("AAA", 1_000_000)],
        );
        assert!(
            matches!(batch.outcomes[0].1, Outcome::Filled { .. }),
            "{batch:?}"
        );
        assert_eq!(cash(&db.conn, sam), 110_000_000);
        assert_eq!(
            position(&db.conn, sam, "AAA"),
            Some((-10 * ONE, -10_000_000))
        );
        // Cover 4 at 90: the short keeps its proceeds per share.
        run_short(
            &mut db.conn,
            &[order(sam, Side::Buy, "AAA", 4, 2)],
            &[("AAA", 900_000)],
        );
        assert_eq!(cash(&db.conn, sam), 110_000_000 - 3_600_000);
        assert_eq!(position(&db.conn, sam, "AAA"), Some((-6 * ONE, -6_000_000)));
        // Buy 10 at 80: covers 6 and holds 4 long at 80.
        run_short(
            &mut db.conn,
            &[order(sam, Side::Buy, "AAA", 10, 3)],
            &[("AAA", 800_000)],
        );
        assert_eq!(position(&db.conn, sam, "AAA"), Some((4 * ONE, 3_200_000)));
        assert_eq!(cash(&db.conn, sam), 110_000_000 - 3_600_000 - 8_000_000);
        // Sell 6 at 85: 4 from the long, 2 short.
        run_short(
            &mut db.conn,
            &[order(sam, Side::Sell, "AAA", 6, 4)],
            &[("AAA", 850_000)],
        );
        assert_eq!(position(&db.conn, sam, "AAA"), Some((-2 * ONE, -1_700_000)));
        assert_eq!(
            crate::trade::audit(&db.conn).expect("audit"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn shorts_need_equity_and_margin() {
        let mut db = test_db("trade-short-margin");
        // 1,999.9999 of equity: below the 2,000 a short needs.
        let poor = add_account(&db.conn, "poor", 19_999_999);
        let outcome = &run_short(
            &mut db.conn,
            &[order(poor, Side::Sell, "AAA", 1, 1)],
            &[("AAA", 10_000)],
        )
        .outcomes[0]
            .1;
        let (code, text) = refused(outcome);
        assert_eq!(code, ReasonCode::InsufficientFunds);
        assert!(
            text.starts_with("short selling needs an equity of at least 2000.0000"),
            "{text}"
        );
        // 10,000 of cash shorts at most 20,000 worth (150%: 10,000 + 20,000
        // >= 1.5 x 20,000).
        let rich = add_account(&db.conn, "rich", 100_000_000);
        let over = &run_short(
            &mut db.conn,
            &[order(rich, Side::Sell, "AAA", 201, 1)],
            &[("AAA", 1_000_000)],
        )
        .outcomes[0]
            .1;
        let (code, text) = refused(over);
        assert_eq!(code, ReasonCode::InsufficientFunds);
        assert!(text.starts_with("margin: "), "{text}");
        let at = &run_short(
            &mut db.conn,
            &[order(rich, Side::Sell, "AAA", 200, 2)],
            &[("AAA", 1_000_000)],
        )
        .outcomes[0]
            .1;
        assert!(matches!(at, Outcome::Filled { .. }), "{at:?}");
        // Now a long buy must leave the margin: cash 30,000 holds 30,000
        // back for the short: nothing left to buy with.
        let buy = &run_short(
            &mut db.conn,
            &[order(rich, Side::Buy, "BBB", 1, 3)],
            &[("AAA", 1_000_000), ("BBB", 10_000)],
        )
        .outcomes[0]
            .1;
        assert_eq!(refused(buy).0, ReasonCode::InsufficientFunds);
        // Covering is always allowed while cash lasts.
        let cover = &run_short(
            &mut db.conn,
            &[order(rich, Side::Buy, "AAA", 50, 4)],
            &[("AAA", 1_000_000)],
        )
        .outcomes[0]
            .1;
        assert!(matches!(cover, Outcome::Filled { .. }), "{cover:?}");
        // Shorts off: the sale beyond the shares held is refused as before.
        let batch = run_batch(
            &mut db.conn,
            &[order(poor, Side::Sell, "AAA", 1, 5)],
            &[],
            &prices(&[("AAA", 10_000)]),
            NOW,
        )
        .expect("batch");
        assert_eq!(
            refused(&batch.outcomes[0].1).0,
            ReasonCode::InsufficientShares
        );
        assert_eq!(
            crate::trade::audit(&db.conn).expect("audit"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn below_maintenance_the_master_covers() {
        let mut db = test_db("trade-liquidation");
        let lee = add_account(&db.conn, "lee", 100_000_000);
        let max = add_account(&db.conn, "max", 100_000_000);
        // lee: 10,000 cash, short 150 AAA at 100 (15,000): cash 25,000.
        run_short(
            &mut db.conn,
            &[
                order(lee, Side::Sell, "AAA", 150, 1),
                order(max, Side::Sell, "WHL", 10, 2),
            ],
            &[("AAA", 1_000_000), ("WHL", 1_000_000)],
        );
        // At 140: equity 25,000 - 21,000 = 4,000 < 30% of 21,000 (6,300):
        // covered, all of it, as cash allows 25,000 / 140 = 178 shares.
        let batch = run_short(&mut db.conn, &[], &[("AAA", 1_400_000)]);
        assert_eq!(batch.liquidations.len(), 1, "{batch:?}");
        let l = &batch.liquidations[0];
        assert_eq!(
            (l.account, l.quantity, l.price),
            (lee, Shares(150 * ONE), Money(1_400_000))
        );
        assert_eq!(position(&db.conn, lee, "AAA"), None);
        assert_eq!(cash(&db.conn, lee), 250_000_000 - 210_000_000);
        // max: short 10 WHL (whole shares) at 100, cash 11,000. At 1,500
        // equity is 11,000 - 15,000 < 0: cash covers 7 whole shares (not
        // 7.33...); the rest stays short.
        let batch = run_short(&mut db.conn, &[], &[("WHL", 15_000_000)]);
        assert_eq!(batch.liquidations.len(), 1, "{batch:?}");
        assert_eq!(batch.liquidations[0].quantity, Shares(7 * ONE));
        assert_eq!(position(&db.conn, max, "WHL").map(|p| p.0), Some(-3 * ONE));
        assert_eq!(cash(&db.conn, max), 110_000_000 - 105_000_000);
        let side: String = db
            .conn
            .query_row(
                "SELECT side FROM transactions ORDER BY txid DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .expect("side");
        assert_eq!(side, "liquidation");
        assert_eq!(
            crate::trade::audit(&db.conn).expect("audit"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn buy_then_sell_exact_cash() {
        let mut db = test_db("trade-buy-sell");
        let alice = add_account(&db.conn, "alice", 10_000_000);
        let buy = [order(alice, Side::Buy, "AAA", 3, 1)];
        let out = run(&mut db.conn, &buy, &[("AAA", 1_895_000)]);
        assert_eq!(
            out[0],
            Outcome::Filled {
                txid: 1,
                quantity: Quantity::whole(3).expect("3"),
                price: Money(1_895_000),
                time: NOW
            }
        );
        assert_eq!(cash(&db.conn, alice), 10_000_000 - 5_685_000);
        assert_eq!(position(&db.conn, alice, "AAA"), Some((3 * ONE, 5_685_000)));

        // 2 of 3 shares take 2/3 of the cost: 3 790 000 exactly.
        let sell = [order(alice, Side::Sell, "AAA", 2, 2)];
        let out = run(&mut db.conn, &sell, &[("AAA", 2_000_000)]);
        assert_eq!(txid(&out[0]), 2);
        assert_eq!(cash(&db.conn, alice), 4_315_000 + 4_000_000);
        assert_eq!(position(&db.conn, alice, "AAA"), Some((ONE, 1_895_000)));

        let sell = [order(alice, Side::Sell, "AAA", 1, 3)];
        run(&mut db.conn, &sell, &[("AAA", 1_500_000)]);
        assert_eq!(cash(&db.conn, alice), 9_815_000);
        assert_eq!(position(&db.conn, alice, "AAA"), None, "no zero rows");
        assert_eq!(transaction_count(&db.conn), 3);
    }

    #[test]
    fn average_cost_after_several_buys() {
        let mut db = test_db("trade-avg");
        let bob = add_account(&db.conn, "bob", 100_000_000);
        let orders = [
            order(bob, Side::Buy, "AAA", 1, 1),
            order(bob, Side::Buy, "AAA", 2, 2),
        ];
        // Same batch, same price: 3 x 10.0001.
        run(&mut db.conn, &orders, &[("AAA", 100_001)]);
        assert_eq!(position(&db.conn, bob, "AAA"), Some((3 * ONE, 300_003)));
        run(
            &mut db.conn,
            &[order(bob, Side::Buy, "AAA", 1, 3)],
            &[("AAA", 99_999)],
        );
        // 400 002 / 4 = 100 000.5: AVG_COST rounds half away to 10.0001.
        assert_eq!(position(&db.conn, bob, "AAA"), Some((4 * ONE, 400_002)));
        assert_eq!(super::super::avg_cost(400_002, 4 * ONE), Money(100_001));
        // Selling 1 of 4 takes 100 000.5 -> 100 001 of the cost.
        run(
            &mut db.conn,
            &[order(bob, Side::Sell, "AAA", 1, 4)],
            &[("AAA", 50_000)],
        );
        assert_eq!(position(&db.conn, bob, "AAA"), Some((3 * ONE, 300_001)));
        assert_eq!(cash(&db.conn, bob), 100_000_000 - 300_003 - 99_999 + 50_000);
    }

    #[test]
    fn insufficient_funds_names_both_amounts() {
        let mut db = test_db("trade-funds");
        let carol = add_account(&db.conn, "carol", 1_205_000);
        let out = run(
            &mut db.conn,
            &[order(carol, Side::Buy, "AAA", 10, 1)],
            &[("AAA", 1_895_000)],
        );
        let reason = refusal(&out[0]);
        assert_eq!(reason.code, ReasonCode::InsufficientFunds);
        assert_eq!(reason.text, "cash 120.5000 is below the cost 1895.0000");
        assert_eq!(cash(&db.conn, carol), 1_205_000);
        assert_eq!(transaction_count(&db.conn), 0);
    }

    #[test]
    fn selling_more_than_held_or_never_held() {
        let mut db = test_db("trade-shares");
        let dave = add_account(&db.conn, "dave", 10_000_000);
        let orders = [
            order(dave, Side::Buy, "AAA", 3, 1),
            order(dave, Side::Sell, "AAA", 5, 2),
            order(dave, Side::Sell, "BBB", 1, 3),
        ];
        let out = run(&mut db.conn, &orders, &[("AAA", 10_000), ("BBB", 10_000)]);
        txid(&out[0]);
        let more = refusal(&out[1]);
        assert_eq!(more.code, ReasonCode::InsufficientShares);
        assert_eq!(more.text, "holding 3 shares, selling 5");
        let never = refusal(&out[2]);
        assert_eq!(never.code, ReasonCode::InsufficientShares);
        assert_eq!(never.text, "holding 0 shares, selling 1");
        assert_eq!(position(&db.conn, dave, "AAA"), Some((3 * ONE, 30_000)));
        assert_eq!(position(&db.conn, dave, "BBB"), None);
        assert_eq!(cash(&db.conn, dave), 10_000_000 - 30_000);
    }

    #[test]
    fn orders_run_by_timestamp_then_seq() {
        let mut db = test_db("trade-order");
        let erin = add_account(&db.conn, "erin", 10_000_000);
        let mut tie_sell = order(erin, Side::Sell, "BBB", 2, 50);
        tie_sell.seq = 9;
        let mut tie_buy = order(erin, Side::Buy, "BBB", 2, 50);
        tie_buy.seq = 8;
        // Given sells first: each only fills if its buy ran before it.
        let orders = [
            order(erin, Side::Sell, "AAA", 5, 200),
            tie_sell,
            order(erin, Side::Buy, "AAA", 5, 100),
            tie_buy,
        ];
        let out = run(&mut db.conn, &orders, &[("AAA", 10_000), ("BBB", 20_000)]);
        let ids: Vec<i64> = out.iter().map(txid).collect();
        // Execution order: tie_buy (50/8), tie_sell (50/9), buy AAA, sell AAA.
        assert_eq!(ids, vec![4, 2, 3, 1]);
        assert_eq!(cash(&db.conn, erin), 10_000_000);
        assert_eq!(position(&db.conn, erin, "AAA"), None);
    }

    #[test]
    fn orders_without_a_price_are_returned_untouched() {
        let mut db = test_db("trade-unpriced");
        let fred = add_account(&db.conn, "fred", 10_000_000);
        let orders = [
            order(fred, Side::Buy, "NOPX", 1, 1),
            order(fred, Side::Buy, "AAA", 1, 2),
            order(fred, Side::Sell, "NOPX", 1, 3),
        ];
        let (outcomes, unpriced) =
            run_batch(&mut db.conn, &orders, &[], &prices(&[("AAA", 10_000)]), NOW)
                .map(|b| (b.outcomes, b.unpriced))
                .expect("batch");
        assert_eq!(unpriced, vec![0, 2]);
        assert_eq!(outcomes.len(), 1);
        assert_eq!(outcomes[0].0, 1);
        assert_eq!(cash(&db.conn, fred), 10_000_000 - 10_000);
        assert_eq!(position(&db.conn, fred, "NOPX"), None);
        assert_eq!(transaction_count(&db.conn), 1);

        let (outcomes, unpriced) = run_batch(&mut db.conn, &orders[..1], &[], &HashMap::new(), NOW)
            .map(|b| (b.outcomes, b.unpriced))
            .expect("empty prices");
        assert!(outcomes.is_empty());
        assert_eq!(unpriced, vec![0]);
        assert_eq!(transaction_count(&db.conn), 1);
    }

    #[test]
    fn ten_orders_of_fifteen_percent_fill_six() {
        let mut db = test_db("trade-fifteen");
        let gina = add_account(&db.conn, "gina", 10_000_000);
        let orders: Vec<Order> = (0..10)
            .map(|i| order(gina, Side::Buy, "AAA", 1, 100 - i))
            .collect();
        let out = run(&mut db.conn, &orders, &[("AAA", 1_500_000)]);
        let filled = out
            .iter()
            .filter(|o| matches!(o, Outcome::Filled { .. }))
            .count();
        assert_eq!(filled, 6);
        // The six earliest timestamps (the last six given) filled.
        for (i, o) in out.iter().enumerate() {
            assert_eq!(matches!(o, Outcome::Filled { .. }), i >= 4, "{i}: {o:?}");
        }
        assert_eq!(cash(&db.conn, gina), 1_000_000);
        assert_eq!(position(&db.conn, gina, "AAA"), Some((6 * ONE, 9_000_000)));
    }

    #[test]
    fn cash_must_cover_the_cost_to_the_last_unit() {
        let mut db = test_db("trade-exact");
        let kim = add_account(&db.conn, "kim", 3_000_002);
        let orders = [
            order(kim, Side::Buy, "AAA", 3, 1),
            order(kim, Side::Buy, "AAA", 2, 2),
            order(kim, Side::Buy, "AAA", 1, 3),
        ];
        let out = run(&mut db.conn, &orders, &[("AAA", 1_000_001)]);
        assert_eq!(
            refusal(&out[0]).text,
            "cash 300.0002 is below the cost 300.0003"
        );
        txid(&out[1]);
        assert_eq!(
            refusal(&out[2]).text,
            "cash 100.0000 is below the cost 100.0001"
        );
        // Spending exactly all of it fills.
        let out = run(&mut db.conn, &orders[2..], &[("AAA", 1_000_000)]);
        txid(&out[0]);
        assert_eq!(cash(&db.conn, kim), 0);
    }

    #[test]
    fn overflowing_amount_is_bad_quantity() {
        let mut db = test_db("trade-overflow");
        let hal = add_account(&db.conn, "hal", i64::MAX);
        let out = run(
            &mut db.conn,
            &[order(hal, Side::Buy, "AAA", 1_000_000_000, 1)],
            &[("AAA", i64::MAX / 100)],
        );
        assert_eq!(refusal(&out[0]).code, ReasonCode::BadQuantity);
        assert_eq!(transaction_count(&db.conn), 0);
    }

    #[test]
    fn unknown_account_and_bad_price_are_refused() {
        let mut db = test_db("trade-unknown");
        let ivan = add_account(&db.conn, "ivan", 10_000_000);
        let orders = [
            order(ivan + 1000, Side::Buy, "AAA", 1, 1),
            order(ivan, Side::Buy, "ZERO", 1, 2),
            order(ivan, Side::Buy, "AAA", 1, 3),
        ];
        let out = run(&mut db.conn, &orders, &[("AAA", 10_000), ("ZERO", 0)]);
        assert_eq!(refusal(&out[0]).code, ReasonCode::Internal);
        assert_eq!(refusal(&out[1]).code, ReasonCode::Internal);
        txid(&out[2]);
    }

    #[test]
    fn sql_error_rolls_the_whole_batch_back() {
        let mut db = test_db("trade-rollback");
        let judy = add_account(&db.conn, "judy", 10_000_000);
        run(
            &mut db.conn,
            &[order(judy, Side::Buy, "AAA", 2, 1)],
            &[("AAA", 10_000)],
        );
        db.conn
            .execute_batch(
                "CREATE TEMP TRIGGER boom BEFORE INSERT ON main.transactions
                 WHEN NEW.quantity = 7000000000 BEGIN SELECT RAISE(ABORT, 'boom'); END;",
            )
            .expect("trigger");
        let orders = [
            order(judy, Side::Sell, "AAA", 2, 1),
            order(judy, Side::Buy, "BBB", 1, 2),
            order(judy, Side::Buy, "BBB", 7, 3),
        ];
        let list = prices(&[("AAA", 10_000), ("BBB", 10_000)]);
        run_batch(&mut db.conn, &orders, &[], &list, NOW).expect_err("trigger aborts");
        assert_eq!(cash(&db.conn, judy), 10_000_000 - 20_000);
        assert_eq!(position(&db.conn, judy, "AAA"), Some((2 * ONE, 20_000)));
        assert_eq!(position(&db.conn, judy, "BBB"), None);
        assert_eq!(transaction_count(&db.conn), 1);
        // The connection is usable again afterwards.
        db.conn.execute_batch("DROP TRIGGER boom").expect("drop");
        run_batch(&mut db.conn, &orders, &[], &list, NOW).expect("batch");
        assert_eq!(transaction_count(&db.conn), 4);
    }
}
