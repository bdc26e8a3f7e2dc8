//! Fuzzes the master's handling of any sequence of frames on accepted worker
//! links: forwarded requests with good and bad section 6 prefixes (another
//! link's UUID, a REQID that is not a number), control frames, any frame at
//! all and raw bytes, on up to three links (two of them for the same worker,
//! so a newer link replaces an older one), plus fresh connections on the
//! master port that have not said who they are.
//!
//! The master is the real one: `papertrader_master::server::Server`, built
//! as `main` builds it, driven one loop turn at a time through the hooks of
//! the `fuzzing` feature (`fuzz_tick`, `fuzz_link_up`).
//! Links talk to it over loopback TCP. The helper threads are replaced by
//! the harness, which holds their job channels (small, so "busy" answers are
//! reached): data jobs are answered by the real `data::answer` on a
//! temporary SQLite database; auth and trade jobs by fake answers, since
//! argon2 would cost more than the rest of a run. Answers come back as the
//! helper threads send them, through the event channel and the waker, even
//! for links that have gone.
//!
//! Checked after every step: nothing panics; every byte the master sends
//! decodes; links only get returns and the control frames a master sends;
//! the connections it keeps are never more than the harness opened.
//!
//! Run with `make fuzz` (libFuzzer on the stable toolchain, FUZZ_SECONDS per
//! target), or `cargo fuzz run link_requests` from master/ on nightly.
#![no_main]

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
#[path = "../../../common/fuzz/harness.rs"]
mod harness;

use harness::{Input, Peer, REQUESTS, log, pair, trace};
use libfuzzer_sys::fuzz_target;
use mio::{Events, Poll};
use papertrader_common::message::{self, frame};
use papertrader_common::reply::{Fill, LinkMsg, Reply};
use papertrader_common::request::{Request, Size};
use papertrader_common::value::{Money, Reason, ReasonCode, SessionId, Timestamp};
use papertrader_common::{Frame, Instr, MessageType};
use papertrader_master::auth_thread::AuthMsg;
use papertrader_master::config::Config;
use papertrader_master::control::ControlTx;
use papertrader_master::data;
use papertrader_master::event::{self, Event, Notifier};
use papertrader_master::job::Job;
use papertrader_master::market::{Asset, assets};
use papertrader_master::registry::Registry;
use papertrader_master::server::{Parts, Queues, Server};
use papertrader_master::trade::queue::TradeMsg;
use parking_lot::Mutex;

/// Workers the links belong to: links 0 and 1 are the same worker.
const UUIDS: [&str; 3] = [
    "0123456789abcdef0123456789abcdef",
    "0123456789abcdef0123456789abcdef",
    "fedcba9876543210fedcba9876543210",
];
const LINKS: usize = UUIDS.len();
/// Fresh connections on the master port.
const STRANGERS: usize = 2;
const MAX_OPS: usize = 64;
/// Job channel capacity: small, so the "busy" answers are reached.
const QUEUE: usize = 4;

/// Sessions the links and the new connections send.
const SESSIONS: [&str; 2] = [
    "00112233445566778899aabbccddeeff",
    "ffeeddccbbaa99887766554433221100",
];

/// What the process shares across runs: the database the data jobs read,
/// the assets it lists, and the master's configuration.
struct Shared {
    database: Mutex<rusqlite::Connection>,
    listed: Vec<Asset>,
    config: Arc<Config>,
}

/// The process's [`Shared`], made on the first call (after the log
/// system, before any socket).
fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        log();
        let dir = std::env::temp_dir().join(format!("ptmaster-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        let path: PathBuf = dir.join("master.db");
        let database = papertrader_master::db::open(&path).expect("database");
        let mut config = Config::load(None).expect("built-in config");
        config.listen = "127.0.0.1:0".parse().expect("addr");
        config.state_dir = dir.clone();
        config.database = path;
        config.max_output = 256 * 1024;
        Shared {
            database: Mutex::new(database),
            listed: assets::built_in(),
            config: Arc::new(config),
        }
    })
}


/// The helper threads' ends of the channels, held by the harness.
struct Jobs {
    auth: Receiver<AuthMsg>,
    data: Receiver<Job>,
    trade: Receiver<TradeMsg>,
    notifier: Notifier,
    _control: Receiver<papertrader_master::control::ControlJob>,
}

