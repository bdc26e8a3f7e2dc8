//! One framing layer for every peer (common's `Framed`): where the old
//! copies disagreed, the settled behaviour is pinned here against the real
//! daemons, and so is accepting again after running out of descriptors.

mod util;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use papertrader_common::message::frame;
use papertrader_common::{Frame, Instr};
use util::master::{FAST_ARGON2, MasterSetup, TestWorker};
use util::system::{System, call};
use util::wire::{Peer, instr, words};

/// A header whose message_type is 9: broken framing.
const BAD_HEADER: [u8; 16] = [9, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

fn forwarded(worker: &TestWorker, reqid: &str, instr: Instr) -> Frame {
    let args = [
        worker.uuid.as_str(),
        reqid,
        "1732147205000",
        "127.0.0.1:40000",
    ];
    let (count, data) = papertrader_common::args::join(&args).expect("prefix");
    Frame::new(instr.kind(), instr.code(), count, data)
}

#[test]
fn master_handles_good_frames_before_a_bad_one() {
    let setup = MasterSetup::new("fgood");
    let master = setup.start(FAST_ARGON2);
    let mut worker = setup.link(master.addr, 0).expect("linked");
    let mut bytes = frame(Instr::Ping, &["7"]).to_bytes();
    bytes.extend(forwarded(&worker, "41", Instr::GetWorkerList).to_bytes());
    bytes.extend(BAD_HEADER);
    worker.peer.send_raw(&bytes);
    let pong = worker.wait_control(Instr::Pong, Duration::from_secs(5));
    assert_eq!(pong.map(|f| words(&f)), Some(vec!["7".to_string()]));
    let list = worker.peer.recv();
    assert_eq!(instr(&list), Instr::WorkerList);
    assert_eq!(words(&list)[0], "41", "the forwarded request was answered");
    let error = worker.peer.recv();
    assert_eq!(instr(&error), Instr::ProtocolError);
    assert!(worker.peer.closed_within(Duration::from_secs(5)));
}

#[test]
fn worker_handles_good_frames_before_a_bad_one() {
    let system = System::start("fwgood", "", "");
    let mut c = system.client();
    let mut bytes = frame::<&str>(Instr::GetWorkerList, &[]).to_bytes();
    bytes.extend(BAD_HEADER);
    c.send_raw(&bytes);
    assert_eq!(instr(&c.recv()), Instr::WorkerList);
    assert_eq!(instr(&c.recv()), Instr::ProtocolError);
    assert!(c.closed_within(Duration::from_secs(5)));
}

#[test]
fn master_drops_a_link_that_does_not_read() {
    let setup = MasterSetup::new("fcap");
    let master = setup.start(&format!("{FAST_ARGON2}max_output = 65552\n"));
    let mut worker = setup.link(master.addr, 0).expect("linked");
    worker
        .peer
        .stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    // Requests answered on the master's loop, never read: once the socket
    // buffers are full, the master's queue passes its cap.
    let batch: Vec<u8> = (0..1000)
        .flat_map(|i| forwarded(&worker, &i.to_string(), Instr::GetWorkerList).to_bytes())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut sent = 0;
    while Instant::now() < deadline && sent < 2_000 {
        if worker.peer.try_send_raw(&batch).is_err() {
            break;
        }
        sent += 1;
        if sent % 50 == 0 && !linked(master.addr) {
            break;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while linked(master.addr) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!linked(master.addr), "a link that does not read is dropped");
    // The master itself is fine: another worker links at once.
    assert!(setup.link(master.addr, 0).is_ok());
}

fn linked(addr: SocketAddr) -> bool {
    let mut peer = Peer::connect(addr);
    peer.send(&frame::<&str>(Instr::GetWorkerList, &[]));
    peer.try_recv(Duration::from_secs(5))
        .is_some_and(|f| !words(&f).is_empty())
}

/// Descriptors `pid` has open now.
fn open_fds(pid: i32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("/proc")
        .count() as u64
}

/// Lowers the descriptor limit of a running daemon.
fn limit_fds(pid: i32, max: u64) {
    let limit = libc::rlimit {
        rlim_cur: max,
        rlim_max: max,
    };
    // SAFETY: prlimit(2) on our own child, with a valid rlimit.
    let rc = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &limit, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

/// Opens connections until one is not answered within half a second: the
/// daemon has no descriptor left for it. Returns the answered ones and the
/// waiting one.
fn exhaust(addr: SocketAddr, hello: &Frame, answer: Instr) -> (Vec<Peer>, Peer) {
    let mut idle = Vec::new();
    for _ in 0..20 {
        let mut peer = Peer::connect(addr);
        peer.send(hello);
        match peer.try_recv(Duration::from_millis(500)) {
            Some(f) => {
                assert_eq!(instr(&f), answer);
                idle.push(peer);
            }
            None => return (idle, peer),
        }
    }
    panic!("20 connections past the limit were all answered");
}

#[test]
fn worker_accepts_again_after_running_out_of_descriptors() {
    let system = System::start("femfile", "", "");
    let mut served = system.client();
    assert_eq!(
        call(&mut served, Instr::GetWorkerList, &[]).0,
        Instr::WorkerList
    );
    let pid = system.worker.pid();
    limit_fds(pid, open_fds(pid) + 3);
    let hello = frame::<&str>(Instr::GetWorkerList, &[]);
    let (mut idle, mut waiting) = exhaust(system.worker.addr, &hello, Instr::WorkerList);
    assert!(!idle.is_empty());
    assert_eq!(
        call(&mut served, Instr::GetWorkerList, &[]).0,
        Instr::WorkerList,
        "connections it has are still served"
    );
    drop(idle.pop());
    let answer = waiting.try_recv(Duration::from_secs(5));
    assert_eq!(
        answer.map(|f| instr(&f)),
        Some(Instr::WorkerList),
        "a closed connection lets the waiting one in"
    );
    let log = system
        .worker
        .stderr_with("pausing until a connection closes");
    assert!(log.contains("pausing until a connection closes"), "{log}");
}

#[test]
fn master_accepts_again_after_running_out_of_descriptors() {
    let setup = MasterSetup::new("fmemfile");
    let master = setup.start(&format!("{FAST_ARGON2}handshake_timeout = 60\n"));
    let mut worker = setup.link(master.addr, 0).expect("linked");
    let pid = master.pid();
    limit_fds(pid, open_fds(pid) + 2);
    // Silent peers hold descriptors (until handshake_timeout); a one-shot
    // getWorkerList probes whether one is left.
    let mut idle = Vec::new();
    let probe = frame::<&str>(Instr::GetWorkerList, &[]);
    let mut waiting = loop {
        let mut peer = Peer::connect(master.addr);
        peer.send(&probe);
        if peer.try_recv(Duration::from_millis(500)).is_none() {
            break peer;
        }
        assert!(
            idle.len() < 20,
            "20 connections past the limit were all taken"
        );
        idle.push(Peer::connect(master.addr));
        std::thread::sleep(Duration::from_millis(100));
    };
    worker
        .peer
        .send(&forwarded(&worker, "5", Instr::GetWorkerList));
    let (reqid, answer, _) = worker.recv_reply();
    assert_eq!(
        (reqid, answer),
        (5, Instr::WorkerList),
        "the link is still served"
    );
    idle.clear();
    let answer = waiting.try_recv(Duration::from_secs(5));
    assert_eq!(answer.map(|f| instr(&f)), Some(Instr::WorkerList));
    assert!(
        master
            .stderr_with("pausing until a connection closes")
            .contains("pausing until a connection closes")
    );
}
