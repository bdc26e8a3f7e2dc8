//! The commands: [`dispatch`] parses one command given as words (the
//! shell's entry point), [`run`] runs a parsed one (main's). Accounts and
//! trades live here; market data in `market.rs`, user views in `views.rs`,
//! portfolios in `portfolios.rs`, competitions in `games.rs`.

use std::path::Path;

use clap::Parser;
use clap::error::ErrorKind;
use papertrader_client::Side;
use papertrader_common::value::Email;

use crate::account::print_login;
use crate::args::username;
use crate::cli::{Cmd, Line};
use crate::context::Context;
use crate::error::{CliError, What};
use crate::output::print;
use crate::{
    account, external, games, keys, market, orders, password, portfolios, views, watchlist,
};

/// Names of every command, for completion and help.
pub const COMMANDS: &[&str] = &[
    "register",
    "login",
    "password",
    "logout",
    "buy",
    "sell",
    "orders",
    "replace",
    "cancel",
    "quote",
    "info",
    "assets",
    "history",
    "portfolio",
    "trades",
    "equity",
    "leaderboard",
    "reset",
    "user",
    "keys",
    "watchlist",
    "game",
    "workers",
    "shell",
    "help",
];

/// Runs one command given as words (e.g. `["buy","AAPL","10"]`), printing
/// its output; used by main and by the shell (which keeps one Context).
pub fn dispatch(ctx: &mut Context, words: &[String]) -> Result<(), CliError> {
    let line = match Line::try_parse_from(words) {
        Ok(line) => line,
        Err(err) => {
            return match err.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    print(&err.render().to_string())
                }
                _ => Err(CliError::usage(clap_message(&err))),
            };
        }
    };
    if matches!(line.command, Cmd::Shell) {
        return Err(CliError::usage("already in the shell"));
    }
    let json = ctx.out.json;
    ctx.out.json |= line.json;
    let result = run(ctx, line.command);
    ctx.out.json = json;
    result
}

/// clap's message without its `error: ` prefix and trailing blank lines.
fn clap_message(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    text.trim_end().to_string()
}

/// Runs a parsed command (`shell` is main's business).
pub fn run(ctx: &mut Context, cmd: Cmd) -> Result<(), CliError> {
    match cmd {
        Cmd::Register {
            user,
            with: Some(provider),
            ..
        } => external::register(ctx, &user, &provider),
        Cmd::Register {
            user,
            email,
            password_file,
            with: None,
        } => register(
            ctx,
            &user,
            email.as_deref().unwrap_or(""),
            password_file.as_deref(),
        ),
        Cmd::Login {
            user,
            expirable,
            with: Some(provider),
            ..
        } => external::login(ctx, &user, &provider, expirable),
        Cmd::Login {
            user,
            password_file,
            expirable,
            with: None,
        } => login(ctx, &user, password_file.as_deref(), expirable),
        Cmd::Password { password_file } => external::set_password(ctx, password_file.as_deref()),
        Cmd::Logout => logout(ctx),
        Cmd::Buy(deal) => orders::place(ctx, Side::Buy, &deal),
        Cmd::Sell(deal) => orders::place(ctx, Side::Sell, &deal),
        Cmd::Orders { open } => orders::list(ctx, open),
        Cmd::Cancel { id } => orders::cancel(ctx, &id),
        Cmd::Replace(change) => orders::replace(ctx, &change),
        Cmd::Quote { symbols } => market::quote(ctx, &symbols),
        Cmd::Info { symbol } => market::info(ctx, &symbol),
        Cmd::Assets => market::assets(ctx),
        Cmd::History {
            symbol,
            range,
            date,
            csv,
        } => market::history(ctx, &symbol, range, date.as_deref(), csv),
        Cmd::Portfolio {
            action: Some(action),
            ..
        } => portfolios::run(ctx, action),
        Cmd::Portfolio { user, action: None } => views::portfolio(ctx, user.as_deref()),
        Cmd::Trades { user } => views::trades(ctx, user.as_deref()),
        Cmd::Equity { csv } => account::equity(ctx, csv),
        Cmd::Leaderboard => account::leaderboard(ctx),
        Cmd::Keys(keys) => keys::run(ctx, keys),
        Cmd::Watchlist { action } => watchlist::run(ctx, action),
        Cmd::Game { action } => games::run(ctx, action),
        Cmd::Reset {
            with: Some(provider),
            yes,
            ..
        } => external::reset(ctx, &provider, yes),
        Cmd::Reset {
            password_file, yes, ..
        } => account::reset(ctx, password_file.as_deref(), yes),
        Cmd::User { user } => views::user(ctx, &user),
        Cmd::Workers => views::workers(ctx),
        Cmd::Shell => Err(CliError::usage("already in the shell")),
    }
}

