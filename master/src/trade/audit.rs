//! `ptctl audit`: replays every account's transaction history and compares
//! the result with the `accounts` and `positions` tables, and checks every
//! order of `placeOrder` against its fills. Runs on the control
//! thread through its own connection, inside one read transaction so that
//! a trade batch committing meanwhile cannot make it report a half-seen
//! state. It goes one account at a time (accounts, transactions and
//! positions read in account order side by side, the account's orders by
//! their index), so its memory is one account's, whatever their number.
//!
//! The replay uses the very rules of the trade batch: i64 amounts, a sale
//! taking [`sold_cost`] of the position's cost, a position at zero gone.
//! Every account starts from its recorded `opening_cash`; a `reset` line
//! sets cash to its PRICE and removes every position, a `split` sets the
//! shares held and keeps their cost (QUANTITY 0 removes the position), a
//! `dividend` credits QUANTITY x PRICE (QUANTITY being the shares held at
//! the ex-date, not compared with the shares held when it was paid).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use papertrader_common::value::{Money, OrderKind, Shares, Trail};
use rusqlite::{Connection, Row};

use super::orders::Progress;
use super::position::{Holding, after_fill};
use super::{Side, dividend_cash, fill_amount};

const SELECT_HISTORY: &str = "SELECT account_id, txid, side, symbol, quantity, price, time,
         order_id
     FROM transactions ORDER BY account_id, txid";
const SELECT_POSITIONS: &str = "SELECT account_id, symbol, quantity, cost FROM positions
     ORDER BY account_id, symbol";
/// Every account, a login's further portfolios named `NAME/NUMBER`.
const SELECT_ACCOUNTS: &str = "SELECT id,
         CASE WHEN owner_id IS NULL THEN username ELSE username || '/' || portfolio_no END,
         cash, opening_cash, start_cash, started
     FROM accounts ORDER BY id";
const SELECT_ORDERS: &str = "SELECT o.id, o.account_id, o.created, o.side, o.symbol,
         o.quantity, o.type, o.limit_price, o.stop_price, o.status, o.txid,
         t.account_id, t.side, t.symbol, t.quantity, t.price, t.time,
         o.trail, o.mark, o.replaced_by, o.class, o.parent, o.filled, o.filled_cost, t.order_id,
         o.filled_avg
     FROM orders o LEFT JOIN transactions t ON t.txid = o.txid
     WHERE o.account_id = ?1 ORDER BY o.id";

/// `(quantity, cost)` by symbol.
type Holdings = BTreeMap<String, (i64, i64)>;

/// One account's state rebuilt from its transactions.
struct Replay {
    cash: i64,
    holdings: Holdings,
    /// What it started with at opening or its last reset.
    start: i64,
    /// When it was last reset, if ever.
    reset_at: Option<i64>,
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
    time: i64,
    /// The order it fills (or charges a fee for), if any.
    order: Option<i64>,
}

/// One `accounts` row.
struct Account {
    id: i64,
    name: String,
    cash: i64,
    opening: i64,
    start: i64,
    started: i64,
}

