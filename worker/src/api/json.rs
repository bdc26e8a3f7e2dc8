//! Alpaca's JSON objects (account, asset, order, position, clock,
//! calendar day) made from the protocol's payloads. Decimals are JSON
//! strings, times RFC 3339 UTC, ids UUIDs ([`super::ids`]).

use std::collections::HashMap;

use papertrader_common::payload::{AssetDetail, OrderLine, Position};
use papertrader_common::value::{Money, OrderKind, OrderStatus, Shares, Symbol, Timestamp, Trail};
use serde_json::{Value, json};

use super::ids::{named_uuid, order_uuid};
use super::query::rfc3339;

/// The assets as `getAssetDetails` gave them: what each is called in the
/// API, and which are crypto-currencies.
#[derive(Debug, Clone, Default)]
pub struct Book {
    assets: Vec<AssetDetail>,
    by_symbol: HashMap<Symbol, usize>,
}

impl Book {
    /// The book of `details`.
    pub fn new(details: Vec<AssetDetail>) -> Book {
        let by_symbol = details
            .iter()
            .enumerate()
            .map(|(i, d)| (d.symbol.clone(), i))
            .collect();
        Book {
            assets: details,
            by_symbol,
        }
    }

    /// Every asset, in the list's order.
    pub fn assets(&self) -> &[AssetDetail] {
        &self.assets
    }

    /// The asset `symbol`, if listed.
    pub fn get(&self, symbol: &Symbol) -> Option<&AssetDetail> {
        self.by_symbol.get(symbol).map(|&i| &self.assets[i])
    }

    /// Whether `symbol` is a crypto-currency.
    pub fn is_crypto(&self, symbol: &Symbol) -> bool {
        self.get(symbol).is_some_and(|d| d.crypto)
    }

    /// What the API calls `symbol`: `BTC/USD` for a crypto-currency, the
    /// symbol itself otherwise.
    pub fn api_symbol(&self, symbol: &Symbol) -> String {
        if self.is_crypto(symbol) {
            format!("{symbol}/USD")
        } else {
            symbol.to_string()
        }
    }

    /// The listed asset an API symbol names (`AAPL`, `BTC/USD`, `BTCUSD`,
    /// `btc/usd`).
    pub fn find(&self, api: &str) -> Option<&AssetDetail> {
        let symbol = our_symbol(api)?;
        if let Some(found) = self.get(&symbol) {
            return Some(found);
        }
        let base = api.to_ascii_uppercase();
        let base = base.strip_suffix("USD")?;
        self.get(&Symbol::parse(base).ok()?).filter(|d| d.crypto)
    }
}

/// The protocol's symbol of an API symbol, by its shape alone: `BTC/USD`
/// is `BTC` (only US dollars are quoted), anything else itself.
pub fn our_symbol(api: &str) -> Option<Symbol> {
    let text = match api.split_once('/') {
        Some((base, quote)) if quote.eq_ignore_ascii_case("USD") => base,
        Some(_) => return None,
        None => api,
    };
    Symbol::parse(text).ok()
}

/// Alpaca's `class` of an asset.
fn class(crypto: bool) -> &'static str {
    if crypto { "crypto" } else { "us_equity" }
}

/// An asset object.
pub fn asset(d: &AssetDetail, book: &Book) -> Value {
    let increment = if d.fractional { "0.000000001" } else { "1" };
    json!({
        "id": named_uuid("asset", d.symbol.as_str()),
        "class": class(d.crypto),
        "exchange": if d.crypto { "CRYPTO" } else { "" },
        "symbol": book.api_symbol(&d.symbol),
        "name": d.name,
        "status": "active",
        "tradable": true,
        "marginable": !d.crypto,
        "shortable": !d.crypto,
        "easy_to_borrow": !d.crypto,
        "fractionable": d.fractional,
        "min_order_size": increment,
        "min_trade_increment": increment,
        "price_increment": "0.0001",
        "attributes": [],
    })
}