struct World {
    server: Server,
    events: Events,
    listen: SocketAddr,
    links: Vec<Option<Peer>>,
    strangers: Vec<Option<Peer>>,
    jobs: Jobs,
    /// The clock the timers see: real time plus what the input skipped.
    skipped: Duration,
    reqid: u64,
}

impl World {
    fn new() -> World {
        let shared = shared();
        let config = shared.config.clone();
        let poll = Poll::new().expect("poll");
        let waker = Server::waker(&poll).expect("waker");
        let (notifier, events) = event::notifier(waker);
        let listener = std::net::TcpListener::bind(config.listen).expect("bind");
        listener.set_nonblocking(true).expect("non-blocking");
        let listen = listener.local_addr().expect("addr");
        let (auth_tx, auth) = crossbeam_channel::bounded(QUEUE);
        let (data_tx, data) = crossbeam_channel::bounded(QUEUE);
        let (trade_tx, trade) = crossbeam_channel::bounded(QUEUE);
        let (control_tx, control) = ControlTx::new(Arc::new(|| Ok(())));
        let parts = Parts {
            config,
            poll,
            listener: mio::net::TcpListener::from_std(listener),
            tls: papertrader_master::tls::ephemeral().expect("TLS config"),
            registry: Registry::empty(),
            queues: Queues {
                auth: auth_tx,
                gpg: None,
                data: data_tx,
                trade: trade_tx,
                control: control_tx,
            },
            assets: Arc::new(parking_lot::RwLock::new(shared.listed.clone())),
            events,
            log: log().clone(),
        };
        let server = Server::new(parts).expect("server");
        let mut world = World {
            server,
            events: Events::with_capacity(64),
            listen,
            links: (0..LINKS).map(|_| None).collect(),
            strangers: (0..STRANGERS).map(|_| None).collect(),
            jobs: Jobs {
                auth,
                data,
                trade,
                notifier,
                _control: control,
            },
            skipped: Duration::ZERO,
            reqid: 0,
        };
        world.link_up(0);
        world
    }

    fn link_up(&mut self, k: usize) {
        let (ours, theirs, from) = pair();
        let name = format!("w{k}");
        self.server
            .fuzz_link_up(theirs, from, UUIDS[k], &name)
            .expect("link up");
        self.links[k] = Some(Peer::to("master", ours));
    }

    /// Runs the master until it has nothing left to do, then checks what
    /// it sent.
    fn settle(&mut self) {
        for _ in 0..64 {
            let n = harness::turn(&mut self.server, &mut self.events);
            if trace() {
                eprintln!("  turn: {n} events");
            }
            if n == 0 && !self.collect() {
                return;
            }
        }
    }

    /// Reads every peer; true if anything arrived.
    fn collect(&mut self) -> bool {
        let mut any = false;
        for (k, slot) in self.links.iter_mut().enumerate() {
            let Some(link) = slot else { continue };
            for f in link.frames("link") {
                any = true;
                if trace() {
                    eprintln!("  link {k} <- {f:?}");
                }
                check_link_frame(&f);
                if let Ok(LinkMsg::Ping(word)) = LinkMsg::parse(&f) {
                    link.write(&LinkMsg::Pong(word).encode().to_bytes());
                }
            }
        }
        for slot in self.strangers.iter_mut() {
            let Some(peer) = slot else { continue };
            for f in peer.frames("new connection") {
                any = true;
                if trace() {
                    eprintln!("  stranger <- {f:?}");
                }
                let kind = MessageType::from_u8(f.message_type);
                assert!(
                    matches!(kind, Some(MessageType::Return | MessageType::Control)),
                    "a new connection got {f:?}"
                );
            }
        }
        let open = self.links.iter().flatten().count() + self.strangers.iter().flatten().count();
        assert!(
            self.server.fuzz_conns() <= open,
            "the master keeps a connection the harness closed"
        );
        assert!(self.server.fuzz_links() <= open);
        any
    }

