//! Cached `getAssetValueCurrent` round trips per second over WebSocket
//! (the web port's `/ws`, section 12) against the client port's plain TCP,
//! through one real ptworkerd, in the same run, with the same client
//! loop: 50 connections, one request outstanding on each (issue 16:
//! WebSocket at least 0.7x of TCP). Each WebSocket request is one masked
//! binary message, as a browser sends it.
//!
//! `cargo bench --bench ws_rate` (make bench builds the daemons first).

#[path = "../tests/util/mod.rs"]
mod util;

use std::io::Read;
use std::net::SocketAddr;
use std::time::Instant;

use papertrader_common::message::frame;
use papertrader_common::{Decoder, Frame, Instr};
use util::daemon::TempDir;
use util::system::System;
use util::wire::Peer;
use util::ws::{self, WsPeer};

const CONNECTIONS: usize = 50;
const REQUESTS: usize = 200_000;
/// Client threads; each drives CONNECTIONS / THREADS connections in turn.
const THREADS: usize = 2;

/// One connection as the client loop sees it.
trait Link: Send {
    fn send(&mut self, bytes: &[u8]);
    fn recv(&mut self) -> Frame;
}

struct Tcp(Peer, Decoder);

impl Link for Tcp {
    fn send(&mut self, bytes: &[u8]) {
        self.0.send_raw(bytes);
    }

    fn recv(&mut self) -> Frame {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(f) = self.1.next_frame().expect("valid") {
                return f;
            }
            let n = self.0.stream.read(&mut buf).expect("read");
            assert!(n > 0, "worker closed");
            self.1.push(&buf[..n]);
        }
    }
}

struct Ws(WsPeer);

impl Link for Ws {
    fn send(&mut self, bytes: &[u8]) {
        self.0.send_raw(bytes);
    }

    fn recv(&mut self) -> Frame {
        self.0.recv_quick()
    }
}

/// Round trips per second of `request` over links made by `open`.
fn rate<L: Link + 'static>(
    request: Vec<u8>,
    session: &str,
    open: impl Fn() -> L + Send + Sync + Copy + 'static,
) -> f64 {
    // Connect and switch every link to data state before the clock runs.
    let groups: Vec<Vec<L>> = (0..THREADS)
        .map(|_| {
            (0..CONNECTIONS / THREADS)
                .map(|_| {
                    let mut link = open();
                    link.send(&frame(Instr::SwitchState, &[session, "data"]).to_bytes_for(&link));
                    assert_eq!(link.recv().instruction, Instr::StateSwitchSuccess.code());
                    link
                })
                .collect()
        })
        .collect();
    let start = Instant::now();
    let handles: Vec<_> = groups
        .into_iter()
        .map(|mut links| {
            let request = request.clone();
            std::thread::spawn(move || {
                for _ in 0..REQUESTS / CONNECTIONS {
                    for l in &mut links {
                        l.send(&request);
                    }
                    for l in &mut links {
                        assert_eq!(l.recv().instruction, Instr::Data.code(), "a cached quote");
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

/// How a link wants a frame's bytes: raw on TCP, one masked message on
/// WebSocket.
trait Encode {
    fn to_bytes_for<L: Link + 'static>(&self, link: &L) -> Vec<u8>;
}

impl Encode for Frame {
    fn to_bytes_for<L: Link + 'static>(&self, _link: &L) -> Vec<u8> {
        let bytes = self.to_bytes();
        if std::any::TypeId::of::<L>() == std::any::TypeId::of::<Ws>() {
            as_message(&bytes)
        } else {
            bytes
        }
    }
}

fn as_message(bytes: &[u8]) -> Vec<u8> {
    let mut message = ws::message_head(ws::BINARY, bytes.len() as u64, true);
    message.extend(ws::mask(bytes));
    message
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = TempDir::new("wsbench");
    let assets = dir.join("assets.list");
    std::fs::write(&assets, "AAPL Apple Inc.\n").expect("assets");
    let master = format!(
        "assets_file = {}\nupdate_interval = 1s\nhistory_days = 5\n",
        assets.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let web: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let system = System::start(
        "wsbench",
        &master,
        &format!("max_clients = 1000\nweb_listen = {web}\n"),
    );
    let session = system.quote_session();
    let request = frame(Instr::GetAssetValueCurrent, &["AAPL"]).to_bytes();
    let addr = system.worker.addr;
    // Alternate, so that neither side has the machine to itself.
    let mut tcp = Vec::new();
    let mut wsr = Vec::new();
    for _ in 0..3 {
        tcp.push(rate(request.clone(), &session, move || {
            Tcp(Peer::connect(addr), Decoder::new())
        }));
        wsr.push(rate(as_message(&request), &session, move || {
            Ws(WsPeer::connect(web))
        }));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (t, w) = (median(&mut tcp), median(&mut wsr));
    println!("TCP:       {t:.0} cached getAssetValueCurrent round trips/s (median of {tcp:.0?})");
    println!("WebSocket: {w:.0} cached getAssetValueCurrent round trips/s (median of {wsr:.0?})");
    println!(
        "ratio WebSocket/TCP: {:.2} ({CONNECTIONS} connections, {REQUESTS} requests a run, target >= 0.7)",
        w / t
    );
}
