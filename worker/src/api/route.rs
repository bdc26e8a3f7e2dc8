//! Which call a request is: its method and path, with its query and body
//! read into typed values. A request the API cannot take is answered here
//! (404, 405, 400, 422), before any key is checked against the master.

use papertrader_common::request::{ClassSpec, Side};
use papertrader_common::value::{
    ClientOrderId, Date, Money, OrderClass, OrderKind, Quantity, Shares, Symbol, Tif, Timestamp,
    Trail, shown,
};
use serde_json::{Map, Value};

use super::query::Query;
use super::{ApiRequest, Method, Response, ids};

/// Most days `/v2/calendar` lists at once.
pub const MAX_CALENDAR_DAYS: i64 = 3_700;

/// One call of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /v2/account`.
    Account,
    /// `GET /v2/clock`.
    Clock,
    /// `GET /v2/calendar`.
    Calendar {
        /// First day.
        start: Option<Date>,
        /// Last day.
        end: Option<Date>,
    },
    /// `GET /v2/assets`.
    Assets {
        /// `status=` (`active` or `inactive`).
        status: Option<String>,
        /// `asset_class=`.
        class: Option<String>,
    },
    /// `GET /v2/assets/{symbol}`.
    Asset(String),
    /// `POST /v2/orders`.
    Place(NewOrder),
    /// `GET /v2/orders`.
    Orders(OrderQuery),
    /// `GET /v2/orders/{id}`.
    Order {
        /// The order number.
        id: u64,
        /// Legs under their entry.
        nested: bool,
    },
    /// `GET /v2/orders:by_client_order_id`.
    ByClientId(String),
    /// `DELETE /v2/orders/{id}`.
    Cancel(u64),
    /// `DELETE /v2/orders`.
    CancelAll,
    /// `PATCH /v2/orders/{id}`.
    Replace {
        /// The order number.
        id: u64,
        /// What changes.
        change: papertrader_common::request::OrderChange,
    },
    /// `GET /v2/positions`.
    Positions,
    /// `GET /v2/positions/{symbol}`.
    Position(String),
    /// `DELETE /v2/positions/{symbol}`.
    Close {
        /// The API symbol.
        symbol: String,
        /// How much of it.
        part: Part,
    },
    /// `DELETE /v2/positions`.
    CloseAll {
        /// Cancel the open orders first.
        cancel: bool,
    },
    /// `GET /v2/account/portfolio/history`.
    PortfolioHistory(Query),
    /// `GET /v2/account/activities[/{type}]`.
    Activities {
        /// The types asked for (none: all).
        types: Vec<String>,
        /// Bounds and paging.
        query: Query,
    },
    /// Market data: bars, latest quotes or trades, snapshots.
    Data {
        /// Which.
        kind: DataKind,
        /// Its query (read by the call, which knows the time).
        query: Query,
        /// The symbol of the path form (`/v2/stocks/AAPL/bars`).
        single: Option<String>,
        /// `/v1beta3/crypto/us/...`: symbols like `BTC/USD`, and no key
        /// needed.
        crypto: bool,
    },
}

/// What market data a call asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// Bars.
    Bars,
    /// Latest quotes.
    Quotes,
    /// Latest trades.
    Trades,
    /// Snapshots.
    Snapshots,
}

impl Route {
    /// Whether it may place, change or cancel orders.
    pub fn changes_orders(&self) -> bool {
        matches!(
            self,
            Route::Place(_)
                | Route::Cancel(_)
                | Route::CancelAll
                | Route::Replace { .. }
                | Route::Close { .. }
                | Route::CloseAll { .. }
        )
    }

    /// Whether it needs no key (Alpaca's crypto data).
    pub fn is_public(&self) -> bool {
        matches!(self, Route::Data { crypto: true, .. })
    }
}

/// How much of a position to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// All of it.
    All,
    /// This many shares.
    Qty(Quantity),
    /// This percent (in hundredths: 5000 is 50%).
    Percent(u32),
}

/// `POST /v2/orders`, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// The protocol's symbol.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Shares, or an amount of money (market orders only).
    pub size: Size,
    /// Type and prices.
    pub kind: OrderKind,
    /// Time in force.
    pub tif: Tif,
    /// The class and its exits, when not simple.
    pub class: Option<ClassSpec>,
    /// The bot's own id, kept with the order.
    pub client_order_id: Option<ClientOrderId>,
}

