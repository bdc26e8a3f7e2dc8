//! User views: `portfolio`, `trades`, `user` and `workers`.

use papertrader_client::{Position, PrivateInfo, Trade, TradeSide, Valuation};
use papertrader_common::value::{Money, Shares};
use serde_json::{Map, Value, json};

use crate::args::username;
use crate::context::Context;
use crate::error::{CliError, What};
use crate::output::{
    Align, Cell, Output, Table, amount, iso_time, json_money, json_shares, key_values, percent,
    print, print_json,
};

/// `portfolio [USER]`: your positions with cost and profit, then cash and
/// equity; another user's holdings only.
pub fn portfolio(ctx: &mut Context, user: Option<&str>) -> Result<(), CliError> {
    let me = ctx.me()?;
    let target = match user {
        Some(u) => username(u)?,
        None => me.clone(),
    };
    let what = What {
        view: Some("portfolio"),
        ..What::user(&target)
    };
    let positions = ctx.data(&what, |c, s| c.portfolio(s, &target))?;
    if !target.eq_ignore_ascii_case(&me) {
        return public_portfolio(&ctx.out, &target, &positions);
    }
    let info = ctx.data(&what, |c, s| c.user_info(s, &target))?;
    let Some(PrivateInfo { cash, equity, .. }) = info.private else {
        return Err(CliError::software(
            "protocol error: the server sent no cash or equity for your account",
        ));
    };
    let rows: Vec<Row> = positions.iter().filter_map(Row::of).collect();
    let out = ctx.out;
    if out.json {
        return print_json(&out, &own_json(&target, cash, equity, &rows));
    }
    let mut text = String::new();
    if rows.is_empty() && out.tty {
        text.push_str("no positions\n");
    } else {
        text.push_str(&own_table(&out, &rows).render(&out));
    }
    if out.tty {
        text.push('\n');
    }
    let mut pairs = vec![("cash", out.money(cash)), ("equity", out.money(equity))];
    // Which portfolio this is, when not the login's first (best effort: a
    // server before protocol 1.2's portfolios has only the first).
    let in_use = ctx
        .data(&what, |c, s| c.portfolios(s))
        .ok()
        .and_then(|all| all.into_iter().find(|p| p.in_use && p.id != 1));
    if let Some(p) = in_use {
        pairs.push(("portfolio", format!("{} ({})", p.id, p.name)));
    }
    text.push_str(&key_values(&out, &pairs));
    print(&text)
}

/// One of your positions with its cost basis and profit.
pub(crate) struct Row {
    symbol: String,
    quantity: Shares,
    avg_cost: Money,
    price: Money,
    value: Money,
    cost: Money,
    pl: Money,
}

impl Row {
    /// `None` for a public-view position (no prices).
    pub(crate) fn of(p: &Position) -> Option<Row> {
        let Valuation {
            avg_cost,
            price,
            value,
        } = p.valuation?;
        let cost = amount(avg_cost, p.quantity);
        Some(Row {
            symbol: p.symbol.to_string(),
            quantity: p.quantity,
            avg_cost,
            price,
            value,
            cost,
            pl: Money(value.raw().saturating_sub(cost.raw())),
        })
    }
}

/// Sums of cost, value and profit.
fn totals(rows: &[Row]) -> (Money, Money, Money) {
    let sum =
        |f: fn(&Row) -> Money| Money(rows.iter().map(|r| f(r).raw()).fold(0, i64::saturating_add));
    (sum(|r| r.cost), sum(|r| r.value), sum(|r| r.pl))
}

/// SYMBOL, QTY, AVG COST, PRICE, VALUE, P/L, P/L% and a TOTAL row (also
/// a competition player's holdings).
pub(crate) fn own_table(out: &Output, rows: &[Row]) -> Table {
    let mut table = Table::new(&[
        ("SYMBOL", Align::Left),
        ("QTY", Align::Right),
        ("AVG COST", Align::Right),
        ("PRICE", Align::Right),
        ("VALUE", Align::Right),
        ("P/L", Align::Right),
        ("P/L%", Align::Right),
    ]);
    let gain_cells = |pl: Money, cost: Money| {
        let pl_text = out.signed(pl);
        let pct = out.percent(pl, cost);
        vec![
            Cell::painted(&pl_text, out.gain(&pl_text, pl.raw())),
            Cell::painted(&pct, out.gain(&pct, pl.raw())),
        ]
    };
    for r in rows {
        let mut cells: Vec<Cell> = vec![
            r.symbol.as_str().into(),
            out.shares(r.quantity).into(),
            out.money(r.avg_cost).into(),
            out.money(r.price).into(),
            out.money(r.value).into(),
        ];
        cells.extend(gain_cells(r.pl, r.cost));
        table.row(cells);
    }
    let (cost, value, pl) = totals(rows);
    let mut cells: Vec<Cell> = vec![
        Cell::painted("TOTAL", out.bold("TOTAL")),
        "".into(),
        "".into(),
        "".into(),
        out.money(value).into(),
    ];
    cells.extend(gain_cells(pl, cost));
    table.row(cells);
    table
}

fn own_json(user: &str, cash: Money, equity: Money, rows: &[Row]) -> Value {
    let (positions, total) = positions_json(rows);
    json!({
        "username": user,
        "positions": positions,
        "total": total,
        "cash": json_money(cash),
        "equity": json_money(equity),
    })
}

