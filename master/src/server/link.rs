//! What the master says to each peer on its port (PROTOCOL.md sections 6
//! and 7): the one-shot `getWorkerList`, the GnuPG handshake, and, on an
//! accepted link, keepalive and the routing of forwarded requests to the
//! auth pool. Runs on the event loop thread as part of [`Server`].

use std::time::Instant;

use mio::Token;
use papertrader_common::gpg::GpgError;
use papertrader_common::message::{self, CheckError};
use papertrader_common::reply::{LinkMsg, Reply};
use papertrader_common::request::excerpt;
use papertrader_common::value::{Reason, ReasonCode, Timestamp, hex};
use papertrader_common::{Frame, Instr};

use super::Conn;
use super::Server;
use crate::auth_thread::{AuthMsg, random16};
use crate::gpg_thread::GpgJob;
use crate::peer::{Handshake, Link, Role};

fn refuse(code: ReasonCode, text: impl Into<String>) -> Frame {
    LinkMsg::Refused(Reason::new(code, text)).encode()
}

impl Server {
    pub(super) fn handle_frame(&mut self, token: Token, frame: Frame) {
        let Some(conn) = self.conns.get(token) else {
            return;
        };
        match conn.role() {
            Role::New => self.on_first_frame(token, frame),
            Role::Handshake(_) => self.on_handshake_frame(token, frame),
            Role::Link(_) => self.on_link_frame(token, frame),
        }
    }

    fn on_first_frame(&mut self, token: Token, frame: Frame) {
        match message::check(&frame, 0) {
            Ok(req) if req.instr == Instr::GetWorkerList => {
                let list = Reply::WorkerList(self.worker_list()).encode(None);
                self.send_and_close(token, &list);
            }
            Ok(req) if req.instr == Instr::WorkerHello && !self.is_tls(token) => {
                if let Some(conn) = self.conns.get(token) {
                    let peer = conn.peer();
                    papertrader_common::warn!("{peer}: refused workerHello on a plain connection");
                }
                let text = "tls required: a worker links over TLS (papertrader-protocol(7))";
                self.refuse(token, refuse(ReasonCode::Forbidden, text));
            }
            Ok(req) if req.instr == Instr::WorkerHello => {
                let args: Vec<String> = req.args.iter().map(|s| s.to_string()).collect();
                self.on_hello(token, &args);
            }
            Err(err @ CheckError::Arguments(Instr::WorkerHello, _)) => {
                self.refuse(token, refuse(ReasonCode::BadArguments, err.to_string()));
            }
            _ => self.forbid(
                token,
                "only getWorkerList or workerHello may open a connection",
            ),
        }
    }

    fn on_hello(&mut self, token: Token, args: &[String]) {
        let ([uuid, name, client_addr, worker_nonce], Some(conn)) = (args, self.conns.get(token))
        else {
            return;
        };
        let (peer, exporter) = (conn.peer(), conn.exporter());
        let bad_nonce =
            worker_nonce.len() != 32 || !worker_nonce.bytes().all(|b| b.is_ascii_hexdigit());
        if bad_nonce || !client_addr.contains(':') {
            let text =
                "workerHello needs a UUID, a name, a host:port address and 32 hex digits of nonce";
            return self.refuse(token, refuse(ReasonCode::BadArguments, text));
        }
        let Some(entry) = self.registry.by_uuid(uuid) else {
            let uuid = excerpt(uuid);
            papertrader_common::warn!("{peer}: refused worker: unknown UUID {uuid}");
            return self.refuse(
                token,
                refuse(ReasonCode::Forbidden, format!("unknown worker UUID {uuid}")),
            );
        };
        if !entry.allows(peer.ip()) {
            papertrader_common::warn!("{peer}: refused worker {}: address not allowed", entry.name);
            let text = format!(
                "peer address {} is not allowed for worker {}",
                peer.ip(),
                entry.name
            );
            return self.refuse(token, refuse(ReasonCode::Forbidden, text));
        }
        let (uuid, entry_name) = (entry.uuid.clone(), entry.name.clone());
        if self.links.others(&uuid) >= self.config.max_workers {
            let text = format!("max_workers ({}) links are up", self.config.max_workers);
            return self.refuse(token, refuse(ReasonCode::Unavailable, text));
        }
        let Some(gpg) = &self.queues.gpg else {
            let text = "the master has no signing key (master_key) configured";
            return self.refuse(token, refuse(ReasonCode::Unavailable, text));
        };
        let Some(exporter) = exporter else {
            let text = "tls required: the TLS handshake is not done";
            return self.refuse(token, refuse(ReasonCode::Forbidden, text));
        };
        if name != &entry_name {
            let name = excerpt(name);
            papertrader_common::info!("{peer}: worker {entry_name} calls itself {name}");
        }
        let job = GpgJob::Sign {
            token,
            uuid: uuid.clone(),
            worker_nonce: worker_nonce.clone(),
            exporter: exporter.clone(),
        };
        if gpg.try_send(job).is_err() {
            return self.refuse(
                token,
                refuse(ReasonCode::Unavailable, "handshake queue is full"),
            );
        }
        let master_nonce = hex(&random16(&mut rand::rng()));
        let hs = Handshake::new(
            uuid,
            entry_name,
            client_addr.clone(),
            master_nonce,
            exporter,
        );
        if let Some(conn) = self.conns.get_mut(token) {
            conn.set_role(Role::Handshake(hs));
        }
    }