/// An order's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Shares.
    Qty(Quantity),
    /// Money's worth.
    Notional(Money),
}

/// `GET /v2/orders` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderQuery {
    /// `open`, `closed` or `all`.
    pub status: String,
    /// At most this many.
    pub limit: usize,
    /// Created after.
    pub after: Option<Timestamp>,
    /// Created until.
    pub until: Option<Timestamp>,
    /// Oldest first.
    pub ascending: bool,
    /// Legs under their entry.
    pub nested: bool,
    /// Only these API symbols.
    pub symbols: Vec<String>,
    /// Only this side.
    pub side: Option<Side>,
}

/// Longest client order id taken (Alpaca's).
const MAX_CLIENT_ID: usize = 128;

/// The route of `req`, or the answer that refuses it.
pub fn route(req: &ApiRequest) -> Result<Route, Response> {
    let query = Query::parse(&req.query).map_err(|e| Response::bad_request(&e))?;
    let path = req.path.strip_suffix('/').unwrap_or(&req.path);
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let bad = |e: String| Response::unprocessable(&e);
    use Method::{Delete, Get, Patch, Post};
    let route = match (req.method, segments.as_slice()) {
        (Get, ["v2", "account"]) => Route::Account,
        (Get, ["v2", "account", "portfolio", "history"]) => Route::PortfolioHistory(query),
        (Get, ["v2", "account", "activities"]) => Route::Activities {
            types: super::history::types(&query.list("activity_types"))?,
            query,
        },
        (Get, ["v2", "account", "activities", kind]) => Route::Activities {
            types: super::history::types(&[kind])?,
            query,
        },
        (Get, ["v2", "clock"]) => Route::Clock,
        (Get, ["v2", "calendar"]) => Route::Calendar {
            start: query.date("start").map_err(bad)?,
            end: query.date("end").map_err(bad)?,
        },
        (Get, ["v2", "assets"]) => Route::Assets {
            status: query.get("status").map(str::to_string),
            class: query.get("asset_class").map(str::to_string),
        },
        (Get, ["v2", "assets", rest @ ..]) if !rest.is_empty() => Route::Asset(symbol_of(rest)?),
        (Post, ["v2", "orders"]) => Route::Place(new_order(&req.body)?),
        (Get, ["v2", "orders"]) => Route::Orders(order_query(&query)?),
        (Delete, ["v2", "orders"]) => Route::CancelAll,
        (Get, ["v2", "orders:by_client_order_id"]) => {
            let id = query
                .get("client_order_id")
                .ok_or_else(|| Response::unprocessable("client_order_id is required"))?;
            Route::ByClientId(id.to_string())
        }
        (Get | Delete | Patch, ["v2", "orders", id]) => {
            let Some(id) = ids::order_id(id) else {
                return Err(Response::not_found("order not found"));
            };
            match req.method {
                Get => Route::Order {
                    id,
                    nested: query.flag("nested").map_err(bad)?.unwrap_or(false),
                },
                Delete => Route::Cancel(id),
                _ => Route::Replace {
                    id,
                    change: change(&req.body)?,
                },
            }
        }
        (Get, ["v2", "stocks", rest @ ..]) => stock_data(rest, query)?,
        (Get, ["v1beta3", "crypto", "us", rest @ ..]) => crypto_data(rest, query)?,
        (Get, ["v2", "positions"]) => Route::Positions,
        (Delete, ["v2", "positions"]) => Route::CloseAll {
            cancel: query.flag("cancel_orders").map_err(bad)?.unwrap_or(false),
        },
        (Get, ["v2", "positions", rest @ ..]) if !rest.is_empty() => {
            Route::Position(symbol_of(rest)?)
        }
        (Delete, ["v2", "positions", rest @ ..]) if !rest.is_empty() => Route::Close {
            symbol: symbol_of(rest)?,
            part: part(&query)?,
        },
        (_, ["v2", ..] | ["v1beta3", ..]) if known_path(&segments) => {
            return Err(Response::error(405, 40510000, "method not allowed"));
        }
        _ => return Err(Response::not_found("endpoint not found")),
    };
    Ok(route)
}

