//! Fuzzes the worker's request path: any sequence of client frames, on up
//! to four client connections, in command or data state, logged in or not,
//! while a fake master on an already-linked master connection answers the
//! forwarded requests (successes, failures, data transfers in pieces and
//! out of order), sends control frames, misbehaves, drops the link and
//! comes back, and the clock jumps ahead.
//!
//! The worker is the real one: `papertrader_worker::server::Server`, built
//! as `main` builds it, driven one loop turn at a time through the hooks of
//! the `fuzzing` feature (`fuzz_timers`,
//! `fuzz_link_up`). Clients and the fake master talk to it over loopback
//! TCP, so accept, read, write and close are the daemon's own.
//!
//! Checked after every step: nothing panics; every byte the worker sends
//! decodes; clients only ever get returns (message type 3) that pass the
//! instruction table while the master behaves; every request it forwards
//! carries a valid section 6 prefix with this worker's UUID and passes the
//! table; requests waiting for the master never outnumber those the master
//! has not finished answering, and none wait while the link is down.
//!
//! Run with `make fuzz` (libFuzzer on the stable toolchain, FUZZ_SECONDS per
//! target), or `cargo fuzz run client_requests` from worker/ on nightly.
#![no_main]

use std::collections::VecDeque;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

#[path = "../../../common/fuzz/harness.rs"]
mod harness;
#[path = "../worker.rs"]
mod worker;

use harness::{Input, Peer, REQUESTS, pair, trace};
use libfuzzer_sys::fuzz_target;
use mio::Events;
use papertrader_common::message::{self, frame};
use papertrader_common::payload::{Line, Quote};
use papertrader_common::reply::{LinkMsg, Reply};
use papertrader_common::request::Forwarded;
use papertrader_common::value::{Money, Reason, ReasonCode, Symbol, Timestamp};
use papertrader_common::{Frame, Instr, MessageType};
use papertrader_worker::config::Config;
use papertrader_worker::server::Server;

const UUID: &str = "0123456789abcdef0123456789abcdef";
const MAX_CLIENTS: usize = 4;
/// Client slots the input can name: one more than the worker takes, so the
/// "worker is full" refusal is reached.
const SLOTS: usize = MAX_CLIENTS + 1;
const MAX_OPS: usize = 64;

/// Sessions the fake master hands out and clients send; the first two are
/// the ones `login` answers, so switching with them works.
const SESSIONS: [&str; 3] = [
    "00112233445566778899aabbccddeeff",
    "ffeeddccbbaa99887766554433221100",
    "0123456789abcdef0123456789abcdef",
];

/// A request the worker forwarded, as the fake master keeps it.
struct Forward {
    reqid: String,
    instr: Instr,
    /// Its own arguments (after the prefix).
    args: Vec<String>,
    /// Data packets already sent of a multi-packet answer, and their total.
    sent: u32,
    max: u32,
}

/// The master end of the link.
struct FakeMaster {
    peer: Peer,
    requests: VecDeque<Forward>,
}

struct World {
    server: Server,
    events: Events,
    listen: SocketAddr,
    clients: Vec<Option<Peer>>,
    master: Option<FakeMaster>,
    /// The clock the timers see: real time plus what the input skipped.
    skipped: Duration,
    /// The fake master sent something off the protocol: the worker may
    /// relay it to a client, so client frames are only decoded, not checked
    /// against the table.
    master_misbehaved: bool,
}

impl World {
    fn new() -> World {
        let mut config = Config::load(None).expect("built-in config");
        config.uuid = Some(UUID.into());
        config.max_clients = MAX_CLIENTS;
        config.history_cache_bytes = 64 * 1024;
        let (server, listen, _) = worker::worker(config, false);
        let mut world = World {
            server,
            events: Events::with_capacity(64),
            listen,
            clients: (0..SLOTS).map(|_| None).collect(),
            master: None,
            skipped: Duration::ZERO,
            master_misbehaved: false,
        };
        world.link_up();
        world
    }

