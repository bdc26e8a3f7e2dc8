//! The master's event loop. Runs on the main thread and owns every socket
//! of the master port: worker links (see `link`), handshakes in progress,
//! and one-shot `getWorkerList` clients. Slow work goes to the auth pool
//! and the gpg thread; their results come back as [`Event`]s.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use papertrader_common::io::{read_available, write_pending};
use papertrader_common::log::LogHandle;
use papertrader_common::value::Timestamp;
use papertrader_common::{Decoder, Frame};

use crate::config::Config;
use crate::event::Event;
use crate::link::Role;
use crate::market::Asset;
use crate::market::reader::DataJob;
use crate::pool::{AuthJob, GpgJob};
use crate::queue::TradeMsg;
use crate::registry::Registry;

/// The master port listener.
pub const LISTENER: Token = Token(0);
/// Woken by helper threads when results wait in the event channel.
pub const WAKER: Token = Token(1);
const FIRST_CONN: usize = 2;

/// How often timers (handshake deadlines, pings, stalled frames) are run.
const TICK: Duration = Duration::from_millis(100);
/// Read buffer on the stack; frames are assembled in each `Decoder`.
const READ_CHUNK: usize = 16 * 1024;

/// One accepted TCP connection on the master port.
pub struct Conn {
    pub(crate) stream: TcpStream,
    pub(crate) peer: SocketAddr,
    decoder: Decoder,
    out: Vec<u8>,
    pub(crate) opened: Instant,
    pub(crate) last_rx: Instant,
    partial_since: Option<Instant>,
    close_when_flushed: bool,
    writable_registered: bool,
    pub(crate) role: Role,
}

impl Conn {
    fn interest(&self) -> Interest {
        if self.out.is_empty() {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        }
    }
}

/// Everything the event loop owns.
pub struct Server {
    pub(crate) config: Arc<Config>,
    poll: Poll,
    listener: TcpListener,
    /// The address actually bound (the config may say port 0).
    pub(crate) local: SocketAddr,
    pub(crate) conns: HashMap<Token, Conn>,
    next_token: usize,
    /// UUID of each accepted link, to its connection.
    pub(crate) links: HashMap<String, Token>,
    pub(crate) registry: Registry,
    pub(crate) auth_tx: Sender<AuthJob>,
    pub(crate) gpg_tx: Option<Sender<GpgJob>>,
    pub(crate) data_tx: Sender<DataJob>,
    pub(crate) trade_tx: Sender<TradeMsg>,
    /// The listed assets, shared with the asset and data threads.
    pub(crate) assets: Arc<parking_lot::RwLock<Vec<Asset>>>,
    /// The last `quotes` payload, for workers that link later.
    pub(crate) last_quotes: Option<Vec<u8>>,
    events: Receiver<Event>,
    pub(crate) log: LogHandle,
    pub(crate) started: Timestamp,
    pub(crate) stopping: bool,
    pub(crate) ping_counter: u64,
}

/// The parts a server is built from; `main` makes them.
pub struct Parts {
    /// The configuration.
    pub config: Arc<Config>,
    /// The poll the waker was made on.
    pub poll: Poll,
    /// The bound master port.
    pub listener: TcpListener,
    /// The loaded worker registry.
    pub registry: Registry,
    /// Jobs for the auth pool.
    pub auth_tx: Sender<AuthJob>,
    /// Jobs for the gpg thread, when a master key is configured.
    pub gpg_tx: Option<Sender<GpgJob>>,
    /// Jobs for the data threads.
    pub data_tx: Sender<DataJob>,
    /// Orders for the trade thread.
    pub trade_tx: Sender<TradeMsg>,
    /// The listed assets.
    pub assets: Arc<parking_lot::RwLock<Vec<Asset>>>,
    /// Results from every helper thread.
    pub events: Receiver<Event>,
    /// The log system, for `ptctl log flush` and shutdown.
    pub log: LogHandle,
}

impl Server {
    /// A server ready to run; registers the listener.
    pub fn new(parts: Parts) -> io::Result<Server> {
        let Parts {
            config,
            poll,
            mut listener,
            registry,
            auth_tx,
            gpg_tx,
            data_tx,
            trade_tx,
            assets,
            events,
            log,
        } = parts;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let local = listener.local_addr()?;
        Ok(Server {
            config,
            poll,
            listener,
            local,
            conns: HashMap::new(),
            next_token: FIRST_CONN,
            links: HashMap::new(),
            registry,
            auth_tx,
            gpg_tx,
            data_tx,
            trade_tx,
            assets,
            last_quotes: None,
            events,
            log,
            started: Timestamp::now(),
            stopping: false,
            ping_counter: 0,
        })
    }

