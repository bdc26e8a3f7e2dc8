//! The order values of PROTOCOL.md section 3: order type with its limit
//! and stop, time in force, order status, and the percent of the
//! leaderboard.

use std::fmt;

use super::{Money, Reason, ReasonCode, ValueError};

/// An order's type with the prices it takes (`limit`, `stop` arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderKind {
    /// Fills at the next price.
    Market,
    /// Fills at a price at or better than the limit.
    Limit(Money),
    /// Becomes a market order once the price reaches the stop.
    Stop(Money),
    /// Becomes a limit order once the price reaches the stop.
    StopLimit {
        /// The trigger.
        stop: Money,
        /// The limit once triggered.
        limit: Money,
    },
    /// A stop that follows the price (protocol 1.2): `trail` below the
    /// highest price seen for a sell, above the lowest for a buy.
    TrailingStop(Trail),
}

/// `orderType` words: section 3's four, then protocol 1.2's.
pub const ORDER_TYPES: [&str; 5] = ["market", "limit", "stop", "stop-limit", "trailing-stop"];

/// Most basis points a percent trail may be (99.99%).
const MAX_TRAIL_BP: u32 = 9_999;

/// How far a trailing stop stays from its mark (the best price since it
/// was placed): an amount of money, or a percent of the mark with up to
/// 2 fraction digits (`1.50`, `2%`, `0.25%`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trail {
    /// A price distance, above 0.
    Amount(Money),
    /// Basis points of the mark, 1 to 9,999.
    Percent(u32),
}

impl Trail {
    /// Parses `AMOUNT` or `PERCENT%`; anything else, 0, or a percent of
    /// 100 or more is `bad-price`.
    pub fn parse(text: &str) -> Result<Trail, Reason> {
        let bad = || {
            let expected = "an amount above 0 (1.50) or a percent above 0 and below 100 (2%)";
            let err = ValueError::new("trail", text, expected);
            Reason::new(ReasonCode::BadPrice, err.to_string())
        };
        let Some(number) = text.strip_suffix('%') else {
            return match Money::parse(text) {
                Ok(amount) if amount.raw() > 0 => Ok(Trail::Amount(amount)),
                _ => Err(bad()),
            };
        };
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || whole.len() > 2 || frac.len() > 2 || !digits(whole) || !digits(frac)
        {
            return Err(bad());
        }
        if number.ends_with('.') {
            return Err(bad());
        }
        let whole: u32 = whole.parse().map_err(|_| bad())?;
        let frac: u32 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
        match whole * 100 + frac {
            bp @ 1..=MAX_TRAIL_BP => Ok(Trail::Percent(bp)),
            _ => Err(bad()),
        }
    }

    /// The stop that trails `mark`: below it for a sell, above it for a
    /// buy, a percent trail rounded to the nearest ten-thousandth (half
    /// away from zero). `None` where it would not be a positive price
    /// (a sell trailing by more than the mark) or overflows.
    pub fn stop(self, buy: bool, mark: Money) -> Option<Money> {
        let stop = match self {
            Trail::Amount(amount) if buy => mark.raw().checked_add(amount.raw())?,
            Trail::Amount(amount) => mark.raw() - amount.raw(),
            Trail::Percent(bp) => {
                let factor = if buy { 10_000 + bp } else { 10_000 - bp };
                let scaled = i128::from(mark.raw()) * i128::from(factor);
                i64::try_from((scaled + 5_000) / 10_000).ok()?
            }
        };
        (stop > 0).then_some(Money(stop))
    }
}

impl fmt::Display for Trail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Trail::Amount(amount) => amount.fmt(f),
            Trail::Percent(bp) if bp % 100 == 0 => write!(f, "{}%", bp / 100),
            Trail::Percent(bp) if bp % 10 == 0 => write!(f, "{}.{}%", bp / 100, bp % 100 / 10),
            Trail::Percent(bp) => write!(f, "{}.{:02}%", bp / 100, bp % 100),
        }
    }
}

