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
}

/// `orderType` words, in the order of PROTOCOL.md section 3.
pub const ORDER_TYPES: [&str; 4] = ["market", "limit", "stop", "stop-limit"];

impl OrderKind {
    /// The `orderType` word.
    pub fn name(self) -> &'static str {
        match self {
            OrderKind::Market => "market",
            OrderKind::Limit(_) => "limit",
            OrderKind::Stop(_) => "stop",
            OrderKind::StopLimit { .. } => "stop-limit",
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

    /// Reads `orderType limit stop` as they come on the wire. A malformed
    /// type is `bad-arguments`; a price that is malformed, not positive,
    /// or missing or present against the type is `bad-price`.
    pub fn parse(kind: &str, limit: &str, stop: &str) -> Result<OrderKind, Reason> {
        let limit = OrderPrice::parse("limit", limit)?;
        let stop = OrderPrice::parse("stop", stop)?;
        OrderKind::from_parts(kind, limit, stop)
    }

    /// The order kind of a type word and its already parsed prices.
    pub fn from_parts(
        kind: &str,
        limit: Option<Money>,
        stop: Option<Money>,
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
        match kind {
            "market" => want(false, false).map(|()| OrderKind::Market),
            "limit" => want(true, false).map(|()| OrderKind::Limit(limit.unwrap_or_default())),
            "stop" => want(false, true).map(|()| OrderKind::Stop(stop.unwrap_or_default())),
            "stop-limit" => want(true, true).map(|()| OrderKind::StopLimit {
                stop: stop.unwrap_or_default(),
                limit: limit.unwrap_or_default(),
            }),
            _ => Err(
                ValueError::new("orderType", kind, "market, limit, stop or stop-limit").reason(),
            ),
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
}

impl OrderStatus {
    /// Every status, in the order of PROTOCOL.md section 4.
    pub const ALL: [OrderStatus; 6] = [
        OrderStatus::Open,
        OrderStatus::Triggered,
        OrderStatus::Filled,
        OrderStatus::Cancelled,
        OrderStatus::Expired,
        OrderStatus::Rejected,
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
        }
    }

    /// Parses the wire word.
    pub fn parse(text: &str) -> Result<OrderStatus, ValueError> {
        OrderStatus::ALL
            .into_iter()
            .find(|s| s.name() == text)
            .ok_or_else(|| {
                let expected = "open, triggered, filled, cancelled, expired or rejected";
                ValueError::new("status", text, expected)
            })
    }

    /// Whether the order may still fill or be cancelled.
    pub fn is_live(self) -> bool {
        matches!(self, OrderStatus::Open | OrderStatus::Triggered)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
