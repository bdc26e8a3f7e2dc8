//! Hostile logins and registrations against the real daemons (issue
//! "Hostile peers"): a stranger's password flood must not lock the owner
//! out, a registration flood from one address stops at `register_limit`,
//! and the per-(username, address) and per-address locks hold. The
//! stranger's addresses are set in the forwarding prefix of a test worker
//! link, as ptworkerd would set them.

mod util;

use std::collections::HashMap;

use papertrader_common::{Instr, ReasonCode};
use util::daemon::Daemon;
use util::master::{FAST_ARGON2, MasterSetup, TestWorker, hashed_pass};
use util::system::{System, call, start_worker};

const HOME: &str = "192.0.2.7";

/// The reason code and text of a failure's last argument.
fn reason(args: &[String]) -> (ReasonCode, String) {
    let text = args.last().expect("a reason");
    let (code, rest) = text.split_once(' ').unwrap_or((text, ""));
    let code = ReasonCode::parse(code).unwrap_or_else(|| panic!("no reason code in {text:?}"));
    (code, rest.to_string())
}

fn master(tag: &str, extra: &str) -> (MasterSetup, Daemon, TestWorker) {
    let setup = MasterSetup::new(tag);
    let master = setup.start(&format!("{FAST_ARGON2}{extra}"));
    let w = setup.link(master.addr, 0).expect("linked");
    (setup, master, w)
}

/// Sends every request at once, then reads every answer: `(instruction,
/// reason code)` of each, in the order sent.
fn pipeline(w: &mut TestWorker, requests: &[(Instr, Vec<String>, String)]) -> Vec<(Instr, String)> {
    let mut order = Vec::new();
    for (instr, args, client) in requests {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        order.push(w.send_request_from(*instr, &args, client));
    }
    let mut answers = HashMap::new();
    for _ in 0..requests.len() {
        let (reqid, instr, args) = w.recv_reply();
        let code = match instr {
            Instr::SessionId | Instr::RegisterSuccess => String::new(),
            _ => args
                .last()
                .and_then(|r| r.split(' ').next())
                .unwrap_or("")
                .to_string(),
        };
        answers.insert(reqid, (instr, code));
    }
    order.iter().map(|reqid| answers[reqid].clone()).collect()
}

fn login(w: &mut TestWorker, user: &str, password: &str, client: &str) -> (Instr, Vec<String>) {
    let pass = hashed_pass(user, password);
    w.request_from(Instr::Login, &[user, &pass, "true"], client)
}

fn register(w: &mut TestWorker, user: &str, client: &str) -> (Instr, Vec<String>) {
    let pass = hashed_pass(user, "pw");
    w.request_from(Instr::Register, &[user, "u@example.com", &pass], client)
}

/// 100 wrong passwords for `user`, 10 from each of 10 addresses of
/// `prefix` (`198.51.100`): enough to lock the username, whichever order
/// the two auth threads take them in.
fn flood(w: &mut TestWorker, user: &str, prefix: &str) {
    let wrong = hashed_pass(user, "guess");
    let requests: Vec<_> = (0..100)
        .map(|i| {
            let args = vec![user.to_string(), wrong.clone(), "true".to_string()];
            (
                Instr::Login,
                args,
                format!("{prefix}.{}:{}", i / 10, 1000 + i),
            )
        })
        .collect();
    for (instr, code) in pipeline(w, &requests) {
        assert_eq!(instr, Instr::LoginFail);
        assert!(
            code == "bad-credentials" || code == "rate-limited",
            "{code}"
        );
    }
}

#[test]
fn a_stranger_flood_does_not_lock_out_the_owner() {
    let (setup, master, mut w) = master("hafloodowner", "");
    let home = |port: u16| format!("{HOME}:{port}");
    assert_eq!(
        register(&mut w, "victim", &home(5000)).0,
        Instr::RegisterSuccess
    );
    assert_eq!(
        login(&mut w, "victim", "pw", &home(5000)).0,
        Instr::SessionId
    );

    flood(&mut w, "victim", "198.51.100");
    let (i, a) = login(&mut w, "VICTIM", "pw", &home(6000));
    assert_eq!(i, Instr::SessionId, "the owner from home: {a:?}");
    let (i, a) = login(&mut w, "victim", "pw", "198.51.100.3:7000");
    assert_eq!(i, Instr::LoginFail);
    let (code, text) = reason(&a);
    assert_eq!(code, ReasonCode::RateLimited, "the flooding address");
    assert!(
        text.starts_with("too many failed logins; try again in "),
        "{text}"
    );
    let (i, a) = login(&mut w, "victim", "pw", "203.0.113.9:1");
    assert_eq!(
        (i, reason(&a).0),
        (Instr::LoginFail, ReasonCode::RateLimited),
        "a new address, even with the password, while the username is locked"
    );
    assert_eq!(
        register(&mut w, "bystander", "203.0.113.9:2").0,
        Instr::RegisterSuccess
    );
    let (i, a) = login(&mut w, "bystander", "pw", "203.0.113.9:3");
    assert_eq!(i, Instr::SessionId, "other accounts are not slowed: {a:?}");

    // After a restart the limiter is empty; the sessions table still knows
    // where the owner logged in from.
    drop(w);
    drop(master);
    let master = setup.start(FAST_ARGON2);
    let mut w = setup.link(master.addr, 0).expect("linked again");
    flood(&mut w, "victim", "198.51.101");
    let (i, a) = login(&mut w, "victim", "pw", &home(8000));
    assert_eq!(
        i,
        Instr::SessionId,
        "the owner, known from its sessions: {a:?}"
    );
    let (i, a) = login(&mut w, "victim", "pw", "203.0.113.10:1");
    assert_eq!(
        (i, reason(&a).0),
        (Instr::LoginFail, ReasonCode::RateLimited)
    );
}

