//! ptworkerd end to end: a real master and a real worker on loopback,
//! linked by the real GnuPG handshake, driven by clients over TCP.

mod util;

use std::io::Write;
use std::time::{Duration, Instant};

use papertrader_common::message::frame;
use papertrader_common::{Frame, Instr, MessageType, ReasonCode};
use util::master::hashed_pass;
use util::system::{System, call, call_data, receive_data};
use util::wire::{Peer, instr, words};

fn code_of(args: &[String]) -> ReasonCode {
    let reason = args.last().expect("a reason");
    ReasonCode::parse(reason.split(' ').next().expect("a code"))
        .unwrap_or_else(|| panic!("unknown reason code in {reason:?}"))
}

/// Registers `user` and logs in; returns the session id.
fn login(peer: &mut Peer, user: &str, expirable: bool) -> String {
    let pass = hashed_pass(user, "pw");
    let (i, a) = call(peer, Instr::Register, &[user, "u@example.com", &pass]);
    assert!(
        i == Instr::RegisterSuccess || code_of(&a) == ReasonCode::UsernameTaken,
        "{i:?} {a:?}"
    );
    let flag = if expirable { "true" } else { "false" };
    let (i, a) = call(peer, Instr::Login, &[user, &pass, flag]);
    assert_eq!(i, Instr::SessionId, "{a:?}");
    a[0].clone()
}

#[test]
fn accounts_and_states_through_the_worker() {
    let system = System::start("wacct", "", "");
    let mut c = system.client();
    let pass = hashed_pass("alice", "pw");
    assert_eq!(
        call(&mut c, Instr::Register, &["alice", "a@example.com", &pass]).0,
        Instr::RegisterSuccess
    );
    let (i, a) = call(&mut c, Instr::Login, &["alice", &pass, "false"]);
    assert_eq!(i, Instr::SessionId);
    let session = a[0].clone();
    let (i, a) = call(&mut c, Instr::SwitchState, &[&session, "data"]);
    assert_eq!(
        (i, a),
        (Instr::StateSwitchSuccess, vec!["data".to_string()])
    );
    let (i, a) = call(&mut c, Instr::Register, &["bob", "b@example.com", &pass]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::RegisterFail, ReasonCode::WrongState)
    );
    let (i, _) = call(&mut c, Instr::SwitchState, &[&session, "command"]);
    assert_eq!(i, Instr::StateSwitchSuccess);

    let mut second = system.client();
    let (i, a) = call(&mut second, Instr::LoginSession, &[&session]);
    assert_eq!(
        (i, a),
        (Instr::SessionId, vec![session.clone()]),
        "resumed on a second connection"
    );
    assert_eq!(
        call(&mut second, Instr::Logout, &[&session]).0,
        Instr::LogoutSuccess
    );
    let (i, a) = call(&mut c, Instr::LoginSession, &[&session]);
    assert_eq!((i, code_of(&a)), (Instr::LoginFail, ReasonCode::BadSession));
    let (i, a) = call(&mut c, Instr::GetWorkerList, &[]);
    assert_eq!(
        (i, a),
        (Instr::WorkerList, vec![system.worker.addr.to_string()])
    );
}

#[test]
fn wrong_state_and_bad_session() {
    let system = System::start("wstate", "", "");
    let mut c = system.client();
    let err = call_data(&mut c, Instr::GetAssetValueCurrent, &["AAPL"]).expect_err("command state");
    assert_eq!(
        (err.0, code_of(&err.1)),
        (Instr::DataFail, ReasonCode::WrongState)
    );
    let (i, a) = call(
        &mut c,
        Instr::SwitchState,
        &["0f1e2d3c4b5a69788796a5b4c3d2e1f0", "data"],
    );
    assert_eq!(
        (i, code_of(&a)),
        (Instr::StateSwitchFail, ReasonCode::BadSession)
    );
    let (i, a) = call(&mut c, Instr::SwitchState, &["nothex", "data"]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::StateSwitchFail, ReasonCode::BadSession)
    );
    let session = login(&mut c, "carol", true);
    let (i, a) = call(&mut c, Instr::SwitchState, &[&session, "sideways"]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::StateSwitchFail, ReasonCode::BadArguments)
    );
    let (i, a) = call(&mut c, Instr::Login, &["carol", "x"]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::LoginFail, ReasonCode::BadArguments)
    );
}

