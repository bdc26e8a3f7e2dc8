//! What the request-path fuzz targets (worker/fuzz, master/fuzz) share:
//! the fuzz input read as choices, the list of client requests, the trace
//! switch, the process set-up (SIGPIPE, the log system), and the harness
//! end of loopback connections (made ready, written, closed without
//! TIME_WAIT). Included by path (`#[path]`), as each fuzz crate is a
//! workspace of its own.

use std::io::Write;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;

use papertrader_common::Instr;
use papertrader_common::log::{self as ptlog, LogConfig, LogHandle};

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
];

/// The input, read a byte at a time; zeros once it runs out.
pub struct Input<'a>(pub &'a [u8]);

impl Input<'_> {
    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    pub fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n
    }

    pub fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }

    /// An argument: mostly one of `words`, sometimes a session of
    /// `sessions`, sometimes up to 11 arbitrary bytes.
    pub fn word(&mut self, words: &[&str], sessions: &[&str]) -> String {
        match self.byte() {
            b @ 0..=199 => words[usize::from(b) % words.len()].to_string(),
            200..=239 => sessions[self.below(sessions.len())].to_string(),
            _ => {
                let n = self.below(12);
                String::from_utf8_lossy(self.bytes(n)).into_owned()
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Whether to print each step (FUZZ_TRACE set), to read a crash.
pub fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

/// Ends a loopback connection with a reset, so that thousands of runs a
/// second leave no TIME_WAIT sockets behind.
pub fn reset(stream: &TcpStream) {
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

/// Sets the process up as the daemons run: a write to a peer that reset
/// fails rather than kill it (Rust's runtime ignores SIGPIPE there), and
/// the log system, silent unless FUZZ_TRACE asks for the daemon's own log.
/// Call once, before any socket is used.
pub fn init_process() -> LogHandle {
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

/// Makes the harness end of a connection non-blocking and free of
/// Nagle's delay.
pub fn ready(stream: &TcpStream) {
    stream.set_nonblocking(true).expect("non-blocking");
    let _ = stream.set_nodelay(true);
}

/// Writes what the socket takes now and drops the rest: the daemon drains
/// its side, and a peer it stopped reading is a test of its caps, not a
/// hang of the harness.
pub fn write_some(mut stream: &TcpStream, bytes: &[u8]) {
    let mut at = 0;
    while at < bytes.len() {
        match stream.write(&bytes[at..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => at += n,
        }
    }
}
