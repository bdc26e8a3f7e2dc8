//! SQL of portfolios (the `accounts` rows beyond a login's own) and of
//! competitions (`games`), protocol 1.2. The trade thread is the only
//! writer of both; the data threads read them.

use papertrader_common::payload::PortfolioStatus;
use papertrader_common::value::{GameRules, Money, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

/// One portfolio of a login, as `getPortfolios` and the commands see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Portfolio {
    /// Its `accounts.id`.
    pub id: i64,
    /// The login's number for it (1: the login's own row).
    pub no: i64,
    /// Its name.
    pub name: String,
    /// Open, closed or removed.
    pub status: PortfolioStatus,
    /// The competition it plays in.
    pub game: Option<i64>,
    /// Its cash.
    pub cash: i64,
    /// What it started (or was last reset) with.
    pub start_cash: i64,
}

const PORTFOLIO_COLUMNS: &str =
    "id, portfolio_no, portfolio_name, status, game_id, cash, start_cash FROM accounts";

fn portfolio(row: &rusqlite::Row<'_>) -> rusqlite::Result<Portfolio> {
    let status: String = row.get(3)?;
    Ok(Portfolio {
        id: row.get(0)?,
        no: row.get(1)?,
        name: row.get(2)?,
        // Written only from the parsed word (and the CHECK constraint).
        status: PortfolioStatus::parse(&status).unwrap_or(PortfolioStatus::Closed),
        game: row.get(4)?,
        cash: row.get(5)?,
        start_cash: row.get(6)?,
    })
}

/// Every portfolio of login `login`, by number.
pub fn of_login(conn: &Connection, login: i64) -> rusqlite::Result<Vec<Portfolio>> {
    let sql =
        format!("SELECT {PORTFOLIO_COLUMNS} WHERE id = ?1 OR owner_id = ?1 ORDER BY portfolio_no");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([login], portfolio)?;
    rows.collect()
}

/// Login `login`'s portfolio number `no`.
pub fn by_no(conn: &Connection, login: i64, no: u64) -> rusqlite::Result<Option<Portfolio>> {
    let sql = format!(
        "SELECT {PORTFOLIO_COLUMNS}
         WHERE (id = ?1 AND ?2 = 1) OR (owner_id = ?1 AND portfolio_no = ?2)"
    );
    let no = i64::try_from(no).unwrap_or(i64::MAX);
    conn.prepare_cached(&sql)?
        .query_row(params![login, no], portfolio)
        .optional()
}

/// Portfolio `id` (any login's).
pub fn by_id(conn: &Connection, id: i64) -> rusqlite::Result<Option<Portfolio>> {
    let sql = format!("SELECT {PORTFOLIO_COLUMNS} WHERE id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([id], portfolio)
        .optional()
}

/// A portfolio to make.
pub struct NewPortfolio<'a> {
    /// The login.
    pub login: i64,
    /// Its name.
    pub name: &'a str,
    /// Its starting cash.
    pub cash: Money,
    /// The competition it plays in.
    pub game: Option<i64>,
    /// When.
    pub now: Timestamp,
}

/// Inserts a portfolio of `new.login` under the next number; returns its
/// id and number. The row copies the login's username and email.
pub fn insert(conn: &Connection, new: &NewPortfolio<'_>) -> rusqlite::Result<(i64, i64)> {
    let no: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(MAX(portfolio_no), 1) + 1 FROM accounts WHERE owner_id = ?1",
        )?
        .query_row([new.login], |r| r.get(0))?;
    conn.prepare_cached(
        "INSERT INTO accounts (username, username_key, email, pass_hash, cash, created,
             opening_cash, start_cash, started, owner_id, portfolio_no, portfolio_name, game_id)
         SELECT username, '#' || id || '.' || ?2, email, NULL, ?3, ?4, ?3, ?3, ?4, id, ?2, ?5, ?6
         FROM accounts WHERE id = ?1",
    )?
    .execute(params![
        new.login,
        no,
        new.cash.raw(),
        new.now.0,
        new.name,
        new.game
    ])?;
    Ok((conn.last_insert_rowid(), no))
}

/// Renames portfolio `id`.
pub fn rename(conn: &Connection, id: i64, name: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE accounts SET portfolio_name = ?2 WHERE id = ?1")?
        .execute(params![id, name])?;
    Ok(())
}

/// Sets portfolio `id`'s status.
pub fn set_status(conn: &Connection, id: i64, status: PortfolioStatus) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE accounts SET status = ?2 WHERE id = ?1")?
        .execute(params![id, status.as_str()])?;
    Ok(())
}

/// Revokes every API key of portfolio `id` and ends their sessions.
pub fn revoke_keys(conn: &Connection, id: i64, now: Timestamp) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE sessions SET active = 0, expires = min(expires, ?2)
         WHERE active = 1 AND api_key IN
             (SELECT id FROM api_keys WHERE portfolio_id = ?1 AND revoked IS NULL)",
    )?
    .execute(params![id, now.0])?;
    conn.prepare_cached(
        "UPDATE api_keys SET revoked = ?2 WHERE portfolio_id = ?1 AND revoked IS NULL",
    )?
    .execute(params![id, now.0])?;
    Ok(())
}

/// How many open portfolios login `login` has, its own included.
pub fn open_count(conn: &Connection, login: i64) -> rusqlite::Result<u32> {
    conn.prepare_cached(
        "SELECT count(*) FROM accounts WHERE (id = ?1 OR owner_id = ?1) AND status = 'open'",
    )?
    .query_row([login], |r| r.get(0))
}