#[test]
fn unknown_instruction_keeps_the_connection() {
    let system = System::start("wunknown", "", "");
    let mut c = system.client();
    c.send(&Frame::new(MessageType::Command, 199, 0, Vec::new()));
    let answer = c.recv();
    assert_eq!(instr(&answer), Instr::ProtocolError);
    assert_eq!(words(&answer), ["protocol unknown instruction 199"]);
    let mut wrong_type = frame::<&str>(Instr::GetWorkerList, &[]);
    wrong_type.message_type = MessageType::Data as u8;
    c.send(&wrong_type);
    assert_eq!(instr(&c.recv()), Instr::ProtocolError);
    assert_eq!(
        call(&mut c, Instr::GetWorkerList, &[]).0,
        Instr::WorkerList,
        "still open"
    );
}

#[test]
fn bad_header_gets_protocol_error_then_close() {
    let system = System::start("wbadhdr", "", "");
    for header in [[9u8, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0; 16]] {
        let mut c = system.client();
        c.send_raw(&header);
        let answer = c.recv();
        assert_eq!(instr(&answer), Instr::ProtocolError);
        assert!(
            words(&answer)[0].starts_with("protocol message_type"),
            "{:?}",
            words(&answer)
        );
        assert!(c.closed_within(Duration::from_secs(5)));
    }
}

#[test]
fn oversized_data_size_rejected_from_the_header_alone() {
    let system = System::start("wbig", "", "");
    let mut c = system.client();
    // Only the header: the worker must not wait for 2 GiB of data.
    c.send_raw(&[1, 1, 0, 3, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
    let answer = c
        .try_recv(Duration::from_secs(5))
        .expect("answered without the data");
    assert_eq!(
        words(&answer),
        ["protocol data_size 2147483647 exceeds the 65536-byte limit"]
    );
    assert!(c.closed_within(Duration::from_secs(5)));
}

/// A thousand requests pipelined behind a registration, unread: they wait
/// (bounded by max_in_flight, the rest in the socket) until it is
/// answered, then each is answered in order, and the worker serves others
/// meanwhile.
#[test]
fn a_thousand_requests_pipelined_behind_a_registration() {
    let system = System::start("wregpipe", "", "");
    let mut c = system.client();
    let pass = hashed_pass("pip", "pw");
    let mut bytes = frame(Instr::Register, &["pip", "p@example.com", &pass]).to_bytes();
    for _ in 0..1000 {
        bytes.extend(frame::<&str>(Instr::GetWorkerList, &[]).to_bytes());
    }
    c.send_raw(&bytes);
    let mut other = system.client();
    other.send_raw(&frame::<&str>(Instr::GetWorkerList, &[]).to_bytes());
    assert_eq!(instr(&other.recv()), Instr::WorkerList, "others are served");
    assert_eq!(instr(&c.recv()), Instr::RegisterSuccess);
    for i in 0..1000 {
        assert_eq!(instr(&c.recv()), Instr::WorkerList, "answer {i} in order");
    }
}

/// The REQUESTS column of `ptctl workers`: requests the master took from
/// the worker's link.
fn served(system: &System) -> u64 {
    let sock = system.setup.control_socket();
    let out = util::run(
        "ptctl",
        &["-s", sock.to_str().expect("path"), "workers"],
        b"",
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .nth(1)
        .and_then(|l| l.split(' ').nth(4))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("ptctl workers: {text}"))
}

/// Uncached history answers are asked for once: 50 getLeaderboard frames
/// from one client and 10 from others while the first is on its way are
/// one request to the master, and every one gets the answer, in order.
#[test]
fn one_master_request_for_an_answer_many_wait_for() {
    let system = System::start("wcoalesce", "register_limit = 0\n", "");
    system.wait_linked(Duration::from_secs(10));
    let mut c = system.client();
    let mut others: Vec<Peer> = (0..10).map(|_| system.client()).collect();
    // Each connection logs in and moves to the data state.
    for peer in others.iter_mut().chain(std::iter::once(&mut c)) {
        let session = login(peer, "board", true);
        let (i, a) = call(peer, Instr::SwitchState, &[&session, "data"]);
        assert_eq!(i, Instr::StateSwitchSuccess, "{a:?}");
    }
    let before = served(&system);
    let mut bytes = Vec::new();
    for _ in 0..50 {
        bytes.extend(frame::<&str>(Instr::GetLeaderboard, &[]).to_bytes());
        bytes.extend(frame::<&str>(Instr::GetWorkerList, &[]).to_bytes());
    }
    c.send_raw(&bytes);
    for peer in &mut others {
        peer.send_raw(&frame::<&str>(Instr::GetLeaderboard, &[]).to_bytes());
    }
    for n in 0..50 {
        receive_data(&mut c).unwrap_or_else(|e| panic!("leaderboard {n}: {e:?}"));
        assert_eq!(instr(&c.recv()), Instr::WorkerList, "answer {n} in order");
    }
    for peer in &mut others {
        receive_data(peer).expect("leaderboard");
    }
    let asked = served(&system) - before;
    assert!(
        asked <= 2,
        "{asked} leaderboard requests reached the master for 60 asks"
    );
}

#[test]
fn frames_dribbled_byte_by_byte_and_pipelined() {
    let system = System::start("wdribble", "", "");
    let mut c = system.client();
    let pass = hashed_pass("dora", "pw");
    let mut bytes = frame(Instr::Register, &["dora", "d@example.com", &pass]).to_bytes();
    bytes.extend(frame(Instr::Login, &["dora", &pass, "true"]).to_bytes());
    bytes.extend(frame::<&str>(Instr::GetWorkerList, &[]).to_bytes());
    for b in &bytes {
        c.stream.write_all(std::slice::from_ref(b)).expect("write");
        c.stream.flush().expect("flush");
        std::thread::sleep(Duration::from_micros(200));
    }
    assert_eq!(instr(&c.recv()), Instr::RegisterSuccess);
    assert_eq!(instr(&c.recv()), Instr::SessionId);
    assert_eq!(
        instr(&c.recv()),
        Instr::WorkerList,
        "answers in request order"
    );
}

#[test]
fn half_frame_is_dropped_after_frame_timeout() {
    let system = System::start("whalf", "", "frame_timeout = 1s\n");
    let mut c = system.client();
    c.send_raw(&[1, 1, 0, 3, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, b'a']);
    let start = Instant::now();
    assert!(c.closed_within(Duration::from_secs(5)), "disconnected");
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "not before the limit"
    );
}

#[test]
fn replies_keep_request_order_when_local_answers_are_faster() {
    let system = System::start("worder", "", "");
    let mut c = system.client();
    let pass = hashed_pass("erin", "pw");
    // register goes to the master (argon2); getWorkerList is answered here.
    let mut bytes = frame(Instr::Register, &["erin", "e@example.com", &pass]).to_bytes();
    bytes.extend(frame::<&str>(Instr::GetWorkerList, &[]).to_bytes());
    c.send_raw(&bytes);
    assert_eq!(instr(&c.recv()), Instr::RegisterSuccess);
    assert_eq!(instr(&c.recv()), Instr::WorkerList);
}

#[test]
fn master_restart_under_a_connected_worker() {
    let mut system = System::start("wrestart", "", "reconnect_max = 1s\n");
    let mut c = system.client();
    let remembered = login(&mut c, "frank", false);
    system.master.kill9();
    // During the gap: unavailable at once, not a hang.
    let start = Instant::now();
    let (i, a) = call(&mut c, Instr::LoginSession, &[&remembered]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::LoginFail, ReasonCode::Unavailable)
    );
    assert!(start.elapsed() < Duration::from_secs(2), "answered at once");
    system.restart_master();
    system.wait_linked(Duration::from_secs(20));
    let (i, a) = call(&mut c, Instr::LoginSession, &[&remembered]);
    assert_eq!(
        (i, a),
        (Instr::SessionId, vec![remembered]),
        "remembered session survives"
    );
}