/// Recomputes every account's cash and positions (quantity and cost, with
/// the rounding of the trade batch) from its transaction history and
/// compares them with the tables, then checks its orders: one line per
/// disagreement, like `alice: cash 100.0000 in the table, 90.0000 from the
/// history`. Empty means clean.
pub fn audit(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    // DEFERRED: the snapshot starts at the first read and stays put.
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Deferred)?;
    let mut accounts = tx.prepare(SELECT_ACCOUNTS)?;
    let accounts = accounts.query_map([], |row| {
        Ok(Account {
            id: row.get(0)?,
            name: row.get(1)?,
            cash: row.get(2)?,
            opening: row.get(3)?,
            start: row.get(4)?,
            started: row.get(5)?,
        })
    })?;
    let mut history = tx.prepare(SELECT_HISTORY)?;
    let mut history = ByAccount::new(history.query_map([], |row| {
        Ok((
            row.get(0)?,
            Trade {
                txid: row.get(1)?,
                side: row.get(2)?,
                symbol: row.get(3)?,
                quantity: row.get(4)?,
                price: row.get(5)?,
                time: row.get(6)?,
                order: row.get(7)?,
            },
        ))
    })?);
    let mut positions = tx.prepare(SELECT_POSITIONS)?;
    let mut positions = ByAccount::new(positions.query_map([], |row| {
        Ok((row.get(0)?, (row.get(1)?, (row.get(2)?, row.get(3)?))))
    })?);
    let mut orders = tx.prepare(SELECT_ORDERS)?;
    let mut report = Vec::new();
    for account in accounts {
        let account = account?;
        let mut replay = Replay::new(account.opening);
        // The fills of each order, as the replay meets them.
        let mut fills: HashMap<i64, Vec<Fill>> = HashMap::new();
        for trade in history.take(account.id)? {
            replay.apply(&trade);
            if let (Some(order), "buy" | "sell") = (trade.order, trade.side.as_str()) {
                fills
                    .entry(order)
                    .or_default()
                    .push(Fill::of(account.id, trade));
            }
        }
        let table: Holdings = positions.take(account.id)?.into_iter().collect();
        compare(&account, &table, &replay, &mut report);
        check_orders(&mut orders, &account, &replay, fills, &mut report)?;
    }
    Ok(report)
}

/// The rows of a query in account order, taken one account at a time.
struct ByAccount<I: Iterator> {
    rows: std::iter::Peekable<I>,
}

impl<T, I: Iterator<Item = rusqlite::Result<(i64, T)>>> ByAccount<I> {
    fn new(rows: I) -> ByAccount<I> {
        ByAccount {
            rows: rows.peekable(),
        }
    }

    /// The rows of `account`, skipping any of accounts before it (rows
    /// whose account has no row: foreign keys forbid them).
    fn take(&mut self, account: i64) -> rusqlite::Result<Vec<T>> {
        let mut out = Vec::new();
        loop {
            match self.rows.peek() {
                Some(Ok((id, _))) if *id <= account => {
                    if let Some(Ok((id, row))) = self.rows.next()
                        && id == account
                    {
                        out.push(row);
                    }
                }
                Some(Err(_)) => {
                    if let Some(Err(err)) = self.rows.next() {
                        return Err(err);
                    }
                }
                _ => return Ok(out),
            }
        }
    }
}

impl Replay {
    fn new(opening: i64) -> Replay {
        Replay {
            cash: opening,
            holdings: Holdings::new(),
            start: opening,
            reset_at: None,
            notes: Vec::new(),
            broken: false,
        }
    }

    /// Applies one history line as the trade thread wrote it.
    fn apply(&mut self, trade: &Trade) {
        if self.broken {
            return;
        }
        if self.corporate(trade) {
            return;
        }
        // A liquidation is the master buying back a short.
        let side = match trade.side.as_str() {
            "liquidation" => Some(Side::Buy),
            other => Side::parse(other),
        };
        let amount =
            side.and_then(|side| fill_amount(side, Money(trade.price), Shares(trade.quantity)));
        let (Some(side), Some(amount)) = (side, amount.map(Money::raw)) else {
            return match side {
                Some(_) => self.break_at(trade, "its amount overflows"),
                None => self.note(trade, format!("has an unknown side {:?}", trade.side)),
            };
        };
        let held = self.holdings.get(&trade.symbol).copied().unwrap_or((0, 0));
        let held = Holding {
            quantity: held.0,
            cost: held.1,
        };
        let cash = match side {
            Side::Buy => self.cash.checked_sub(amount),
            Side::Sell => self.cash.checked_add(amount),
        };
        let after = after_fill(side, held, trade.quantity, Money(trade.price), amount);
        let (Some(cash), Some(after)) = (cash, after) else {
            return self.break_at(trade, "the replay overflows");
        };
        if cash < 0 {
            self.note(
                trade,
                format!("buys for {} with cash {}", Money(amount), Money(self.cash)),
            );
        }
        self.cash = cash;
        match after.kept() {
            Some(h) => self
                .holdings
                .insert(trade.symbol.clone(), (h.quantity, h.cost)),
            None => self.holdings.remove(&trade.symbol),
        };
    }

