//! Fuzzes the worker's web port (`web_listen`): any sequence of HTTP
//! requests, well formed or not, upgrades to WebSocket with good and bad
//! handshakes, WebSocket frames of every opcode, length encoding and mask,
//! carrying protocol frames or garbage, raw bytes, half-closes and drops,
//! on up to four connections, while the clock jumps ahead.
//!
//! The worker is the real one (`papertrader_worker::server::Server`, the
//! web listener bound as `main` binds it), driven one loop turn at a time
//! through the `fuzzing` feature's hooks, over loopback TCP; no master is
//! linked, so requests the worker would forward are refused as unavailable.
//!
//! Checked after every step: nothing panics; the worker keeps no more
//! connections than the harness has open; every connection's first bytes
//! from the worker are an HTTP/1.1 status line; after a `101`, what the
//! worker sends is WebSocket frames, unmasked, of a known opcode, each
//! binary message one protocol frame that decodes.
//!
//! Run with `make fuzz` (libFuzzer on the stable toolchain).
#![no_main]

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

// Input::word, pair and Frames are the request targets'; this one builds
// its own requests and reads HTTP.
#[allow(dead_code)]
#[path = "../../../common/fuzz/harness.rs"]
mod harness;
#[path = "../worker.rs"]
mod worker;

use harness::{Input, REQUESTS};
use libfuzzer_sys::fuzz_target;
use mio::Events;
use papertrader_common::Decoder;
use papertrader_common::message::frame;
use papertrader_worker::config::Config;
use papertrader_worker::server::Server;

const MAX_CLIENTS: usize = 4;
const SLOTS: usize = MAX_CLIENTS + 1;
const MAX_OPS: usize = 48;
/// Bytes of the worker's answers a connection keeps while its head is
/// incomplete; past it the head is too long to be a status line anyway.
const MAX_HEAD: usize = 16 * 1024;

const PATHS: &[&str] = &[
    "/",
    "/ws",
    "/index.html",
    "/providers.json",
    "/js/app.js",
    "/app.css",
    "/nope",
    "/../etc/passwd",
    "/ws?x=1",
    "//ws",
    "/%2e%2e/",
    "/stream",
    "/v2/account",
    "/v2/orders",
    "/v2/orders?status=all&limit=5&nested=True",
    "/v2/orders/6f726472-0000-4000-8000-00000000002a",
    "/v2/clock",
    "/v2/calendar?start=2026-12-01&end=2026-12-31",
    "/v2/positions/BTC/USD?percentage=50",
    "/v2/account/activities/FILL?page_size=2",
    "/v1beta3/crypto/us/bars?symbols=BTC/USD&timeframe=1Min",
    "/v1beta3/crypto/us/latest/quotes?symbols=BTC%2FUSD",
    "/v2/stocks/bars?symbols=AAPL,MSFT&timeframe=5Min&start=2026-01-01&page_token=AAPL~1",
];
const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "OPTIONS", "get", "PUT", "G\u{e9}T", "PATCH", "DELETE",
];
/// Bodies of the HTTP API's requests.
const BODIES: &[&str] = &[
    r#"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","limit_price":"1","time_in_force":"gtc"}"#,
    r#"{"symbol":"BTC/USD","notional":5,"side":"sell"}"#,
    r#"{"qty":1e308,"order_class":"bracket","take_profit":{"limit_price":-1}}"#,
    "{\"action\":\"authenticate\",\"data\":{\"key_id\":\"PKAAAAAAAAAAAAAAAAAA\"}}",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "",
];

/// Where a connection's answers are in their parsing.
enum Seen {
    /// Bytes of the first answer's head so far.
    Head(Vec<u8>),
    /// HTTP answers after a good status line (not parsed further).
    Http,
    /// After a 101: WebSocket frames, the bytes of an unfinished one.
    Ws(Vec<u8>),
}

/// The harness end of a connection to the web port.
type Peer = harness::Peer<Seen>;

