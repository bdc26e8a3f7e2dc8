//! Portfolios and competitions (protocol 1.2): the typed calls of
//! [`Client`] for `createPortfolio` ... `usePortfolio`, `getPortfolios`,
//! `createGame` ... `newGameCode` and the competition data instructions.
//! Each argument the server would refuse is refused here first, with the
//! server's reason, as in the rest of the library.

use papertrader_common::State;
use papertrader_common::payload;
use papertrader_common::reply::Reply;
use papertrader_common::request::{GameOp, GameView, JoinBy, PortfolioOp, Request};
use papertrader_common::value::{
    GameCode, GameRules, MAX_START_CASH, Money, PortfolioName, Reason, ReasonCode, SessionId,
    Username, ValueError, parse_id,
};

use crate::{
    Client, Error, GameDetail, GameLine, PortfolioLine, Position, Result, Standing, arg, unexpected,
};

/// A competition's number as `joinGame` takes it: all digits, a public
/// competition's number; anything else, an invitation code in any case.
pub fn join_by(text: &str) -> std::result::Result<JoinBy, ValueError> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        parse_id("gameID", text).map(JoinBy::Id)
    } else {
        GameCode::parse_typed(text).map(JoinBy::Code)
    }
}

impl Client {
    /// `createPortfolio` (protocol 1.2): a new portfolio of the login
    /// named `name`, with `cash` (`None`: the master's starting cash).
    /// The answer is its number and name; the session keeps the
    /// portfolio it uses.
    pub fn create_portfolio(
        &mut self,
        session: &SessionId,
        name: &str,
        cash: Option<Money>,
    ) -> Result<(u64, PortfolioName)> {
        if let Some(cash) = cash
            && (cash.raw() <= 0 || cash > MAX_START_CASH)
        {
            let text = format!("cash {cash}: expected an amount above 0, at most 1000000000");
            return Err(Error::Refused(Reason::new(ReasonCode::BadArguments, text)));
        }
        let name = arg(PortfolioName::parse(name))?;
        self.portfolio_op(session, PortfolioOp::Create { cash, name })
    }

    /// `renamePortfolio` (protocol 1.2).
    pub fn rename_portfolio(
        &mut self,
        session: &SessionId,
        id: u64,
        name: &str,
    ) -> Result<(u64, PortfolioName)> {
        let name = arg(PortfolioName::parse(name))?;
        self.portfolio_op(session, PortfolioOp::Rename { id, name })
    }

    /// `closePortfolio` (protocol 1.2): not the first, nor one with open
    /// orders; its positions stay, frozen.
    pub fn close_portfolio(
        &mut self,
        session: &SessionId,
        id: u64,
    ) -> Result<(u64, PortfolioName)> {
        self.portfolio_op(session, PortfolioOp::Close { id })
    }

    /// `usePortfolio` (protocol 1.2): the session's trading and reading
    /// instructions act on portfolio `id` from now on (the master keeps
    /// this with the session).
    pub fn use_portfolio(&mut self, session: &SessionId, id: u64) -> Result<(u64, PortfolioName)> {
        self.portfolio_op(session, PortfolioOp::Use { id })
    }

    fn portfolio_op(
        &mut self,
        session: &SessionId,
        op: PortfolioOp,
    ) -> Result<(u64, PortfolioName)> {
        check_id("portfolioID", op_id(&op))?;
        self.ensure(session, State::Command)?;
        let request = Request::Portfolio {
            session: session.clone(),
            op,
        };
        answer!(self.call(&request)?, Reply::PortfolioUpdated { id, name } => (id, name))
    }

    /// `getPortfolios` (protocol 1.2): the login's portfolios by number,
    /// closed and removed ones too.
    pub fn portfolios(&mut self, session: &SessionId) -> Result<Vec<PortfolioLine>> {
        let request = Request::Portfolios {
            session: session.clone(),
        };
        self.data(session, &request, payload::parse_lines)
    }

    /// `createGame` (protocol 1.2): the answer is the competition's
    /// number and its invitation code.
    pub fn create_game(
        &mut self,
        session: &SessionId,
        rules: &GameRules,
    ) -> Result<(u64, GameCode)> {
        let rules = checked_rules(rules)?;
        self.game_created(session, GameOp::Create(rules))
    }

    /// `changeGame` (protocol 1.2): the organiser's, before the start;
    /// `rules` replace the old ones whole.
    pub fn change_game(&mut self, session: &SessionId, id: u64, rules: &GameRules) -> Result<u64> {
        check_id("gameID", id)?;
        let rules = checked_rules(rules)?;
        self.game_updated(session, GameOp::Change { id, rules })
    }

