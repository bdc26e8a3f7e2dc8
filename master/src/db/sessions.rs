//! SQL of the `sessions` table. Rows are keyed by the SHA-256 of the
//! session id text ([`hash`]); the id itself never reaches the database.
//! Ending a session sets `active = 0` and pulls `expires` back to the end
//! time, so `expires` always says when a session stopped being usable and
//! [`purge`] needs no second column.

use papertrader_common::value::{SessionId, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

/// The table key of a session id.
pub fn hash(id: &SessionId) -> [u8; 32] {
    Sha256::digest(id.as_str().as_bytes()).into()
}

/// A session to insert.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// [`hash`] of the id.
    pub hash: [u8; 32],
    /// `accounts.id` of the owner.
    pub account_id: i64,
    /// Start time.
    pub created: Timestamp,
    /// End of validity.
    pub expires: Timestamp,
    /// The client's `host:port`.
    pub client_addr: &'a str,
    /// Ends when the logging-in connection closes.
    pub expirable: bool,
    /// The worker the login came through.
    pub worker: &'a str,
}

/// One active session as `ptctl sessions` shows it; never the id or its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The username as registered.
    pub username: String,
    /// When the session was made.
    pub created: Timestamp,
    /// When it stops being valid.
    pub expires: Timestamp,
    /// The client's `host:port` as the worker saw it.
    pub client_addr: String,
    /// `true`: ends when the logging-in connection closes.
    pub expirable: bool,
    /// The worker the login came through.
    pub worker: String,
}

/// Inserts an active session.
pub fn insert(conn: &Connection, session: &NewSession<'_>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO sessions
         (hash, account_id, created, expires, client_addr, expirable, active, worker)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)",
    )?
    .execute(params![
        session.hash,
        session.account_id,
        session.created.0,
        session.expires.0,
        session.client_addr,
        session.expirable,
        session.worker
    ])?;
    Ok(())
}

/// A session found active and unexpired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Active {
    /// Its account.
    pub account: i64,
    /// Whether it ends with the client's connection.
    pub expirable: bool,
    /// When it was made (`setPassword` wants a session made lately).
    pub created: Timestamp,
    /// It is an API key's session (protocol 1.2), which may trade and
    /// read but not manage keys or the password.
    pub api_key: bool,
    /// The portfolio it acts on (protocol 1.2): `account` itself unless
    /// it chose another with `usePortfolio`.
    pub book: i64,
}

/// The session if it is active and unexpired at `now`.
pub fn find_active(
    conn: &Connection,
    hash: &[u8; 32],
    now: Timestamp,
) -> rusqlite::Result<Option<Active>> {
    conn.prepare_cached(
        "SELECT account_id, expirable, created, api_key IS NOT NULL,
             COALESCE(portfolio_id, account_id)
         FROM sessions WHERE hash = ?1 AND active = 1 AND expires > ?2",
    )?
    .query_row(params![hash, now.0], |row| {
        Ok(Active {
            account: row.get(0)?,
            expirable: row.get(1)?,
            created: Timestamp(row.get(2)?),
            api_key: row.get(3)?,
            book: row.get(4)?,
        })
    })
    .optional()
}

/// Makes the session act on portfolio `book` (`None`: the login's first).
pub fn use_portfolio(
    conn: &Connection,
    hash: &[u8; 32],
    book: Option<i64>,
) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE sessions SET portfolio_id = ?2 WHERE hash = ?1")?
        .execute(params![hash, book])?;
    Ok(())
}

/// Moves every session acting on portfolio `book` back to its login's
/// first (the portfolio closed).
pub fn leave_portfolio(conn: &Connection, book: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE sessions SET portfolio_id = NULL WHERE portfolio_id = ?1")?
        .execute([book])?;
    Ok(())
}

/// Ends the session if it is active and unexpired; `false` if it was not.
pub fn end(conn: &Connection, hash: &[u8; 32], now: Timestamp) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE sessions SET active = 0, expires = min(expires, ?2)
             WHERE hash = ?1 AND active = 1 AND expires > ?2",
        )?
        .execute(params![hash, now.0])?;
    Ok(changed > 0)
}

/// Ends every active expirable session made through `worker`; returns how
/// many.
pub fn end_expirable_through(
    conn: &Connection,
    worker: &str,
    now: Timestamp,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "UPDATE sessions SET active = 0, expires = min(expires, ?2)
         WHERE worker = ?1 AND expirable = 1 AND active = 1 AND expires > ?2",
    )?
    .execute(params![worker, now.0])
}

/// Every active session unexpired at `now`, oldest first.
pub fn list_active(conn: &Connection, now: Timestamp) -> rusqlite::Result<Vec<SessionRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.username, s.created, s.expires, s.client_addr, s.expirable, s.worker
         FROM sessions s JOIN accounts a ON a.id = s.account_id
         WHERE s.active = 1 AND s.expires > ?1
         ORDER BY s.created, a.username_key",
    )?;
    let rows = stmt.query_map([now.0], |row| {
        Ok(SessionRow {
            username: row.get(0)?,
            created: Timestamp(row.get(1)?),
            expires: Timestamp(row.get(2)?),
            client_addr: row.get(3)?,
            expirable: row.get(4)?,
            worker: row.get(5)?,
        })
    })?;
    rows.collect()
}

/// The `client_addr` of the account's most recent `limit` sessions, live or
/// ended (until [`purge`] deletes them), newest first.
pub fn client_addrs(
    conn: &Connection,
    account_id: i64,
    limit: u32,
) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT client_addr FROM sessions WHERE account_id = ?1
         ORDER BY created DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![account_id, limit], |row| row.get(0))?;
    rows.collect()
}

/// Deletes the sessions that expired or ended before `before`; returns how
/// many.
pub fn purge(conn: &Connection, before: Timestamp) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM sessions WHERE expires < ?1", [before.0])
}
