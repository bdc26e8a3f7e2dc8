//! The lines of portfolios and competitions (protocol 1.2): `getPortfolios`,
//! `getGames` and `getGame`. `getStandings` sends leaderboard lines
//! ([`super::Standing`]) and `getGameHoldings` the owner's portfolio lines
//! ([`super::Position`]).

use std::fmt::Write as _;

use super::{Fields, Line, PayloadError, Problem};
use crate::value::{GameRules, Money, PortfolioName, Username, ValueError, parse_id};

/// A portfolio's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortfolioStatus {
    /// It trades.
    Open,
    /// Its owner closed it, or left its competition.
    Closed,
    /// The organiser removed its player from the competition.
    Removed,
}

impl PortfolioStatus {
    /// The wire word.
    pub fn as_str(self) -> &'static str {
        match self {
            PortfolioStatus::Open => "open",
            PortfolioStatus::Closed => "closed",
            PortfolioStatus::Removed => "removed",
        }
    }

    /// Reads the wire word (also the word stored in the database).
    pub fn parse(word: &str) -> Result<PortfolioStatus, ValueError> {
        [
            PortfolioStatus::Open,
            PortfolioStatus::Closed,
            PortfolioStatus::Removed,
        ]
        .into_iter()
        .find(|s| s.as_str() == word)
        .ok_or_else(|| ValueError::new("status", word, "open, closed or removed"))
    }
}

/// A `getPortfolios` line: `PORTFOLIO_ID STATUS IN_USE GAME_ID CASH
/// START_CASH NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortfolioLine {
    /// The login's number for it (1: the first).
    pub id: u64,
    /// Open, closed or removed.
    pub status: PortfolioStatus,
    /// Whether the asking session uses it.
    pub in_use: bool,
    /// The competition it plays in.
    pub game: Option<u64>,
    /// Its cash.
    pub cash: Money,
    /// What it started (or was last reset) with.
    pub start_cash: Money,
    /// Its name.
    pub name: PortfolioName,
}

impl Line for PortfolioLine {
    const KIND: &'static str = "portfolio";

    fn write(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "{} {} {} {} {} {} {}",
            self.id,
            self.status.as_str(),
            if self.in_use { "yes" } else { "no" },
            self.game.map_or_else(|| "-".to_string(), |g| g.to_string()),
            self.cash,
            self.start_cash,
            self.name
        );
    }

    fn parse(line: &str) -> Result<PortfolioLine, PayloadError> {
        let mut f = Fields::new(Self::KIND, line);
        let portfolio = PortfolioLine {
            id: f.value("portfolioID", |t| parse_id("portfolioID", t))?,
            status: f.value("status", PortfolioStatus::parse)?,
            in_use: f.value("inUse", yes_no)?,
            game: f.value("gameID", optional_id)?,
            cash: f.value("cash", Money::parse)?,
            start_cash: f.value("startCash", Money::parse)?,
            name: f.value("name", PortfolioName::parse)?,
        };
        f.end("name", "7 fields")?;
        Ok(portfolio)
    }
}

/// Where a competition is in its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GameState {
    /// Before its start.
    Waiting,
    /// From its start to before its end.
    Running,
    /// From its end on.
    Ended,
}

impl GameState {
    /// The wire word.
    pub fn as_str(self) -> &'static str {
        match self {
            GameState::Waiting => "waiting",
            GameState::Running => "running",
            GameState::Ended => "ended",
        }
    }

    /// The state of a competition from `start` to `end` at `now` (Unix
    /// seconds).
    pub fn at(start: i64, end: i64, now: i64) -> GameState {
        if now < start {
            GameState::Waiting
        } else if now < end {
            GameState::Running
        } else {
            GameState::Ended
        }
    }

    fn parse(word: &str) -> Result<GameState, ValueError> {
        [GameState::Waiting, GameState::Running, GameState::Ended]
            .into_iter()
            .find(|s| s.as_str() == word)
            .ok_or_else(|| ValueError::new("state", word, "waiting, running or ended"))
    }
}