    /// One step of the input, then the master settled.
    fn step(&mut self, input: &mut Input) {
        match input.op(16) {
            0..=3 => {
                let k = input.below(LINKS);
                let f = self.forwarded(k, input);
                self.send_link(k, &f.to_bytes());
            }
            4 => self.send_link(input.below(LINKS), &control(input).to_bytes()),
            5 => self.send_link(input.below(LINKS), &input.any_frame(8, 64).to_bytes()),
            6 => self.send_link(input.below(LINKS), input.raw(64)),
            7 => {
                let k = input.below(LINKS);
                match input.byte() % 3 {
                    0 => self.links[k] = None,
                    1 => {
                        if let Some(link) = &self.links[k] {
                            let _ = link.stream.shutdown(std::net::Shutdown::Write);
                        }
                    }
                    _ => self.link_up(k),
                }
            }
            8 => self.stranger(input),
            9 | 10 => self.answer_auth(input),
            11 => self.answer_data(),
            12 => self.answer_trade(input),
            13 => {
                let n = input.below(3);
                let mut payload = String::new();
                for i in 0..n {
                    payload.push_str(&format!(
                        "AAPL 189.5{i} 1732147205 188.00 190.00 187.00 100\n"
                    ));
                }
                self.jobs.notifier.send(Event::Quotes(payload.into_bytes()));
            }
            _ => {
                self.skipped += input.jump();
                self.server.fuzz_tick(Instant::now() + self.skipped);
            }
        }
        self.settle();
    }

    fn send_link(&mut self, k: usize, bytes: &[u8]) {
        if let Some(link) = self.links[k].as_mut() {
            link.write(bytes);
        }
    }

    /// A forwarded request: the section 6 prefix, usually right, then a
    /// table request with words for arguments.
    fn forwarded(&mut self, k: usize, input: &mut Input) -> Frame {
        let instr = REQUESTS[input.below(REQUESTS.len())];
        let tweak = input.byte();
        self.reqid += 1;
        let uuid = match tweak % 16 {
            0 => UUIDS[2].to_string(),
            1 => UUIDS[k].to_ascii_uppercase(),
            2 => input.word(&SESSIONS),
            _ => UUIDS[k].to_string(),
        };
        let reqid = match (tweak >> 4) % 8 {
            0 => input.word(&SESSIONS),
            1 => "99999999999999999999999".to_string(),
            _ => self.reqid.to_string(),
        };
        let ts = match tweak >> 7 {
            0 => "1732147205000".to_string(),
            _ => input.word(&SESSIONS),
        };
        let mut args = vec![uuid, reqid, ts, "192.0.2.7:50000".to_string()];
        let pick = input.byte();
        args.extend(input.args(instr, pick, &SESSIONS));
        let mut f = frame(instr, &args);
        if input.byte() < 16 {
            f.message_type = [1, 2, 3, 4][input.below(4)];
        }
        f
    }

    /// A new connection on the master port, or more from one.
    fn stranger(&mut self, input: &mut Input) {
        let k = input.below(STRANGERS);
        if self.strangers[k].is_none() || input.byte() < 32 {
            let stream = TcpStream::connect(self.listen).expect("connect to the master");
            self.strangers[k] = Some(Peer::to("master", stream));
        }
        let bytes = match input.byte() % 4 {
            0 => frame::<&str>(Instr::GetWorkerList, &[]).to_bytes(),
            1 => {
                let args = [UUIDS[0], "w0", "127.0.0.1:4000", SESSIONS[0]];
                frame(Instr::WorkerHello, &args).to_bytes()
            }
            2 => input.any_frame(8, 64).to_bytes(),
            _ => input.raw(32).to_vec(),
        };
        if let Some(peer) = self.strangers[k].as_mut() {
            peer.write(&bytes);
        }
    }

