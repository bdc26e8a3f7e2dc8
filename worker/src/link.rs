//! The worker's link to the master (PROTOCOL.md sections 6, 7 and 11):
//! connecting over TLS 1.3, the GnuPG handshake over the TLS exporter
//! (signatures on the gpg thread),
//! keepalive, reconnection with exponential backoff, and routing the
//! master's REQID-tagged replies back to clients in order. Runs on the
//! event loop thread as part of [`Server`].

use std::time::{Duration, Instant};

use std::sync::Arc;

use mio::Token;
use mio::net::TcpStream;
use papertrader_common::framed::{End, Framed};
use papertrader_common::message::split_prefix;
use papertrader_common::reply::{LinkMsg, Reply};
use papertrader_common::tls::{self, Stream};
use papertrader_common::transfer::Reassembler;
use papertrader_common::value::{ReasonCode, SessionId, hex};
use papertrader_common::{Frame, Instr, MessageType, State, args};

use crate::gpg_thread::ProofJob;
use crate::server::{MASTER, Server};

/// First wait before reconnecting; doubles up to `reconnect_max`.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Largest `quotes` payload accepted.
const MAX_QUOTES: usize = 64 << 20;
/// Session closings kept while the link is down; beyond, the master's
/// grace for the lost link ends them all anyway.
const MAX_CLOSED_LATER: usize = 100_000;
/// Bytes queued for a master that does not read before the link is
/// dropped: a master stalled that long cannot answer in time anyway.
const LINK_MAX_OUTPUT: usize = 64 << 20;

/// Where the link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not connected; retry at `retry_at`.
    Down,
    /// TCP connect in progress.
    Connecting,
    /// `workerHello` sent.
    AwaitChallenge,
    /// The gpg thread is checking the challenge and signing the proof.
    Proving,
    /// `workerProof` sent.
    AwaitAccept,
    /// `linkAccepted`: requests flow.
    Up,
}

/// A forwarded request waiting for the master.
pub struct Pending {
    /// The client it came from.
    pub token: Token,
    /// Its instruction.
    pub instr: Instr,
    /// What to do with the answer besides relaying it.
    pub note: Note,
}

/// Side effects of an answer.
pub enum Note {
    /// Nothing but relaying.
    None,
    /// A login: an expirable session belongs to this connection.
    Login {
        /// `isExpirable` was `true`.
        expirable: bool,
    },
    /// A switchState the master is checking.
    SwitchState {
        /// The state asked for.
        state: State,
        /// The session given.
        session: SessionId,
    },
    /// A loginSession: a success means the master vouched for it.
    LoginSession,
    /// A logout of this session.
    Logout(SessionId),
    /// The worker's own check that a data-state connection's session
    /// still holds; the client sees no answer of it.
    Revalidate {
        /// The session checked.
        session: SessionId,
    },
    /// A history answer to cache under `key` once whole.
    History {
        /// The cache key.
        key: String,
        /// The payload so far.
        payload: Vec<u8>,
    },
}

/// The master link's connection and timers.
pub struct MasterLink {
    phase: Phase,
    conn: Option<Framed<Stream>>,
    /// TLS 1.3 to the master, any certificate (section 7).
    tls: Arc<rustls::ClientConfig>,
    attempt_started: Instant,
    retry_at: Instant,
    backoff: Duration,
    ping_out: bool,
    worker_nonce: String,
    generation: u64,
    quotes: Reassembler,
    /// Expirable sessions whose connections closed while the link was down.
    closed_later: Vec<SessionId>,
}

impl MasterLink {
    /// A link that will connect at once.
    pub fn new(now: Instant) -> MasterLink {
        MasterLink {
            phase: Phase::Down,
            conn: None,
            tls: tls::link_client_config(),
            attempt_started: now,
            retry_at: now,
            backoff: FIRST_BACKOFF,
            ping_out: false,
            worker_nonce: String::new(),
            generation: 0,
            quotes: Reassembler::new(MAX_QUOTES),
            closed_later: Vec::new(),
        }
    }

    /// Whether requests can be forwarded.
    pub fn is_up(&self) -> bool {
        self.phase == Phase::Up
    }
}

