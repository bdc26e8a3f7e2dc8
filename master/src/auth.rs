//! Accounts and sessions: `register`, `login` (argon2id), `loginSession`,
//! `logout`, the third-party instructions (`loginExternal`,
//! `registerExternal`, `setPassword`, with [`crate::oidc`]), and the
//! session checks later instructions rely on.
//!
//! Runs on the "auth" pool threads: each owns one [`Auth`] with its own
//! rusqlite `Connection` to the database and its own argon2 memory (a
//! [`Hasher`]), and all share one [`RateLimiter`]. argon2id is deliberately
//! slow, which is why none of this runs on the event loop. Randomness (salts, session ids) and the clocks are
//! passed in, so tests can fix them. The SQL lives in [`crate::db`]; a
//! session id is stored only as its SHA-256 ([`sessions::hash`]).

use std::fmt::Display;
use std::sync::Arc;
use std::time::{Duration, Instant};

use papertrader_common::value::{
    Email, HashedPass, IdToken, Money, Provider, Reason, ReasonCode, ResetProof, SessionId,
    Timestamp, Username,
};
use parking_lot::Mutex;
use rusqlite::Connection;

use crate::db::accounts::{self, NewAccount};
use crate::db::identities::{self, NewIdentity};
use crate::db::sessions::{self, NewSession};
use crate::oidc::{FRESH_SECS, Identity, Oidc, OidcConfig};
use crate::password::Hasher;
use crate::ratelimit::{self, LoginKeys, Net, RateLimiter, Verdict};

pub use crate::db::sessions::SessionRow;

/// The one answer to every failed password check, so that it does not tell
/// unknown users, password-less accounts and wrong passwords apart.
const BAD_CREDENTIALS: &str = "username or password is wrong";
const BAD_SESSION: &str = "the session is unknown, expired or logged out";
const INTERNAL: &str = "the server could not complete the request; nothing was changed";

/// Sessions of an account read when deciding whether it has logged in from
/// an address before (bounds the work for an account with many sessions).
const KNOWN_SESSIONS: u32 = 1000;

/// How long an ended or expired session row is kept (for `ptctl` and
/// forensics) before [`Auth::purge_expired`] deletes it.
const PURGE_AFTER_SECS: i64 = 86_400;

/// Settings of account creation, sessions and password hashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// Cash a new account starts with.
    pub starting_cash: Money,
    /// Lifetime of an expirable session (`isExpirable` `true`).
    pub session_ttl_short: Duration,
    /// Lifetime of a remembered session (`isExpirable` `false`).
    pub session_ttl_long: Duration,
    /// argon2id memory cost in KiB.
    pub argon2_memory_kib: u32,
    /// argon2id time cost (passes).
    pub argon2_iterations: u32,
    /// argon2id parallelism.
    pub argon2_lanes: u32,
    /// Third-party sign-in: providers and key handling.
    pub oidc: OidcConfig,
}

impl Default for AuthConfig {
    /// 100000.0000 cash, 24 h and 30 day sessions, and the OWASP argon2id
    /// minimum (19 MiB, 2 passes, 1 lane).
    fn default() -> AuthConfig {
        AuthConfig {
            starting_cash: Money(1_000_000_000),
            session_ttl_short: Duration::from_secs(24 * 3600),
            session_ttl_long: Duration::from_secs(30 * 24 * 3600),
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_lanes: 1,
            oidc: OidcConfig::default(),
        }
    }
}

/// The clocks of one request: wall time for the rows it writes, and the
/// monotonic time the rate limiter counts in.
#[derive(Debug, Clone, Copy)]
pub struct Clocks {
    /// Wall time.
    pub now: Timestamp,
    /// The rate limiter's clock.
    pub mono: Instant,
}

/// The `accounts.id` of a logged-in user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub i64);

/// One auth thread's handle on accounts and sessions.
pub struct Auth {
    conn: Connection,
    config: Arc<AuthConfig>,
    limiter: Arc<Mutex<RateLimiter>>,
    /// This thread's argon2 memory, reused by every hash it makes.
    hasher: Hasher,
    /// The key of API key hashes, read from the database when first
    /// needed.
    pepper: Option<crate::db::api_keys::Pepper>,
    /// The ID token checker; `None`: every provider is unknown.
    oidc: Option<Arc<Oidc>>,
}

