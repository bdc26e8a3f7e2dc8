//! Hostile peers against the real daemons (issue "Hostile peers"): each
//! case checks that the daemon is still up and that an honest client on
//! another connection is still served.

mod util;

use papertrader_common::message::frame;
use papertrader_common::{Frame, Instr, MessageType};
use util::master::{FAST_ARGON2, MasterSetup};
use util::system::{System, call};
use util::wire::{Peer, instr, words};

const SID: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// Both daemons are up and small, and an honest client on a new
/// connection still gets its worker list.
fn still_served(system: &System) {
    let mut honest = system.client();
    assert_eq!(
        call(&mut honest, Instr::GetWorkerList, &[]).0,
        Instr::WorkerList,
        "the worker still serves honest clients"
    );
    master_bounded(system.master.pid());
    let worker = rss_kib(system.worker.pid());
    assert!(worker < 64 * 1024, "worker RSS {worker} KiB, bound 64 MiB");
}

/// The master is alive and under 128 MiB (tests run the fast argon2).
fn master_bounded(pid: i32) {
    let rss = rss_kib(pid);
    assert!(
        rss > 0 && rss < 128 * 1024,
        "master RSS {rss} KiB, bound 128 MiB"
    );
}

/// One frame of `instr` whose data is exactly `data`, argument count `argc`.
fn raw(instr: Instr, argc: u16, data: Vec<u8>) -> Frame {
    Frame::new(instr.kind(), instr.code(), argc, data)
}

#[test]
fn huge_switch_state_echo_does_not_kill_the_worker() {
    // The bug: a 65,551-byte switchState whose state argument the reply
    // echoed no longer fit a frame, and building it panicked.
    let system = System::start("hhuge", "", "");
    let mut attacker = system.client();
    let mut data = format!("{SID} ").into_bytes();
    data.extend(std::iter::repeat_n(
        b'\x07',
        papertrader_common::MAX_DATA - data.len(),
    ));
    attacker.send(&raw(Instr::SwitchState, 2, data));
    let answer = attacker.recv();
    assert_eq!(instr(&answer), Instr::StateSwitchFail);
    let reason = &words(&answer)[0];
    assert!(reason.starts_with("bad-arguments state "), "{reason}");
    assert!(
        reason.len() < 400,
        "the echo is an excerpt: {} bytes",
        reason.len()
    );
    still_served(&system);
}

#[test]
fn huge_worker_uuid_does_not_kill_the_master() {
    let setup = MasterSetup::new("hmuuid");
    let master = setup.start(FAST_ARGON2);
    let mut peer = Peer::connect_tls(master.addr);
    let nonce = "0".repeat(32);
    let room = papertrader_common::MAX_DATA - 32 - " w 127.0.0.1:1 ".len();
    let uuid = "u".repeat(room);
    peer.send(&frame(
        Instr::WorkerHello,
        &[uuid.as_str(), "w", "127.0.0.1:1", &nonce],
    ));
    let answer = peer.recv();
    assert_eq!(instr(&answer), Instr::LinkRefused);
    assert!(words(&answer)[0].len() < 200, "the echo is an excerpt");
    let mut again = Peer::connect(master.addr);
    again.send(&frame::<&str>(Instr::GetWorkerList, &[]));
    assert_eq!(instr(&again.recv()), Instr::WorkerList, "the master is up");
    master_bounded(master.pid());
}

#[test]
fn maximal_argument_in_every_position_of_every_instruction() {
    let system = System::start("hmax", "", "");
    let requests = [
        (Instr::Login, 3u16),
        (Instr::LoginSession, 1),
        (Instr::Register, 3),
        (Instr::PurchaseAsset, 3),
        (Instr::SellAsset, 3),
        (Instr::SwitchState, 2),
        (Instr::Logout, 1),
        (Instr::GetAssetInfo, 1),
        (Instr::GetAssetValueCurrent, 1),
        (Instr::GetAssetValueDay, 2),
        (Instr::GetAssetValueAllTime, 1),
        (Instr::GetUserInfo, 2),
        (Instr::GetUserTransactionHistory, 2),
    ];
    // In command state before login, then in data state logged in.
    let (data, _) = data_client(&system, "maxi");
    for mut c in [system.client(), data] {
        maximal_arguments(&mut c, &requests);
    }
    still_served(&system);
    assert!(
        rss_kib(system.worker.pid()) < 64 * 1024,
        "worker RSS under 64 MiB"
    );
}

