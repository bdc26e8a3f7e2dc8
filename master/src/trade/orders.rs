//! Orders placed with `placeOrder` (PROTOCOL.md section 9): the rows of the
//! `orders` table, the rule that decides at each price set whether an open
//! order triggers or fills, and time in force.
//!
//! The trade thread keeps every open and triggered order in memory, in
//! arrival order ([`OpenOrder`]), loaded from the table at start; the table
//! is the truth and every change of status is written there in the same
//! transaction as the fill that caused it.

use papertrader_common::payload::{Filled, OrderLine};
use papertrader_common::request::OrderSpec;
use papertrader_common::value::{
    ClientOrderId, Date, Money, OrderClass, OrderKind, OrderStatus, Quantity, Reason, Shares,
    Symbol, Tif, Timestamp, Trail,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Side, internal};

/// How long a `gtc` order stays open at most.
pub const GTC_SECONDS: i64 = 90 * 86_400;

/// Most lines `getOrders` sends.
pub const MAX_LISTED: usize = 500;

const COLUMNS: &str = "id, account_id, created, arrival_ms, side, symbol, quantity, type, \
                       limit_price, stop_price, tif, status, updated, txid, trail, mark, \
                       class, parent, filled, filled_cost, filled_avg, client_id";
const INSERT: &str = "INSERT INTO orders (account_id, created, arrival_ms, side, symbol, \
     quantity, type, limit_price, stop_price, tif, status, updated, txid, trail, mark, class, \
     parent)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?2, NULL, ?12, ?13, ?14, ?15)";
/// Sets the status of a live order; `txid` only for a fill.
pub(super) const UPDATE_STATUS: &str =
    "UPDATE orders SET status = ?2, updated = ?3, txid = ?4 WHERE id = ?1";
/// Records a fill of a live order: what has filled so far, its status
/// (`filled` with the completing transaction, or still live), its time.
pub(super) const UPDATE_FILL: &str = "UPDATE orders SET status = ?2, updated = ?3, txid = ?4,
     filled = ?5, filled_cost = ?6, filled_avg = ?7 WHERE id = ?1";
/// Sets a live order's status and quantity: a leg opened at what its
/// entry filled, or an exit cut by its sibling's fill.
pub(super) const UPDATE_QUANTITY: &str =
    "UPDATE orders SET status = ?2, updated = ?3, quantity = ?4 WHERE id = ?1";
/// Moves a trailing stop's mark (its status does not change).
pub(super) const UPDATE_MARK: &str = "UPDATE orders SET mark = ?2 WHERE id = ?1";
/// Ends a live order as replaced by order `?3`.
const REPLACED: &str = "UPDATE orders SET status = 'replaced', updated = ?2, replaced_by = ?3
     WHERE id = ?1 AND status IN ('open', 'triggered')";
const CANCEL: &str = "UPDATE orders SET status = 'cancelled', updated = ?2
     WHERE id = ?1 AND status IN ('open', 'triggered', 'held')";
/// Expires one live order (its competition has ended).
const EXPIRE: &str = "UPDATE orders SET status = 'expired', updated = ?2
     WHERE id = ?1 AND status IN ('open', 'triggered', 'held')";
/// Cancels every live order of an account (a reset).
pub(super) const CANCEL_ALL: &str = "UPDATE orders SET status = 'cancelled', updated = ?2
     WHERE account_id = ?1 AND status IN ('open', 'triggered', 'held')";

