//! Third-party sign-in end to end (issue 15): a real ptmasterd trusting a
//! local OpenID Connect provider that the test starts (tests/oidc_provider),
//! talked to over a real worker link (`TestWorker`). Registration, sign-in,
//! the account without a password, setPassword, resetAccount with a token,
//! every refusal with its reason code and nothing stored, key rotation,
//! and `ptctl account`.

mod oidc_provider;
mod util;

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use papertrader_common::Instr;
use serde_json::json;

use oidc_provider::{CLIENT_ID, Key, Provider, b64, now, sign};
use util::daemon::Daemon;
use util::master::{FAST_ARGON2, MasterSetup, TestWorker, hashed_pass};

/// A master trusting the local provider as `local`.
struct Setup {
    setup: MasterSetup,
    master: Daemon,
    provider: Provider,
    key: Key,
}

impl Setup {
    fn start(tag: &str, extra: &str) -> Setup {
        let setup = MasterSetup::new(tag);
        let key = Key::rsa(&setup.dir.path, "rsa-1");
        let provider = Provider::start(&[&key]);
        let list = setup.dir.join("providers");
        std::fs::write(
            &list,
            format!(
                "# NAME ISSUER CLIENT_ID\nlocal {} {CLIENT_ID}\n",
                provider.issuer
            ),
        )
        .expect("providers list");
        let extra = format!(
            "{FAST_ARGON2}oidc_providers_file = {}\noidc_refresh_min = 2s\n{extra}",
            list.display()
        );
        let master = setup.start(&extra);
        Setup {
            setup,
            master,
            provider,
            key,
        }
    }

    fn link(&self) -> TestWorker {
        self.setup.link(self.master.addr, 0).expect("link")
    }

    fn count(&self, table: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.setup.dir.join("master.db")).expect("db");
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .expect("count")
    }

    fn ptctl(&self, args: &[&str]) -> (bool, String) {
        let sock = self.setup.control_socket();
        let mut all = vec!["-s", sock.to_str().expect("path")];
        all.extend_from_slice(args);
        let out = util::run("ptctl", &all, b"");
        (out.status.success(), util::stdout(&out))
    }
}

/// The reason code of a failure reply.
fn code(args: &[String]) -> &str {
    args.first().and_then(|r| r.split(' ').next()).unwrap_or("")
}

#[test]
fn register_sign_in_and_add_a_password_through_a_local_provider() {
    let s = Setup::start("oidc-flow", "");
    let mut w = s.link();
    let token = s.provider.token(&s.key, "user-1");

    let (i, a) = w.request(Instr::RegisterExternal, &["carol", "local", &token]);
    assert_eq!(i, Instr::RegisterSuccess, "{a:?}");
    // The same identity again, under another name.
    let (i, a) = w.request(Instr::RegisterExternal, &["carol2", "local", &token]);
    assert_eq!(
        (i, code(&a)),
        (Instr::RegisterFail, "identity-taken"),
        "{a:?}"
    );
    // Another identity under a taken name.
    let other = s.provider.token(&s.key, "user-2");
    let (i, a) = w.request(Instr::RegisterExternal, &["CAROL", "local", &other]);
    assert_eq!(
        (i, code(&a)),
        (Instr::RegisterFail, "username-taken"),
        "{a:?}"
    );
    assert_eq!((s.count("accounts"), s.count("identities")), (1, 1));

    let (i, a) = w.request(Instr::LoginExternal, &["local", &token, "false"]);
    assert_eq!(i, Instr::SessionId, "{a:?}");
    let session = a[0].clone();

    // The account has no password, and says which provider to use.
    let pass = hashed_pass("carol", "correct horse battery staple");
    let (i, a) = w.request(Instr::Login, &["carol", &pass, "false"]);
    assert_eq!((i, code(&a)), (Instr::LoginFail, "no-password"), "{a:?}");
    assert!(a[0].contains("local"), "names the provider: {a:?}");

    // The verified email came from the token.
    let reqid = w.send_request(Instr::GetUserInfo, &[&session, "carol"]);
    let info = String::from_utf8(w.recv_data(reqid).expect("user info")).expect("utf-8");
    assert!(info.contains("email user-1@example.org\n"), "{info}");

    // resetAccount: a password is refused, a fresh token works.
    let (i, a) = w.request(Instr::ResetAccount, &[&session, &pass]);
    assert_eq!((i, code(&a)), (Instr::ResetFail, "no-password"), "{a:?}");
    let (i, a) = w.request(Instr::ResetAccount, &[&session, &token]);
    assert_eq!(i, Instr::ResetSuccess, "{a:?}");
    // A token of another identity is not this account's.
    let (i, a) = w.request(Instr::ResetAccount, &[&session, &other]);
    assert_eq!((i, code(&a)), (Instr::ResetFail, "bad-token"), "{a:?}");

    // setPassword needs a session made in the last 10 minutes.
    let (i, a) = w.request(Instr::LoginExternal, &["local", &token, "false"]);
    assert_eq!(i, Instr::SessionId, "{a:?}");
    let old = a[0].clone();
    let conn = rusqlite::Connection::open(s.setup.dir.join("master.db")).expect("db");
    conn.execute("UPDATE sessions SET created = created - 601", [])
        .expect("age the sessions");
    let (i, a) = w.request(Instr::SetPassword, &[&old, &pass]);
    assert_eq!((i, code(&a)), (Instr::PasswordFail, "forbidden"), "{a:?}");
    let (i, a) = w.request(
        Instr::SetPassword,
        &["0123456789abcdef0123456789abcdef", &pass],
    );
    assert_eq!((i, code(&a)), (Instr::PasswordFail, "bad-session"), "{a:?}");

    let (i, a) = w.request(Instr::LoginExternal, &["local", &token, "true"]);
    assert_eq!(i, Instr::SessionId, "{a:?}");
    let fresh = a[0].clone();
    let (i, a) = w.request(Instr::SetPassword, &[&fresh, &pass]);
    assert_eq!(i, Instr::PasswordSet, "{a:?}");
    let (i, a) = w.request(Instr::Login, &["Carol", &pass, "false"]);
    assert_eq!(i, Instr::SessionId, "login with the new password: {a:?}");
    let (i, a) = w.request(Instr::LoginExternal, &["local", &token, "false"]);
    assert_eq!(i, Instr::SessionId, "the provider still works: {a:?}");

    let (ok, out) = s.ptctl(&["account", "carol"]);
    assert!(ok, "{out}");
    assert!(out.contains("password yes\n"), "{out}");
    let line = format!("identity local {} user-1 ", s.provider.issuer);
    assert!(out.contains(&line), "{out}");
    let (ok, out) = s.ptctl(&["audit"]);
    assert!(ok && out.starts_with("audit clean"), "{out}");

    let log = std::fs::read_to_string(s.setup.log_file()).unwrap_or_default();
    assert!(!log.contains(&token[..60]), "a token reached the log");
}

