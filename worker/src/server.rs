//! The worker's event loop. Runs on the main thread and owns every socket:
//! the client listener, each client (see `client`, `dispatch`), the web
//! port's listener and HTTP connections (see `web`; its WebSocket clients
//! are clients like any other) and the master link (see `link`). Slow work (gpgme) runs on the gpg thread and
//! comes back as an [`Event`].

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use mio::net::{TcpListener, TcpStream};
use mio::{Poll, Token, Waker};
use papertrader_common::event_loop::{self, Loop};
use papertrader_common::framed::{Conns, End, Framed, Unread};
use papertrader_common::log::LogHandle;
use papertrader_common::reply::Reply;
use papertrader_common::tls::TlsError;
use papertrader_common::value::ReasonCode;
use papertrader_common::{Frame, Instr};
use rustls::ServerConfig;

use crate::cache::{Caches, FastMap};
use crate::client::Client;
use crate::config::{ClientTls, Config};
use crate::event::Event;
use crate::forward::InFlight;
use crate::gpg_thread::ProofJob;
use crate::master_link::MasterLink;
use crate::transport::ClientIo;
use crate::web::conn::WebConn;
use crate::web::site::Site;

mod api;
mod dispatch;
mod doors;
mod link;
mod stream;
mod web;

use doors::Doors;

/// The client listener.
pub const LISTENER: Token = Token(0);
/// Woken by helper threads.
pub const WAKER: Token = Token(1);
/// The master link.
pub const MASTER: Token = Token(2);
/// The web port's listener.
pub const WEB_LISTENER: Token = Token(3);
const FIRST_CLIENT: usize = 4;

/// How often the master link's timers run.
const TICK: Duration = Duration::from_millis(100);
/// How often client timeouts are checked.
const CLIENT_SWEEP: Duration = Duration::from_secs(1);
const READ_CHUNK: usize = 16 * 1024;

/// Everything the worker's event loop owns: the doors (listeners,
/// limits), the clients and web connections behind them, the master link
/// with the requests in flight on it, and the caches that answer without
/// the master.
pub struct Server {
    config: Arc<Config>,
    poll: Poll,
    doors: Doors,
    clients: FastMap<Token, Client>,
    /// The web port's HTTP connections; an upgraded one moves to `clients`.
    web: FastMap<Token, WebConn>,
    /// What the web port serves from the configuration (`web::site`).
    site: Arc<Site>,
    link: MasterLink,
    /// Requests forwarded to the master and not yet answered.
    in_flight: InFlight,
    /// Worker addresses as the master last sent them.
    worker_list: Vec<String>,
    caches: Caches,
    gpg_tx: Option<Sender<ProofJob>>,
    events: Receiver<Event>,
    log: LogHandle,
    stopping: bool,
    /// When the one-second sweep last ran.
    last_sweep: Instant,
    read_buf: Box<[u8]>,
    /// Clients whose requests wait in their sockets (back-pressure).
    unread: Unread,
    /// Connections that read requests this round: their answers are
    /// written together once the round's events are handled (see
    /// `on_events`).
    to_flush: Vec<Token>,
    /// The HTTP API's keys, rates and calls in progress (`server::api`).
    api: api::ApiState,
    /// Web connections with API answers to write at the round's end.
    web_to_flush: Vec<Token>,
    /// Trading streams (`/stream`), by token (`server::stream`).
    streams: FastMap<Token, stream::Streamer>,
}

/// What `main` builds a server from.
pub struct Parts {
    /// The configuration.
    pub config: Arc<Config>,
    /// The poll the waker was made on.
    pub poll: Poll,
    /// The bound client port.
    pub listener: TcpListener,
    /// The bound web port, when `web_listen` is set.
    pub web_listener: Option<TcpListener>,
    /// The client port's TLS configuration, when `client_tls` is on.
    pub tls: Option<Arc<ServerConfig>>,
    /// Shared caches.
    pub caches: Caches,
    /// Jobs for the gpg thread, when the worker has its keys.
    pub gpg_tx: Option<Sender<ProofJob>>,
    /// Results from helper threads.
    pub events: Receiver<Event>,
    /// The log system.
    pub log: LogHandle,
}