fn register(
    ctx: &mut Context,
    user: &str,
    email: &str,
    password_file: Option<&Path>,
) -> Result<(), CliError> {
    let user = username(user)?;
    Email::parse(email).map_err(|err| CliError::data(err.to_string()))?;
    let password = password::read(password_file, &user, true)?;
    let what = What {
        email: Some(email),
        ..What::user(&user)
    };
    ctx.command(&what, |c| c.register(&user, email, &password))?;
    print(&format!(
        "registered {user}; log in with: papertrader login {user}\n"
    ))
}

fn login(
    ctx: &mut Context,
    user: &str,
    password_file: Option<&Path>,
    expirable: bool,
) -> Result<(), CliError> {
    let user = username(user)?;
    let password = password::read(password_file, &user, false)?;
    let session = ctx.login(&user, &password, expirable)?;
    print_login(ctx, &user, &session)
}

fn logout(ctx: &mut Context) -> Result<(), CliError> {
    let (session, known) = ctx.logout()?;
    if known {
        print(&format!("logged out {}\n", session.username))
    } else {
        print(&format!(
            "the session of {} had already ended; logged out\n",
            session.username
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Deal;
    use clap::CommandFactory;

    #[test]
    fn commands_list_matches_the_parser() {
        let parser = crate::cli::Cli::command();
        let mut names: Vec<&str> = parser.get_subcommands().map(|c| c.get_name()).collect();
        names.push("help");
        assert_eq!(names, COMMANDS);
        crate::cli::Cli::command().debug_assert();
        crate::cli::Line::command().debug_assert();
    }

    #[test]
    fn shell_lines_parse_like_the_command_line() {
        let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let line = Line::try_parse_from(words("buy AAPL 10")).expect("buy");
        assert!(matches!(line.command, Cmd::Buy(ref deal)
            if deal.symbol == "AAPL" && deal.quantity.as_deref() == Some("10") && deal.order.is_market_now()));
        let line = Line::try_parse_from(words("sell AAPL 10 --stop 160 --limit 159.5 --gtc"))
            .expect("sell");
        let Cmd::Sell(Deal { order, .. }) = line.command else {
            panic!("{:?}", line.command)
        };
        assert_eq!(
            (order.limit.as_deref(), order.stop.as_deref(), order.gtc),
            (Some("159.5"), Some("160"), true)
        );
        // A negative price or quantity reaches the local checks (exit 65)
        // instead of being taken for an option.
        let line = Line::try_parse_from(words("buy AAPL -5 --limit -1")).expect("negative");
        assert!(matches!(line.command, Cmd::Buy(ref deal)
            if deal.quantity.as_deref() == Some("-5") && deal.order.limit.as_deref() == Some("-1")));
        // --notional stands instead of QTY, and only for a market order.
        let line = Line::try_parse_from(words("buy BTC --notional 100")).expect("notional");
        assert!(matches!(line.command, Cmd::Buy(ref deal)
            if deal.quantity.is_none() && deal.notional.as_deref() == Some("100")));
        for bad in [
            "buy BTC 1 --notional 100",
            "buy BTC --notional 100 --limit 5",
            "buy BTC --notional 100 --gtc",
            "buy BTC --notional 100 --tif ioc",
            "buy BTC",
        ] {
            Line::try_parse_from(words(bad)).expect_err(bad);
        }
        let err = Line::try_parse_from(words("cancel")).expect_err("cancel without id");
        assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
        let err = Line::try_parse_from(words("buy AAPL 10 --limit")).expect_err("no value");
        assert!(
            clap_message(&err).contains("--limit"),
            "{}",
            clap_message(&err)
        );
        let line = Line::try_parse_from(words("reset --yes --password-file pw")).expect("reset");
        assert!(matches!(line.command, Cmd::Reset { yes: true, .. }));
        let line = Line::try_parse_from(words("equity --csv --json")).expect("equity");
        assert!(line.json && matches!(line.command, Cmd::Equity { csv: true }));
        let line = Line::try_parse_from(words("quote AAPL MSFT --json")).expect("quote");
        assert!(line.json);
        let line = Line::try_parse_from(words("watchlist")).expect("watchlist");
        assert!(matches!(line.command, Cmd::Watchlist { action: None }));
        let line = Line::try_parse_from(words("watchlist add aapl BTC")).expect("add");
        assert!(matches!(line.command, Cmd::Watchlist {
            action: Some(crate::cli::WatchlistCmd::Add { ref symbols })
        } if symbols == &["aapl", "BTC"]));
        let err = Line::try_parse_from(words("watchlist remove")).expect_err("no symbol");
        assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
        let err = Line::try_parse_from(words("history AAPL fortnight")).expect_err("range");
        assert!(
            clap_message(&err).contains("fortnight"),
            "{}",
            clap_message(&err)
        );
    }

    #[test]
    fn portfolio_keeps_its_holdings_view_beside_its_subcommands() {
        use crate::cli::PortfolioCmd;
        let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let parse = |s: &str| Line::try_parse_from(words(s)).map(|l| l.command);
        assert!(matches!(
            parse("portfolio"),
            Ok(Cmd::Portfolio {
                user: None,
                action: None
            })
        ));
        assert!(matches!(parse("portfolio bob"), Ok(Cmd::Portfolio {
            user: Some(ref u), action: None } ) if u == "bob"));
        // A user called like a subcommand, after `--`.
        assert!(matches!(parse("portfolio -- list"), Ok(Cmd::Portfolio {
            user: Some(ref u), action: None } ) if u == "list"));
        assert!(matches!(
            parse("portfolio list --json"),
            Ok(Cmd::Portfolio {
                user: None,
                action: Some(PortfolioCmd::List)
            })
        ));
        assert!(
            matches!(parse("portfolio create bot --cash 5000"), Ok(Cmd::Portfolio {
            action: Some(PortfolioCmd::Create { ref name, cash: Some(ref cash) }), .. })
            if name == "bot" && cash == "5000")
        );
        assert!(
            matches!(parse("portfolio rename 2 swing"), Ok(Cmd::Portfolio {
            action: Some(PortfolioCmd::Rename { ref portfolio, ref name }), .. })
            if portfolio == "2" && name == "swing")
        );
        assert!(matches!(parse("portfolio use main"), Ok(Cmd::Portfolio {
            action: Some(PortfolioCmd::Use { ref portfolio }), .. }) if portfolio == "main"));
        for bad in [
            "portfolio bob list",
            "portfolio close",
            "portfolio rename 2",
            "portfolio x y",
        ] {
            let err = parse(bad).expect_err(bad);
            assert_ne!(err.kind(), ErrorKind::DisplayHelp, "{bad}");
        }
    }

    #[test]
    fn game_commands_parse() {
        use crate::cli::{FeesArg, GameCmd, HoldingsArg};
        let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let parse = |s: &str| Line::try_parse_from(words(s)).map(|l| l.command);
        assert!(matches!(parse("game"), Ok(Cmd::Game { action: None })));
        assert!(matches!(
            parse("game list"),
            Ok(Cmd::Game {
                action: Some(GameCmd::List)
            })
        ));
        let line = "game create Cup --start now --end +30d --cash 5000 --assets AAPL,MSFT \
                    --orders market,limit --no-short --no-fractional --fees none --cap 25 \
                    --no-late --holdings always --resets --public";
        let Ok(Cmd::Game {
            action:
                Some(GameCmd::Create {
                    name,
                    start,
                    end,
                    rules,
                }),
        }) = parse(line)
        else {
            panic!("{:?}", parse(line))
        };
        assert_eq!(
            (name.as_str(), start.as_str(), end.as_str()),
            ("Cup", "now", "+30d")
        );
        assert_eq!(rules.cash.as_deref(), Some("5000"));
        assert!(rules.no_short && rules.no_fractional && rules.no_late && rules.resets);
        assert!(rules.public && !rules.short && !rules.private);
        assert_eq!(
            (rules.fees, rules.holdings),
            (Some(FeesArg::None), Some(HoldingsArg::Always))
        );
        let Ok(Cmd::Game {
            action: Some(GameCmd::Change {
                game, name, rules, ..
            }),
        }) = parse("game change 3 --name Cup2 --short --private")
        else {
            panic!("change")
        };
        assert_eq!((game.as_str(), name.as_deref()), ("3", Some("Cup2")));
        assert!(rules.short && rules.private && !rules.public);
        assert!(matches!(parse("game holdings 3 bob"), Ok(Cmd::Game {
            action: Some(GameCmd::Holdings { ref game, ref user }) }) if game == "3" && user == "bob"));
        assert!(matches!(parse("game join abcdefgh2345"), Ok(Cmd::Game {
            action: Some(GameCmd::Join { ref code }) }) if code == "abcdefgh2345"));
        for bad in [
            "game create Cup --start now",
            "game create --start now --end +1d",
            "game create Cup --start now --end +1d --short --no-short",
            "game create Cup --start now --end +1d --public --private",
            "game create Cup --start now --end +1d --fees low",
            "game create Cup --start now --end +1d --holdings later",
            "game change",
            "game holdings 3",
            "game remove 3",
            "game join",
            "game show",
        ] {
            let err = parse(bad).expect_err(bad);
            assert_ne!(err.kind(), ErrorKind::DisplayHelp, "{bad}");
        }
    }
}