fn maximal_arguments(c: &mut Peer, requests: &[(Instr, u16)]) {
    for &(instr_, argc) in requests {
        for pos in 0..argc {
            // Short arguments around one that fills the frame; the last
            // argument may hold spaces and control characters too.
            let mut args: Vec<String> = (0..argc).map(|_| "a".to_string()).collect();
            let room = papertrader_common::MAX_DATA - 2 * usize::from(argc);
            let filler = if pos + 1 == argc {
                "\u{1} \u{7f}"
            } else {
                "\u{1}\u{7f}"
            };
            args[usize::from(pos)] = filler.repeat(room / filler.len());
            let (count, data) = papertrader_common::args::join(&args).expect("fits");
            c.send(&raw(instr_, count, data));
            let answer = c.recv();
            let answer_instr = instr(&answer);
            assert!(
                answer.message_type == MessageType::Return as u8,
                "{}: {answer_instr:?}",
                instr_.name()
            );
            let text = words(&answer).join(" ");
            assert!(
                text.len() < 400,
                "{}: a {}-byte echo",
                instr_.name(),
                text.len()
            );
        }
    }
}

#[test]
fn non_utf8_argument_in_every_instruction_is_refused() {
    let system = System::start("hutf8", "", "");
    let mut c = system.client();
    for code in (1..=8u8).chain(16..=26) {
        let instr_ = Instr::from_code(code).expect("known");
        let argc = match instr_.arity() {
            papertrader_common::Arity::Exact(n) => n,
            _ => continue,
        };
        if argc == 0 {
            continue;
        }
        let mut data = Vec::new();
        for i in 0..argc {
            if i > 0 {
                data.push(b' ');
            }
            data.extend_from_slice(b"\xff\xfe");
        }
        c.send(&raw(instr_, argc, data));
        let answer = c.recv();
        assert_eq!(answer.message_type, MessageType::Return as u8);
        assert!(
            words(&answer).join(" ").contains("bad-arguments")
                || instr(&answer) == Instr::ProtocolError,
            "{}: {:?}",
            instr_.name(),
            words(&answer)
        );
    }
    still_served(&system);
}

/// VmRSS of a process, in KiB.
fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn a_hundred_thousand_pipelined_requests_without_reading_stay_bounded() {
    let system = System::start("hpipe", "", "max_output = 262144\n");
    let pid = system.worker.pid();
    let mut honest = system.client();
    still_served(&system);
    let before = rss_kib(pid);
    let mut attacker = system.client();
    attacker
        .stream
        .set_write_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    let request = frame::<&str>(Instr::GetWorkerList, &[]).to_bytes();
    let batch: Vec<u8> = request.repeat(1000);
    let mut sent = 0;
    for _ in 0..100 {
        if std::io::Write::write_all(&mut attacker.stream, &batch).is_err() {
            break;
        }
        sent += 1000;
    }
    // The worker stops reading (back-pressure) or drops a client that
    // leaves more than max_output unread; either way memory stays flat.
    let after = rss_kib(pid);
    assert!(
        after < before + 16 * 1024,
        "worker RSS grew from {before} to {after} KiB after {sent} requests"
    );
    assert_eq!(
        call(&mut honest, Instr::GetWorkerList, &[]).0,
        Instr::WorkerList
    );
    still_served(&system);
}

#[test]
fn a_connection_flood_from_one_address_leaves_others_served() {
    let system = System::start("hflood", "", "max_clients_per_address = 10\n");
    let addr = system.worker.addr;
    let attacker_ip = std::net::Ipv4Addr::new(127, 0, 0, 3);
    let mut held = Vec::new();
    for _ in 0..10 {
        let mut p = Peer::connect_from(attacker_ip, addr);
        assert_eq!(call(&mut p, Instr::GetWorkerList, &[]).0, Instr::WorkerList);
        held.push(p);
    }
    for _ in 0..50 {
        let mut p = Peer::connect_from(attacker_ip, addr);
        let answer = p.recv();
        assert_eq!(instr(&answer), Instr::ProtocolError);
        assert!(
            words(&answer)[0].starts_with("rate-limited "),
            "{:?}",
            words(&answer)
        );
        assert!(p.closed_within(std::time::Duration::from_secs(5)));
    }
    let mut other = Peer::connect_from(std::net::Ipv4Addr::new(127, 0, 0, 4), addr);
    assert_eq!(
        call(&mut other, Instr::GetWorkerList, &[]).0,
        Instr::WorkerList
    );
    drop(held.pop());
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut again = Peer::connect_from(attacker_ip, addr);
    assert_eq!(
        call(&mut again, Instr::GetWorkerList, &[]).0,
        Instr::WorkerList,
        "a closed connection frees its address's slot"
    );
    let log = system.worker.stderr_with("refusing more");
    assert_eq!(
        log.matches("refusing more").count(),
        1,
        "logged once for the whole flood:\n{log}"
    );
}