/// The symbol of a path's last segments: `BTC/USD` as two segments or
/// as `BTC%2FUSD`.
fn symbol_of(segments: &[&str]) -> Result<String, Response> {
    super::query::decode(&segments.join("/")).map_err(|e| Response::bad_request(&e))
}

/// Whether some method serves this path.
fn known_path(segments: &[&str]) -> bool {
    matches!(
        segments,
        [
            "v2",
            "account" | "clock" | "calendar" | "assets" | "orders" | "positions",
            ..
        ] | ["v2", "orders:by_client_order_id"]
    )
}

fn data(kind: DataKind, query: Query, single: Option<&str>, crypto: bool) -> Route {
    Route::Data {
        kind,
        query,
        single: single.map(str::to_string),
        crypto,
    }
}

/// `/v2/stocks/...`.
fn stock_data(rest: &[&str], query: Query) -> Result<Route, Response> {
    use DataKind::{Bars, Quotes, Snapshots, Trades};
    Ok(match rest {
        ["bars"] => data(Bars, query, None, false),
        ["quotes", "latest"] => data(Quotes, query, None, false),
        ["trades", "latest"] => data(Trades, query, None, false),
        ["snapshots"] => data(Snapshots, query, None, false),
        [symbol, "bars"] => data(Bars, query, Some(symbol), false),
        [symbol, "quotes", "latest"] => data(Quotes, query, Some(symbol), false),
        [symbol, "trades", "latest"] => data(Trades, query, Some(symbol), false),
        [symbol, "snapshot"] => data(Snapshots, query, Some(symbol), false),
        _ => return Err(Response::not_found("endpoint not found")),
    })
}

/// `/v1beta3/crypto/us/...`.
fn crypto_data(rest: &[&str], query: Query) -> Result<Route, Response> {
    use DataKind::{Bars, Quotes, Snapshots, Trades};
    Ok(match rest {
        ["bars"] => data(Bars, query, None, true),
        ["latest", "quotes"] => data(Quotes, query, None, true),
        ["latest", "trades"] => data(Trades, query, None, true),
        ["snapshots"] => data(Snapshots, query, None, true),
        _ => return Err(Response::not_found("endpoint not found")),
    })
}

fn order_query(q: &Query) -> Result<OrderQuery, Response> {
    let bad = |e: String| Response::unprocessable(&e);
    let status = q.get("status").unwrap_or("open").to_string();
    if !matches!(status.as_str(), "open" | "closed" | "all") {
        return Err(bad(format!(
            "status must be open, closed or all, not {}",
            shown(&status)
        )));
    }
    let ascending = match q.get("direction") {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(other) => {
            return Err(bad(format!(
                "direction must be asc or desc, not {}",
                shown(other)
            )));
        }
    };
    let side = match q.get("side") {
        None => None,
        Some(word) => {
            Some(Side::parse(word).ok_or_else(|| bad("side must be buy or sell".into()))?)
        }
    };
    Ok(OrderQuery {
        status,
        limit: q.number("limit", 1, 500).map_err(bad)?.unwrap_or(50) as usize,
        after: q.time("after").map_err(bad)?,
        until: q.time("until").map_err(bad)?,
        ascending,
        nested: q.flag("nested").map_err(bad)?.unwrap_or(false),
        symbols: q.list("symbols").iter().map(|s| s.to_string()).collect(),
        side,
    })
}

fn part(q: &Query) -> Result<Part, Response> {
    match (q.get("qty"), q.get("percentage")) {
        (Some(_), Some(_)) => Err(Response::unprocessable("give qty or percentage, not both")),
        (Some(qty), None) => Quantity::parse(qty)
            .map(Part::Qty)
            .map_err(|e| Response::unprocessable(&e.to_string())),
        (None, Some(pct)) => percent(pct)
            .filter(|&p| (1..=10_000).contains(&p))
            .map(Part::Percent)
            .ok_or_else(|| Response::unprocessable("percentage must be above 0 and at most 100")),
        (None, None) => Ok(Part::All),
    }
}

/// A percent with up to 2 decimals, in hundredths.
fn percent(text: &str) -> Option<u32> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 3 || frac.len() > 2 || !digits(whole) || !digits(frac) {
        return None;
    }
    let frac = format!("{frac:0<2}");
    Some(whole.parse::<u32>().ok()? * 100 + frac.parse::<u32>().ok()?)
}

