//! ptmasterd end to end: the real daemon on loopback with a real SQLite
//! file and throwaway GnuPG keys, driven through a worker link that does
//! the real handshake (tests/util/master.rs).

mod util;

use std::time::{Duration, Instant};

use papertrader_common::message::frame;
use papertrader_common::{Instr, ReasonCode};
use util::master::{FAST_ARGON2, MasterSetup, TestWorker, hashed_pass};
use util::wire::{Peer, instr, words};

fn code_of(args: &[String]) -> ReasonCode {
    let reason = args.last().expect("a reason");
    let word = reason.split(' ').next().expect("a code");
    ReasonCode::parse(word).unwrap_or_else(|| panic!("unknown reason code in {reason:?}"))
}

fn worker_list(addr: std::net::SocketAddr) -> Vec<String> {
    let mut peer = Peer::connect(addr);
    peer.send(&frame::<&str>(Instr::GetWorkerList, &[]));
    let answer = peer.recv();
    assert_eq!(instr(&answer), Instr::WorkerList);
    assert!(
        peer.closed_within(Duration::from_secs(5)),
        "the master closes after answering"
    );
    words(&answer)
}

#[test]
fn registered_worker_is_accepted_and_listed() {
    let setup = MasterSetup::new("accept");
    let master = setup.start(FAST_ARGON2);
    assert_eq!(
        worker_list(master.addr),
        Vec::<String>::new(),
        "no worker up yet"
    );
    let worker = setup.link(master.addr, 0).expect("linkAccepted");
    assert_eq!(worker.worker_list, ["127.0.0.1:2049"]);
    assert_eq!(worker_list(master.addr), ["127.0.0.1:2049"]);
}

#[test]
fn unknown_uuid_is_refused() {
    let mut setup = MasterSetup::new("unknown");
    setup.add_worker("stranger");
    let master = setup.start(FAST_ARGON2);
    let refusal = setup.link(master.addr, 1).err().expect("refused");
    assert_eq!(instr(&refusal), Instr::LinkRefused);
    assert_eq!(code_of(&words(&refusal)), ReasonCode::Forbidden);
    assert!(
        words(&refusal)[0].contains("unknown worker UUID"),
        "{:?}",
        words(&refusal)
    );
}

#[test]
fn peer_address_outside_the_entry_is_refused() {
    let setup = MasterSetup::new("addr");
    setup.write_workers_list(&[(0, "10.0.0.0/8,192.168.1.7")]);
    let master = setup.start(FAST_ARGON2);
    let refusal = setup.link(master.addr, 0).err().expect("refused");
    assert_eq!(instr(&refusal), Instr::LinkRefused);
    let text = &words(&refusal)[0];
    assert!(
        text.starts_with("forbidden peer address 127.0.0.1 is not allowed"),
        "{text}"
    );
}

#[test]
fn signature_by_another_key_is_refused() {
    let mut setup = MasterSetup::new("otherkey");
    let impostor = setup.add_worker("impostor");
    // The impostor presents w1's UUID but signs with its own key.
    setup.workers[impostor].uuid = setup.workers[0].uuid.clone();
    let master = setup.start(FAST_ARGON2);
    let refusal = setup.link(master.addr, impostor).err().expect("refused");
    assert_eq!(instr(&refusal), Instr::LinkRefused);
    let text = &words(&refusal)[0];
    assert!(text.starts_with("forbidden worker proof refused"), "{text}");
}

