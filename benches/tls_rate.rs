//! TLS on the client port of a real ptworkerd (`client_tls = optional`,
//! one port for both), measured against plain in the same run with the
//! same client code:
//!
//! - cached `getAssetValueCurrent` round trips per second, 50 connections,
//!   one request outstanding per connection, plain and TLS rounds taking
//!   turns (issue 12 target: TLS at least 0.8x plain);
//! - full TLS handshakes per second that the worker completes (fresh
//!   connections, no resumption, closed after the handshake);
//! - worker RSS per idle connection, plain and TLS (handshake done, then
//!   silent; target: at most 48 KiB per TLS connection).
//!
//! `cargo bench -p papertrader-tests --bench tls_rate` (make bench builds
//! the daemons first). Everything is bounded and stays on 127.0.0.1; the
//! client runs in this process, so it shares the 2 cores with the worker.

#[path = "../tests/util/mod.rs"]
mod util;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use papertrader_common::message::frame;
use papertrader_common::{Decoder, Instr};
use util::certs::{TestCa, loopback_name};
use util::daemon::TempDir;
use util::system::{System, call};
use util::wire::Peer;

const CONNECTIONS: usize = 50;
const REQUESTS: usize = 50_000;
/// Plain and TLS rounds take turns, so that the drift of a shared VM hits
/// both alike.
const ROUNDS: usize = 10;
/// Client threads; each drives CONNECTIONS / THREADS connections in turn.
const THREADS: usize = 2;
const HANDSHAKE_SECONDS: u64 = 5;
const IDLE: usize = 2000;

#[derive(Clone)]
struct Dial {
    addr: SocketAddr,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Dial {
    fn connect(&self) -> Peer {
        match &self.tls {
            None => Peer::connect(self.addr),
            Some(config) => {
                Peer::try_connect_tls_with(self.addr, config.clone(), loopback_name(self.addr))
                    .expect("TLS handshake")
            }
        }
    }
}

/// Round trips per second over `dial`'s transport.
fn quote_rate(dial: &Dial, session: &str) -> f64 {
    let request = frame(Instr::GetAssetValueCurrent, &["AAPL"]).to_bytes();
    let barrier = Arc::new(std::sync::Barrier::new(THREADS + 1));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (request, session, dial) = (request.clone(), session.to_string(), dial.clone());
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut peers: Vec<Peer> = (0..CONNECTIONS / THREADS)
                    .map(|_| {
                        let mut p = dial.connect();
                        call(&mut p, Instr::SwitchState, &[&session, "data"]);
                        p
                    })
                    .collect();
                let mut decoders: Vec<Decoder> = peers.iter().map(|_| Decoder::new()).collect();
                barrier.wait();
                let mut buf = [0u8; 4096];
                for _ in 0..REQUESTS / CONNECTIONS {
                    for p in &mut peers {
                        p.send_raw(&request);
                    }
                    for (p, d) in peers.iter_mut().zip(&mut decoders) {
                        loop {
                            if let Some(f) = d.next_frame().expect("valid") {
                                assert_eq!(f.instruction, Instr::Data.code(), "a cached quote");
                                break;
                            }
                            let n = p.read_some(&mut buf).expect("read");
                            assert!(n > 0, "worker closed");
                            d.push(&buf[..n]);
                        }
                    }
                }
            })
        })
        .collect();
    // The clock starts once every connection is open (and its handshake
    // done): this measures the round trips, not the connecting.
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().expect("client thread");
    }
    REQUESTS as f64 / start.elapsed().as_secs_f64()
}

/// Full handshakes per second, from THREADS client threads.
fn handshake_rate(dial: &Dial) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (dial, stop, done) = (dial.clone(), stop.clone(), done.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    drop(dial.connect());
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(HANDSHAKE_SECONDS));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("handshake thread");
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Worker RSS growth per connection while IDLE connections over `dial`
/// sit idle after one request each (a TLS one has finished its handshake
/// and moved data both ways).
fn idle_kib(dial: &Dial, pid: i32) -> f64 {
    std::thread::sleep(Duration::from_secs(1));
    let before = rss_kib(pid);
    let mut peers = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        let mut p = dial.connect();
        call(&mut p, Instr::GetWorkerList, &[]);
        peers.push(p);
    }
    std::thread::sleep(Duration::from_secs(2));
    let after = rss_kib(pid);
    drop(peers);
    std::thread::sleep(Duration::from_secs(2));
    (after.saturating_sub(before)) as f64 / IDLE as f64
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = TempDir::new("tlsbench");
    let assets = dir.join("assets.list");
    std::fs::write(&assets, "AAPL Apple Inc.\n").expect("assets");
    let ca = TestCa::new("bench");
    let (cert, key, _) = ca.write_leaf(&dir.path, "worker", &["127.0.0.1"]);
    let master = format!(
        "assets_file = {}\nupdate_interval = 1s\nhistory_days = 5\n",
        assets.display()
    );
    let worker = format!(
        "max_clients = 20000\nmax_clients_per_address = 20000\n\
         client_tls = optional\ntls_cert = {}\ntls_key = {}\n",
        cert.display(),
        key.display()
    );
    let system = System::start("tlsbench", &master, &worker);
    let session = system.quote_session();
    let addr = system.worker.addr;
    let plain = Dial { addr, tls: None };
    let tls = Dial {
        addr,
        tls: Some(ca.client_config()),
    };

    // PT_TLS_PROFILE=N: N TLS rounds only, for a profiler on the worker.
    if let Some(n) = std::env::var("PT_TLS_PROFILE")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        println!("worker pid {}", system.worker.pid());
        for _ in 0..n {
            println!("TLS {:.0}", quote_rate(&tls, &session));
        }
        return;
    }
    let (mut plain_sum, mut tls_sum) = (0.0, 0.0);
    let mut ratios = Vec::new();
    for round in 1..=ROUNDS {
        let p = quote_rate(&plain, &session);
        let t = quote_rate(&tls, &session);
        println!(
            "round {round}: plain {p:.0}, TLS {t:.0} cached quote round trips/s ({CONNECTIONS} connections, {REQUESTS} requests): {:.2}x",
            t / p
        );
        plain_sum += p;
        tls_sum += t;
        ratios.push(t / p);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "mean: plain {:.0}, TLS {:.0}: TLS/plain {:.2}, median round {:.2} (target >= 0.80)",
        plain_sum / ROUNDS as f64,
        tls_sum / ROUNDS as f64,
        tls_sum / plain_sum,
        ratios[ROUNDS / 2]
    );
    let hs = handshake_rate(&tls);
    println!(
        "TLS handshakes: {hs:.0}/s completed by the worker ({THREADS} client threads, {HANDSHAKE_SECONDS} s)"
    );
    let pid = system.worker.pid();
    let plain_idle = idle_kib(&plain, pid);
    let tls_idle = idle_kib(&tls, pid);
    println!(
        "idle connections ({IDLE}): plain {plain_idle:.1} KiB, TLS {tls_idle:.1} KiB of worker RSS each (target <= 48 KiB)"
    );
}
