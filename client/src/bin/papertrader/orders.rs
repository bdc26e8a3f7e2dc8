//! Orders that wait for their price: `buy` and `sell` with `--limit`,
//! `--stop`, `--gtc` or `--tif` (`placeOrder`), `orders` (`getOrders`) and `cancel`
//! (`cancelOrder`). Every argument is checked here before anything is
//! sent, so a malformed price or order number never reaches the server.

use papertrader_client::{ClassSpec, Fill, NewStop, OrderChange, OrderLine, OrderSpec, Side, Size};
use papertrader_common::value::{
    Money, OrderClass, OrderKind, OrderStatus, Quantity, Symbol, Tif, Trail, ValueError,
    parse_order_id,
};
use serde_json::{Value, json};

use crate::args::symbol;
use crate::cli::{Change, Deal, OrderFlags};
use crate::context::Context;
use crate::error::{CliError, What};
use crate::output::{Align, Cell, Output, Table, human_money, human_shares, iso_time, print};
use crate::output::{amount, json_money, json_shares, print_json};

/// What a bad `--limit` or `--stop` is told.
const PRICE_EXPECTED: &str = "a positive price with at most 4 decimals, such as 170 or 170.25";

/// `buy`/`sell SYMBOL QTY`: at the next price (`purchaseAsset`/
/// `sellAsset`, waiting for the fill) without order flags; with them,
/// places the order (`placeOrder`) and returns once the server has stored
/// it (it fills later, or never).
pub fn place(ctx: &mut Context, side: Side, deal: &Deal) -> Result<(), CliError> {
    if let Some(amount) = &deal.notional {
        return fill_now(ctx, side, &deal.symbol, Wanted::Notional(amount));
    }
    // The parser demands QTY when --notional is absent.
    let quantity = deal.quantity.as_deref().unwrap_or_default();
    if deal.order.is_market_now() {
        return fill_now(ctx, side, &deal.symbol, Wanted::Shares(quantity));
    }
    let order = spec(side, &deal.symbol, quantity, &deal.order)?;
    let class = class(&deal.order)?;
    let what = What {
        quantity: Some(order.quantity.shares()),
        trade: true,
        check: Some("orders"),
        ..What::symbol(order.symbol.as_str())
    };
    let id = match &class {
        Some(class) => ctx.trade(&what, |c, s| c.place_order_class(s, &order, class))?,
        None => ctx.trade(&what, |c, s| c.place_order(s, &order))?,
    };
    if ctx.out.json {
        let mut value = spec_json(&order);
        value["id"] = id.into();
        value["status"] = OrderStatus::Open.name().into();
        if let Some(class) = &class {
            value["class"] = class.class.name().into();
            value["take_profit"] = class.take_profit.map(json_money).into();
            value["stop_loss"] = class.stop_loss.map(json_money).into();
        }
        return print_json(&ctx.out, &value);
    }
    let exits = class
        .as_ref()
        .map(|c| exits_text(&order, c))
        .unwrap_or_default();
    print(&format!(
        "order {id} placed: {}{exits}; see papertrader orders\n",
        describe(&order)
    ))
}

/// The order the arguments ask for, or the first thing wrong with them
/// (exit 65).
pub fn spec(
    side: Side,
    symbol: &str,
    quantity: &str,
    flags: &OrderFlags,
) -> Result<OrderSpec, CliError> {
    let data = |err: ValueError| CliError::data(err.to_string());
    let symbol = Symbol::parse(symbol).map_err(data)?;
    let quantity = Quantity::parse(quantity).map_err(data)?;
    Ok(OrderSpec {
        side,
        symbol,
        quantity,
        kind: kind(flags)?,
        tif: tif(flags)?,
    })
}

/// The class `--take-profit`, `--stop-loss` and `--oco` ask for: both
/// exits a bracket, one an OTO, `--oco` an OCO; none, a simple order.
fn class(flags: &OrderFlags) -> Result<Option<ClassSpec>, CliError> {
    let take_profit = flags
        .take_profit
        .as_deref()
        .map(|t| price("take-profit", t))
        .transpose()?;
    let stop_loss = flags
        .stop_loss
        .as_deref()
        .map(|t| price("stop-loss", t))
        .transpose()?;
    let class = match (flags.oco, take_profit, stop_loss) {
        (true, ..) => OrderClass::Oco,
        (false, Some(_), Some(_)) => OrderClass::Bracket,
        (false, None, None) => return Ok(None),
        (false, ..) => OrderClass::Oto,
    };
    Ok(Some(ClassSpec {
        class,
        take_profit,
        stop_loss,
    }))
}

