//! `/v2/account/portfolio/history` and `/v2/account/activities` in
//! Alpaca's shapes, from `getEquityHistory` (one point a day) and
//! `getUserTransactionHistory` (every fill, fee, dividend, split and
//! reset).

use papertrader_common::payload::{EquityPoint, Trade, TradeSide};
use papertrader_common::value::{Date, Money, shown};
use serde_json::{Value, json};

use super::Response;
use super::data::number;
use super::ids::fill_uuid;
use super::json::{Book, money};
use super::query::{Query, rfc3339};

/// `period=`: a number and D, W, M or A (years); `None` for a malformed
/// one.
fn period_days(text: &str) -> Option<i64> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let n: i64 = text[..digits]
        .parse()
        .ok()
        .filter(|n| (1..=100).contains(n))?;
    Some(match &text[digits..] {
        "D" => n,
        "W" => n * 7,
        "M" => n * 31,
        "A" => n * 366,
        _ => return None,
    })
}

/// The portfolio history object for the equity `points`.
pub fn portfolio(points: &[EquityPoint], q: &Query, today: Date) -> Response {
    let bad = |e: String| Response::error(400, 40010001, &e);
    match q.get("timeframe") {
        None | Some("1D") => {}
        Some(other) => {
            return bad(format!(
                "timeframe {} is not kept: the history holds one point a day (1D)",
                shown(other)
            ));
        }
    }
    let end = match q.date("date_end").or_else(|_| q.date("end")) {
        Ok(d) => d.unwrap_or(today),
        Err(e) => return bad(e),
    };
    let start = match (
        q.date("start").or_else(|_| q.date("date_start")),
        q.get("period"),
    ) {
        (Err(e), _) => return bad(e),
        (Ok(Some(d)), _) => d,
        (Ok(None), period) => {
            let Some(days) = period_days(period.unwrap_or("1M")) else {
                return bad("period must be like 1D, 1W, 1M or 1A".into());
            };
            Date(end.0.saturating_sub(time::Duration::days(days)))
        }
    };
    let kept: Vec<&EquityPoint> = points
        .iter()
        .filter(|p| p.date >= start && p.date <= end)
        .collect();
    let base = kept.first().map_or(Money::ZERO, |p| p.equity);
    let mut timestamp = Vec::new();
    let mut equity = Vec::new();
    let mut pl = Vec::new();
    let mut pct = Vec::new();
    for p in &kept {
        timestamp.push(Value::from(p.date.start().0));
        equity.push(number(p.equity));
        let diff = Money(p.equity.0.saturating_sub(base.0));
        pl.push(number(diff));
        pct.push(if base.0 == 0 {
            Value::Null
        } else {
            serde_json::Number::from_f64(diff.0 as f64 / base.0 as f64)
                .map_or(Value::Null, Value::Number)
        });
    }
    Response::json(
        200,
        &json!({
            "timestamp": timestamp,
            "equity": equity,
            "profit_loss": pl,
            "profit_loss_pct": pct,
            "base_value": number(base),
            "timeframe": "1D",
            "cashflow": {},
        }),
    )
}

/// Alpaca's activity type of a history line.
fn activity_type(side: TradeSide) -> &'static str {
    match side {
        TradeSide::Buy | TradeSide::Sell | TradeSide::Liquidation => "FILL",
        TradeSide::Dividend => "DIV",
        TradeSide::Fee => "FEE",
        TradeSide::Split => "REORG",
        TradeSide::Reset => "MISC",
    }
}

/// An activity's id: its time and its transaction, so that ids sort as
/// the history does.
fn activity_id(t: &Trade) -> String {
    let stamp = rfc3339(t.time).replace(['-', ':', 'T', 'Z'], "");
    format!(
        "{stamp}000::{}",
        fill_uuid(u64::try_from(t.txid).unwrap_or_default())
    )
}

fn activity(t: &Trade, book: &Book) -> Value {
    let id = activity_id(t);
    let kind = activity_type(t.side);
    let symbol = book.api_symbol(&t.symbol);
    match t.side {
        TradeSide::Buy | TradeSide::Sell | TradeSide::Liquidation => {
            // A liquidation buys a short back.
            let side = if t.side == TradeSide::Sell {
                "sell"
            } else {
                "buy"
            };
            json!({
                "id": id,
                "activity_type": kind,
                "transaction_time": rfc3339(t.time),
                "type": "fill",
                "price": money(t.price),
                "qty": t.quantity.to_string(),
                "side": side,
                "symbol": symbol,
                "leaves_qty": "0",
                "order_id": fill_uuid(u64::try_from(t.txid).unwrap_or_default()),
                "cum_qty": t.quantity.to_string(),
                "order_status": "filled",
            })
        }
        _ => {
            let (net, description) = match t.side {
                TradeSide::Dividend => (
                    t.price.times(t.quantity).unwrap_or(Money::ZERO),
                    format!("dividend of {} a share on {}", t.price, t.quantity),
                ),
                TradeSide::Fee => (
                    Money(-t.price.0),
                    format!("commission on {} shares", t.quantity),
                ),
                TradeSide::Split => (
                    Money::ZERO,
                    format!("split: {} shares held after it", t.quantity),
                ),
                _ => (
                    Money::ZERO,
                    format!("account reset: cash set to {}", t.price),
                ),
            };
            json!({
                "id": id,
                "activity_type": kind,
                "date": Date::of_timestamp(t.time).to_string(),
                "net_amount": money(net),
                "symbol": if t.side == TradeSide::Reset { Value::Null } else { Value::String(symbol) },
                "qty": t.quantity.to_string(),
                "per_share_amount": if t.side == TradeSide::Dividend { money(t.price) } else { Value::Null },
                "description": description,
            })
        }
    }
}