    /// A waker for helper threads, on this server's poll.
    pub fn waker(poll: &Poll) -> io::Result<Arc<Waker>> {
        Waker::new(poll.registry(), WAKER).map(Arc::new)
    }

    /// Runs until SIGTERM or SIGINT, then closes every link.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(256);
        let mut last_tick = Instant::now();
        while !self.stopping {
            if let Err(err) = self.poll.poll(&mut events, Some(TICK)) {
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept_all(),
                    WAKER => self.drain_events(),
                    token => self.conn_ready(token, ev.is_readable(), ev.is_writable()),
                }
            }
            // A wake may race a poll that returned for sockets: drain anyway.
            self.drain_events();
            if last_tick.elapsed() >= TICK {
                last_tick = Instant::now();
                self.tick(last_tick);
            }
        }
        self.drain_trades();
        self.shutdown();
        Ok(())
    }

    /// Orders queued but not yet in a batch are answered `unavailable`
    /// before the links close (nothing acknowledged is lost: a batch in
    /// flight finishes first, as the trade thread runs one thing at a time).
    fn drain_trades(&mut self) {
        let (ack_tx, ack_rx) = crossbeam_channel::bounded(1);
        if self.trade_tx.send(TradeMsg::Shutdown(ack_tx)).is_err() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut events = Events::with_capacity(64);
        while ack_rx.try_recv().is_err() && Instant::now() < deadline {
            let _ = self.poll.poll(&mut events, Some(Duration::from_millis(20)));
            for ev in events.iter() {
                if ev.token() != LISTENER && ev.token() != WAKER {
                    self.conn_ready(ev.token(), false, ev.is_writable());
                }
            }
            self.drain_events();
        }
        self.drain_events();
    }

    fn accept_all(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => self.add_conn(stream, peer),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    log::error!("accept on {}: {err}", self.local);
                    return;
                }
            }
        }
    }

    fn add_conn(&mut self, mut stream: TcpStream, peer: SocketAddr) {
        let token = Token(self.next_token);
        self.next_token += 1;
        if let Err(err) = self
            .poll
            .registry()
            .register(&mut stream, token, Interest::READABLE)
        {
            log::error!("{peer}: cannot register connection: {err}");
            return;
        }
        let _ = stream.set_nodelay(true);
        log::debug!("{peer}: connected");
        let now = Instant::now();
        let conn = Conn {
            stream,
            peer,
            decoder: Decoder::new(),
            out: Vec::new(),
            opened: now,
            last_rx: now,
            partial_since: None,
            close_when_flushed: false,
            writable_registered: false,
            role: Role::New,
        };
        self.conns.insert(token, conn);
    }

    fn drain_events(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            match event {
                Event::Reply { token, frame } => self.send(token, &frame),
                Event::Replies { token, frames } => {
                    for frame in &frames {
                        self.send(token, frame);
                    }
                }
                Event::Quotes(payload) => self.push_quotes(payload),
                Event::Signed { token, result } => self.on_signed(token, result),
                Event::Verified { token, result } => self.on_verified(token, result),
                Event::Signal(sig) => self.on_signal(sig),
                Event::Control { command, reply } => {
                    let answer = self.on_control(command);
                    let _ = reply.send(answer);
                }
            }
        }
    }

    fn on_signal(&mut self, sig: i32) {
        match sig {
            signal_hook::consts::SIGTERM | signal_hook::consts::SIGINT => {
                log::info!("signal {sig}: shutting down");
                self.stopping = true;
            }
            signal_hook::consts::SIGHUP => {
                reopen_log(&self.log, &self.config.log_file);
                match self.reload() {
                    Ok(text) => log::info!("SIGHUP: {text}"),
                    Err(text) => log::error!("SIGHUP: reload failed: {text}"),
                }
            }
            signal_hook::consts::SIGUSR1 => {
                if let Err(err) = self.log.flush() {
                    log::error!("SIGUSR1: log flush failed: {err}");
                }
            }
            _ => {}
        }
    }

    fn conn_ready(&mut self, token: Token, readable: bool, writable: bool) {
        if writable {
            self.flush(token);
        }
        if readable {
            let frames = self.read_frames(token);
            for frame in frames {
                if !self.conns.contains_key(&token) {
                    break;
                }
                self.handle_frame(token, frame);
            }
        }
    }

    /// Reads until WouldBlock and returns the whole frames; closes the
    /// connection on EOF, an error, or a frame that breaks section 2.
    fn read_frames(&mut self, token: Token) -> Vec<Frame> {
        let Some(conn) = self.conns.get_mut(&token) else {
            return Vec::new();
        };
        let mut buf = [0u8; READ_CHUNK];
        let mut frames = Vec::new();
        let closed = match read_available(&mut conn.stream, &mut conn.decoder, &mut buf) {
            Ok((n, closed)) => {
                if n > 0 {
                    conn.last_rx = Instant::now();
                }
                closed
            }
            Err(err) => {
                log::debug!("{}: read: {err}", conn.peer);
                true
            }
        };
        loop {
            match conn.decoder.next_frame() {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(err) => {
                    log::warn!("{}: {err}", conn.peer);
                    let reply = papertrader_common::message::reply(
                        papertrader_common::Instr::ProtocolError,
                        papertrader_common::Reason::new(
                            papertrader_common::ReasonCode::Protocol,
                            err.error.to_string(),
                        ),
                    );
                    frames.clear();
                    self.send_and_close(token, &reply);
                    return frames;
                }
            }
        }
        // The clock runs from the last whole frame, so a busy link that keeps
        // completing frames is never "stopped in the middle of one".
        conn.partial_since = match (conn.decoder.pending(), conn.partial_since) {
            (0, _) => None,
            (_, Some(since)) if frames.is_empty() => Some(since),
            _ => Some(Instant::now()),
        };
        if closed {
            // Handle what arrived, then drop the connection.
            let peer = conn.peer;
            let mut done = frames;
            for frame in done.drain(..) {
                if !self.conns.contains_key(&token) {
                    break;
                }
                self.handle_frame(token, frame);
            }
            log::debug!("{peer}: closed by peer");
            self.close(token);
            return Vec::new();
        }
        frames
    }

    /// Queues `frame` for `token` and writes what the socket takes now.
    pub(crate) fn send(&mut self, token: Token, frame: &Frame) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        frame.encode(&mut conn.out);
        self.flush(token);
    }

    /// Sends `frame`, then closes once it is written.
    pub(crate) fn send_and_close(&mut self, token: Token, frame: &Frame) {
        if let Some(conn) = self.conns.get_mut(&token) {
            conn.close_when_flushed = true;
        }
        self.send(token, frame);
    }

    fn flush(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let failed = match write_pending(&mut conn.stream, &mut conn.out) {
            Ok(()) => false,
            Err(err) => {
                log::debug!("{}: write: {err}", conn.peer);
                true
            }
        };
        if failed || (conn.close_when_flushed && conn.out.is_empty()) {
            let _ = conn.stream.shutdown(std::net::Shutdown::Write);
            self.close(token);
            return;
        }
        let wants_write = !conn.out.is_empty();
        if wants_write != conn.writable_registered {
            let interest = conn.interest();
            conn.writable_registered = wants_write;
            if let Err(err) = self
                .poll
                .registry()
                .reregister(&mut conn.stream, token, interest)
            {
                log::error!("{}: reregister: {err}", conn.peer);
            }
        }
    }

    /// Drops a connection; a worker link leaves the worker list.
    pub(crate) fn close(&mut self, token: Token) {
        let Some(mut conn) = self.conns.remove(&token) else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut conn.stream);
        if let Role::Link(link) = &conn.role
            && self.links.get(&link.uuid) == Some(&token)
        {
            log::info!("worker {} ({}) disconnected", link.name, conn.peer);
            self.links.remove(&link.uuid);
            self.broadcast_worker_list();
        }
    }

    /// Timers: handshake deadlines, stalled frames, link keepalive.
    fn tick(&mut self, now: Instant) {
        let frame_timeout = self.config.frame_timeout;
        let stalled: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                c.partial_since
                    .is_some_and(|t| now.duration_since(t) >= frame_timeout)
            })
            .map(|(t, _)| *t)
            .collect();
        for token in stalled {
            if let Some(conn) = self.conns.get(&token) {
                log::warn!(
                    "{}: stopped in the middle of a frame for {frame_timeout:?}",
                    conn.peer
                );
            }
            self.close(token);
        }
        self.check_handshakes(now);
        self.keepalive(now);
    }

    fn shutdown(&mut self) {
        let links: Vec<Token> = self.links.values().copied().collect();
        for token in links {
            let kick = papertrader_common::message::reply(
                papertrader_common::Instr::Kick,
                papertrader_common::Reason::new(
                    papertrader_common::ReasonCode::Unavailable,
                    "the master is shutting down",
                ),
            );
            self.send(token, &kick);
        }
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for token in tokens {
            self.close(token);
        }
        log::info!("closed every connection");
    }
}

/// Reopens the log file under its configured name, so that logrotate can
/// move the old one away and signal the daemon. Entries still in memory go
/// to the old file first. Only asks the log thread, which logs the outcome.
pub(crate) fn reopen_log(log: &LogHandle, file: &Option<std::path::PathBuf>) {
    if file.is_none() {
        return;
    }
    if let Err(err) = log.set_file(file.clone()) {
        log::error!("cannot reopen the log file: {err}");
    }
}