#[test]
fn replayed_proof_is_refused() {
    use papertrader_common::gpg::{Role, Signer, handshake_message};
    let setup = MasterSetup::new("replay");
    let master = setup.start(FAST_ARGON2);
    let key = &setup.workers[0];
    let mut signer = Signer::new(Some(&key.home.path), &key.fingerprint).expect("signer");
    let nonce = "00112233445566778899aabbccddeeff";
    // First handshake: record the proof we sent.
    let mut first = Peer::connect_tls(master.addr);
    first.send(&frame(
        Instr::WorkerHello,
        &[&key.uuid, "w1", "127.0.0.1:2049", nonce],
    ));
    let challenge = words(&first.recv());
    let proof = signer
        .sign(&handshake_message(
            Role::Worker,
            &key.uuid,
            &challenge[0],
            &first.exporter(),
        ))
        .expect("sign");
    first.send(&frame(Instr::WorkerProof, &[proof.as_str()]));
    assert_eq!(instr(&first.recv()), Instr::LinkAccepted);
    // Second handshake: a new master nonce, the old proof.
    let mut second = Peer::connect_tls(master.addr);
    second.send(&frame(
        Instr::WorkerHello,
        &[&key.uuid, "w1", "127.0.0.1:2049", nonce],
    ));
    let challenge2 = words(&second.recv());
    assert_ne!(
        challenge2[0], challenge[0],
        "a fresh master nonce every handshake"
    );
    second.send(&frame(Instr::WorkerProof, &[proof.as_str()]));
    let refusal = second.recv();
    assert_eq!(instr(&refusal), Instr::LinkRefused);
    assert_eq!(code_of(&words(&refusal)), ReasonCode::Forbidden);
}

#[test]
fn stalled_handshake_is_refused_after_ten_seconds() {
    let setup = MasterSetup::new("stall");
    let master = setup.start(FAST_ARGON2);
    let key = &setup.workers[0];
    let start = Instant::now();
    let mut peer = Peer::connect_tls(master.addr);
    let nonce = "00112233445566778899aabbccddeeff";
    peer.send(&frame(
        Instr::WorkerHello,
        &[&key.uuid, "w1", "127.0.0.1:2049", nonce],
    ));
    assert_eq!(instr(&peer.recv()), Instr::MasterChallenge);
    // No proof: the master gives up after the default 10 s.
    let refusal = peer
        .try_recv(Duration::from_secs(13))
        .expect("linkRefused after the deadline");
    let waited = start.elapsed();
    assert_eq!(instr(&refusal), Instr::LinkRefused);
    assert!(
        words(&refusal)[0].contains("handshake not finished within 10 s"),
        "{:?}",
        words(&refusal)
    );
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(12),
        "{waited:?}"
    );
    assert!(peer.closed_within(Duration::from_secs(2)));
}

#[test]
fn anything_else_before_link_accepted_is_forbidden() {
    let setup = MasterSetup::new("early");
    let master = setup.start(FAST_ARGON2);
    let mut peer = Peer::connect(master.addr);
    peer.send(&frame(Instr::Login, &["alice", "x", "false"]));
    let answer = peer.recv();
    assert_eq!(instr(&answer), Instr::ProtocolError);
    assert_eq!(code_of(&words(&answer)), ReasonCode::Forbidden);
    assert!(peer.closed_within(Duration::from_secs(5)));
}