    fn link_up(&mut self) {
        let (ours, theirs, from) = pair();
        self.server.fuzz_link_up(theirs, from).expect("link up");
        self.master = Some(FakeMaster {
            peer: Peer::to("worker", ours),
            requests: VecDeque::new(),
        });
    }

    /// Runs the worker until it has nothing left to do, then checks what
    /// it sent.
    fn settle(&mut self) {
        for _ in 0..64 {
            let n = harness::turn(&mut self.server, &mut self.events);
            if trace() {
                let what: Vec<_> = self
                    .events
                    .iter()
                    .map(|e| (e.token().0, e.is_readable(), e.is_writable()))
                    .collect();
                eprintln!("  turn: {what:?}, {} pending", self.server.fuzz_pending());
            }
            if n == 0 && !self.collect() {
                return;
            }
        }
    }

    /// Reads every peer; true if anything arrived.
    fn collect(&mut self) -> bool {
        let mut any = false;
        for slot in &mut self.clients {
            let Some(client) = slot else { continue };
            for f in client.frames("client") {
                any = true;
                if trace() {
                    eprintln!("  client <- {f:?}");
                }
                check_client_frame(&f, self.master_misbehaved);
            }
        }
        if let Some(master) = &mut self.master {
            for f in master.peer.frames("master link") {
                any = true;
                if trace() {
                    eprintln!("  master <- {f:?}");
                }
                on_forwarded(master, &f);
            }
            if master.peer.ended {
                self.master = None;
            }
        }
        let open = self.clients.iter().flatten().count();
        assert!(
            self.server.fuzz_clients() <= open,
            "a client the worker keeps is gone"
        );
        let owed: usize = self.master.as_ref().map_or(0, |m| m.requests.len());
        let pending = self.server.fuzz_pending();
        if !self.server.fuzz_link_is_up() {
            assert_eq!(pending, 0, "requests wait on a link that is down");
        }
        assert!(
            pending <= owed,
            "{pending} requests wait for the master, which owes {owed}"
        );
        any
    }

    /// One step of the input, then the worker settled.
    fn step(&mut self, input: &mut Input) {
        match input.op(16) {
            0 => self.connect(input.below(SLOTS)),
            1..=4 => {
                let k = input.below(SLOTS);
                let f = request(input);
                self.send_client(k, &f.to_bytes());
            }
            5 => self.send_client(input.below(SLOTS), &input.any_frame(6, 48).to_bytes()),
            6 => self.send_client(input.below(SLOTS), input.raw(64)),
            7 => {
                let k = input.below(SLOTS);
                if let Some(client) = self.clients[k].as_ref() {
                    let _ = client.stream.shutdown(std::net::Shutdown::Write);
                }
            }
            8 => {
                let k = input.below(SLOTS);
                self.clients[k] = None;
            }
            9..=11 => self.answer(input),
            12 => self.master_control(input),
            13 => self.master_garbage(input),
            14 => match input.byte() % 4 {
                0 => self.master = None,
                1 => self.link_up(),
                _ => {
                    if self.master.is_none() {
                        self.link_up()
                    }
                }
            },
            _ => {
                self.skipped += input.jump();
                self.server.fuzz_timers(Instant::now() + self.skipped);
            }
        }
        self.settle();
    }

    fn connect(&mut self, k: usize) {
        if self.clients[k].is_some() {
            return;
        }
        let stream = TcpStream::connect(self.listen).expect("connect to the worker");
        self.clients[k] = Some(Peer::to("worker", stream));
    }

    fn send_client(&mut self, k: usize, bytes: &[u8]) {
        if self.clients[k].is_none() {
            self.connect(k);
        }
        if let Some(client) = self.clients[k].as_mut() {
            client.write(bytes);
        }
    }