/// `; then sell at 190.00 or more, or at the market once the price falls
/// to 160.00`: the exits of a class in words.
fn exits_text(order: &OrderSpec, class: &ClassSpec) -> String {
    // The exits close a long (they sell) or a short (they buy).
    let long = match class.class {
        OrderClass::Oco => order.side == Side::Sell,
        _ => order.side == Side::Buy,
    };
    let (side, better, reaches) = if long {
        ("sell", "or more", "falls to")
    } else {
        ("buy", "or less", "rises to")
    };
    let profit = class
        .take_profit
        .map(|p| format!("at {} {better}", human_money(p)));
    let loss = class
        .stop_loss
        .map(|p| format!("at the market once the price {reaches} {}", human_money(p)));
    let exits: Vec<String> = profit.into_iter().chain(loss).collect();
    match class.class {
        OrderClass::Oco => format!(
            "; or {side} at the market once the price {reaches} {}, whichever comes first",
            class.stop_loss.map(human_money).unwrap_or_default()
        ),
        _ => format!(", then {side} {}", exits.join(", or ")),
    }
}

/// `--tif WORD`, else `--gtc`, else a day order.
fn tif(flags: &OrderFlags) -> Result<Tif, CliError> {
    match (&flags.tif, flags.gtc) {
        (Some(word), _) => Tif::parse(word).map_err(|err| CliError::data(err.to_string())),
        (None, true) => Ok(Tif::Gtc),
        (None, false) => Ok(Tif::Day),
    }
}

/// The order type the flags make: `--limit` a limit, `--stop` a stop,
/// both a stop-limit, `--trail` a trailing stop, none a market order.
fn kind(flags: &OrderFlags) -> Result<OrderKind, CliError> {
    if let Some(text) = &flags.trail {
        return trail(text).map(OrderKind::TrailingStop);
    }
    // An OCO's order is its take-profit limit.
    if flags.oco
        && let Some(text) = &flags.take_profit
    {
        return price("take-profit", text).map(OrderKind::Limit);
    }
    let price_of = |what, text: &Option<String>| text.as_deref().map(|t| price(what, t));
    let limit = price_of("limit", &flags.limit).transpose()?;
    let stop = price_of("stop", &flags.stop).transpose()?;
    Ok(match (limit, stop) {
        (None, None) => OrderKind::Market,
        (Some(limit), None) => OrderKind::Limit(limit),
        (None, Some(stop)) => OrderKind::Stop(stop),
        (Some(limit), Some(stop)) => OrderKind::StopLimit { stop, limit },
    })
}

/// A positive price of at most 4 decimals (`-`, the wire's "none", is
/// refused like any other word).
fn price(what: &'static str, text: &str) -> Result<Money, CliError> {
    match Money::parse(text) {
        Ok(price) if price.raw() > 0 => Ok(price),
        _ => Err(CliError::data(
            ValueError::new(what, text, PRICE_EXPECTED).to_string(),
        )),
    }
}

/// A `--trail`: an amount above 0 or a percent above 0 and below 100.
fn trail(text: &str) -> Result<Trail, CliError> {
    Trail::parse(text).map_err(|_| {
        let expected = "an amount above 0 (1.50) or a percent above 0 and below 100 (2%)";
        CliError::data(ValueError::new("trail", text, expected).to_string())
    })
}

