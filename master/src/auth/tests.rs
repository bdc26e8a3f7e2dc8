//! Tests of accounts, sessions and login throttling on a real database.

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
    let auth = auth_on(&dir, new_limiter(RateLimitConfig::default()));
    Fixture {
        auth,
        dir,
        mono: Instant::now(),
        next_session: 0,
    }
}

fn new_limiter(config: RateLimitConfig) -> Arc<Mutex<RateLimiter>> {
    Arc::new(Mutex::new(RateLimiter::new(config)))
}

/// Another auth thread (or, with a new limiter, a restarted master) on
/// the fixture's database.
fn auth_on(dir: &TempDir, limiter: Arc<Mutex<RateLimiter>>) -> Auth {
    let conn = db::open(&dir.join("pt.db")).expect("open db");
    Auth::new(conn, Arc::new(tiny_config()), limiter).expect("argon2 parameters")
}

impl Fixture {
    fn register(&mut self, username: &str) -> Result<(), Reason> {
        self.register_with(username, "someone@example.com", PASS)
    }

    /// Parses as the edge does, then registers.
    fn register_with(&mut self, username: &str, email: &str, pass: &str) -> Result<(), Reason> {
        self.register_from(username, email, pass, ADDR)
    }

    fn register_from(
        &mut self,
        username: &str,
        email: &str,
        pass: &str,
        addr: &str,
    ) -> Result<(), Reason> {
        let username = Username::parse(username).map_err(|e| e.reason())?;
        let email = Email::parse(email).map_err(|e| e.reason())?;
        let pass = HashedPass::parse(pass).map_err(|e| e.reason())?;
        let at = Clocks {
            now: T0,
            mono: self.mono,
        };
        self.auth
            .register(&username, &email, &pass, addr, [7; 16], at)
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
        let at = Clocks {
            now: T0,
            mono: self.mono,
        };
        let place = SessionPlace {
            client_addr: addr,
            worker: "w1",
            expirable,
        };
        self.auth.login(&username, &pass, &place, at, bytes)
    }

