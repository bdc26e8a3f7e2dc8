//! API keys (protocol 1.2): `createApiKey`, `revokeApiKey`, `getApiKeys`
//! for the owner's own sessions, and `loginApiKey`, which answers the
//! session a key works under. A key's secret is checked with one keyed
//! hash ([`Pepper`]), not argon2: it is 256 random bits, and a worker asks
//! about it as often as once a second.

use papertrader_common::payload::KeyLine;
use papertrader_common::value::{
    ApiKeyId, ApiSecret, KeyLabel, Reason, ReasonCode, SessionId, Timestamp, Username,
};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::{Auth, SessionPlace, bad_session, internal};
use crate::db::api_keys::{self, NewKey, Pepper};
use crate::db::sessions;

/// Most keys an account holds at once (revoked ones do not count).
pub const MAX_KEYS: u32 = 20;

const BAD_KEY: &str = "the API key is unknown or revoked, or its secret is wrong";

/// `forbidden` for what only the account's own sign-in may do.
pub fn not_with_a_key(what: &str) -> Reason {
    Reason::new(
        ReasonCode::Forbidden,
        format!("an API key cannot use {what}; sign in with the account itself"),
    )
}

/// The account behind `session` if it is an active session that is not an
/// API key's (`forbidden` for a key's, `bad-session` for none).
pub fn owner_account(
    conn: &Connection,
    session: &SessionId,
    now: Timestamp,
    what: &str,
) -> Result<i64, Reason> {
    let found = sessions::find_active(conn, &sessions::hash(session), now)
        .map_err(|err| internal("cannot look up a session", err))?;
    match found {
        None => Err(bad_session()),
        Some(active) if active.api_key => Err(not_with_a_key(what)),
        Some(active) => Ok(active.account),
    }
}

/// `getApiKeys sessionID`: the account's keys not revoked, oldest first.
pub fn listed(
    conn: &Connection,
    session: &SessionId,
    now: Timestamp,
) -> Result<Vec<KeyLine>, Reason> {
    let account = owner_account(conn, session, now, "getApiKeys")?;
    let book = super::session_viewer(conn, session, now)?.book;
    api_keys::listed(conn, account, book).map_err(|err| internal("cannot list API keys", err))
}

impl Auth {
    fn pepper(&mut self) -> Result<Pepper, Reason> {
        if self.pepper.is_none() {
            let pepper = Pepper::load(&self.conn)
                .map_err(|err| internal("cannot read the API key hash key", err))?;
            self.pepper = Some(pepper);
        }
        Ok(self.pepper.clone().expect("set above"))
    }

    /// `createApiKey sessionID label`: a new key of the session's account,
    /// its id from `id_bytes` and its secret from `secret_bytes`.
    pub fn create_key(
        &mut self,
        session: &SessionId,
        label: &KeyLabel,
        now: Timestamp,
        id_bytes: [u8; 12],
        secret_bytes: [u8; 32],
    ) -> Result<(ApiKeyId, ApiSecret), Reason> {
        let pepper = self.pepper()?;
        let id = ApiKeyId::from_bytes(id_bytes);
        let secret = ApiSecret::from_bytes(secret_bytes);
        let fault = |err| internal("cannot store an API key", err);
        // The count and the insert in one write transaction, so two
        // threads cannot both make the twentieth key.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(fault)?;
        let account = owner_account(&tx, session, now, "createApiKey")?;
        // The key trades in the portfolio the session acts on.
        let portfolio = super::session_viewer(&tx, session, now)?.book;
        if api_keys::live_count(&tx, account).map_err(fault)? >= MAX_KEYS {
            return Err(Reason::new(
                ReasonCode::TooManyKeys,
                format!("an account holds at most {MAX_KEYS} API keys; revoke one first"),
            ));
        }
        let key = NewKey {
            id: &id,
            account,
            portfolio,
            secret_hash: pepper.hash(&secret),
            label,
            created: now,
        };
        api_keys::insert(&tx, &key).map_err(fault)?;
        tx.commit().map_err(fault)?;
        papertrader_common::info!("account {account} made API key {id} ({label})");
        Ok((id, secret))
    }

    /// `revokeApiKey sessionID keyID`: the key stops working at once (its
    /// session ends with it).
    pub fn revoke_key(
        &mut self,
        session: &SessionId,
        id: &ApiKeyId,
        now: Timestamp,
    ) -> Result<(), Reason> {
        let fault = |err| internal("cannot revoke an API key", err);
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(fault)?;
        let account = owner_account(&tx, session, now, "revokeApiKey")?;
        if !api_keys::revoke(&tx, id, account, now).map_err(fault)? {
            return Err(Reason::new(
                ReasonCode::UnknownKey,
                format!("this account has no API key {id} that is not revoked"),
            ));
        }
        tx.commit().map_err(fault)?;
        papertrader_common::info!("account {account} revoked API key {id}");
        Ok(())
    }

    /// `loginApiKey keyID secretKey`: the key's session (the same one each
    /// time, opened again if it ended or expired) and its owner's name.
    /// There is no lockout: a secret cannot be guessed, and a wrong one
    /// must not lock its owner out.
    pub fn login_key(
        &mut self,
        id: &ApiKeyId,
        secret: &ApiSecret,
        place: &SessionPlace<'_>,
        now: Timestamp,
    ) -> Result<(SessionId, Username), Reason> {
        let pepper = self.pepper()?;
        let found = api_keys::find(&self.conn, id)
            .map_err(|err| internal("cannot look up an API key", err))?;
        let refused = || Reason::new(ReasonCode::BadCredentials, BAD_KEY);
        let Some(key) = found.filter(|k| !k.revoked) else {
            // The same work as a known key, so the time does not tell.
            let _ = pepper.hash(secret);
            return Err(refused());
        };
        if !pepper.matches(secret, &key.secret_hash) {
            papertrader_common::info!("wrong secret for API key {id} from {}", place.client_addr);
            return Err(refused());
        }
        let session = pepper.session_of(secret);
        let hash = sessions::hash(&session);
        let active = sessions::find_active(&self.conn, &hash, now)
            .map_err(|err| internal("cannot look up a session", err))?;
        if active.is_none() {
            let ttl = i64::try_from(self.config.session_ttl_long.as_secs()).unwrap_or(i64::MAX);
            let expires = Timestamp(now.0.saturating_add(ttl));
            // The key checked again in the transaction that opens its
            // session: a revoke between the check above and here would
            // otherwise open the session of a revoked key.
            let fault = |err| internal("cannot open an API key's session", err);
            let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
                .map_err(fault)?;
            let still = api_keys::find(&tx, id).map_err(fault)?;
            if still.is_none_or(|k| k.revoked) {
                return Err(refused());
            }
            api_keys::open_session(
                &tx,
                &session,
                id,
                key.account,
                (place.client_addr, place.worker),
                now,
                expires,
            )
            .map_err(fault)?;
            tx.commit().map_err(fault)?;
        }
        let name = self.username_of(super::AccountId(key.account))?;
        let username = Username::parse(&name).map_err(|err| internal("a stored username", err))?;
        Ok((session, username))
    }
}
