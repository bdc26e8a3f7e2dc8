//! The account as a whole: `reset` (`resetAccount`, after the password
//! and a typed confirmation), `leaderboard` (`getLeaderboard`) and
//! `equity` (`getEquityHistory`: a chart on a terminal, CSV when piped).

use std::io::{self, BufRead, IsTerminal};
use std::path::Path;

use papertrader_client::{Client, EquityPoint, Standing};
use papertrader_common::value::{Money, Percent, SessionId};
use serde_json::{Value, json};

use crate::context::Context;
use crate::error::{CliError, What};
use crate::output::{Align, Cell, Output, Table, human_money, json_money, print, print_json};
use crate::{chart, market, password};

/// `reset [--password-file FILE] [--yes]`: needs the password (from the
/// file, the terminal or the first line of standard input) and, unless
/// `--yes`, the username typed again (on the terminal, or the next line
/// of standard input). Nothing is sent without both.
pub fn reset(ctx: &mut Context, password_file: Option<&Path>, yes: bool) -> Result<(), CliError> {
    let me = ctx.me()?;
    let interactive = io::stdin().is_terminal();
    if yes && password_file.is_none() && interactive {
        return Err(CliError::usage(
            "reset --yes takes the password from --password-file or standard input, \
             not from the terminal",
        ));
    }
    // An ended session is found out before the password is asked for.
    ctx.session()?;
    if interactive {
        warn_reset(ctx, &me);
    }
    let password = password::read(password_file, &me, false)?;
    if !yes {
        let typed = confirmation(&me, interactive)?;
        check_confirmation(&me, &typed)?;
    }
    send_reset(ctx, &me, |c, s| c.reset_account(s, &me, &password))
}

/// `, portfolio N (NAME)` for the portfolio the session uses when it is
/// not the login's first (a reset acts on it alone); empty otherwise or
/// when the server cannot say (before protocol 1.2's portfolios).
pub(crate) fn portfolio_in_use(ctx: &mut Context, me: &str) -> String {
    let what = What::user(me);
    ctx.data(&what, |c, s| c.portfolios(s))
        .ok()
        .and_then(|all| all.into_iter().find(|p| p.in_use && p.id != 1))
        .map_or_else(String::new, |p| {
            format!(", portfolio {} ({})", p.id, p.name)
        })
}

/// What a reset does, said before it is confirmed: of the portfolio in
/// use only.
pub(crate) fn warn_reset(ctx: &mut Context, me: &str) {
    let portfolio = portfolio_in_use(ctx, me);
    eprintln!(
        "reset {me}{portfolio}: every open order is cancelled, every position removed and the \
         cash set back to what it started with; the history is kept"
    );
}

/// Sends the reset `call` makes and says the cash it left.
pub(crate) fn send_reset(
    ctx: &mut Context,
    me: &str,
    call: impl FnOnce(&mut Client, &SessionId) -> papertrader_client::Result<Money>,
) -> Result<(), CliError> {
    let what = What {
        trade: true,
        check: Some("portfolio"),
        reset: true,
        ..What::user(me)
    };
    let cash = ctx.trade(&what, call)?;
    if ctx.out.json {
        return print_json(&ctx.out, &json!({"username": me, "cash": json_money(cash)}));
    }
    let portfolio = portfolio_in_use(ctx, me);
    print(&format!(
        "reset {me}{portfolio}: no positions, no open orders, cash {}\n",
        human_money(cash)
    ))
}

/// The line typed to confirm: asked on the terminal, else the next line of
/// standard input (after the password's); end of input is an empty line.
pub(crate) fn confirmation(user: &str, interactive: bool) -> Result<String, CliError> {
    if interactive {
        eprint!("type your username ({user}) to confirm: ");
    }
    let mut line = String::new();
    io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|err| CliError::io(format!("cannot read the confirmation: {err}")))?;
    Ok(line.trim().to_string())
}

/// The confirmation must be the username (in any case, as for login).
pub(crate) fn check_confirmation(user: &str, typed: &str) -> Result<(), CliError> {
    if typed.eq_ignore_ascii_case(user) {
        return Ok(());
    }
    Err(CliError::data(format!(
        "reset not confirmed: type the username {user} to confirm (or give --yes); \
         nothing was changed"
    )))
}

/// `leaderboard`: every account's return on its starting cash, best
/// first; ties share a rank.
pub fn leaderboard(ctx: &mut Context) -> Result<(), CliError> {
    let list = ctx.data(&What::default(), |c, s| c.leaderboard(s))?;
    print_standings(ctx, &list, "no accounts yet")
}

