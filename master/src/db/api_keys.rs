//! SQL of the `api_keys` table (protocol 1.2) and the keyed hash that is
//! all it keeps of a secret: HMAC-SHA256 under the database's own 32-byte
//! key (`secrets.api_keys`). A key's session id is derived from its secret
//! under the same key ([`session_of`]), so the master can give it again on
//! every `loginApiKey` while storing only its hash, as for any session.

use hmac::{Hmac, Mac};
use papertrader_common::payload::KeyLine;
use papertrader_common::value::{ApiKeyId, ApiSecret, KeyLabel, SessionId, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The key of the keyed hash, made by migration 14.
#[derive(Clone)]
pub struct Pepper([u8; 32]);

impl std::fmt::Debug for Pepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pepper(..)")
    }
}

impl Pepper {
    /// Reads it from the database.
    pub fn load(conn: &Connection) -> rusqlite::Result<Pepper> {
        let bytes: Vec<u8> = conn.query_row(
            "SELECT value FROM secrets WHERE name = 'api_keys'",
            [],
            |row| row.get(0),
        )?;
        let key = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
            rusqlite::Error::InvalidColumnType(0, "value".into(), rusqlite::types::Type::Blob)
        })?;
        Ok(Pepper(key))
    }

    /// A fixed key, for tests.
    pub fn fixed(key: [u8; 32]) -> Pepper {
        Pepper(key)
    }

    fn mac(&self, domain: &[u8], secret: &ApiSecret) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(domain);
        mac.update(secret.as_str().as_bytes());
        mac
    }

    /// What the table keeps of `secret`.
    pub fn hash(&self, secret: &ApiSecret) -> [u8; 32] {
        self.mac(b"secret\0", secret).finalize().into_bytes().into()
    }

    /// Whether `secret` is the one `stored` was made from (in constant
    /// time).
    pub fn matches(&self, secret: &ApiSecret, stored: &[u8]) -> bool {
        self.mac(b"secret\0", secret).verify_slice(stored).is_ok()
    }

    /// The session id a key with this secret works under.
    pub fn session_of(&self, secret: &ApiSecret) -> SessionId {
        let bytes = self.mac(b"session\0", secret).finalize().into_bytes();
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[..16]);
        SessionId::from_bytes(id)
    }
}

/// A key as `loginApiKey` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The owner.
    pub account: i64,
    /// The keyed hash of its secret.
    pub secret_hash: Vec<u8>,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// A new key.
pub struct NewKey<'a> {
    /// Its id.
    pub id: &'a ApiKeyId,
    /// The owner.
    pub account: i64,
    /// The portfolio it trades in (protocol 1.2): `account` itself or
    /// another of the owner's.
    pub portfolio: i64,
    /// [`Pepper::hash`] of its secret.
    pub secret_hash: [u8; 32],
    /// The owner's name for it.
    pub label: &'a KeyLabel,
    /// When.
    pub created: Timestamp,
}

/// Inserts a key.
pub fn insert(conn: &Connection, key: &NewKey<'_>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO api_keys (id, account_id, secret_hash, label, created, portfolio_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        key.id.as_str(),
        key.account,
        key.secret_hash,
        key.label.as_str(),
        key.created.0,
        (key.portfolio != key.account).then_some(key.portfolio)
    ])?;
    Ok(())
}

/// How many keys of the account are not revoked.
pub fn live_count(conn: &Connection, account: i64) -> rusqlite::Result<u32> {
    conn.prepare_cached("SELECT count(*) FROM api_keys WHERE account_id = ?1 AND revoked IS NULL")?
        .query_row([account], |row| row.get(0))
}

/// The key `id`, revoked or not.
pub fn find(conn: &Connection, id: &ApiKeyId) -> rusqlite::Result<Option<Found>> {
    conn.prepare_cached(
        "SELECT account_id, secret_hash, revoked IS NOT NULL FROM api_keys WHERE id = ?1",
    )?
    .query_row([id.as_str()], |row| {
        Ok(Found {
            account: row.get(0)?,
            secret_hash: row.get(1)?,
            revoked: row.get(2)?,
        })
    })
    .optional()
}