impl Server {
    /// A server ready to run.
    pub fn new(parts: Parts) -> io::Result<Server> {
        let config = parts.config;
        let listeners = (parts.listener, parts.web_listener);
        let doors = Doors::new(parts.poll.registry(), listeners, parts.tls, &config)?;
        Ok(Server {
            poll: parts.poll,
            doors,
            clients: FastMap::default(),
            web: FastMap::default(),
            site: Arc::new(Site::new(&config.web_providers)),
            link: MasterLink::new(Instant::now()),
            in_flight: InFlight::default(),
            worker_list: Vec::new(),
            caches: parts.caches,
            gpg_tx: parts.gpg_tx,
            events: parts.events,
            log: parts.log,
            stopping: false,
            last_sweep: Instant::now(),
            read_buf: vec![0u8; READ_CHUNK].into_boxed_slice(),
            unread: Unread::default(),
            to_flush: Vec::new(),
            api: api::ApiState::new(config.api_rate_limit),
            web_to_flush: Vec::new(),
            streams: FastMap::default(),
            config,
        })
    }

    /// A waker for helper threads.
    pub fn waker(poll: &Poll) -> io::Result<Arc<Waker>> {
        Waker::new(poll.registry(), WAKER).map(Arc::new)
    }

    /// The address clients are told to use.
    pub fn advertised(&self) -> String {
        self.config
            .advertise
            .clone()
            .unwrap_or_else(|| self.doors.local().to_string())
    }

    /// Runs until SIGTERM or SIGINT.
    pub fn run(&mut self) -> io::Result<()> {
        event_loop::run(self, TICK, 1024)?;
        self.shutdown();
        Ok(())
    }

    fn on_signal(&mut self, sig: i32) {
        use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
        match sig {
            SIGTERM | SIGINT => {
                papertrader_common::info!("signal {sig}: shutting down");
                self.stopping = true;
            }
            SIGUSR1 => {
                if let Err(err) = self.log.flush() {
                    papertrader_common::error!("SIGUSR1: log flush failed: {err}");
                }
            }
            // Reopens the log file under its name, for logrotate; the log
            // thread logs the outcome.
            signal_hook::consts::SIGHUP if self.config.log.file.is_some() => {
                if let Err(err) = self.log.set_file(self.config.log.file.clone()) {
                    papertrader_common::error!("SIGHUP: cannot reopen the log file: {err}");
                }
            }
            _ => {}
        }
    }

    /// SIGHUP with client TLS on: the log file is reopened as for any
    /// SIGHUP, and the certificate read anew serves the handshakes from
    /// now on; connected clients keep their sessions. A bad file keeps the
    /// old certificate.
    fn on_tls_reloaded(&mut self, result: Result<Arc<ServerConfig>, TlsError>) {
        self.on_signal(signal_hook::consts::SIGHUP);
        match result {
            Ok(config) => {
                self.doors.set_tls(config);
                papertrader_common::info!("SIGHUP: reloaded the TLS certificate");
            }
            Err(err) => papertrader_common::error!(
                "SIGHUP: cannot reload the TLS certificate, keeping the old one: {err}"
            ),
        }
    }

    fn accept_all(&mut self) {
        while let Some((stream, peer)) = self.doors.accept(self.poll.registry(), false) {
            self.add_client(stream, peer);
        }
    }

    fn add_client(&mut self, mut stream: TcpStream, peer: SocketAddr) {
        if let Err((code, text)) = self.doors.admit(peer, self.clients.len() + self.web.len()) {
            let refusal = Reply::fail(Instr::ProtocolError, code, text).encode(None);
            let _ = stream.write(&refusal.to_bytes());
            return;
        }
        let token = self.doors.token();
        let stream = ClientIo::Tcp(self.doors.stream(stream));
        self.insert_client(token, stream, peer, "connected");
    }