impl Auth {
    /// Wraps a connection from [`crate::db::open`]; `Err` if `config`'s
    /// argon2 parameters are out of argon2's range.
    pub fn new(
        conn: Connection,
        config: Arc<AuthConfig>,
        limiter: Arc<Mutex<RateLimiter>>,
    ) -> Result<Auth, argon2::Error> {
        let hasher = Hasher::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.argon2_lanes,
        )?;
        Ok(Auth {
            conn,
            config,
            limiter,
            hasher,
            pepper: None,
            oidc: None,
        })
    }

    /// The same, checking ID tokens with `oidc`.
    pub fn with_oidc(mut self, oidc: Arc<Oidc>) -> Auth {
        self.oidc = Some(oidc);
        self
    }

    /// This thread's connection, for the requests the pool answers beside
    /// accounts and sessions (watchlists, `crate::watchlist`).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// `register username email hashedPass` from `client_addr`: a new
    /// account with the starting cash and the argon2id hash of
    /// `hashed_pass` under `salt`. Every registration counts against the
    /// address's hourly `register_limit`, checked before anything else.
    pub fn register(
        &mut self,
        username: &Username,
        email: &Email,
        pass: &HashedPass,
        client_addr: &str,
        salt: [u8; 16],
        at: Clocks,
    ) -> Result<(), Reason> {
        self.count_registration(username, client_addr, at.mono)?;
        let key = username.key();
        // Checked first so a taken name costs no argon2 time; the UNIQUE
        // constraint still decides when two registrations race.
        let existing = accounts::credentials(&self.conn, &key)
            .map_err(|err| internal("cannot look up an account", err))?;
        if existing.is_some() {
            return Err(taken(username));
        }
        let phc = self
            .hasher
            .hash(pass.as_str().as_bytes(), &salt)
            .map_err(|err| internal("argon2id hashing failed", err))?;
        let account = NewAccount {
            username: username.as_str(),
            username_key: &key,
            email: email.as_str(),
            pass_hash: Some(&phc),
            cash: self.config.starting_cash,
            created: at.now,
        };
        match accounts::insert(&self.conn, &account) {
            Ok(_) => {
                papertrader_common::info!("registered account {username}");
                Ok(())
            }
            Err(err) if accounts::is_unique_violation(&err) => Err(taken(username)),
            Err(err) => Err(internal("cannot insert a new account", err)),
        }
    }

    /// `login username hashedPass isExpirable` from `client_addr`
    /// (`host:port`) through `worker`; the new session id is made from
    /// `session_bytes`.
    pub fn login(
        &mut self,
        username: &Username,
        pass: &HashedPass,
        place: &SessionPlace<'_>,
        at: Clocks,
        session_bytes: [u8; 16],
    ) -> Result<SessionId, Reason> {
        let (client_addr, worker) = (place.client_addr, place.worker);
        let keys = LoginKeys::new(username, client_addr);
        self.check_rate(username, &keys, at.mono)?;
        self.refuse_if_passwordless(username)?;

        let Some(account) = self.check_password(username, pass)? else {
            let locks = self.limiter.lock().login_failed(&keys, at.mono);
            papertrader_common::info!("failed login for {username} from {client_addr}");
            self.log_new_locks(username, &keys, locks);
            return Err(Reason::new(ReasonCode::BadCredentials, BAD_CREDENTIALS));
        };
        let id = self.new_session(account, place, at.now, session_bytes)?;
        self.limiter.lock().login_succeeded(&keys, at.mono);
        papertrader_common::info!("{username} logged in from {client_addr} through {worker}");
        Ok(id)
    }

    /// Inserts a session of `account` made through `place` at `now`.
    fn new_session(
        &mut self,
        account: AccountId,
        place: &SessionPlace<'_>,
        now: Timestamp,
        session_bytes: [u8; 16],
    ) -> Result<SessionId, Reason> {
        let id = SessionId::from_bytes(session_bytes);
        let ttl = match place.expirable {
            true => self.config.session_ttl_short,
            false => self.config.session_ttl_long,
        };
        let ttl_secs = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let session = NewSession {
            hash: sessions::hash(&id),
            account_id: account.0,
            created: now,
            expires: Timestamp(now.0.saturating_add(ttl_secs)),
            client_addr: place.client_addr,
            expirable: place.expirable,
            worker: place.worker,
        };
        sessions::insert(&self.conn, &session)
            .map_err(|err| internal("cannot insert a session", err))?;
        Ok(id)
    }

    /// `no-password` naming the providers, when `username` is an account
    /// without a password: the spec wants such an account recognised, so
    /// this tells it apart from a wrong password on purpose.
    fn refuse_if_passwordless(&self, username: &Username) -> Result<(), Reason> {
        let found = accounts::credentials(&self.conn, &username.key())
            .map_err(|err| internal("cannot look up an account", err))?;
        let Some((id, None)) = found else {
            return Ok(());
        };
        let providers = identities::providers_of(&self.conn, id)
            .map_err(|err| internal("cannot read an account's identities", err))?;
        if providers.is_empty() {
            return Ok(());
        }
        Err(no_password(username.as_str(), &providers))
    }

    /// `loginSession sessionID`: the same id back while the session is
    /// active and unexpired.
    pub fn login_session(&mut self, id: &SessionId, now: Timestamp) -> Result<SessionId, Reason> {
        self.validate(id, now)?;
        Ok(id.clone())
    }

    /// `logout sessionID`: ends the session.
    pub fn logout(&mut self, id: &SessionId, now: Timestamp) -> Result<(), Reason> {
        let hash = sessions::hash(id);
        let ended = sessions::end(&self.conn, &hash, now)
            .map_err(|err| internal("cannot end a session", err))?;
        if !ended {
            return Err(bad_session());
        }
        Ok(())
    }

    /// The worker's connection that made this session closed: an expirable
    /// session ends, a remembered one is left alone. An unknown, expired or
    /// already ended session answers `bad-session` (there is nothing to end).
    pub fn session_closed(&mut self, id: &SessionId, now: Timestamp) -> Result<(), Reason> {
        let hash = sessions::hash(id);
        let found = sessions::find_active(&self.conn, &hash, now)
            .map_err(|err| internal("cannot look up a session", err))?;
        match found.map(|a| a.expirable) {
            None => Err(bad_session()),
            Some(false) => Ok(()),
            Some(true) => {
                sessions::end(&self.conn, &hash, now)
                    .map_err(|err| internal("cannot end a session", err))?;
                Ok(())
            }
        }
    }

    /// The link of `worker` was lost and did not come back: its expirable
    /// sessions end, since no `sessionClosed` will come for them. Returns
    /// how many ended.
    pub fn worker_lost(&mut self, worker: &str, now: Timestamp) -> Result<usize, Reason> {
        sessions::end_expirable_through(&self.conn, worker, now)
            .map_err(|err| internal("cannot end a lost worker's sessions", err))
    }

    /// `setPassword sessionID hashedPass`: gives the session's account a
    /// (new) password. Only a session made in the last
    /// [`FRESH_SECS`] seconds may: an old stolen session cannot take the
    /// account over.
    pub fn set_password(
        &mut self,
        session: &SessionId,
        pass: &HashedPass,
        salt: [u8; 16],
        now: Timestamp,
    ) -> Result<(), Reason> {
        let hash = sessions::hash(session);
        let found = sessions::find_active(&self.conn, &hash, now)
            .map_err(|err| internal("cannot look up a session", err))?;
        let Some(sessions::Active {
            account,
            created,
            api_key,
            ..
        }) = found
        else {
            return Err(bad_session());
        };
        if api_key {
            return Err(keys::not_with_a_key("setPassword"));
        }
        if created.0 < now.0.saturating_sub(FRESH_SECS) {
            return Err(Reason::new(
                ReasonCode::Forbidden,
                "setPassword needs a session made in the last 10 minutes; sign in again first",
            ));
        }
        let phc = self
            .hasher
            .hash(pass.as_str().as_bytes(), &salt)
            .map_err(|err| internal("argon2id hashing failed", err))?;
        let changed = accounts::set_password(&self.conn, account, &phc)
            .map_err(|err| internal("cannot store a password", err))?;
        if !changed {
            return Err(bad_session());
        }
        let name = self.username_of(AccountId(account))?;
        papertrader_common::info!("{name} set a password");
        Ok(())
    }

    /// resetAccount's check: the account behind `session` if `proof` is
    /// its password, or, for an account without one, a fresh ID token of
    /// an identity linked to it. A wrong proof counts as a failed login of
    /// the account from `client_addr`, under the same rate limits.
    pub fn confirm_reset(
        &mut self,
        session: &SessionId,
        proof: &ResetProof,
        client_addr: &str,
        at: Clocks,
    ) -> Result<AccountId, Reason> {
        // Not with an API key: its holder's wrong guesses would count
        // against the owner's logins.
        let account = AccountId(keys::owner_account(
            &self.conn,
            session,
            at.now,
            "resetAccount",
        )?);
        let found = accounts::by_id(&self.conn, account.0)
            .map_err(|err| internal("cannot look up an account", err))?;
        let Some((name, phc)) = found else {
            return Err(bad_session());
        };
        let providers = identities::providers_of(&self.conn, account.0)
            .map_err(|err| internal("cannot read an account's identities", err))?;
        match (proof, phc) {
            (ResetProof::Pass(pass), Some(_)) => {
                self.confirm_password(session, pass, client_addr, at)
            }
            (ResetProof::Pass(_), None) => Err(no_password(&name, &providers)),
            (ResetProof::Token(_), Some(_)) => Err(Reason::new(
                ReasonCode::BadCredentials,
                "this account has a password: resetAccount takes the password",
            )),
            (ResetProof::Token(token), None) => {
                let username = Username::parse(&name)
                    .map_err(|err| internal("a stored username is malformed", err))?;
                self.confirm_token(account, &username, &providers, token, client_addr, at)
            }
        }
    }

    fn username_of(&self, account: AccountId) -> Result<String, Reason> {
        let found = accounts::by_id(&self.conn, account.0)
            .map_err(|err| internal("cannot look up an account", err))?;
        found
            .map(|(name, _)| name)
            .ok_or_else(|| internal("an account vanished", account.0))
    }

    /// Counts a registration from `client_addr` against `register_limit`.
    fn count_registration(
        &mut self,
        username: &Username,
        client_addr: &str,
        mono: Instant,
    ) -> Result<(), Reason> {
        let net = Net::of(client_addr);
        let allowed = self.limiter.lock().register_attempt(&net, mono);
        match allowed {
            Ok(false) => Ok(()),
            Ok(true) => {
                papertrader_common::warn!(
                    "{net}: registration limit reached; it may register again in an hour"
                );
                Ok(())
            }
            Err(left) => {
                papertrader_common::debug!("registration of {username} from {client_addr} refused");
                Err(Reason::new(
                    ReasonCode::RateLimited,
                    format!(
                        "too many registrations from this address; try again in {} s",
                        whole_secs(left)
                    ),
                ))
            }
        }
    }

    /// resetAccount's check: the account behind `session` if `pass` is
    /// its password. A wrong password counts as a failed login of that
    /// account from `client_addr`, under the same rate limits, so a stolen
    /// session cannot be used to guess the password.
    pub fn confirm_password(
        &mut self,
        session: &SessionId,
        pass: &HashedPass,
        client_addr: &str,
        at: Clocks,
    ) -> Result<AccountId, Reason> {
        let account = self.validate(session, at.now)?;
        let name = self.username_of(account)?;
        let username = Username::parse(&name)
            .map_err(|err| internal("a stored username is malformed", err))?;
        let keys = LoginKeys::new(&username, client_addr);
        self.check_rate(&username, &keys, at.mono)?;
        match self.check_password(&username, pass)? {
            Some(found) if found == account => {
                self.limiter.lock().login_succeeded(&keys, at.mono);
                Ok(account)
            }
            _ => {
                let locks = self.limiter.lock().login_failed(&keys, at.mono);
                papertrader_common::info!(
                    "wrong password for a reset of {username} from {client_addr}"
                );
                self.log_new_locks(&username, &keys, locks);
                Err(Reason::new(
                    ReasonCode::BadCredentials,
                    "the password is wrong",
                ))
            }
        }
    }

    /// The login and portfolio of an active, unexpired session.
    pub fn viewer(&self, id: &SessionId, now: Timestamp) -> Result<Viewer, Reason> {
        session_viewer(&self.conn, id, now)
    }

    /// The account behind an active, unexpired session.
    pub fn validate(&self, id: &SessionId, now: Timestamp) -> Result<AccountId, Reason> {
        session_account(&self.conn, id, now)
    }

    /// Every active, unexpired session, oldest first.
    pub fn sessions(&self, now: Timestamp) -> Result<Vec<SessionRow>, Reason> {
        sessions::list_active(&self.conn, now).map_err(|err| internal("cannot list sessions", err))
    }

    /// Deletes session rows that expired or ended more than a day ago;
    /// returns how many.
    pub fn purge_expired(&mut self, now: Timestamp) -> Result<usize, Reason> {
        let before = Timestamp(now.0.saturating_sub(PURGE_AFTER_SECS));
        sessions::purge(&self.conn, before)
            .map_err(|err| internal("cannot purge old sessions", err))
    }

    /// The account if `pass` is its password. An unknown user or an account
    /// without a password still costs one argon2 hash, so the answer time
    /// does not reveal which usernames exist.
    fn check_password(
        &mut self,
        username: &Username,
        pass: &HashedPass,
    ) -> Result<Option<AccountId>, Reason> {
        let found = accounts::credentials(&self.conn, &username.key())
            .map_err(|err| internal("cannot look up an account", err))?;
        let Some((id, Some(phc))) = found else {
            let _ = self.hasher.hash(pass.as_str().as_bytes(), &[0; 16]);
            return Ok(None);
        };
        match self.hasher.verify(pass.as_str().as_bytes(), &phc) {
            Ok(true) => Ok(Some(AccountId(id))),
            Ok(false) => Ok(None),
            Err(err) => Err(internal(
                &format!("cannot verify the password of account {id}"),
                err,
            )),
        }
    }
}