    pub(super) fn on_signed(&mut self, token: Token, result: Result<String, GpgError>) {
        let Some(hs) = self.conns.handshake_mut(token) else {
            return;
        };
        match result {
            Ok(signature) => {
                hs.challenge_sent();
                let challenge = LinkMsg::Challenge {
                    nonce: hs.master_nonce().to_string(),
                    signature,
                };
                self.send(token, &challenge.encode());
            }
            Err(err) => {
                papertrader_common::error!("cannot sign the handshake challenge: {err}");
                self.refuse(
                    token,
                    refuse(ReasonCode::Internal, "the master cannot sign"),
                );
            }
        }
    }

    fn on_handshake_frame(&mut self, token: Token, frame: Frame) {
        let Some(hs) = self.conns.handshake_mut(token) else {
            return;
        };
        let proof = match message::check(&frame, 0) {
            Ok(req) if req.instr == Instr::WorkerProof && hs.awaits_proof() => {
                req.args[0].to_string()
            }
            _ => return self.forbid(token, "expected workerProof after masterChallenge"),
        };
        let Some(fingerprint) = self
            .registry
            .by_uuid(hs.uuid())
            .map(|e| e.fingerprint.clone())
        else {
            return self.refuse(
                token,
                refuse(ReasonCode::Forbidden, "worker left the registry"),
            );
        };
        hs.verifying();
        let job = GpgJob::Verify {
            token,
            uuid: hs.uuid().to_string(),
            master_nonce: hs.master_nonce().to_string(),
            exporter: hs.exporter().to_string(),
            signature: proof,
            fingerprint,
        };
        let queued = self
            .queues
            .gpg
            .as_ref()
            .is_some_and(|gpg| gpg.try_send(job).is_ok());
        if !queued {
            self.refuse(
                token,
                refuse(ReasonCode::Unavailable, "handshake queue is full"),
            );
        }
    }

    pub(super) fn on_verified(&mut self, token: Token, result: Result<(), GpgError>) {
        let Some(conn) = self.conns.get_mut(token) else {
            return;
        };
        let peer = conn.peer();
        let Role::Handshake(hs) = conn.role() else {
            return;
        };
        if let Err(err) = result {
            papertrader_common::warn!("{peer}: refused worker {}: {err}", hs.name());
            let text = format!("worker proof refused: {err}");
            return self.refuse(token, refuse(ReasonCode::Forbidden, text));
        }
        let link = hs.linked(Timestamp::now());
        papertrader_common::info!(
            "worker {} ({peer}) linked, clients use {}",
            link.name,
            link.client_addr
        );
        let uuid = link.uuid.clone();
        conn.set_role(Role::Link(link));
        self.linked(token, uuid, peer);
    }

    /// `token` just became the link of worker `uuid`: it replaces an older
    /// link of that worker, hears `linkAccepted`, the worker list and the
    /// last quotes, and every link hears the new list.
    fn linked(&mut self, token: Token, uuid: String, peer: std::net::SocketAddr) {
        if let Some(old) = self.links.up(uuid, token) {
            let text = format!("replaced by a newer link from {peer}");
            self.send_and_close(
                old,
                &LinkMsg::Kick(Reason::new(ReasonCode::Unavailable, text)).encode(),
            );
        }
        self.send(token, &LinkMsg::Accepted.encode());
        self.broadcast_worker_list();
        for packet in self.links.quotes().map(quote_packets).unwrap_or_default() {
            self.send(token, &packet);
        }
    }