#[test]
fn bad_header_gets_protocol_error_and_close() {
    let setup = MasterSetup::new("badhdr");
    let master = setup.start(FAST_ARGON2);
    let mut peer = Peer::connect(master.addr);
    peer.send_raw(&[1, 1, 0, 3, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
    let answer = peer.recv();
    assert_eq!(instr(&answer), Instr::ProtocolError);
    assert_eq!(
        words(&answer)[0],
        "protocol data_size 2147483647 exceeds the 65536-byte limit"
    );
    assert!(peer.closed_within(Duration::from_secs(5)));
}

#[test]
fn accounts_through_the_link() {
    let setup = MasterSetup::new("accounts");
    let master = setup.start(FAST_ARGON2);
    let mut w = setup.link(master.addr, 0).expect("linked");
    let pass = hashed_pass("Alice", "correct horse battery staple");

    let (i, a) = w.request(Instr::Register, &["Alice", "alice@example.com", &pass]);
    assert_eq!((i, a.len()), (Instr::RegisterSuccess, 0));
    let (i, a) = w.request(Instr::Register, &["aLICE", "other@example.com", &pass]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::RegisterFail, ReasonCode::UsernameTaken)
    );
    let long = "a".repeat(25);
    let (i, a) = w.request(Instr::Register, &[&long, "x@example.com", &pass]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::RegisterFail, ReasonCode::InvalidUsername)
    );
    let (i, a) = w.request(Instr::Register, &["bob", "bob-at-example.com", &pass]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::RegisterFail, ReasonCode::InvalidEmail)
    );
    let (i, a) = w.request(Instr::Register, &["bob", "bob@example.com"]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::RegisterFail, ReasonCode::BadArguments)
    );

    let wrong = hashed_pass("alice", "wrong");
    let (i, a) = w.request(Instr::Login, &["alice", &wrong, "false"]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::LoginFail, ReasonCode::BadCredentials)
    );

    let (i, a) = w.request(Instr::Login, &["ALICE", &pass, "false"]);
    assert_eq!(i, Instr::SessionId, "login ignores case: {a:?}");
    let session = a[0].clone();
    assert_eq!(session.len(), 32);
    let (i, a) = w.request(Instr::LoginSession, &[&session]);
    assert_eq!((i, a), (Instr::SessionId, vec![session.clone()]));
    let (i, a) = w.request(Instr::SwitchState, &[&session, "data"]);
    assert_eq!(
        (i, a),
        (Instr::StateSwitchSuccess, vec!["data".to_string()])
    );
    let (i, _) = w.request(Instr::Logout, &[&session]);
    assert_eq!(i, Instr::LogoutSuccess);
    let (i, a) = w.request(Instr::LoginSession, &[&session]);
    assert_eq!((i, code_of(&a)), (Instr::LoginFail, ReasonCode::BadSession));
    let (i, a) = w.request(Instr::Logout, &[&session]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::LogoutFail, ReasonCode::BadSession)
    );
}

#[test]
fn failed_logins_are_rate_limited() {
    let setup = MasterSetup::new("ratelimit");
    let extra = format!("{FAST_ARGON2}rate_limit_failures = 3\nrate_limit_lockout = 2s\n");
    let master = setup.start(&extra);
    let mut w = setup.link(master.addr, 0).expect("linked");
    let pass = hashed_pass("carol", "pw");
    assert_eq!(
        w.request(Instr::Register, &["carol", "carol@example.com", &pass])
            .0,
        Instr::RegisterSuccess
    );
    for _ in 0..3 {
        let (i, a) = w.request(Instr::Login, &["carol", "wrong", "true"]);
        assert_eq!(
            (i, code_of(&a)),
            (Instr::LoginFail, ReasonCode::BadCredentials)
        );
    }
    let (i, a) = w.request(Instr::Login, &["carol", &pass, "true"]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::LoginFail, ReasonCode::RateLimited),
        "locked even with the right password"
    );
    assert!(a[0].contains("try again in"), "{a:?}");
    std::thread::sleep(Duration::from_millis(2100));
    let (i, _) = w.request(Instr::Login, &["carol", &pass, "true"]);
    assert_eq!(i, Instr::SessionId, "the lock lifts after the lockout");
}

#[test]
fn sessions_expire_and_close() {
    let setup = MasterSetup::new("expiry");
    let extra = format!("{FAST_ARGON2}session_ttl_short = 2s\nsession_ttl_long = 4s\n");
    let master = setup.start(&extra);
    let mut w = setup.link(master.addr, 0).expect("linked");
    let pass = hashed_pass("dave", "pw");
    assert_eq!(
        w.request(Instr::Register, &["dave", "dave@example.com", &pass])
            .0,
        Instr::RegisterSuccess
    );
    let short = w
        .request(Instr::Login, &["dave", &pass, "true"])
        .1
        .remove(0);
    let long = w
        .request(Instr::Login, &["dave", &pass, "false"])
        .1
        .remove(0);
    let closed = w
        .request(Instr::Login, &["dave", &pass, "true"])
        .1
        .remove(0);
    let remembered = w
        .request(Instr::Login, &["dave", &pass, "false"])
        .1
        .remove(0);

    // sessionClosed ends an expirable session, not a remembered one.
    w.peer
        .send(&frame(Instr::SessionClosed, &[closed.as_str()]));
    w.peer
        .send(&frame(Instr::SessionClosed, &[remembered.as_str()]));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        w.request(Instr::LoginSession, &[&closed]).0,
        Instr::LoginFail
    );
    assert_eq!(
        w.request(Instr::LoginSession, &[&remembered]).0,
        Instr::SessionId
    );

    std::thread::sleep(Duration::from_millis(2200));
    let (i, a) = w.request(Instr::LoginSession, &[&short]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::LoginFail, ReasonCode::BadSession),
        "short TTL over"
    );
    assert_eq!(
        w.request(Instr::LoginSession, &[&long]).0,
        Instr::SessionId,
        "long TTL not yet"
    );
    std::thread::sleep(Duration::from_millis(2200));
    let (i, a) = w.request(Instr::LoginSession, &[&long]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::LoginFail, ReasonCode::BadSession),
        "long TTL over"
    );
}