    /// Replays a reset, a split or a dividend; false for a buy or a sell.
    fn corporate(&mut self, trade: &Trade) -> bool {
        match trade.side.as_str() {
            "reset" => {
                self.cash = trade.price;
                self.start = trade.price;
                self.reset_at = Some(trade.time);
                self.holdings.clear();
                true
            }
            "split" => {
                match self.holdings.get_mut(&trade.symbol) {
                    Some(held) if trade.quantity != 0 => held.0 = trade.quantity,
                    // A reverse split that leaves less than one share.
                    Some(_) => {
                        self.holdings.remove(&trade.symbol);
                    }
                    None => self.note(trade, format!("splits {} not held", trade.symbol)),
                }
                true
            }
            "fee" => {
                // The commission of a fill: PRICE out of cash.
                match self.cash.checked_sub(trade.price) {
                    Some(cash) if cash >= 0 => self.cash = cash,
                    Some(cash) => {
                        self.note(
                            trade,
                            format!(
                                "charges a fee of {} with cash {}",
                                Money(trade.price),
                                Money(self.cash)
                            ),
                        );
                        self.cash = cash;
                    }
                    None => self.break_at(trade, "the fee overflows"),
                }
                true
            }
            "dividend" => {
                // QUANTITY is the shares held at the ex-date (below 0 for
                // a short, which pays the dividend), which fills since
                // then may have changed: only the cash is replayed.
                let cash =
                    match dividend_cash(Money(trade.price), Shares(trade.quantity), self.cash) {
                        Some(moved) => self.cash.checked_add(moved),
                        None => None,
                    };
                match cash {
                    Some(cash) => self.cash = cash,
                    None => self.break_at(trade, "the dividend overflows"),
                }
                true
            }
            _ => false,
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
fn compare(account: &Account, table: &Holdings, replay: &Replay, report: &mut Vec<String>) {
    let name = &account.name;
    report.extend(replay.notes.iter().map(|note| format!("{name}: {note}")));
    if replay.broken {
        return;
    }
    if account.cash != replay.cash {
        report.push(format!(
            "{name}: cash {} in the table, {} from the history",
            Money(account.cash),
            Money(replay.cash)
        ));
    }
    if account.start != replay.start {
        report.push(format!(
            "{name}: starting cash {} in the table, {} from the history",
            Money(account.start),
            Money(replay.start)
        ));
    }
    if let Some(at) = replay.reset_at
        && account.started != at
    {
        report.push(format!(
            "{name}: started at {} in the table, reset at {at} in the history",
            account.started
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
        Some(&(quantity, cost)) => format!("{} shares costing {}", Shares(quantity), Money(cost)),
        None => "no shares".to_string(),
    }
}

/// One fill line of an order.
#[derive(Debug, Clone)]
struct Fill {
    txid: i64,
    account: i64,
    side: String,
    symbol: String,
    quantity: i64,
    price: i64,
    time: i64,
}

impl Fill {
    fn of(account: i64, trade: Trade) -> Fill {
        Fill {
            txid: trade.txid,
            account,
            side: trade.side,
            symbol: trade.symbol,
            quantity: trade.quantity,
            price: trade.price,
            time: trade.time,
        }
    }
}

/// One order with the transaction it names, as [`SELECT_ORDERS`] reads it.
struct OrderRow {
    id: i64,
    account: i64,
    created: i64,
    side: String,
    symbol: String,
    quantity: i64,
    kind: Option<OrderKind>,
    status: String,
    txid: Option<i64>,
    /// The transaction `txid` names, and the order that transaction names.
    named: Option<(Fill, Option<i64>)>,
    mark: Option<Money>,
    replaced_by: Option<i64>,
    class: Option<String>,
    parent: Option<i64>,
    /// What its row says has filled.
    filled: Progress,
}

fn read_order(row: &Row<'_>) -> rusqlite::Result<OrderRow> {
    let kind_word: String = row.get(6)?;
    let limit: Option<i64> = row.get(7)?;
    let stop: Option<i64> = row.get(8)?;
    let fill_account: Option<i64> = row.get(11)?;
    let named = match fill_account {
        Some(account) => Some((
            Fill {
                txid: row.get(10)?,
                account,
                side: row.get(12)?,
                symbol: row.get(13)?,
                quantity: row.get(14)?,
                price: row.get(15)?,
                time: row.get(16)?,
            },
            row.get(24)?,
        )),
        None => None,
    };
    Ok(OrderRow {
        id: row.get(0)?,
        account: row.get(1)?,
        created: row.get(2)?,
        side: row.get(3)?,
        symbol: row.get(4)?,
        quantity: row.get(5)?,
        kind: {
            let trail: Option<String> = row.get(17)?;
            match trail.map(|t| Trail::parse(&t)).transpose() {
                Ok(trail) => {
                    OrderKind::from_parts(&kind_word, limit.map(Money), stop.map(Money), trail).ok()
                }
                Err(_) => None,
            }
        },
        mark: row.get::<_, Option<i64>>(18)?.map(Money),
        replaced_by: row.get(19)?,
        class: row.get(20)?,
        parent: row.get(21)?,
        status: row.get(9)?,
        txid: row.get(10)?,
        named,
        filled: Progress {
            shares: Shares(row.get(22)?),
            cost: row.get(23)?,
            avg: Money(row.get(25)?),
        },
    })
}

/// Every order whose status disagrees with its fills: its fills must be
/// of its own account, side and symbol, at prices its type allows (a
/// stop's first fill reaches the stop; the rest of a part-filled stop
/// fills at any price), placed no earlier than the order, and add up to
/// what its row says has filled, which is at most its quantity and all of
/// it exactly when it is `filled`; a filled order names its last fill and
/// no other order names one; no transaction fills two orders; no order is
/// still open after its account was reset; and a replaced order names a
/// later order of its own account, side and symbol. An order filled
/// before fills named their order (schema 13) has the one fill it names.
fn check_orders(
    orders: &mut rusqlite::Statement<'_>,
    account: &Account,
    replay: &Replay,
    mut by_order: HashMap<i64, Vec<Fill>>,
    report: &mut Vec<String>,
) -> rusqlite::Result<()> {
    let name = account.name.as_str();
    let mut filled_by: HashMap<i64, i64> = HashMap::new();
    // Order id -> (account, side, symbol): what a replacement must match.
    let mut seen: HashMap<i64, (i64, String, String)> = HashMap::new();
    let mut replaced: Vec<(i64, i64, (i64, String, String))> = Vec::new();
    let mut classes: BTreeMap<i64, ClassMember> = BTreeMap::new();
    let mut rows = orders.query([account.id])?;
    while let Some(row) = rows.next()? {
        let order = read_order(row)?;
        let what = (order.account, order.side.clone(), order.symbol.clone());
        seen.insert(order.id, what.clone());
        if let Some(by) = order.replaced_by {
            replaced.push((order.id, by, what));
        }
        let mut fills = by_order.remove(&order.id).unwrap_or_default();
        if fills.is_empty()
            && let Some((fill, None)) = &order.named
        {
            fills.push(fill.clone());
        }
        if let Some(class) = &order.class {
            let member = ClassMember {
                account: order.account,
                status: order.status.clone(),
                class: class.clone(),
                parent: order.parent,
                filled: order.filled.shares.raw(),
                first: fills.first().map(|f| f.txid),
                last: fills.last().map(|f| f.txid),
            };
            classes.insert(order.id, member);
        }
        let mut say = |what: String| report.push(format!("{name}: order {} {what}", order.id));
        let Some(kind) = order.kind else {
            say("has a type and prices that do not fit".to_string());
            continue;
        };
        let live = order.status == "open" || order.status == "triggered";
        if live
            && let Some(reset) = replay.reset_at
            // The same second may hold a reset and an order placed after it.
            && reset > order.created
        {
            say(format!(
                "is still {} after its account was reset",
                order.status
            ));
        }
        match (order.status.as_str(), order.txid) {
            ("filled", None) => say("is filled but names no transaction".to_string()),
            ("filled", Some(txid)) => {
                if let Some(other) = filled_by.insert(txid, order.id) {
                    say(format!(
                        "names transaction {txid}, the fill of order {other} too"
                    ));
                }
                match &order.named {
                    None => say(format!("names transaction {txid}, which does not exist")),
                    Some((_, Some(other))) if *other != order.id => {
                        say(format!("names transaction {txid}, a fill of order {other}"))
                    }
                    Some(_) if fills.last().map(|f| f.txid) != Some(txid) => {
                        say(format!("names transaction {txid}, not its last fill"))
                    }
                    Some(_) => {}
                }
            }
            (status, Some(txid)) => say(format!("is {status} but names transaction {txid}")),
            (_, None) => {}
        }
        let mut replayed = Progress::default();
        for (i, fill) in fills.iter().enumerate() {
            for what in fill_problems(&order, kind, fill, i == 0) {
                say(format!("and its transaction {}: {what}", fill.txid));
            }
            let side = Side::parse(&fill.side).unwrap_or(Side::Buy);
            let (shares, price) = (Shares(fill.quantity), Money(fill.price));
            let amount = fill_amount(side, price, shares).unwrap_or(Money(i64::MAX));
            replayed = replayed.after(shares, price, amount);
        }
        let shown =
            |p: &Progress| format!("{} for {} (average {})", p.shares, Money(p.cost), p.avg);
        if replayed != order.filled {
            say(format!(
                "has filled {} by its row, {} by its transactions",
                shown(&order.filled),
                shown(&replayed)
            ));
        }
        let filled = order.filled.shares.raw();
        if filled > order.quantity || (order.status == "filled") != (filled == order.quantity) {
            say(format!(
                "is {} with {} of {} shares filled",
                order.status,
                Shares(filled),
                Shares(order.quantity)
            ));
        }
    }
    let mut stray: Vec<(i64, i64)> = by_order
        .into_iter()
        .filter_map(|(id, fills)| Some((fills.first()?.txid, id)))
        .collect();
    stray.sort_unstable();
    for (txid, id) in stray {
        report.push(format!(
            "{name}: transaction {txid} fills order {id}, which is not an order of {name}"
        ));
    }
    class_problems(&classes, name, report);
    for (id, by, what) in replaced {
        if by <= id || seen.get(&by) != Some(&what) {
            report.push(format!(
                "{name}: order {id} is replaced by order {by}, which is not a later {} of {}",
                what.1, what.2
            ));
        }
    }
    Ok(())
}

/// An order of a class as the audit sees it.
struct ClassMember {
    account: i64,
    status: String,
    class: String,
    parent: Option<i64>,
    /// Shares filled.
    filled: i64,
    /// Its first and last fill (txid).
    first: Option<i64>,
    last: Option<i64>,
}

/// The orders of classes that break their rules: a leg must name an
/// order of its class and account; a held leg's entry must still be live;
/// a bracket or OTO leg fills only after its entry ended having filled,
/// and its legs together fill at most what the entry filled; of a
/// bracket's legs, or an OCO's two orders, at most one completes.
fn class_problems(classes: &BTreeMap<i64, ClassMember>, name: &str, report: &mut Vec<String>) {
    let mut filled_legs: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    let mut legs_filled: BTreeMap<i64, i64> = BTreeMap::new();
    for (&id, member) in classes {
        let ClassMember {
            account,
            status,
            class,
            parent,
            ..
        } = member;
        let mut say = |what: String| report.push(format!("{name}: order {id} {what}"));
        let Some(parent) = *parent else {
            if class == "oco" && status == "filled" {
                filled_legs.entry(id).or_default().push(id);
            }
            continue;
        };
        let Some(entry) = classes.get(&parent) else {
            say(format!(
                "is a {class} leg of order {parent}, which is not of a class"
            ));
            continue;
        };
        if (&entry.account, &entry.class) != (account, class) {
            say(format!(
                "is a {class} leg of order {parent}, of another account or class"
            ));
        }
        let live = matches!(entry.status.as_str(), "open" | "triggered");
        if status == "held" && !live {
            say(format!(
                "is held but its entry {parent} is {}",
                entry.status
            ));
        }
        if class != "oco" && member.filled > 0 {
            if live || entry.filled == 0 || entry.last >= member.first {
                say(format!(
                    "filled before its entry {parent} ({})",
                    entry.status
                ));
            }
            *legs_filled.entry(parent).or_default() += member.filled;
        }
        if status == "filled" {
            filled_legs.entry(parent).or_default().push(id);
        }
    }
    for (parent, filled) in filled_legs {
        if filled.len() > 1 {
            report.push(format!(
                "{name}: orders {filled:?} of the class of order {parent} all filled; one cancels the others"
            ));
        }
    }
    for (parent, shares) in legs_filled {
        let entry = classes.get(&parent).map_or(0, |c| c.filled);
        if shares > entry {
            report.push(format!(
                "{name}: the legs of order {parent} filled {} of the {} it filled",
                Shares(shares),
                Shares(entry)
            ));
        }
    }
}

/// What is wrong with `fill` as a fill of `order` (its `first`, which
/// must reach a stop).
fn fill_problems(order: &OrderRow, kind: OrderKind, fill: &Fill, first: bool) -> Vec<String> {
    let Fill {
        account,
        side,
        symbol,
        quantity,
        price,
        time,
        ..
    } = fill;
    let mut out = Vec::new();
    if *account != order.account {
        out.push(format!("belongs to account {account}"));
    }
    if (side, symbol) != (&order.side, &order.symbol) || *quantity > order.quantity {
        out.push(format!(
            "is a {side} of {} {symbol}, the order a {} of {} {}",
            Shares(*quantity),
            order.side,
            Shares(order.quantity),
            order.symbol
        ));
    }
    if *time < order.created {
        out.push(format!(
            "is from {time}, before the order ({})",
            order.created
        ));
    }
    let buy = order.side == "buy";
    let p = Money(*price);
    if let Some(limit) = kind.limit()
        && (if buy { p > limit } else { p < limit })
    {
        let beyond = if buy { "above" } else { "below" };
        out.push(format!("filled at {p}, {beyond} the limit {limit}"));
    }
    let stop = match kind {
        OrderKind::Stop(stop) => Some(stop),
        OrderKind::TrailingStop(trail) => order.mark.and_then(|mark| trail.stop(buy, mark)),
        _ => None,
    };
    let stop = stop.filter(|_| first);
    if let OrderKind::TrailingStop(_) = kind
        && first
        && stop.is_none()
    {
        out.push(format!("filled at {p} with no stop reached"));
    }
    if let Some(stop) = stop
        && (if buy { p < stop } else { p > stop })
    {
        let before = if buy { "below" } else { "above" };
        out.push(format!("filled at {p}, {before} the stop {stop}"));
    }
    out
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
                    order(
                        account,
                        side,
                        symbol,
                        1 + rng.next(7) as i64,
                        batch * 100 + i,
                    )
                })
                .collect();
            run_batch(&mut db.conn, &orders, &[], &prices, NOW).expect("batch");
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
        assert_eq!(audit(&db.conn).expect("audit"), Vec::<String>::new());
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
        let report = audit(&db.conn).expect("audit");
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
                "INSERT INTO positions VALUES (?1, 'ZZZ', 5000000000, 50000)",
                [ids[2]],
            )
            .expect("phantom position");
        let report = audit(&db.conn).expect("audit");
        assert_eq!(report.len(), 3, "{report:?}");
        assert_eq!(
            report[1],
            format!(
                "bob: {symbol} {} shares costing {} in the table, {} shares costing {} from the history",
                Shares(quantity + 1),
                Money(cost),
                Shares(quantity),
                Money(cost)
            )
        );
        assert_eq!(
            report[2],
            "carol: ZZZ 5 shares costing 5.0000 in the table, no shares from the history"
        );
    }

    #[test]
    fn a_changed_starting_cash_is_not_reported() {
        // Each account replays from its own opening cash, whatever the
        // configured starting_cash is now.
        let db = test_db("audit-start");
        add_account(&db.conn, "dave", START);
        add_account(&db.conn, "fay", START + 1);
        assert_eq!(audit(&db.conn).expect("audit"), Vec::<String>::new());
        db.conn
            .execute(
                "UPDATE accounts SET start_cash = 5 WHERE username = 'dave'",
                [],
            )
            .expect("tamper");
        assert_eq!(
            audit(&db.conn).expect("audit"),
            vec!["dave: starting cash 0.0005 in the table, 1000.0000 from the history".to_string()]
        );
    }

    #[test]
    fn reports_a_sale_the_tables_do_not_show() {
        // Since protocol 1.2 a sale beyond the shares held is a short.
        let db = test_db("audit-sale");
        let erin = add_account(&db.conn, "erin", START);
        db.conn
            .execute(
                "INSERT INTO transactions (account_id, time, side, symbol, quantity, price)
                 VALUES (?1, 0, 'sell', 'AAA', 2000000000, 10000)",
                [erin],
            )
            .expect("insert");
        let report = audit(&db.conn).expect("audit");
        assert_eq!(
            report,
            vec![
                "erin: cash 1000.0000 in the table, 1002.0000 from the history".to_string(),
                "erin: AAA no shares in the table, -2 shares costing -2.0000 from the history"
                    .to_string(),
            ]
        );
    }

    #[test]
    fn orders_that_disagree_with_their_fills_are_reported() {
        let db = test_db("audit-orders");
        let gus = add_account(&db.conn, "gus", START);
        let hal = add_account(&db.conn, "hal", START);
        let tx = |account: i64, side: &str, price: i64| {
            db.conn
                .execute(
                    "INSERT INTO transactions (account_id, time, side, symbol, quantity, price)
                     VALUES (?1, 100, ?2, 'AAA', 1000000000, ?3)",
                    rusqlite::params![account, side, price],
                )
                .expect("transaction");
            db.conn.last_insert_rowid()
        };
        let order =
            |kind: &str, limit: Option<i64>, stop: Option<i64>, status: &str, txid: Option<i64>| {
                db.conn
                .execute(
                    "INSERT INTO orders (account_id, created, arrival_ms, side, symbol, quantity,
                         type, limit_price, stop_price, tif, status, updated, txid, filled,
                         filled_cost, filled_avg)
                     VALUES (?1, 50, 0, 'buy', 'AAA', 1000000000, ?2, ?3, ?4, 'gtc', ?5, 100, ?6,
                         1000000000, (SELECT price FROM transactions WHERE txid = ?6),
                         (SELECT price FROM transactions WHERE txid = ?6))",
                    rusqlite::params![gus, kind, limit, stop, status, txid],
                )
                .expect("order");
            };
        let good = tx(gus, "buy", 90_000);
        order("limit", Some(100_000), None, "filled", Some(good));
        // Only the orders are checked here: the rows above bypass the tables.
        let about_orders = |report: Vec<String>| -> Vec<String> {
            report
                .into_iter()
                .filter(|l| l.contains(": order "))
                .collect()
        };
        assert_eq!(
            about_orders(audit(&db.conn).expect("audit")),
            Vec::<String>::new()
        );
        let dear = tx(gus, "buy", 110_000);
        order("limit", Some(100_000), None, "filled", Some(dear));
        let cheap = tx(gus, "buy", 90_000);
        order("stop", None, Some(100_000), "filled", Some(cheap));
        order("market", None, None, "filled", Some(good));
        let theirs = tx(hal, "buy", 90_000);
        order("market", None, None, "filled", Some(theirs));
        let report = audit(&db.conn).expect("audit");
        let orders: Vec<&String> = report
            .iter()
            .filter(|l| l.starts_with("gus: order"))
            .collect();
        assert_eq!(
            orders,
            [
                "gus: order 2 and its transaction 2: filled at 11.0000, above the limit 10.0000",
                "gus: order 3 and its transaction 3: filled at 9.0000, below the stop 10.0000",
                "gus: order 4 names transaction 1, the fill of order 1 too",
                "gus: order 5 and its transaction 4: belongs to account 2",
            ],
            "{report:?}"
        );
    }