/// The positions with cost and profit as JSON, and their total.
pub(crate) fn positions_json(rows: &[Row]) -> (Value, Value) {
    let pct = |pl: Money, cost: Money| {
        percent(pl, cost).map_or(Value::Null, |p| {
            Value::String(p.trim_start_matches('+').into())
        })
    };
    let positions: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "symbol": r.symbol,
                "quantity": json_shares(r.quantity),
                "avg_cost": json_money(r.avg_cost),
                "price": json_money(r.price),
                "value": json_money(r.value),
                "cost": json_money(r.cost),
                "pl": json_money(r.pl),
                "pl_percent": pct(r.pl, r.cost),
            })
        })
        .collect();
    let (cost, value, pl) = totals(rows);
    let total = json!({
        "cost": json_money(cost),
        "value": json_money(value),
        "pl": json_money(pl),
        "pl_percent": pct(pl, cost),
    });
    (Value::Array(positions), total)
}

fn public_portfolio(out: &Output, user: &str, positions: &[Position]) -> Result<(), CliError> {
    if out.json {
        let list: Vec<Value> = positions
            .iter()
            .map(|p| json!({"symbol": p.symbol.as_str(), "quantity": json_shares(p.quantity)}))
            .collect();
        return print_json(out, &json!({"username": user, "positions": list}));
    }
    if positions.is_empty() && out.tty {
        return print(&format!("{user} holds nothing\n"));
    }
    let mut table = Table::new(&[("SYMBOL", Align::Left), ("QTY", Align::Right)]);
    for p in positions {
        table.row(vec![
            p.symbol.as_str().into(),
            out.shares(p.quantity).into(),
        ]);
    }
    print(&table.render(out))
}

/// `trades [USER]`: the transaction history, oldest first.
pub fn trades(ctx: &mut Context, user: Option<&str>) -> Result<(), CliError> {
    let target = match user {
        Some(u) => username(u)?,
        None => ctx.me()?,
    };
    let what = What {
        view: Some("trades"),
        ..What::user(&target)
    };
    let list = ctx.data(&what, |c, s| c.trades(s, &target))?;
    let out = ctx.out;
    if out.json {
        let value: Vec<Value> = list.iter().map(trade_json).collect();
        return print_json(&out, &Value::Array(value));
    }
    if list.is_empty() && out.tty {
        return print("no trades yet\n");
    }
    let mut table = Table::new(&[
        ("TXID", Align::Right),
        ("TIME", Align::Left),
        ("SIDE", Align::Left),
        ("SYMBOL", Align::Left),
        ("QTY", Align::Right),
        ("PRICE", Align::Right),
    ]);
    for t in &list {
        // A reset, split or dividend line is neither a buy nor a sale.
        let sign = match t.side {
            TradeSide::Buy => 1,
            TradeSide::Sell => -1,
            _ => 0,
        };
        let side = t.side.as_str();
        table.row(vec![
            t.txid.to_string().into(),
            iso_time(t.time).into(),
            Cell::painted(side, out.gain(side, sign)),
            t.symbol.as_str().into(),
            out.shares(t.quantity).into(),
            out.money(t.price).into(),
        ]);
    }
    print(&table.render(&out))
}

fn trade_json(t: &Trade) -> Value {
    json!({
        "txid": t.txid,
        "time": t.time.0,
        "side": t.side.as_str(),
        "symbol": t.symbol.as_str(),
        "quantity": json_shares(t.quantity),
        "price": json_money(t.price),
    })
}

/// `user USER`: the account's key/value lines (private view for yourself).
pub fn user(ctx: &mut Context, name: &str) -> Result<(), CliError> {
    let name = username(name)?;
    let what = What::user(&name);
    let info = ctx.data(&what, |c, s| c.user_info(s, &name))?;
    let out = ctx.out;
    // Each field as JSON and as text, in the wire's order.
    let mut fields: Vec<(&str, Value, String)> = vec![(
        "username",
        info.username.as_str().into(),
        info.username.to_string(),
    )];
    if let Some(p) = &info.private {
        let email = p.email.as_ref();
        let json = email.map_or(Value::Null, |e| e.as_str().into());
        fields.push(("email", json, email.map_or("-".into(), |e| e.to_string())));
    }
    fields.push(("created", info.created.0.into(), iso_time(info.created)));
    if let Some(p) = &info.private {
        fields.push(("cash", p.cash.to_string().into(), out.money(p.cash)));
        fields.push(("equity", p.equity.to_string().into(), out.money(p.equity)));
    }
    if out.json {
        let map: Map<String, Value> = fields.into_iter().map(|(k, v, _)| (k.into(), v)).collect();
        return print_json(&out, &Value::Object(map));
    }
    let shown: Vec<(&str, String)> = fields.into_iter().map(|(k, _, t)| (k, t)).collect();
    print(&key_values(&out, &shown))
}

/// `workers`: one address per line.
pub fn workers(ctx: &mut Context) -> Result<(), CliError> {
    let list = ctx.workers()?;
    if ctx.out.json {
        return print_json(&ctx.out, &json!(list));
    }
    if list.is_empty() && ctx.out.tty {
        return print("no workers are up\n");
    }
    let text: String = list.iter().map(|w| format!("{w}\n")).collect();
    print(&text)
}
