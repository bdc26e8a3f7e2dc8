//! The data instructions of portfolios and competitions (protocol 1.2):
//! `getPortfolios`, `getGames`, `getGame`, `getStandings` and
//! `getGameHoldings`, on the data threads' connections, and the ranking
//! of one competition's players that the standings thread, the trade
//! thread (freezing at the end) and these views share.

use std::collections::HashMap;

use papertrader_common::payload::{
    GameDetail, GameLine, GameRole, GameState, Line, PortfolioLine, PortfolioStatus, write_lines,
};
use papertrader_common::request::GameView;
use papertrader_common::value::{
    GameRules, Money, PortfolioName, Reason, ReasonCode, Timestamp, Username, Visibility,
};
use rusqlite::{Connection, OptionalExtension, params};

use super::internal;
use super::ledger::top_n;
use super::standing::{Board, payload as standings_payload, percent_return, position_value};
use crate::auth::Viewer;
use crate::db::games::{self as sql, Game};
use crate::market::store;

/// Most public competitions `getGames` lists besides the login's own.
pub const PUBLIC_LISTED: usize = 100;
/// Most of the login's own competitions `getGames` lists (the newest).
pub const OWN_LISTED: usize = 1_000;

/// `getPortfolios`: every portfolio of the session's login, by number;
/// for an API key's session, the key's portfolio alone.
pub fn portfolios(conn: &Connection, viewer: Viewer) -> Result<String, Reason> {
    let mut rows =
        sql::of_login(conn, viewer.login).map_err(|e| internal("cannot list portfolios", e))?;
    if viewer.api_key {
        rows.retain(|p| p.id == viewer.book);
    }
    let mut lines = Vec::with_capacity(rows.len());
    for p in rows {
        lines.push(PortfolioLine {
            id: p.no as u64,
            status: p.status,
            in_use: p.id == viewer.book,
            game: p.game.map(|g| g as u64),
            cash: Money(p.cash),
            start_cash: Money(p.start_cash),
            name: PortfolioName::parse(&p.name)
                .map_err(|e| internal("a stored portfolio name", e))?,
        });
    }
    Ok(write_lines(&lines))
}

/// A competition data instruction for `login`.
pub fn answer(
    conn: &Connection,
    login: i64,
    view: &GameView,
    board: &Board,
    now: Timestamp,
) -> Result<String, Reason> {
    match view {
        GameView::List => list(conn, login, now),
        GameView::Show(id) => {
            let game = visible(conn, login, *id)?;
            detail(conn, login, &game, now)
        }
        GameView::Standings(id) => {
            let game = visible(conn, login, *id)?;
            if let Some(frozen) = game.standings {
                return Ok(frozen);
            }
            if let Some(ranked) = board.game_standings(game.id) {
                return Ok(ranked);
            }
            rank_game(conn, game.id, &|symbol: &str| last_price(conn, symbol))
        }
        GameView::Holdings { id, username } => holdings(conn, login, *id, username, now),
    }
}

fn fault(what: &'static str) -> impl Fn(rusqlite::Error) -> Reason {
    move |err| internal(what, err)
}

fn unknown(id: u64) -> Reason {
    Reason::new(
        ReasonCode::UnknownGame,
        format!("there is no competition {id}"),
    )
}

/// Competition `id` if `login` may see it: its organiser, a player (past
/// ones too) or, when public, anyone; else `unknown-game`.
fn visible(conn: &Connection, login: i64, id: u64) -> Result<Game, Reason> {
    let key = i64::try_from(id).map_err(|_| unknown(id))?;
    let game = sql::game_by_id(conn, key)
        .map_err(fault("cannot read a competition"))?
        .ok_or_else(|| unknown(id))?;
    if game.organiser == login || game.rules.public {
        return Ok(game);
    }
    let player = sql::player(conn, key, login).map_err(fault("cannot read a player"))?;
    player.map(|_| game).ok_or_else(|| unknown(id))
}

fn state(rules: &GameRules, now: Timestamp) -> GameState {
    GameState::at(rules.start.0, rules.end.0, now.0)
}

fn detail(conn: &Connection, login: i64, game: &Game, now: Timestamp) -> Result<String, Reason> {
    let organiser: String = conn
        .query_row(
            "SELECT username FROM accounts WHERE id = ?1",
            [game.organiser],
            |r| r.get(0),
        )
        .map_err(fault("cannot read an organiser"))?;
    let players = sql::player_count(conn, game.id).map_err(fault("cannot count players"))?;
    let line = GameDetail {
        id: game.id as u64,
        state: state(&game.rules, now),
        organiser: Username::parse(&organiser).map_err(|e| internal("a stored username", e))?,
        players,
        code: game.code.clone().filter(|_| game.organiser == login),
        rules: game.rules.clone(),
    };
    Ok(line.to_line())
}