#[test]
fn bad_tokens_are_refused_with_their_codes_and_nothing_is_stored() {
    let s = Setup::start(
        "oidc-refuse",
        "rate_limit_failures = 1000\nregister_limit = 0\n",
    );
    let mut w = s.link();
    let good = s.provider.claims("user-9");
    let stranger = Key::rsa(&s.setup.dir.path.join("other"), "rsa-1");
    let unknown_kid = Key::rsa(&s.setup.dir.path, "rsa-unknown");
    let with = |change: serde_json::Value| {
        let mut claims = good.clone();
        for (k, v) in change.as_object().expect("object") {
            claims[k] = v.clone();
        }
        sign(&s.key, &claims)
    };
    let header_none = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64(good.to_string().as_bytes());
    let mut hs256 = Header::new(Algorithm::HS256);
    hs256.kid = Some(s.key.kid.clone());
    let confused = jsonwebtoken::encode(
        &hs256,
        &good,
        &EncodingKey::from_secret(&s.key.public_pem).expect("HMAC key"),
    )
    .expect("HS256");
    let junk = format!(
        "{}.{}.{}",
        "e".repeat(8000),
        "e".repeat(8000),
        "e".repeat(382)
    );
    assert_eq!(junk.len(), 16_384);
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "another key, same kid",
            sign(&stranger, &good),
            "bad-token",
            "signature",
        ),
        (
            "alg none",
            format!("{header_none}.{payload}."),
            "bad-token",
            "none is refused",
        ),
        (
            "HS256 with the public key",
            confused,
            "bad-token",
            "HS256 is refused",
        ),
        (
            "wrong aud",
            with(json!({"aud": "someone-else"})),
            "bad-token",
            "(aud)",
        ),
        (
            "wrong iss",
            with(json!({"iss": "https://evil.example"})),
            "bad-token",
            "(iss)",
        ),
        (
            "expired",
            with(json!({"exp": now() - 3600, "iat": now() - 7200})),
            "bad-token",
            "(exp)",
        ),
        (
            "iat in the future",
            with(json!({"iat": now() + 3600, "exp": now() + 7200})),
            "bad-token",
            "(iat)",
        ),
        (
            "kid not in the JWKS",
            s.provider.token(&unknown_kid, "user-9"),
            "bad-token",
            "rsa-unknown",
        ),
        (
            "malformed at 16 KiB",
            junk.clone(),
            "bad-token",
            "malformed",
        ),
        (
            "over 16 KiB",
            format!("{junk}e"),
            "bad-arguments",
            "idToken",
        ),
        ("not a JWS", "abc".to_string(), "bad-arguments", "idToken"),
    ];
    for (what, token, want, text) in &cases {
        let (i, a) = w.request(Instr::LoginExternal, &["local", token, "false"]);
        assert_eq!(
            (i, code(&a)),
            (Instr::LoginFail, *want),
            "login, {what}: {a:?}"
        );
        assert!(a[0].contains(text), "login, {what}: {a:?}");
        let (i, a) = w.request(Instr::RegisterExternal, &["mallory", "local", token]);
        assert_eq!(
            (i, code(&a)),
            (Instr::RegisterFail, *want),
            "register, {what}: {a:?}"
        );
    }
    let token = s.provider.token(&s.key, "user-9");
    let (i, a) = w.request(Instr::LoginExternal, &["google", &token, "false"]);
    assert_eq!(
        (i, code(&a)),
        (Instr::LoginFail, "unknown-provider"),
        "{a:?}"
    );
    let (i, a) = w.request(Instr::RegisterExternal, &["mallory", "google", &token]);
    assert_eq!(
        (i, code(&a)),
        (Instr::RegisterFail, "unknown-provider"),
        "{a:?}"
    );
    // A good token whose identity has no account.
    let (i, a) = w.request(Instr::LoginExternal, &["local", &token, "false"]);
    assert_eq!((i, code(&a)), (Instr::LoginFail, "not-linked"), "{a:?}");

    assert_eq!(s.count("accounts"), 0, "no account stored");
    assert_eq!(s.count("identities"), 0, "no identity stored");
    assert_eq!(s.count("sessions"), 0, "no session stored");
    // And the good token still registers.
    let (i, a) = w.request(Instr::RegisterExternal, &["mallory", "local", &token]);
    assert_eq!(i, Instr::RegisterSuccess, "{a:?}");
}

