//! Market data commands: `quote`, `info`, `assets` and `history` (a chart
//! on a terminal, CSV when piped or with `--csv`, JSON with `--json`).

use papertrader_client::{Bar, Current};
use papertrader_common::calendar::{self, Market};
use papertrader_common::value::{Date, Timestamp};
use serde_json::json;

use crate::args::{date, symbol};
use crate::chart;
use crate::cli::RangeArg;
use crate::context::Context;
use crate::error::{CliError, What, status};
use crate::output::{Align, Table, iso_time, json_money, key_values, print, print_json};

/// `quote SYMBOL...`: one row per symbol. A refused symbol is reported and
/// the others still printed; the command then fails with its status.
pub fn quote(ctx: &mut Context, symbols: &[String]) -> Result<(), CliError> {
    let symbols: Vec<String> = symbols
        .iter()
        .map(|s| symbol(s))
        .collect::<Result<_, _>>()?;
    let mut quotes: Vec<Current> = Vec::new();
    let mut errors: Vec<CliError> = Vec::new();
    for sym in &symbols {
        let what = What::symbol(sym);
        match ctx.data(&what, |c, s| c.quote(s, sym)) {
            Ok(q) => quotes.push(q),
            // Only a refused symbol is worth going on after.
            Err(err) if err.status == status::DATAERR => errors.push(err),
            Err(err) => return Err(err),
        }
    }
    let now = Timestamp::now();
    if ctx.out.json {
        let list: Vec<serde_json::Value> = quotes
            .iter()
            .map(|q| {
                json!({
                    "symbol": q.symbol.as_str(),
                    "price": json_money(q.price),
                    "time": q.time.0,
                    "age_seconds": age_seconds(q.time, now),
                })
            })
            .collect();
        print_json(&ctx.out, &serde_json::Value::Array(list))?;
    } else if !quotes.is_empty() {
        let mut table = Table::new(&[
            ("SYMBOL", Align::Left),
            ("PRICE", Align::Right),
            ("TIME", Align::Left),
            ("AGE", Align::Right),
        ]);
        for q in &quotes {
            table.row(vec![
                q.symbol.as_str().into(),
                ctx.out.money(q.price).into(),
                iso_time(q.time).into(),
                age_text(age_seconds(q.time, now)).into(),
            ]);
        }
        print(&table.render(&ctx.out))?;
        // Piped output stays one row per quote.
        if ctx.out.tty {
            print(&format!("{}\n", stock_market(now)))?;
        }
    }
    let last = errors.pop();
    for err in errors {
        eprintln!("papertrader: {err}");
    }
    last.map_or(Ok(()), Err)
}

/// Seconds since `time` (0 for a time in the future).
fn age_seconds(time: Timestamp, now: Timestamp) -> i64 {
    now.0.saturating_sub(time.0).max(0)
}