    /// The fake master answers one forwarded request, or one packet of it.
    fn answer(&mut self, input: &mut Input) {
        let Some(master) = self.master.as_mut() else {
            return;
        };
        if master.requests.is_empty() {
            return;
        }
        let at = input.below(master.requests.len());
        let fails = input.byte() < 48;
        let req = &mut master.requests[at];
        let reqid = req.reqid.clone();
        let (frames, done) = if fails {
            let codes = [
                ReasonCode::Unavailable,
                ReasonCode::Forbidden,
                ReasonCode::BadArguments,
                ReasonCode::Internal,
            ];
            let code = codes[input.below(codes.len())];
            let instr = req.instr.failure().unwrap_or(Instr::ProtocolError);
            let reason = Reason::new(code, "the fake master says no");
            (vec![frame(instr, &[reqid, reason.to_string()])], true)
        } else {
            success(req, input)
        };
        if done {
            master.requests.remove(at);
        }
        if trace() {
            eprintln!("  master -> {frames:?}");
        }
        let mut bytes = Vec::new();
        for f in &frames {
            f.encode(&mut bytes);
        }
        master.peer.write(&bytes);
    }

    fn master_control(&mut self, input: &mut Input) {
        let Some(master) = self.master.as_mut() else {
            return;
        };
        let f = match input.byte() % 5 {
            0 => frame(Instr::Ping, &["1"]),
            1 => frame(Instr::Pong, &["keepalive"]),
            2 => {
                let n = input.below(4);
                let list: Vec<String> = (0..n).map(|i| format!("127.0.0.{i}:4000")).collect();
                frame(Instr::WorkerListUpdate, &list)
            }
            _ => {
                let mut payload = String::new();
                for _ in 0..input.below(4) {
                    payload.push_str(&quote_line(input));
                }
                let packets =
                    papertrader_common::transfer::packets(Instr::Quotes, payload.as_bytes(), None)
                        .unwrap_or_default();
                let mut bytes = Vec::new();
                for p in packets {
                    p.encode(&mut bytes);
                }
                return master.peer.write(&bytes);
            }
        };
        master.peer.write(&f.to_bytes());
    }

    /// The master breaks the protocol: an answer to no request, a return
    /// without a REQID, any frame at all, or bytes, after which it drops
    /// the link: bytes that stop in the middle of a frame would swallow
    /// every later answer, and the fake master's count of what it owes
    /// would be wrong.
    fn master_garbage(&mut self, input: &mut Input) {
        let Some(master) = self.master.as_mut() else {
            return;
        };
        self.master_misbehaved = true;
        let bytes = match input.byte() % 4 {
            0 => frame(Instr::SessionId, &["999999", SESSIONS[0]]).to_bytes(),
            1 => frame::<&str>(Instr::LogoutSuccess, &[]).to_bytes(),
            2 => input.any_frame(6, 48).to_bytes(),
            _ => {
                master.peer.write(input.raw(64));
                self.master = None;
                return;
            }
        };
        master.peer.write(&bytes);
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // Reset the harness ends before the worker's own close.
        self.clients.clear();
        self.master = None;
    }
}

