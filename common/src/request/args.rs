//! Reading one instruction's arguments as values, each failure the
//! reason for its instruction's failure return.

use super::*;
use crate::value::{OrderPrice, ValueError};

/// The arguments of one instruction, read as values.
pub(super) struct Args<'a> {
    pub(super) instr: Instr,
    pub(super) args: &'a [&'a str],
}

impl Args<'_> {
    pub(super) fn get(&self, i: usize) -> Result<&str, Reason> {
        self.args.get(i).copied().ok_or_else(|| {
            let text = format!("{} takes more arguments", self.instr.name());
            Reason::new(ReasonCode::BadArguments, text)
        })
    }

    /// Argument `i` read by a value parser; a bad value's reason is its
    /// own (`invalid-username`, `bad-session`...).
    pub(super) fn value<T>(
        &self,
        i: usize,
        parse: fn(&str) -> Result<T, ValueError>,
    ) -> Result<T, Reason> {
        parse(self.get(i)?).map_err(|e| e.reason())
    }

    pub(super) fn state(&self, i: usize) -> Result<State, Reason> {
        let word = self.get(i)?;
        State::parse(word).ok_or_else(|| {
            let text = format!("state {}: expected command or data", excerpt(word));
            Reason::new(ReasonCode::BadArguments, text)
        })
    }

    /// `buy` or `sell`, else `bad-arguments`.
    pub(super) fn side(&self, i: usize) -> Result<Side, Reason> {
        let word = self.get(i)?;
        Side::parse(word).ok_or_else(|| {
            let text = format!("side {}: expected buy or sell", excerpt(word));
            Reason::new(ReasonCode::BadArguments, text)
        })
    }

    /// `symbol` and, for every range but all time, `date`.
    pub(super) fn history(&self, range: Range) -> Result<Request, Reason> {
        let symbol = self.value(0, Symbol::parse)?;
        let date = match range {
            Range::AllTime => None,
            _ => Some(self.value(1, Date::parse)?),
        };
        Ok(Request::History {
            range,
            symbol,
            date,
        })
    }

    /// A portfolio or competition number.
    pub(super) fn id(&self, i: usize, what: &'static str) -> Result<u64, Reason> {
        parse_id(what, self.get(i)?).map_err(|e| e.reason())
    }

    /// A starting cash: `-` for the master's, else an amount above 0 and
    /// at most [`crate::value::MAX_START_CASH`].
    pub(super) fn start_cash(&self, i: usize) -> Result<Option<Money>, Reason> {
        let word = self.get(i)?;
        if word == "-" {
            return Ok(None);
        }
        let cash = Money::parse(word).map_err(|e| e.reason())?;
        if cash.raw() <= 0 || cash > crate::value::MAX_START_CASH {
            let text = format!(
                "cash {}: expected - or an amount above 0, at most 1000000000",
                excerpt(word)
            );
            return Err(Reason::new(ReasonCode::BadArguments, text));
        }
        Ok(Some(cash))
    }

    /// A competition's invitation code, or its number.
    pub(super) fn join_by(&self, i: usize) -> Result<JoinBy, Reason> {
        let word = self.get(i)?;
        if word.bytes().all(|b| b.is_ascii_digit()) {
            return parse_id("gameID", word)
                .map(JoinBy::Id)
                .map_err(|e| e.reason());
        }
        GameCode::parse_typed(word)
            .map(JoinBy::Code)
            .map_err(|e| e.reason())
    }

    /// A portfolio command with its session.
    pub(super) fn portfolio(&self, op: PortfolioOp) -> Result<Request, Reason> {
        let session = self.value(0, SessionId::parse)?;
        Ok(Request::Portfolio { session, op })
    }

    /// A competition command with its session.
    pub(super) fn game(&self, op: GameOp) -> Result<Request, Reason> {
        let session = self.value(0, SessionId::parse)?;
        Ok(Request::Game { session, op })
    }

    /// A competition data instruction with its session.
    pub(super) fn game_view(&self, view: GameView) -> Result<Request, Reason> {
        let session = self.value(0, SessionId::parse)?;
        Ok(Request::GameView { session, view })
    }

    /// `sessionID username`.
    pub(super) fn user(&self, view: UserView) -> Result<Request, Reason> {
        Ok(Request::User {
            view,
            session: self.value(0, SessionId::parse)?,
            username: self.value(1, Username::parse)?,
        })
    }

    /// `sessionID side symbol quantity orderType limit stop tif`, checked
    /// in argument order so the first bad one names the failure.
    pub(super) fn place_order(&self) -> Result<Request, Reason> {
        let session = self.value(0, SessionId::parse)?;
        let side = self.side(1)?;
        let symbol = self.value(2, Symbol::parse)?;
        let quantity = self.value(3, Quantity::parse)?;
        let kind = OrderKind::parse(self.get(4)?, self.get(5)?, self.get(6)?)?;
        let tif = self.value(7, Tif::parse)?;
        tif.fits(kind)?;
        Ok(Request::PlaceOrder {
            session,
            order: OrderSpec {
                side,
                symbol,
                quantity,
                kind,
                tif,
            },
        })
    }

    /// `sessionID class side symbol quantity orderType limit stop tif
    /// takeProfit stopLoss`: a bracket takes both exits, an OTO one of
    /// them; an OCO both, with `-` for the type and its prices (its
    /// take-profit limit is the order). No ioc or fok: the exits outlive
    /// a price set. Which side of the entry the exits are on is the
    /// master's check, which knows the price.
    pub(super) fn place_order_class(&self) -> Result<Request, Reason> {
        let session = self.value(0, SessionId::parse)?;
        let class = self.value(1, OrderClass::parse)?;
        let side = self.side(2)?;
        let symbol = self.value(3, Symbol::parse)?;
        let quantity = self.value(4, Quantity::parse)?;
        let exit = |i: usize, what: &'static str| OrderPrice::parse(what, self.get(i)?);
        let (take_profit, stop_loss) = (exit(9, "takeProfit")?, exit(10, "stopLoss")?);
        let bad_price = |text: &str| Err(Reason::new(ReasonCode::BadPrice, text.to_string()));
        let kind = match class {
            OrderClass::Oco => {
                if [5, 6, 7].iter().any(|&i| self.args.get(i) != Some(&"-")) {
                    let text = "an oco order takes - for orderType, limit and stop: \
                                its exits are takeProfit and stopLoss";
                    return Err(Reason::new(ReasonCode::BadArguments, text));
                }
                match take_profit {
                    Some(limit) => OrderKind::Limit(limit),
                    None => return bad_price("an oco order needs a takeProfit and a stopLoss"),
                }
            }
            _ => OrderKind::parse(self.get(5)?, self.get(6)?, self.get(7)?)?,
        };
        let tif = self.value(8, Tif::parse)?;
        if tif.is_immediate() {
            let text = format!(
                "tif {}: an order class lives beyond one price set (day or gtc)",
                tif.name()
            );
            return Err(Reason::new(ReasonCode::BadArguments, text));
        }
        match (class, take_profit, stop_loss) {
            (OrderClass::Bracket | OrderClass::Oco, Some(_), Some(_)) => {}
            (OrderClass::Bracket | OrderClass::Oco, _, _) => {
                return bad_price(&format!(
                    "a {} order needs a takeProfit and a stopLoss",
                    class.name()
                ));
            }
            (OrderClass::Oto, Some(_), None) | (OrderClass::Oto, None, Some(_)) => {}
            (OrderClass::Oto, _, _) => {
                return bad_price("an oto order takes one exit: a takeProfit or a stopLoss");
            }
        }
        Ok(Request::PlaceOrderClass {
            session,
            order: OrderSpec {
                side,
                symbol,
                quantity,
                kind,
                tif,
            },
            class: ClassSpec {
                class,
                take_profit,
                stop_loss,
            },
        })
    }

    /// `sessionID orderID quantity limit stop tif`, each of the last four
    /// `=` to keep it; at least one must change.
    pub(super) fn replace_order(&self) -> Result<Request, Reason> {
        let session = self.value(0, SessionId::parse)?;
        let id = self.value(1, parse_order_id)?;
        let keep = |i: usize| -> Result<Option<&str>, Reason> {
            self.get(i).map(|t| (t != "=").then_some(t))
        };
        let quantity = match keep(2)? {
            Some(text) => Some(Quantity::parse(text).map_err(|e| e.reason())?),
            None => None,
        };
        let price = |what: &'static str, text: &str| match OrderPrice::parse(what, text)? {
            Some(price) => Ok(price),
            None => {
                let text = format!("{what} -: a replace keeps the order's type; send = to keep it");
                Err(Reason::new(ReasonCode::BadPrice, text))
            }
        };
        let limit = keep(3)?.map(|t| price("limit", t)).transpose()?;
        let stop = match keep(4)? {
            None => None,
            Some(text) if text.ends_with('%') => Some(NewStop::Trail(Trail::parse(text)?)),
            Some(text) => Some(NewStop::Price(price("stop", text)?)),
        };
        let tif = keep(5)?
            .map(|t| Tif::parse(t).map_err(|e| e.reason()))
            .transpose()?;
        let change = OrderChange {
            quantity,
            limit,
            stop,
            tif,
        };
        if change.is_empty() {
            let text = "replaceOrder changes nothing: give a new quantity, limit, stop or tif";
            return Err(Reason::new(ReasonCode::BadArguments, text));
        }
        Ok(Request::ReplaceOrder {
            session,
            id,
            change,
        })
    }

    /// `sessionID symbol quantity` (or `amount`, read by `size`).
    pub(super) fn trade(
        &self,
        side: Side,
        size: fn(&str) -> Result<Size, ValueError>,
    ) -> Result<Request, Reason> {
        Ok(Request::Trade {
            side,
            session: self.value(0, SessionId::parse)?,
            symbol: self.value(1, Symbol::parse)?,
            size: self.value(2, size)?,
        })
    }
}