/// The account of an active, unexpired session, on any connection: the
/// trade and data threads check sessions with their own.
pub fn session_account(
    conn: &Connection,
    id: &SessionId,
    now: Timestamp,
) -> Result<AccountId, Reason> {
    let hash = sessions::hash(id);
    let found = sessions::find_active(conn, &hash, now)
        .map_err(|err| internal("cannot look up a session", err))?;
    found.map(|a| AccountId(a.account)).ok_or_else(bad_session)
}

/// Who an active session is (protocol 1.2): the login, and the portfolio
/// it acts on. Trading and a person's own views take `book`; the login's
/// own business (password, keys, watchlist, portfolios) takes `login`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    /// The login's account id (its first portfolio).
    pub login: i64,
    /// The portfolio the session acts on (`login` unless it chose
    /// another).
    pub book: i64,
    /// Whether it is an API key's session.
    pub api_key: bool,
}

impl Viewer {
    /// A login's own session on its first portfolio.
    pub fn of(login: i64) -> Viewer {
        Viewer {
            login,
            book: login,
            api_key: false,
        }
    }
}

/// The login and portfolio of an active, unexpired session, on any
/// connection.
pub fn session_viewer(conn: &Connection, id: &SessionId, now: Timestamp) -> Result<Viewer, Reason> {
    let hash = sessions::hash(id);
    let found = sessions::find_active(conn, &hash, now)
        .map_err(|err| internal("cannot look up a session", err))?;
    found
        .map(|a| Viewer {
            login: a.account,
            book: a.book,
            api_key: a.api_key,
        })
        .ok_or_else(bad_session)
}