#[test]
fn forwarded_request_with_another_uuid_is_refused() {
    let setup = MasterSetup::new("prefix");
    let master = setup.start(FAST_ARGON2);
    let mut w = setup.link(master.addr, 0).expect("linked");
    w.uuid = "00000000-0000-0000-0000-000000000000".into();
    let (i, a) = w.request(Instr::LoginSession, &["0f1e2d3c4b5a69788796a5b4c3d2e1f0"]);
    assert_eq!((i, code_of(&a)), (Instr::LoginFail, ReasonCode::Forbidden));
}

#[test]
fn newer_link_replaces_the_old_one() {
    let setup = MasterSetup::new("replace");
    let master = setup.start(FAST_ARGON2);
    let mut old = setup.link(master.addr, 0).expect("first link");
    let _new = setup.link(master.addr, 0).expect("second link");
    let kick = old
        .wait_control(Instr::Kick, Duration::from_secs(5))
        .expect("old link kicked");
    assert!(words(&kick)[0].starts_with("unavailable replaced by a newer link"));
    assert_eq!(worker_list(master.addr), ["127.0.0.1:2049"]);
}

#[test]
fn max_workers_is_enforced() {
    let mut setup = MasterSetup::new("maxw");
    setup.add_worker("w2");
    setup.write_workers_list(&[(0, "127.0.0.1"), (1, "127.0.0.0/8")]);
    let master = setup.start(&format!("{FAST_ARGON2}max_workers = 1\n"));
    let _first = setup.link(master.addr, 0).expect("first fits");
    let refusal = setup
        .link(master.addr, 1)
        .err()
        .expect("second over the limit");
    assert_eq!(code_of(&words(&refusal)), ReasonCode::Unavailable);
}