/// The order in words: `buy 10 AAPL at 170.0000 or less, good for the
/// UTC day`.
pub fn describe(order: &OrderSpec) -> String {
    let (better, reaches) = match order.side {
        Side::Buy => ("or less", "rises to"),
        Side::Sell => ("or more", "falls to"),
    };
    let how = match order.kind {
        OrderKind::Market => "at the market".to_string(),
        OrderKind::Limit(limit) => format!("at {} {better}", human_money(limit)),
        OrderKind::Stop(stop) => format!(
            "at the market once the price {reaches} {}",
            human_money(stop)
        ),
        OrderKind::StopLimit { stop, limit } => format!(
            "at {} {better} once the price {reaches} {}",
            human_money(limit),
            human_money(stop)
        ),
        OrderKind::TrailingStop(trail) => {
            let (extreme, by) = match order.side {
                Side::Buy => ("lowest", "rises"),
                Side::Sell => ("highest", "falls"),
            };
            let trail = match trail {
                Trail::Amount(amount) => human_money(amount),
                percent => percent.to_string(),
            };
            format!("at the market once the price {by} {trail} from its {extreme}")
        }
    };
    let tif = match order.tif {
        Tif::Day => "good for the UTC day",
        Tif::Gtc => "good till cancelled",
        Tif::Ioc => "at the next price set or never (ioc)",
        Tif::Fok => "all at the next price set or nothing (fok)",
    };
    format!(
        "{} {} {} {how}, {tif}",
        order.side.name(),
        human_shares(order.quantity.shares()),
        order.symbol
    )
}

/// The JSON fields an order's spec gives.
fn spec_json(order: &OrderSpec) -> Value {
    json!({
        "side": order.side.name(),
        "symbol": order.symbol.as_str(),
        "quantity": json_shares(order.quantity.shares()),
        "type": order.kind.name(),
        "limit": order.kind.limit().map(json_money),
        "stop": order.kind.stop().map(json_money),
        "trail": order.kind.trail().map(|t| t.to_string()),
        "tif": order.tif.name(),
    })
}

/// `orders [--open]`: the account's orders, newest first.
pub fn list(ctx: &mut Context, open_only: bool) -> Result<(), CliError> {
    let what = What {
        view: Some("orders"),
        ..What::default()
    };
    let mut orders = ctx.data(&what, |c, s| c.orders(s))?;
    if open_only {
        orders.retain(|o| o.status.is_live());
    }
    let out = ctx.out;
    if out.json {
        let list: Vec<Value> = orders.iter().map(order_json).collect();
        return print_json(&out, &Value::Array(list));
    }
    if orders.is_empty() && out.tty {
        return print(if open_only {
            "no open orders\n"
        } else {
            "no orders yet\n"
        });
    }
    print(&table(&out, &orders).render(&out))
}

/// One order as JSON: prices as strings, times as epoch seconds, absent
/// prices and transaction as null; `filled_quantity` (0 before any fill)
/// and `filled_avg_price` (null before any fill) say what has filled.
pub fn order_json(o: &OrderLine) -> Value {
    json!({
        "id": o.id,
        "created": o.created.0,
        "side": o.side.name(),
        "symbol": o.symbol.as_str(),
        "quantity": json_shares(o.quantity.shares()),
        "type": o.kind.name(),
        "limit": o.kind.limit().map(json_money),
        "stop": o.stop().map(json_money),
        "trail": o.kind.trail().map(|t| t.to_string()),
        "mark": o.mark.map(json_money),
        "class": o.class.map(OrderClass::name),
        "parent": o.parent,
        "tif": o.tif.name(),
        "status": o.status.name(),
        "updated": o.updated.0,
        "txid": o.txid,
        "filled_quantity": o.filled.map_or(json!(0), |f| json_shares(f.quantity.shares())),
        "filled_avg_price": o.filled.map(|f| json_money(f.avg)),
    })
}