#[test]
fn the_owner_through_ptworkerd_outlasts_a_flood_from_another_worker() {
    let mut setup = MasterSetup::new("haworker");
    setup.add_worker("w2");
    setup.write_workers_list(&[(0, "127.0.0.1"), (1, "127.0.0.1")]);
    let master = setup.start(FAST_ARGON2);
    let worker = start_worker(&setup, master.addr, "");
    let system = System {
        setup,
        master,
        worker,
        worker_extra: String::new(),
    };
    system.wait_linked(std::time::Duration::from_secs(20));
    let mut client = system.client();
    let pass = hashed_pass("owner", "pw");
    let args = ["owner", "o@example.com", pass.as_str()];
    assert_eq!(
        call(&mut client, Instr::Register, &args).0,
        Instr::RegisterSuccess
    );
    let (i, a) = call(&mut client, Instr::Login, &["owner", &pass, "true"]);
    assert_eq!(i, Instr::SessionId, "{a:?}");

    let mut stranger = system.setup.link(system.master.addr, 1).expect("w2 linked");
    flood(&mut stranger, "owner", "198.51.100");
    let (i, a) = login(&mut stranger, "owner", "pw", "203.0.113.1:1");
    assert_eq!(
        (i, reason(&a).0),
        (Instr::LoginFail, ReasonCode::RateLimited)
    );

    let mut again = system.client();
    let (i, a) = call(&mut again, Instr::Login, &["owner", &pass, "false"]);
    assert_eq!(i, Instr::SessionId, "the owner from 127.0.0.1: {a:?}");
}

#[test]
fn ten_failures_from_one_address_lock_it_not_the_username() {
    let (_setup, _master, mut w) = master("hapair", "");
    assert_eq!(
        register(&mut w, "alice", "10.9.9.9:1").0,
        Instr::RegisterSuccess
    );
    assert_eq!(
        register(&mut w, "bob", "10.9.9.9:2").0,
        Instr::RegisterSuccess
    );
    for port in 0..10 {
        let (i, a) = login(&mut w, "alice", "guess", &format!("10.1.1.1:{port}"));
        assert_eq!(
            (i, reason(&a).0),
            (Instr::LoginFail, ReasonCode::BadCredentials)
        );
    }
    let (i, a) = login(&mut w, "alice", "pw", "10.1.1.1:99");
    let (code, text) = reason(&a);
    assert_eq!((i, code), (Instr::LoginFail, ReasonCode::RateLimited));
    assert_eq!(text, "too many failed logins; try again in 600 s");
    let (i, a) = login(&mut w, "bob", "pw", "10.1.1.1:100");
    assert_eq!(
        (i, reason(&a).0),
        (Instr::LoginFail, ReasonCode::RateLimited),
        "the address is locked for every username"
    );
    let (i, a) = login(&mut w, "alice", "pw", "10.2.2.2:1");
    assert_eq!(i, Instr::SessionId, "another address: {a:?}");
}

#[test]
fn an_ipv6_64_counts_as_one_address() {
    let (_setup, _master, mut w) = master("ha64", "");
    assert_eq!(
        register(&mut w, "carol", "[2001:db8:600d::1]:1").0,
        Instr::RegisterSuccess
    );
    for host in 1..=10 {
        let client = format!("[2001:db8:bad:0:{host:x}::1]:4000");
        let (i, _) = login(&mut w, &format!("nobody{host}"), "pw", &client);
        assert_eq!(i, Instr::LoginFail);
    }
    let (i, a) = login(&mut w, "carol", "pw", "[2001:db8:bad:0:ffff:1:2:3]:1");
    assert_eq!(
        (i, reason(&a).0),
        (Instr::LoginFail, ReasonCode::RateLimited),
        "new host bits, same /64"
    );
    let (i, a) = login(&mut w, "carol", "pw", "[2001:db8:bad:1::1]:1");
    assert_eq!(i, Instr::SessionId, "the next /64: {a:?}");
}

#[test]
fn a_register_flood_is_refused_after_the_limit() {
    let (_setup, _master, mut w) = master("hareg", "");
    let requests: Vec<_> = (0..15)
        .map(|i| {
            let user = format!("bot{i}");
            let pass = hashed_pass(&user, "pw");
            let args = vec![user, "b@example.com".to_string(), pass];
            (Instr::Register, args, format!("198.51.100.7:{}", 2000 + i))
        })
        .collect();
    let answers = pipeline(&mut w, &requests);
    let made = answers
        .iter()
        .filter(|(i, _)| *i == Instr::RegisterSuccess)
        .count();
    assert_eq!(made, 10, "the default register_limit: {answers:?}");
    for (i, code) in &answers {
        assert!(
            *i == Instr::RegisterSuccess || (*i == Instr::RegisterFail && code == "rate-limited"),
            "{answers:?}"
        );
    }
    let (i, a) = register(&mut w, "late", "198.51.100.7:9999");
    let (code, text) = reason(&a);
    assert_eq!((i, code), (Instr::RegisterFail, ReasonCode::RateLimited));
    assert!(
        text.starts_with("too many registrations from this address; try again in "),
        "{text}"
    );
    assert_eq!(
        register(&mut w, "late", "192.0.2.8:1").0,
        Instr::RegisterSuccess
    );
}

#[test]
fn register_limit_zero_is_no_limit() {
    let (_setup, _master, mut w) = master("hareg0", "register_limit = 0\n");
    for i in 0..15 {
        let (answer, a) = register(&mut w, &format!("user{i}"), "198.51.100.8:1");
        assert_eq!(answer, Instr::RegisterSuccess, "{a:?}");
    }
}