/// How many portfolios login `login` has made, closed ones included (its
/// own not counted).
pub fn made_count(conn: &Connection, login: i64) -> rusqlite::Result<u32> {
    conn.prepare_cached("SELECT count(*) FROM accounts WHERE owner_id = ?1")?
        .query_row([login], |r| r.get(0))
}

/// How many competitions login `organiser` has organised in all.
pub fn organised_count(conn: &Connection, organiser: i64) -> rusqlite::Result<u32> {
    conn.prepare_cached("SELECT count(*) FROM games WHERE organiser_id = ?1")?
        .query_row([organiser], |r| r.get(0))
}

/// Whether an open portfolio of login `login` other than `except` is
/// called `name`.
pub fn name_taken(
    conn: &Connection,
    login: i64,
    name: &str,
    except: Option<i64>,
) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE (id = ?1 OR owner_id = ?1)
             AND status = 'open' AND portfolio_name = ?2 AND id IS NOT ?3)",
    )?
    .query_row(params![login, name, except], |r| r.get(0))
}

/// A competition as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Game {
    /// Its number.
    pub id: i64,
    /// The organising login.
    pub organiser: i64,
    /// Its rules.
    pub rules: GameRules,
    /// Its invitation code.
    pub code: Option<String>,
    /// The standings frozen at its end.
    pub standings: Option<String>,
}

const GAME_COLUMNS: &str = "id, organiser_id, rules, code, standings FROM games";

fn game(row: &rusqlite::Row<'_>) -> rusqlite::Result<Game> {
    let text: String = row.get(2)?;
    let rules = GameRules::parse(&text).map_err(|reason| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("stored rules do not parse: {reason}").into(),
        )
    })?;
    Ok(Game {
        id: row.get(0)?,
        organiser: row.get(1)?,
        rules,
        code: row.get(3)?,
        standings: row.get(4)?,
    })
}

/// Competition `id`.
pub fn game_by_id(conn: &Connection, id: i64) -> rusqlite::Result<Option<Game>> {
    let sql = format!("SELECT {GAME_COLUMNS} WHERE id = ?1");
    conn.prepare_cached(&sql)?.query_row([id], game).optional()
}

/// The competition whose invitation code is `code`.
pub fn game_by_code(conn: &Connection, code: &str) -> rusqlite::Result<Option<Game>> {
    let sql = format!("SELECT {GAME_COLUMNS} WHERE code = ?1");
    conn.prepare_cached(&sql)?
        .query_row([code], game)
        .optional()
}

/// Inserts a competition; returns its number.
pub fn insert_game(
    conn: &Connection,
    organiser: i64,
    rules: &GameRules,
    code: &str,
    now: Timestamp,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO games (organiser_id, rules, code, public, start, end, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        organiser,
        rules.to_string(),
        code,
        rules.public,
        rules.start.0,
        rules.end.0,
        now.0
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Replaces competition `id`'s rules.
pub fn set_rules(conn: &Connection, id: i64, rules: &GameRules) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE games SET rules = ?2, public = ?3, start = ?4, end = ?5 WHERE id = ?1",
    )?
    .execute(params![
        id,
        rules.to_string(),
        rules.public,
        rules.start.0,
        rules.end.0
    ])?;
    Ok(())
}

/// Gives competition `id` a new invitation code.
pub fn set_code(conn: &Connection, id: i64, code: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE games SET code = ?2 WHERE id = ?1")?
        .execute(params![id, code])?;
    Ok(())
}

/// How many competitions login `organiser` runs that end after `now`.
pub fn running_count(conn: &Connection, organiser: i64, now: Timestamp) -> rusqlite::Result<u32> {
    conn.prepare_cached("SELECT count(*) FROM games WHERE organiser_id = ?1 AND end > ?2")?
        .query_row(params![organiser, now.0], |r| r.get(0))
}

/// Competition `game`'s portfolio of login `login`, whatever its status.
pub fn player(conn: &Connection, game: i64, login: i64) -> rusqlite::Result<Option<Portfolio>> {
    let sql = format!("SELECT {PORTFOLIO_COLUMNS} WHERE game_id = ?1 AND owner_id = ?2");
    conn.prepare_cached(&sql)?
        .query_row(params![game, login], portfolio)
        .optional()
}

/// How many players of competition `game` are still in it (open).
pub fn player_count(conn: &Connection, game: i64) -> rusqlite::Result<u64> {
    conn.prepare_cached("SELECT count(*) FROM accounts WHERE game_id = ?1 AND status = 'open'")?
        .query_row([game], |r| r.get(0))
}

/// Gives every open portfolio of competition `game` that has not traded
/// the starting cash `cash` (its rules changed before the start).
pub fn restart_players(conn: &Connection, game: i64, cash: Money) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE accounts SET cash = ?2, opening_cash = ?2, start_cash = ?2
         WHERE game_id = ?1 AND NOT EXISTS
             (SELECT 1 FROM transactions t WHERE t.account_id = accounts.id)",
    )?
    .execute(params![game, cash.raw()])?;
    Ok(())
}

/// Stores competition `game`'s final standings, once.
pub fn freeze(conn: &Connection, game: i64, standings: &str) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE games SET standings = ?2 WHERE id = ?1 AND standings IS NULL")?
        .execute(params![game, standings])?;
    Ok(changed > 0)
}

/// `(account id, game id)` of every open portfolio of a competition whose
/// standings are not frozen yet (running, waiting, or ended while the
/// master was down): what the trade thread keeps in memory.
pub fn live_players(conn: &Connection) -> rusqlite::Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.id, a.game_id FROM games g JOIN accounts a ON a.game_id = g.id
         WHERE g.standings IS NULL AND a.status = 'open'",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}