#[test]
fn closing_a_connection_ends_its_expirable_session() {
    let system = System::start("wclose", "", "");
    let mut c = system.client();
    let expirable = login(&mut c, "gail", true);
    let remembered = login(&mut c, "gail", false);
    drop(c);
    std::thread::sleep(Duration::from_millis(500));
    let mut other = system.client();
    let (i, a) = call(&mut other, Instr::LoginSession, &[&expirable]);
    assert_eq!((i, code_of(&a)), (Instr::LoginFail, ReasonCode::BadSession));
    assert_eq!(
        call(&mut other, Instr::LoginSession, &[&remembered]).0,
        Instr::SessionId
    );
}

#[test]
fn switch_state_is_answered_from_the_session_cache() {
    let system = System::start("wcache", "", "");
    let mut c = system.client();
    let session = login(&mut c, "hank", false);
    let mut master = system.master;
    master.kill9();
    // The master is gone, but it vouched for this session moments ago.
    let (i, _) = call(&mut c, Instr::SwitchState, &[&session, "data"]);
    assert_eq!(i, Instr::StateSwitchSuccess);
}

#[test]
fn max_clients_refuses_the_extra_connection() {
    let system = System::start("wmax", "", "max_clients = 2\n");
    let _a = system.client();
    let _b = system.client();
    std::thread::sleep(Duration::from_millis(200));
    let mut c = system.client();
    let answer = c.recv();
    assert_eq!(instr(&answer), Instr::ProtocolError);
    assert_eq!(code_of(&words(&answer)), ReasonCode::Unavailable);
    assert!(c.closed_within(Duration::from_secs(5)));
}