#[test]
fn a_connection_flood_on_the_master_port_is_capped_per_address() {
    let setup = MasterSetup::new("hmflood");
    let master = setup.start(&format!("{FAST_ARGON2}max_conns_per_address = 5\n"));
    let ip = std::net::Ipv4Addr::new(127, 0, 0, 5);
    let held: Vec<Peer> = (0..5)
        .map(|_| Peer::connect_from(ip, master.addr))
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut refused = Peer::connect_from(ip, master.addr);
    let answer = refused.recv();
    assert_eq!(instr(&answer), Instr::ProtocolError);
    assert!(words(&answer)[0].starts_with("rate-limited "));
    let mut other = Peer::connect_from(std::net::Ipv4Addr::new(127, 0, 0, 6), master.addr);
    other.send(&frame::<&str>(Instr::GetWorkerList, &[]));
    assert_eq!(instr(&other.recv()), Instr::WorkerList);
    drop(held);
    master_bounded(master.pid());
}

#[test]
fn a_slowloris_client_is_dropped_and_others_are_served() {
    let system = System::start("hslow", "", "frame_timeout = 2s\n");
    let mut slow = system.client();
    let bytes = frame(Instr::Login, &["alice", "x", "false"]).to_bytes();
    let started = std::time::Instant::now();
    let mut closed = false;
    for b in bytes.iter().take(20) {
        if std::io::Write::write_all(&mut slow.stream, &[*b]).is_err() {
            closed = true;
            break;
        }
        still_served(&system);
        if slow.closed_within(std::time::Duration::from_millis(500)) {
            closed = true;
            break;
        }
    }
    assert!(closed, "a client that trickles one frame is dropped");
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
}

#[test]
fn ten_thousand_orders_from_one_account_in_one_interval() {
    use util::master::hashed_pass;
    let setup = MasterSetup::new("horders");
    let master = setup.start(&format!(
        // Long enough that all 10 000 arrive within one interval even on
        // a loaded machine (the link is TLS).
        "{FAST_ARGON2}update_interval = 5s\nmax_waiting_orders_per_account = 100\n"
    ));
    let mut worker = setup.link(master.addr, 0).expect("linked");
    let mut session_of = |user: &str| {
        let pass = hashed_pass(user, "pw");
        let (i, _) = worker.request(Instr::Register, &[user, "x@example.com", &pass]);
        assert_eq!(i, Instr::RegisterSuccess);
        let (i, a) = worker.request(Instr::Login, &[user, &pass, "false"]);
        assert_eq!(i, Instr::SessionId);
        a[0].clone()
    };
    let greedy = session_of("greedy");
    let honest = session_of("honest");
    // Start right after a price set, so that all 10 000 arrive within one
    // interval even on a loaded machine (else a set in the middle of the
    // flood fills a second hundred).
    worker
        .wait_control(Instr::Quotes, std::time::Duration::from_secs(10))
        .expect("a price set");
    for _ in 0..10_000 {
        worker.send_request(Instr::PurchaseAsset, &[&greedy, "AAPL", "1"]);
    }
    let mut refused = 0;
    let mut filled = 0;
    for _ in 0..10_000 {
        let (_, answer, args) = worker.recv_reply();
        match answer {
            Instr::PurchaseFail => {
                assert!(args[0].starts_with("rate-limited "), "{args:?}");
                refused += 1;
            }
            Instr::PurchaseSuccess => filled += 1,
            other => panic!("unexpected {other:?} {args:?}"),
        }
    }
    assert_eq!(
        (filled, refused),
        (100, 9_900),
        "the cap holds, the rest are answered"
    );
    let (i, a) = worker.request(Instr::PurchaseAsset, &[&honest, "AAPL", "1"]);
    assert_eq!(
        i,
        Instr::PurchaseSuccess,
        "another account still trades: {a:?}"
    );
    master_bounded(master.pid());
}