/// The JSON object of a body.
fn object(body: &[u8]) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Response::error(
            400,
            40010001,
            "request body format is invalid: not a JSON object",
        )),
        Err(e) => Err(Response::error(
            400,
            40010001,
            &format!("request body format is invalid: {e}"),
        )),
    }
}

/// A decimal field: a JSON string or number; `None` when absent or null.
fn decimal(map: &Map<String, Value>, name: &str) -> Result<Option<String>, Response> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(Response::unprocessable(&format!(
            "{name} must be a number or a string"
        ))),
    }
}

fn text<'a>(map: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, Response> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(Response::unprocessable(&format!("{name} must be a string"))),
    }
}

fn price(map: &Map<String, Value>, name: &str) -> Result<Option<Money>, Response> {
    decimal(map, name)?
        .map(|t| match Money::parse(&t) {
            Ok(m) if m.raw() > 0 => Ok(m),
            _ => Err(Response::unprocessable(&format!(
                "{name} must be a price above 0 with at most 4 decimals, not {}",
                shown(&t)
            ))),
        })
        .transpose()
}

fn quantity(map: &Map<String, Value>, name: &str) -> Result<Option<Quantity>, Response> {
    decimal(map, name)?
        .map(|t| {
            // A float sent as 1.0 is the whole number 1.
            let t = t.strip_suffix(".0").unwrap_or(&t).to_string();
            Quantity::parse(&t).map_err(|_| {
                Response::unprocessable(&format!(
                    "{name} must be above 0 and at most 1000000000, with at most 9 decimals, not {}",
                    shown(&t)
                ))
            })
        })
        .transpose()
}

fn trail(map: &Map<String, Value>) -> Result<Option<Trail>, Response> {
    let amount = price(map, "trail_price")?;
    let percent_text = decimal(map, "trail_percent")?;
    match (amount, percent_text) {
        (Some(_), Some(_)) => Err(Response::unprocessable(
            "give trail_price or trail_percent, not both",
        )),
        (Some(a), None) => Ok(Some(Trail::Amount(a))),
        (None, Some(p)) => Trail::parse(&format!("{p}%"))
            .map(Some)
            .map_err(|e| Response::unprocessable(&e.text)),
        (None, None) => Ok(None),
    }
}