impl Server {
    /// Timers: (re)connect when due, handshake deadline, keepalive.
    pub(crate) fn link_tick(&mut self, now: Instant) {
        match self.link.phase {
            Phase::Down if now >= self.link.retry_at && self.gpg_tx.is_some() => self.connect(now),
            Phase::Down | Phase::Up => {}
            _ if now.duration_since(self.link.attempt_started) >= self.config.handshake_timeout => {
                self.link_down("handshake did not finish in time");
            }
            _ => {}
        }
        if self.link.phase == Phase::Up
            && let Some(conn) = &self.link.conn
        {
            let quiet = now.duration_since(conn.last_rx());
            if quiet >= self.config.link_timeout {
                self.link_down("no traffic from the master");
            } else if quiet >= self.config.ping_interval && !self.link.ping_out {
                self.link.ping_out = true;
                self.link_send(&LinkMsg::Ping("keepalive".into()).encode());
            }
        }
    }

    fn connect(&mut self, now: Instant) {
        let link = &mut self.link;
        link.attempt_started = now;
        link.generation += 1;
        match TcpStream::connect(self.config.master) {
            Ok(stream) => {
                // Forwarded requests are small frames written as they come:
                // with Nagle's algorithm one would wait for the master's
                // (delayed) ACK of the one before.
                let _ = stream.set_nodelay(true);
                let name = rustls::pki_types::ServerName::IpAddress(self.config.master.ip().into());
                let stream = match Stream::client(stream, link.tls.clone(), name) {
                    Ok(stream) => stream,
                    Err(err) => {
                        papertrader_common::error!("master link: TLS: {err}");
                        return self.schedule_retry();
                    }
                };
                let mut conn = Framed::connecting(stream, self.config.master, now, LINK_MAX_OUTPUT);
                if let Err(err) = conn.register(self.poll.registry(), MASTER) {
                    papertrader_common::error!("master link: register: {err}");
                    return self.schedule_retry();
                }
                link.conn = Some(conn);
                link.phase = Phase::Connecting;
            }
            Err(err) => {
                papertrader_common::warn!("master {}: {err}", self.config.master);
                self.schedule_retry();
            }
        }
    }

    fn schedule_retry(&mut self) {
        let link = &mut self.link;
        link.phase = Phase::Down;
        link.retry_at = Instant::now() + link.backoff;
        link.backoff = (link.backoff * 2).min(self.config.reconnect_max);
    }

    pub(crate) fn master_ready(&mut self, event: &mio::event::Event) {
        let writable = event.is_writable();
        let readable = event.is_readable() || event.is_read_closed();
        // The master's end of stream may share an edge with its last bytes
        // (a plain link stops reading at a short read otherwise; found by
        // the client_requests fuzz target, whose link is plain).
        if event.is_read_closed()
            && let Some(conn) = self.link.conn.as_mut()
        {
            conn.note_read_closed();
        }
        if self.link.phase == Phase::Connecting && (writable || readable) {
            let Some(conn) = self.link.conn.as_mut() else {
                return;
            };
            if conn.transport().socket().peer_addr().is_err() {
                let err = conn.transport().socket().take_error().ok().flatten();
                let why = err.map_or("connection refused".to_string(), |e| e.to_string());
                return self.link_down(&format!("cannot connect: {why}"));
            }
            conn.connected();
            self.send_hello();
        }
        if writable {
            self.link_flush();
        }
        if readable {
            self.link_read();
        }
    }

    fn send_hello(&mut self) {
        let nonce = hex(&papertrader_common_random());
        self.link.worker_nonce = nonce.clone();
        self.link.phase = Phase::AwaitChallenge;
        let uuid = self.config.uuid.clone().unwrap_or_default();
        let hello = LinkMsg::Hello {
            uuid,
            name: self.config.name.clone(),
            address: self.advertised(),
            nonce,
        };
        self.link_send(&hello.encode());
    }