#[test]
fn pings_are_answered_while_logins_hash() {
    let setup = MasterSetup::new("busy");
    // Real argon2 cost (the defaults), so 50 logins keep the pool busy.
    let master = setup.start("");
    let mut w = setup.link(master.addr, 0).expect("linked");
    let pass = hashed_pass("erin", "pw");
    assert_eq!(
        w.request(Instr::Register, &["erin", "erin@example.com", &pass])
            .0,
        Instr::RegisterSuccess
    );
    for _ in 0..50 {
        w.send_request(Instr::Login, &["erin", &pass, "true"]);
    }
    let mut worst = Duration::ZERO;
    let mut replies = 0;
    for n in 0..20 {
        let token = format!("p{n}");
        let sent = Instant::now();
        w.peer.send(&frame(Instr::Ping, &[token.as_str()]));
        loop {
            let f = w.peer.recv();
            if instr(&f) == Instr::Pong {
                assert_eq!(words(&f), std::slice::from_ref(&token));
                worst = worst.max(sent.elapsed());
                break;
            }
            replies += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        replies < 50,
        "logins were still hashing while pings were answered ({replies} done)"
    );
    assert!(
        worst < Duration::from_millis(50),
        "slowest pong took {worst:?}"
    );
}

#[test]
fn getworkerlist_on_master_port_for_any_peer() {
    let setup = MasterSetup::new("wlist");
    let master = setup.start(FAST_ARGON2);
    let mut peer = Peer::connect(master.addr);
    peer.send(&frame::<&str>(Instr::GetWorkerList, &[]));
    let answer = peer.recv();
    assert_eq!(
        answer.to_bytes(),
        [3, 44, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    assert!(peer.closed_within(Duration::from_secs(5)));
}

#[test]
fn remembered_link_survives_sigterm_and_sigkill_keeps_accounts() {
    let setup = MasterSetup::new("durable");
    // 40 registrations from one address: past the default register_limit.
    let mut master = setup.start(&format!("{FAST_ARGON2}register_limit = 0\n"));
    let mut w = setup.link(master.addr, 0).expect("linked");
    let mut acknowledged = Vec::new();
    for n in 0..40 {
        let name = format!("user{n}");
        let pass = hashed_pass(&name, "pw");
        w.send_request(Instr::Register, &[&name, "u@example.com", &pass]);
        acknowledged.push(name);
    }
    let mut ok = Vec::new();
    for _ in 0..20 {
        let (reqid, i, _) = w.recv_reply();
        assert_eq!(i, Instr::RegisterSuccess);
        ok.push(acknowledged[reqid as usize - 1].clone());
    }
    master.kill9();
    drop(w);
    let master = setup.start(FAST_ARGON2);
    let mut w = setup.link(master.addr, 0).expect("linked again");
    for name in ok {
        let (i, a) = w.request(Instr::Login, &[&name, &hashed_pass(&name, "pw"), "true"]);
        assert_eq!(
            i,
            Instr::SessionId,
            "{name} was acknowledged before kill -9: {a:?}"
        );
    }
}

#[test]
fn sigterm_under_load_exits_zero_with_log_flushed() {
    let setup = MasterSetup::new("sigterm");
    let mut master = setup.start("");
    let mut w = setup.link(master.addr, 0).expect("linked");
    let pass = hashed_pass("frank", "pw");
    assert_eq!(
        w.request(Instr::Register, &["frank", "f@example.com", &pass])
            .0,
        Instr::RegisterSuccess
    );
    for _ in 0..100 {
        w.send_request(Instr::Login, &["frank", &pass, "true"]);
    }
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    master.signal(libc::SIGTERM);
    let status = master
        .wait_exit(Duration::from_secs(5))
        .expect("exited within 5 s");
    assert!(
        status.success(),
        "exit status {status:?}; stderr:\n{}",
        master.stderr_text()
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    let log = std::fs::read_to_string(setup.log_file()).expect("log file");
    assert!(
        log.contains("shutting down") && log.contains("stopped"),
        "log:\n{log}"
    );
    assert!(!setup.control_socket().exists(), "control socket removed");
}

#[test]
fn config_errors_exit_78_and_check_mode() {
    let setup = MasterSetup::new("conf");
    let bad = setup.dir.join("bad.conf");
    std::fs::write(&bad, "# comment\nlisen = 1\n").expect("write");
    let out = util::run("ptmasterd", &["-f", "-c", bad.to_str().expect("path")], b"");
    assert_eq!(out.status.code(), Some(78));
    let err = util::stderr(&out);
    assert!(
        err.contains("bad.conf:2: unknown key \"lisen\", expected one of: listen,"),
        "{err}"
    );
    std::fs::write(&bad, "max_workers = 0\nsession_ttl_short = soon\n").expect("write");
    let out = util::run("ptmasterd", &["-f", "-c", bad.to_str().expect("path")], b"");
    assert_eq!(out.status.code(), Some(78));
    let err = util::stderr(&out);
    assert!(err.contains("bad.conf:1: max_workers"), "{err}");
    assert!(err.contains("bad.conf:2: session_ttl_short"), "{err}");
    let out = util::run(
        "ptmasterd",
        &["-f", "-c", "/nonexistent/ptmasterd.conf"],
        b"",
    );
    assert_eq!(out.status.code(), Some(78));
    assert!(
        util::stderr(&out).contains("/nonexistent/ptmasterd.conf"),
        "{}",
        util::stderr(&out)
    );
    let good = setup.write_conf("");
    let out = util::run(
        "ptmasterd",
        &["-n", "-c", good.to_str().expect("path")],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", util::stderr(&out));
    assert_eq!(util::stdout(&out), "configuration OK\n");
}

#[test]
fn files_are_created_with_tight_modes() {
    use std::os::unix::fs::PermissionsExt;
    let setup = MasterSetup::new("modes");
    let _master = setup.start(FAST_ARGON2);
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode(&setup.control_socket()), 0o600);
    assert_eq!(mode(&setup.dir.join("master.db")), 0o600);
    assert_eq!(mode(&setup.log_file()), 0o640);
}

#[test]
fn ptctl_kick_reload_and_errors() {
    let mut setup = MasterSetup::new("ptctl");
    setup.add_worker("w2");
    let master = setup.start(FAST_ARGON2);
    let sock = setup.control_socket();
    let sock = sock.to_str().expect("path");
    let mut w1 = setup.link(master.addr, 0).expect("linked");
    assert!(setup.link(master.addr, 1).is_err(), "w2 not registered yet");

    let out = util::run("ptctl", &["-s", sock, "workers"], b"");
    assert!(out.status.success(), "{}", util::stderr(&out));
    let text = util::stdout(&out);
    assert!(
        text.contains(&format!("w1 {} 127.0.0.1:2049", setup.workers[0].uuid)),
        "{text}"
    );

    let out = util::run("ptctl", &["-s", sock, "kick", "w1"], b"");
    assert!(out.status.success(), "{}", util::stderr(&out));
    let kick = w1
        .wait_control(Instr::Kick, Duration::from_secs(5))
        .expect("kick frame");
    assert!(words(&kick)[0].starts_with("forbidden"));
    assert_eq!(
        worker_list(master.addr),
        Vec::<String>::new(),
        "kicked worker leaves the list"
    );

    setup.write_workers_list(&[(0, "127.0.0.1"), (1, "127.0.0.1")]);
    let out = util::run("ptctl", &["-s", sock, "reload"], b"");
    assert!(out.status.success(), "{}", util::stderr(&out));
    assert!(util::stdout(&out).contains("2 workers registered"));
    let _w2 = setup
        .link(master.addr, 1)
        .expect("w2 accepted after reload");
    assert_eq!(worker_list(master.addr), ["127.0.0.1:2049"]);

    let out = util::run("ptctl", &["-s", sock, "kick", "nobody"], b"");
    assert_eq!(out.status.code(), Some(70));
    assert!(util::stderr(&out).contains("no linked worker is named \"nobody\""));
    let out = util::run("ptctl", &["-s", sock, "status"], b"");
    let status = util::stdout(&out);
    assert!(
        status.contains("workers linked 1 of 16 allowed"),
        "{status}"
    );
    assert!(
        status.contains(&format!("listening on {}", master.addr)),
        "bound address: {status}"
    );
    let out = util::run("ptctl", &["-s", sock, "log", "flush"], b"");
    assert!(out.status.success());
    let out = util::run("ptctl", &["-s", sock, "frobnicate"], b"");
    assert_eq!(out.status.code(), Some(64));
    let out = util::run("ptctl", &["-s", "/nonexistent/ctl.sock", "status"], b"");
    assert_eq!(out.status.code(), Some(69));
    assert!(util::stderr(&out).contains("is ptmasterd running?"));
}

#[test]
fn ptctl_sessions_lists_without_ids() {
    let setup = MasterSetup::new("sessions");
    let master = setup.start(FAST_ARGON2);
    let mut w = setup.link(master.addr, 0).expect("linked");
    let pass = hashed_pass("gina", "pw");
    assert_eq!(
        w.request(Instr::Register, &["gina", "g@example.com", &pass])
            .0,
        Instr::RegisterSuccess
    );
    let session = w
        .request(Instr::Login, &["gina", &pass, "false"])
        .1
        .remove(0);
    let sock = setup.control_socket();
    let out = util::run(
        "ptctl",
        &["-s", sock.to_str().expect("path"), "sessions"],
        b"",
    );
    let text = util::stdout(&out);
    assert!(
        text.contains("gina ") && text.contains("remembered w1"),
        "{text}"
    );
    assert!(!text.contains(&session), "session ids never shown");
}

#[test]
fn forwarded_requests_with_bad_arguments_get_their_failure() {
    let setup = MasterSetup::new("unserved");
    let master = setup.start(FAST_ARGON2);
    let mut w = setup.link(master.addr, 0).expect("linked");
    let (i, a) = w.request(
        Instr::PurchaseAsset,
        &["0f1e2d3c4b5a69788796a5b4c3d2e1f0", "AAPL", "1"],
    );
    assert_eq!(
        (i, code_of(&a)),
        (Instr::PurchaseFail, ReasonCode::BadSession)
    );
    let reqid = w.send_request(Instr::Login, &["a", "b"]);
    let (got, i, a) = w.recv_reply();
    assert_eq!(
        (got, i, code_of(&a)),
        (reqid, Instr::LoginFail, ReasonCode::BadArguments)
    );
}

#[test]
fn linked_worker_can_still_use_the_link_after_other_peers_misbehave() {
    let setup = MasterSetup::new("isolate");
    let master = setup.start(FAST_ARGON2);
    let mut w = setup.link(master.addr, 0).expect("linked");
    let mut bad = Peer::connect(master.addr);
    bad.send_raw(&[0u8; 16]);
    assert!(bad.closed_within(Duration::from_secs(5)));
    let _ = TestWorker::link(
        master.addr,
        &setup.workers[0],
        &setup.master_fpr,
        "127.0.0.1:2049",
    );
    // w was replaced by the link just made; a fresh one still works.
    let _ = w.wait_control(Instr::Kick, Duration::from_secs(5));
    let mut w = setup.link(master.addr, 0).expect("linked again");
    assert_eq!(
        w.request(Instr::LoginSession, &["0f1e2d3c4b5a69788796a5b4c3d2e1f0"])
            .0,
        Instr::LoginFail
    );
}

#[test]
fn detaches_with_a_pid_file_without_f() {
    let setup = MasterSetup::new("detach");
    let conf = setup.write_conf(FAST_ARGON2);
    let out = util::run("ptmasterd", &["-c", conf.to_str().expect("path")], b"");
    assert!(
        out.status.success(),
        "parent exits 0: {}",
        util::stderr(&out)
    );
    let pid_file = setup.dir.join("ptmasterd.pid");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !setup.control_socket().exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    // SAFETY: signal 0 only checks that the process exists.
    assert_eq!(unsafe { libc::kill(pid, 0) }, 0, "daemon {pid} alive");
    let sock = setup.control_socket();
    let out = util::run(
        "ptctl",
        &["-s", sock.to_str().expect("path"), "status"],
        b"",
    );
    assert!(
        util::stdout(&out).contains(&format!("pid {pid}")),
        "{}",
        util::stdout(&out)
    );
    // SAFETY: terminating the daemon this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while pid_file.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!pid_file.exists(), "pid file removed on SIGTERM");
}

#[test]
fn sighup_reopens_the_log_file_for_rotation() {
    let setup = MasterSetup::new("rotate");
    let master = setup.start(FAST_ARGON2);
    let log = setup.log_file();
    let rotated = setup.dir.join("ptmasterd.log.1");
    // logrotate: move the file away, then tell the daemon.
    std::fs::rename(&log, &rotated).expect("rotate");
    master.signal(libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !log.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(log.exists(), "a new log file under the configured name");
    // The reload is read on the control thread and logged when it is in
    // force, which may be after a first flush: flush until it shows.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut text = String::new();
    while !text.contains("SIGHUP: reloaded") && Instant::now() < deadline {
        master.signal(libc::SIGUSR1);
        std::thread::sleep(Duration::from_millis(50));
        text = std::fs::read_to_string(&log).unwrap_or_default();
    }
    assert!(
        text.contains("SIGHUP: reloaded"),
        "new entries go to the new file: {text}"
    );
    let old = std::fs::read_to_string(&rotated).expect("rotated file");
    assert!(
        old.contains("listening on"),
        "older entries stay in the rotated file"
    );
}