/// Revokes the account's key `id` and ends its session; `false` if the
/// account has no such key not yet revoked.
pub fn revoke(
    conn: &Connection,
    id: &ApiKeyId,
    account: i64,
    now: Timestamp,
) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE api_keys SET revoked = ?3
             WHERE id = ?1 AND account_id = ?2 AND revoked IS NULL",
        )?
        .execute(params![id.as_str(), account, now.0])?;
    if changed > 0 {
        conn.prepare_cached(
            "UPDATE sessions SET active = 0, expires = min(expires, ?2)
             WHERE api_key = ?1 AND active = 1",
        )?
        .execute(params![id.as_str(), now.0])?;
    }
    Ok(changed > 0)
}

/// The keys of portfolio `portfolio` of account `account` not revoked,
/// oldest first.
pub fn listed(conn: &Connection, account: i64, portfolio: i64) -> rusqlite::Result<Vec<KeyLine>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, created, label FROM api_keys
         WHERE account_id = ?1 AND revoked IS NULL AND COALESCE(portfolio_id, account_id) = ?2
         ORDER BY created, rowid",
    )?;
    let rows = stmt.query_map([account, portfolio], |row| {
        let id: String = row.get(0)?;
        let label: String = row.get(2)?;
        Ok((id, Timestamp(row.get(1)?), label))
    })?;
    let mut lines = Vec::new();
    for row in rows {
        let (id, created, label) = row?;
        // Written by `insert` from parsed values; a row that no longer
        // parses is skipped rather than sent malformed.
        if let (Ok(id), Ok(label)) = (ApiKeyId::parse(&id), KeyLabel::parse(&label)) {
            lines.push(KeyLine { id, created, label });
        }
    }
    Ok(lines)
}

/// Makes the key's session active until `expires` (inserting it the first
/// time), through `worker` for `client_addr`.
pub fn open_session(
    conn: &Connection,
    session: &SessionId,
    key: &ApiKeyId,
    account: i64,
    place: (&str, &str),
    now: Timestamp,
    expires: Timestamp,
) -> rusqlite::Result<()> {
    let (client_addr, worker) = place;
    conn.prepare_cached(
        "INSERT INTO sessions (hash, account_id, created, expires, client_addr, expirable,
             active, worker, api_key, portfolio_id)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, 1, ?6, ?7,
             (SELECT portfolio_id FROM api_keys WHERE id = ?7))
         ON CONFLICT (hash) DO UPDATE SET active = 1, expires = excluded.expires,
             client_addr = excluded.client_addr, worker = excluded.worker,
             portfolio_id = excluded.portfolio_id
         WHERE active = 0 OR sessions.expires <= ?3",
    )?
    .execute(params![
        super::sessions::hash(session),
        account,
        now.0,
        expires.0,
        client_addr,
        worker,
        key.as_str()
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_keyed_and_checked() {
        let secret = ApiSecret::from_bytes([5; 32]);
        let (a, b) = (Pepper::fixed([1; 32]), Pepper::fixed([2; 32]));
        assert_ne!(a.hash(&secret), b.hash(&secret));
        assert!(a.matches(&secret, &a.hash(&secret)));
        assert!(!b.matches(&secret, &a.hash(&secret)));
        assert!(!a.matches(&ApiSecret::from_bytes([6; 32]), &a.hash(&secret)));
        assert!(!a.matches(&secret, &a.hash(&secret)[..31]));
        assert_eq!(a.session_of(&secret), a.session_of(&secret));
        assert_ne!(a.session_of(&secret), b.session_of(&secret));
        let session = a.session_of(&secret);
        assert!(!secret.as_str().contains(session.as_str()));
    }
}