/// Alpaca's `type` of an order kind.
pub fn order_type(kind: OrderKind) -> &'static str {
    match kind {
        OrderKind::Market => "market",
        OrderKind::Limit(_) => "limit",
        OrderKind::Stop(_) => "stop",
        OrderKind::StopLimit { .. } => "stop_limit",
        OrderKind::TrailingStop(_) => "trailing_stop",
    }
}

/// Alpaca's status of an order: an open order with a part filled is
/// `partially_filled`, a triggered stop-limit still `new`.
pub fn status(status: OrderStatus, any_filled: bool) -> &'static str {
    match status {
        OrderStatus::Open | OrderStatus::Triggered if any_filled => "partially_filled",
        OrderStatus::Open | OrderStatus::Triggered => "new",
        OrderStatus::Filled => "filled",
        OrderStatus::Cancelled => "canceled",
        OrderStatus::Expired => "expired",
        OrderStatus::Rejected => "rejected",
        OrderStatus::Replaced => "replaced",
        OrderStatus::Held => "held",
    }
}

/// A money amount as Alpaca writes decimals: a JSON string.
pub fn money(m: Money) -> Value {
    Value::String(m.to_string())
}

fn opt_money(m: Option<Money>) -> Value {
    m.map_or(Value::Null, money)
}

fn time_at(cond: bool, t: Timestamp) -> Value {
    if cond {
        Value::String(rfc3339(t))
    } else {
        Value::Null
    }
}

/// What an order object says of its trail: `(trail_price, trail_percent)`.
fn trail_fields(kind: OrderKind) -> (Value, Value) {
    match kind {
        OrderKind::TrailingStop(Trail::Amount(amount)) => (money(amount), Value::Null),
        OrderKind::TrailingStop(Trail::Percent(bp)) => {
            let text = format!("{}.{:02}", bp / 100, bp % 100);
            (Value::Null, Value::String(text))
        }
        _ => (Value::Null, Value::Null),
    }
}

/// An order object for a `getOrders` line, with `legs` when nested.
pub fn order(line: &OrderLine, book: &Book, legs: Option<Vec<Value>>) -> Value {
    let id = order_uuid(line.id);
    let filled = line.filled;
    let (trail_price, trail_percent) = trail_fields(line.kind);
    let at = |s: OrderStatus| time_at(line.status == s, line.updated);
    json!({
        "id": id,
        "client_order_id": line.client.as_ref().map_or_else(|| id.clone(), |c| c.to_string()),
        "created_at": rfc3339(line.created),
        "updated_at": rfc3339(line.updated),
        "submitted_at": rfc3339(line.created),
        "filled_at": at(OrderStatus::Filled),
        "expired_at": at(OrderStatus::Expired),
        "canceled_at": at(OrderStatus::Cancelled),
        "failed_at": at(OrderStatus::Rejected),
        "replaced_at": at(OrderStatus::Replaced),
        "replaced_by": Value::Null,
        "replaces": Value::Null,
        "asset_id": named_uuid("asset", line.symbol.as_str()),
        "symbol": book.api_symbol(&line.symbol),
        "asset_class": class(book.is_crypto(&line.symbol)),
        "notional": Value::Null,
        "qty": line.quantity.to_string(),
        "filled_qty": filled.map_or_else(|| "0".to_string(), |f| f.quantity.to_string()),
        "filled_avg_price": filled.map_or(Value::Null, |f| money(f.avg)),
        "order_class": line.class.map_or("", |c| c.name()),
        "order_type": order_type(line.kind),
        "type": order_type(line.kind),
        "side": line.side.name(),
        "time_in_force": line.tif.name(),
        "limit_price": opt_money(line.kind.limit()),
        "stop_price": opt_money(line.stop()),
        "trail_price": trail_price,
        "trail_percent": trail_percent,
        "hwm": opt_money(line.mark),
        "status": status(line.status, filled.is_some()),
        "extended_hours": false,
        "legs": legs.map_or(Value::Null, Value::Array),
    })
}

/// What the account's positions add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exposure {
    /// The long positions at their prices.
    pub long: Money,
    /// The short positions at their prices (0 or below).
    pub short: Money,
}