/// What the asking login is to a competition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GameRole {
    /// It organises it.
    Organiser,
    /// It plays in it.
    Player,
    /// It organises it and plays in it.
    Both,
    /// The organiser removed it.
    Removed,
    /// It left.
    Left,
    /// Nothing: a public competition.
    None,
}

impl GameRole {
    /// The wire word.
    pub fn as_str(self) -> &'static str {
        match self {
            GameRole::Organiser => "organiser",
            GameRole::Player => "player",
            GameRole::Both => "both",
            GameRole::Removed => "removed",
            GameRole::Left => "left",
            GameRole::None => "-",
        }
    }

    fn parse(word: &str) -> Result<GameRole, ValueError> {
        [
            GameRole::Organiser,
            GameRole::Player,
            GameRole::Both,
            GameRole::Removed,
            GameRole::Left,
            GameRole::None,
        ]
        .into_iter()
        .find(|s| s.as_str() == word)
        .ok_or_else(|| ValueError::new("role", word, "organiser, player, both, removed, left or -"))
    }
}

/// A `getGames` line: `GAME_ID STATE ROLE PLAYERS START END NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GameLine {
    /// The competition's number.
    pub id: u64,
    /// Waiting, running or ended.
    pub state: GameState,
    /// What the asking login is to it.
    pub role: GameRole,
    /// Players not removed and not gone.
    pub players: u64,
    /// Its start, Unix seconds.
    pub start: i64,
    /// Its end, Unix seconds.
    pub end: i64,
    /// Its name (may hold spaces).
    pub name: String,
}

impl Line for GameLine {
    const KIND: &'static str = "game";

    fn write(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "{} {} {} {} {} {} {}",
            self.id,
            self.state.as_str(),
            self.role.as_str(),
            self.players,
            self.start,
            self.end,
            self.name
        );
    }

    fn parse(line: &str) -> Result<GameLine, PayloadError> {
        let mut f = Fields::new(Self::KIND, line);
        let id = f.value("gameID", |t| parse_id("gameID", t))?;
        let state = f.value("state", GameState::parse)?;
        let role = f.value("role", GameRole::parse)?;
        let players = f.value("players", count)?;
        let start = f.value("start", seconds)?;
        let end = f.value("end", seconds)?;
        let name = f.remainder("name")?.to_string();
        Ok(GameLine {
            id,
            state,
            role,
            players,
            start,
            end,
            name,
        })
    }
}

/// The `getGame` line: `GAME_ID STATE ORGANISER PLAYERS CODE RULES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GameDetail {
    /// The competition's number.
    pub id: u64,
    /// Waiting, running or ended.
    pub state: GameState,
    /// Who organises it.
    pub organiser: Username,
    /// Players not removed and not gone.
    pub players: u64,
    /// The invitation code, for the organiser only; `None` for anyone
    /// else (`-`).
    pub code: Option<String>,
    /// Its rules.
    pub rules: GameRules,
}

impl Line for GameDetail {
    const KIND: &'static str = "game detail";

    fn write(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "{} {} {} {} {} {}",
            self.id,
            self.state.as_str(),
            self.organiser,
            self.players,
            self.code.as_deref().unwrap_or("-"),
            self.rules
        );
    }

    fn parse(line: &str) -> Result<GameDetail, PayloadError> {
        let mut f = Fields::new(Self::KIND, line);
        let id = f.value("gameID", |t| parse_id("gameID", t))?;
        let state = f.value("state", GameState::parse)?;
        let organiser = f.value("organiser", Username::parse)?;
        let players = f.value("players", count)?;
        let code = f.value("code", |t| {
            crate::value::GameCode::parse(t)
                .map(|c| Some(c.to_string()))
                .or_else(|e| if t == "-" { Ok(None) } else { Err(e) })
        })?;
        let text = f.remainder("rules")?;
        let rules = GameRules::parse(text).map_err(|reason| {
            let input = ValueError::new("rules", text, "").input;
            PayloadError::new(
                Self::KIND,
                line,
                Problem::Bad {
                    field: "rules",
                    input: format!("{input}: {}", reason.text),
                    expected: "the rules of createGame",
                },
            )
        })?;
        Ok(GameDetail {
            id,
            state,
            organiser,
            players,
            code,
            rules,
        })
    }
}