/// A ranking (the leaderboard, a competition's standings) as JSON or a
/// table with your row marked; `empty` said on a terminal when it has no
/// line.
pub(crate) fn print_standings(
    ctx: &mut Context,
    list: &[Standing],
    empty: &str,
) -> Result<(), CliError> {
    let me = ctx.me().unwrap_or_default();
    let out = ctx.out;
    if out.json {
        let value: Vec<Value> = list.iter().map(standing_json).collect();
        return print_json(&out, &Value::Array(value));
    }
    if list.is_empty() && out.tty {
        return print(&format!("{empty}\n"));
    }
    print(&leaderboard_table(&out, list, &me).render(&out))
}

pub(crate) fn standing_json(s: &Standing) -> Value {
    json!({
        "rank": s.rank,
        "username": s.username.as_str(),
        "return": s.ret.to_string(),
    })
}

/// RANK, USER, RETURN; your own row in bold on a terminal (also a
/// competition's standings).
pub(crate) fn leaderboard_table(out: &Output, list: &[Standing], me: &str) -> Table {
    let mut table = Table::new(&[
        ("RANK", Align::Right),
        ("USER", Align::Left),
        ("RETURN", Align::Right),
    ]);
    for s in list {
        let user = s.username.as_str();
        let ret = return_text(out, s.ret);
        let user_cell = if user.eq_ignore_ascii_case(me) {
            Cell::painted(user, out.bold(user))
        } else {
            user.into()
        };
        table.row(vec![
            s.rank.to_string().into(),
            user_cell,
            Cell::painted(&ret, out.gain(&ret, s.ret.0)),
        ]);
    }
    table
}

/// `12.34%`, with a `+` on a terminal when positive.
fn return_text(out: &Output, ret: Percent) -> String {
    if out.tty && ret.0 > 0 {
        format!("+{ret}%")
    } else {
        format!("{ret}%")
    }
}

/// `equity [--csv]`: your equity at the end of each UTC day since the
/// account was opened or last reset (today: as it stands).
pub fn equity(ctx: &mut Context, csv: bool) -> Result<(), CliError> {
    let me = ctx.me()?;
    let what = What::user(&me);
    let points = ctx.data(&what, |c, s| c.equity_history(s, &me))?;
    let out = ctx.out;
    if out.json {
        let value: Vec<Value> = points
            .iter()
            .map(|p| json!({"date": p.date.to_string(), "equity": json_money(p.equity)}))
            .collect();
        return print_json(&out, &Value::Array(value));
    }
    if csv || !out.tty {
        return print(&equity_csv(&points));
    }
    print(&equity_chart(
        &out,
        &me,
        &points,
        market::columns(),
        market::unicode(),
    ))
}

/// `date,equity` lines, oldest first.
fn equity_csv(points: &[EquityPoint]) -> String {
    let mut text = String::from("date,equity\n");
    for p in points {
        text.push_str(&format!("{},{}\n", p.date, p.equity));
    }
    text
}

