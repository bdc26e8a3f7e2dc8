//! `portfolio create|list|use|rename|close` (protocol 1.2): a login's
//! several portfolios. The session trades in one of them, the first when
//! it starts; `use` changes it at the master, which keeps it with the
//! saved session, so every later command acts on it. `portfolio` without
//! a subcommand is the holdings view of `views.rs`.

use papertrader_client::{PortfolioLine, PortfolioStatus};
use papertrader_common::value::{PortfolioName, ValueError, parse_id};
use serde_json::{Value, json};

use crate::cli::PortfolioCmd;
use crate::context::Context;
use crate::error::{CliError, What};
use crate::output::{Align, Cell, Output, Table, print, print_json};
use crate::rules::start_cash;

/// Runs one `portfolio` subcommand.
pub fn run(ctx: &mut Context, cmd: PortfolioCmd) -> Result<(), CliError> {
    match cmd {
        PortfolioCmd::Create { name, cash } => create(ctx, &name, cash.as_deref()),
        PortfolioCmd::List => list(ctx),
        PortfolioCmd::Use { portfolio } => use_one(ctx, &portfolio),
        PortfolioCmd::Rename { portfolio, name } => rename(ctx, &portfolio, &name),
        PortfolioCmd::Close { portfolio } => close(ctx, &portfolio),
    }
}

fn create(ctx: &mut Context, name: &str, cash: Option<&str>) -> Result<(), CliError> {
    let name = portfolio_name(name)?;
    let cash = cash.map(start_cash).transpose()?;
    let what = What {
        name: Some(&name),
        ..What::default()
    };
    let (id, name) = ctx.trade(&what, |c, s| c.create_portfolio(s, &name, cash))?;
    if ctx.out.json {
        return print_json(&ctx.out, &json!({"id": id, "name": name.as_str()}));
    }
    print(&format!(
        "created portfolio {id} ({name}); trade in it after: papertrader portfolio use {id}\n"
    ))
}

fn list(ctx: &mut Context) -> Result<(), CliError> {
    let lines = ctx.data(&What::default(), |c, s| c.portfolios(s))?;
    let out = ctx.out;
    if out.json {
        let value: Vec<Value> = lines.iter().map(line_json).collect();
        return print_json(&out, &Value::Array(value));
    }
    print(&table(&out, &lines).render(&out))
}

/// A `getPortfolios` line as JSON.
fn line_json(p: &PortfolioLine) -> Value {
    json!({
        "id": p.id,
        "name": p.name.as_str(),
        "status": p.status.as_str(),
        "in_use": p.in_use,
        "game": p.game,
        "cash": crate::numbers::json_money(p.cash),
        "start_cash": crate::numbers::json_money(p.start_cash),
    })
}

/// `*` (the one in use), ID, NAME, STATUS, GAME, CASH, START CASH.
fn table(out: &Output, lines: &[PortfolioLine]) -> Table {
    let mut table = Table::new(&[
        ("", Align::Left),
        ("ID", Align::Right),
        ("NAME", Align::Left),
        ("STATUS", Align::Left),
        ("GAME", Align::Right),
        ("CASH", Align::Right),
        ("START CASH", Align::Right),
    ]);
    for p in lines {
        let name = p.name.as_str();
        let (mark, name) = if p.in_use {
            (
                Cell::painted("*", out.bold("*")),
                Cell::painted(name, out.bold(name)),
            )
        } else {
            ("".into(), name.into())
        };
        table.row(vec![
            mark,
            p.id.to_string().into(),
            name,
            p.status.as_str().into(),
            p.game.map_or("-".to_string(), |g| g.to_string()).into(),
            out.money(p.cash).into(),
            out.money(p.start_cash).into(),
        ]);
    }
    table
}

