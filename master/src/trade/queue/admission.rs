//! The trade thread's admission rules (PROTOCOL.md section 9): what an
//! order must pass when it arrives, before it waits for a price set or is
//! stored open: the session, the limits on waiting and open orders, the
//! asset list, market hours, and cash or shares not reserved already.

use papertrader_common::request::ClassSpec;
use papertrader_common::value::{OrderClass, OrderKind, Shares};

use crate::trade::position::{self, Exposure, Holding};

use super::*;

impl Queue {
    pub(super) fn check(&mut self, arrival: &Arrival) -> Result<Order, Reason> {
        if self.waiting.len() >= self.limits.total {
            let text = format!(
                "{} orders wait for prices already; try again after the next update",
                self.waiting.len()
            );
            return Err(Reason::new(ReasonCode::Unavailable, text));
        }
        let trader = self.trader(&arrival.session, Timestamp::now())?;
        let account = trader.account;
        let mine = self.per_account.get(&account).copied().unwrap_or(0);
        if mine >= self.limits.per_account {
            let text = format!(
                "{mine} of your orders wait for prices already (at most {}); \
                 try again after the next update",
                self.limits.per_account
            );
            return Err(Reason::new(ReasonCode::RateLimited, text));
        }
        let symbol = arrival.symbol.clone();
        if let Some(reason) = self.closed(&symbol, Timestamp::now()) {
            return Err(reason);
        }
        self.listed(&symbol, arrival.size)?;
        self.keeps_rules(
            &trader,
            arrival.side,
            &symbol,
            arrival.size,
            &[OrderKind::Market],
            None,
        )?;
        // A price that is failing already would keep it waiting for
        // nothing: it is refused at once.
        if self.stale.get(&symbol) == Some(&Staleness::Failing) {
            return Err(self.no_price(&symbol, Timestamp::now()));
        }
        self.seq += 1;
        Ok(Order {
            account,
            side: arrival.side,
            symbol,
            size: arrival.size,
            ts_ms: arrival.ts_ms,
            seq: self.seq,
        })
    }

