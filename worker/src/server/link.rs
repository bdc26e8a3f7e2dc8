//! The worker's master link on the event loop (PROTOCOL.md sections 6, 7
//! and 11): the socket, TLS and the gpg thread for the state machine of
//! `master_link`, whose [`Step`]s it carries out, and the routing of the
//! master's REQID-tagged replies back to clients in order, with their side
//! effects on the caches. Runs on the event loop thread as part of
//! [`Server`].

use std::time::{Duration, Instant};

use mio::Token;
use mio::net::TcpStream;
use papertrader_common::Frame;
use papertrader_common::framed::{End, Framed};
use papertrader_common::gpg::ProofError;
use papertrader_common::message::split_prefix;
use papertrader_common::reply::{Reply, ReplyError};
use papertrader_common::tls::Stream;
use papertrader_common::value::{ReasonCode, SessionId, hex};

use super::{MASTER, Server};
use crate::forward::{Note, Pending, broken_link};
use crate::gpg_thread::ProofJob;
use crate::master_link::{Step, Timers};

/// Bytes queued for a master that does not read before the link is
/// dropped: a master stalled that long cannot answer in time anyway.
const LINK_MAX_OUTPUT: usize = 64 << 20;

/// Unsent bytes past which a watching client misses a price push (or a
/// quarter of `max_output`, when that is less): one that has not taken
/// the last sets hears the next one instead, long before its output
/// reaches the cap that drops it.
const PUSH_BACKLOG: usize = 256 << 10;

impl Server {
    /// Timers: (re)connect when due, handshake deadline, keepalive.
    pub(super) fn link_tick(&mut self, now: Instant) {
        let timers = Timers {
            handshake: self.config.handshake_timeout,
            silence: self.config.link_timeout,
            ping: self.config.ping_interval,
            reconnect_max: self.config.reconnect_max,
        };
        if let Some(step) = self.link.tick(now, &timers, self.gpg_tx.is_some()) {
            self.link_step(step);
        }
    }

    /// Carries out one step of the link's state machine.
    fn link_step(&mut self, step: Step) {
        match step {
            Step::Connect => self.connect(Instant::now()),
            Step::Send(f) => self.link_send(&f),
            Step::Prove {
                generation,
                worker_nonce,
                master_nonce,
                signature,
            } => self.prove(generation, worker_nonce, master_nonce, signature),
            Step::Up => {
                papertrader_common::info!("linked to the master at {}", self.config.master);
            }
            Step::Reply(f) => self.on_reply(f),
            Step::Quotes(payload) => self.on_quotes(&payload),
            Step::WorkerList(list) => self.worker_list = list,
            Step::Down(why) => self.link_down(&why),
        }
    }

    fn connect(&mut self, now: Instant) {
        let master = self.config.master;
        let stream = match TcpStream::connect(master) {
            Ok(stream) => stream,
            Err(err) => {
                papertrader_common::warn!("master {master}: {err}");
                return self.schedule_retry();
            }
        };
        // Forwarded requests are small frames written as they come: with
        // Nagle's algorithm one would wait for the master's (delayed) ACK
        // of the one before.
        let _ = stream.set_nodelay(true);
        let name = rustls::pki_types::ServerName::IpAddress(master.ip().into());
        let stream = match Stream::client(stream, self.link.tls(), name) {
            Ok(stream) => stream,
            Err(err) => {
                papertrader_common::error!("master link: TLS: {err}");
                return self.schedule_retry();
            }
        };
        let mut conn = Framed::connecting(stream, master, now, LINK_MAX_OUTPUT);
        if let Err(err) = conn.register(self.poll.registry(), MASTER) {
            papertrader_common::error!("master link: register: {err}");
            return self.schedule_retry();
        }
        self.link.connecting(conn, now);
    }

    /// No connection came of an attempt: wait out the backoff.
    fn schedule_retry(&mut self) {
        let (conn, _) = self.link.down(Instant::now(), self.config.reconnect_max);
        if let Some(mut conn) = conn {
            conn.deregister(self.poll.registry());
        }
    }

    pub(super) fn master_ready(&mut self, event: &mio::event::Event) {
        let writable = event.is_writable();
        let readable = event.is_readable() || event.is_read_closed();
        // The master's end of stream may share an edge with its last bytes
        // (a plain link stops reading at a short read otherwise; found by
        // the client_requests fuzz target, whose link is plain).
        if event.is_read_closed()
            && let Some(conn) = self.link.conn_mut()
        {
            conn.note_read_closed();
        }
        if self.link.phase() == crate::master_link::Phase::Connecting && (writable || readable) {
            let Some(conn) = self.link.conn_mut() else {
                return;
            };
            if conn.transport().socket().peer_addr().is_err() {
                let err = conn.transport().socket().take_error().ok().flatten();
                let why = err.map_or("connection refused".to_string(), |e| e.to_string());
                return self.link_down(&format!("cannot connect: {why}"));
            }
            conn.connected();
            let uuid = self.config.uuid.clone().unwrap_or_default();
            let nonce = hex(&random16());
            let hello = self
                .link
                .hello(uuid, self.config.name.clone(), self.advertised(), nonce);
            self.link_send(&hello);
        }
        if writable {
            self.link_flush();
        }
        if readable {
            self.link_read();
        }
    }

