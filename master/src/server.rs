//! The master's event loop. Runs on the main thread and owns every socket
//! of the master port: worker links (see `link`), handshakes in progress,
//! and one-shot `getWorkerList` clients, each plain or TLS as its first
//! byte says (`papertrader_common::tls::Stream`). Slow work goes to the auth pool
//! and the gpg thread; their results come back as [`Event`]s.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use mio::net::TcpListener;
use mio::{Events, Poll, Token, Waker};
use papertrader_common::Frame;
use papertrader_common::event_loop::{self, Loop};
use papertrader_common::framed::{self, Conns, End, Framed, Unread};
use papertrader_common::log::LogHandle;
use papertrader_common::reply::{LinkMsg, Reply};
use papertrader_common::tls::Stream;
use papertrader_common::value::Timestamp;
use rustls::ServerConfig;

use crate::auth_thread::AuthMsg;
use crate::config::Config;
use crate::control::{ControlJob, ControlTx};
use crate::event::Event;
use crate::gpg_thread::GpgJob;
use crate::job::Job;
use crate::market::Asset;
use crate::peer::Role;
use crate::registry::Registry;
use crate::trade::queue::TradeMsg;
use links::Links;
use table::Table;

mod admin;
mod link;
mod links;
mod route;
mod table;

pub use table::Conn;

/// The master port listener.
pub const LISTENER: Token = Token(0);
/// Woken by helper threads when results wait in the event channel.
pub const WAKER: Token = Token(1);
const FIRST_CONN: usize = 2;

/// How often timers (handshake deadlines, pings, stalled frames) are run.
const TICK: Duration = Duration::from_millis(100);
/// Frames taken from one connection before the loop turns to the others.
const LINK_BATCH: usize = 1024;

/// Everything the event loop owns: its poll and event channel, and its
/// parts: the connections, the worker list, the helper threads' queues,
/// and what `ptctl` reads or reloads (registry, assets).
pub struct Server {
    config: Arc<Config>,
    poll: Poll,
    events: Receiver<Event>,
    log: LogHandle,
    started: Timestamp,
    stopping: bool,
    conns: Table,
    links: Links,
    queues: Queues,
    registry: Registry,
    /// The listed assets, shared with the asset and data threads.
    assets: Arc<parking_lot::RwLock<Vec<Asset>>>,
    /// Links with frames left in their sockets after a batch.
    unread: Unread,
}

/// The helper threads' job queues, as the loop sends to them; dropping
/// them stops the threads.
pub struct Queues {
    /// Jobs for the auth pool.
    pub auth: Sender<AuthMsg>,
    /// Jobs for the gpg thread, when a master key is configured.
    pub gpg: Option<Sender<GpgJob>>,
    /// Jobs for the data threads.
    pub data: Sender<Job>,
    /// Orders for the trade thread.
    pub trade: Sender<TradeMsg>,
    /// Jobs for the control thread (SIGHUP's reload).
    pub control: ControlTx,
}