impl OrderKind {
    /// The `orderType` word.
    pub fn name(self) -> &'static str {
        match self {
            OrderKind::Market => "market",
            OrderKind::Limit(_) => "limit",
            OrderKind::Stop(_) => "stop",
            OrderKind::StopLimit { .. } => "stop-limit",
            OrderKind::TrailingStop(_) => "trailing-stop",
        }
    }

    /// The trail of a trailing stop.
    pub fn trail(self) -> Option<Trail> {
        match self {
            OrderKind::TrailingStop(trail) => Some(trail),
            _ => None,
        }
    }

    /// The `stop` argument as `placeOrder` sends it: the stop price, the
    /// trail of a trailing stop, or `-`.
    pub fn stop_arg(self) -> String {
        match self {
            OrderKind::TrailingStop(trail) => trail.to_string(),
            _ => OrderPrice::show(self.stop()),
        }
    }

    /// The limit price, if the type takes one.
    pub fn limit(self) -> Option<Money> {
        match self {
            OrderKind::Limit(limit) | OrderKind::StopLimit { limit, .. } => Some(limit),
            _ => None,
        }
    }

    /// The stop price, if the type takes one.
    pub fn stop(self) -> Option<Money> {
        match self {
            OrderKind::Stop(stop) | OrderKind::StopLimit { stop, .. } => Some(stop),
            _ => None,
        }
    }

    /// Reads `orderType limit stop` as they come on the wire (a trailing
    /// stop's `stop` is its trail). A malformed type is `bad-arguments`; a
    /// price or trail that is malformed, not positive, or missing or
    /// present against the type is `bad-price`.
    pub fn parse(kind: &str, limit: &str, stop: &str) -> Result<OrderKind, Reason> {
        let limit = OrderPrice::parse("limit", limit)?;
        if kind == "trailing-stop" {
            let trail = match stop {
                "-" => None,
                text => Some(Trail::parse(text)?),
            };
            return OrderKind::from_parts(kind, limit, None, trail);
        }
        let stop = OrderPrice::parse("stop", stop)?;
        OrderKind::from_parts(kind, limit, stop, None)
    }

    /// The order kind of a type word and its already parsed prices and
    /// trail.
    pub fn from_parts(
        kind: &str,
        limit: Option<Money>,
        stop: Option<Money>,
        trail: Option<Trail>,
    ) -> Result<OrderKind, Reason> {
        let bad_price = |text: String| Reason::new(ReasonCode::BadPrice, text);
        let want = |takes_limit: bool, takes_stop: bool| -> Result<(), Reason> {
            match (takes_limit, limit, takes_stop, stop) {
                (false, Some(_), ..) => Err(bad_price(format!("a {kind} order takes no limit"))),
                (true, None, ..) => Err(bad_price(format!("a {kind} order needs a limit"))),
                (_, _, false, Some(_)) => Err(bad_price(format!("a {kind} order takes no stop"))),
                (_, _, true, None) => Err(bad_price(format!("a {kind} order needs a stop"))),
                _ => Ok(()),
            }
        };
        match (kind, trail) {
            ("trailing-stop", None) => {
                return Err(bad_price("a trailing-stop order needs a trail".into()));
            }
            ("trailing-stop", Some(trail)) => {
                return want(false, false).map(|()| OrderKind::TrailingStop(trail));
            }
            (_, Some(_)) if ORDER_TYPES.contains(&kind) => {
                return Err(bad_price(format!("a {kind} order takes no trail")));
            }
            _ => {}
        }
        match kind {
            "market" => want(false, false).map(|()| OrderKind::Market),
            "limit" => want(true, false).map(|()| OrderKind::Limit(limit.unwrap_or_default())),
            "stop" => want(false, true).map(|()| OrderKind::Stop(stop.unwrap_or_default())),
            "stop-limit" => want(true, true).map(|()| OrderKind::StopLimit {
                stop: stop.unwrap_or_default(),
                limit: limit.unwrap_or_default(),
            }),
            _ => Err(ValueError::new(
                "orderType",
                kind,
                "market, limit, stop, stop-limit or trailing-stop",
            )
            .reason()),
        }
    }
}

/// A `limit` or `stop` argument: a positive price, or `-` for none.
pub struct OrderPrice;

impl OrderPrice {
    /// `Some(price)` for a positive price of 0-4 fraction digits, `None`
    /// for `-`, else `bad-price`.
    pub fn parse(what: &'static str, text: &str) -> Result<Option<Money>, Reason> {
        if text == "-" {
            return Ok(None);
        }
        match Money::parse(text) {
            Ok(price) if price.raw() > 0 => Ok(Some(price)),
            _ => {
                let err = ValueError::new(what, text, "a positive price or -");
                Err(Reason::new(ReasonCode::BadPrice, err.to_string()))
            }
        }
    }

