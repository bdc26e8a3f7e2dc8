//! What the request-path fuzz targets (worker/fuzz, master/fuzz) share:
//! the fuzz input read as choices (operations, argument words, frames of
//! any header, clock jumps), the list of client requests, the trace
//! switch, the process set-up (SIGPIPE, the log system), connected
//! loopback pairs, the harness end of loopback connections (made ready,
//! read, written, closed without TIME_WAIT), the daemon's loop turn, and
//! the run itself. Included by path (`#[path]`), as each fuzz crate is a
//! workspace of its own.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::OnceLock;
use std::time::Duration;

use papertrader_common::event_loop::{self, Loop};
use papertrader_common::log::{self as ptlog, LogConfig, LogHandle};
use papertrader_common::{Arity, Decoder, Frame, Instr};

/// Every instruction a client may send (and so a worker forwards).
pub const REQUESTS: &[Instr] = &[
    Instr::Login,
    Instr::LoginSession,
    Instr::Register,
    Instr::PurchaseAsset,
    Instr::SellAsset,
    Instr::SwitchState,
    Instr::Logout,
    Instr::GetWorkerList,
    Instr::GetAssetInfo,
    Instr::GetAssetValueCurrent,
    Instr::GetAssetValueDay,
    Instr::GetAssetValueWeek,
    Instr::GetAssetValueMonth,
    Instr::GetAssetValueYear,
    Instr::GetAssetValueAllTime,
    Instr::GetUserInfo,
    Instr::GetUserPortfolio,
    Instr::GetUserTransactionHistory,
    Instr::GetAssetList,
    // Protocol 1.2's API keys, asset details and tagged orders.
    Instr::CreateApiKey,
    Instr::RevokeApiKey,
    Instr::LoginApiKey,
    Instr::GetApiKeys,
    Instr::GetAssetDetails,
    Instr::PlaceOrderTagged,
    Instr::PlaceOrderClassTagged,
    // Protocol 1.2's watchlists.
    Instr::GetWatchlist,
    Instr::AddToWatchlist,
    Instr::RemoveFromWatchlist,
    // Protocol 1.2's price pushes.
    Instr::WatchPrices,
    // Protocol 1.2's portfolios and competitions.
    Instr::CreatePortfolio,
    Instr::RenamePortfolio,
    Instr::ClosePortfolio,
    Instr::UsePortfolio,
    Instr::GetPortfolios,
    Instr::CreateGame,
    Instr::ChangeGame,
    Instr::JoinGame,
    Instr::LeaveGame,
    Instr::RemovePlayer,
    Instr::NewGameCode,
    Instr::GetGames,
    Instr::GetGame,
    Instr::GetStandings,
    Instr::GetGameHoldings,
];

/// Words the arguments of requests are mostly made of: symbols (one no
/// asset has, one in lower case), dates (one that is no day), booleans,
/// states, user names and an email, numbers (one past `u64`), and odd ones.
pub const WORDS: &[&str] = &[
    "AAPL",
    "MSFT",
    "ZZZZ",
    "aapl",
    "2024-11-21",
    "2024-02-30",
    "true",
    "false",
    "command",
    "data",
    "alice",
    "bob",
    "alice@example.org",
    "1",
    "10",
    "0",
    "-1",
    "18446744073709551616",
    "x",
    "",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    // Portfolio names, invitation codes, and rules words.
    "main",
    "ABCDEFGH2345",
    "-",
    "start=1 end=4102444800 name=cup",
    "start=1 end=4102444800 assets=AAPL,MSFT cap=50 short=no name=a b",
    "start=1 end=2 cap=101 name=",
    "9007199254740993",
];

/// The input, read a byte at a time; zeros once it runs out.
pub struct Input<'a>(pub &'a [u8]);