/// Where a session is made: the client, the worker, and whether it ends
/// with the client's connection.
pub struct SessionPlace<'a> {
    /// The client's `host:port`.
    pub client_addr: &'a str,
    /// The worker it came through.
    pub worker: &'a str,
    /// Whether the session ends with the client's connection.
    pub expirable: bool,
}

/// `no-password`, naming the providers the account can sign in with.
fn no_password(username: &str, providers: &[String]) -> Reason {
    let with = match providers.first() {
        Some(first) => format!("; sign in with {first} (papertrader login --with {first})"),
        None => String::new(),
    };
    let all = providers.join(", ");
    Reason::new(
        ReasonCode::NoPassword,
        format!("account {username} has no password{with}; its providers: {all}"),
    )
}

fn identity_taken(provider: &Provider) -> Reason {
    Reason::new(
        ReasonCode::IdentityTaken,
        format!("this {provider} identity is already linked to an account; log in with it"),
    )
}

/// `rate-limited` while logins are refused for `left`.
fn locked(left: Duration) -> Reason {
    let text = format!(
        "too many failed logins; try again in {} s",
        whole_secs(left)
    );
    Reason::new(ReasonCode::RateLimited, text)
}

/// A wait in seconds, rounded up so that it is never 0 while it lasts.
fn whole_secs(left: Duration) -> u64 {
    left.as_secs() + u64::from(left.subsec_nanos() > 0)
}

fn bad_session() -> Reason {
    Reason::new(ReasonCode::BadSession, BAD_SESSION)
}

fn taken(username: &Username) -> Reason {
    Reason::new(
        ReasonCode::UsernameTaken,
        format!("username {username} is already taken"),
    )
}

/// Logs the detail of a server-side fault and returns the `internal` reason
/// the client sees, which never carries the detail.
fn internal(what: &str, err: impl Display) -> Reason {
    papertrader_common::error!("{what}: {err}");
    Reason::new(ReasonCode::Internal, INTERNAL)
}

mod external;
pub mod keys;
mod limits;

#[cfg(test)]
mod tests;