/// An order that may still fill: `open`, or a `triggered` stop-limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOrder {
    /// `orders.id`, the orderID.
    pub id: i64,
    /// The owner's `accounts.id`.
    pub account: i64,
    /// Buy or sell.
    pub side: Side,
    /// The asset.
    pub symbol: Symbol,
    /// Shares.
    pub quantity: Quantity,
    /// Type and prices.
    pub kind: OrderKind,
    /// Time in force.
    pub tif: Tif,
    /// When it was placed (master time).
    pub created: Timestamp,
    /// The worker's TIMESTAMP_MS: open orders are tried in this order.
    pub arrival_ms: u64,
    /// Whether a stop-limit's stop was reached, or a stop or trailing
    /// stop partly filled (its rest fills at the next prices, reached or
    /// not).
    pub triggered: bool,
    /// What has filled so far (less than `quantity`: it would not be
    /// live).
    pub filled: Progress,
    /// A trailing stop's mark: the highest price since it was placed (a
    /// sell) or the lowest (a buy); `None` before the first.
    pub mark: Option<Money>,
    /// The class it was placed with.
    pub class: Option<OrderClass>,
    /// A leg's entry (an OCO's stop-loss: its take-profit).
    pub parent: Option<i64>,
    /// A leg waiting for its entry to fill: not tried until then.
    pub held: bool,
    /// For a `day` order on an asset with market hours: the close of
    /// the session it was placed in (or the next one, if placed while
    /// the market was closed), as set by the trade thread.
    pub session_close: Option<Timestamp>,
}

/// What a price does to an open order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing: it keeps waiting.
    Wait,
    /// A stop-limit's stop is reached but its limit is not: `triggered`.
    Trigger,
    /// It fills at this price (a stop-limit may trigger and fill at once).
    Fill,
}

impl OpenOrder {
    /// Section 9's table: what price `p` does to this order.
    pub fn step(&self, p: Money) -> Step {
        let buy = self.side == Side::Buy;
        let within_limit = |limit: Money| if buy { p <= limit } else { p >= limit };
        let stop_reached = |stop: Money| if buy { p >= stop } else { p <= stop };
        match self.kind {
            OrderKind::Market => Step::Fill,
            OrderKind::Limit(limit) if within_limit(limit) => Step::Fill,
            OrderKind::Stop(_) | OrderKind::TrailingStop(_) if self.triggered => Step::Fill,
            OrderKind::Stop(stop) if stop_reached(stop) => Step::Fill,
            OrderKind::TrailingStop(trail) => match self.mark.and_then(|m| trail.stop(buy, m)) {
                Some(stop) if stop_reached(stop) => Step::Fill,
                _ => Step::Wait,
            },
            OrderKind::StopLimit { stop, limit } => {
                let triggered = self.triggered || stop_reached(stop);
                match (triggered, within_limit(limit)) {
                    (true, true) => Step::Fill,
                    (true, false) if !self.triggered => Step::Trigger,
                    _ => Step::Wait,
                }
            }
            _ => Step::Wait,
        }
    }

    /// Whether it waits for a stop (a stop, stop-limit or trailing stop):
    /// once part of it filled, its rest fills at the next prices.
    pub fn is_stop(&self) -> bool {
        self.kind.stop().is_some() || self.kind.trail().is_some()
    }

    /// What is left to fill: the quantity less the shares filled.
    pub fn remaining(&self) -> Quantity {
        Quantity::from_shares(Shares(self.quantity.raw() - self.filled.shares.raw()))
            .unwrap_or(self.quantity)
    }

    /// The mark a trailing stop moves to at price `p` that did not fill
    /// it, if it moves: up to a new high for a sell, down to a new low
    /// for a buy (the first price sets it).
    pub fn new_mark(&self, p: Money) -> Option<Money> {
        self.kind.trail()?;
        let better = match (self.mark, self.side) {
            (None, _) => true,
            (Some(mark), Side::Sell) => p > mark,
            (Some(mark), Side::Buy) => p < mark,
        };
        better.then_some(p)
    }

    /// When the order stops being open: 00:00 UTC after the day it was
    /// placed for `day` (its market's close, for an asset with market
    /// hours), 90 days after it was placed for `gtc`; `ioc` and `fok`
    /// end at their first price set (see `batch`), or like `day`.
    pub fn expires(&self) -> Timestamp {
        match (self.tif, self.session_close) {
            (Tif::Day | Tif::Ioc | Tif::Fok, Some(close)) => close,
            _ => expiry(self.created, self.tif),
        }
    }

    /// The price the order reserves cash at, per share (section 9): its
    /// limit, else the current price `last` (`None` when none is known).
    pub fn reserve_price(&self, last: Option<Money>) -> Option<Money> {
        self.kind.limit().or(last)
    }
}