fn yes_no(word: &str) -> Result<bool, ValueError> {
    match word {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(ValueError::new("inUse", word, "yes or no")),
    }
}

fn optional_id(word: &str) -> Result<Option<u64>, ValueError> {
    if word == "-" {
        return Ok(None);
    }
    parse_id("gameID", word).map(Some)
}

fn count(word: &str) -> Result<u64, ValueError> {
    super::digits(word, "players", "a count (digits only)")
}

fn seconds(word: &str) -> Result<i64, ValueError> {
    super::digits(word, "time", "Unix seconds (digits only)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{parse_lines, parse_one, write_lines};
    use crate::value::Timestamp;

    #[test]
    fn lines_round_trip() {
        let portfolios = vec![
            PortfolioLine {
                id: 1,
                status: PortfolioStatus::Open,
                in_use: true,
                game: None,
                cash: Money(1_000_000_000),
                start_cash: Money(1_000_000_000),
                name: PortfolioName::parse("main").expect("name"),
            },
            PortfolioLine {
                id: 3,
                status: PortfolioStatus::Removed,
                in_use: false,
                game: Some(7),
                cash: Money(5),
                start_cash: Money(10),
                name: PortfolioName::parse("game-7").expect("name"),
            },
        ];
        let text = write_lines(&portfolios);
        assert_eq!(
            text,
            "1 open yes - 100000.0000 100000.0000 main\n3 removed no 7 0.0005 0.0010 game-7\n"
        );
        assert_eq!(
            parse_lines::<PortfolioLine>(&text).expect("parse"),
            portfolios
        );
        let game = GameLine {
            id: 7,
            state: GameState::Running,
            role: GameRole::Both,
            players: 12,
            start: 100,
            end: 200,
            name: "Spring  cup ".into(),
        };
        let text = game.to_line();
        assert_eq!(text, "7 running both 12 100 200 Spring  cup \n");
        assert_eq!(parse_one::<GameLine>(&text).expect("parse"), game);
        let detail = GameDetail {
            id: 7,
            state: GameState::Waiting,
            organiser: Username::parse("alice").expect("name"),
            players: 0,
            code: Some("ABCDEFGH2345".into()),
            rules: GameRules::new("Spring cup", Timestamp(100), Timestamp(200)),
        };
        let text = detail.to_line();
        assert!(text.starts_with("7 waiting alice 0 ABCDEFGH2345 start=100 end=200 cash="));
        assert_eq!(parse_one::<GameDetail>(&text).expect("parse"), detail);
        let hidden = GameDetail {
            code: None,
            ..detail
        };
        assert_eq!(
            parse_one::<GameDetail>(&hidden.to_line()).expect("parse"),
            hidden
        );
    }

    #[test]
    fn bad_lines_name_their_field() {
        for (line, field) in [
            ("0 open yes - 1.0000 1.0000 main", "portfolioID"),
            ("1 shut yes - 1.0000 1.0000 main", "status"),
            ("1 open maybe - 1.0000 1.0000 main", "inUse"),
            ("1 open yes x 1.0000 1.0000 main", "gameID"),
            ("1 open yes - 1.0000 1.0000 a/b", "name"),
        ] {
            let err = PortfolioLine::parse(line).expect_err(line);
            assert_eq!(err.field(), Some(field), "{line}: {err}");
        }
        assert!(GameLine::parse("1 running player 2 100 200").is_err());
        assert!(GameLine::parse("1 paused player 2 100 200 x").is_err());
        assert!(GameDetail::parse("1 running alice 2 - start=1 name=x").is_err());
    }
}