    /// Registers an admitted client under `token` (`opened` says how, for
    /// the log); false, with its per-address slot given back, if the poll
    /// refuses it.
    pub(super) fn insert_client(
        &mut self,
        token: Token,
        io: ClientIo,
        peer: SocketAddr,
        opened: &str,
    ) -> bool {
        let mut framed = Framed::new(io, peer, Instant::now(), self.config.max_output);
        if let Err(err) = framed.register(self.poll.registry(), token) {
            papertrader_common::error!("{peer}: cannot register: {err}");
            self.doors.release(peer);
            return false;
        }
        papertrader_common::debug!("{peer}: {opened}");
        self.clients.insert(token, Client::new(framed));
        true
    }

    /// Writes pending output, closes finished or broken connections, keeps
    /// the WRITABLE interest in step, and drops clients that do not read.
    pub(super) fn flush_client(&mut self, token: Token) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        if client.pump(self.poll.registry()).is_err() {
            self.close_client(token);
        }
    }

    /// Drops a client; its expirable sessions end at the master.
    pub(super) fn close_client(&mut self, token: Token) {
        let Some(mut client) = self.clients.remove(&token) else {
            return;
        };
        client.framed.deregister(self.poll.registry());
        self.doors.release(client.peer());
        papertrader_common::debug!("{}: closed", client.peer());
        for session in client.take_expirable() {
            self.caches.sessions.forget(&session);
            self.session_closed(&session);
        }
        self.resume_listeners(true);
    }

    /// Puts listeners paused for want of descriptors back on the poll
    /// (`force`: a connection just closed) and takes what waits.
    pub(super) fn resume_listeners(&mut self, force: bool) {
        let (client_port, web_port) = self.doors.resume(self.poll.registry(), force);
        if client_port {
            self.accept_all();
        }
        if web_port {
            self.accept_web();
        }
    }

    /// The one-second sweep: expired cache entries, idle and stalled clients.
    fn sweep(&mut self, now: Instant) {
        self.caches.purge(now);
        self.api.sweep(now);
        let (idle, frame) = (self.config.idle_timeout, self.config.frame_timeout);
        let expired: Vec<(Token, &'static str)> = self
            .clients
            .iter()
            .filter_map(|(t, c)| {
                if c.framed.stalled(now, frame) {
                    Some((*t, "stopped in the middle of a frame"))
                } else if !c.waiting() && now.duration_since(c.framed.last_rx()) >= idle {
                    Some((*t, "idle"))
                } else {
                    None
                }
            })
            .collect();
        for (token, why) in expired {
            if let Some(c) = self.clients.get(&token) {
                papertrader_common::info!("{}: {why}, disconnected", c.peer());
            }
            self.close_client(token);
        }
        self.sweep_web(now);
        self.sweep_streams(now);
        self.resume_listeners(false);
    }

    fn shutdown(&mut self) {
        // Requests in flight get their answer (unknown-outcome for trades)
        // rather than a bare disconnect; the link stays up meanwhile so that
        // closing the clients still ends their expirable sessions.
        self.fail_pending();
        let tokens: Vec<Token> = self.clients.keys().copied().collect();
        for token in tokens {
            self.close_client(token);
        }
        let tokens: Vec<Token> = self.web.keys().copied().collect();
        for token in tokens {
            self.close_web(token, "shutting down");
        }
        self.link_flush_now();
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
            Event::Proof { generation, result } => self.on_proof(generation, result),
            Event::Signal(sig) => self.on_signal(sig),
            Event::TlsReloaded(result) => self.on_tls_reloaded(result),
        }
    }

    fn on_own_event(&mut self, event: &mio::event::Event) -> bool {
        match event.token() {
            LISTENER => self.accept_all(),
            MASTER => self.master_ready(event),
            WEB_LISTENER => self.accept_web(),
            token if self.web.contains_key(&token) => self.web_ready(token),
            token if self.streams.contains_key(&token) => self.stream_ready(token),
            _ => return false,
        }
        true
    }

    fn unread(&mut self) -> &mut Unread {
        &mut self.unread
    }

    fn poll(&mut self) -> &mut Poll {
        &mut self.poll
    }

    /// Answers read this round go out together.
    fn on_round_end(&mut self) -> bool {
        let mut tokens = std::mem::take(&mut self.to_flush);
        for token in tokens.drain(..) {
            self.flush_client(token);
        }
        self.to_flush = tokens;
        // API answers made this round go out, and what their connections
        // read meanwhile is answered; answers made then go out next round,
        // which does not wait (each connection gets its turn).
        for token in std::mem::take(&mut self.web_to_flush) {
            self.web_ready(token);
        }
        !self.web_to_flush.is_empty()
    }

    /// The master link's timers each tick; the sweep once a second.
    fn on_tick(&mut self, now: Instant) {
        self.link_tick(now);
        if now.duration_since(self.last_sweep) >= CLIENT_SWEEP {
            self.last_sweep = now;
            self.sweep(now);
        }
    }

    fn stopping(&self) -> bool {
        self.stopping
    }
}