impl Seen {
    /// Checks the next bytes of the worker's answers.
    fn check(&mut self, bytes: &[u8]) {
        match self {
            Seen::Head(head) => {
                head.extend_from_slice(bytes);
                if head.len() >= 13 {
                    let line = &head[..13];
                    assert!(
                        line.starts_with(b"HTTP/1.1 ")
                            && line[9..12].iter().all(u8::is_ascii_digit)
                            && line[12] == b' ',
                        "not a status line: {:?}",
                        String::from_utf8_lossy(line)
                    );
                }
                let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
                    assert!(head.len() < MAX_HEAD, "an answer head without an end");
                    return;
                };
                let rest = head.split_off(end + 4);
                *self = if head.starts_with(b"HTTP/1.1 101 ") {
                    Seen::Ws(Vec::new())
                } else {
                    Seen::Http
                };
                self.check(&rest);
            }
            Seen::Http => {}
            Seen::Ws(pending) => {
                pending.extend_from_slice(bytes);
                while let Some(used) = server_ws_frame(pending) {
                    pending.drain(..used);
                }
            }
        }
    }
}

/// Checks the first WebSocket frame the worker sent in `buf`; its length,
/// or `None` while it is incomplete.
fn server_ws_frame(buf: &[u8]) -> Option<usize> {
    let [b0, b1, ..] = *buf else { return None };
    assert_eq!(b1 & 0x80, 0, "a server frame is never masked");
    let opcode = b0 & 0x0f;
    assert!(
        matches!(opcode, 0x1 | 0x2 | 0x8 | 0x9 | 0xa),
        "opcode {opcode:#x} from the worker"
    );
    let (len, at) = match b1 & 0x7f {
        126 => (
            usize::from(u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?)),
            4,
        ),
        127 => {
            let n = u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?);
            (usize::try_from(n).expect("length fits"), 10)
        }
        n => (usize::from(n), 2),
    };
    assert!(len <= 70_000, "a WebSocket message of {len} bytes");
    let payload = buf.get(at..at + len)?;
    if opcode == 0x1 {
        // The trading stream: JSON text.
        assert!(std::str::from_utf8(payload).is_ok(), "a text message in UTF-8");
    }
    if opcode == 0x2 {
        // One binary message, one whole protocol frame.
        let mut decoder = Decoder::new();
        decoder.push(payload);
        let f = decoder.next_frame().expect("a frame that decodes");
        assert!(f.is_some(), "a binary message holds a whole frame");
        assert_eq!(decoder.pending(), 0, "a binary message holds one frame");
    }
    Some(at + len)
}

struct World {
    server: Server,
    events: Events,
    web: SocketAddr,
    peers: Vec<Option<Peer>>,
    skipped: Duration,
}

impl World {
    fn new() -> World {
        let mut config = Config::load(None).expect("built-in config");
        config.max_clients = MAX_CLIENTS;
        let (server, _, web) = worker::worker(config, true);
        World {
            server,
            events: Events::with_capacity(64),
            web: web.expect("a web port"),
            peers: (0..SLOTS).map(|_| None).collect(),
            skipped: Duration::ZERO,
        }
    }

    /// Runs the worker until nothing moves, checking what it sent.
    fn settle(&mut self) {
        for _ in 0..64 {
            let n = harness::turn(&mut self.server, &mut self.events);
            let mut any = false;
            for peer in self.peers.iter_mut().flatten() {
                any |= peer.read(Seen::check);
            }
            if n == 0 && !any {
                break;
            }
        }
        let open = self.peers.iter().flatten().count();
        assert!(
            self.server.fuzz_clients() + self.server.fuzz_web_conns() + self.server.fuzz_streams()
                <= open,
            "the worker keeps a connection the harness closed"
        );
    }

    fn send(&mut self, k: usize, bytes: &[u8]) {
        if self.peers[k].is_none() {
            let stream = TcpStream::connect(self.web).expect("connect to the web port");
            self.peers[k] = Some(Peer::new(stream, Seen::Head(Vec::new())));
        }
        if let Some(peer) = self.peers[k].as_mut() {
            peer.write(bytes);
        }
    }

    /// One step of the input, then the worker settled.
    fn step(&mut self, input: &mut Input) {
        let op = input.op(12);
        let k = input.below(SLOTS);
        match op {
            0..=3 => {
                let bytes = http_request(input, self.web);
                self.send(k, &bytes);
            }
            4..=6 => {
                let bytes = ws_frame(input);
                self.send(k, &bytes);
            }
            7 => self.send(k, input.raw(256)),
            8 => {
                if let Some(peer) = self.peers[k].as_ref() {
                    let _ = peer.stream.shutdown(std::net::Shutdown::Write);
                }
            }
            9 => self.peers[k] = None,
            _ => {
                let secs = u64::from(input.byte() % 64) * 4;
                self.skipped += Duration::from_secs(secs) + Duration::from_millis(100);
                self.server.fuzz_timers(Instant::now() + self.skipped);
            }
        }
        self.settle();
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.peers.clear();
    }
}

