//! The sentences of the portfolio and competition refusals (protocol
//! 1.2), and of the general refusals (`forbidden`, `unknown-user`) that
//! read better with the portfolio or competition named.

use papertrader_common::value::{Reason, ReasonCode};

use super::{CliError, What, with_detail};

/// Refusals of portfolios and competitions (protocol 1.2), and the
/// general refusals that read better with the portfolio or competition
/// named. None of them is worth retrying as it is: all exit 65, except an
/// organiser's command by someone else (77).
pub(super) fn game_refusal(reason: &Reason, what: &What) -> Option<CliError> {
    let text = reason.text.as_str();
    let portfolio = what.portfolio.unwrap_or("with that number");
    let game = |g: &str| {
        what.game
            .map_or(g.to_string(), |g| format!("competition {g}"))
    };
    Some(match reason.code {
        ReasonCode::UnknownPortfolio => CliError::data(format!(
            "you have no open portfolio {portfolio}; see papertrader portfolio list"
        )),
        ReasonCode::PortfolioExists => CliError::data(format!(
            "you already have an open portfolio named {}; choose another name",
            what.name.unwrap_or("so")
        )),
        ReasonCode::TooManyPortfolios => CliError::data(with_detail(
            "you have the most open portfolios allowed; close one with papertrader portfolio \
             close (a competition's counts too)",
            text,
        )),
        ReasonCode::PortfolioBusy => CliError::data(match what.game {
            Some(g) => format!(
                "your portfolio in competition {g} has open orders; cancel them first \
                 (papertrader orders, in that portfolio)"
            ),
            None => format!(
                "portfolio {portfolio} has open orders; cancel them first (papertrader orders, \
                 in that portfolio)"
            ),
        }),
        // An allow-list symbol the server does not list (createGame,
        // changeGame): its sentence names it.
        ReasonCode::UnknownAsset if what.symbol.is_none() => CliError::data(with_detail(
            "a symbol of --assets is not in the server's asset list; see papertrader assets",
            text,
        )),
        ReasonCode::UnknownGame if what.join => CliError::data(format!(
            "no competition to join as {}: the code is wrong or no longer works, or no \
             public competition has that number",
            what.game.unwrap_or("that")
        )),
        ReasonCode::UnknownGame => CliError::data(format!(
            "there is no {} you can see; see papertrader game list",
            game("such competition")
        )),
        ReasonCode::AlreadyJoined => CliError::data(format!(
            "you have joined {} already (one cannot join again after leaving or being \
             removed); see papertrader portfolio list",
            game("that competition")
        )),
        ReasonCode::GameNotRunning => CliError::data(with_detail(
            &match what.game {
                Some(_) => format!("{} has ended", game("")),
                None => "this portfolio's competition is not running: it has not started or \
                         has ended"
                    .to_string(),
            },
            text,
        )),
        ReasonCode::GameRule => CliError::data(with_detail(
            "the rules of this portfolio's competition do not allow that",
            text,
        )),
        ReasonCode::GameStarted if what.join => CliError::data(format!(
            "{} has started and takes no late players",
            game("the competition")
        )),
        ReasonCode::GameStarted => CliError::data(format!(
            "{} has started: its rules can no longer change",
            game("the competition")
        )),
        ReasonCode::NotAPlayer => CliError::data(match what.game {
            Some(g) => format!("you do not play in competition {g} (or have left it)"),
            None => with_detail(
                "you were removed from this portfolio's competition: it can no longer trade",
                text,
            ),
        }),
        ReasonCode::Forbidden if what.view.is_some() && what.game.is_some() => {
            CliError::noperm(with_detail(
                &format!(
                    "the {} of {} in {} are not shown to you by its rules",
                    what.view.unwrap_or("holdings"),
                    what.user.unwrap_or("that player"),
                    game("")
                ),
                text,
            ))
        }
        ReasonCode::Forbidden if what.game.is_some() => CliError::noperm(with_detail(
            &format!("only the organiser of {} may do that", game("")),
            text,
        )),
        ReasonCode::Forbidden if what.view.is_none() && what.portfolio.is_some() => {
            CliError::noperm(with_detail(
                &format!("not allowed on portfolio {portfolio}"),
                text,
            ))
        }
        ReasonCode::UnknownUser if what.game.is_some() => CliError::data(format!(
            "{} is not a player of {}",
            what.user.unwrap_or("that user"),
            game("")
        )),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::refused;

    fn sentence(code: ReasonCode, text: &str, what: &What) -> (u8, String) {
        let err = refused(&Reason::new(code, text), what);
        (err.status, err.message)
    }

    #[test]
    fn portfolio_and_game_refusals() {
        let portfolio = What {
            portfolio: Some("2"),
            name: Some("bot"),
            ..What::default()
        };
        assert_eq!(
            sentence(ReasonCode::UnknownPortfolio, "no portfolio 2", &portfolio),
            (
                65,
                "you have no open portfolio 2; see papertrader portfolio list".to_string()
            )
        );
        assert_eq!(
            sentence(ReasonCode::PortfolioExists, "", &portfolio),
            (
                65,
                "you already have an open portfolio named bot; choose another name".to_string()
            )
        );
        assert_eq!(
            sentence(ReasonCode::TooManyPortfolios, "20", &portfolio).0,
            65
        );
        assert!(
            sentence(ReasonCode::PortfolioBusy, "", &portfolio)
                .1
                .starts_with("portfolio 2 has open orders")
        );
        let (status, text) = sentence(
            ReasonCode::Forbidden,
            "the first portfolio cannot be closed",
            &portfolio,
        );
        assert_eq!(
            (status, text.as_str()),
            (
                77,
                "not allowed on portfolio 2 (the first portfolio cannot be closed)"
            )
        );

        let game = What {
            game: Some("3"),
            ..What::default()
        };
        assert_eq!(
            sentence(ReasonCode::UnknownGame, "", &game),
            (
                65,
                "there is no competition 3 you can see; see papertrader game list".to_string()
            )
        );
        assert_eq!(
            sentence(ReasonCode::GameStarted, "", &game).1,
            "competition 3 has started: its rules can no longer change"
        );
        assert_eq!(
            sentence(ReasonCode::Forbidden, "", &game),
            (
                77,
                "only the organiser of competition 3 may do that".to_string()
            )
        );
        assert_eq!(
            sentence(ReasonCode::NotAPlayer, "", &game).1,
            "you do not play in competition 3 (or have left it)"
        );
        let holdings = What {
            view: Some("holdings"),
            ..What {
                game: Some("3"),
                ..What::user("bob")
            }
        };
        assert_eq!(
            sentence(ReasonCode::Forbidden, "", &holdings),
            (
                77,
                "the holdings of bob in competition 3 are not shown to you by its rules"
                    .to_string()
            )
        );
        assert_eq!(
            sentence(ReasonCode::UnknownUser, "", &holdings).1,
            "bob is not a player of competition 3"
        );

        let join = What {
            game: Some("ABCDEFGH2345"),
            join: true,
            ..What::default()
        };
        assert_eq!(
            sentence(ReasonCode::UnknownGame, "", &join),
            (
                65,
                "no competition to join as ABCDEFGH2345: the code is wrong or no longer works, \
                 or no public competition has that number"
                    .to_string()
            )
        );
        assert_eq!(
            sentence(ReasonCode::GameStarted, "", &join).1,
            "competition ABCDEFGH2345 has started and takes no late players"
        );
        assert!(
            sentence(ReasonCode::AlreadyJoined, "", &join)
                .1
                .starts_with("you have joined competition ABCDEFGH2345 already")
        );
        assert_eq!(sentence(ReasonCode::RateLimited, "wait", &join).0, 75);

        // A trade in a competition's portfolio names no competition.
        let trade = What {
            symbol: Some("AAPL"),
            trade: true,
            ..What::default()
        };
        assert_eq!(
            sentence(ReasonCode::GameRule, "AAPL is not allowed", &trade),
            (
                65,
                "the rules of this portfolio's competition do not allow that (AAPL is not \
                 allowed)"
                    .to_string()
            )
        );
        assert_eq!(sentence(ReasonCode::GameNotRunning, "", &trade).0, 65);
        assert_eq!(sentence(ReasonCode::NotAPlayer, "", &trade).0, 65);
        // Without a competition or portfolio named, the old sentences.
        assert_eq!(
            sentence(ReasonCode::Forbidden, "", &What::default()),
            (77, "not allowed".to_string())
        );
    }
}