fn use_one(ctx: &mut Context, text: &str) -> Result<(), CliError> {
    let id = resolve(ctx, text)?;
    let shown = id.to_string();
    let what = portfolio_what(&shown);
    let (id, name) = ctx.trade(&what, |c, s| c.use_portfolio(s, id))?;
    if ctx.out.json {
        return print_json(
            &ctx.out,
            &json!({"id": id, "name": name.as_str(), "in_use": true}),
        );
    }
    print(&format!(
        "using portfolio {id} ({name}): trades, orders and portfolio act on it now\n"
    ))
}

fn rename(ctx: &mut Context, text: &str, new_name: &str) -> Result<(), CliError> {
    let new_name = portfolio_name(new_name)?;
    let id = resolve(ctx, text)?;
    let shown = id.to_string();
    let what = What {
        name: Some(&new_name),
        ..portfolio_what(&shown)
    };
    let (id, name) = ctx.trade(&what, |c, s| c.rename_portfolio(s, id, &new_name))?;
    if ctx.out.json {
        return print_json(&ctx.out, &json!({"id": id, "name": name.as_str()}));
    }
    print(&format!("renamed portfolio {id} to {name}\n"))
}

fn close(ctx: &mut Context, text: &str) -> Result<(), CliError> {
    let id = resolve(ctx, text)?;
    let shown = id.to_string();
    let (id, name) = ctx.trade(&portfolio_what(&shown), |c, s| c.close_portfolio(s, id))?;
    if ctx.out.json {
        return print_json(
            &ctx.out,
            &json!({"id": id, "name": name.as_str(), "status": "closed"}),
        );
    }
    print(&format!(
        "closed portfolio {id} ({name}); its positions stay as they were\n"
    ))
}

fn portfolio_what(shown: &str) -> What<'_> {
    What {
        portfolio: Some(shown),
        ..What::default()
    }
}

/// A portfolio name, or exit 65 before anything is sent.
fn portfolio_name(text: &str) -> Result<String, CliError> {
    PortfolioName::parse(text)
        .map(|n| n.as_str().to_string())
        .map_err(|err| CliError::data(err.to_string()))
}

/// The number a portfolio is named by: digits are its number, anything
/// else its name, looked up with `getPortfolios`.
fn resolve(ctx: &mut Context, text: &str) -> Result<u64, CliError> {
    if let Some(id) = number(text)? {
        return Ok(id);
    }
    portfolio_name(text)?;
    let lines = ctx.data(&What::default(), |c, s| c.portfolios(s))?;
    by_name(&lines, text)
}

/// `Some(number)` for all digits (0 or too big: exit 65), `None` for a
/// name.
fn number(text: &str) -> Result<Option<u64>, CliError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let expected = "a portfolio number from 1, as papertrader portfolio list shows it";
    parse_id("portfolio", text)
        .map(Some)
        .map_err(|_| CliError::data(ValueError::new("portfolio", text, expected).to_string()))
}