impl Input<'_> {
    /// The next byte.
    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n
    }

    /// The next `n` bytes, fewer at the end.
    pub fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }

    /// Fewer than `max` bytes, as many as the input says.
    pub fn raw(&mut self, max: usize) -> &[u8] {
        let n = self.below(max);
        self.bytes(n)
    }

    /// An argument: mostly one of [`WORDS`], sometimes a session of
    /// `sessions`, sometimes up to 11 arbitrary bytes.
    pub fn word(&mut self, sessions: &[&str]) -> String {
        match self.byte() {
            b @ 0..=199 => WORDS[usize::from(b) % WORDS.len()].to_string(),
            200..=239 => sessions[self.below(sessions.len())].to_string(),
            _ => String::from_utf8_lossy(self.raw(12)).into_owned(),
        }
    }

    /// The next step's operation, below `n`; FUZZ_TRACE prints it.
    pub fn op(&mut self, n: u8) -> u8 {
        let op = self.byte() % n;
        if trace() {
            eprintln!("op {op}, input left {:?}", &self.0[..self.0.len().min(8)]);
        }
        op
    }

    /// The arguments of a table request `instr`: as many as it takes,
    /// or (when `pick` is a multiple of 8) up to four, each a
    /// [`word`](Input::word).
    pub fn args(&mut self, instr: Instr, pick: u8, sessions: &[&str]) -> Vec<String> {
        let wanted = match instr.arity() {
            Arity::Exact(n) => usize::from(n),
            _ => 0,
        };
        let n = match pick % 8 {
            0 => self.below(5),
            _ => wanted,
        };
        (0..n).map(|_| self.word(sessions)).collect()
    }

    /// A frame with every header field from the input: fewer than
    /// `max_args` arguments, fewer than `max_data` bytes of data.
    pub fn any_frame(&mut self, max_args: u8, max_data: usize) -> Frame {
        let message_type = self.byte() % 6;
        let instruction = self.byte() % 80;
        let argument_count = u16::from(self.byte() % max_args);
        let (number, max) = match self.byte() % 4 {
            0 => (0, 0),
            1 => (1, 1),
            2 => (u32::from(self.byte() % 4), u32::from(self.byte() % 4)),
            _ => (u32::MAX, 1),
        };
        let data = self.raw(max_data).to_vec();
        Frame {
            message_type,
            instruction,
            argument_count,
            data_message_number: number,
            data_message_max: max,
            data,
        }
    }

    /// How far the clock jumps: seconds, sometimes minutes, and 100 ms.
    pub fn jump(&mut self) -> Duration {
        let secs = match self.byte() {
            b @ 0..=200 => u64::from(b % 8),
            b => u64::from(b) * 4,
        };
        Duration::from_millis(secs * 1000 + 100)
    }

    /// Whether the input is used up.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One turn of a daemon's event loop (`Server::run`'s, without its
/// timers and without waiting): how many events it handled.
pub fn turn<L: Loop>(server: &mut L, events: &mut mio::Events) -> usize {
    event_loop::turn(server, events, Duration::ZERO).expect("poll")
}

/// One fuzz run: a world made afresh, then steps while the input lasts,
/// `max_ops` at the most.
pub fn run<W>(
    data: &[u8],
    max_ops: usize,
    new: impl FnOnce() -> W,
    mut step: impl FnMut(&mut W, &mut Input),
) {
    let mut input = Input(data);
    let mut world = new();
    let mut ops = 0;
    while !input.is_empty() && ops < max_ops {
        step(&mut world, &mut input);
        ops += 1;
    }
}

/// Whether to print each step (FUZZ_TRACE set), to read a crash.
pub fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

/// Ends a loopback connection with a reset, so that thousands of runs a
/// second leave no TIME_WAIT sockets behind.
fn reset(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a correctly sized option value.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// The process set up as the daemons run it ([`init_process`], on the
/// first call): its log system. Call before any socket is used.
pub fn log() -> &'static LogHandle {
    static LOG: OnceLock<LogHandle> = OnceLock::new();
    LOG.get_or_init(init_process)
}

/// Sets the process up as the daemons run: a write to a peer that reset
/// fails rather than kill it (Rust's runtime ignores SIGPIPE there), and
/// the log system, silent unless FUZZ_TRACE asks for the daemon's own log.
fn init_process() -> LogHandle {
    // SAFETY: setting a signal disposition before any socket is used.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let level = match trace() {
        true => log::LevelFilter::Debug,
        false => log::LevelFilter::Off,
    };
    ptlog::init(LogConfig {
        level,
        memory_entries: if trace() { 1 << 16 } else { 16 },
        file: None,
        echo_stderr: trace(),
        ..LogConfig::default()
    })
    .expect("log")
}