/// What of an order has filled: the shares, the cash they moved (fees
/// aside) and their average price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Shares filled.
    pub shares: Shares,
    /// The cash they moved: what the fills cost or brought, each rounded
    /// as a fill is.
    pub cost: i64,
    /// The fill prices weighted by their shares, rounded half away from
    /// zero to 1/10 000 at each fill (one fill's price exactly); 0 before
    /// the first.
    pub avg: Money,
}

impl Progress {
    /// After one more fill of `shares` at `price` moving `amount`.
    pub fn after(self, shares: Shares, price: Money, amount: Money) -> Progress {
        let total = self.shares.raw().saturating_add(shares.raw());
        let weighted = i128::from(self.avg.raw()) * i128::from(self.shares.raw())
            + i128::from(price.raw()) * i128::from(shares.raw());
        let avg = super::round_half_away(weighted, i128::from(total.max(1)));
        Progress {
            shares: Shares(total),
            cost: self.cost.saturating_add(amount.raw()),
            avg: Money(i64::try_from(avg).unwrap_or(i64::MAX)),
        }
    }
}

/// See [`OpenOrder::expires`].
pub fn expiry(created: Timestamp, tif: Tif) -> Timestamp {
    match tif {
        // An ioc or fok order ends at its first price set; should none
        // come, it ends with the day as a day order does.
        Tif::Day | Tif::Ioc | Tif::Fok => {
            let day = Date::of_timestamp(created);
            Timestamp(day.start().0 + 86_400)
        }
        Tif::Gtc => Timestamp(created.0.saturating_add(GTC_SECONDS)),
    }
}

/// A new order to store.
#[derive(Debug, Clone, Copy)]
pub struct NewOrder<'a> {
    /// The owner.
    pub account: i64,
    /// Buy or sell.
    pub side: Side,
    /// The asset.
    pub symbol: &'a Symbol,
    /// Shares.
    pub quantity: Quantity,
    /// Type and prices.
    pub kind: OrderKind,
    /// Time in force.
    pub tif: Tif,
    /// Master time of arrival.
    pub created: Timestamp,
    /// The worker's TIMESTAMP_MS.
    pub arrival_ms: u64,
    /// A trailing stop's first mark (the last price when it was placed).
    pub mark: Option<Money>,
    /// Whether it starts triggered (a triggered stop-limit replaced with
    /// its stop unchanged).
    pub triggered: bool,
    /// The class it is placed with.
    pub class: Option<OrderClass>,
    /// A leg's entry.
    pub parent: Option<i64>,
    /// A leg that waits for its entry (`held`).
    pub held: bool,
}

impl<'a> NewOrder<'a> {
    /// A simple order of `account` as `spec` asks, open at `created`,
    /// a trailing stop marked at `mark`.
    pub fn of(
        account: i64,
        spec: &'a OrderSpec,
        created: Timestamp,
        arrival_ms: u64,
        mark: Option<Money>,
    ) -> NewOrder<'a> {
        NewOrder {
            account,
            side: spec.side,
            symbol: &spec.symbol,
            quantity: spec.quantity,
            kind: spec.kind,
            tif: spec.tif,
            created,
            arrival_ms,
            mark,
            triggered: false,
            class: None,
            parent: None,
            held: false,
        }
    }
}