/// The parts a server is built from; `main` makes them.
pub struct Parts {
    /// The configuration.
    pub config: Arc<Config>,
    /// The poll the waker was made on.
    pub poll: Poll,
    /// The bound master port.
    pub listener: TcpListener,
    /// The master port's TLS configuration.
    pub tls: Arc<ServerConfig>,
    /// The loaded worker registry.
    pub registry: Registry,
    /// The helper threads' queues.
    pub queues: Queues,
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
        let config = parts.config;
        let registry = parts.poll.registry();
        let conns = Table::new(parts.listener, registry, parts.tls, &config)?;
        Ok(Server {
            poll: parts.poll,
            conns,
            links: Links::default(),
            queues: parts.queues,
            registry: parts.registry,
            assets: parts.assets,
            events: parts.events,
            log: parts.log,
            started: Timestamp::now(),
            stopping: false,
            unread: Unread::default(),
            config,
        })
    }

    /// A waker for helper threads, on this server's poll.
    pub fn waker(poll: &Poll) -> io::Result<Arc<Waker>> {
        Waker::new(poll.registry(), WAKER).map(Arc::new)
    }

    /// Runs until SIGTERM or SIGINT, then closes every link.
    pub fn run(&mut self) -> io::Result<()> {
        event_loop::run(self, TICK, 256)?;
        self.drain_trades();
        self.shutdown();
        Ok(())
    }

    /// Orders queued but not yet in a batch are answered `unavailable`
    /// before the links close (nothing acknowledged is lost: a batch in
    /// flight finishes first, as the trade thread runs one thing at a time).
    fn drain_trades(&mut self) {
        let (ack_tx, ack_rx) = crossbeam_channel::bounded(1);
        if self.queues.trade.send(TradeMsg::Shutdown(ack_tx)).is_err() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut events = Events::with_capacity(64);
        while ack_rx.try_recv().is_err() && Instant::now() < deadline {
            let _ = self.poll.poll(&mut events, Some(Duration::from_millis(20)));
            for ev in events.iter() {
                if ev.token() != LISTENER && ev.token() != WAKER {
                    framed::on_ready(self, ev.token(), false, ev.is_writable());
                }
            }
            event_loop::drain(self);
        }
        event_loop::drain(self);
    }

    fn on_signal(&mut self, sig: i32) {
        match sig {
            signal_hook::consts::SIGTERM | signal_hook::consts::SIGINT => {
                papertrader_common::info!("signal {sig}: shutting down");
                self.stopping = true;
            }
            signal_hook::consts::SIGHUP => {
                reopen_log(&self.log, &self.config.log.file);
                // The control thread reads the files and hands them back.
                if !self.queues.control.send(ControlJob::Reload) {
                    papertrader_common::error!("SIGHUP: the control thread is gone");
                }
            }
            signal_hook::consts::SIGUSR1 => {
                if let Err(err) = self.log.flush() {
                    papertrader_common::error!("SIGUSR1: log flush failed: {err}");
                }
            }
            _ => {}
        }
    }

    /// Queues `frame` for `token` and writes what the socket takes now.
    fn send(&mut self, token: Token, frame: &Frame) {
        if !self.conns.send(self.poll.registry(), token, frame, false) {
            self.close(token);
        }
    }

    /// Sends `frame`, then closes once it is written.
    fn send_and_close(&mut self, token: Token, frame: &Frame) {
        if !self.conns.send(self.poll.registry(), token, frame, true) {
            self.close(token);
        }
    }

    /// Drops a connection; a worker link leaves the worker list.
    fn close(&mut self, token: Token) {
        let Some(conn) = self.conns.remove(self.poll.registry(), token) else {
            return;
        };
        match conn.role() {
            // A party in the middle of the TLS link gets this far: the
            // worker refuses the challenge signed over another session.
            Role::Handshake(hs) if !conn.is_closing() => papertrader_common::warn!(
                "{}: link handshake of worker {} ended before its proof ({})",
                conn.peer(),
                hs.name(),
                hs.stage_name()
            ),
            Role::Link(link) if self.links.down(&link.uuid, &link.name, token) => {
                papertrader_common::info!("worker {} ({}) disconnected", link.name, conn.peer());
                self.broadcast_worker_list();
            }
            _ => {}
        }
    }

    /// Timers: handshake deadlines, stalled frames, link keepalive.
    fn tick(&mut self, now: Instant) {
        let frame_timeout = self.config.frame_timeout;
        for token in self.conns.stalled(now, frame_timeout) {
            if let Some(conn) = self.conns.get(token) {
                papertrader_common::warn!(
                    "{}: stopped in the middle of a frame for {frame_timeout:?}",
                    conn.peer()
                );
            }
            self.close(token);
        }
        self.conns.resume(self.poll.registry(), false);
        self.check_handshakes(now);
        self.keepalive(now);
        self.end_lost_sessions(now);
    }

    fn shutdown(&mut self) {
        for token in self.links.tokens() {
            let kick = LinkMsg::Kick(papertrader_common::Reason::new(
                papertrader_common::ReasonCode::Unavailable,
                "the master is shutting down",
            ));
            self.send(token, &kick.encode());
        }
        for token in self.conns.tokens() {
            self.close(token);
        }
        papertrader_common::info!("closed every connection");
    }
}

impl Loop for Server {
    const WAKER: Token = WAKER;

    type Result = Event;

    fn results(&self) -> &Receiver<Event> {
        &self.events
    }

    /// A result of a helper thread.
    fn on_result(&mut self, event: Event) {
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

    fn on_own_event(&mut self, event: &mio::event::Event) -> bool {
        let listener = event.token() == LISTENER;
        if listener {
            self.conns.accept_all(self.poll.registry());
        }
        listener
    }

    fn unread(&mut self) -> &mut Unread {
        &mut self.unread
    }

    fn poll(&mut self) -> &mut Poll {
        &mut self.poll
    }

    fn on_tick(&mut self, now: Instant) {
        self.tick(now);
    }

    fn stopping(&self) -> bool {
        self.stopping
    }
}

/// Hooks for the fuzz target in master/fuzz (cargo feature `fuzzing`, off
/// by default): it drives this very loop one turn at a time, with the clock
/// it chooses, instead of [`Server::run`]; see also `Server::fuzz_link_up`.
#[cfg(feature = "fuzzing")]
impl Server {
    /// [`Server::run`]'s timers as if the clock read `now`: stalled frames,
    /// handshake deadlines, link keepalive.
    pub fn fuzz_tick(&mut self, now: Instant) {
        self.tick(now);
    }

    /// Connections open on the master port.
    pub fn fuzz_conns(&self) -> usize {
        self.conns.len()
    }

    /// Links in the worker list.
    pub fn fuzz_links(&self) -> usize {
        self.links.len()
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
        papertrader_common::error!("cannot reopen the log file: {err}");
    }
}

impl Conns for Server {
    type Io = Stream;

    fn framed(&mut self, token: Token) -> Option<(&mut Framed<Stream>, &mut [u8])> {
        self.conns.framed(token)
    }

    fn flush(&mut self, token: Token) {
        if !self.conns.pump(self.poll.registry(), token) {
            self.close(token);
        }
    }

    fn on_frame(&mut self, token: Token, frame: Frame) {
        self.handle_frame(token, frame);
    }

    /// A link's requests go to bounded queues that answer `unavailable`
    /// when full; batches only keep one busy link from starving the rest.
    fn room(&self, _token: Token) -> usize {
        LINK_BATCH
    }

    fn on_end(&mut self, token: Token, end: End) {
        match end {
            End::Malformed(err) => {
                self.send_and_close(token, &Reply::protocol_error(&err.error).encode(None))
            }
            _ => self.close(token),
        }
    }
}
