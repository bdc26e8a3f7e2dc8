//! Order and account-standing lines (PROTOCOL.md section 4): `getOrders`,
//! `getLeaderboard` and `getEquityHistory`.

use std::fmt::Write;

use super::{Fields, Line, PayloadError, digits};
use crate::request::Side;
use crate::value::{
    ClientOrderId, Date, Money, OrderClass, OrderKind, OrderPrice, OrderStatus, Percent, Quantity,
    Symbol, Tif, Timestamp, Trail, Username, ValueError, parse_order_id,
};

/// A `getOrders` line: `ORDERID CREATED SIDE SYMBOL QUANTITY ORDERTYPE
/// LIMIT STOP TIF STATUS UPDATED TXID`, then (protocol 1.2) `KEY=VALUE`
/// fields for what an order of 1.2 has: `trail=` and `mark=` for a
/// trailing stop, whose STOP is the stop as it stands (`-` before its
/// first mark); `class=` for an order of a class and `parent=` for its
/// legs; `filled=` and `avg=` once any of it has filled (the shares
/// filled so far and their average price). A reader ignores keys it does
/// not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    /// The order's id.
    pub id: u64,
    /// When it was placed.
    pub created: Timestamp,
    /// Buy or sell.
    pub side: Side,
    /// The asset.
    pub symbol: Symbol,
    /// Shares.
    pub quantity: Quantity,
    /// Type with its prices.
    pub kind: OrderKind,
    /// Time in force.
    pub tif: Tif,
    /// Where it stands.
    pub status: OrderStatus,
    /// The last change of status.
    pub updated: Timestamp,
    /// The transaction of its fill.
    pub txid: Option<i64>,
    /// A trailing stop's mark: the highest price since it was placed for
    /// a sell, the lowest for a buy (`None` before the first).
    pub mark: Option<Money>,
    /// The class of the orders it was placed with.
    pub class: Option<OrderClass>,
    /// A leg's entry (an OCO's stop-loss: its take-profit).
    pub parent: Option<u64>,
    /// What has filled so far, when anything has.
    pub filled: Option<Filled>,
    /// The trading program's own id for it (`placeOrderTagged`).
    pub client: Option<ClientOrderId>,
}

/// The part of an order filled so far: `filled=QUANTITY avg=PRICE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filled {
    /// Shares filled, above 0 and at most the order's quantity.
    pub quantity: Quantity,
    /// Their average fill price (the cash they moved over the shares,
    /// rounded half away from zero to 1/10 000).
    pub avg: Money,
}

impl OrderLine {
    /// The stop as it stands: a stop order's, or where a trailing stop's
    /// trail puts it from its mark.
    pub fn stop(&self) -> Option<Money> {
        match self.kind {
            OrderKind::TrailingStop(trail) => {
                let mark = self.mark?;
                trail.stop(self.side == Side::Buy, mark)
            }
            kind => kind.stop(),
        }
    }
}

impl Line for OrderLine {
    const KIND: &'static str = "order";

    fn write(&self, out: &mut String) {
        let txid = self.txid.map_or_else(|| "-".to_string(), |t| t.to_string());
        let _ = writeln!(
            out,
            "{} {} {} {} {} {} {} {} {} {} {} {}",
            self.id,
            self.created,
            self.side.name(),
            self.symbol,
            self.quantity,
            self.kind.name(),
            OrderPrice::show(self.kind.limit()),
            OrderPrice::show(self.stop()),
            self.tif.name(),
            self.status,
            self.updated,
            txid
        );
        let mut extra = String::new();
        if let Some(trail) = self.kind.trail() {
            let _ = write!(extra, " trail={trail}");
            if let Some(mark) = self.mark {
                let _ = write!(extra, " mark={mark}");
            }
        }
        if let Some(class) = self.class {
            let _ = write!(extra, " class={}", class.name());
        }
        if let Some(parent) = self.parent {
            let _ = write!(extra, " parent={parent}");
        }
        if let Some(filled) = self.filled {
            let _ = write!(extra, " filled={} avg={}", filled.quantity, filled.avg);
        }
        if let Some(client) = &self.client {
            let _ = write!(extra, " client={client}");
        }
        if !extra.is_empty() {
            out.pop();
            out.push_str(&extra);
            out.push('\n');
        }
    }