/// An age for people: `12 s`, `3 min`, `2 h 05 min`, `3 d 4 h`.
fn age_text(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
        s => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Whether the US stock market (NYSE/Nasdaq regular hours) is open at
/// `now`, and until or from when. The protocol does not say which market
/// an asset follows, so this names the stock market's session; crypto
/// never closes, and a price much older than the update interval is from
/// the last session or a stale source.
fn stock_market(now: Timestamp) -> String {
    match calendar::current_or_next_session(Market::Nyse, now) {
        Some((open, close)) if open <= now => format!(
            "US stocks (NYSE/Nasdaq) open until {}; crypto never closes",
            calendar::describe(close)
        ),
        Some((open, _)) => format!(
            "US stocks (NYSE/Nasdaq) closed, open {}; crypto never closes",
            calendar::describe(open)
        ),
        None => "US stock market hours unknown; crypto never closes".to_string(),
    }
}

/// `info SYMBOL`: the current UTC day so far.
pub fn info(ctx: &mut Context, text: &str) -> Result<(), CliError> {
    let sym = symbol(text)?;
    let what = What::symbol(&sym);
    let info = ctx.data(&what, |c, s| c.info(s, &sym))?;
    if ctx.out.json {
        let value = json!({
            "symbol": info.symbol.as_str(),
            "open": json_money(info.open),
            "high": json_money(info.high),
            "low": json_money(info.low),
            "close": json_money(info.close),
            "volume": info.volume,
            "time": info.time.0,
        });
        return print_json(&ctx.out, &value);
    }
    let out = ctx.out;
    let change = info.close.raw() - info.open.raw();
    let change_money = papertrader_common::value::Money(change);
    let mut change_text = out.signed(change_money);
    let pct = out.percent(change_money, info.open);
    if !pct.is_empty() {
        change_text.push_str(&format!(" ({pct})"));
    }
    let pairs = [
        ("symbol", info.symbol.to_string()),
        ("open", out.money(info.open)),
        ("high", out.money(info.high)),
        ("low", out.money(info.low)),
        ("close", out.money(info.close)),
        ("change", out.gain(&change_text, change)),
        ("volume", out.number(info.volume)),
        ("updated", iso_time(info.time)),
        ("age", age_text(age_seconds(info.time, Timestamp::now()))),
        ("stock market", stock_market(Timestamp::now())),
    ];
    print(&key_values(&out, &pairs))
}

/// `assets`: every tradable symbol and its name.
pub fn assets(ctx: &mut Context) -> Result<(), CliError> {
    let list = ctx.data(&What::default(), |c, s| c.assets(s))?;
    ctx.set_assets(&list);
    if ctx.out.json {
        let value: Vec<serde_json::Value> = list
            .iter()
            .map(|a| json!({"symbol": a.symbol.as_str(), "name": a.name}))
            .collect();
        return print_json(&ctx.out, &serde_json::Value::Array(value));
    }
    let mut table = Table::new(&[("SYMBOL", Align::Left), ("NAME", Align::Left)]);
    for a in &list {
        table.row(vec![a.symbol.as_str().into(), a.name.as_str().into()]);
    }
    print(&table.render(&ctx.out))
}

/// `history SYMBOL RANGE [DATE] [--csv]`.
pub fn history(
    ctx: &mut Context,
    text: &str,
    range: RangeArg,
    day: Option<&str>,
    csv: bool,
) -> Result<(), CliError> {
    let sym = symbol(text)?;
    if range == RangeArg::All && day.is_some() {
        return Err(CliError::usage("history SYMBOL all takes no DATE"));
    }
    let when = day.map(date).transpose()?;
    let what = What {
        date: day,
        ..What::symbol(&sym)
    };
    let bars = ctx.data(&what, |c, s| c.history(s, &sym, range.range(), when))?;
    let label = |t: Timestamp| match range {
        RangeArg::Day => iso_time(t),
        _ => Date::of_timestamp(t).to_string(),
    };
    if ctx.out.json {
        let list: Vec<serde_json::Value> = bars
            .iter()
            .map(|b| {
                json!({
                    "time": b.time.0,
                    "date": label(b.time),
                    "open": json_money(b.open),
                    "high": json_money(b.high),
                    "low": json_money(b.low),
                    "close": json_money(b.close),
                    "volume": b.volume,
                })
            })
            .collect();
        return print_json(&ctx.out, &serde_json::Value::Array(list));
    }
    if csv || !ctx.out.tty {
        return print(&history_csv(&bars, &label));
    }
    let until = when.unwrap_or_else(|| Date::of_timestamp(Timestamp::now()));
    print(&history_chart(ctx, &sym, range, until, &bars))
}

/// `date,open,high,low,close,volume` lines, oldest first.
fn history_csv(bars: &[Bar], label: &dyn Fn(Timestamp) -> String) -> String {
    let mut text = String::from("date,open,high,low,close,volume\n");
    for b in bars {
        text.push_str(&format!(
            "{},{},{},{},{},{}\n",
            label(b.time),
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume
        ));
    }
    text
}

/// A title line with the change over the range, then the chart.
fn history_chart(ctx: &Context, sym: &str, range: RangeArg, until: Date, bars: &[Bar]) -> String {
    let out = ctx.out;
    let span = match range {
        RangeArg::All => "all history".to_string(),
        RangeArg::Day => format!("day {until} (UTC)"),
        r => format!("{} to {until}", r.name()),
    };
    let (Some(first), Some(last)) = (bars.first(), bars.last()) else {
        return format!("{sym}, {span}: no prices in this range\n");
    };
    // (Shown on a terminal only, so with separators like out.money.)
    let movement = chart::movement(&out, first.close, last.close);
    let mut text = format!("{}, {span}: {movement}\n", out.bold(sym));
    let x_label = |t: Timestamp| match range {
        RangeArg::Day => iso_time(t)[11..16].to_string(),
        _ => Date::of_timestamp(t).to_string(),
    };
    let closes: Vec<_> = bars.iter().map(|b| b.close).collect();
    let lines = chart::render(
        &closes,
        &x_label(first.time),
        &x_label(last.time),
        columns(),
        unicode(),
    );
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// The terminal width: `$COLUMNS`, else 80.
pub fn columns() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&c: &usize| c >= 20)
        .unwrap_or(80)
}

/// Whether the locale is UTF-8 (block characters), else ASCII.
pub fn unicode() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.is_empty())
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use papertrader_common::value::Money;

    #[test]
    fn ages_and_the_stock_market() {
        assert_eq!(age_text(0), "0 s");
        assert_eq!(age_text(59), "59 s");
        assert_eq!(age_text(185), "3 min");
        assert_eq!(age_text(7_500), "2 h 05 min");
        assert_eq!(age_text(3 * 86_400 + 4 * 3600), "3 d 4 h");
        assert_eq!(age_seconds(Timestamp(100), Timestamp(90)), 0, "future");
        // Saturday 2026-03-07 12:00 UTC: closed until Monday's open.
        let saturday = stock_market(Timestamp(1_772_884_800));
        assert!(
            saturday.contains("closed, open Mon 2026-03-09 09:30 America/New_York"),
            "{saturday}"
        );
        // Monday 2026-03-09 15:00 UTC (11:00 in New York, daylight time).
        let monday = stock_market(Timestamp(1_773_068_400));
        assert!(
            monday.contains("open until Mon 2026-03-09 16:00"),
            "{monday}"
        );
    }

    #[test]
    fn csv_dates_follow_the_range() {
        let bar = Bar {
            time: Timestamp(1_732_183_200),
            open: Money(1_880_000),
            high: Money(1_912_500),
            low: Money(1_875_000),
            close: Money(1_895_000),
            volume: 53_200_000,
        };
        let daily = history_csv(&[bar], &|t| Date::of_timestamp(t).to_string());
        assert_eq!(
            daily,
            "date,open,high,low,close,volume\n\
             2024-11-21,188.0000,191.2500,187.5000,189.5000,53200000\n"
        );
        let day = history_csv(&[bar], &iso_time);
        assert!(
            day.ends_with("\n2024-11-21T10:00:00Z,188.0000,191.2500,187.5000,189.5000,53200000\n")
        );
    }
}