    /// The wire form of an optional price: the price or `-`.
    pub fn show(price: Option<Money>) -> String {
        price.map_or_else(|| "-".to_string(), |p| p.to_string())
    }
}

/// Time in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tif {
    /// Expires at 00:00 UTC after the day it was placed.
    Day,
    /// Good till cancelled (at most 90 days).
    Gtc,
    /// Immediate or cancel (protocol 1.2): tried at the first price set
    /// that can fill it; what does not fill then expires.
    Ioc,
    /// Fill or kill (protocol 1.2): all of it at the first price set that
    /// can fill it, or nothing.
    Fok,
}

impl Tif {
    /// The wire word.
    pub fn name(self) -> &'static str {
        match self {
            Tif::Day => "day",
            Tif::Gtc => "gtc",
            Tif::Ioc => "ioc",
            Tif::Fok => "fok",
        }
    }

    /// Parses `day`, `gtc`, `ioc` or `fok`.
    pub fn parse(text: &str) -> Result<Tif, ValueError> {
        [Tif::Day, Tif::Gtc, Tif::Ioc, Tif::Fok]
            .into_iter()
            .find(|t| t.name() == text)
            .ok_or_else(|| ValueError::new("tif", text, "day, gtc, ioc or fok"))
    }

    /// Whether the order lives for one price set only (`ioc`, `fok`).
    pub fn is_immediate(self) -> bool {
        matches!(self, Tif::Ioc | Tif::Fok)
    }

    /// `ioc` and `fok` take market and limit orders only; anything else
    /// is `bad-arguments`.
    pub fn fits(self, kind: OrderKind) -> Result<(), Reason> {
        if self.is_immediate() && !matches!(kind, OrderKind::Market | OrderKind::Limit(_)) {
            let text = format!(
                "tif {}: only a market or limit order can be ioc or fok",
                self.name()
            );
            return Err(Reason::new(ReasonCode::BadArguments, text));
        }
        Ok(())
    }
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Waiting for its price.
    Open,
    /// A stop-limit whose stop was reached, now waiting as a limit.
    Triggered,
    /// Filled; the order names its transaction.
    Filled,
    /// Cancelled by its owner or by a reset.
    Cancelled,
    /// Its time in force ran out.
    Expired,
    /// Its fill could not be covered.
    Rejected,
    /// Replaced by a new order with its changes (protocol 1.2).
    Replaced,
    /// An exit leg of a bracket or OTO order, waiting for its entry to
    /// fill before it is open (protocol 1.2).
    Held,
}

impl OrderStatus {
    /// Every status, in the order of PROTOCOL.md section 4.
    pub const ALL: [OrderStatus; 8] = [
        OrderStatus::Open,
        OrderStatus::Triggered,
        OrderStatus::Filled,
        OrderStatus::Cancelled,
        OrderStatus::Expired,
        OrderStatus::Rejected,
        OrderStatus::Replaced,
        OrderStatus::Held,
    ];

    /// The wire word.
    pub fn name(self) -> &'static str {
        match self {
            OrderStatus::Open => "open",
            OrderStatus::Triggered => "triggered",
            OrderStatus::Filled => "filled",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Replaced => "replaced",
            OrderStatus::Held => "held",
        }
    }

    /// Parses the wire word.
    pub fn parse(text: &str) -> Result<OrderStatus, ValueError> {
        OrderStatus::ALL
            .into_iter()
            .find(|s| s.name() == text)
            .ok_or_else(|| {
                let expected =
                    "open, triggered, filled, cancelled, expired, rejected, replaced or held";
                ValueError::new("status", text, expected)
            })
    }

    /// Whether the order may still fill or be cancelled (a held leg
    /// too: it opens when its entry fills).
    pub fn is_live(self) -> bool {
        matches!(
            self,
            OrderStatus::Open | OrderStatus::Triggered | OrderStatus::Held
        )
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An order class of protocol 1.2: orders placed together, whose fills
/// open or cancel each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderClass {
    /// An entry with two exit legs, a take-profit limit and a stop-loss
    /// stop, held until the entry fills; the fill of one leg cancels the
    /// other.
    Bracket,
    /// One cancels the other: a take-profit limit and a stop-loss stop,
    /// both open at once; the fill of one cancels the other.
    Oco,
    /// One triggers the other: an entry with one exit leg, held until the
    /// entry fills.
    Oto,
}