    /// Partial fills: the fills of an order add up to its row, and a fill
    /// naming another account's order is reported with its account.
    #[test]
    fn part_fills_add_up_and_stray_fills_are_reported() {
        let db = test_db("audit-parts");
        let ivy = add_account(&db.conn, "ivy", START);
        let jo = add_account(&db.conn, "jo", START);
        db.conn
            .execute_batch(&format!(
                "INSERT INTO orders (id, account_id, created, arrival_ms, side, symbol, quantity,
                     type, limit_price, stop_price, tif, status, updated, txid, filled,
                     filled_cost, filled_avg)
                 VALUES (7, {ivy}, 50, 0, 'buy', 'AAA', 3000000000, 'limit', 100000, NULL,
                     'gtc', 'open', 100, NULL, 2000000000, 190000, 95000);
                 INSERT INTO transactions (account_id, time, side, symbol, quantity, price,
                     order_id)
                 VALUES ({ivy}, 60, 'buy', 'AAA', 1000000000, 90000, 7),
                        ({ivy}, 70, 'buy', 'AAA', 1000000000, 100000, 7);
                 UPDATE accounts SET cash = cash - 190000 WHERE id = {ivy};
                 INSERT INTO positions VALUES ({ivy}, 'AAA', 2000000000, 190000);"
            ))
            .expect("rows");
        assert_eq!(audit(&db.conn).expect("audit"), Vec::<String>::new());
        // jo's buy names ivy's order; ivy's row says more than its fills.
        db.conn
            .execute_batch(&format!(
                "INSERT INTO transactions (account_id, time, side, symbol, quantity, price,
                     order_id)
                 VALUES ({jo}, 80, 'buy', 'AAA', 1000000000, 100000, 7);
                 UPDATE accounts SET cash = cash - 100000 WHERE id = {jo};
                 INSERT INTO positions VALUES ({jo}, 'AAA', 1000000000, 100000);
                 UPDATE orders SET filled = 2500000000 WHERE id = 7;"
            ))
            .expect("rows");
        let report = audit(&db.conn).expect("audit");
        assert_eq!(
            report,
            [
                "ivy: order 7 has filled 2.5 for 19.0000 (average 9.5000) by its row, \
                 2 for 19.0000 (average 9.5000) by its transactions",
                "jo: transaction 3 fills order 7, which is not an order of jo",
            ],
            "{report:?}"
        );
    }
}