    /// `joinGame` (protocol 1.2) by invitation code or, all digits, by a
    /// public competition's number. The answer is the new portfolio's
    /// number and name (the session does not switch to it).
    pub fn join_game(
        &mut self,
        session: &SessionId,
        code_or_id: &str,
    ) -> Result<(u64, PortfolioName)> {
        let by = arg(join_by(code_or_id))?;
        self.ensure(session, State::Command)?;
        let request = Request::Game {
            session: session.clone(),
            op: GameOp::Join(by),
        };
        answer!(self.call(&request)?, Reply::PortfolioUpdated { id, name } => (id, name))
    }

    /// `leaveGame` (protocol 1.2): the player's portfolio closes.
    pub fn leave_game(&mut self, session: &SessionId, id: u64) -> Result<u64> {
        check_id("gameID", id)?;
        self.game_updated(session, GameOp::Leave(id))
    }

    /// `removePlayer` (protocol 1.2): the organiser's.
    pub fn remove_player(&mut self, session: &SessionId, id: u64, username: &str) -> Result<u64> {
        check_id("gameID", id)?;
        let username = arg(Username::parse(username))?;
        self.game_updated(session, GameOp::Remove { id, username })
    }

    /// `newGameCode` (protocol 1.2): the organiser's; the old code stops
    /// working. The answer is the new code.
    pub fn new_game_code(&mut self, session: &SessionId, id: u64) -> Result<GameCode> {
        check_id("gameID", id)?;
        let (_, code) = self.game_created(session, GameOp::NewCode(id))?;
        Ok(code)
    }

    fn game_created(&mut self, session: &SessionId, op: GameOp) -> Result<(u64, GameCode)> {
        self.ensure(session, State::Command)?;
        let request = Request::Game {
            session: session.clone(),
            op,
        };
        answer!(self.call(&request)?, Reply::GameCreated { id, code } => (id, code))
    }

    fn game_updated(&mut self, session: &SessionId, op: GameOp) -> Result<u64> {
        self.ensure(session, State::Command)?;
        let request = Request::Game {
            session: session.clone(),
            op,
        };
        answer!(self.call(&request)?, Reply::GameUpdated(id) => id)
    }

    /// `getGames` (protocol 1.2): the competitions the login organises
    /// or plays in (also after leaving), then public ones not ended.
    pub fn games(&mut self, session: &SessionId) -> Result<Vec<GameLine>> {
        self.game_view(session, GameView::List, payload::parse_lines)
    }

    /// `getGame` (protocol 1.2): its state, organiser, players, code (the
    /// organiser's only) and rules.
    pub fn game(&mut self, session: &SessionId, id: u64) -> Result<GameDetail> {
        check_id("gameID", id)?;
        self.game_view(session, GameView::Show(id), payload::parse_one)
    }

    /// `getStandings` (protocol 1.2): the players best first, as the
    /// leaderboard ranks them.
    pub fn standings(&mut self, session: &SessionId, id: u64) -> Result<Vec<Standing>> {
        check_id("gameID", id)?;
        self.game_view(session, GameView::Standings(id), payload::parse_lines)
    }

    /// `getGameHoldings` (protocol 1.2): a player's positions with cost
    /// and value, when the rules let the asker see them.
    pub fn game_holdings(
        &mut self,
        session: &SessionId,
        id: u64,
        username: &str,
    ) -> Result<Vec<Position>> {
        check_id("gameID", id)?;
        let username = arg(Username::parse(username))?;
        let view = GameView::Holdings { id, username };
        self.game_view(session, view, payload::parse_lines)
    }

    fn game_view<T>(
        &mut self,
        session: &SessionId,
        view: GameView,
        parse: crate::Parse<T>,
    ) -> Result<T> {
        let request = Request::GameView {
            session: session.clone(),
            view,
        };
        self.data(session, &request, parse)
    }
}

/// The portfolio number an operation names (`Create` names none: 1).
fn op_id(op: &PortfolioOp) -> u64 {
    match op {
        PortfolioOp::Create { .. } => 1,
        PortfolioOp::Rename { id, .. } | PortfolioOp::Close { id } | PortfolioOp::Use { id } => *id,
    }
}

/// A number the server would refuse (0, above 2^53) is refused here.
fn check_id(what: &'static str, id: u64) -> Result<()> {
    arg(parse_id(what, &id.to_string())).map(|_| ())
}

