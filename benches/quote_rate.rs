//! Cached `getAssetValueCurrent` round trips per second through a real
//! ptworkerd with 50 connections (the client tests/bench/compare_builds.sh
//! drives two builds with). The comparison with redis-server is
//! tests/bench/quote_compare.sh (`make quote-compare`): ptbench drives both
//! servers there, where this bench used to set its own client beside
//! redis-benchmark, two different clients.
//!
//! `cargo bench --bench quote_rate` (make bench builds the daemons first).
//! Bounded: REQUESTS round trips, one outstanding per connection.

#[path = "../tests/util/mod.rs"]
mod util;

use std::time::Instant;

use papertrader_common::message::frame;
use papertrader_common::{Decoder, Instr};
use util::daemon::TempDir;
use util::system::{System, call};
use util::wire::Peer;

const CONNECTIONS: usize = 50;
const REQUESTS: usize = 200_000;
/// Client threads; each drives CONNECTIONS / THREADS connections in turn.
const THREADS: usize = 2;

fn ptworkerd_rate(system: &System) -> f64 {
    let session = system.quote_session();
    let request = frame(Instr::GetAssetValueCurrent, &["AAPL"]).to_bytes();
    let addr = system.worker.addr;
    let start = Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (request, session) = (request.clone(), session.clone());
            std::thread::spawn(move || {
                let mut peers: Vec<Peer> = (0..CONNECTIONS / THREADS)
                    .map(|_| {
                        let mut p = Peer::connect(addr);
                        call(&mut p, Instr::SwitchState, &[&session, "data"]);
                        p
                    })
                    .collect();
                let mut decoders: Vec<Decoder> = peers.iter().map(|_| Decoder::new()).collect();
                let rounds = REQUESTS / CONNECTIONS;
                let mut buf = [0u8; 4096];
                for _ in 0..rounds {
                    for p in &mut peers {
                        p.send_raw(&request);
                    }
                    for (p, d) in peers.iter_mut().zip(&mut decoders) {
                        use std::io::Read;
                        loop {
                            if let Some(f) = d.next_frame().expect("valid") {
                                assert_eq!(f.instruction, Instr::Data.code(), "a cached quote");
                                break;
                            }
                            let n = p.stream.read(&mut buf).expect("read");
                            assert!(n > 0, "worker closed");
                            d.push(&buf[..n]);
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("client thread");
    }
    REQUESTS as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = TempDir::new("qbench");
    let assets = dir.join("assets.list");
    std::fs::write(&assets, "AAPL Apple Inc.\n").expect("assets");
    let master = format!(
        "assets_file = {}\nupdate_interval = 1s\nhistory_days = 5\n",
        assets.display()
    );
    let system = System::start("qbench", &master, "max_clients = 1000\n");
    let ours = ptworkerd_rate(&system);
    println!(
        "ptworkerd: {ours:.0} cached getAssetValueCurrent round trips/s ({CONNECTIONS} connections, {REQUESTS} requests)"
    );
}