    fn link_read(&mut self) {
        let Some(conn) = self.link.conn_mut() else {
            return;
        };
        let input = conn.read(Instant::now(), &mut self.read_buf, usize::MAX);
        for frame in input.frames {
            for step in self.link.on_frame(frame) {
                self.link_step(step);
            }
            if self.link.conn().is_none() {
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

    /// Hands the master's challenge to the gpg thread, with the TLS
    /// exporter of this connection that the signatures cover.
    fn prove(&mut self, generation: u64, worker_nonce: String, nonce: String, sig: String) {
        let Some(exporter) = self.link.conn().and_then(|c| c.transport().exporter()) else {
            return self.link_down("masterChallenge before the TLS handshake finished");
        };
        let job = ProofJob {
            generation,
            uuid: self.config.uuid.clone().unwrap_or_default(),
            worker_nonce,
            master_nonce: nonce,
            exporter,
            master_signature: sig,
            master_key: self.config.master_key.clone().unwrap_or_default(),
        };
        let queued = self
            .gpg_tx
            .as_ref()
            .is_some_and(|tx| tx.try_send(job).is_ok());
        if !queued {
            self.link_down("the gpg thread is not taking work");
        }
    }

    pub(super) fn on_proof(&mut self, generation: u64, result: Result<String, ProofError>) {
        if let Some(step) = self.link.on_proof(generation, result) {
            self.link_step(step);
        }
    }

    /// New quotes: the cache answers them, and rankings moved with them.
    fn on_quotes(&mut self, payload: &[u8]) {
        self.caches.history.remove(crate::cache::LEADERBOARD_KEY);
        self.in_flight.forget_key(crate::cache::LEADERBOARD_KEY);
        let (applied, skipped) = self.caches.quotes.apply(payload);
        papertrader_common::debug!("quotes: {applied} applied, {skipped} skipped");
        self.push_prices();
        // A price set: orders may have filled.
        self.poll_streams(None);
        if skipped > 0 {
            papertrader_common::warn!("quotes: {skipped} lines from the master did not parse");
        }
    }

    /// The price set just applied, to every client watching prices
    /// (`watchPrices`), encoded once.
    fn push_prices(&mut self) {
        let set = self.caches.quotes.last_set();
        if set.is_empty() {
            return;
        }
        let watchers: Vec<Token> = self
            .clients
            .iter()
            .filter(|(_, c)| c.is_watching() && c.session().is_some())
            .map(|(t, _)| *t)
            .collect();
        if watchers.is_empty() {
            return;
        }
        let Some(bytes) = crate::cache::encoded_prices(set) else {
            return;
        };
        let backlog = PUSH_BACKLOG.min(self.config.max_output / 4);
        for token in watchers {
            let pushed = self
                .clients
                .get_mut(&token)
                .is_some_and(|c| c.push(&bytes, backlog));
            if pushed {
                self.flush_client(token);
            }
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
        let Some(pending) = self.in_flight.get_mut(reqid) else {
            return papertrader_common::warn!("master answered unknown REQID {reqid}");
        };
        if matches!(pending.note, Note::Api { .. }) {
            return self.on_api_reply(reqid, parsed);
        }
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
        // The asker, and whoever joined it (the asker once, if it did).
        let mut tokens = vec![pending.token];
        tokens.extend(
            pending
                .note
                .joined()
                .iter()
                .filter(|&&t| t != pending.token),
        );
        if let (Note::History { payload, .. }, Reply::Data(packet)) = (&mut pending.note, &reply) {
            payload.extend_from_slice(&packet.chunk);
        }
        if last && let Some(pending) = self.in_flight.finish(reqid) {
            self.after_reply(pending, &reply);
        }
        let answer = reply.into_frame(None);
        for token in tokens {
            if let Some(client) = self.clients.get_mut(&token) {
                client.deliver(reqid, &answer, last);
                self.flush_client(token);
                if last {
                    self.release_held(token);
                }
            }
        }
    }

    /// A return to a request of an HTTP API call: a transfer's packets
    /// gather in its note; the whole answer goes to the call.
    fn on_api_reply(&mut self, reqid: u64, parsed: Result<(String, Reply), ReplyError>) {
        let Some(pending) = self.in_flight.get_mut(reqid) else {
            return;
        };
        let instr = pending.instr;
        let reply = match parsed {
            Ok((_, reply)) => reply,
            Err(err) => {
                papertrader_common::warn!("master reply to REQID {reqid} not read: {err}");
                let text = "the master's answer could not be read";
                Reply::fail(instr, ReasonCode::Internal, text)
            }
        };
        let reply = match reply {
            Reply::Data(packet) => {
                if !Server::api_packet(&mut pending.note, &packet.chunk) {
                    let text = "the answer is too large";
                    Reply::fail(instr, ReasonCode::Internal, text)
                } else if packet.number < packet.max {
                    return;
                } else {
                    Reply::Data(packet)
                }
            }
            other => other,
        };
        if let Some(pending) = self.in_flight.finish(reqid) {
            self.api_reply(pending, reply);
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
            (Note::KeyLogin { id, secret }, Reply::KeySession { session, username }) => {
                self.api_key_vouched(&id, &secret, session, username, now);
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
            (Note::Serial, _) => {
                if let Some(client) = client {
                    client.finish_switch(None);
                }
            }
            (Note::Logout(session), Reply::LoggedOut) => {
                self.caches.sessions.forget(&session);
                if let Some(client) = client {
                    client.logged_out(&session);
                }
            }
            (
                Note::History {
                    key,
                    payload,
                    cache: true,
                    ..
                },
                Reply::Data(_),
            ) => {
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
    pub(super) fn session_closed(&mut self, session: &SessionId) {
        if let Some(f) = self.link.session_closed(session) {
            self.link_send(&f);
        }
    }

    /// Queues a frame for the master and writes what the socket takes.
    pub(super) fn link_send(&mut self, f: &Frame) {
        let Some(conn) = self.link.conn_mut() else {
            return;
        };
        conn.send(f);
        self.link_flush();
    }

    fn link_flush(&mut self) {
        let Some(conn) = self.link.conn_mut() else {
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
    pub(super) fn link_flush_now(&mut self) {
        let Some(conn) = self.link.conn_mut() else {
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
    pub(super) fn link_down(&mut self, why: &str) {
        let now = Instant::now();
        let (conn, was_up) = self.link.down(now, self.config.reconnect_max);
        if let Some(mut conn) = conn {
            conn.deregister(self.poll.registry());
        }
        if was_up {
            let wait = self.link.retry_at().saturating_duration_since(now);
            papertrader_common::warn!("master link lost: {why}; retrying in {wait:?}");
        } else {
            papertrader_common::warn!("master link not established: {why}");
        }
        // The last list stays: clients that lose this worker's master link
        // are the ones that most need another worker's address.
        self.fail_pending();
    }

    /// Answers every request in flight ([`broken_link`]).
    pub(super) fn fail_pending(&mut self) {
        let mut touched = Vec::new();
        for (reqid, p) in self.in_flight.drain() {
            if matches!(p.note, Note::Api { .. }) {
                let reply = broken_link(p.instr);
                self.api_reply(p, reply);
                continue;
            }
            let answer = broken_link(p.instr).encode(None);
            if let Some(client) = self.clients.get_mut(&p.token) {
                if p.note.switches() {
                    client.finish_switch(None);
                }
                client.deliver(reqid, &answer, true);
                touched.push(p.token);
            }
            for &token in p.note.joined().iter().filter(|&&t| t != p.token) {
                if let Some(client) = self.clients.get_mut(&token) {
                    client.deliver(reqid, &answer, true);
                    touched.push(token);
                }
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
    /// Puts the link up over `stream` (to `peer`), replacing any
    /// connection it had; requests in flight on that one are failed.
    pub fn fuzz_link_up(
        &mut self,
        stream: TcpStream,
        peer: std::net::SocketAddr,
    ) -> std::io::Result<()> {
        if self.link.conn().is_some() {
            self.link_down("replaced by the fuzz target");
        }
        let now = Instant::now();
        let _ = stream.set_nodelay(true);
        let mut conn = Framed::new(Stream::plain(stream), peer, now, LINK_MAX_OUTPUT);
        conn.register(self.poll.registry(), MASTER)?;
        self.link.up_over(conn, now);
        Ok(())
    }

    /// Whether the link is up.
    pub fn fuzz_link_is_up(&self) -> bool {
        self.link.is_up()
    }
}

/// 16 random bytes for a nonce.
fn random16() -> [u8; 16] {
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
        let conn = server.link.conn().expect("connecting to the master");
        assert!(conn.transport().socket().nodelay().expect("TCP_NODELAY"));
    }
}