/// A well-formed answer to `req` (or its next data packet); true once whole.
fn success(req: &mut Forward, input: &mut Input) -> (Vec<Frame>, bool) {
    let reqid = req.reqid.as_str();
    let one = |f: Frame| (vec![f], true);
    match req.instr {
        Instr::Login | Instr::LoginSession => {
            let session = match req.instr {
                Instr::LoginSession => req.args.first().cloned().unwrap_or_default(),
                _ => SESSIONS[input.below(2)].to_string(),
            };
            one(frame(Instr::SessionId, &[reqid, &session]))
        }
        Instr::Register => one(frame(Instr::RegisterSuccess, &[reqid])),
        Instr::Logout => one(frame(Instr::LogoutSuccess, &[reqid])),
        Instr::SwitchState => {
            let state = req.args.get(1).cloned().unwrap_or_default();
            one(frame(Instr::StateSwitchSuccess, &[reqid, &state]))
        }
        Instr::PurchaseAsset | Instr::SellAsset => {
            let instr = match req.instr {
                Instr::PurchaseAsset => Instr::PurchaseSuccess,
                _ => Instr::SellSuccess,
            };
            let symbol = req.args.get(1).cloned().unwrap_or_default();
            let qty = req.args.get(2).cloned().unwrap_or_default();
            let args = [reqid, "7", &symbol, &qty, "189.50", "1732147205"];
            one(frame(instr, &args))
        }
        Instr::GetWorkerList => one(frame(Instr::WorkerList, &[reqid, "127.0.0.1:4000"])),
        _ => {
            // A data transfer of one to three packets, one packet a call.
            if req.max == 0 {
                req.max = 1 + input.below(3) as u32;
            }
            req.sent += 1;
            let mut data = format!("{reqid} ").into_bytes();
            data.extend_from_slice(quote_line(input).as_bytes());
            let mut f = Frame::new(MessageType::Return, Instr::Data.code(), 1, data);
            f.data_message_number = req.sent;
            f.data_message_max = req.max;
            (vec![f], req.sent >= req.max)
        }
    }
}

fn quote_line(input: &mut Input) -> String {
    let symbols = ["AAPL", "MSFT", "GOOG"];
    let price = Money(1_000_000 + i64::from(input.byte()) * 1000);
    Quote {
        symbol: Symbol::parse(symbols[input.below(symbols.len())]).expect("symbol"),
        price,
        time: Timestamp(1_732_147_205 + i64::from(input.byte())),
        open: price,
        high: price,
        low: price,
        volume: 100,
    }
    .to_line()
}

/// A client request: a table instruction with words for arguments, its
/// message type and argument count sometimes wrong.
fn request(input: &mut Input) -> Frame {
    let instr = REQUESTS[input.below(REQUESTS.len())];
    let tweak = input.byte();
    let args = input.args(instr, tweak, &SESSIONS);
    let mut f = frame(instr, &args);
    if tweak & 0x80 != 0 {
        f.message_type = [1, 2, 3, 4][input.below(4)];
    }
    f
}

/// What a client may receive: returns only, and, while the master keeps
/// to the protocol, returns a client can read as a [`Reply`].
fn check_client_frame(f: &Frame, master_misbehaved: bool) {
    assert_eq!(
        f.message_type,
        MessageType::Return as u8,
        "a client got a frame that is not a return: {f:?}"
    );
    if !master_misbehaved && let Err(err) = Reply::parse(f) {
        panic!("a client got a return it cannot read ({err}): {f:?}");
    }
}

/// A frame on the master link: a forwarded request with a valid prefix, or
/// a control frame the worker may send.
fn on_forwarded(master: &mut FakeMaster, f: &Frame) {
    if f.message_type == MessageType::Control as u8 {
        match LinkMsg::parse(f).expect("a control frame the master can read") {
            LinkMsg::Ping(word) => master.peer.write(&LinkMsg::Pong(word).encode().to_bytes()),
            LinkMsg::Pong(_) | LinkMsg::SessionClosed(_) => {}
            other => panic!("the worker sent {} to the master", other.instr().name()),
        }
        return;
    }
    let checked = match message::check(f, Forwarded::ARGS) {
        Ok(checked) => checked,
        Err(err) => panic!("the worker forwarded a frame that breaks the table ({err}): {f:?}"),
    };
    let prefix = Forwarded::parse(&checked.prefix).expect("a valid forwarding prefix");
    assert_eq!(prefix.uuid, UUID, "forwarded with another UUID");
    master.requests.push_back(Forward {
        reqid: prefix.reqid,
        instr: checked.instr,
        args: checked.args.iter().map(|s| s.to_string()).collect(),
        sent: 0,
        max: 0,
    });
}

fuzz_target!(|data: &[u8]| harness::run(data, MAX_OPS, World::new, World::step));