/// The orders table: every field of the wire's line when piped (what has
/// filled and its average price last); on a terminal the time of the last
/// change and the transaction are left out to keep the rows short (they
/// are in `--json` and piped output).
fn table(out: &Output, orders: &[OrderLine]) -> Table {
    let mut columns = vec![
        ("ID", Align::Right),
        ("CREATED", Align::Left),
        ("SIDE", Align::Left),
        ("SYMBOL", Align::Left),
        ("QTY", Align::Right),
        ("TYPE", Align::Left),
        ("LIMIT", Align::Right),
        ("STOP", Align::Right),
        ("TIF", Align::Left),
        ("STATUS", Align::Left),
    ];
    if out.tty {
        columns.extend([("FILLED", Align::Right), ("AVG", Align::Right)]);
    } else {
        columns.extend([
            ("UPDATED", Align::Left),
            ("TXID", Align::Right),
            ("FILLED", Align::Right),
            ("AVG", Align::Right),
        ]);
    }
    let mut table = Table::new(&columns);
    let price = |p: Option<Money>| p.map_or_else(|| "-".to_string(), |p| out.money(p));
    for o in orders {
        let created = if out.tty {
            // 2026-11-21 10:00, UTC like every time shown.
            iso_time(o.created)[..16].replace('T', " ")
        } else {
            iso_time(o.created)
        };
        let side = o.side.name();
        let side_sign = if o.side == Side::Buy { 1 } else { -1 };
        let status = o.status.name();
        let status_sign = match o.status {
            OrderStatus::Filled => 1,
            OrderStatus::Rejected => -1,
            _ => 0,
        };
        let mut cells: Vec<Cell> = vec![
            o.id.to_string().into(),
            created.into(),
            Cell::painted(side, out.gain(side, side_sign)),
            o.symbol.as_str().into(),
            out.shares(o.quantity.shares()).into(),
            match o.class {
                Some(class) => format!("{} ({})", o.kind.name(), class.name()),
                None => o.kind.name().to_string(),
            }
            .into(),
            price(o.kind.limit()).into(),
            stop_cell(o, &price).into(),
            o.tif.name().into(),
            Cell::painted(status, out.gain(status, status_sign)),
        ];
        if !out.tty {
            cells.push(iso_time(o.updated).into());
            cells.push(
                o.txid
                    .map_or_else(|| "-".to_string(), |t| t.to_string())
                    .into(),
            );
        }
        let filled = o.filled.map(|f| f.quantity.shares());
        cells.push(
            filled
                .map_or_else(|| "-".to_string(), |q| out.shares(q))
                .into(),
        );
        cells.push(price(o.filled.map(|f| f.avg)).into());
        table.row(cells);
    }
    table
}

/// The STOP cell: the stop, and a trailing stop's trail after it
/// (`98.00 (2%)`).
fn stop_cell(o: &OrderLine, price: &dyn Fn(Option<Money>) -> String) -> String {
    match o.kind.trail() {
        Some(trail) => format!("{} ({trail})", price(o.stop())),
        None => price(o.stop()),
    }
}

/// The order number of `cancel`, or exit 65 without asking the server.
pub fn order_id(text: &str) -> Result<u64, CliError> {
    parse_order_id(text).map_err(|_| {
        let expected = "an order number (digits only), as papertrader orders shows it";
        CliError::data(ValueError::new("order", text, expected).to_string())
    })
}

/// `cancel ID`.
pub fn cancel(ctx: &mut Context, text: &str) -> Result<(), CliError> {
    let id = order_id(text)?;
    let what = What {
        order: Some(id),
        trade: true,
        check: Some("orders"),
        ..What::default()
    };
    let cancelled = ctx.trade(&what, |c, s| c.cancel_order(s, id))?;
    if ctx.out.json {
        return print_json(&ctx.out, &json!({"id": cancelled, "status": "cancelled"}));
    }
    print(&format!("cancelled order {cancelled}\n"))
}

/// `replace ID [--qty Q] [--limit P] [--stop P | --trail T] [--tif TIF]`.
pub fn replace(ctx: &mut Context, args: &Change) -> Result<(), CliError> {
    let id = order_id(&args.id)?;
    let change = change(args)?;
    let what = What {
        order: Some(id),
        quantity: change.quantity.map(|q| q.shares()),
        trade: true,
        check: Some("orders"),
        ..What::default()
    };
    let new = ctx.trade(&what, |c, s| c.replace_order(s, id, &change))?;
    if ctx.out.json {
        let value = json!({"id": new, "replaces": id, "status": OrderStatus::Open.name()});
        return print_json(&ctx.out, &value);
    }
    print(&format!(
        "order {id} replaced by order {new}; see papertrader orders\n"
    ))
}