impl Exposure {
    /// Sums the private portfolio lines.
    pub fn of(positions: &[Position]) -> Exposure {
        let mut sum = Exposure::default();
        for p in positions {
            let value = p.valuation.map_or(Money::ZERO, |v| v.value);
            if p.quantity.0 >= 0 {
                sum.long = sum.long.checked_add(value).unwrap_or(sum.long);
            } else {
                sum.short = sum.short.checked_add(value).unwrap_or(sum.short);
            }
        }
        sum
    }
}

/// What `/v2/account` is made from.
pub struct AccountFacts<'a> {
    /// The owner's name.
    pub username: &'a str,
    /// The number of the login's portfolio the key trades in (1: its
    /// first).
    pub portfolio: u64,
    /// When the account was opened.
    pub created: Timestamp,
    /// Its cash.
    pub cash: Money,
    /// Cash and positions at their prices.
    pub equity: Money,
    /// Equity at the end of the last day before today, when known.
    pub last_equity: Option<Money>,
    /// The positions' sums.
    pub exposure: Exposure,
    /// What open buy orders hold back of the cash.
    pub reserved: Money,
}

/// What names the account: the username for a login's first portfolio
/// (as before portfolios), `NAME/NUMBER` for another.
fn account_name(f: &AccountFacts<'_>) -> String {
    match f.portfolio {
        0 | 1 => f.username.to_string(),
        n => format!("{}/{n}", f.username),
    }
}

/// The account object.
pub fn account(f: &AccountFacts<'_>) -> Value {
    let buying = Money(f.cash.0.saturating_sub(f.reserved.0).max(0));
    let net = Money(f.exposure.long.0.saturating_add(f.exposure.short.0));
    json!({
        "id": named_uuid("account", &account_name(f).to_ascii_lowercase()),
        "account_number": account_name(f),
        "status": "ACTIVE",
        "crypto_status": "ACTIVE",
        "currency": "USD",
        "cash": money(f.cash),
        "portfolio_value": money(f.equity),
        "equity": money(f.equity),
        "last_equity": money(f.last_equity.unwrap_or(f.equity)),
        "buying_power": money(buying),
        "regt_buying_power": money(buying),
        "daytrading_buying_power": money(buying),
        "non_marginable_buying_power": money(buying),
        "long_market_value": money(f.exposure.long),
        "short_market_value": money(f.exposure.short),
        "position_market_value": money(net),
        "multiplier": "1",
        "accrued_fees": "0",
        "pending_transfer_in": "0",
        "pending_transfer_out": "0",
        "pattern_day_trader": false,
        "trading_blocked": false,
        "transfers_blocked": true,
        "account_blocked": false,
        "trade_suspended_by_user": false,
        "shorting_enabled": true,
        "daytrade_count": 0,
        "created_at": rfc3339(f.created),
    })
}