/// `getGames`: the login's competitions (organised or played in, the
/// newest [`OWN_LISTED`]), then up to [`PUBLIC_LISTED`] public ones not
/// ended that it is not in, soonest end first.
fn list(conn: &Connection, login: i64, now: Timestamp) -> Result<String, Reason> {
    const COLUMNS: &str = "SELECT g.id, g.organiser_id, g.rules,
             (SELECT status FROM accounts p WHERE p.game_id = g.id AND p.owner_id = ?1),
             (SELECT count(*) FROM accounts p WHERE p.game_id = g.id AND p.status = 'open')
         FROM games g";
    let own = format!(
        "{COLUMNS} WHERE g.organiser_id = ?1 OR g.id IN
             (SELECT game_id FROM accounts WHERE owner_id = ?1 AND game_id IS NOT NULL)
         ORDER BY g.id DESC LIMIT {OWN_LISTED}"
    );
    let public = format!(
        "{COLUMNS} WHERE g.public = 1 AND g.end > ?2 AND g.organiser_id != ?1
             AND NOT EXISTS (SELECT 1 FROM accounts p WHERE p.game_id = g.id AND p.owner_id = ?1)
         ORDER BY g.end, g.id LIMIT {PUBLIC_LISTED}"
    );
    let read = |sql: &str, with_now: bool| -> rusqlite::Result<Vec<GameLine>> {
        let mut stmt = conn.prepare_cached(sql)?;
        let args = if with_now {
            params![login, now.0]
        } else {
            params![login]
        };
        let rows = stmt.query_map(args, |r| {
            let rules: String = r.get(2)?;
            let mine: Option<String> = r.get(3)?;
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                rules,
                mine,
                r.get(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, organiser, rules, mine, players) = row?;
            // Stored from parsed rules; a row that no longer parses is
            // left out rather than sent malformed.
            let Ok(rules) = GameRules::parse(&rules) else {
                papertrader_common::error!("competition {id}: stored rules do not parse");
                continue;
            };
            let playing = mine.as_deref().map(PortfolioStatus::parse);
            let role = match (organiser == login, playing) {
                (true, Some(Ok(PortfolioStatus::Open))) => GameRole::Both,
                (true, _) => GameRole::Organiser,
                (false, Some(Ok(PortfolioStatus::Open))) => GameRole::Player,
                (false, Some(Ok(PortfolioStatus::Removed))) => GameRole::Removed,
                (false, Some(_)) => GameRole::Left,
                (false, None) => GameRole::None,
            };
            out.push(GameLine {
                id: id as u64,
                state: state(&rules, now),
                role,
                players,
                start: rules.start.0,
                end: rules.end.0,
                name: rules.name,
            });
        }
        Ok(out)
    };
    let mut lines = read(&own, false).map_err(fault("cannot list competitions"))?;
    lines.reverse();
    lines.extend(read(&public, true).map_err(fault("cannot list competitions"))?);
    Ok(write_lines(&lines))
}

/// `getGameHoldings`: a player's positions, valued, when the rules show
/// them to `login`.
fn holdings(
    conn: &Connection,
    login: i64,
    id: u64,
    username: &Username,
    now: Timestamp,
) -> Result<String, Reason> {
    let game = visible(conn, login, id)?;
    let not_playing = || {
        let text = format!("{username} does not play in competition {id}");
        Reason::new(ReasonCode::UnknownUser, text)
    };
    let who: Option<i64> = conn
        .query_row(
            "SELECT id FROM accounts WHERE username_key = ?1 AND owner_id IS NULL",
            [username.key()],
            |r| r.get(0),
        )
        .optional()
        .map_err(fault("cannot look up a user"))?;
    let player = who
        .map(|who| sql::player(conn, game.id, who))
        .transpose()
        .map_err(fault("cannot read a player"))?
        .flatten()
        .ok_or_else(not_playing)?;
    let own = who == Some(login);
    let shown = match game.rules.holdings {
        Visibility::Always => true,
        Visibility::AfterEnd => now >= game.rules.end,
        Visibility::Never => false,
    };
    if !own && !shown {
        let when = match game.rules.holdings {
            Visibility::AfterEnd => format!(" until the end, {}", game.rules.end.iso()),
            _ => String::new(),
        };
        let text = format!("competition {id} keeps its players' holdings private{when}");
        return Err(Reason::new(ReasonCode::Forbidden, text));
    }
    Ok(write_lines(&super::views::valued(conn, player.id)?))
}

fn last_price(conn: &Connection, symbol: &str) -> Option<Money> {
    let symbol = papertrader_common::value::Symbol::parse(symbol).ok()?;
    store::last_tick(conn, &symbol)
        .ok()
        .flatten()
        .map(|t| t.close)
}

/// The standings of competition `id`: every player still in it, by
/// return at `price_of` (a position without a price counts at its cost),
/// ranked as the leaderboard.
pub fn rank_game(
    conn: &Connection,
    id: i64,
    price_of: &dyn Fn(&str) -> Option<Money>,
) -> Result<String, Reason> {
    let read = || -> rusqlite::Result<Vec<(String, i64, i64)>> {
        let mut held: HashMap<i64, i128> = HashMap::new();
        let mut prices: HashMap<String, Option<Money>> = HashMap::new();
        let mut stmt = conn.prepare_cached(
            "SELECT p.account_id, p.symbol, p.quantity, p.cost FROM positions p
             JOIN accounts a ON a.id = p.account_id
             WHERE a.game_id = ?1 AND a.status = 'open'",
        )?;
        let mut rows = stmt.query([id])?;
        while let Some(row) = rows.next()? {
            let (account, symbol): (i64, String) = (row.get(0)?, row.get(1)?);
            let price = *prices
                .entry(symbol)
                .or_insert_with_key(|symbol| price_of(symbol));
            *held.entry(account).or_default() += position_value(price, row.get(2)?, row.get(3)?);
        }
        let mut stmt = conn.prepare_cached(
            "SELECT id, username, cash, start_cash FROM accounts
             WHERE game_id = ?1 AND status = 'open'",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get(1)?,
                r.get::<_, i64>(2)?,
                r.get(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (account, name, cash, start) = row?;
            let equity = i128::from(cash) + held.get(&account).copied().unwrap_or(0);
            let equity = i64::try_from(equity).unwrap_or(i64::MAX);
            out.push((name, equity, start));
        }
        Ok(out)
    };
    let players = read().map_err(fault("cannot rank a competition"))?;
    let entries = players
        .iter()
        .map(|(name, equity, start)| (percent_return(*equity, *start), name.as_str()))
        .collect();
    standings_payload(top_n(entries, usize::MAX))
}