    pub(super) fn check_placement<'p>(
        &mut self,
        session: &SessionId,
        spec: &'p OrderSpec,
        arrival_ms: u64,
    ) -> Result<NewOrder<'p>, Reason> {
        let now = Timestamp::now();
        let trader = self.trader(session, now)?;
        let account = trader.account;
        let mine = self.open.iter().filter(|o| o.account == account).count();
        if mine >= self.limits.open_per_account {
            let text = format!("you have {mine} open orders, the most allowed; cancel one first");
            return Err(Reason::new(ReasonCode::TooManyOrders, text));
        }
        self.covered(account, spec, None)?;
        let size = Size::Shares(spec.quantity);
        self.keeps_rules(&trader, spec.side, &spec.symbol, size, &[spec.kind], None)?;
        let mark = self.last.get(&spec.symbol).copied();
        Ok(NewOrder::of(account, spec, now, arrival_ms, mark))
    }

    /// placeOrderClass: the entry checked as placeOrder checks one (an
    /// OCO's take-profit as a sale), room for all its orders among the
    /// account's open ones, and exits on the right side of the entry's
    /// price (its limit, else its stop, else the last price): for a long
    /// entry the take-profit above and the stop-loss below, for a short
    /// the other way round. The legs reserve nothing until they open.
    pub(super) fn check_class<'p>(
        &mut self,
        session: &SessionId,
        spec: &'p OrderSpec,
        class: &ClassSpec,
        arrival_ms: u64,
    ) -> Result<Vec<NewOrder<'p>>, Reason> {
        let now = Timestamp::now();
        let trader = self.trader(session, now)?;
        let account = trader.account;
        let legs = class.legs();
        let mine = self.open.iter().filter(|o| o.account == account).count();
        if mine + 1 + legs.len() > self.limits.open_per_account {
            let text = format!(
                "you have {mine} open orders and this {} adds {}; at most {} are allowed",
                class.class.name(),
                1 + legs.len(),
                self.limits.open_per_account
            );
            return Err(Reason::new(ReasonCode::TooManyOrders, text));
        }
        self.covered(account, spec, None)?;
        let kinds: Vec<OrderKind> = std::iter::once(spec.kind)
            .chain(legs.iter().copied())
            .collect();
        let size = Size::Shares(spec.quantity);
        self.keeps_rules(&trader, spec.side, &spec.symbol, size, &kinds, None)?;
        // Which way the position the exits close goes.
        let long = match class.class {
            OrderClass::Oco => spec.side == Side::Sell,
            _ => spec.side == Side::Buy,
        };
        let reference = match class.class {
            OrderClass::Oco => None,
            _ => spec.kind.limit().or(spec.kind.stop()),
        }
        .or_else(|| self.last.get(&spec.symbol).copied())
        .ok_or_else(|| {
            let text = format!(
                "no price for {} yet to place the exits against",
                spec.symbol
            );
            Reason::new(ReasonCode::Unavailable, text)
        })?;
        let wrong = |what: &str, price: Money, above: bool| {
            let side = if above { "above" } else { "below" };
            let text = format!("the {what} {price} must be {side} the entry's {reference}");
            Err(Reason::new(ReasonCode::BadPrice, text))
        };
        if let Some(tp) = class.take_profit
            && (tp > reference) != long
        {
            return wrong("takeProfit", tp, long);
        }
        if let Some(sl) = class.stop_loss
            && (sl < reference) != long
        {
            return wrong("stopLoss", sl, !long);
        }
        let entry = NewOrder {
            class: Some(class.class),
            ..NewOrder::of(
                account,
                spec,
                now,
                arrival_ms,
                self.last.get(&spec.symbol).copied(),
            )
        };
        let leg_side = match class.class {
            OrderClass::Oco => spec.side,
            _ => spec.side.other(),
        };
        let mut out = vec![entry];
        out.extend(legs.into_iter().map(|kind| NewOrder {
            side: leg_side,
            kind,
            mark: None,
            held: class.class != OrderClass::Oco,
            ..entry
        }));
        Ok(out)
    }

    /// `spec` is for a listed asset in a quantity it trades in, and the
    /// account's cash or shares cover it besides what its other open
    /// orders (all but `replacing`) reserve.
    pub(super) fn covered(
        &self,
        account: i64,
        spec: &OrderSpec,
        replacing: Option<i64>,
    ) -> Result<(), Reason> {
        self.listed(&spec.symbol, Size::Shares(spec.quantity))?;
        let mine: Vec<&OpenOrder> = self
            .open
            .iter()
            .filter(|o| o.account == account && Some(o.id) != replacing)
            .collect();
        match spec.side {
            Side::Buy => self.cash_covers(account, spec, &mine),
            // With short selling on, a sale beyond the shares held is a
            // short, held to the margin rules now and again when it fills.
            Side::Sell if self.limits.shorts.enabled => self.margin_covers(account, spec, &mine),
            Side::Sell => self.shares_cover(account, &spec.symbol, spec.quantity, &mine),
        }
    }

    /// With short selling on: what this sale and the account's other open
    /// sales of the symbol would sell beyond the shares held opens or adds
    /// to a short, which needs the minimum equity now and buying power for
    /// its initial margin besides what open buys reserve, all at this
    /// sale's limit or the last price (the fill checks again, at its own
    /// price; open short sales of other symbols are checked as they fill).
    /// Without a price yet it is checked at the fill only.
    fn margin_covers(
        &self,
        account: i64,
        spec: &OrderSpec,
        mine: &[&OpenOrder],
    ) -> Result<(), Reason> {
        let held = db::positions::held(&self.conn, account, spec.symbol.as_str())
            .map_err(|err| crate::trade::internal("cannot read a position", err))?;
        let reserved = self.reserved_sales(&spec.symbol, mine);
        let short = reserved
            .saturating_add(spec.quantity.raw())
            .saturating_sub(held.max(0));
        let last = self.last.get(&spec.symbol).copied();
        let (true, Some(price)) = (short > 0, spec.kind.limit().or(last)) else {
            return Ok(());
        };
        let rules = self.limits.shorts;
        let standing = self.standing(account)?;
        if standing.equity < i128::from(rules.min_equity.raw()) {
            let text = format!(
                "short selling needs an equity of at least {}; yours is {}",
                rules.min_equity,
                position::shown(standing.equity)
            );
            return Err(Reason::new(ReasonCode::InsufficientFunds, text));
        }
        let value = price
            .sale_proceeds(Shares(short))
            .map_or(i128::from(i64::MAX), |m| i128::from(m.raw()));
        // The sale brings its value in cash and adds it to the shorts.
        let need = value * (i128::from(rules.initial_pct) - 100) / 100;
        let power = standing.buying_power(&rules) - self.reserved_buys(mine);
        if power < need {
            let text = format!(
                "margin: buying power {} after open buys does not cover {} held back for a \
                 short of {} {}",
                position::shown(power),
                position::shown(need),
                Shares(short),
                spec.symbol
            );
            return Err(Reason::new(ReasonCode::InsufficientFunds, text));
        }
        Ok(())
    }

    /// What the account's open buys reserve, at their limits or the last
    /// prices.
    fn reserved_buys(&self, mine: &[&OpenOrder]) -> i128 {
        mine.iter()
            .filter(|o| o.side == Side::Buy)
            .map(|o| {
                let shares = self.reserved_shares(o, mine);
                let at = o.reserve_price(self.last.get(&o.symbol).copied());
                match (at, Quantity::from_shares(Shares(shares))) {
                    (Some(at), Some(q)) => buy_cost(at, q),
                    _ => 0,
                }
            })
            .sum()
    }

    /// The shares the account's open sells of `symbol` set aside.
    pub(super) fn reserved_sales(&self, symbol: &Symbol, mine: &[&OpenOrder]) -> i64 {
        mine.iter()
            .filter(|o| o.side == Side::Sell && &o.symbol == symbol)
            .map(|o| self.reserved_shares(o, mine))
            .fold(0i64, i64::saturating_add)
    }

    /// The shares an open order of `mine` sets aside: its rest; for the
    /// exits of an entry that is filling in parts (held until it ends),
    /// the shares the entry has filled so far, counted on the first of
    /// them only, since they close the same position (so does an OCO's
    /// stop-loss, whose take-profit reserves for both).
    fn reserved_shares(&self, o: &OpenOrder, mine: &[&OpenOrder]) -> i64 {
        if reserves(o) {
            return o.remaining().raw();
        }
        let (true, Some(parent)) = (o.held, o.parent) else {
            return 0;
        };
        let first = mine
            .iter()
            .filter(|l| l.held && l.parent == Some(parent))
            .map(|l| l.id)
            .min();
        if first != Some(o.id) {
            return 0;
        }
        self.open
            .iter()
            .find(|e| e.id == parent)
            .map_or(0, |e| e.filled.shares.raw().min(o.quantity.raw()))
    }

    /// The account's cash, equity and shorts at the last prices; without
    /// short selling, its cash alone (what buys may spend: the buying
    /// power is then the cash).
    fn standing(&self, account: i64) -> Result<Exposure, Reason> {
        let cash = db::accounts::cash(&self.conn, account)
            .map_err(|err| crate::trade::internal("cannot read cash", err))?;
        if !self.limits.shorts.enabled {
            return Ok(Exposure::of(cash, [], &|_| None));
        }
        let held = db::positions::all(&self.conn, account)
            .map_err(|err| crate::trade::internal("cannot read positions", err))?;
        let marks = |symbol: &str| self.last.get(symbol).copied();
        Ok(Exposure::of(
            cash,
            held.iter().map(|(s, q, c)| {
                (
                    s.as_str(),
                    Holding {
                        quantity: *q,
                        cost: *c,
                    },
                )
            }),
            &marks,
        ))
    }

    /// replaceOrder: the order `id` of the session's account, open or
    /// triggered, with `change` applied, checked as a new order would be
    /// (besides the count of open orders, which does not change).
    pub(super) fn check_replace(
        &mut self,
        session: &SessionId,
        id: u64,
        change: &OrderChange,
        arrival_ms: u64,
    ) -> Result<Replacement, Reason> {
        let now = Timestamp::now();
        let trader = self.trader(session, now)?;
        let account = trader.account;
        let old = self
            .open
            .iter()
            .find(|o| u64::try_from(o.id) == Ok(id) && o.account == account)
            .ok_or_else(|| {
                let text = format!("order {id} is not an open order of yours");
                Reason::new(ReasonCode::UnknownOrder, text)
            })?;
        if let Some(class) = old.class {
            let text = format!(
                "order {id} is part of a {} order: cancel it and place it again",
                class.name()
            );
            return Err(Reason::new(ReasonCode::BadArguments, text));
        }
        let kind = change.apply(old.kind)?;
        let tif = change.tif.unwrap_or(old.tif);
        tif.fits(kind)?;
        let spec = OrderSpec {
            side: old.side,
            symbol: old.symbol.clone(),
            // `=` keeps what is left to fill of a part-filled order.
            quantity: change.quantity.unwrap_or(old.remaining()),
            kind,
            tif,
        };
        self.covered(account, &spec, Some(old.id))?;
        let size = Size::Shares(spec.quantity);
        self.keeps_rules(
            &trader,
            spec.side,
            &spec.symbol,
            size,
            &[spec.kind],
            Some(old.id),
        )?;
        Ok(Replacement {
            old: old.id,
            account,
            spec,
            created: now,
            arrival_ms,
            // A trailing stop keeps its mark; a triggered stop-limit stays
            // triggered unless its stop moves. A stop or trailing stop whose
            // stop a part fill reached does not: the new order waits for its
            // stop again, so that its first fill reaches it.
            mark: old.mark,
            triggered: old.triggered
                && matches!(kind, OrderKind::StopLimit { .. })
                && kind.stop() == old.kind.stop(),
        })
    }

    /// `symbol` is in the asset list, and `size` is whole shares unless
    /// the asset trades in fractions (an amount of money always needs
    /// them).
    pub(super) fn listed(&self, symbol: &Symbol, size: Size) -> Result<(), Reason> {
        if !self.assets.read().iter().any(|a| &a.symbol == symbol) {
            let text = format!("{symbol} is not in the asset list");
            return Err(Reason::new(ReasonCode::UnknownAsset, text));
        }
        if self.terms.get(symbol).is_some_and(|t| t.fractional) {
            return Ok(());
        }
        let text = match size {
            Size::Shares(quantity) if quantity.is_whole() => return Ok(()),
            Size::Shares(quantity) => {
                format!("{symbol} trades in whole shares only, not {quantity}")
            }
            Size::Notional(amount) => format!(
                "{symbol} trades in whole shares only; an order for an amount ({amount}) needs fractions"
            ),
        };
        Err(Reason::new(ReasonCode::BadQuantity, text))
    }

    /// A buy's cost at its limit (or the last price) fits the cash that
    /// the account's open buys do not reserve.
    pub(super) fn cash_covers(
        &self,
        account: i64,
        spec: &OrderSpec,
        mine: &[&OpenOrder],
    ) -> Result<(), Reason> {
        let last = self.last.get(&spec.symbol).copied();
        let Some(price) = spec.kind.limit().or(last) else {
            let text = format!(
                "no price for {} yet to reserve cash at; try again after the next update",
                spec.symbol
            );
            return Err(Reason::new(ReasonCode::Unavailable, text));
        };
        let need = buy_cost(price, spec.quantity);
        let reserved = self.reserved_buys(mine);
        let standing = self.standing(account)?;
        let (power, cash) = (
            standing.buying_power(&self.limits.shorts),
            i64::try_from(standing.cash).unwrap_or(i64::MAX),
        );
        if power - reserved < need {
            let shown = position::shown;
            let spend = if power == i128::from(cash) {
                format!("cash {}", Money(cash))
            } else {
                format!(
                    "buying power {} (cash {} less the margin of shorts)",
                    shown(power),
                    Money(cash)
                )
            };
            let text = format!(
                "{spend} with {} reserved by open buys does not cover {}",
                shown(reserved),
                shown(need)
            );
            return Err(Reason::new(ReasonCode::InsufficientFunds, text));
        }
        Ok(())
    }

    /// A sell fits the shares that the account's open sells do not
    /// reserve.
    pub(super) fn shares_cover(
        &self,
        account: i64,
        symbol: &Symbol,
        quantity: Quantity,
        mine: &[&OpenOrder],
    ) -> Result<(), Reason> {
        let held = db::positions::held(&self.conn, account, symbol.as_str())
            .map_err(|err| crate::trade::internal("cannot read a position", err))?;
        let reserved = self.reserved_sales(symbol, mine);
        if held.saturating_sub(reserved) < quantity.raw() {
            let text = format!(
                "holding {} shares with {} reserved by open sells, selling {quantity}",
                Shares(held),
                Shares(reserved)
            );
            return Err(Reason::new(ReasonCode::InsufficientShares, text));
        }
        Ok(())
    }

    /// `unavailable` for an order of `symbol` that has no price to fill
    /// at: how old its last price is and whether its source is failing.
    /// What failed stays in the log: it may name the provider's address.
    pub(super) fn no_price(&self, symbol: &Symbol, now: Timestamp) -> Reason {
        let since = match self.priced_at.get(symbol) {
            Some(&at) => format!(
                "its last price came {} ago ({} {:02}:{:02} UTC)",
                age(now.0.saturating_sub(at.0)),
                Date::of_timestamp(at),
                at.0.rem_euclid(86_400) / 3600,
                at.0.rem_euclid(3600) / 60
            ),
            None => "it has had no price yet".to_string(),
        };
        let text = match self.stale.get(symbol) {
            Some(Staleness::Failing) => format!(
                "no current price for {symbol}: its price source is failing and {since}; \
                 the order was not placed"
            ),
            _ => format!(
                "no price for {symbol} came in {MAX_MISSED} updates and {since}; \
                 the order was not placed"
            ),
        };
        Reason::new(ReasonCode::Unavailable, text)
    }

    /// `market-closed` with when it opens, if `symbol`'s market is closed
    /// at real time `now`.
    pub(super) fn closed(&self, symbol: &Symbol, now: Timestamp) -> Option<Reason> {
        let market = self.terms.get(symbol).copied().unwrap_or_default().market;
        let at = self.clock.at(now);
        if calendar::is_open(market, at) {
            return None;
        }
        let opens = calendar::next_open(market, at)
            .map(|t| format!("; it opens {}", calendar::describe(t)))
            .unwrap_or_default();
        let text = format!(
            "the {} market of {symbol} is closed{opens}",
            market.name().to_uppercase()
        );
        Some(Reason::new(ReasonCode::MarketClosed, text))
    }
}