#[test]
fn a_client_that_does_not_read_is_disconnected() {
    let system = System::start("wslow", "", "max_output = 65552\n");
    let mut c = system.client();
    c.stream.set_nonblocking(true).expect("nonblocking");
    // Ask for the worker list again and again without reading the answers;
    // loopback socket buffers soak up several MB before the worker queues.
    let request = frame::<&str>(Instr::GetWorkerList, &[]).to_bytes();
    let mut sent = 0usize;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut dropped = false;
    while Instant::now() < deadline && sent < 64 << 20 {
        match c.stream.write(&request) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => {
                dropped = true;
                break;
            }
        }
    }
    c.stream.set_nonblocking(false).expect("blocking");
    assert!(
        dropped || c.closed_within(Duration::from_secs(10)),
        "worker dropped the client"
    );
    let log = std::fs::read_to_string(system.setup.dir.join("ptworkerd.log")).unwrap_or_default();
    let stderr = system.worker.stderr_with("not reading");
    assert!(
        log.contains("not reading") || stderr.contains("not reading"),
        "logged why"
    );
}

#[test]
fn thousand_clients_each_log_in_and_ask_a_quote() {
    // A thousand users behind one address (loopback): lift the per-address cap.
    let system = System::start(
        "wthousand",
        "auth_threads = 2\n",
        "max_clients_per_address = 2000\n",
    );
    let mut first = system.client();
    let pass = hashed_pass("ivy", "pw");
    assert_eq!(
        call(
            &mut first,
            Instr::Register,
            &["ivy", "i@example.com", &pass]
        )
        .0,
        Instr::RegisterSuccess
    );
    let mut clients: Vec<Peer> = (0..1000).map(|_| system.client()).collect();
    for c in &mut clients {
        c.send(&frame(Instr::Login, &["ivy", &pass, "true"]));
    }
    let mut sessions = Vec::new();
    for c in &mut clients {
        let answer = c.try_recv(Duration::from_secs(60)).expect("login answered");
        assert_eq!(instr(&answer), Instr::SessionId, "{:?}", words(&answer));
        let session = words(&answer).remove(0);
        c.send(&frame(Instr::SwitchState, &[session.as_str(), "data"]));
        sessions.push(session);
    }
    for c in &mut clients {
        assert_eq!(instr(&c.recv()), Instr::StateSwitchSuccess);
        c.send(&frame(Instr::GetAssetValueCurrent, &["AAPL"]));
    }
    for c in &mut clients {
        // The master pushed its prices when the worker linked: every
        // client gets a quote from the worker's cache.
        let payload = receive_data(c).expect("a cached quote");
        let line = String::from_utf8(payload).expect("text");
        assert!(
            line.starts_with("AAPL ") && line.ends_with('\n'),
            "{line:?}"
        );
        assert_eq!(line.split(' ').count(), 3, "SYMBOL PRICE TIMESTAMP");
    }
}

#[test]
fn frame_timeout_does_not_drop_a_client_making_progress() {
    let system = System::start("wprogress", "", "frame_timeout = 1s\n");
    let mut c = system.client();
    let request = frame::<&str>(Instr::GetWorkerList, &[]).to_bytes();
    // Every write completes one frame and starts the next, so a partial
    // frame is always pending, but never for long.
    c.send_raw(&request[..10]);
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2500) {
        std::thread::sleep(Duration::from_millis(300));
        let mut piece = request[10..].to_vec();
        piece.extend_from_slice(&request[..10]);
        c.send_raw(&piece);
        assert_eq!(instr(&c.recv()), Instr::WorkerList, "still served");
    }
}

#[test]
fn an_idle_client_is_disconnected_after_idle_timeout() {
    let system = System::start("widle", "", "idle_timeout = 1s\n");
    let mut idle = system.client();
    let mut busy = system.client();
    let start = Instant::now();
    // The busy one keeps talking; the idle one says nothing.
    while start.elapsed() < Duration::from_millis(2500) {
        assert_eq!(
            call(&mut busy, Instr::GetWorkerList, &[]).0,
            Instr::WorkerList
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        idle.closed_within(Duration::from_secs(3)),
        "idle client closed"
    );
    assert_eq!(
        call(&mut busy, Instr::GetWorkerList, &[]).0,
        Instr::WorkerList,
        "busy one kept"
    );
}

#[test]
fn sighup_reopens_the_worker_log_file() {
    let system = System::start("wrotate", "", "");
    let log = system.setup.dir.join("ptworkerd.log");
    std::fs::rename(&log, system.setup.dir.join("ptworkerd.log.1")).expect("rotate");
    system.worker.signal(libc::SIGHUP);
    system.worker.signal(libc::SIGUSR1);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut text = String::new();
    while !text.contains("log file reopened") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        text = std::fs::read_to_string(&log).unwrap_or_default();
    }
    assert!(
        text.contains("log file reopened"),
        "the new file takes new entries: {text}"
    );
}