    fn parse(line: &str) -> Result<OrderLine, PayloadError> {
        let mut f = Fields::new(Self::KIND, line);
        let id = f.value("orderID", parse_order_id)?;
        let created = f.value("created", Timestamp::parse)?;
        let side = f.value("side", |t| {
            Side::parse(t).ok_or_else(|| ValueError::new("side", t, "buy or sell"))
        })?;
        let symbol = f.value("symbol", Symbol::parse)?;
        let quantity = f.value("quantity", Quantity::parse)?;
        let type_word = f.text("orderType")?;
        let price = |what: &'static str| {
            move |t: &str| OrderPrice::parse(what, t).map_err(|_| price_error(what, t))
        };
        let limit = f.value("limit", price("limit"))?;
        let stop = f.value("stop", price("stop"))?;
        let tif = f.value("tif", Tif::parse)?;
        let status = f.value("status", OrderStatus::parse)?;
        let updated = f.value("updated", Timestamp::parse)?;
        let txid = f.value("txid", |t| match t {
            "-" => Ok(None),
            _ => digits(t, "txid", "a transaction id or -").map(Some),
        })?;
        let (mut trail, mut mark, mut class, mut parent) = (None, None, None, None);
        let (mut filled, mut avg, mut client) = (None, None, None);
        while f.more() {
            let field = f.text("KEY=VALUE")?;
            let Some(pair) = field.split_once('=') else {
                let err = ValueError::new("KEY=VALUE", field, "a key, = and a value");
                return Err(PayloadError::bad(Self::KIND, line, "KEY=VALUE", err));
            };
            match pair {
                ("trail", text) => {
                    let parsed = Trail::parse(text).map_err(|_| {
                        let err = ValueError::new("trail", text, "an amount or a percent");
                        PayloadError::bad(Self::KIND, line, "trail", err)
                    })?;
                    trail = Some(parsed);
                }
                ("mark", text) => mark = f_price(line, "mark", text)?,
                ("class", text) => {
                    class = Some(
                        OrderClass::parse(text)
                            .map_err(|err| PayloadError::bad(Self::KIND, line, "class", err))?,
                    );
                }
                ("parent", text) => {
                    parent = Some(
                        parse_order_id(text)
                            .map_err(|err| PayloadError::bad(Self::KIND, line, "parent", err))?,
                    );
                }
                ("filled", text) => {
                    filled = Some(
                        Quantity::parse(text)
                            .map_err(|err| PayloadError::bad(Self::KIND, line, "filled", err))?,
                    );
                }
                ("avg", text) => avg = f_price(line, "avg", text)?,
                ("client", text) => {
                    client = Some(
                        ClientOrderId::parse(text)
                            .map_err(|err| PayloadError::bad(Self::KIND, line, "client", err))?,
                    );
                }
                _ => {}
            }
        }
        let filled = match (filled, avg) {
            (None, None) => None,
            (Some(q), Some(avg)) if q <= quantity => Some(Filled { quantity: q, avg }),
            (Some(q), Some(_)) => {
                let err = ValueError::new("filled", &q.to_string(), "at most the quantity");
                return Err(PayloadError::bad(Self::KIND, line, "filled", err));
            }
            _ => {
                let err = ValueError::new("filled", line, "filled= and avg= together");
                return Err(PayloadError::bad(Self::KIND, line, "filled", err));
            }
        };
        // A trailing stop's STOP is derived from its trail and mark.
        let stop = if trail.is_some() { None } else { stop };
        let kind = OrderKind::from_parts(type_word, limit, stop, trail).map_err(|_| {
            let expected =
                "market, limit, stop, stop-limit or trailing-stop, with the prices it takes";
            let err = ValueError::new("orderType", type_word, expected);
            PayloadError::bad(Self::KIND, line, "orderType", err)
        })?;
        Ok(OrderLine {
            id,
            created,
            side,
            symbol,
            quantity,
            kind,
            tif,
            status,
            updated,
            txid,
            mark,
            class,
            parent,
            filled,
            client,
        })
    }
}

/// A `KEY=VALUE` price field: a positive price.
fn f_price(line: &str, what: &'static str, text: &str) -> Result<Option<Money>, PayloadError> {
    match OrderPrice::parse(what, text) {
        Ok(Some(price)) => Ok(Some(price)),
        _ => Err(PayloadError::bad(
            OrderLine::KIND,
            line,
            what,
            price_error(what, text),
        )),
    }
}

fn price_error(what: &'static str, text: &str) -> ValueError {
    ValueError::new(what, text, "a positive price or -")
}

/// A `getLeaderboard` line: `RANK USERNAME RETURN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// 1-based; tied accounts share one.
    pub rank: u64,
    /// Whose account.
    pub username: Username,
    /// Equity over starting cash, in percent.
    pub ret: Percent,
}

impl Line for Standing {
    const KIND: &'static str = "leaderboard";

    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "{} {} {}", self.rank, self.username, self.ret);
    }

    fn parse(line: &str) -> Result<Standing, PayloadError> {
        let mut f = Fields::new(Self::KIND, line);
        let rank = f.value("rank", |t| digits(t, "rank", "a rank from 1 (digits only)"))?;
        if rank == 0 {
            let err = ValueError::new("rank", "0", "a rank from 1 (digits only)");
            return Err(PayloadError::bad(Self::KIND, line, "rank", err));
        }
        let standing = Standing {
            rank,
            username: f.value("username", Username::parse)?,
            ret: f.value("return", Percent::parse)?,
        };
        f.end("return", "3 fields")?;
        Ok(standing)
    }
}

/// A `getEquityHistory` line: `DATE EQUITY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EquityPoint {
    /// The UTC day.
    pub date: Date,
    /// Equity at that day's last price set (today: as it stands).
    pub equity: Money,
}

impl Line for EquityPoint {
    const KIND: &'static str = "equity";

    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "{} {}", self.date, self.equity);
    }

    fn parse(line: &str) -> Result<EquityPoint, PayloadError> {
        let mut f = Fields::new(Self::KIND, line);
        let point = EquityPoint {
            date: f.value("date", Date::parse)?,
            equity: f.value("equity", Money::parse)?,
        };
        f.end("equity", "2 fields")?;
        Ok(point)
    }
}