impl OrderClass {
    /// The wire word.
    pub fn name(self) -> &'static str {
        match self {
            OrderClass::Bracket => "bracket",
            OrderClass::Oco => "oco",
            OrderClass::Oto => "oto",
        }
    }

    /// Parses `bracket`, `oco` or `oto`.
    pub fn parse(text: &str) -> Result<OrderClass, ValueError> {
        [OrderClass::Bracket, OrderClass::Oco, OrderClass::Oto]
            .into_iter()
            .find(|c| c.name() == text)
            .ok_or_else(|| ValueError::new("class", text, "bracket, oco or oto"))
    }
}

/// An `orderID`: a decimal integer unique per master.
pub fn parse_order_id(text: &str) -> Result<u64, ValueError> {
    super::decimal(text, 19)
        .filter(|&n| n <= i64::MAX as u64)
        .ok_or_else(|| ValueError::new("orderID", text, "an order number (digits only)"))
}

/// A `percent`: hundredths of a percent, shown with exactly 2 fraction
/// digits (`12.34`, `-3.10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Percent(pub i64);

impl Percent {
    /// Parses an optional `-`, digits, `.` and exactly 2 digits.
    pub fn parse(text: &str) -> Result<Percent, ValueError> {
        let bad = || ValueError::new("percent", text, "a decimal with 2 fraction digits");
        let (negative, body) = text
            .strip_prefix('-')
            .map_or((false, text), |rest| (true, rest));
        let (whole, frac) = body.split_once('.').ok_or_else(bad)?;
        let whole: i64 = super::decimal(whole, 16).ok_or_else(bad)?;
        let frac: i64 = super::decimal(frac, 2)
            .filter(|_| frac.len() == 2)
            .ok_or_else(bad)?;
        let magnitude = whole * 100 + frac;
        Ok(Percent(if negative { -magnitude } else { magnitude }))
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let m = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", m / 100, m % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(t: &str, l: &str, s: &str) -> Result<OrderKind, ReasonCode> {
        OrderKind::parse(t, l, s).map_err(|r| r.code)
    }

    #[test]
    fn order_kinds_take_their_prices() {
        let p = |s: &str| Money::parse(s).expect("price");
        assert_eq!(kind("market", "-", "-"), Ok(OrderKind::Market));
        assert_eq!(kind("limit", "170", "-"), Ok(OrderKind::Limit(p("170"))));
        assert_eq!(
            kind("stop", "-", "0.0001"),
            Ok(OrderKind::Stop(p("0.0001")))
        );
        assert_eq!(
            kind("stop-limit", "170.5", "175"),
            Ok(OrderKind::StopLimit {
                stop: p("175"),
                limit: p("170.5")
            })
        );
        for (t, l, s) in [
            ("market", "170", "-"),
            ("market", "-", "1"),
            ("limit", "-", "-"),
            ("limit", "1", "1"),
            ("stop", "-", "-"),
            ("stop", "1", "1"),
            ("stop-limit", "1", "-"),
            ("stop-limit", "-", "1"),
            ("limit", "0", "-"),
            ("limit", "-1", "-"),
            ("limit", "1.00001", "-"),
            ("limit", "1e3", "-"),
            ("limit", "", "-"),
            ("limit", "99999999999999999", "-"),
        ] {
            assert_eq!(kind(t, l, s), Err(ReasonCode::BadPrice), "{t} {l} {s}");
        }
        assert_eq!(kind("MARKET", "-", "-"), Err(ReasonCode::BadArguments));
        assert_eq!(kind("trailing", "-", "-"), Err(ReasonCode::BadArguments));
    }