/// Stores a new open order (autocommit: durable when this returns, under
/// `synchronous=FULL`) and returns it as an [`OpenOrder`].
pub fn insert(conn: &Connection, new: &NewOrder<'_>) -> rusqlite::Result<OpenOrder> {
    let quantity = new.quantity.raw();
    let arrival = i64::try_from(new.arrival_ms).unwrap_or(i64::MAX);
    conn.prepare_cached(INSERT)?.execute(params![
        new.account,
        new.created.0,
        arrival,
        new.side.name(),
        new.symbol.as_str(),
        quantity,
        new.kind.name(),
        new.kind.limit().map(Money::raw),
        new.kind.stop().map(Money::raw),
        new.tif.name(),
        match (new.held, new.triggered) {
            (true, _) => "held",
            (false, true) => "triggered",
            (false, false) => "open",
        },
        new.kind.trail().map(|t| t.to_string()),
        new.kind.trail().and(new.mark).map(Money::raw),
        new.class.map(OrderClass::name),
        new.parent,
    ])?;
    Ok(OpenOrder {
        id: conn.last_insert_rowid(),
        account: new.account,
        side: new.side,
        symbol: new.symbol.clone(),
        quantity: new.quantity,
        kind: new.kind,
        tif: new.tif,
        created: new.created,
        arrival_ms: new.arrival_ms,
        triggered: new.triggered,
        filled: Progress::default(),
        mark: new.kind.trail().and(new.mark),
        class: new.class,
        parent: new.parent,
        held: new.held,
        session_close: None,
    })
}

/// Stores a new open order with the trading program's id `client`, in one
/// transaction.
pub fn insert_tagged(
    conn: &mut Connection,
    new: &NewOrder<'_>,
    client: &ClientOrderId,
) -> rusqlite::Result<OpenOrder> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let order = insert(&tx, new)?;
    tag(&tx, order.id, client)?;
    tx.commit()?;
    Ok(order)
}

fn tag(conn: &Connection, id: i64, client: &ClientOrderId) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE orders SET client_id = ?2 WHERE id = ?1")?
        .execute(params![id, client.as_str()])?;
    Ok(())
}

/// The account's order that has the client id `client`, if one has.
pub fn tagged(
    conn: &Connection,
    account: i64,
    client: &ClientOrderId,
) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM orders WHERE account_id = ?1 AND client_id = ?2")?
        .query_row(params![account, client.as_str()], |row| row.get(0))
        .optional()
}

/// Stores the orders of a class in one transaction: `entry` first (with
/// the client id, when there is one), then its legs, each naming it as
/// parent; returns them in that order.
pub fn insert_class(
    conn: &mut Connection,
    entry: &NewOrder<'_>,
    legs: &[NewOrder<'_>],
    client: Option<&ClientOrderId>,
) -> rusqlite::Result<Vec<OpenOrder>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let first = insert(&tx, entry)?;
    if let Some(client) = client {
        tag(&tx, first.id, client)?;
    }
    let mut out = vec![first];
    for leg in legs {
        let leg = NewOrder {
            parent: Some(out[0].id),
            ..*leg
        };
        out.push(insert(&tx, &leg)?);
    }
    tx.commit()?;
    Ok(out)
}

/// Cancels the live orders `ids` (a class) in one transaction.
pub fn cancel_all(conn: &mut Connection, ids: &[i64], now: Timestamp) -> rusqlite::Result<()> {
    end_all(conn, ids, CANCEL, now)
}

/// Expires the live orders `ids` (a competition's, at its end) in one
/// transaction.
pub fn expire_all(conn: &mut Connection, ids: &[i64], now: Timestamp) -> rusqlite::Result<()> {
    end_all(conn, ids, EXPIRE, now)
}

/// Runs `sql` (`?1` the order, `?2` the time) on each of `ids` in one
/// transaction.
fn end_all(conn: &mut Connection, ids: &[i64], sql: &str, now: Timestamp) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for &id in ids {
        tx.prepare_cached(sql)?.execute(params![id, now.0])?;
    }
    tx.commit()
}

/// Replaces live order `old` by `new` in one transaction: `new` is
/// stored, `old` ends `replaced` naming it. `Ok(None)` when `old` was
/// not live (nothing is changed).
pub fn replace(
    conn: &mut Connection,
    old: i64,
    new: &NewOrder<'_>,
) -> rusqlite::Result<Option<OpenOrder>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let order = insert(&tx, new)?;
    if tx.execute(REPLACED, params![old, new.created.0, order.id])? != 1 {
        return Ok(None);
    }
    tx.commit()?;
    Ok(Some(order))
}