    fn login_from(&mut self, username: &str, pass: &str, addr: &str) -> Result<SessionId, Reason> {
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

/// 100 wrong passwords for `username`: 10 from each of 10 stranger
/// addresses, which locks each of them and then the username.
fn flood(f: &mut Fixture, username: &str) {
    for net in 0..10 {
        for port in 0..10 {
            let addr = format!("198.51.100.{net}:{port}");
            let res = f.login_from(username, &"0".repeat(64), &addr);
            assert_eq!(code(res), ReasonCode::BadCredentials, "{addr}");
        }
    }
}

#[test]
fn a_stranger_cannot_lock_out_the_owner() {
    let mut f = fixture("auth-owner");
    f.register("Victim").expect("register");
    f.login_from("Victim", PASS, "192.0.2.7:5000")
        .expect("the owner's usual address");
    flood(&mut f, "victim");

    f.login_from("VICTIM", PASS, "192.0.2.7:6000")
        .expect("the owner still logs in from home");
    let typo = f.login_from("victim", "wrong", "192.0.2.7:6000");
    assert_eq!(
        code(typo),
        ReasonCode::BadCredentials,
        "checked, not refused"
    );
    let stranger = f
        .login_from("victim", PASS, "203.0.113.9:1")
        .expect_err("even the right password from a new address");
    assert_eq!(stranger.code, ReasonCode::RateLimited);
    assert_eq!(stranger.text, "too many failed logins; try again in 600 s");
    let flooder = f.login_from("victim", PASS, "198.51.100.3:99");
    assert_eq!(
        code(flooder),
        ReasonCode::RateLimited,
        "its address is locked"
    );
    f.register("Other").expect("register");
    f.login_from("Other", PASS, "203.0.113.9:1")
        .expect("other accounts are not slowed");
    // Refusals count against the stranger's own address.
    for _ in 0..10 {
        let res = f.login_from("victim", PASS, "203.0.113.50:1");
        assert_eq!(code(res), ReasonCode::RateLimited);
    }
    let res = f.login_from("Other", PASS, "203.0.113.50:1");
    assert_eq!(code(res), ReasonCode::RateLimited, "its address is locked");

    f.mono += Duration::from_secs(600);
    f.login_from("victim", PASS, "203.0.113.9:1")
        .expect("lock lifted");
}

#[test]
fn the_owner_is_known_from_the_sessions_table_after_a_restart() {
    let mut f = fixture("auth-restart");
    f.register("Victim").expect("register");
    f.login_from("Victim", PASS, "[2001:db8:1:2::5]:5000")
        .expect("login");
    // A restarted master: a new limiter that knows nothing.
    f.auth = auth_on(&f.dir, new_limiter(RateLimitConfig::default()));
    flood(&mut f, "victim");
    f.login_from("victim", PASS, "[2001:db8:1:2::99]:7000")
        .expect("same /64 as a session in the table");
    let stranger = f.login_from("victim", PASS, "[2001:db8:1:3::5]:5000");
    assert_eq!(code(stranger), ReasonCode::RateLimited, "another /64");
}

#[test]
fn ten_failures_lock_the_pair_and_the_address() {
    let mut f = fixture("auth-lock-addr");
    f.register("Alice").expect("register");
    for i in 0..10 {
        let res = f.login_from(&format!("nobody{i}"), PASS, "[2001:db8::1]:5000");
        assert_eq!(code(res), ReasonCode::BadCredentials);
    }
    let res = f.login_from("Alice", PASS, "[2001:db8::1]:6000");
    assert_eq!(code(res), ReasonCode::RateLimited, "same IP, other port");
    let res = f.login_from("Alice", PASS, "[2001:db8::abcd]:6000");
    assert_eq!(code(res), ReasonCode::RateLimited, "same /64");
    f.login_from("Alice", PASS, "[2001:db8:0:1::2]:6000")
        .expect("another /64");

    for _ in 0..10 {
        f.login_from("Alice", "wrong", "10.1.1.1:1")
            .expect_err("wrong");
    }
    let locked = f.login_from("alice", PASS, "10.1.1.1:2");
    assert_eq!(code(locked), ReasonCode::RateLimited, "(alice, 10.1.1.1)");
    f.login_from("Alice", PASS, "10.2.2.2:1")
        .expect("the username itself is not locked");
}

#[test]
fn registrations_are_limited_per_address() {
    let mut f = fixture("auth-register-limit");
    for i in 0..9 {
        f.register_from(&format!("user{i}"), "u@x", PASS, "10.0.0.1:1")
            .expect("under the limit");
    }
    let taken = f.register_from("USER0", "u@x", PASS, "10.0.0.1:2");
    assert_eq!(
        code(taken),
        ReasonCode::UsernameTaken,
        "counts all the same"
    );
    let refused = f
        .register_from("user10", "u@x", PASS, "10.0.0.1:3")
        .expect_err("the 11th within the hour");
    assert_eq!(refused.code, ReasonCode::RateLimited);
    assert_eq!(
        refused.text,
        "too many registrations from this address; try again in 3600 s"
    );
    f.register_from("user10", "u@x", PASS, "10.0.0.2:1")
        .expect("another address");
    f.mono += Duration::from_secs(3600);
    f.register_from("user11", "u@x", PASS, "10.0.0.1:4")
        .expect("a new hour");
}

#[test]
fn a_refused_registration_costs_no_argon2() {
    let dir = TempDir::new("auth-register-cost");
    let config = RateLimitConfig {
        register_limit: 1,
        ..RateLimitConfig::default()
    };
    let limiter = new_limiter(config);
    let mut first = Fixture {
        auth: auth_on(&dir, limiter.clone()),
        dir,
        mono: Instant::now(),
        next_session: 0,
    };
    first.register("alice").expect("the one allowed");
    let mut second = Fixture {
        auth: auth_on(&first.dir, limiter),
        dir: TempDir::new("auth-register-cost-unused"),
        mono: first.mono,
        next_session: 0,
    };
    assert_eq!(code(second.register("bob")), ReasonCode::RateLimited);
    assert_eq!(second.auth.hasher.blocks_held(), 0, "never hashed");
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
    assert_eq!(cells.len(), 10);
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

mod api_keys {
    use super::*;
    use papertrader_common::value::{ApiKeyId, ApiSecret, KeyLabel};

    fn label(text: &str) -> KeyLabel {
        KeyLabel::parse(text).expect("label")
    }

    fn key_place() -> SessionPlace<'static> {
        SessionPlace {
            client_addr: ADDR,
            worker: "w1",
            expirable: false,
        }
    }

    fn make(f: &mut Fixture, session: &SessionId, n: u8) -> Result<(ApiKeyId, ApiSecret), Reason> {
        f.auth
            .create_key(session, &label("bot"), T0, [n; 12], [n; 32])
    }

    #[test]
    fn a_key_logs_in_to_the_same_session_until_revoked() {
        let mut f = fixture("auth-keys");
        f.register("alice").expect("register");
        let owner = f.remembered("alice");
        let (id, secret) = make(&mut f, &owner, 1).expect("create");
        let stored: Vec<u8> = f
            .auth
            .conn
            .query_row("SELECT secret_hash FROM api_keys", [], |r| r.get(0))
            .expect("row");
        assert_eq!(stored.len(), 32);
        assert!(
            !stored
                .windows(8)
                .any(|w| secret.as_str().as_bytes().windows(8).any(|s| s == w))
        );

        let (session, name) = f
            .auth
            .login_key(&id, &secret, &key_place(), T0)
            .expect("login");
        assert_eq!(name.as_str(), "alice");
        let (again, _) = f
            .auth
            .login_key(&id, &secret, &key_place(), T0)
            .expect("again");
        assert_eq!(session, again, "one session per key");
        assert_eq!(f.auth.validate(&session, T0).expect("valid").0, 1);

        // The session ended (a logout with it) opens again at the next login.
        f.auth.logout(&session, T0).expect("logout");
        assert_eq!(code(f.auth.validate(&session, T0)), ReasonCode::BadSession);
        f.auth
            .login_key(&id, &secret, &key_place(), T0)
            .expect("reopened");
        assert!(f.auth.validate(&session, T0).is_ok());

        f.auth.revoke_key(&owner, &id, T0).expect("revoke");
        assert_eq!(
            code(f.auth.validate(&session, T0)),
            ReasonCode::BadSession,
            "revoked at once"
        );
        let err = f
            .auth
            .login_key(&id, &secret, &key_place(), T0)
            .expect_err("revoked");
        assert_eq!(err.code, ReasonCode::BadCredentials);
        assert_eq!(
            code(f.auth.revoke_key(&owner, &id, T0)),
            ReasonCode::UnknownKey
        );
    }

    #[test]
    fn wrong_secrets_and_unknown_keys_are_bad_credentials_without_lockout() {
        let mut f = fixture("auth-keys-wrong");
        f.register("alice").expect("register");
        let owner = f.remembered("alice");
        let (id, secret) = make(&mut f, &owner, 1).expect("create");
        for n in 0..200u8 {
            let wrong = ApiSecret::from_bytes([n.wrapping_add(2); 32]);
            assert_eq!(
                code(f.auth.login_key(&id, &wrong, &key_place(), T0)),
                ReasonCode::BadCredentials
            );
        }
        let unknown = ApiKeyId::from_bytes([9; 12]);
        assert_eq!(
            code(f.auth.login_key(&unknown, &secret, &key_place(), T0)),
            ReasonCode::BadCredentials
        );
        assert!(
            f.auth.login_key(&id, &secret, &key_place(), T0).is_ok(),
            "the owner is not locked out"
        );
        // The password login is not throttled by key failures either.
        assert!(f.login("alice", PASS).is_ok());
    }

    #[test]
    fn keys_are_for_the_owner_at_most_twenty() {
        let mut f = fixture("auth-keys-owner");
        f.register("alice").expect("register");
        f.register("bob").expect("register");
        let alice = f.remembered("alice");
        let bob = f.remembered("bob");
        for n in 0..20 {
            make(&mut f, &alice, n).expect("within the limit");
        }
        assert_eq!(code(make(&mut f, &alice, 20)), ReasonCode::TooManyKeys);
        let listed = keys::listed(&f.auth.conn, &alice, T0).expect("list");
        assert_eq!(listed.len(), 20);
        assert!(
            keys::listed(&f.auth.conn, &bob, T0)
                .expect("list")
                .is_empty()
        );

        // Bob cannot revoke Alice's key; a revoked key frees a place.
        let first = listed[0].id.clone();
        assert_eq!(
            code(f.auth.revoke_key(&bob, &first, T0)),
            ReasonCode::UnknownKey
        );
        f.auth.revoke_key(&alice, &first, T0).expect("revoke");
        assert_eq!(
            keys::listed(&f.auth.conn, &alice, T0).expect("list").len(),
            19
        );
        make(&mut f, &alice, 21).expect("a place again");

        // A key's own session manages no keys and sets no password.
        let (id, secret) = make(&mut f, &bob, 30).expect("bob's key");
        let (key_session, _) = f
            .auth
            .login_key(&id, &secret, &key_place(), T0)
            .expect("login");
        assert_eq!(code(make(&mut f, &key_session, 31)), ReasonCode::Forbidden);
        assert_eq!(
            code(f.auth.revoke_key(&key_session, &id, T0)),
            ReasonCode::Forbidden
        );
        assert_eq!(
            code(keys::listed(&f.auth.conn, &key_session, T0)),
            ReasonCode::Forbidden
        );
        let pass = HashedPass::parse(PASS).expect("pass");
        assert_eq!(
            code(f.auth.set_password(&key_session, &pass, [1; 16], T0)),
            ReasonCode::Forbidden
        );
        let proof = ResetProof::parse(PASS).expect("proof");
        let at = Clocks {
            now: T0,
            mono: f.mono,
        };
        assert_eq!(
            code(f.auth.confirm_reset(&key_session, &proof, ADDR, at)),
            ReasonCode::Forbidden,
            "a key's holder cannot guess the owner's password through a reset"
        );
        let nobody = SessionId::from_bytes([0xee; 16]);
        assert_eq!(code(make(&mut f, &nobody, 32)), ReasonCode::BadSession);
    }
}