    #[test]
    fn trailing_stops_take_a_trail() {
        let p = |s: &str| Money::parse(s).expect("price");
        assert_eq!(
            kind("trailing-stop", "-", "1.50"),
            Ok(OrderKind::TrailingStop(Trail::Amount(p("1.5"))))
        );
        assert_eq!(
            kind("trailing-stop", "-", "2%"),
            Ok(OrderKind::TrailingStop(Trail::Percent(200)))
        );
        assert_eq!(
            kind("trailing-stop", "-", "99.99%"),
            Ok(OrderKind::TrailingStop(Trail::Percent(9_999)))
        );
        assert_eq!(
            kind("trailing-stop", "-", "0.01%"),
            Ok(OrderKind::TrailingStop(Trail::Percent(1)))
        );
        for bad in [
            "-", "0", "0.0000", "0%", "0.00%", "100%", "150%", "2.555%", "%", ".5%", "2.%", "-2%",
            "+2%", "1e5", "NaN", "inf", "2 %", "2%%", "1.00001", "", "٣%",
        ] {
            assert_eq!(
                kind("trailing-stop", "-", bad),
                Err(ReasonCode::BadPrice),
                "{bad:?}"
            );
        }
        assert_eq!(
            kind("trailing-stop", "100", "2%"),
            Err(ReasonCode::BadPrice)
        );
        assert_eq!(
            OrderKind::from_parts("stop", None, Some(p("1")), Some(Trail::Percent(1)))
                .map_err(|r| r.code),
            Err(ReasonCode::BadPrice)
        );
        for text in ["1.5000", "2%", "2.5%", "0.25%", "99.99%", "0.01%"] {
            let trail = Trail::parse(text).expect(text);
            assert_eq!(trail.to_string(), text);
            assert_eq!(OrderKind::TrailingStop(trail).stop_arg(), text);
        }
    }

    #[test]
    fn a_trail_follows_its_mark() {
        let p = |s: &str| Money::parse(s).expect("price");
        let amount = Trail::Amount(p("1.5"));
        assert_eq!(amount.stop(false, p("100")), Some(p("98.5")));
        assert_eq!(amount.stop(true, p("100")), Some(p("101.5")));
        assert_eq!(amount.stop(false, p("1.5")), None, "no stop at 0");
        assert_eq!(amount.stop(false, p("1")), None);
        assert_eq!(amount.stop(true, Money(i64::MAX)), None, "overflow");
        let pct = Trail::Percent(200);
        assert_eq!(pct.stop(false, p("100")), Some(p("98")));
        assert_eq!(pct.stop(true, p("100")), Some(p("102")));
        // 1.0001 * 0.98 = 0.980098 -> 0.9801; * 1.02 = 1.020102 -> 1.0201
        assert_eq!(pct.stop(false, p("1.0001")), Some(p("0.9801")));
        assert_eq!(pct.stop(true, p("1.0001")), Some(p("1.0201")));
        // Half away: 0.0050 * 0.99 = 0.00495 -> 0.0050 (49.5 -> 50 units).
        assert_eq!(
            Trail::Percent(100).stop(false, p("0.005")),
            Some(p("0.005"))
        );
        assert_eq!(Trail::Percent(9_999).stop(false, p("0.0001")), None);
        assert_eq!(Trail::Percent(9_999).stop(true, Money(i64::MAX)), None);
    }

    #[test]
    fn percent_round_trips() {
        for text in ["12.34", "-3.10", "0.00", "100000.00", "-0.05"] {
            assert_eq!(Percent::parse(text).expect(text).to_string(), text);
        }
        for bad in ["12", "12.3", "12.345", "-", ".12", "1.-2", "+1.00", ""] {
            assert!(Percent::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Percent(-5).to_string(), "-0.05");
    }

    #[test]
    fn statuses_and_ids() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.name()), Ok(s));
        }
        assert!(OrderStatus::parse("Open").is_err());
        assert_eq!(parse_order_id("42"), Ok(42));
        for bad in [
            "",
            "-1",
            "1.0",
            "99999999999999999999",
            "9223372036854775808",
        ] {
            assert!(parse_order_id(bad).is_err(), "{bad}");
        }
        assert_eq!(Tif::parse("gtc"), Ok(Tif::Gtc));
        assert_eq!(Tif::parse("ioc"), Ok(Tif::Ioc));
        assert_eq!(Tif::parse("fok"), Ok(Tif::Fok));
        assert!(Tif::parse("opg").is_err());
        assert!(Tif::parse("GTC").is_err());
    }
}