/// Marks a live order cancelled; whether it was live.
pub fn cancel(conn: &Connection, id: i64, now: Timestamp) -> rusqlite::Result<bool> {
    Ok(conn.prepare_cached(CANCEL)?.execute(params![id, now.0])? == 1)
}

/// Every open and triggered order, in arrival order.
pub fn load_live(conn: &Connection) -> rusqlite::Result<Vec<OpenOrder>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM orders WHERE status IN ('open', 'triggered', 'held')
         ORDER BY arrival_ms, id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], |row| Ok(read(row)))?;
    let mut live = Vec::new();
    for row in rows {
        match row?.and_then(Stored::into_open) {
            Ok(order) => live.push(order),
            Err(err) => papertrader_common::error!("an order row is malformed and left out: {err}"),
        }
    }
    Ok(live)
}

/// One row as read, before it becomes a line or an open order.
struct Stored {
    account: i64,
    arrival_ms: u64,
    /// What has filled.
    filled: Progress,
    line: OrderLine,
}

impl Stored {
    fn into_open(self) -> Result<OpenOrder, RowError> {
        let line = self.line;
        let bad = |what: String| RowError::Value(line.id.to_string(), what);
        let quantity = line.quantity;
        Ok(OpenOrder {
            id: i64::try_from(line.id).map_err(|e| bad(e.to_string()))?,
            account: self.account,
            side: line.side,
            symbol: line.symbol,
            quantity,
            kind: line.kind,
            tif: line.tif,
            created: line.created,
            arrival_ms: self.arrival_ms,
            triggered: line.status == OrderStatus::Triggered,
            filled: self.filled,
            mark: line.mark,
            class: line.class,
            parent: line
                .parent
                .map(|p| i64::try_from(p).map_err(|e| bad(e.to_string())))
                .transpose()?,
            held: line.status == OrderStatus::Held,
            session_close: None,
        })
    }
}

/// Why a stored order row cannot be read back (a row written by this code
/// never is one).
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    /// SQLite could not give a column.
    #[error("{0}")]
    Column(rusqlite::Error),
    /// Order `id` holds a value the codec refuses: what.
    #[error("order {0}: {1}")]
    Value(String, String),
}

/// Reads one row of [`COLUMNS`].
fn read(row: &Row<'_>) -> Result<Stored, RowError> {
    let get_i64 = |i: usize| row.get::<_, i64>(i).map_err(RowError::Column);
    let get_text = |i: usize| row.get::<_, String>(i).map_err(RowError::Column);
    let get_opt = |i: usize| row.get::<_, Option<i64>>(i).map_err(RowError::Column);
    let id = get_i64(0)?;
    let bad = |what: String| RowError::Value(id.to_string(), what);
    let side = get_text(4)?;
    let side = Side::parse(&side).ok_or_else(|| bad(format!("side {side:?}")))?;
    let symbol = Symbol::parse(&get_text(5)?).map_err(|e| bad(e.to_string()))?;
    let quantity = get_i64(6)?;
    let quantity = Quantity::from_shares(Shares(quantity))
        .ok_or_else(|| bad(format!("quantity {quantity} (10^-9 shares)")))?;
    let limit = get_opt(8)?.map(Money);
    let stop = get_opt(9)?.map(Money);
    let trail = row
        .get::<_, Option<String>>(14)
        .map_err(RowError::Column)?
        .map(|t| Trail::parse(&t).map_err(|r| bad(r.to_string())))
        .transpose()?;
    let kind =
        OrderKind::from_parts(&get_text(7)?, limit, stop, trail).map_err(|r| bad(r.to_string()))?;
    let tif = Tif::parse(&get_text(10)?).map_err(|e| bad(e.to_string()))?;
    let status = OrderStatus::parse(&get_text(11)?).map_err(|e| bad(e.to_string()))?;
    let progress = Progress {
        shares: Shares(get_i64(18)?),
        cost: get_i64(19)?,
        avg: Money(get_i64(20)?),
    };
    let filled = match progress.shares.raw() {
        0 => None,
        raw => Some(Filled {
            quantity: Quantity::from_shares(progress.shares)
                .filter(|q| *q <= quantity)
                .ok_or_else(|| bad(format!("filled {raw} (10^-9 shares)")))?,
            avg: Some(progress.avg)
                .filter(|a| a.raw() > 0)
                .ok_or_else(|| bad(format!("average fill price {}", progress.avg)))?,
        }),
    };
    Ok(Stored {
        account: get_i64(1)?,
        arrival_ms: u64::try_from(get_i64(3)?).unwrap_or(0),
        filled: progress,
        line: OrderLine {
            id: u64::try_from(id).map_err(|e| bad(e.to_string()))?,
            created: Timestamp(get_i64(2)?),
            side,
            symbol,
            quantity,
            kind,
            tif,
            status,
            updated: Timestamp(get_i64(12)?),
            txid: get_opt(13)?,
            mark: get_opt(15)?.map(Money),
            class: row
                .get::<_, Option<String>>(16)
                .map_err(RowError::Column)?
                .map(|c| OrderClass::parse(&c).map_err(|e| bad(e.to_string())))
                .transpose()?,
            parent: get_opt(17)?
                .map(|p| u64::try_from(p).map_err(|e| bad(e.to_string())))
                .transpose()?,
            filled,
            client: row
                .get::<_, Option<String>>(21)
                .map_err(RowError::Column)?
                .map(|c| ClientOrderId::parse(&c).map_err(|e| bad(e.to_string())))
                .transpose()?,
        },
    })
}