/// A connected loopback pair: (harness end, daemon end as mio wants it,
/// the harness end's address), both ends reset when closed.
pub fn pair() -> (TcpStream, mio::net::TcpStream, SocketAddr) {
    static PAIRS: OnceLock<TcpListener> = OnceLock::new();
    let pairs = PAIRS.get_or_init(|| {
        log();
        TcpListener::bind("127.0.0.1:0").expect("bind")
    });
    let ours = TcpStream::connect(pairs.local_addr().expect("addr")).expect("connect");
    let (theirs, from) = pairs.accept().expect("accept");
    theirs.set_nonblocking(true).expect("non-blocking");
    reset(&theirs);
    (ours, mio::net::TcpStream::from_std(theirs), from)
}

/// The harness end of a loopback connection: non-blocking, free of
/// Nagle's delay, reset when dropped. `T` is what it keeps of the bytes
/// the daemon sent: [`Frames`], or a target's own parse.
pub struct Peer<T = Frames> {
    /// The socket.
    pub stream: TcpStream,
    /// What the bytes read so far came to.
    pub seen: T,
    /// The daemon closed its side (or reading from it failed).
    pub ended: bool,
}

impl<T> Peer<T> {
    /// `stream` made ready, nothing seen yet but `seen`.
    pub fn new(stream: TcpStream, seen: T) -> Peer<T> {
        stream.set_nonblocking(true).expect("non-blocking");
        let _ = stream.set_nodelay(true);
        Peer {
            stream,
            seen,
            ended: false,
        }
    }

    /// Writes what the socket takes now and drops the rest: the daemon
    /// drains its side, and a peer it stopped reading is a test of its
    /// caps, not a hang of the harness.
    pub fn write(&mut self, bytes: &[u8]) {
        let mut at = 0;
        while at < bytes.len() {
            match (&self.stream).write(&bytes[at..]) {
                Ok(0) | Err(_) => return,
                Ok(n) => at += n,
            }
        }
    }

    /// Reads what the daemon has sent, each piece handed to `each` with
    /// [`seen`](Peer::seen); true if anything came.
    pub fn read(&mut self, mut each: impl FnMut(&mut T, &[u8])) -> bool {
        let mut buf = [0u8; 16 * 1024];
        let mut any = false;
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    self.ended = true;
                    return any;
                }
                Ok(n) => {
                    any = true;
                    each(&mut self.seen, &buf[..n]);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return any,
                Err(_) => {
                    self.ended = true;
                    return any;
                }
            }
        }
    }
}

impl<T> Drop for Peer<T> {
    fn drop(&mut self) {
        reset(&self.stream);
    }
}

/// What a peer keeps of a daemon that speaks the protocol: its frames,
/// decoded as they come.
pub struct Frames {
    /// Which daemon it is, for the message of a panic.
    daemon: &'static str,
    /// The bytes read so far, cut into frames.
    decoder: Decoder,
}

impl Peer<Frames> {
    /// The harness end of a connection to `daemon` (`master`, `worker`).
    pub fn to(daemon: &'static str, stream: TcpStream) -> Peer<Frames> {
        let frames = Frames {
            daemon,
            decoder: Decoder::new(),
        };
        Peer::new(stream, frames)
    }

    /// Frames the daemon sent, every one of them decoded.
    pub fn frames(&mut self, what: &str) -> Vec<Frame> {
        self.read(|frames, bytes| frames.decoder.push(bytes));
        let mut out = Vec::new();
        loop {
            match self.seen.decoder.next_frame() {
                Ok(Some(f)) => out.push(f),
                Ok(None) => break,
                Err(err) => panic!(
                    "{what}: the {} sent bytes that do not decode: {err}",
                    self.seen.daemon
                ),
            }
        }
        out
    }
}
