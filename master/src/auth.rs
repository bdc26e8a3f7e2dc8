//! Accounts and sessions: `register`, `login` (argon2id), `loginSession`,
//! `logout`, and the session checks later instructions rely on.
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
    Email, HashedPass, Money, Reason, ReasonCode, SessionId, Timestamp, Username,
};
use parking_lot::Mutex;
use rusqlite::Connection;

use crate::db::accounts::{self, NewAccount};
use crate::db::sessions::{self, NewSession};
use crate::password::Hasher;
use crate::ratelimit::{self, RateLimiter};

pub use crate::db::sessions::SessionRow;

/// The one answer to every failed password check, so that it does not tell
/// unknown users, password-less accounts and wrong passwords apart.
const BAD_CREDENTIALS: &str = "username or password is wrong";
const BAD_SESSION: &str = "the session is unknown, expired or logged out";
const INTERNAL: &str = "the server could not complete the request; nothing was changed";

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
        }
    }
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
        })
    }

    /// `register username email hashedPass`: a new account with the starting
    /// cash and the argon2id hash of `hashed_pass` under `salt`.
    pub fn register(
        &mut self,
        username: &Username,
        email: &Email,
        pass: &HashedPass,
        salt: [u8; 16],
        now: Timestamp,
    ) -> Result<(), Reason> {
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
            created: now,
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
    /// (`host:port`) through `worker`. `now` is wall time for the session
    /// row, `mono` the rate limiter's clock; the new session id is made from
    /// `session_bytes`.
    #[allow(clippy::too_many_arguments)] // the wire arguments plus caller context
    pub fn login(
        &mut self,
        username: &Username,
        pass: &HashedPass,
        expirable: bool,
        client_addr: &str,
        worker: &str,
        now: Timestamp,
        mono: Instant,
        session_bytes: [u8; 16],
    ) -> Result<SessionId, Reason> {
        let user_key = ratelimit::user_key(username);
        let addr_key = ratelimit::addr_key(client_addr);
        self.check_rate(&user_key, &addr_key, mono)?;

        let Some(account) = self.check_password(username, pass)? else {
            let mut limiter = self.limiter.lock();
            limiter.failure(&user_key, mono);
            limiter.failure(&addr_key, mono);
            drop(limiter);
            papertrader_common::info!("failed login for {username} from {client_addr}");
            return Err(Reason::new(ReasonCode::BadCredentials, BAD_CREDENTIALS));
        };
        let id = SessionId::from_bytes(session_bytes);
        let ttl = match expirable {
            true => self.config.session_ttl_short,
            false => self.config.session_ttl_long,
        };
        let ttl_secs = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let session = NewSession {
            hash: sessions::hash(&id),
            account_id: account.0,
            created: now,
            expires: Timestamp(now.0.saturating_add(ttl_secs)),
            client_addr,
            expirable,
            worker,
        };
        sessions::insert(&self.conn, &session)
            .map_err(|err| internal("cannot insert a session", err))?;
        self.limiter.lock().success(&user_key);
        papertrader_common::info!("{username} logged in from {client_addr} through {worker}");
        Ok(id)
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
        match found {
            None => Err(bad_session()),
            Some((_, false)) => Ok(()),
            Some((_, true)) => {
                sessions::end(&self.conn, &hash, now)
                    .map_err(|err| internal("cannot end a session", err))?;
                Ok(())
            }
        }
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

    /// `Err(rate-limited)` while either key is locked.
    fn check_rate(&self, user_key: &str, addr_key: &str, mono: Instant) -> Result<(), Reason> {
        let mut limiter = self.limiter.lock();
        let user = limiter.check(user_key, mono).err();
        let addr = limiter.check(addr_key, mono).err();
        drop(limiter);
        match user.max(addr) {
            None => Ok(()),
            Some(left) => {
                let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                Err(Reason::new(
                    ReasonCode::RateLimited,
                    format!("too many failed logins; try again in {secs} s"),
                ))
            }
        }
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
    found
        .map(|(account, _)| AccountId(account))
        .ok_or_else(bad_session)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{self, TempDir};
    use crate::ratelimit::RateLimitConfig;
    use papertrader_common::value::parse_bool;
    use rusqlite::types::ValueRef;
    use sha2::Digest;

    const PASS: &str = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
    const T0: Timestamp = Timestamp(1_732_147_200);
    const ADDR: &str = "127.0.0.1:40000";

    struct Fixture {
        auth: Auth,
        dir: TempDir,
        mono: Instant,
        next_session: u8,
    }

    fn tiny_config() -> AuthConfig {
        AuthConfig {
            argon2_memory_kib: 64,
            argon2_iterations: 1,
            ..AuthConfig::default()
        }
    }

    fn fixture(tag: &str) -> Fixture {
        let dir = TempDir::new(tag);
        let conn = db::open(&dir.join("pt.db")).expect("open db");
        let limiter = Arc::new(Mutex::new(RateLimiter::new(RateLimitConfig::default())));
        let auth = Auth::new(conn, Arc::new(tiny_config()), limiter).expect("argon2 parameters");
        Fixture {
            auth,
            dir,
            mono: Instant::now(),
            next_session: 0,
        }
    }

    impl Fixture {
        fn register(&mut self, username: &str) -> Result<(), Reason> {
            self.register_with(username, "someone@example.com", PASS)
        }

        /// Parses as the edge does, then registers.
        fn register_with(&mut self, username: &str, email: &str, pass: &str) -> Result<(), Reason> {
            let username = Username::parse(username).map_err(|e| e.reason())?;
            let email = Email::parse(email).map_err(|e| e.reason())?;
            let pass = HashedPass::parse(pass).map_err(|e| e.reason())?;
            self.auth.register(&username, &email, &pass, [7; 16], T0)
        }

        /// Parses as the edge does, then logs in.
        fn login_as(
            &mut self,
            username: &str,
            pass: &str,
            expirable: &str,
            addr: &str,
        ) -> Result<SessionId, Reason> {
            let username = Username::parse(username).map_err(|e| e.reason())?;
            let pass = HashedPass::parse(pass).map_err(|e| e.reason())?;
            let expirable = parse_bool(expirable).map_err(|e| e.reason())?;
            self.next_session += 1;
            let bytes = [self.next_session; 16];
            let mono = self.mono;
            self.auth
                .login(&username, &pass, expirable, addr, "w1", T0, mono, bytes)
        }

        fn login_from(
            &mut self,
            username: &str,
            pass: &str,
            addr: &str,
        ) -> Result<SessionId, Reason> {
            self.login_as(username, pass, "true", addr)
        }

        fn login(&mut self, username: &str, pass: &str) -> Result<SessionId, Reason> {
            self.login_from(username, pass, ADDR)
        }

        fn remembered(&mut self, username: &str) -> SessionId {
            self.login_as(username, PASS, "false", ADDR).expect("login")
        }
    }

    fn code<T: std::fmt::Debug>(result: Result<T, Reason>) -> ReasonCode {
        result.expect_err("should fail").code
    }

    #[test]
    fn register_stores_account_with_starting_cash() {
        let mut f = fixture("auth-register");
        f.register("Alice").expect("register");
        let (name, key, cash, phc): (String, String, i64, String) = f
            .auth
            .conn
            .query_row(
                "SELECT username, username_key, cash, pass_hash FROM accounts",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .expect("row");
        assert_eq!((name.as_str(), key.as_str()), ("Alice", "alice"));
        assert_eq!(Money(cash).to_string(), "100000.0000");
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(!phc.contains(PASS));
    }

    #[test]
    fn register_refuses_bad_values() {
        let mut f = fixture("auth-register-bad");
        f.register("Alice").expect("register");
        let err = f.register("aLICE").expect_err("same name in another case");
        assert_eq!(err.code, ReasonCode::UsernameTaken);
        assert_eq!(err.text, "username aLICE is already taken");
        assert_eq!(
            code(f.register(&"a".repeat(25))),
            ReasonCode::InvalidUsername
        );
        let bad_email = f.register_with("bob", "bob.example.com", PASS);
        assert_eq!(code(bad_email), ReasonCode::InvalidEmail);
        let bad_pass = f.register_with("bob", "b@c", "has space");
        assert_eq!(code(bad_pass), ReasonCode::BadArguments);
    }

    #[test]
    fn login_ok_and_wrong_credentials() {
        let mut f = fixture("auth-login");
        f.register("Alice").expect("register");
        let id = f.login("alice", PASS).expect("login ignoring case");
        assert_eq!(id.as_str().len(), 32);
        assert!(
            id.as_str()
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(id, SessionId::from_bytes([1; 16]));

        let wrong = f
            .login("Alice", &"0".repeat(64))
            .expect_err("wrong password");
        let unknown = f.login("mallory", PASS).expect_err("unknown user");
        assert_eq!(wrong.code, ReasonCode::BadCredentials);
        assert_eq!(wrong, unknown, "indistinguishable");
        assert_eq!(wrong.text, "username or password is wrong");
    }

    #[test]
    fn login_refuses_bad_arguments() {
        let mut f = fixture("auth-login-args");
        f.register("Alice").expect("register");
        let maybe = f.login_as("Alice", PASS, "yes", ADDR);
        assert_eq!(code(maybe), ReasonCode::BadArguments);
        assert_eq!(code(f.login("al ice", PASS)), ReasonCode::InvalidUsername);
    }

    #[test]
    fn account_without_password_never_logs_in() {
        let mut f = fixture("auth-nopass");
        f.auth
            .conn
            .execute(
                "INSERT INTO accounts (username, username_key, email, pass_hash, cash, created)
                 VALUES ('Oauth', 'oauth', 'o@x', NULL, 0, 0)",
                [],
            )
            .expect("insert");
        assert_eq!(code(f.login("Oauth", PASS)), ReasonCode::BadCredentials);
        assert_eq!(code(f.register("OAUTH")), ReasonCode::UsernameTaken);
    }

    #[test]
    fn ten_failures_lock_the_user_until_the_lockout_ends() {
        let mut f = fixture("auth-lock");
        f.register("Alice").expect("register");
        for i in 0..10 {
            let addr = format!("10.0.0.{i}:1000");
            assert_eq!(
                code(f.login_from("Alice", "wrong", &addr)),
                ReasonCode::BadCredentials
            );
        }
        let locked = f
            .login("alice", PASS)
            .expect_err("locked even with the right password");
        assert_eq!(locked.code, ReasonCode::RateLimited);
        assert_eq!(locked.text, "too many failed logins; try again in 600 s");
        let elsewhere = f.login_from("Alice", PASS, "[2001:db8::1]:5000");
        assert_eq!(code(elsewhere), ReasonCode::RateLimited, "user key locked");
        f.login("Bob", PASS).expect_err("unknown anyway");

        f.mono += Duration::from_secs(600);
        f.login("Alice", PASS).expect("lock lifted");
    }

    #[test]
    fn ten_failures_lock_the_address() {
        let mut f = fixture("auth-lock-addr");
        f.register("Alice").expect("register");
        for i in 0..10 {
            let res = f.login_from(&format!("nobody{i}"), PASS, "[::1]:5000");
            assert_eq!(code(res), ReasonCode::BadCredentials);
        }
        let res = f.login_from("Alice", PASS, "[::1]:6000");
        assert_eq!(code(res), ReasonCode::RateLimited, "same IP, other port");
        f.login_from("Alice", PASS, "[::2]:6000")
            .expect("other address");
    }

    #[test]
    fn success_clears_the_user_failures() {
        let mut f = fixture("auth-clear");
        f.register("Alice").expect("register");
        for _ in 0..9 {
            f.login_from("Alice", "wrong", "10.1.1.1:1")
                .expect_err("wrong");
        }
        f.login_from("Alice", PASS, "10.2.2.2:1").expect("right");
        for _ in 0..9 {
            f.login_from("Alice", "wrong", "10.3.3.3:1")
                .expect_err("wrong");
        }
        f.login_from("Alice", PASS, "10.4.4.4:1")
            .expect("count was reset");
    }

    #[test]
    fn login_session_until_expiry() {
        let mut f = fixture("auth-resume");
        f.register("Alice").expect("register");
        let id = f.remembered("Alice");
        let later = Timestamp(T0.0 + 29 * 86_400);
        assert_eq!(f.auth.login_session(&id, later), Ok(id.clone()));
        let expires = Timestamp(T0.0 + 30 * 86_400);
        assert_eq!(
            code(f.auth.login_session(&id, expires)),
            ReasonCode::BadSession
        );
        let short = f.login("Alice", PASS).expect("login");
        let day = Timestamp(T0.0 + 86_400);
        assert_eq!(
            code(f.auth.login_session(&short, day)),
            ReasonCode::BadSession
        );
        let unknown = SessionId::from_bytes([0xee; 16]);
        assert_eq!(
            code(f.auth.login_session(&unknown, T0)),
            ReasonCode::BadSession
        );
        assert_eq!(
            code(SessionId::parse("NOTHEX").map_err(|e| e.reason())),
            ReasonCode::BadSession
        );
    }

    #[test]
    fn logout_ends_the_session_once() {
        let mut f = fixture("auth-logout");
        f.register("Alice").expect("register");
        let id = f.remembered("Alice");
        f.auth.logout(&id, T0).expect("logout");
        assert_eq!(code(f.auth.login_session(&id, T0)), ReasonCode::BadSession);
        assert_eq!(code(f.auth.logout(&id, T0)), ReasonCode::BadSession);
        assert_eq!(code(f.auth.validate(&id, T0)), ReasonCode::BadSession);
    }

    #[test]
    fn closed_connection_ends_only_expirable_sessions() {
        let mut f = fixture("auth-closed");
        f.register("Alice").expect("register");
        let short = f.login("Alice", PASS).expect("login");
        let long = f.remembered("Alice");
        f.auth.session_closed(&short, T0).expect("ends");
        f.auth.session_closed(&long, T0).expect("left alone");
        assert_eq!(code(f.auth.validate(&short, T0)), ReasonCode::BadSession);
        f.auth.validate(&long, T0).expect("still valid");
        assert_eq!(
            code(f.auth.session_closed(&short, T0)),
            ReasonCode::BadSession
        );
    }

    #[test]
    fn database_never_holds_the_session_id() {
        let mut f = fixture("auth-hash");
        f.register("Alice").expect("register");
        let id = f.login("Alice", PASS).expect("login");
        let hash: Vec<u8> = f
            .auth
            .conn
            .query_row("SELECT hash FROM sessions", [], |r| r.get(0))
            .expect("row");
        assert_eq!(hash, sha2::Sha256::digest(id.as_str().as_bytes()).to_vec());
        let raw_id = [1u8; 16];
        let mut cells: Vec<Vec<u8>> = Vec::new();
        let mut stmt = f
            .auth
            .conn
            .prepare("SELECT * FROM sessions")
            .expect("prepare");
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).expect("query");
        while let Some(row) = rows.next().expect("row") {
            for i in 0..columns {
                cells.push(match row.get_ref(i).expect("cell") {
                    ValueRef::Text(b) | ValueRef::Blob(b) => b.to_vec(),
                    other => format!("{other:?}").into_bytes(),
                });
            }
        }
        drop(rows);
        drop(stmt);
        assert_eq!(cells.len(), 8);
        for row in &cells {
            assert!(!contains(row, id.as_str().as_bytes()));
            assert!(!contains(row, &raw_id));
        }
        // Nor the file: checkpoint the WAL, then scan every byte.
        f.auth
            .conn
            .pragma_update(None, "wal_checkpoint", "TRUNCATE")
            .expect("checkpoint");
        let bytes = std::fs::read(f.dir.join("pt.db")).expect("read db");
        assert!(!contains(&bytes, id.as_str().as_bytes()));
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn sessions_lists_active_rows() {
        let mut f = fixture("auth-list");
        f.register("Alice").expect("register");
        f.register("bob").expect("register");
        let a = f.login_from("alice", PASS, "[::1]:5000").expect("login");
        let _b = f.remembered("BOB");
        let gone = f.login("bob", PASS).expect("login");
        f.auth.logout(&gone, T0).expect("logout");
        let rows = f.auth.sessions(T0).expect("list");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            SessionRow {
                username: "Alice".into(),
                created: T0,
                expires: Timestamp(T0.0 + 86_400),
                client_addr: "[::1]:5000".into(),
                expirable: true,
                worker: "w1".into(),
            }
        );
        assert_eq!(rows[1].username, "bob");
        assert!(!rows[1].expirable);
        assert_eq!(rows[1].expires, Timestamp(T0.0 + 30 * 86_400));
        let day = Timestamp(T0.0 + 86_400);
        assert_eq!(
            f.auth.sessions(day).expect("list").len(),
            1,
            "{a:?} expired"
        );
    }

    #[test]
    fn validate_gives_the_account() {
        let mut f = fixture("auth-validate");
        f.register("Alice").expect("register");
        f.register("Bob").expect("register");
        let a = f.login("Alice", PASS).expect("login");
        let b = f.login("Bob", PASS).expect("login");
        let ida = f.auth.validate(&a, T0).expect("valid");
        let idb = f.auth.validate(&b, T0).expect("valid");
        assert_ne!(ida, idb);
        let key: i64 = f
            .auth
            .conn
            .query_row(
                "SELECT id FROM accounts WHERE username_key = 'bob'",
                [],
                |r| r.get(0),
            )
            .expect("id");
        assert_eq!(idb, AccountId(key));
    }

    #[test]
    fn purge_deletes_rows_a_day_after_they_end() {
        let mut f = fixture("auth-purge");
        f.register("Alice").expect("register");
        let short = f.login("Alice", PASS).expect("login");
        let _long = f.remembered("Alice");
        let ended = f.login("Alice", PASS).expect("login");
        f.auth.logout(&ended, T0).expect("logout");
        assert_eq!(f.auth.purge_expired(T0), Ok(0));
        assert_eq!(
            f.auth.purge_expired(Timestamp(T0.0 + 86_401)),
            Ok(1),
            "logged out"
        );
        assert_eq!(
            f.auth.purge_expired(Timestamp(T0.0 + 2 * 86_401)),
            Ok(1),
            "{short:?}"
        );
        assert_eq!(f.auth.purge_expired(Timestamp(T0.0 + 31 * 86_400)), Ok(0));
        assert_eq!(
            f.auth.purge_expired(Timestamp(T0.0 + 31 * 86_400 + 1)),
            Ok(1)
        );
    }

    #[test]
    fn argon2_parameters_out_of_range_are_refused() {
        let dir = TempDir::new("auth-params");
        let conn = db::open(&dir.join("pt.db")).expect("open db");
        let limiter = Arc::new(Mutex::new(RateLimiter::new(RateLimitConfig::default())));
        let bad = AuthConfig {
            argon2_memory_kib: 1,
            ..tiny_config()
        };
        assert!(Auth::new(conn, Arc::new(bad), limiter).is_err());
    }

    #[test]
    fn one_block_serves_every_hash_of_a_thread() {
        let mut f = fixture("auth-block");
        f.register("Alice").expect("register");
        let memory = f.auth.hasher.memory_addr();
        f.login("Alice", PASS).expect("login");
        f.login("Alice", "wrong").expect_err("wrong");
        f.login("nobody", PASS)
            .expect_err("unknown user: the dummy hash");
        f.register("Bob").expect("register");
        assert_eq!(f.auth.hasher.memory_addr(), memory);
        assert_eq!(f.auth.hasher.blocks_held(), 64);
    }
}