#[test]
fn refused_tokens_count_as_failed_logins_of_the_address() {
    let s = Setup::start("oidc-rate", "rate_limit_failures = 3\n");
    let mut w = s.link();
    let token = s.provider.token(&s.key, "user-5");
    let (i, a) = w.request(Instr::RegisterExternal, &["dave", "local", &token]);
    assert_eq!(i, Instr::RegisterSuccess, "{a:?}");
    let mut claims = s.provider.claims("user-5");
    claims["aud"] = json!("other");
    let bad = sign(&s.key, &claims);
    for _ in 0..3 {
        let (i, a) = w.request(Instr::LoginExternal, &["local", &bad, "false"]);
        assert_eq!((i, code(&a)), (Instr::LoginFail, "bad-token"), "{a:?}");
    }
    let (i, a) = w.request(Instr::LoginExternal, &["local", &token, "false"]);
    assert_eq!((i, code(&a)), (Instr::LoginFail, "rate-limited"), "{a:?}");
    // Another address is not locked.
    let (i, a) = w.request_from(
        Instr::LoginExternal,
        &["local", &token, "false"],
        "10.0.0.7:1",
    );
    assert_eq!(i, Instr::SessionId, "{a:?}");
}

#[test]
fn a_rotated_key_works_after_one_jwks_refresh() {
    let s = Setup::start("oidc-rotate", "");
    let mut w = s.link();
    let token = s.provider.token(&s.key, "user-3");
    let (i, a) = w.request(Instr::RegisterExternal, &["erin", "local", &token]);
    assert_eq!(i, Instr::RegisterSuccess, "{a:?}");
    let before = s.provider.jwks_fetches();
    assert!(before >= 1, "the keys were fetched");

    // The provider rotates to an EC key; the master still caches the old.
    let new_key = Key::ec(&s.setup.dir.path, "ec-2");
    s.provider.publish(&[&new_key]);
    std::thread::sleep(Duration::from_millis(2100)); // past oidc_refresh_min
    let token = s.provider.token(&new_key, "user-3");
    let (i, a) = w.request(Instr::LoginExternal, &["local", &token, "false"]);
    assert_eq!(i, Instr::SessionId, "the new key after a refresh: {a:?}");
    assert_eq!(s.provider.jwks_fetches(), before + 1, "exactly one refresh");

    // Made-up kids within oidc_refresh_min cost no further fetch.
    for n in 0..5 {
        let stray = Key {
            kid: format!("stray-{n}"),
            ..Key::ec(&s.setup.dir.path, &format!("stray-{n}"))
        };
        let (i, a) = w.request(
            Instr::LoginExternal,
            &["local", &s.provider.token(&stray, "user-3"), "false"],
        );
        assert_eq!((i, code(&a)), (Instr::LoginFail, "bad-token"), "{a:?}");
    }
    assert_eq!(s.provider.jwks_fetches(), before + 1, "no refresh storm");
    // The old key is gone from the JWKS.
    let old = s.provider.token(&s.key, "user-3");
    let (i, a) = w.request(Instr::LoginExternal, &["local", &old, "false"]);
    assert_eq!((i, code(&a)), (Instr::LoginFail, "bad-token"), "{a:?}");
}