/// The one portfolio named `name`: in any case, an exact match before
/// others, an open (or removed) one before a closed one. None is exit 65,
/// several exit 64.
fn by_name(lines: &[PortfolioLine], name: &str) -> Result<u64, CliError> {
    let mut found: Vec<&PortfolioLine> = lines
        .iter()
        .filter(|p| p.name.as_str().eq_ignore_ascii_case(name))
        .collect();
    let narrow = |found: &mut Vec<&PortfolioLine>, keep: &dyn Fn(&PortfolioLine) -> bool| {
        if found.iter().filter(|p| keep(p)).count() > 0 {
            found.retain(|p| keep(p));
        }
    };
    narrow(&mut found, &|p| p.name.as_str() == name);
    narrow(&mut found, &|p| p.status != PortfolioStatus::Closed);
    match found.as_slice() {
        [] => Err(CliError::data(format!(
            "you have no portfolio named {name}; see papertrader portfolio list"
        ))),
        [one] => Ok(one.id),
        several => {
            let ids: Vec<String> = several.iter().map(|p| p.id.to_string()).collect();
            Err(CliError::usage(format!(
                "several of your portfolios are named {name} ({}); give its number",
                ids.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use papertrader_common::value::Money;

    fn line(id: u64, status: PortfolioStatus, in_use: bool, name: &str) -> PortfolioLine {
        PortfolioLine {
            id,
            status,
            in_use,
            game: (id == 4).then_some(7),
            cash: Money(1_000_000_000),
            start_cash: Money(1_000_000_000),
            name: PortfolioName::parse(name).expect("name"),
        }
    }

    fn lines() -> Vec<PortfolioLine> {
        use PortfolioStatus::{Closed, Open, Removed};
        vec![
            line(1, Open, false, "main"),
            line(2, Closed, false, "bot"),
            line(3, Open, true, "bot"),
            line(4, Removed, false, "game-7"),
            line(5, Open, false, "Swing"),
            line(6, Open, false, "swing"),
            line(7, Closed, false, "old"),
            line(8, Closed, false, "twice"),
            line(9, Closed, false, "twice"),
        ]
    }

    #[test]
    fn names_resolve_to_one_portfolio() {
        let lines = lines();
        assert_eq!(by_name(&lines, "main"), Ok(1));
        assert_eq!(by_name(&lines, "MAIN"), Ok(1), "any case");
        assert_eq!(by_name(&lines, "bot"), Ok(3), "the open one");
        assert_eq!(by_name(&lines, "game-7"), Ok(4), "removed ones can be used");
        assert_eq!(by_name(&lines, "old"), Ok(7), "closed, when nothing else");
        assert_eq!(by_name(&lines, "swing"), Ok(6), "exact case first");
        assert_eq!(by_name(&lines, "Swing"), Ok(5));
        let err = by_name(&lines, "SWING").expect_err("two in other cases");
        assert_eq!(err.status, 64);
        assert!(err.message.contains("(5, 6)"), "{}", err.message);
        let err = by_name(&lines, "twice").expect_err("two closed");
        assert_eq!(err.status, 64);
        let err = by_name(&lines, "none").expect_err("unknown");
        assert_eq!(
            (err.status, err.message.as_str()),
            (
                65,
                "you have no portfolio named none; see papertrader portfolio list"
            )
        );
    }

    #[test]
    fn numbers_are_ids() {
        assert_eq!(number("3"), Ok(Some(3)));
        assert_eq!(number("bot"), Ok(None));
        assert_eq!(number("3d"), Ok(None));
        assert_eq!(number("0").map_err(|e| e.status), Err(65));
        assert_eq!(
            number("99999999999999999999").map_err(|e| e.status),
            Err(65)
        );
        assert_eq!(portfolio_name("two words").map_err(|e| e.status), Err(65));
    }

    #[test]
    fn the_list_marks_the_one_in_use() {
        let lines = lines();
        let text = table(&Output::plain(), &lines[..4]).render(&Output::plain());
        assert_eq!(
            text,
            "\tID\tNAME\tSTATUS\tGAME\tCASH\tSTART CASH\n\
             \t1\tmain\topen\t-\t100000.0000\t100000.0000\n\
             \t2\tbot\tclosed\t-\t100000.0000\t100000.0000\n\
             *\t3\tbot\topen\t-\t100000.0000\t100000.0000\n\
             \t4\tgame-7\tremoved\t7\t100000.0000\t100000.0000\n"
        );
        let tty = Output {
            tty: true,
            ..Output::plain()
        };
        let text = table(&tty, &lines[..3]).render(&tty);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(
            rows[0],
            "   ID  NAME  STATUS  GAME          CASH    START CASH"
        );
        assert_eq!(
            rows[3],
            "*   3  bot   open       -  100,000.0000  100,000.0000"
        );
        assert_eq!(
            line_json(&lines[3]),
            json!({"id": 4, "name": "game-7", "status": "removed", "in_use": false,
                   "game": 7, "cash": "100000.0000", "start_cash": "100000.0000"})
        );
    }
}