    fn link_read(&mut self) {
        let Some(conn) = self.link.conn.as_mut() else {
            return;
        };
        let input = conn.read(Instant::now(), &mut self.read_buf, usize::MAX);
        for frame in input.frames {
            self.on_master_frame(frame);
            if self.link.conn.is_none() {
                return;
            }
        }
        match input.end {
            // What TLS owes the master (handshake records, a key update).
            None => self.link_flush(),
            Some(End::Closed) => self.link_down("the master closed the link"),
            Some(End::Malformed(err)) => {
                self.link_down(&format!("bad frame from the master: {err}"))
            }
            Some(end) => self.link_down(&format!("read: {end}")),
        }
    }

    fn on_master_frame(&mut self, f: Frame) {
        let instr = Instr::from_code(f.instruction);
        match (self.link.phase, instr) {
            (Phase::AwaitChallenge, Some(Instr::MasterChallenge)) => self.on_challenge(&f),
            (Phase::AwaitAccept, Some(Instr::LinkAccepted)) => {
                papertrader_common::info!("linked to the master at {}", self.config.master);
                self.link.phase = Phase::Up;
                self.link.backoff = FIRST_BACKOFF;
                self.send_closed_later();
            }
            (_, Some(Instr::LinkRefused | Instr::Kick | Instr::ProtocolError))
                if f.message_type != MessageType::Return as u8 || self.link.phase != Phase::Up =>
            {
                let text = args::split(&f.data, f.argument_count).map(|a| a.join(" "));
                let why = format!(
                    "{}: {}",
                    instr.map_or("?", Instr::name),
                    text.unwrap_or_default()
                );
                self.link_down(&why);
            }
            (Phase::Up, Some(_)) if f.message_type == MessageType::Control as u8 => {
                self.on_master_control(f)
            }
            (Phase::Up, Some(_)) if f.message_type == MessageType::Return as u8 => self.on_reply(f),
            _ => {
                let name = instr.map_or_else(|| format!("#{}", f.instruction), |i| i.name().into());
                self.link_down(&format!("unexpected {name} from the master"));
            }
        }
    }

    fn on_challenge(&mut self, f: &Frame) {
        let Ok(LinkMsg::Challenge { nonce, signature }) = LinkMsg::parse(f) else {
            return self.link_down("malformed masterChallenge");
        };
        let Some(exporter) = self
            .link
            .conn
            .as_ref()
            .and_then(|c| c.transport().exporter())
        else {
            return self.link_down("masterChallenge before the TLS handshake finished");
        };
        let job = ProofJob {
            generation: self.link.generation,
            uuid: self.config.uuid.clone().unwrap_or_default(),
            worker_nonce: self.link.worker_nonce.clone(),
            master_nonce: nonce,
            exporter,
            master_signature: signature,
            master_key: self.config.master_key.clone().unwrap_or_default(),
        };
        self.link.phase = Phase::Proving;
        let queued = self
            .gpg_tx
            .as_ref()
            .is_some_and(|tx| tx.try_send(job).is_ok());
        if !queued {
            self.link_down("the gpg thread is not taking work");
        }
    }

    pub(crate) fn on_proof(&mut self, generation: u64, result: Result<String, String>) {
        if generation != self.link.generation || self.link.phase != Phase::Proving {
            return;
        }
        match result {
            Ok(proof) => {
                self.link.phase = Phase::AwaitAccept;
                self.link_send(&LinkMsg::Proof(proof).encode());
            }
            Err(err) => self.link_down(&err),
        }
    }

    fn on_master_control(&mut self, f: Frame) {
        if f.instruction == Instr::Quotes.code() {
            return self.on_quotes(&f);
        }
        match LinkMsg::parse(&f) {
            Ok(LinkMsg::Ping(word)) => self.link_send(&LinkMsg::Pong(word).encode()),
            Ok(LinkMsg::Pong(_)) => self.link.ping_out = false,
            Ok(LinkMsg::WorkerListUpdate(list)) => self.worker_list = list,
            Ok(other) => papertrader_common::warn!(
                "master sent an unexpected control frame {}",
                other.instr().name()
            ),
            Err(err) => papertrader_common::warn!("master sent a bad control frame: {err}"),
        }
    }

