//! The trade thread's admission rules (PROTOCOL.md section 9): what an
//! order must pass when it arrives, before it waits for a price set or is
//! stored open: the session, the limits on waiting and open orders, the
//! asset list, market hours, and cash or shares not reserved already.

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
        if let Some(reason) = self.closed(&symbol, Timestamp::now()) {
            return Err(reason);
        }
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

    pub(super) fn check_placement<'p>(
        &self,
        session: &SessionId,
        spec: &'p OrderSpec,
        arrival_ms: u64,
    ) -> Result<NewOrder<'p>, Reason> {
        let now = Timestamp::now();
        let account = session_account(&self.conn, session, now)?.0;
        if !self.assets.read().iter().any(|a| a.symbol == spec.symbol) {
            let text = format!("{} is not in the asset list", spec.symbol);
            return Err(Reason::new(ReasonCode::UnknownAsset, text));
        }
        let mine: Vec<&OpenOrder> = self.open.iter().filter(|o| o.account == account).collect();
        if mine.len() >= self.limits.open_per_account {
            let text = format!(
                "you have {} open orders, the most allowed; cancel one first",
                mine.len()
            );
            return Err(Reason::new(ReasonCode::TooManyOrders, text));
        }
        let quantity = i64::try_from(spec.quantity.get()).unwrap_or(i64::MAX);
        match spec.side {
            Side::Buy => self.cash_covers(account, spec, quantity, &mine)?,
            Side::Sell => self.shares_cover(account, &spec.symbol, quantity, &mine)?,
        }
        Ok(NewOrder {
            account,
            side: spec.side,
            symbol: &spec.symbol,
            quantity: spec.quantity,
            kind: spec.kind,
            tif: spec.tif,
            created: now,
            arrival_ms,
        })
    }

    /// A buy's cost at its limit (or the last price) fits the cash that
    /// the account's open buys do not reserve.
    pub(super) fn cash_covers(
        &self,
        account: i64,
        spec: &OrderSpec,
        quantity: i64,
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
        let need = i128::from(price.raw()) * i128::from(quantity);
        let reserved: i128 = mine
            .iter()
            .filter(|o| o.side == Side::Buy)
            .map(|o| {
                let at = o.reserve_price(self.last.get(&o.symbol).copied());
                i128::from(at.map_or(0, Money::raw))
                    * i128::from(i64::try_from(o.quantity.get()).unwrap_or(i64::MAX))
            })
            .sum();
        let cash = db::accounts::cash(&self.conn, account)
            .map_err(|err| crate::trade::internal("cannot read cash", err))?;
        if i128::from(cash) - reserved < need {
            let shown = |v: i128| Money(i64::try_from(v).unwrap_or(i64::MAX));
            let text = format!(
                "cash {} with {} reserved by open buys does not cover {}",
                Money(cash),
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
        quantity: i64,
        mine: &[&OpenOrder],
    ) -> Result<(), Reason> {
        let held = db::positions::held(&self.conn, account, symbol.as_str())
            .map_err(|err| crate::trade::internal("cannot read a position", err))?;
        let reserved: i64 = mine
            .iter()
            .filter(|o| o.side == Side::Sell && &o.symbol == symbol)
            .map(|o| i64::try_from(o.quantity.get()).unwrap_or(i64::MAX))
            .fold(0i64, i64::saturating_add);
        if held.saturating_sub(reserved) < quantity {
            let text = format!(
                "holding {held} shares with {reserved} reserved by open sells, selling {quantity}"
            );
            return Err(Reason::new(ReasonCode::InsufficientShares, text));
        }
        Ok(())
    }

    /// `market-closed` with when it opens, if `symbol`'s market is closed
    /// at real time `now`.
    pub(super) fn closed(&self, symbol: &Symbol, now: Timestamp) -> Option<Reason> {
        let market = self.markets.get(symbol).copied().unwrap_or_default();
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