/// The change the flags of `replace` ask for, or exit 65.
fn change(args: &Change) -> Result<OrderChange, CliError> {
    let data = |err: ValueError| CliError::data(err.to_string());
    let stop = match (&args.stop, &args.trail) {
        (Some(text), _) => Some(NewStop::Price(price("stop", text)?)),
        (None, Some(text)) => Some(match trail(text)? {
            Trail::Amount(amount) => NewStop::Price(amount),
            percent => NewStop::Trail(percent),
        }),
        (None, None) => None,
    };
    let change = OrderChange {
        quantity: args
            .qty
            .as_deref()
            .map(Quantity::parse)
            .transpose()
            .map_err(data)?,
        limit: args
            .limit
            .as_deref()
            .map(|t| price("limit", t))
            .transpose()?,
        stop,
        tif: args
            .tif
            .as_deref()
            .map(Tif::parse)
            .transpose()
            .map_err(data)?,
    };
    if change.is_empty() {
        return Err(CliError::usage(
            "replace needs at least one of --qty, --limit, --stop, --trail or --tif",
        ));
    }
    Ok(change)
}

/// What a market order asks for, as typed.
enum Wanted<'a> {
    /// `QTY` shares.
    Shares(&'a str),
    /// `--notional AMOUNT`.
    Notional(&'a str),
}

/// A buy or sale at the next price update, waited for.
fn fill_now(
    ctx: &mut Context,
    side: Side,
    symbol_text: &str,
    wanted: Wanted<'_>,
) -> Result<(), CliError> {
    let sym = symbol(symbol_text)?;
    let data = |err: ValueError| CliError::data(err.to_string());
    let size = match wanted {
        Wanted::Shares(text) => Size::Shares(Quantity::parse(text).map_err(data)?),
        Wanted::Notional(text) => Size::notional(text).map_err(data)?,
    };
    let what = What {
        quantity: match size {
            Size::Shares(qty) => Some(qty.shares()),
            Size::Notional(_) => None,
        },
        trade: true,
        ..What::symbol(&sym)
    };
    let (verb, done) = match side {
        Side::Buy => ("buying", "bought"),
        Side::Sell => ("selling", "sold"),
    };
    let status = ctx.out.stderr_tty;
    if status {
        let how_much = match size {
            Size::Shares(qty) => format!("{} {sym}", human_shares(qty.shares())),
            Size::Notional(amount) => format!("{} worth of {sym}", human_money(amount)),
        };
        eprint!("{verb} {how_much} at the next price update...");
    }
    let result = ctx.trade(&what, |c, s| match (size, side) {
        (Size::Shares(qty), Side::Buy) => c.buy(s, &sym, &qty.to_string()),
        (Size::Shares(qty), Side::Sell) => c.sell(s, &sym, &qty.to_string()),
        (Size::Notional(amount), side) => c.trade_notional(side, s, &sym, &amount.to_string()),
    });
    if status {
        eprint!("\r\x1b[K");
    }
    let fill = result?;
    if ctx.out.json {
        return print_json(&ctx.out, &fill_json(&fill, side));
    }
    // Under the master's volume cap a market order fills what it allows.
    let cut = match size {
        Size::Shares(qty) if fill.quantity < qty => format!(
            "only {} of {} filled (the server's volume cap); the rest was not placed\n",
            human_shares(fill.quantity.shares()),
            human_shares(qty.shares())
        ),
        _ => String::new(),
    };
    print(&format!(
        "{done} {} {} at {} for {} (transaction {})\n{cut}",
        human_shares(fill.quantity.shares()),
        fill.symbol,
        human_money(fill.price),
        human_money(amount(fill.price, fill.quantity.shares())),
        fill.txid
    ))
}

fn fill_json(fill: &Fill, side: Side) -> serde_json::Value {
    json!({
        "txid": fill.txid,
        "side": side.name(),
        "symbol": fill.symbol.as_str(),
        "quantity": json_shares(fill.quantity.shares()),
        "price": json_money(fill.price),
        "amount": json_money(amount(fill.price, fill.quantity.shares())),
        "time": fill.time.0,
    })
}

#[cfg(test)]
mod tests {
    use papertrader_common::payload::Line;

    use super::*;

    fn flags(limit: Option<&str>, stop: Option<&str>, gtc: bool) -> OrderFlags {
        OrderFlags {
            limit: limit.map(String::from),
            stop: stop.map(String::from),
            gtc,
            tif: None,
            trail: None,
            take_profit: None,
            stop_loss: None,
            oco: false,
        }
    }

    fn order(side: Side, f: &OrderFlags) -> Result<OrderSpec, CliError> {
        spec(side, "aapl", "10", f)
    }

    #[test]
    fn tif_flag_takes_every_word_and_refuses_others() {
        let mut f = flags(Some("170"), None, false);
        for (word, tif) in [
            ("day", Tif::Day),
            ("gtc", Tif::Gtc),
            ("ioc", Tif::Ioc),
            ("fok", Tif::Fok),
        ] {
            f.tif = Some(word.to_string());
            assert_eq!(order(Side::Buy, &f).expect(word).tif, tif);
        }
        f.tif = Some("IOC".to_string());
        let err = order(Side::Buy, &f).expect_err("upper case");
        assert!(
            err.message.contains("day, gtc, ioc or fok"),
            "{}",
            err.message
        );
        f.tif = Some("ioc".to_string());
        let text = describe(&order(Side::Buy, &f).expect("ioc"));
        assert!(
            text.ends_with("at the next price set or never (ioc)"),
            "{text}"
        );
    }

    #[test]
    fn flags_make_the_order_type() {
        let m = |s: &str| Money::parse(s).expect("money");
        let o = order(Side::Buy, &flags(Some("170"), None, false)).expect("limit");
        assert_eq!((o.kind, o.tif), (OrderKind::Limit(m("170")), Tif::Day));
        assert_eq!(o.symbol.as_str(), "AAPL");
        let o = order(Side::Sell, &flags(None, Some("160.5"), true)).expect("stop");
        assert_eq!((o.kind, o.tif), (OrderKind::Stop(m("160.5")), Tif::Gtc));
        let o = order(Side::Buy, &flags(Some("176"), Some("175"), false)).expect("stop-limit");
        assert_eq!(
            o.kind,
            OrderKind::StopLimit {
                stop: m("175"),
                limit: m("176")
            }
        );
        let o = order(Side::Buy, &flags(None, None, true)).expect("market gtc");
        assert_eq!((o.kind, o.tif), (OrderKind::Market, Tif::Gtc));
        assert!(flags(None, None, false).is_market_now());
        assert!(!flags(None, None, true).is_market_now());
    }

    #[test]
    fn bad_prices_exit_65_naming_the_flag() {
        for (limit, stop) in [
            (Some("abc"), None),
            (Some("0"), None),
            (Some("0.0000"), None),
            (Some("-1"), None),
            (Some("1.00001"), None),
            (Some("-"), None),
            (Some(""), None),
            (Some("1e3"), None),
            (Some("99999999999999999"), None),
            (Some("１７０"), None),
            (None, Some("abc")),
            (Some("170"), Some("0")),
        ] {
            let err = order(Side::Buy, &flags(limit, stop, false)).expect_err("bad price");
            assert_eq!(err.status, 65, "{limit:?} {stop:?}");
            let flag = if limit.is_some_and(|l| price("limit", l).is_err()) {
                "limit"
            } else {
                "stop"
            };
            assert!(
                err.message.starts_with(&format!("{flag} \"")),
                "{}",
                err.message
            );
            assert!(err.message.ends_with(PRICE_EXPECTED), "{}", err.message);
            assert!(!err.message.contains('\n'));
        }
        let long = "9".repeat(5000);
        let err = order(Side::Buy, &flags(Some(&long), None, false)).expect_err("long");
        assert!(err.message.len() < 200, "cut: {}", err.message.len());
    }

    #[test]
    fn symbol_and_quantity_are_checked_first() {
        let f = flags(Some("abc"), None, false);
        let err = spec(Side::Buy, "A$", "10", &f).expect_err("symbol");
        assert!(err.message.starts_with("symbol"), "{}", err.message);
        let err = spec(Side::Buy, "AAPL", "0", &f).expect_err("quantity");
        assert!(err.message.starts_with("quantity"), "{}", err.message);
        assert_eq!(err.status, 65);
    }

    #[test]
    fn orders_in_words() {
        let f = flags(Some("1700.5"), Some("1750"), false);
        let o = order(Side::Buy, &f).expect("order");
        assert_eq!(
            describe(&o),
            "buy 10 AAPL at 1,700.5000 or less once the price rises to 1,750.0000, \
             good for the UTC day"
        );
        let o = order(Side::Sell, &flags(None, Some("160"), true)).expect("order");
        assert_eq!(
            describe(&o),
            "sell 10 AAPL at the market once the price falls to 160.0000, good till cancelled"
        );
        let o = order(Side::Sell, &flags(None, None, true)).expect("order");
        assert_eq!(
            describe(&o),
            "sell 10 AAPL at the market, good till cancelled"
        );
        let o = order(Side::Sell, &flags(Some("190"), None, false)).expect("order");
        assert!(describe(&o).contains("at 190.0000 or more,"));
    }

    #[test]
    fn order_ids() {
        assert_eq!(order_id("42"), Ok(42));
        for bad in ["", "abc", "-1", "4.2", "99999999999999999999", " 1"] {
            let err = order_id(bad).expect_err(bad);
            assert_eq!(err.status, 65);
            assert!(err.message.starts_with("order \""), "{}", err.message);
        }
    }

    fn lines() -> Vec<OrderLine> {
        [
            "13 1732183200 sell MSFT 5 stop-limit 400.0000 390.0000 gtc triggered 1732183300 -",
            "12 1732147200 buy AAPL 1000 limit 170.0000 - day filled 1732150000 7 \
             filled=1000 avg=169.5000",
        ]
        .iter()
        .map(|l| OrderLine::parse(l).expect("order line"))
        .collect()
    }

    #[test]
    fn orders_table_piped_and_on_a_terminal() {
        let orders = lines();
        let piped = table(&Output::plain(), &orders).render(&Output::plain());
        assert_eq!(
            piped,
            "ID\tCREATED\tSIDE\tSYMBOL\tQTY\tTYPE\tLIMIT\tSTOP\tTIF\tSTATUS\tUPDATED\tTXID\t\
             FILLED\tAVG\n\
             13\t2024-11-21T10:00:00Z\tsell\tMSFT\t5\tstop-limit\t400.0000\t390.0000\tgtc\t\
             triggered\t2024-11-21T10:01:40Z\t-\t-\t-\n\
             12\t2024-11-21T00:00:00Z\tbuy\tAAPL\t1000\tlimit\t170.0000\t-\tday\tfilled\t\
             2024-11-21T00:46:40Z\t7\t1000\t169.5000\n"
        );
        let tty = Output {
            tty: true,
            ..Output::plain()
        };
        let text = table(&tty, &orders).render(&tty);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(
            rows[0],
            "ID  CREATED           SIDE  SYMBOL    QTY  TYPE           LIMIT      STOP  TIF  STATUS     \
             FILLED       AVG"
        );
        assert_eq!(
            rows[2],
            "12  2024-11-21 00:00  buy   AAPL    1,000  limit       170.0000         -  day  filled      \
             1,000  169.5000"
        );
    }

    #[test]
    fn orders_as_json() {
        let orders = lines();
        let value = order_json(&orders[1]);
        assert_eq!(
            value,
            json!({
                "id": 12, "created": 1_732_147_200, "side": "buy", "symbol": "AAPL",
                "quantity": 1000, "type": "limit", "limit": "170.0000", "stop": null,
                "trail": null, "mark": null, "class": null, "parent": null,
                "tif": "day", "status": "filled", "updated": 1_732_150_000, "txid": 7,
                "filled_quantity": 1000, "filled_avg_price": "169.5000",
            })
        );
        assert_eq!(order_json(&orders[0])["txid"], Value::Null);
        assert_eq!(order_json(&orders[0])["filled_quantity"], json!(0));
        assert_eq!(order_json(&orders[0])["filled_avg_price"], Value::Null);
        let o = order(Side::Sell, &flags(None, Some("160"), true)).expect("order");
        assert_eq!(
            spec_json(&o),
            json!({"side": "sell", "symbol": "AAPL", "quantity": 10, "type": "stop",
                   "limit": null, "stop": "160.0000", "trail": null, "tif": "gtc"})
        );
    }

    #[test]
    fn take_profit_and_stop_loss_make_a_class() {
        let mut f = flags(Some("170"), None, true);
        f.take_profit = Some("190".to_string());
        f.stop_loss = Some("160".to_string());
        let o = order(Side::Buy, &f).expect("entry");
        let c = class(&f).expect("class").expect("a class");
        assert_eq!(c.class, OrderClass::Bracket);
        assert_eq!(
            format!("{}{}", describe(&o), exits_text(&o, &c)),
            "buy 10 AAPL at 170.0000 or less, good till cancelled, then sell at 190.0000 or \
             more, or at the market once the price falls to 160.0000"
        );
        f.take_profit = None;
        assert_eq!(
            class(&f).expect("oto").expect("a class").class,
            OrderClass::Oto
        );
        let mut oco = flags(None, None, true);
        oco.oco = true;
        oco.take_profit = Some("200".to_string());
        oco.stop_loss = Some("150".to_string());
        let o = order(Side::Sell, &oco).expect("oco");
        assert_eq!(o.kind, OrderKind::Limit(Money(2_000_000)));
        let c = class(&oco).expect("class").expect("oco");
        assert!(
            exits_text(&o, &c).contains("or sell at the market once the price falls to 150.0000"),
            "{}",
            exits_text(&o, &c)
        );
        let mut bad = flags(Some("170"), None, false);
        bad.stop_loss = Some("0".to_string());
        assert_eq!(class(&bad).expect_err("0").status, 65);
        assert!(flags(None, None, false).take_profit.is_none());
        assert_eq!(class(&flags(None, None, false)).expect("none"), None);
    }

    #[test]
    fn trailing_stops_and_replace_flags() {
        let mut f = flags(None, None, false);
        f.trail = Some("2.5%".to_string());
        let o = order(Side::Sell, &f).expect("trailing");
        assert_eq!(o.kind, OrderKind::TrailingStop(Trail::Percent(250)));
        assert_eq!(
            describe(&o),
            "sell 10 AAPL at the market once the price falls 2.5% from its highest, \
             good for the UTC day"
        );
        f.trail = Some("1.5".to_string());
        let o = order(Side::Buy, &f).expect("amount");
        assert!(
            describe(&o).contains("rises 1.5000 from its lowest"),
            "{}",
            describe(&o)
        );
        assert_eq!(spec_json(&o)["trail"], "1.5000");
        for bad in ["0", "0%", "100%", "1e5", "NaN", "-2%", "2.555%", ""] {
            f.trail = Some(bad.to_string());
            let err = order(Side::Sell, &f).expect_err(bad);
            assert_eq!(err.status, 65, "{bad}");
            assert!(err.message.starts_with("trail \""), "{}", err.message);
        }
        // A trailing stop's line: the stop its mark gives, then the trail.
        let line = OrderLine::parse(
            "14 1732183200 sell BTC 0.5 trailing-stop - 98.0000 gtc open 1732183300 - \
             trail=2% mark=100.0000",
        )
        .expect("line");
        let json = order_json(&line);
        assert_eq!(
            (&json["stop"], &json["trail"], &json["mark"]),
            (&json!("98.0000"), &json!("2%"), &json!("100.0000"))
        );
        let text = table(&Output::plain(), &[line]).render(&Output::plain());
        assert!(text.contains("\t98.0000 (2%)\t"), "{text}");

        let change_of = |argv: &[&str]| {
            let mut words = vec!["replace"];
            words.extend(argv);
            let line = <crate::cli::Line as clap::Parser>::try_parse_from(words).expect("parses");
            match line.command {
                crate::cli::Cmd::Replace(args) => change(&args),
                other => panic!("{other:?}"),
            }
        };
        let c = change_of(&["7", "--trail", "3%", "--qty", "0.5"]).expect("change");
        assert_eq!(c.stop, Some(NewStop::Trail(Trail::Percent(300))));
        assert_eq!(c.quantity, Quantity::parse("0.5").ok());
        let c = change_of(&["7", "--trail", "1.25"]).expect("amount");
        assert_eq!(c.stop, Some(NewStop::Price(Money(12_500))));
        let c = change_of(&["7", "--limit", "10", "--tif", "gtc"]).expect("limit");
        assert_eq!((c.limit, c.tif), (Some(Money(100_000)), Some(Tif::Gtc)));
        assert_eq!(change_of(&["7"]).expect_err("nothing").status, 64);
        for bad in [
            &["7", "--qty", "0"][..],
            &["7", "--limit", "-1"],
            &["7", "--trail", "0%"],
            &["7", "--tif", "opg"],
        ] {
            assert_eq!(change_of(bad).expect_err("bad").status, 65, "{bad:?}");
        }
    }
}