/// A title with the change since the first day, then the chart.
fn equity_chart(
    out: &Output,
    me: &str,
    points: &[EquityPoint],
    width: usize,
    unicode: bool,
) -> String {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return format!("no equity history for {me} yet\n");
    };
    if points.len() == 1 {
        // A flat block says nothing: the chart starts with the second day.
        return format!(
            "equity of {} on {}: {} (the chart starts with the second day)\n",
            out.bold(me),
            first.date,
            human_money(first.equity)
        );
    }
    let movement = chart::movement(out, first.equity, last.equity);
    let mut text = format!(
        "equity of {}, {} to {}: {movement}\n",
        out.bold(me),
        first.date,
        last.date
    );
    let values: Vec<Money> = points.iter().map(|p| p.equity).collect();
    let (from, to) = (first.date.to_string(), last.date.to_string());
    for line in chart::render(&values, &from, &to, width, unicode) {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// What a login says: where the session went.
pub fn print_login(
    ctx: &Context,
    user: &str,
    session: &crate::session::Session,
) -> Result<(), CliError> {
    if session.saved {
        print(&format!(
            "logged in as {user} on {}; session saved in {}\n",
            session.server,
            ctx.session_path().display()
        ))
    } else if ctx.in_shell {
        print(&format!(
            "logged in as {user} on {} with an expirable session; it ends when this shell \
             exits and is not saved\n",
            session.server
        ))
    } else {
        print(&format!(
            "logged in as {user} on {} with an expirable session; it ended with this \
             command's connection and was not saved, so it is only useful inside \
             papertrader shell\n",
            session.server
        ))
    }
}

#[cfg(test)]
mod tests {
    use papertrader_common::payload::Line;

    use super::*;

    fn points(lines: &[&str]) -> Vec<EquityPoint> {
        lines
            .iter()
            .map(|l| EquityPoint::parse(l).expect("equity line"))
            .collect()
    }

    #[test]
    fn equity_as_csv() {
        let p = points(&["2026-11-20 100000.0000", "2026-11-21 101234.5000"]);
        assert_eq!(
            equity_csv(&p),
            "date,equity\n2026-11-20,100000.0000\n2026-11-21,101234.5000\n"
        );
        assert_eq!(equity_csv(&[]), "date,equity\n");
    }

    #[test]
    fn equity_chart_has_a_title_and_the_dates() {
        let p = points(&[
            "2026-11-19 100000.0000",
            "2026-11-20 99000.0000",
            "2026-11-21 101234.5000",
        ]);
        let text = equity_chart(&Output::plain(), "alice", &p, 60, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "equity of alice, 2026-11-19 to 2026-11-21: 100,000.0000 -> 101,234.5000  \
             +1,234.5000 (+1.23%)"
        );
        assert_eq!(lines.len(), 1 + chart::HEIGHT + 2);
        assert!(lines[1].starts_with("101,234.5000 |"), "{text}");
        assert!(lines[chart::HEIGHT].starts_with(" 99,000.0000 |"), "{text}");
        assert!(
            lines[chart::HEIGHT + 2]
                .trim_start()
                .starts_with("2026-11-19")
        );
        assert!(lines[chart::HEIGHT + 2].ends_with("2026-11-21"));
        assert!(lines.iter().skip(1).all(|l| l.chars().count() <= 60));
    }

    #[test]
    fn equity_chart_of_one_day_or_none() {
        let p = points(&["2026-11-21 100000.0000"]);
        assert_eq!(
            equity_chart(&Output::plain(), "alice", &p, 40, true),
            "equity of alice on 2026-11-21: 100,000.0000 (the chart starts with the second day)\n"
        );
        let p = points(&["2026-11-20 100000.0000", "2026-11-21 100000.0000"]);
        let text = equity_chart(&Output::plain(), "alice", &p, 40, true);
        assert!(text.starts_with(
            "equity of alice, 2026-11-20 to 2026-11-21: 100,000.0000 -> 100,000.0000  0.0000 \
             (0.00%)\n"
        ));
        assert!(text.trim_end().ends_with("2026-11-21"), "{text}");
        assert_eq!(
            equity_chart(&Output::plain(), "alice", &[], 40, true),
            "no equity history for alice yet\n"
        );
    }

    fn board() -> Vec<Standing> {
        [
            "1 bob 12.34",
            "1 alice 12.34",
            "3 carol -0.50",
            "4 dave 0.00",
        ]
        .iter()
        .map(|l| Standing::parse(l).expect("standing"))
        .collect()
    }

    #[test]
    fn leaderboard_piped_on_a_terminal_and_as_json() {
        let list = board();
        assert_eq!(
            leaderboard_table(&Output::plain(), &list, "alice").render(&Output::plain()),
            "RANK\tUSER\tRETURN\n1\tbob\t12.34%\n1\talice\t12.34%\n3\tcarol\t-0.50%\n\
             4\tdave\t0.00%\n"
        );
        let tty = Output {
            tty: true,
            colour: true,
            ..Output::plain()
        };
        let text = leaderboard_table(&tty, &list, "ALICE").render(&tty);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows[2], "   1  \x1b[1malice\x1b[0m  \x1b[32m+12.34%\x1b[0m");
        assert_eq!(rows[3], "   3  carol   \x1b[31m-0.50%\x1b[0m");
        assert_eq!(rows[4], "   4  dave     0.00%");
        assert_eq!(
            standing_json(&list[2]),
            json!({"rank": 3, "username": "carol", "return": "-0.50"})
        );
    }

    #[test]
    fn confirmation_is_the_username() {
        assert!(check_confirmation("alice", "alice").is_ok());
        assert!(check_confirmation("alice", "ALICE").is_ok());
        for bad in ["", "yes", "y", "alic", "alice2"] {
            let err = check_confirmation("alice", bad).expect_err(bad);
            assert_eq!(err.status, 65);
            assert!(
                err.message.ends_with("nothing was changed"),
                "{}",
                err.message
            );
        }
    }
}