/// An HTTP request from the input: a method and path from short lists (or
/// the input's bytes), and headers that make a WebSocket upgrade good or
/// bad in one respect at a time.
fn http_request(input: &mut Input, web: SocketAddr) -> Vec<u8> {
    let method = METHODS[input.below(METHODS.len())];
    let path = match input.byte() % 8 {
        0 => String::from_utf8_lossy(input.raw(64)).into_owned(),
        1 => "/".repeat(input.below(9000)),
        _ => PATHS[input.below(PATHS.len())].to_string(),
    };
    let flags = input.byte();
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    if flags & 1 != 0 {
        req.push_str(&format!("Host: {web}\r\n"));
    }
    match (flags >> 1) % 4 {
        0 => {}
        1 => req.push_str(&format!("Origin: http://{web}\r\n")),
        2 => req.push_str("Origin: https://evil.example\r\n"),
        _ => req.push_str("Origin: null\r\n"),
    }
    if flags & 8 != 0 {
        req.push_str("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n");
        if flags & 16 != 0 {
            req.push_str("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
        }
        if flags & 32 != 0 {
            req.push_str("Sec-WebSocket-Protocol: papertrader.v1\r\n");
        }
    }
    if flags & 64 != 0 {
        req.push_str("Accept-Encoding: gzip\r\nIf-None-Match: \"x\"\r\n");
    }
    if flags & 128 != 0 {
        req.push_str(&String::from_utf8_lossy(input.raw(128)));
        req.push_str("\r\n");
    }
    let api = input.byte();
    if api & 1 != 0 {
        req.push_str("APCA-API-KEY-ID: PKAAAAAAAAAAAAAAAAAA\r\n");
    }
    if api & 2 != 0 {
        req.push_str(&format!("APCA-API-SECRET-KEY: {}\r\n", "0".repeat(64)));
    }
    let body = match api >> 2 & 3 {
        0 => None,
        1 => Some(BODIES[input.below(BODIES.len())].as_bytes().to_vec()),
        _ => Some(input.raw(300).to_vec()),
    };
    if let Some(body) = &body {
        let claimed = if api & 0x40 != 0 { body.len() + 7 } else { body.len() };
        req.push_str(&format!("Content-Length: {claimed}\r\n"));
    }
    if api & 0x80 != 0 {
        req.push_str("Transfer-Encoding: chunked\r\n");
    }
    let mut bytes = req.into_bytes();
    let body_at = bytes.len();
    if !input.byte().is_multiple_of(4) {
        bytes.extend_from_slice(b"\r\n");
        if let Some(body) = body {
            bytes.extend_from_slice(&body);
        }
    }
    debug_assert!(bytes.len() >= body_at);
    bytes
}

/// A client WebSocket frame from the input: usually masked, binary, one
/// protocol request; sometimes any opcode, flags, length or payload.
fn ws_frame(input: &mut Input) -> Vec<u8> {
    let shape = input.byte();
    let payload = match shape % 4 {
        0 => input.raw(200).to_vec(),
        _ => {
            let instr = REQUESTS[input.below(REQUESTS.len())];
            let args: Vec<&str> = (0..input.below(4)).map(|_| "AAPL").collect();
            frame(instr, &args).to_bytes()
        }
    };
    let b0 = match shape >> 2 & 3 {
        0 => 0x80 | (input.byte() & 0x7f),
        _ => 0x82,
    };
    let masked = shape & 0x10 == 0;
    let mut out = vec![b0];
    let len = payload.len();
    let mask_bit = if masked { 0x80 } else { 0 };
    match shape >> 5 & 3 {
        0 => {
            out.push(mask_bit | 127);
            let claimed = if input.byte() < 16 {
                u64::MAX
            } else {
                len as u64
            };
            out.extend_from_slice(&claimed.to_be_bytes());
        }
        1 => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
        }
        _ if len < 126 => out.push(mask_bit | len as u8),
        _ => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
        }
    }
    let key = [input.byte(), input.byte(), input.byte(), input.byte()];
    if masked {
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend_from_slice(&payload);
    }
    out
}

fuzz_target!(|data: &[u8]| harness::run(data, MAX_OPS, World::new, World::step));