/// getOrders: the account's orders, newest first, at most [`MAX_LISTED`].
pub fn listed(conn: &Connection, account: i64) -> Result<Vec<OrderLine>, Reason> {
    let sql = format!(
        "SELECT {COLUMNS} FROM orders WHERE account_id = ?1 ORDER BY id DESC LIMIT {MAX_LISTED}"
    );
    let rows: Vec<Result<Stored, RowError>> = conn
        .prepare_cached(&sql)
        .and_then(|mut stmt| stmt.query_map([account], |row| Ok(read(row)))?.collect())
        .map_err(|err| internal("cannot read orders", err))?;
    rows.into_iter()
        .map(|row| {
            row.map(|s| s.line)
                .map_err(|err| internal("an order row is malformed", err))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(side: Side, kind: OrderKind) -> OpenOrder {
        OpenOrder {
            id: 1,
            account: 1,
            side,
            symbol: Symbol::parse("AAA").expect("symbol"),
            quantity: Quantity::whole(1).expect("1"),
            kind,
            tif: Tif::Day,
            created: Timestamp(1_732_147_200 + 3600),
            arrival_ms: 0,
            triggered: false,
            filled: Progress::default(),
            mark: None,
            class: None,
            parent: None,
            held: false,
            session_close: None,
        }
    }

    const P: fn(i64) -> Money = |units| Money(units * 10_000);

    #[test]
    fn section_nine_table() {
        use Side::{Buy, Sell};
        use Step::{Fill, Trigger, Wait};
        let cases = [
            (Buy, OrderKind::Market, 100, Fill),
            (Sell, OrderKind::Market, 100, Fill),
            (Buy, OrderKind::Limit(P(170)), 171, Wait),
            (Buy, OrderKind::Limit(P(170)), 170, Fill),
            (Buy, OrderKind::Limit(P(170)), 169, Fill),
            (Sell, OrderKind::Limit(P(170)), 169, Wait),
            (Sell, OrderKind::Limit(P(170)), 170, Fill),
            (Buy, OrderKind::Stop(P(175)), 174, Wait),
            (Buy, OrderKind::Stop(P(175)), 175, Fill),
            (Sell, OrderKind::Stop(P(160)), 161, Wait),
            (Sell, OrderKind::Stop(P(160)), 160, Fill),
            (Sell, OrderKind::Stop(P(160)), 150, Fill),
        ];
        for (side, kind, price, want) in cases {
            assert_eq!(
                order(side, kind).step(P(price)),
                want,
                "{side:?} {kind:?} {price}"
            );
        }
        // A buy stop-limit: stop 175, limit 176.
        let buy = OrderKind::StopLimit {
            stop: P(175),
            limit: P(176),
        };
        assert_eq!(order(Buy, buy).step(P(174)), Wait);
        assert_eq!(
            order(Buy, buy).step(P(175)),
            Fill,
            "trigger and fill at once"
        );
        assert_eq!(order(Buy, buy).step(P(180)), Trigger, "over its limit");
        let mut triggered = order(Buy, buy);
        triggered.triggered = true;
        assert_eq!(triggered.step(P(177)), Wait, "waits as a limit");
        assert_eq!(
            triggered.step(P(170)),
            Fill,
            "below the stop, fills as a limit"
        );
        // A sell stop-limit: stop 160, limit 158.
        let sell = OrderKind::StopLimit {
            stop: P(160),
            limit: P(158),
        };
        assert_eq!(order(Sell, sell).step(P(161)), Wait);
        assert_eq!(order(Sell, sell).step(P(155)), Trigger);
        assert_eq!(order(Sell, sell).step(P(159)), Fill);
    }

    #[test]
    fn time_in_force() {
        let placed = Timestamp(1_732_147_200 + 3600); // 2024-11-21 01:00 UTC
        assert_eq!(expiry(placed, Tif::Day), Timestamp(1_732_147_200 + 86_400));
        let last_second = Timestamp(1_732_147_200 + 86_399);
        assert_eq!(
            expiry(last_second, Tif::Day),
            Timestamp(1_732_147_200 + 86_400)
        );
        assert_eq!(expiry(placed, Tif::Gtc), Timestamp(placed.0 + 90 * 86_400));
    }

    #[test]
    fn a_trailing_stop_follows_its_mark() {
        use Step::{Fill, Wait};
        // A sell trailing 2% from a mark of 100: stop 98.
        let mut sell = order(Side::Sell, OrderKind::TrailingStop(Trail::Percent(200)));
        assert_eq!(sell.step(P(1)), Wait, "no mark, no stop");
        assert_eq!(sell.new_mark(P(100)), Some(P(100)), "the first price marks");
        sell.mark = Some(P(100));
        assert_eq!(sell.step(P(99)), Wait);
        assert_eq!(sell.new_mark(P(99)), None, "a lower price keeps the high");
        assert_eq!(sell.step(P(98)), Fill, "at the stop");
        assert_eq!(sell.step(P(50)), Fill);
        assert_eq!(sell.new_mark(P(110)), Some(P(110)));
        sell.mark = Some(P(110));
        // 110 * 0.98 = 107.8
        assert_eq!(sell.step(Money(1_078_001)), Wait);
        assert_eq!(sell.step(Money(1_078_000)), Fill);
        // A buy trailing 1.50 from a low of 20: stop 21.50.
        let mut buy = order(
            Side::Buy,
            OrderKind::TrailingStop(Trail::Amount(Money(15_000))),
        );
        buy.mark = Some(P(20));
        assert_eq!(buy.step(Money(214_999)), Wait);
        assert_eq!(buy.step(Money(215_000)), Fill);
        assert_eq!(buy.new_mark(P(19)), Some(P(19)));
        assert_eq!(buy.new_mark(P(21)), None);
        // Other kinds have no mark.
        assert_eq!(
            order(Side::Sell, OrderKind::Stop(P(1))).new_mark(P(5)),
            None
        );
        // A sell trailing by more than its mark has no stop yet.
        let mut wide = order(Side::Sell, OrderKind::TrailingStop(Trail::Amount(P(50))));
        wide.mark = Some(P(40));
        assert_eq!(wide.step(Money(1)), Wait);
    }

    #[test]
    fn reservation_uses_the_limit_first() {
        assert_eq!(
            order(Side::Buy, OrderKind::Limit(P(5))).reserve_price(Some(P(9))),
            Some(P(5))
        );
        assert_eq!(
            order(Side::Buy, OrderKind::Stop(P(5))).reserve_price(Some(P(9))),
            Some(P(9))
        );
        assert_eq!(
            order(Side::Buy, OrderKind::Market).reserve_price(None),
            None
        );
    }
}