/// Hooks for the fuzz target in worker/fuzz (cargo feature `fuzzing`, off
/// by default): it drives this very loop one turn at a time, with the clock
/// it chooses, instead of [`Server::run`].
#[cfg(feature = "fuzzing")]
impl Server {
    /// [`Server::run`]'s timers as if the clock read `now`: the master
    /// link's keepalive and the client sweep (idle, stalled frames).
    pub fn fuzz_timers(&mut self, now: Instant) {
        self.link_tick(now);
        self.sweep(now);
    }

    /// Client connections open.
    pub fn fuzz_clients(&self) -> usize {
        self.clients.len()
    }

    /// HTTP connections of the web port not (yet) upgraded.
    pub fn fuzz_web_conns(&self) -> usize {
        self.web.len()
    }

    /// Trading streams (`/stream`).
    pub fn fuzz_streams(&self) -> usize {
        self.streams.len()
    }

    /// Forwarded requests waiting for the master.
    pub fn fuzz_pending(&self) -> usize {
        self.in_flight.len()
    }
}

impl Server {
    /// `client_tls = required` and `token` turned out plain: it hears
    /// `protocolError forbidden tls required` and is closed. True when so.
    fn refuse_plain(&mut self, token: Token) -> bool {
        if self.config.client_tls != ClientTls::Required {
            return false;
        }
        let Some(client) = self.clients.get_mut(&token) else {
            return false;
        };
        if !client.framed.transport().is_plain() {
            return false;
        }
        if client.framed.is_closing() {
            // Refused already; what else it sent is dropped.
            return true;
        }
        papertrader_common::info!("{}: plain connection refused, TLS required", client.peer());
        let text = "tls required: connect with TLS (client_tls = required)";
        client.answer(&Reply::fail(Instr::ProtocolError, ReasonCode::Forbidden, text).encode(None));
        client.framed.close_when_flushed();
        self.flush_client(token);
        true
    }
}

impl Conns for Server {
    type Io = ClientIo;

    fn framed(&mut self, token: Token) -> Option<(&mut Framed<ClientIo>, &mut [u8])> {
        let client = self.clients.get_mut(&token)?;
        Some((&mut client.framed, &mut self.read_buf))
    }

    /// Deferred to the end of the round (`on_round_end`).
    fn flush(&mut self, token: Token) {
        self.to_flush.push(token);
    }

    fn room(&self, token: Token) -> usize {
        self.clients.get(&token).map_or(0, |c| {
            self.config.max_in_flight.saturating_sub(c.in_flight())
        })
    }

    fn on_frame(&mut self, token: Token, frame: Frame) {
        if !self.refuse_plain(token) {
            self.on_client_frame(token, frame);
        }
    }

    fn on_end(&mut self, token: Token, end: End) {
        if matches!(end, End::Malformed(_)) && self.refuse_plain(token) {
            return;
        }
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        match end {
            End::Malformed(err) => {
                client.answer(&Reply::protocol_error(&err.error).encode(None));
                client.framed.close_when_flushed();
                self.flush_client(token);
            }
            _ => self.close_client(token),
        }
    }
}
