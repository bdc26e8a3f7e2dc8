//! SQL of the `identities` table: OpenID Connect identities, the pair
//! (issuer, subject), each linked to one account (migration 5).

use papertrader_common::value::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

/// An identity to link.
#[derive(Debug, Clone)]
pub struct NewIdentity<'a> {
    /// The issuer URL, exactly as the token's `iss`.
    pub issuer: &'a str,
    /// The token's `sub`.
    pub subject: &'a str,
    /// The account it signs in.
    pub account_id: i64,
    /// The configured provider name it came through.
    pub provider: &'a str,
    /// When it was linked.
    pub created: Timestamp,
}

/// One linked identity, as `ptctl account` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRow {
    /// The provider name it was linked through.
    pub provider: String,
    /// The issuer URL.
    pub issuer: String,
    /// The subject at that issuer.
    pub subject: String,
    /// When it was linked.
    pub created: Timestamp,
}

/// Links an identity. A pair already linked fails with the PRIMARY KEY's
/// UNIQUE constraint (see [`super::accounts::is_unique_violation`]).
pub fn insert(conn: &Connection, identity: &NewIdentity<'_>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO identities (issuer, subject, account_id, provider, created)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        identity.issuer,
        identity.subject,
        identity.account_id,
        identity.provider,
        identity.created.0
    ])?;
    Ok(())
}

/// The account an identity signs in, if it is linked.
pub fn account_of(conn: &Connection, issuer: &str, subject: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT account_id FROM identities WHERE issuer = ?1 AND subject = ?2")?
        .query_row(params![issuer, subject], |row| row.get(0))
        .optional()
}

/// The identities of an account, oldest first.
pub fn of_account(conn: &Connection, account_id: i64) -> rusqlite::Result<Vec<IdentityRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT provider, issuer, subject, created FROM identities
         WHERE account_id = ?1 ORDER BY created, provider, subject",
    )?;
    let rows = stmt.query_map([account_id], |row| {
        Ok(IdentityRow {
            provider: row.get(0)?,
            issuer: row.get(1)?,
            subject: row.get(2)?,
            created: Timestamp(row.get(3)?),
        })
    })?;
    rows.collect()
}

/// The provider names an account can sign in with, oldest link first.
pub fn providers_of(conn: &Connection, account_id: i64) -> rusqlite::Result<Vec<String>> {
    Ok(of_account(conn, account_id)?
        .into_iter()
        .map(|row| row.provider)
        .collect())
}