/// A position object for a private portfolio line.
pub fn position(p: &Position, book: &Book) -> Value {
    let v = p
        .valuation
        .unwrap_or(papertrader_common::payload::Valuation {
            avg_cost: Money::ZERO,
            price: Money::ZERO,
            value: Money::ZERO,
        });
    let crypto = book.is_crypto(&p.symbol);
    let cost = v.avg_cost.times(p.quantity).unwrap_or(Money::ZERO);
    let pl = Money(v.value.0.saturating_sub(cost.0));
    let plpc = if cost.0 == 0 {
        "0".to_string()
    } else {
        // A ratio with 4 decimals, from integers.
        let ratio = i128::from(pl.0) * 10_000 / i128::from(cost.0).abs();
        let sign = if ratio < 0 { "-" } else { "" };
        let abs = ratio.unsigned_abs();
        format!("{sign}{}.{:04}", abs / 10_000, abs % 10_000)
    };
    let qty = p.quantity;
    let available = if qty.0 < 0 { Shares(-qty.0) } else { qty };
    json!({
        "asset_id": named_uuid("asset", p.symbol.as_str()),
        "symbol": book.api_symbol(&p.symbol),
        "exchange": if crypto { "CRYPTO" } else { "" },
        "asset_class": class(crypto),
        "asset_marginable": !crypto,
        "avg_entry_price": money(v.avg_cost),
        "qty": qty.to_string(),
        "qty_available": available.to_string(),
        "side": if qty.0 < 0 { "short" } else { "long" },
        "market_value": money(v.value),
        "cost_basis": money(cost),
        "unrealized_pl": money(pl),
        "unrealized_plpc": plpc,
        "current_price": money(v.price),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use papertrader_common::payload::Line;

    fn book() -> Book {
        let lines = "AAPL nyse no equity Apple Inc.\nBTC always yes crypto Bitcoin\n";
        Book::new(papertrader_common::payload::parse_lines(lines).expect("details"))
    }

    #[test]
    fn symbols_map_both_ways() {
        let b = book();
        let btc = Symbol::parse("BTC").expect("symbol");
        assert_eq!(b.api_symbol(&btc), "BTC/USD");
        assert_eq!(b.api_symbol(&Symbol::parse("AAPL").expect("s")), "AAPL");
        for api in ["BTC/USD", "btc/usd", "BTCUSD", "BTC"] {
            assert_eq!(b.find(api).map(|d| d.symbol.as_str()), Some("BTC"), "{api}");
        }
        assert!(
            b.find("AAPLUSD").is_none(),
            "only crypto takes a USD suffix"
        );
        assert!(b.find("BTC/EUR").is_none());
        assert!(b.find("a b").is_none());
    }

    #[test]
    fn orders_read_as_alpaca_writes_them() {
        let line = OrderLine::parse(
            "21 1732147200 sell BTC 0.5 trailing-stop - 107.8000 gtc open 1732147260 - trail=2% mark=110.0000 filled=0.25 avg=108.0000",
        )
        .expect("order line");
        let v = order(&line, &book(), None);
        assert_eq!(v["id"], "6f726472-0000-4000-8000-000000000015");
        assert_eq!(v["symbol"], "BTC/USD");
        assert_eq!(v["asset_class"], "crypto");
        assert_eq!(v["type"], "trailing_stop");
        assert_eq!(v["trail_percent"], "2.00");
        assert_eq!(v["trail_price"], Value::Null);
        assert_eq!(v["hwm"], "110.0000");
        assert_eq!(v["stop_price"], "107.8000");
        assert_eq!(v["status"], "partially_filled");
        assert_eq!(v["filled_qty"], "0.25");
        assert_eq!(v["filled_avg_price"], "108.0000");
        assert_eq!(v["created_at"], "2024-11-21T00:00:00Z");
        assert_eq!(v["order_class"], "");
        assert_eq!(v["legs"], Value::Null);
    }

    #[test]
    fn positions_and_accounts_are_strings() {
        let p = Position::parse("AAPL -3 100.0000 90.0000 -270.0000").expect("position");
        let v = position(&p, &book());
        assert_eq!(v["side"], "short");
        assert_eq!(v["qty"], "-3");
        assert_eq!(v["qty_available"], "3");
        assert_eq!(v["cost_basis"], "-300.0000");
        assert_eq!(v["unrealized_pl"], "30.0000");
        assert_eq!(v["unrealized_plpc"], "0.1000");
        let facts = AccountFacts {
            username: "Alice",
            portfolio: 1,
            created: Timestamp(0),
            cash: Money(1_000_000),
            equity: Money(1_500_000),
            last_equity: None,
            exposure: Exposure {
                long: Money(800_000),
                short: Money(-300_000),
            },
            reserved: Money(2_000_000),
        };
        let a = account(&facts);
        assert_eq!(a["buying_power"], "0.0000", "never below 0");
        assert_eq!(a["position_market_value"], "50.0000");
        assert_eq!(a["last_equity"], "150.0000");
        assert_eq!(a["status"], "ACTIVE");
        assert_eq!(a["account_number"], "Alice");
        assert_eq!(
            a["id"],
            named_uuid("account", "alice"),
            "as before portfolios"
        );
        // A key of another portfolio is another account.
        let second = account(&AccountFacts {
            portfolio: 2,
            ..facts
        });
        assert_eq!(second["account_number"], "Alice/2");
        assert_ne!(second["id"], a["id"]);
    }
}