/// A span of `seconds` as a person says it: `40 seconds`, `5 minutes`,
/// `3 hours`, `2 days`.
fn age(seconds: i64) -> String {
    match seconds {
        ..120 => format!("{} seconds", seconds.max(0)),
        120..7_200 => format!("{} minutes", seconds / 60),
        7_200..172_800 => format!("{} hours", seconds / 3600),
        _ => format!("{} days", seconds / 86_400),
    }
}

/// A checked `replaceOrder`: order `old` is to become this.
pub(super) struct Replacement {
    pub(super) old: i64,
    pub(super) account: i64,
    pub(super) spec: OrderSpec,
    pub(super) created: Timestamp,
    pub(super) arrival_ms: u64,
    pub(super) mark: Option<Money>,
    pub(super) triggered: bool,
}

impl Replacement {
    /// The new order to store.
    pub(super) fn new_order(&self) -> NewOrder<'_> {
        NewOrder {
            triggered: self.triggered,
            ..NewOrder::of(
                self.account,
                &self.spec,
                self.created,
                self.arrival_ms,
                self.mark,
            )
        }
    }
}

/// What a buy of `q` at `at` costs; beyond an i64, more than any cash.
fn buy_cost(at: Money, q: Quantity) -> i128 {
    at.buy_cost(q.shares())
        .map_or(i128::from(i64::MAX) + 1, |m| i128::from(m.raw()))
}

/// Whether an open order sets cash or shares aside: not a held leg (it
/// waits for its entry), nor an OCO's stop-loss (it closes the same
/// position as its take-profit, which reserves for both).
fn reserves(order: &OpenOrder) -> bool {
    let oco_leg = order.class == Some(OrderClass::Oco) && order.parent.is_some();
    !(order.held || oco_leg)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ages_read_as_people_say_them() {
        let cases = [
            (-5, "0 seconds"),
            (40, "40 seconds"),
            (119, "119 seconds"),
            (120, "2 minutes"),
            (7_199, "119 minutes"),
            (7_200, "2 hours"),
            (172_800, "2 days"),
        ];
        for (seconds, said) in cases {
            assert_eq!(super::age(seconds), said);
        }
    }
}