    fn on_quotes(&mut self, f: &Frame) {
        let (n, max) = (f.data_message_number, f.data_message_max);
        match self.link.quotes.push(n, max, &f.data) {
            Ok(Some(payload)) => {
                self.caches.history.remove(crate::cache::LEADERBOARD_KEY);
                let (applied, skipped) = self.caches.quotes.apply(&payload);
                papertrader_common::debug!("quotes: {applied} applied, {skipped} skipped");
                if skipped > 0 {
                    papertrader_common::warn!(
                        "quotes: {skipped} lines from the master did not parse"
                    );
                }
            }
            Ok(None) => {}
            Err(err) => papertrader_common::warn!("quotes from the master: {err}"),
        }
    }

    /// A REQID-tagged return: read it once, apply side effects, hand it to
    /// the client in its slot. A return the worker cannot read still
    /// answers its request, with `internal`.
    fn on_reply(&mut self, f: Frame) {
        let parsed = Reply::parse_forwarded(&f);
        let reqid = match &parsed {
            Ok((reqid, _)) => Some(reqid.as_str()),
            Err(_) => split_prefix(&f.data, 1)
                .ok()
                .and_then(|(words, _)| words.first().copied()),
        };
        let Some(reqid) = reqid.and_then(|r| r.parse::<u64>().ok()) else {
            return papertrader_common::warn!("master reply with a bad REQID");
        };
        let Some(pending) = self.pending.get_mut(&reqid) else {
            return papertrader_common::warn!("master answered unknown REQID {reqid}");
        };
        let reply = match parsed {
            Ok((_, reply)) => reply,
            Err(err) => {
                papertrader_common::warn!("master reply to REQID {reqid} not read: {err}");
                let text = "the master's answer could not be read";
                Reply::fail(pending.instr, ReasonCode::Internal, text)
            }
        };
        let last = match &reply {
            Reply::Data(packet) => packet.number >= packet.max,
            _ => true,
        };
        let token = pending.token;
        if let (Note::History { payload, .. }, Reply::Data(packet)) = (&mut pending.note, &reply) {
            payload.extend_from_slice(&packet.chunk);
        }
        let answer = reply.encode(None);
        if last && let Some(pending) = self.pending.remove(&reqid) {
            self.after_reply(pending, &reply);
        }
        if let Some(client) = self.clients.get_mut(&token) {
            client.deliver(reqid, &answer, last);
            self.flush_client(token);
            if last {
                self.release_held(token);
            }
        }
    }

    /// Side effects of a whole answer, before it reaches the client.
    fn after_reply(&mut self, pending: Pending, reply: &Reply) {
        let now = Instant::now();
        let client = self.clients.get_mut(&pending.token);
        match (pending.note, reply) {
            (Note::Login { expirable }, Reply::Session(id)) => {
                self.caches.sessions.remember(id, now);
                match (expirable, client) {
                    (true, Some(client)) => client.add_expirable(id.clone()),
                    (true, None) => self.session_closed(id),
                    (false, _) => {}
                }
            }
            (Note::LoginSession, Reply::Session(id)) => {
                self.caches.sessions.remember(id, now);
            }
            (Note::SwitchState { state, session }, Reply::StateSwitched(_)) => {
                self.caches.sessions.remember(&session, now);
                if let Some(client) = client {
                    client.finish_switch(Some((state, session)));
                }
            }
            (Note::SwitchState { .. }, _) => {
                if let Some(client) = client {
                    client.finish_switch(None);
                }
            }
            (Note::Revalidate { session }, Reply::StateSwitched(_)) => {
                self.caches.sessions.remember(&session, now);
                if let Some(client) = client {
                    client.finish_switch(None);
                }
            }
            (Note::Revalidate { session }, other) => {
                // Only the master's word that the session is gone ends it;
                // a busy master is no such word, and asking again at once
                // would only loop.
                let ended = other
                    .reason()
                    .is_some_and(|r| r.code == ReasonCode::BadSession);
                if !ended {
                    self.caches.sessions.remember(&session, now);
                }
                if let Some(client) = self.clients.get_mut(&pending.token) {
                    client.finish_switch(None);
                    if ended {
                        client.logged_out(&session);
                    }
                }
            }
            (Note::Logout(session), Reply::LoggedOut) => {
                self.caches.sessions.forget(&session);
                if let Some(client) = client {
                    client.logged_out(&session);
                }
            }
            (Note::History { key, payload }, Reply::Data(_)) => {
                self.caches.history.put(key, payload, now);
            }
            _ => {}
        }
    }

