//! SQL of the `accounts` table: registration and credentials for the
//! auth threads, cash and resets for the trade thread.

use papertrader_common::value::{Money, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

/// An account to insert.
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    /// The name as registered.
    pub username: &'a str,
    /// Its lowercase form, unique.
    pub username_key: &'a str,
    /// Contact address.
    pub email: &'a str,
    /// argon2id PHC string; `None` for a third-party-only account.
    pub pass_hash: Option<&'a str>,
    /// Starting cash (also recorded as what it opened and started with).
    pub cash: Money,
    /// Registration time.
    pub created: Timestamp,
}

/// The account's cash, in 1/10 000 units.
pub fn cash(conn: &Connection, id: i64) -> rusqlite::Result<i64> {
    conn.query_row("SELECT cash FROM accounts WHERE id = ?1", [id], |r| {
        r.get(0)
    })
}

/// Starts the account over with `cash`, from `now` (a reset).
pub fn restart(conn: &Connection, id: i64, cash: Money, now: Timestamp) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE accounts SET cash = ?2, start_cash = ?2, started = ?3 WHERE id = ?1",
        params![id, cash.raw(), now.0],
    )?;
    Ok(())
}

/// Inserts an account and returns its id. A taken `username_key` fails
/// with the UNIQUE constraint (see [`is_unique_violation`]).
pub fn insert(conn: &Connection, account: &NewAccount<'_>) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO accounts (username, username_key, email, pass_hash, cash, created,
             opening_cash, start_cash, started)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5, ?5, ?6)",
    )?
    .execute(params![
        account.username,
        account.username_key,
        account.email,
        account.pass_hash,
        account.cash.raw(),
        account.created.0
    ])?;
    Ok(conn.last_insert_rowid())
}

/// `(id, pass_hash)` of the account whose lowercase name is `username_key`.
pub fn credentials(
    conn: &Connection,
    username_key: &str,
) -> rusqlite::Result<Option<(i64, Option<String>)>> {
    conn.prepare_cached("SELECT id, pass_hash FROM accounts WHERE username_key = ?1")?
        .query_row([username_key], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
}

/// `(username, pass_hash)` of the account with this id.
pub fn by_id(conn: &Connection, id: i64) -> rusqlite::Result<Option<(String, Option<String>)>> {
    conn.prepare_cached("SELECT username, pass_hash FROM accounts WHERE id = ?1")?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
}

/// Sets (or replaces) an account's password; `false` if there is no such
/// account.
pub fn set_password(conn: &Connection, id: i64, phc: &str) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE accounts SET pass_hash = ?2 WHERE id = ?1")?
        .execute(params![id, phc])?;
    Ok(changed > 0)
}

/// The error is a UNIQUE constraint violation (not, say, the cash CHECK).
pub fn is_unique_violation(err: &rusqlite::Error) -> bool {
    err.sqlite_error()
        .is_some_and(|e| e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}