/// The activities list for `types` (empty: all) and the query's bounds.
pub fn activities(lines: &[Trade], types: &[String], q: &Query, book: &Book) -> Response {
    let bad = |e: String| Response::error(400, 40010001, &e);
    let after = match q.time("after") {
        Ok(t) => t,
        Err(e) => return bad(e),
    };
    let until = match q.time("until") {
        Ok(t) => t,
        Err(e) => return bad(e),
    };
    let on = match q.date("date") {
        Ok(d) => d,
        Err(e) => return bad(e),
    };
    let size = match q.number("page_size", 1, 100) {
        Ok(n) => n.unwrap_or(100) as usize,
        Err(e) => return bad(e),
    };
    let descending = match q.get("direction") {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(other) => {
            return bad(format!(
                "direction must be asc or desc, not {}",
                shown(other)
            ));
        }
    };
    let token = q.get("page_token");
    let mut kept: Vec<&Trade> = lines
        .iter()
        .filter(|t| types.is_empty() || types.iter().any(|w| w == activity_type(t.side)))
        .filter(|t| after.is_none_or(|a| t.time > a))
        .filter(|t| until.is_none_or(|u| t.time <= u))
        .filter(|t| on.is_none_or(|d| Date::of_timestamp(t.time) == d))
        .collect();
    if descending {
        kept.reverse();
    }
    if let Some(token) = token {
        match kept.iter().position(|t| activity_id(t) == token) {
            Some(i) => kept.drain(..=i),
            None => return bad("invalid page_token".into()),
        };
    }
    let list: Vec<Value> = kept.iter().take(size).map(|t| activity(t, book)).collect();
    Response::json(200, &Value::Array(list))
}

/// The activity types `types` names, checked: Alpaca's words.
pub fn types(words: &[&str]) -> Result<Vec<String>, Response> {
    const KNOWN: &[&str] = &[
        "FILL", "DIV", "FEE", "REORG", "MISC", "TRANS", "JNL", "CFEE", "INT",
    ];
    words
        .iter()
        .map(|w| {
            let upper = w.to_ascii_uppercase();
            if KNOWN.contains(&upper.as_str()) {
                Ok(upper)
            } else {
                Err(Response::error(
                    400,
                    40010001,
                    &format!("unknown activity type {}", shown(w)),
                ))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use papertrader_common::payload;

    #[test]
    fn portfolio_history_is_daily_from_a_base() {
        let points: Vec<EquityPoint> =
            payload::parse_lines("2026-11-01 100.0000\n2026-11-20 110.0000\n2026-11-30 99.0000\n")
                .expect("points");
        let today = Date::parse("2026-11-30").expect("date");
        let r = portfolio(
            &points,
            &Query::parse("period=1M&timeframe=1D").expect("q"),
            today,
        );
        let v: Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(v["equity"], json!([100.0, 110.0, 99.0]));
        assert_eq!(v["profit_loss"], json!([0.0, 10.0, -1.0]));
        assert_eq!(v["profit_loss_pct"][1], 0.1);
        assert_eq!(v["base_value"], 100.0);
        let r = portfolio(&points, &Query::parse("period=1W").expect("q"), today);
        let v: Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(v["equity"], json!([99.0]));
        let r = portfolio(&points, &Query::parse("timeframe=5Min").expect("q"), today);
        assert_eq!(r.status, 400);
        let r = portfolio(&points, &Query::parse("period=1X").expect("q"), today);
        assert_eq!(r.status, 400);
    }

    #[test]
    fn activities_filter_and_page() {
        let lines: Vec<Trade> = payload::parse_lines(
            "1 1732147200 buy AAPL 3 189.5000\n2 1732147200 fee AAPL 3 1.0000\n3 1732233600 dividend AAPL 3 0.2400\n4 1732320000 sell AAPL 1 190.0000\n",
        )
        .expect("history");
        let book = Book::default();
        let all = |q: &str, types: &[String]| -> Value {
            let r = activities(&lines, types, &Query::parse(q).expect("q"), &book);
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            serde_json::from_slice(&r.body).expect("json")
        };
        let v = all("", &[]);
        assert_eq!(v.as_array().map(Vec::len), Some(4));
        assert_eq!(v[0]["side"], "sell", "newest first");
        let fills = all("direction=asc", &types(&["fill"]).expect("types"));
        assert_eq!(fills[0]["price"], "189.5000");
        assert_eq!(fills[0]["activity_type"], "FILL");
        let div = all("", &types(&["DIV"]).expect("types"));
        assert_eq!(
            (
                div[0]["net_amount"].as_str(),
                div[0]["per_share_amount"].as_str()
            ),
            (Some("0.7200"), Some("0.2400"))
        );
        let fee = all("", &types(&["FEE"]).expect("types"));
        assert_eq!(fee[0]["net_amount"], "-1.0000");
        let page = all("page_size=2", &[]);
        let next = all(
            &format!(
                "page_size=2&page_token={}",
                page[1]["id"].as_str().unwrap_or("")
            ),
            &[],
        );
        assert_eq!(next[0]["id"], all("", &[])[2]["id"]);
        assert!(types(&["BOGUS"]).is_err());
    }
}