    /// Runs frames a client sent while its `switchState` was in flight.
    fn release_held(&mut self, token: Token) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        if client.is_switching() {
            return;
        }
        for f in client.take_held() {
            self.on_client_frame(token, f);
        }
        self.flush_client(token);
    }

    /// Tells the master a connection's expirable session is over; while
    /// the link is down the news waits (bounded) and goes out when it is
    /// back, so the master's grace for a lost link ends nothing that the
    /// worker still serves, and ends what it does not.
    pub(crate) fn session_closed(&mut self, session: &SessionId) {
        if self.link.is_up() {
            self.link_send(&LinkMsg::SessionClosed(session.clone()).encode());
        } else if self.link.closed_later.len() < MAX_CLOSED_LATER {
            self.link.closed_later.push(session.clone());
        }
    }

    /// The link is up again: the sessions that ended meanwhile.
    fn send_closed_later(&mut self) {
        for session in std::mem::take(&mut self.link.closed_later) {
            self.link_send(&LinkMsg::SessionClosed(session).encode());
        }
    }

    /// Queues a frame for the master and writes what the socket takes.
    pub(crate) fn link_send(&mut self, f: &Frame) {
        let Some(conn) = self.link.conn.as_mut() else {
            return;
        };
        conn.send(f);
        self.link_flush();
    }

    fn link_flush(&mut self) {
        let Some(conn) = self.link.conn.as_mut() else {
            return;
        };
        if let Err(end) = conn.flush(0) {
            return self.link_down(&format!("write: {end}"));
        }
        if let Err(err) = conn.update_interest(self.poll.registry()) {
            papertrader_common::error!("master link: reregister: {err}");
        }
    }

    /// At shutdown: push out what is queued (sessionClosed), waiting up to
    /// a second for the socket to take it.
    pub(crate) fn link_flush_now(&mut self) {
        let Some(conn) = self.link.conn.as_mut() else {
            return;
        };
        let deadline = Instant::now() + Duration::from_secs(1);
        while conn.queued() > 0 && Instant::now() < deadline {
            if conn.flush(0).is_err() {
                return;
            }
            if conn.queued() > 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    /// Drops the link: every request in flight is answered (`unknown-outcome`
    /// for trades, which may have filled; `unavailable` for the rest) and a
    /// reconnection is scheduled with backoff.
    pub(crate) fn link_down(&mut self, why: &str) {
        let was_up = self.link.is_up();
        if let Some(mut conn) = self.link.conn.take() {
            conn.deregister(self.poll.registry());
        }
        self.link.ping_out = false;
        self.link.quotes = Reassembler::new(MAX_QUOTES);
        self.schedule_retry();
        if was_up {
            papertrader_common::warn!(
                "master link lost: {why}; retrying in {:?}",
                self.link.retry_at - Instant::now()
            );
        } else {
            papertrader_common::warn!("master link not established: {why}");
        }
        // The last list stays: clients that lose this worker's master link
        // are the ones that most need another worker's address.
        self.fail_pending();
    }

    /// Answers every request in flight: `unknown-outcome` for trades,
    /// orders, cancels and resets, which may have happened, `unavailable`
    /// for the rest.
    pub(crate) fn fail_pending(&mut self) {
        let pending: Vec<(u64, Pending)> = self.pending.drain().collect();
        let mut touched = Vec::new();
        for (reqid, p) in pending {
            let (code, text) = match p.instr {
                Instr::PurchaseAsset | Instr::SellAsset => (
                    ReasonCode::UnknownOutcome,
                    "the master link broke; the trade may have filled, see the transaction history",
                ),
                Instr::PlaceOrder | Instr::CancelOrder => (
                    ReasonCode::UnknownOutcome,
                    "the master link broke; the order may have been changed, see getOrders",
                ),
                Instr::ResetAccount => (
                    ReasonCode::UnknownOutcome,
                    "the master link broke; the account may have been reset, see the history",
                ),
                _ => (
                    ReasonCode::Unavailable,
                    "the master link broke before it answered",
                ),
            };
            let answer = Reply::fail(p.instr, code, text).encode(None);
            if let Some(client) = self.clients.get_mut(&p.token) {
                if matches!(p.note, Note::SwitchState { .. } | Note::Revalidate { .. }) {
                    client.finish_switch(None);
                }
                client.deliver(reqid, &answer, true);
                touched.push(p.token);
            }
        }
        for token in touched {
            self.flush_client(token);
            self.release_held(token);
        }
    }
}

/// Hook for the fuzz target in worker/fuzz (cargo feature `fuzzing`): a
/// master link that is already up, over a connected `stream`, so a fake
/// master can answer forwarded requests without the GnuPG handshake.
#[cfg(feature = "fuzzing")]
impl Server {
    /// Puts the link in [`Phase::Up`] over `stream` (to `peer`), replacing
    /// any connection it had; requests in flight on that one are failed.
    pub fn fuzz_link_up(
        &mut self,
        stream: TcpStream,
        peer: std::net::SocketAddr,
    ) -> std::io::Result<()> {
        if self.link.conn.is_some() {
            self.link_down("replaced by the fuzz target");
        }
        let now = Instant::now();
        let _ = stream.set_nodelay(true);
        let mut conn = Framed::new(Stream::plain(stream), peer, now, LINK_MAX_OUTPUT);
        conn.register(self.poll.registry(), MASTER)?;
        self.link.conn = Some(conn);
        self.link.generation += 1;
        self.link.attempt_started = now;
        self.link.phase = Phase::Up;
        Ok(())
    }

    /// Whether the link is up.
    pub fn fuzz_link_is_up(&self) -> bool {
        self.link.is_up()
    }
}

/// 16 random bytes for a nonce.
fn papertrader_common_random() -> [u8; 16] {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, OnceLock};

    use papertrader_common::log::{self as ptlog, LogConfig, LogHandle};

    use super::*;
    use crate::cache::Caches;
    use crate::config::Config;
    use crate::server::Parts;

    fn log() -> LogHandle {
        static LOG: OnceLock<LogHandle> = OnceLock::new();
        LOG.get_or_init(|| {
            ptlog::init(LogConfig {
                level: log::LevelFilter::Off,
                ..LogConfig::default()
            })
            .expect("log")
        })
        .clone()
    }

    /// A worker whose master is `master`, with a gpg thread that never
    /// answers (so it connects, and the handshake waits).
    fn server(master: std::net::SocketAddr) -> (Server, crossbeam_channel::Receiver<ProofJob>) {
        let mut config = Config::load(None).expect("built-in config");
        config.listen = "127.0.0.1:0".parse().expect("addr");
        config.master = master;
        let poll = mio::Poll::new().expect("poll");
        let (_notifier, events) = crate::event::notifier(Server::waker(&poll).expect("waker"));
        let listener = mio::net::TcpListener::bind(config.listen).expect("bind");
        let (gpg_tx, gpg_rx) = crossbeam_channel::bounded(1);
        let caches = Caches::new(Duration::from_secs(60), Duration::from_secs(60), 1 << 20);
        let parts = Parts {
            config: Arc::new(config),
            poll,
            listener,
            web_listener: None,
            tls: None,
            caches,
            gpg_tx: Some(gpg_tx),
            events,
            log: log(),
        };
        (Server::new(parts).expect("server"), gpg_rx)
    }

    /// Found by the client_requests fuzz target (worker/fuzz): the master
    /// link kept Nagle's algorithm on, so a request forwarded right after
    /// another frame (a pong, an earlier request) sat in the kernel until
    /// the master's delayed ACK, up to 40 ms on Linux.
    #[test]
    fn the_master_link_sends_without_nagle_delay() {
        let master = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let (mut server, _gpg) = server(master.local_addr().expect("addr"));
        server.link_tick(Instant::now());
        let conn = server.link.conn.as_ref().expect("connecting to the master");
        assert!(conn.transport().socket().nodelay().expect("TCP_NODELAY"));
    }
}