/// The rules as the server reads them: what `GameRules::parse` would
/// refuse in their text (a bad name, an end before the start) is refused
/// before sending, with the same reason. Whether the end is still to
/// come is the server's to say, by its clock.
fn checked_rules(rules: &GameRules) -> Result<Box<GameRules>> {
    let parsed = GameRules::parse(&rules.to_string()).map_err(Error::Refused)?;
    Ok(Box::new(parsed))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use papertrader_common::Instr;
    use papertrader_common::message::frame;
    use papertrader_common::payload::GameState;
    use papertrader_common::value::Timestamp;

    use super::*;
    use crate::tests::{args_of, fake_server, sid, transfer};

    #[test]
    fn portfolio_commands_send_their_arguments() {
        let (addr, server) = fake_server(vec![
            vec![frame(Instr::PortfolioUpdated, &["2", "bot"])],
            vec![frame(Instr::PortfolioUpdated, &["2", "swing"])],
            vec![frame(Instr::PortfolioUpdated, &["2", "swing"])],
            vec![frame(
                Instr::PortfolioFail,
                &["forbidden the first portfolio"],
            )],
            vec![frame(Instr::PortfolioUpdated, &["3", "x"])],
            vec![frame(Instr::GameUpdated, &["3"])],
        ]);
        let mut client = Client::connect(&addr, Duration::from_secs(5)).expect("connect");
        let s = sid();
        let made = client.create_portfolio(&s, "bot", Some(Money(50_000_000)));
        assert_eq!(made.expect("created").0, 2);
        let renamed = client.rename_portfolio(&s, 2, "swing").expect("renamed");
        assert_eq!(renamed.1.as_str(), "swing");
        assert_eq!(client.use_portfolio(&s, 2).expect("used").0, 2);
        match client.close_portfolio(&s, 1) {
            Err(Error::Refused(r)) => assert_eq!(r.code, ReasonCode::Forbidden),
            other => panic!("{other:?}"),
        }
        assert_eq!(client.create_portfolio(&s, "x", None).expect("x").0, 3);
        // The wrong answer is a protocol error.
        assert!(matches!(
            client.create_portfolio(&s, "y", None),
            Err(Error::Protocol(_))
        ));
        // Refused before sending: bad names, cash, numbers.
        for refused in [
            client.create_portfolio(&s, "two words", None),
            client.create_portfolio(&s, "z", Some(Money(0))),
            client.create_portfolio(&s, "z", Some(Money(MAX_START_CASH.raw() + 1))),
            client.rename_portfolio(&s, 0, "z"),
            client.use_portfolio(&s, (1 << 53) + 1),
        ] {
            match refused {
                Err(Error::Refused(r)) => assert_eq!(r.code, ReasonCode::BadArguments),
                other => panic!("{other:?}"),
            }
        }
        let got = server.join().expect("server");
        assert_eq!(args_of(&got[0]), (93, format!("{s} 5000.0000 bot")));
        assert_eq!(args_of(&got[1]), (94, format!("{s} 2 swing")));
        assert_eq!(args_of(&got[2]), (96, format!("{s} 2")));
        assert_eq!(args_of(&got[3]), (95, format!("{s} 1")));
        assert_eq!(args_of(&got[4]), (93, format!("{s} - x")));
        assert_eq!(got.len(), 6, "nothing sent for the refusals");
    }

    #[test]
    fn game_commands_send_their_arguments() {
        let (addr, server) = fake_server(vec![
            vec![frame(Instr::GameCreated, &["3", "ABCDEFGH2345"])],
            vec![frame(Instr::GameUpdated, &["3"])],
            vec![frame(Instr::PortfolioUpdated, &["4", "game-3"])],
            vec![frame(Instr::PortfolioUpdated, &["5", "game-9"])],
            vec![frame(Instr::GameFail, &["unknown-game no such code"])],
            vec![frame(Instr::GameUpdated, &["3"])],
            vec![frame(Instr::GameUpdated, &["3"])],
            vec![frame(Instr::GameCreated, &["3", "QRSTUVWXYZ23"])],
        ]);
        let mut client = Client::connect(&addr, Duration::from_secs(5)).expect("connect");
        let s = sid();
        let rules = GameRules::new("Spring cup", Timestamp(100), Timestamp(200));
        let (id, code) = client.create_game(&s, &rules).expect("created");
        assert_eq!((id, code.as_str()), (3, "ABCDEFGH2345"));
        assert_eq!(client.change_game(&s, 3, &rules).expect("changed"), 3);
        assert_eq!(client.join_game(&s, "abcdefgh2345").expect("by code").0, 4);
        assert_eq!(client.join_game(&s, " 9 ").expect("by number").0, 5);
        match client.join_game(&s, "ABCDEFGH2346") {
            Err(Error::Refused(r)) => assert_eq!(r.code, ReasonCode::UnknownGame),
            other => panic!("{other:?}"),
        }
        assert_eq!(client.leave_game(&s, 3).expect("left"), 3);
        assert_eq!(client.remove_player(&s, 3, "bob").expect("removed"), 3);
        let code = client.new_game_code(&s, 3).expect("code");
        assert_eq!(code.as_str(), "QRSTUVWXYZ23");
        for refused in [
            client.join_game(&s, "ABCDEFGH234").map(|_| ()),
            client.join_game(&s, "0").map(|_| ()),
            client.join_game(&s, "").map(|_| ()),
            client
                .create_game(&s, &GameRules::new(" ", Timestamp(1), Timestamp(2)))
                .map(|_| ()),
            client
                .create_game(&s, &GameRules::new("x", Timestamp(2), Timestamp(2)))
                .map(|_| ()),
        ] {
            match refused {
                Err(Error::Refused(r)) => assert_eq!(r.code, ReasonCode::BadArguments),
                other => panic!("{other:?}"),
            }
        }
        match client.remove_player(&s, 3, "a b") {
            Err(Error::Refused(r)) => assert_eq!(r.code, ReasonCode::InvalidUsername),
            other => panic!("{other:?}"),
        }
        let got = server.join().expect("server");
        let text = rules.to_string();
        assert_eq!(args_of(&got[0]), (99, format!("{s} {text}")));
        assert_eq!(got[0].argument_count, 2, "the rules are one argument");
        assert_eq!(args_of(&got[1]), (100, format!("{s} 3 {text}")));
        assert_eq!(args_of(&got[2]), (101, format!("{s} ABCDEFGH2345")));
        assert_eq!(args_of(&got[3]), (101, format!("{s} 9")));
        assert_eq!(args_of(&got[5]), (102, format!("{s} 3")));
        assert_eq!(args_of(&got[6]), (103, format!("{s} 3 bob")));
        assert_eq!(args_of(&got[7]), (104, format!("{s} 3")));
        assert_eq!(got.len(), 8);
    }

    #[test]
    fn portfolio_and_game_reads_are_data_transfers() {
        let switched = || vec![frame(Instr::StateSwitchSuccess, &["data"])];
        let (addr, server) = fake_server(vec![
            switched(),
            transfer("1 open yes - 100000.0000 100000.0000 main\n2 closed no 3 5.0000 10.0000 g\n"),
            transfer("3 running both 2 100 200 Spring cup\n"),
            transfer("3 waiting alice 2 ABCDEFGH2345 start=100 end=200 name=Spring cup\n"),
            transfer("1 bob 12.34\n2 alice -0.50\n"),
            transfer("AAPL 15 100.5000 101.0000 1515.0000\n"),
            transfer("3 paused both 2 100 200 x\n"),
        ]);
        let mut client = Client::connect(&addr, Duration::from_secs(5)).expect("connect");
        let s = sid();
        let portfolios = client.portfolios(&s).expect("portfolios");
        assert_eq!(portfolios.len(), 2);
        assert!(portfolios[0].in_use && portfolios[1].game == Some(3));
        let games = client.games(&s).expect("games");
        assert_eq!((games[0].id, games[0].name.as_str()), (3, "Spring cup"));
        let detail = client.game(&s, 3).expect("game");
        assert_eq!(detail.state, GameState::Waiting);
        assert_eq!(detail.rules.cash, Money(1_000_000_000));
        let standings = client.standings(&s, 3).expect("standings");
        assert_eq!(standings[1].username.as_str(), "alice");
        let held = client.game_holdings(&s, 3, "bob").expect("holdings");
        assert_eq!(held[0].symbol.as_str(), "AAPL");
        assert!(matches!(client.games(&s), Err(Error::Protocol(_))));
        let got = server.join().expect("server");
        assert_eq!(args_of(&got[0]), (6, format!("{s} data")));
        assert_eq!(args_of(&got[1]), (97, s.to_string()));
        assert_eq!(args_of(&got[2]), (105, s.to_string()));
        assert_eq!(args_of(&got[3]), (106, format!("{s} 3")));
        assert_eq!(args_of(&got[4]), (107, format!("{s} 3")));
        assert_eq!(args_of(&got[5]), (108, format!("{s} 3 bob")));
    }

    #[test]
    fn join_takes_a_number_or_a_code() {
        assert_eq!(join_by("12"), Ok(JoinBy::Id(12)));
        assert_eq!(
            join_by("abcdefgh2345"),
            Ok(JoinBy::Code(GameCode::parse("ABCDEFGH2345").expect("code")))
        );
        for bad in [
            "",
            "0",
            "9007199254740993",
            "ABCDEFGH234",
            "ABCDEFGH2341",
            "12a",
        ] {
            assert!(join_by(bad).is_err(), "{bad}");
        }
    }
}