    /// Hook for the fuzz target in master/fuzz (cargo feature `fuzzing`,
    /// off by default): a connection over `stream` (from `peer`) that is
    /// already an accepted link of worker `uuid` called `name`, as if its
    /// handshake had just passed; `None` if it cannot be registered.
    #[cfg(feature = "fuzzing")]
    pub fn fuzz_link_up(
        &mut self,
        stream: mio::net::TcpStream,
        peer: std::net::SocketAddr,
        uuid: &str,
        name: &str,
    ) -> Option<Token> {
        let address = format!("{name}.example:4000");
        let hs = Handshake::new(
            uuid.to_ascii_lowercase(),
            name.into(),
            address,
            String::new(),
            String::new(),
        );
        let link = hs.linked(Timestamp::now());
        let uuid = link.uuid.clone();
        let stream = papertrader_common::tls::Stream::plain(stream);
        let role = Role::Link(link);
        let token = self
            .conns
            .insert(self.poll.registry(), stream, peer, role)?;
        self.linked(token, uuid, peer);
        Some(token)
    }

    fn forbid(&mut self, token: Token, text: &str) {
        if let Some(conn) = self.conns.get(token) {
            papertrader_common::warn!("{}: {text}", conn.peer());
        }
        let answer = Reply::fail(Instr::ProtocolError, ReasonCode::Forbidden, text);
        self.send_and_close(token, &answer.encode(None));
    }

    /// Whether `token` speaks TLS.
    fn is_tls(&self, token: Token) -> bool {
        self.conns.get(token).is_some_and(Conn::is_tls)
    }

    fn refuse(&mut self, token: Token, answer: Frame) {
        self.send_and_close(token, &answer);
    }

    /// Client addresses of the linked workers, by worker name.
    pub(super) fn worker_list(&self) -> Vec<String> {
        let tokens = self.links.tokens();
        let mut links: Vec<&Link> = tokens.iter().filter_map(|t| self.conns.link(*t)).collect();
        links.sort_by(|a, b| a.name.cmp(&b.name));
        links.iter().map(|l| l.client_addr.clone()).collect()
    }

    pub(super) fn broadcast_worker_list(&mut self) {
        let list = self.worker_list();
        let update = LinkMsg::WorkerListUpdate(list).encode();
        for token in self.links.tokens() {
            self.send(token, &update);
        }
    }

    /// Sends new prices to every linked worker as `quotes` packets.
    pub(super) fn push_quotes(&mut self, payload: Vec<u8>) {
        let packets = quote_packets(&payload);
        for token in self.links.tokens() {
            for packet in &packets {
                self.send(token, packet);
            }
        }
        self.links.set_quotes(payload);
    }

    /// Refuses handshakes past their deadline.
    pub(super) fn check_handshakes(&mut self, now: Instant) {
        let limit = self.config.handshake_timeout;
        for token in self.conns.late(now, limit) {
            let text = format!("handshake not finished within {} s", limit.as_secs_f64());
            if let Some(conn) = self.conns.get(token) {
                papertrader_common::warn!("{}: {text}", conn.peer());
            }
            self.refuse(token, refuse(ReasonCode::Forbidden, text));
        }
    }

    /// Pings quiet links and drops dead ones.
    pub(super) fn keepalive(&mut self, now: Instant) {
        let (interval, timeout) = (self.config.ping_interval, self.config.link_timeout);
        let (dead, ping) = self.conns.quiet_links(now, interval, timeout);
        for token in dead {
            if let Some(link) = self.conns.link(token) {
                papertrader_common::warn!(
                    "worker {}: no traffic for {timeout:?}, dropping the link",
                    link.name
                );
            }
            self.close(token);
        }
        for token in ping {
            let word = self.links.next_ping();
            self.send(token, &LinkMsg::Ping(word).encode());
        }
    }

    /// Links lost longer than `session_link_grace` ago and not back: the
    /// expirable sessions made through them end, since their sessionClosed
    /// will never come.
    pub(super) fn end_lost_sessions(&mut self, now: Instant) {
        let grace = self.config.session_link_grace;
        for name in self.links.take_lost(now, grace) {
            if self
                .queues
                .auth
                .try_send(AuthMsg::WorkerLost(name))
                .is_err()
            {
                papertrader_common::warn!("auth queue full: a lost worker's sessions stay");
            }
        }
    }

    /// A worker answered our ping.
    pub(super) fn pong(&mut self, token: Token) {
        if let Some(link) = self.conns.link_mut(token) {
            link.ponged();
        }
    }

    /// Takes a link out of the worker list at once, while its last frame
    /// (a kick) is still being written; the connection closes once it is.
    pub(super) fn unlink(&mut self, token: Token) {
        let Some(link) = self.conns.link(token) else {
            return;
        };
        if self
            .links
            .down(&link.uuid.clone(), &link.name.clone(), token)
        {
            self.broadcast_worker_list();
        }
    }
}

/// The `quotes` control packets carrying `payload`.
fn quote_packets(payload: &[u8]) -> Vec<Frame> {
    papertrader_common::transfer::packets(Instr::Quotes, payload, None).unwrap_or_else(|err| {
        papertrader_common::error!("cannot push quotes: {err}");
        Vec::new()
    })
}