fn new_order(body: &[u8]) -> Result<NewOrder, Response> {
    let map = object(body)?;
    let unprocessable = |t: &str| Response::unprocessable(t);
    let symbol_text = text(&map, "symbol")?.ok_or_else(|| unprocessable("symbol is required"))?;
    let symbol = super::json::our_symbol(symbol_text)
        .ok_or_else(|| unprocessable(&format!("invalid symbol {}", shown(symbol_text))))?;
    let side = text(&map, "side")?
        .and_then(Side::parse)
        .ok_or_else(|| unprocessable("side must be buy or sell"))?;
    let size = match (quantity(&map, "qty")?, decimal(&map, "notional")?) {
        (Some(q), None) => Size::Qty(q),
        (None, Some(n)) => match Money::parse(&n) {
            Ok(m) if m.raw() > 0 => Size::Notional(m),
            _ => {
                return Err(unprocessable(
                    "notional must be an amount above 0 with at most 4 decimals",
                ));
            }
        },
        (Some(_), Some(_)) => return Err(unprocessable("give qty or notional, not both")),
        (None, None) => return Err(unprocessable("qty or notional is required")),
    };
    let kind_word = text(&map, "type")?.unwrap_or("market");
    let class_word = text(&map, "order_class")?.unwrap_or("");
    let class = match class_word {
        "" | "simple" => None,
        word => Some(OrderClass::parse(word).map_err(|_| {
            unprocessable(&format!(
                "order_class must be simple, bracket, oco or oto, not {}",
                shown(word)
            ))
        })?),
    };
    let limit = price(&map, "limit_price")?;
    let stop = price(&map, "stop_price")?;
    let trail = trail(&map)?;
    let protocol_kind = match kind_word {
        "market" => "market",
        "limit" => "limit",
        "stop" => "stop",
        "stop_limit" => "stop-limit",
        "trailing_stop" => "trailing-stop",
        other => {
            return Err(unprocessable(&format!(
                "invalid order type {}",
                shown(other)
            )));
        }
    };
    let tif = match text(&map, "time_in_force")?.unwrap_or("day") {
        "opg" | "cls" => {
            return Err(unprocessable(
                "time_in_force opg and cls are not supported: there are no auctions",
            ));
        }
        word => Tif::parse(word)
            .map_err(|_| unprocessable(&format!("invalid time_in_force {}", shown(word))))?,
    };
    let exit = |name: &str, field: &str| -> Result<Option<Money>, Response> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(leg)) => price(leg, field),
            Some(_) => Err(unprocessable(&format!("{name} must be an object"))),
        }
    };
    if let Some(Value::Object(leg)) = map.get("stop_loss")
        && leg.get("limit_price").is_some_and(|v| !v.is_null())
    {
        return Err(unprocessable(
            "a stop-limit stop_loss is not supported; give its stop_price only",
        ));
    }
    let class = match class {
        None => None,
        Some(class) => Some(ClassSpec {
            class,
            take_profit: exit("take_profit", "limit_price")?,
            stop_loss: exit("stop_loss", "stop_price")?,
        }),
    };
    // An OCO's limit is its take-profit (papertrader-protocol(7)).
    let (kind_word, limit) = match &class {
        Some(c) if c.class == OrderClass::Oco => ("limit", c.take_profit),
        _ => (protocol_kind, limit),
    };
    let kind =
        OrderKind::from_parts(kind_word, limit, stop, trail).map_err(|e| unprocessable(&e.text))?;
    tif.fits(kind).map_err(|e| unprocessable(&e.text))?;
    if matches!(size, Size::Notional(_))
        && (kind != OrderKind::Market || class.is_some() || tif != Tif::Day)
    {
        return Err(unprocessable(
            "notional orders must be simple market orders with time_in_force day",
        ));
    }
    let client_order_id = match text(&map, "client_order_id")? {
        None | Some("") => None,
        Some(id) if id.len() > MAX_CLIENT_ID => {
            return Err(unprocessable(&format!(
                "client_order_id must be at most {MAX_CLIENT_ID} characters"
            )));
        }
        Some(id) => Some(ClientOrderId::parse(id).map_err(|_| {
            unprocessable("client_order_id must be printable ASCII without spaces")
        })?),
    };
    Ok(NewOrder {
        symbol,
        side,
        size,
        kind,
        tif,
        class,
        client_order_id,
    })
}

fn change(body: &[u8]) -> Result<papertrader_common::request::OrderChange, Response> {
    use papertrader_common::request::{NewStop, OrderChange};
    let map = object(body)?;
    let trail = match decimal(&map, "trail")? {
        None => None,
        Some(t) => Some(NewStop::Price(match Money::parse(&t) {
            Ok(m) if m.raw() > 0 => m,
            _ => return Err(Response::unprocessable("trail must be an amount above 0")),
        })),
    };
    let stop = price(&map, "stop_price")?.map(NewStop::Price);
    if trail.is_some() && stop.is_some() {
        return Err(Response::unprocessable(
            "give stop_price or trail, not both",
        ));
    }
    let tif = match text(&map, "time_in_force")? {
        None => None,
        Some(word) => {
            Some(Tif::parse(word).map_err(|_| Response::unprocessable("invalid time_in_force"))?)
        }
    };
    let change = OrderChange {
        quantity: quantity(&map, "qty")?,
        limit: price(&map, "limit_price")?,
        stop: stop.or(trail),
        tif,
    };
    if change.is_empty() {
        return Err(Response::unprocessable(
            "nothing to change: give qty, limit_price, stop_price, trail or time_in_force",
        ));
    }
    Ok(change)
}

/// `qty` of a `Part` of a position of `held` shares (the absolute size).
pub fn part_of(part: Part, held: Shares) -> Option<Quantity> {
    let held = Shares(held.0.abs());
    let shares = match part {
        Part::All => held,
        Part::Qty(q) if q.shares().0 <= held.0 => q.shares(),
        Part::Qty(_) => return None,
        Part::Percent(p) => Shares((i128::from(held.0) * i128::from(p) / 10_000) as i64),
    };
    Quantity::from_shares(shares)
}

#[cfg(test)]
mod tests;
