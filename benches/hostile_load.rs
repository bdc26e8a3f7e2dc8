//! Hostile load: each attack of the "Hostile peers" issue runs for a fixed
//! time against a real master and worker (default argon2 settings), from
//! 127.0.0.9, while an honest client on 127.0.0.2 logs in and asks quotes
//! in a loop. Prints one Markdown table row per attack: requests the
//! attacker sent, both daemons' RSS before and after, and the honest
//! client's login and quote latency (p50/p99), the first row being the
//! same measurement with no attack.
//!
//! `cargo bench --bench hostile_load` (release daemons: `make` first).
//! Loopback only; every loop is bounded by ATTACK_TIME and a request cap.

#[path = "../tests/util/mod.rs"]
mod util;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use papertrader_common::message::frame;
use papertrader_common::{Frame, Instr};
use util::master::{MasterSetup, hashed_pass};
use util::system::{System, call, call_data, start_worker};
use util::wire::Peer;

const ATTACK_TIME: Duration = Duration::from_secs(8);
/// Upper bound on what one attack sends, whatever the machine's speed.
const MAX_REQUESTS: u64 = 5_000_000;
const ATTACKER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 9);
const HONEST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

fn rss_kib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// The honest client's latencies while `stop` is false.
fn honest(addr: SocketAddr, stop: &AtomicBool) -> (Vec<Duration>, Vec<Duration>) {
    let pass = hashed_pass("honest", "pw");
    let (mut logins, mut quotes) = (Vec::new(), Vec::new());
    while !stop.load(Ordering::Relaxed) {
        let mut c = Peer::connect_from(HONEST, addr);
        let t = Instant::now();
        let (i, a) = call(&mut c, Instr::Login, &["honest", &pass, "true"]);
        if i != Instr::SessionId {
            eprintln!("honest login refused: {a:?}");
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        logins.push(t.elapsed());
        call(&mut c, Instr::SwitchState, &[&a[0], "data"]);
        for _ in 0..20 {
            let t = Instant::now();
            if call_data(&mut c, Instr::GetAssetValueCurrent, &["AAPL"]).is_ok() {
                quotes.push(t.elapsed());
            }
        }
    }
    logins.sort();
    quotes.sort();
    (logins, quotes)
}

/// Writes `bytes` again and again on fresh attacker connections until
/// `stop`, never reading; counts the frames written.
fn pipeline(addr: SocketAddr, request: Frame, stop: &AtomicBool, sent: &AtomicU64) {
    let batch = request.to_bytes().repeat(100);
    while !stop.load(Ordering::Relaxed) && sent.load(Ordering::Relaxed) < MAX_REQUESTS {
        let mut c = Peer::connect_from(ATTACKER, addr);
        let _ = c.stream.set_write_timeout(Some(Duration::from_millis(200)));
        while !stop.load(Ordering::Relaxed) && c.stream.write_all(&batch).is_ok() {
            sent.fetch_add(100, Ordering::Relaxed);
        }
    }
}

fn slowloris(addr: SocketAddr, stop: &AtomicBool, sent: &AtomicU64) {
    let bytes = frame(Instr::Login, &["alice", "x", "false"]).to_bytes();
    let mut conns: Vec<Peer> = (0..200)
        .filter_map(|_| std::panic::catch_unwind(|| Peer::connect_from(ATTACKER, addr)).ok())
        .collect();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        for c in &mut conns {
            let _ = c.stream.write_all(&bytes[i % 10..i % 10 + 1]);
            sent.fetch_add(1, Ordering::Relaxed);
        }
        i += 1;
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn connection_flood(addr: SocketAddr, stop: &AtomicBool, sent: &AtomicU64) {
    let mut held = Vec::new();
    while !stop.load(Ordering::Relaxed) && sent.load(Ordering::Relaxed) < 100_000 {
        if let Ok(c) = std::panic::catch_unwind(|| Peer::connect_from(ATTACKER, addr)) {
            held.push(c);
        }
        sent.fetch_add(1, Ordering::Relaxed);
        if held.len() > 1000 {
            held.clear();
        }
    }
}

/// A fresh attacker connection logged in with its own account.
fn logged_in(addr: SocketAddr, user: &str) -> (Peer, String) {
    let pass = hashed_pass(user, "pw");
    let mut c = Peer::connect_from(ATTACKER, addr);
    call(&mut c, Instr::Register, &[user, "m@example.com", &pass]);
    let (_, a) = call(&mut c, Instr::Login, &[user, &pass, "false"]);
    (c, a[0].clone())
}

fn run(system: &System, name: &str, attack: Option<fn(SocketAddr, &AtomicBool, &AtomicU64)>) {
    let addr = system.worker.addr;
    let (wpid, mpid) = (system.worker.pid(), system.master.pid());
    let (w0, m0) = (rss_kib(wpid), rss_kib(mpid));
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let attacker = attack.map(|f| {
        let (stop, sent) = (stop.clone(), sent.clone());
        std::thread::spawn(move || f(addr, &stop, &sent))
    });
    let timer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(ATTACK_TIME);
            stop.store(true, Ordering::Relaxed);
        })
    };
    let (logins, quotes) = honest(addr, &stop);
    let _ = timer.join();
    if let Some(a) = attacker {
        let _ = a.join();
    }
    let (w1, m1) = (rss_kib(wpid), rss_kib(mpid));
    println!(
        "| {name} | {} | {} / {} | {} / {} | {:.1} / {:.1} | {:.2} / {:.2} |",
        sent.load(Ordering::Relaxed),
        w0 / 1024,
        w1 / 1024,
        m0 / 1024,
        m1 / 1024,
        percentile(&logins, 0.5),
        percentile(&logins, 0.99),
        percentile(&quotes, 0.5),
        percentile(&quotes, 0.99),
    );
    // Let the daemons drop what the attack left before the next one.
    std::thread::sleep(Duration::from_secs(2));
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let setup = MasterSetup::new("hostile-load");
    let dir = setup.dir.path.clone();
    let assets = dir.join("assets.list");
    std::fs::write(&assets, "AAPL Apple Inc.\n").expect("assets");
    let master = setup.start(&format!(
        "assets_file = {}\nupdate_interval = 1s\nhistory_days = 5\n",
        assets.display()
    ));
    let worker = start_worker(&setup, master.addr, "");
    let system = System {
        setup,
        master,
        worker,
        worker_extra: String::new(),
    };
    system.wait_linked(Duration::from_secs(20));
    let mut c = system.client();
    let pass = hashed_pass("honest", "pw");
    call(&mut c, Instr::Register, &["honest", "h@example.com", &pass]);
    std::thread::sleep(Duration::from_secs(2)); // the first quotes
    println!(
        "| attack | requests sent | worker RSS MiB before / after | master RSS MiB before / after \
         | honest login ms p50 / p99 | honest quote ms p50 / p99 |"
    );
    println!("|---|---|---|---|---|---|");
    run(&system, "none", None);
    run(
        &system,
        "100 pipelined getWorkerList per write, never read",
        Some(|a, s, n| pipeline(a, frame::<&str>(Instr::GetWorkerList, &[]), s, n)),
    );
    run(&system, "slowloris, 200 connections", Some(slowloris));
    run(
        &system,
        "connection flood from one address",
        Some(connection_flood),
    );
    run(
        &system,
        "register flood",
        Some(|a, s, n| {
            let mut i = 0u64;
            let mut c = Peer::connect_from(ATTACKER, a);
            while !s.load(Ordering::Relaxed) && i < 100_000 {
                let user = format!("flood{i}");
                let pass = hashed_pass(&user, "pw");
                let (_, _) = call(&mut c, Instr::Register, &[&user, "f@example.com", &pass]);
                n.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }),
    );
    run(
        &system,
        "wrong-password flood against honest",
        Some(|a, s, n| {
            let wrong = hashed_pass("honest", "guess");
            let mut c = Peer::connect_from(ATTACKER, a);
            while !s.load(Ordering::Relaxed) && n.load(Ordering::Relaxed) < 100_000 {
                call(&mut c, Instr::Login, &["honest", &wrong, "false"]);
                n.fetch_add(1, Ordering::Relaxed);
            }
        }),
    );
    run(
        &system,
        "order flood from one account",
        Some(|a, s, n| {
            let (mut c, session) = logged_in(a, "greedy");
            let order = frame(Instr::PurchaseAsset, &[session.as_str(), "AAPL", "1"]).to_bytes();
            let batch = order.repeat(50);
            let _ = c.stream.set_write_timeout(Some(Duration::from_millis(200)));
            let _ = c.stream.set_nonblocking(false);
            while !s.load(Ordering::Relaxed) && n.load(Ordering::Relaxed) < MAX_REQUESTS {
                if c.stream.write_all(&batch).is_err() {
                    let (fresh, _) = logged_in(a, "greedy");
                    c = fresh;
                    let _ = c.stream.set_write_timeout(Some(Duration::from_millis(200)));
                    continue;
                }
                n.fetch_add(50, Ordering::Relaxed);
                // Read what came back, so this is load, not a stalled reader.
                let _ = c.try_recv(Duration::from_millis(1));
            }
        }),
    );
}