    /// An auth thread's answer to the oldest auth job, as it would send it.
    fn answer_auth(&mut self, input: &mut Input) {
        let Ok(AuthMsg::Job(job)) = self.jobs.auth.try_recv() else {
            return;
        };
        let reply = if input.byte() < 64 {
            let reason = Reason::new(ReasonCode::Forbidden, "the fake auth thread says no");
            Reply::failure(job.request.instr(), reason)
        } else {
            let session = || SessionId::parse(SESSIONS[0]).expect("session");
            match &job.request {
                Request::Register { .. } | Request::RegisterExternal { .. } => Reply::Registered,
                Request::Login { .. } | Request::LoginExternal { .. } => Reply::Session(session()),
                Request::LoginSession { session } => Reply::Session(session.clone()),
                Request::Logout { .. } => Reply::LoggedOut,
                Request::SwitchState { state, .. } => Reply::StateSwitched(*state),
                Request::SetPassword { .. } => Reply::PasswordSet,
                Request::ResetAccount { .. } => Reply::Reset(Money(1_000_000_000)),
                Request::Watch { symbol, .. } | Request::Unwatch { symbol, .. } => {
                    Reply::WatchlistUpdated(symbol.clone())
                }
                other => Reply::fail(other.instr(), ReasonCode::Internal, "not an auth request"),
            }
        };
        job.answer(&self.jobs.notifier, reply);
    }

    /// A data thread's answer: the real one, from the database.
    fn answer_data(&mut self) {
        let Ok(job) = self.jobs.data.try_recv() else {
            return;
        };
        let shared = shared();
        // No standings thread: getLeaderboard is ranked here, as it is
        // in a master without one.
        let board = papertrader_master::trade::standing::Board::default();
        let known = data::Known {
            listed: &shared.listed,
            terms: &std::collections::HashMap::new(),
            board: &board,
        };
        let frames = data::answer(&shared.database.lock(), &known, &job);
        self.jobs.notifier.send(Event::Replies {
            token: job.to.link,
            frames,
        });
    }

    /// The trade thread's answer to the oldest order.
    fn answer_trade(&mut self, input: &mut Input) {
        let Ok(TradeMsg::Job(job)) = self.jobs.trade.try_recv() else {
            return;
        };
        let reply = match &job.request {
            Request::Trade {
                side,
                symbol,
                size: Size::Shares(quantity),
                ..
            } if input.byte() >= 128 => Reply::Filled(Fill {
                side: *side,
                txid: 7,
                symbol: symbol.clone(),
                quantity: *quantity,
                price: Money(1_895_000),
                time: Timestamp(1_732_147_205),
            }),
            other => {
                let reason = Reason::new(ReasonCode::Unavailable, "the fake trade thread says no");
                Reply::failure(other.instr(), reason)
            }
        };
        job.answer(&self.jobs.notifier, reply);
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // Reset the harness ends before the master's own close.
        self.links.clear();
        self.strangers.clear();
    }
}

/// A control frame a worker might send, or one it should not.
fn control(input: &mut Input) -> Frame {
    match input.byte() % 6 {
        0 => frame(Instr::Ping, &["7"]),
        1 => frame(Instr::Pong, &["1"]),
        2 => frame(Instr::SessionClosed, &[SESSIONS[input.below(2)]]),
        3 => frame(Instr::SessionClosed, &[input.word(&SESSIONS)]),
        4 => frame(Instr::Kick, &["unavailable bye"]),
        _ => frame(Instr::WorkerProof, &["proof"]),
    }
}

/// What a link may receive: returns a worker can read as a [`Reply`], with
/// a REQID in front (or without one, for a frame whose REQID could not be
/// read), and the control frames a master sends.
fn check_link_frame(f: &Frame) {
    match MessageType::from_u8(f.message_type) {
        Some(MessageType::Return) => {
            if Reply::parse_forwarded(f).is_err()
                && let Err(err) = Reply::parse(f)
            {
                panic!("a link got a return no worker can read ({err}): {f:?}");
            }
        }
        Some(MessageType::Control) => {
            let checked = match message::check(f, 0) {
                Ok(checked) => checked,
                Err(err) => panic!("a link got a control frame that breaks the table ({err})"),
            };
            match checked.instr {
                Instr::Ping
                | Instr::Pong
                | Instr::LinkAccepted
                | Instr::Kick
                | Instr::Quotes
                | Instr::WorkerListUpdate => {}
                other => panic!("the master sent {} on a link", other.name()),
            }
        }
        _ => panic!("a link got a frame that is neither a return nor control: {f:?}"),
    }
}

fuzz_target!(|data: &[u8]| harness::run(data, MAX_OPS, World::new, World::step));