/// Runs papertrader with its own HOME and XDG directories.
fn papertrader(home: &std::path::Path, server: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(util::bin("papertrader"))
        .args(args)
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("PAPERTRADER_SERVER", server)
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run papertrader")
}

fn ok(out: &std::process::Output) -> (String, String) {
    let (stdout, stderr) = (util::stdout(out), util::stderr(out));
    assert!(
        out.status.success(),
        "{:?}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    (stdout, stderr)
}

#[test]
fn papertrader_signs_in_with_the_device_flow_through_a_worker() {
    use util::system::System;
    let dir = util::daemon::TempDir::new("oidc-client");
    let key = Key::rsa(&dir.path, "rsa-1");
    let provider = Provider::start(&[&key]);
    let list = dir.join("master-providers");
    std::fs::write(&list, format!("local {} {CLIENT_ID}\n", provider.issuer)).expect("list");
    let extra = format!("oidc_providers_file = {}\n", list.display());
    let system = System::start("oidc-client", &extra, "");
    let server = system.worker.addr.to_string();

    // The client's own list, named by its config file.
    let home = dir.join("home");
    let conf = home.join("config").join("papertrader");
    std::fs::create_dir_all(&conf).expect("config dir");
    let client_list = dir.join("client-providers");
    std::fs::write(
        &client_list,
        format!(
            "# NAME ISSUER CLIENT_ID [SECRET]\nlocal {} {CLIENT_ID}\n",
            provider.issuer
        ),
    )
    .expect("client list");
    std::fs::write(
        conf.join("config"),
        format!("providers_file = {}\n", client_list.display()),
    )
    .expect("config");

    provider.set_device_token(&provider.token(&key, "frank-sub"));
    let out = papertrader(&home, &server, &["register", "frank", "--with", "local"]);
    let (stdout, stderr) = ok(&out);
    assert!(
        stdout.starts_with("registered frank with local"),
        "{stdout}"
    );
    let url = format!(
        "open {}/activate and enter the code {}",
        provider.issuer,
        oidc_provider::USER_CODE
    );
    assert!(
        stderr.contains(&url),
        "prints the URL and the code: {stderr}"
    );
    assert_eq!(
        provider.device_counts(),
        (1, 2),
        "one authorization, a pending poll, then the token"
    );

    provider.set_device_token(&provider.token(&key, "frank-sub"));
    let (stdout, _) = ok(&papertrader(
        &home,
        &server,
        &["login", "frank", "--with", "local"],
    ));
    assert!(stdout.starts_with("logged in as frank"), "{stdout}");
    let (stdout, _) = ok(&papertrader(&home, &server, &["user", "frank"]));
    assert!(stdout.contains("frank-sub@example.org"), "{stdout}");

    // Without a password, a password login is told which provider to use.
    std::fs::write(dir.join("pw"), "a new password\n").expect("pw");
    let pw = dir.join("pw");
    let pw = pw.to_str().expect("path");
    let out = papertrader(&home, &server, &["login", "frank", "--password-file", pw]);
    assert_eq!(out.status.code(), Some(77), "{}", util::stderr(&out));
    assert!(
        util::stderr(&out).contains("login --with local"),
        "{}",
        util::stderr(&out)
    );

    // Another identity cannot sign in as frank.
    provider.set_device_token(&provider.token(&key, "someone-else"));
    let out = papertrader(&home, &server, &["login", "frank", "--with", "local"]);
    assert!(!out.status.success(), "{}", util::stdout(&out));

    provider.set_device_token(&provider.token(&key, "frank-sub"));
    ok(&papertrader(
        &home,
        &server,
        &["login", "frank", "--with", "local"],
    ));
    let (stdout, _) = ok(&papertrader(
        &home,
        &server,
        &["password", "--password-file", pw],
    ));
    assert!(stdout.starts_with("password set for frank"), "{stdout}");
    let (stdout, _) = ok(&papertrader(
        &home,
        &server,
        &["login", "frank", "--password-file", pw],
    ));
    assert!(stdout.starts_with("logged in as frank"), "{stdout}");
}
