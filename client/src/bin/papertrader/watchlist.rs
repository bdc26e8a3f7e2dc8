//! `watchlist [add|remove SYMBOL...]`: the symbols the account watches
//! (protocol 1.2), kept by the master, at most 100. Adding a symbol
//! watched already, or removing one not watched, changes nothing and is
//! no error.

use serde_json::{Value, json};

use crate::args::symbol;
use crate::cli::WatchlistCmd;
use crate::context::Context;
use crate::error::{CliError, What, status};
use crate::numbers::iso_time;
use crate::output::{Align, Table, print, print_json};

/// Runs one `watchlist` command.
pub fn run(ctx: &mut Context, action: Option<WatchlistCmd>) -> Result<(), CliError> {
    match action {
        None => list(ctx),
        Some(WatchlistCmd::Add { symbols }) => change(ctx, &symbols, true),
        Some(WatchlistCmd::Remove { symbols }) => change(ctx, &symbols, false),
    }
}

fn list(ctx: &mut Context) -> Result<(), CliError> {
    let watched = ctx.data(&What::default(), |c, s| c.watchlist(s))?;
    let out = ctx.out;
    if out.json {
        let value: Vec<Value> = watched
            .iter()
            .map(|w| json!({"symbol": w.symbol.as_str(), "added": iso_time(w.added)}))
            .collect();
        return print_json(&out, &Value::Array(value));
    }
    if watched.is_empty() {
        return print(if out.tty {
            "your watchlist is empty; add to it with papertrader watchlist add SYMBOL\n"
        } else {
            ""
        });
    }
    let mut table = Table::new(&[("SYMBOL", Align::Left), ("ADDED", Align::Left)]);
    for w in &watched {
        table.row(vec![w.symbol.as_str().into(), iso_time(w.added).into()]);
    }
    print(&table.render(&out))
}

/// Adds (`add`) or removes each symbol in turn. A symbol the server
/// refuses (unknown, or no room left) is reported and the rest go on, as
/// `quote` does; the status is the last refusal's.
fn change(ctx: &mut Context, symbols: &[String], add: bool) -> Result<(), CliError> {
    // Every symbol checked before anything is sent.
    let symbols: Vec<String> = symbols
        .iter()
        .map(|s| symbol(s))
        .collect::<Result<_, _>>()?;
    let mut done = Vec::new();
    let mut errors: Vec<CliError> = Vec::new();
    for sym in &symbols {
        let what = What::symbol(sym);
        let result = if add {
            ctx.trade(&what, |c, s| c.watch(s, sym))
        } else {
            ctx.trade(&what, |c, s| c.unwatch(s, sym))
        };
        match result {
            Ok(symbol) => {
                if !ctx.out.json {
                    let (verb, way) = if add {
                        ("added", "to")
                    } else {
                        ("removed", "from")
                    };
                    print(&format!("{verb} {symbol} {way} your watchlist\n"))?;
                }
                done.push(symbol.to_string());
            }
            Err(err) if err.status == status::DATAERR => errors.push(err),
            Err(err) => return Err(err),
        }
    }
    if ctx.out.json {
        let key = if add { "added" } else { "removed" };
        print_json(&ctx.out, &json!({ key: done }))?;
    }
    let last = errors.pop();
    for err in errors {
        eprintln!("papertrader: {err}");
    }
    last.map_or(Ok(()), Err)
}