#[test]
fn a_killed_worker_leaves_no_usable_expirable_sessions() {
    use util::master::hashed_pass;
    let mut system = System::start("hkill", "session_link_grace = 1s\n", "");
    let mut c = system.client();
    let pass = hashed_pass("kim", "pw");
    assert_eq!(
        call(&mut c, Instr::Register, &["kim", "k@example.com", &pass]).0,
        Instr::RegisterSuccess
    );
    let (i, a) = call(&mut c, Instr::Login, &["kim", &pass, "true"]);
    assert_eq!(i, Instr::SessionId);
    let expirable = a[0].clone();
    let (i, a) = call(&mut c, Instr::Login, &["kim", &pass, "false"]);
    assert_eq!(i, Instr::SessionId);
    let remembered = a[0].clone();
    system.worker.kill9();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let mut other = system.setup.link(system.master.addr, 0).expect("relinked");
    let (i, a) = other.request(Instr::LoginSession, &[&expirable]);
    assert_eq!(i, Instr::LoginFail, "the expirable session ended: {a:?}");
    assert!(a[0].starts_with("bad-session "), "{a:?}");
    let (i, _) = other.request(Instr::LoginSession, &[&remembered]);
    assert_eq!(i, Instr::SessionId, "a remembered session survives");
}

/// Registers `user`, logs in with a remembered session and puts a new
/// connection in data state with it.
fn data_client(system: &System, user: &str) -> (Peer, String) {
    use util::master::hashed_pass;
    let mut c = system.client();
    let pass = hashed_pass(user, "pw");
    call(&mut c, Instr::Register, &[user, "d@example.com", &pass]);
    let (i, a) = call(&mut c, Instr::Login, &[user, &pass, "false"]);
    assert_eq!(i, Instr::SessionId, "{a:?}");
    let session = a[0].clone();
    let (i, _) = call(&mut c, Instr::SwitchState, &[&session, "data"]);
    assert_eq!(i, Instr::StateSwitchSuccess);
    (c, session)
}

#[test]
fn a_data_connection_ends_with_its_session_after_logout() {
    let system = System::start("hdlogout", "", "");
    let (mut data, session) = data_client(&system, "dana");
    let list = util::system::call_data(&mut data, Instr::GetAssetList, &[]);
    assert!(list.is_ok(), "served while the session holds");
    let mut other = system.client();
    let (i, _) = call(&mut other, Instr::Logout, &[&session]);
    assert_eq!(i, Instr::LogoutSuccess);
    let after = util::system::call_data(&mut data, Instr::GetAssetList, &[]);
    let (i, a) = after.expect_err("refused after logout");
    assert_eq!(i, Instr::DataFail);
    assert!(a[0].starts_with("bad-session "), "{a:?}");
    still_served(&system);
}

#[test]
fn a_data_connection_ends_with_its_session_after_expiry() {
    let system = System::start(
        "hdexpire",
        "session_ttl_long = 2s\n",
        "session_cache_ttl = 1s\n",
    );
    let (mut data, _session) = data_client(&system, "eve");
    assert!(util::system::call_data(&mut data, Instr::GetAssetList, &[]).is_ok());
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let (i, a) = util::system::call_data(&mut data, Instr::GetAssetList, &[])
        .expect_err("refused after expiry");
    assert_eq!(i, Instr::DataFail);
    assert!(a[0].starts_with("bad-session "), "{a:?}");
}

#[test]
fn the_total_of_waiting_orders_is_capped() {
    use util::master::hashed_pass;
    let setup = MasterSetup::new("htotal");
    let master = setup.start(&format!(
        "{FAST_ARGON2}update_interval = 2s\nmax_waiting_orders = 30\n"
    ));
    let mut worker = setup.link(master.addr, 0).expect("linked");
    let mut sessions = Vec::new();
    for user in ["tom", "uma"] {
        let pass = hashed_pass(user, "pw");
        worker.request(Instr::Register, &[user, "t@example.com", &pass]);
        let (_, a) = worker.request(Instr::Login, &[user, &pass, "false"]);
        sessions.push(a[0].clone());
    }
    for i in 0..60 {
        worker.send_request(Instr::PurchaseAsset, &[&sessions[i % 2], "AAPL", "1"]);
    }
    let (mut filled, mut unavailable) = (0, 0);
    for _ in 0..60 {
        let (_, answer, args) = worker.recv_reply();
        match answer {
            Instr::PurchaseSuccess => filled += 1,
            Instr::PurchaseFail if args[0].starts_with("unavailable ") => unavailable += 1,
            other => panic!("unexpected {other:?} {args:?}"),
        }
    }
    assert_eq!((filled, unavailable), (30, 30));
    master_bounded(master.pid());
}
