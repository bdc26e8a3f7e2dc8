//! What the master says to each peer on its port (PROTOCOL.md sections 6
//! and 7): the one-shot `getWorkerList`, the GnuPG handshake, and, on an
//! accepted link, keepalive and the routing of forwarded requests to the
//! auth pool. Runs on the event loop thread as part of [`Server`].

use std::time::Instant;

use mio::Token;
use papertrader_common::message::{self, CheckError, frame, reply};
use papertrader_common::value::{Reason, ReasonCode, Timestamp, hex};
use papertrader_common::{Frame, Instr, MessageType};

use crate::control::Command;
use crate::market::reader::DataJob;
use crate::pool::{AuthJob, AuthWork, GpgJob, random16};
use crate::queue::TradeMsg;
use crate::registry::Registry;
use crate::server::Server;

/// Where a connection stands.
pub enum Role {
    /// Nothing received yet.
    New,
    /// In the handshake of section 7.
    Handshake(Handshake),
    /// An accepted worker link.
    Link(Link),
}

/// A handshake in progress.
pub struct Handshake {
    uuid: String,
    name: String,
    client_addr: String,
    master_nonce: String,
    stage: Stage,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The gpg thread is signing the challenge.
    Signing,
    /// `masterChallenge` sent; waiting for `workerProof`.
    AwaitProof,
    /// The gpg thread is checking the proof.
    Verifying,
}

/// An accepted worker link.
pub struct Link {
    /// The worker's UUID (lowercase).
    pub uuid: String,
    /// Its registered name.
    pub name: String,
    /// The address clients should use.
    pub client_addr: String,
    /// When it was accepted.
    pub since: Timestamp,
    /// Forwarded requests taken from it.
    pub served: u64,
    /// A ping sent and not yet answered.
    ping_out: Option<Instant>,
}

fn refuse(code: ReasonCode, text: impl Into<String>) -> Frame {
    reply(Instr::LinkRefused, Reason::new(code, text))
}

impl Server {
    pub(crate) fn handle_frame(&mut self, token: Token, frame: Frame) {
        let Some(conn) = self.conns.get(&token) else {
            return;
        };
        match &conn.role {
            Role::New => self.on_first_frame(token, frame),
            Role::Handshake(_) => self.on_handshake_frame(token, frame),
            Role::Link(_) => self.on_link_frame(token, frame),
        }
    }

    fn on_first_frame(&mut self, token: Token, frame: Frame) {
        match message::check(&frame, 0) {
            Ok(req) if req.instr == Instr::GetWorkerList => {
                let list = frame_worker_list(&self.worker_list(), None);
                self.send_and_close(token, &list);
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
        let [uuid, name, client_addr, worker_nonce] = args else {
            return;
        };
        let peer = self.conns[&token].peer;
        let bad_nonce =
            worker_nonce.len() != 32 || !worker_nonce.bytes().all(|b| b.is_ascii_hexdigit());
        if bad_nonce || !client_addr.contains(':') {
            let text =
                "workerHello needs a UUID, a name, a host:port address and 32 hex digits of nonce";
            return self.refuse(token, refuse(ReasonCode::BadArguments, text));
        }
        let Some(entry) = self.registry.by_uuid(uuid) else {
            log::warn!("{peer}: refused worker: unknown UUID {uuid}");
            return self.refuse(
                token,
                refuse(ReasonCode::Forbidden, format!("unknown worker UUID {uuid}")),
            );
        };
        if !entry.allows(peer.ip()) {
            log::warn!("{peer}: refused worker {}: address not allowed", entry.name);
            let text = format!(
                "peer address {} is not allowed for worker {}",
                peer.ip(),
                entry.name
            );
            return self.refuse(token, refuse(ReasonCode::Forbidden, text));
        }
        let (uuid, entry_name) = (entry.uuid.clone(), entry.name.clone());
        let others = self.links.keys().filter(|u| **u != uuid).count();
        if others >= self.config.max_workers {
            let text = format!("max_workers ({}) links are up", self.config.max_workers);
            return self.refuse(token, refuse(ReasonCode::Unavailable, text));
        }
        let Some(gpg) = &self.gpg_tx else {
            let text = "the master has no signing key (master_key) configured";
            return self.refuse(token, refuse(ReasonCode::Unavailable, text));
        };
        if name != &entry_name {
            log::info!("{peer}: worker {entry_name} calls itself {name}");
        }
        let job = GpgJob::Sign {
            token,
            uuid: uuid.clone(),
            worker_nonce: worker_nonce.clone(),
        };
        if gpg.try_send(job).is_err() {
            return self.refuse(
                token,
                refuse(ReasonCode::Unavailable, "handshake queue is full"),
            );
        }
        let master_nonce = hex(&random16(&mut rand::rng()));
        let hs = Handshake {
            uuid,
            name: entry_name,
            client_addr: client_addr.clone(),
            master_nonce,
            stage: Stage::Signing,
        };
        if let Some(conn) = self.conns.get_mut(&token) {
            conn.role = Role::Handshake(hs);
        }
    }

    pub(crate) fn on_signed(&mut self, token: Token, result: Result<String, String>) {
        let Some(Role::Handshake(hs)) = self.conns.get_mut(&token).map(|c| &mut c.role) else {
            return;
        };
        match result {
            Ok(signature) => {
                hs.stage = Stage::AwaitProof;
                let challenge = frame(
                    Instr::MasterChallenge,
                    &[hs.master_nonce.as_str(), &signature],
                );
                self.send(token, &challenge);
            }
            Err(err) => {
                log::error!("cannot sign the handshake challenge: {err}");
                self.refuse(
                    token,
                    refuse(ReasonCode::Internal, "the master cannot sign"),
                );
            }
        }
    }

    fn on_handshake_frame(&mut self, token: Token, frame: Frame) {
        let Some(Role::Handshake(hs)) = self.conns.get_mut(&token).map(|c| &mut c.role) else {
            return;
        };
        let proof = match message::check(&frame, 0) {
            Ok(req) if req.instr == Instr::WorkerProof && hs.stage == Stage::AwaitProof => {
                req.args[0].to_string()
            }
            _ => return self.forbid(token, "expected workerProof after masterChallenge"),
        };
        let Some(fingerprint) = self
            .registry
            .by_uuid(&hs.uuid)
            .map(|e| e.fingerprint.clone())
        else {
            return self.refuse(
                token,
                refuse(ReasonCode::Forbidden, "worker left the registry"),
            );
        };
        hs.stage = Stage::Verifying;
        let job = GpgJob::Verify {
            token,
            uuid: hs.uuid.clone(),
            master_nonce: hs.master_nonce.clone(),
            signature: proof,
            fingerprint,
        };
        let queued = self
            .gpg_tx
            .as_ref()
            .is_some_and(|gpg| gpg.try_send(job).is_ok());
        if !queued {
            self.refuse(
                token,
                refuse(ReasonCode::Unavailable, "handshake queue is full"),
            );
        }
    }

    pub(crate) fn on_verified(&mut self, token: Token, result: Result<(), String>) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let peer = conn.peer;
        let Role::Handshake(hs) = &conn.role else {
            return;
        };
        if let Err(err) = result {
            log::warn!("{peer}: refused worker {}: {err}", hs.name);
            let text = format!("worker proof refused: {err}");
            return self.refuse(token, refuse(ReasonCode::Forbidden, text));
        }
        let link = Link {
            uuid: hs.uuid.clone(),
            name: hs.name.clone(),
            client_addr: hs.client_addr.clone(),
            since: Timestamp::now(),
            served: 0,
            ping_out: None,
        };
        log::info!(
            "worker {} ({peer}) linked, clients use {}",
            link.name,
            link.client_addr
        );
        let uuid = link.uuid.clone();
        conn.role = Role::Link(link);
        if let Some(old) = self.links.insert(uuid, token) {
            let text = format!("replaced by a newer link from {peer}");
            self.send_and_close(
                old,
                &reply(Instr::Kick, Reason::new(ReasonCode::Unavailable, text)),
            );
        }
        self.send(token, &frame::<&str>(Instr::LinkAccepted, &[]));
        self.broadcast_worker_list();
        if let Some(payload) = self.last_quotes.clone() {
            for packet in quote_packets(&payload) {
                self.send(token, &packet);
            }
        }
    }

    fn on_link_frame(&mut self, token: Token, frame: Frame) {
        if frame.message_type == MessageType::Control as u8 {
            return self.on_link_control(token, frame);
        }
        let reqid = message::split_prefix(&frame.data, 2)
            .ok()
            .map(|(p, _)| p[1].to_string());
        let req = match message::check(&frame, 4) {
            Ok(req) => req,
            Err(err) => {
                log::warn!("{}: {err}", self.conns[&token].peer);
                return self.answer_bad_request(token, reqid, &err);
            }
        };
        let Some(Role::Link(link)) = self.conns.get_mut(&token).map(|c| &mut c.role) else {
            return;
        };
        let (uuid, reqid) = (req.prefix[0], req.prefix[1].to_string());
        let failure = req.instr.failure().unwrap_or(Instr::ProtocolError);
        if !uuid.eq_ignore_ascii_case(&link.uuid) || !reqid.bytes().all(|b| b.is_ascii_digit()) {
            let text =
                format!("prefix UUID {uuid} is not this link's, or REQID {reqid} is not decimal");
            let answer =
                frame_with_reqid(failure, &reqid, Reason::new(ReasonCode::Forbidden, text));
            return self.send(token, &answer);
        }
        link.served += 1;
        let client = req.prefix[3].to_string();
        let worker = link.name.clone();
        let args: Vec<String> = req.args.iter().map(|s| s.to_string()).collect();
        let work = match (req.instr, args.as_slice()) {
            (Instr::Register, [u, e, p]) => AuthWork::Register(u.clone(), e.clone(), p.clone()),
            (Instr::Login, [u, p, x]) => AuthWork::Login {
                args: [u.clone(), p.clone(), x.clone()],
                client,
                worker,
            },
            (Instr::LoginSession, [id]) => AuthWork::LoginSession(id.clone()),
            (Instr::Logout, [id]) => AuthWork::Logout(id.clone()),
            (Instr::SwitchState, [id, state]) => AuthWork::SwitchState(id.clone(), state.clone()),
            (Instr::GetWorkerList, []) => {
                let list = frame_worker_list(&self.worker_list(), Some(&reqid));
                return self.send(token, &list);
            }
            (
                Instr::GetAssetInfo
                | Instr::GetAssetValueCurrent
                | Instr::GetAssetValueDay
                | Instr::GetAssetValueWeek
                | Instr::GetAssetValueMonth
                | Instr::GetAssetValueYear
                | Instr::GetAssetValueAllTime
                | Instr::GetAssetList
                | Instr::GetUserInfo
                | Instr::GetUserPortfolio
                | Instr::GetUserTransactionHistory,
                _,
            ) => {
                let job = DataJob {
                    token,
                    reqid: reqid.clone(),
                    instr: req.instr,
                    args,
                };
                if self.data_tx.try_send(job).is_err() {
                    let reason =
                        Reason::new(ReasonCode::Unavailable, "the master is busy; try again");
                    self.send(token, &frame_with_reqid(failure, &reqid, reason));
                }
                return;
            }
            (Instr::PurchaseAsset | Instr::SellAsset, [session, symbol, quantity]) => {
                let ts_ms = req.prefix[2].parse().unwrap_or(u64::MAX);
                let order = TradeMsg::Order {
                    token,
                    reqid: reqid.clone(),
                    instr: req.instr,
                    args: [session.clone(), symbol.clone(), quantity.clone()],
                    ts_ms,
                };
                if self.trade_tx.try_send(order).is_err() {
                    let reason = Reason::new(
                        ReasonCode::Unavailable,
                        "the trade queue is full; try again",
                    );
                    self.send(token, &frame_with_reqid(failure, &reqid, reason));
                }
                return;
            }
            (instr, _) => {
                let text = format!("{} is not served by this master yet", instr.name());
                let answer =
                    frame_with_reqid(failure, &reqid, Reason::new(ReasonCode::Unavailable, text));
                return self.send(token, &answer);
            }
        };
        let job = AuthJob {
            token,
            reqid: reqid.clone(),
            work,
        };
        if self.auth_tx.try_send(job).is_err() {
            let reason = Reason::new(ReasonCode::Unavailable, "the master is busy; try again");
            self.send(token, &frame_with_reqid(failure, &reqid, reason));
        }
    }

    fn answer_bad_request(&mut self, token: Token, reqid: Option<String>, err: &CheckError) {
        let mut answer = err.reply();
        if let Some(reqid) = reqid {
            let args = papertrader_common::args::split(&answer.data, answer.argument_count)
                .map(|a| a.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap_or_default();
            let instr = Instr::from_code(answer.instruction).unwrap_or(Instr::ProtocolError);
            let mut with_reqid = vec![reqid];
            with_reqid.extend(args);
            answer = frame(instr, &with_reqid);
        }
        if err.closes() {
            self.send_and_close(token, &answer);
        } else {
            self.send(token, &answer);
        }
    }

    fn on_link_control(&mut self, token: Token, frame: Frame) {
        let req = match message::check(&frame, 0) {
            Ok(req) => req,
            Err(err) => return self.answer_bad_request(token, None, &err),
        };
        match req.instr {
            Instr::Ping => {
                let pong = message::frame(Instr::Pong, &[req.args[0]]);
                self.send(token, &pong);
            }
            Instr::Pong => {
                if let Some(Role::Link(link)) = self.conns.get_mut(&token).map(|c| &mut c.role) {
                    link.ping_out = None;
                }
            }
            Instr::SessionClosed => {
                let job = AuthJob {
                    token,
                    reqid: String::new(),
                    work: AuthWork::SessionClosed(req.args[0].to_string()),
                };
                if self.auth_tx.try_send(job).is_err() {
                    log::warn!("auth queue full: a sessionClosed was dropped");
                }
            }
            other => {
                let text = format!("{} is not expected from a worker", other.name());
                self.send(
                    token,
                    &reply(
                        Instr::ProtocolError,
                        Reason::new(ReasonCode::Protocol, text),
                    ),
                );
            }
        }
    }

    fn forbid(&mut self, token: Token, text: &str) {
        if let Some(conn) = self.conns.get(&token) {
            log::warn!("{}: {text}", conn.peer);
        }
        let answer = reply(
            Instr::ProtocolError,
            Reason::new(ReasonCode::Forbidden, text),
        );
        self.send_and_close(token, &answer);
    }

    fn refuse(&mut self, token: Token, answer: Frame) {
        self.send_and_close(token, &answer);
    }

    /// Client addresses of the linked workers, by worker name.
    pub(crate) fn worker_list(&self) -> Vec<String> {
        let mut links: Vec<&Link> = self
            .links
            .values()
            .filter_map(|t| link_of(self, *t))
            .collect();
        links.sort_by(|a, b| a.name.cmp(&b.name));
        links.iter().map(|l| l.client_addr.clone()).collect()
    }

    pub(crate) fn broadcast_worker_list(&mut self) {
        let list = self.worker_list();
        let update = frame(Instr::WorkerListUpdate, &list);
        let tokens: Vec<Token> = self.links.values().copied().collect();
        for token in tokens {
            self.send(token, &update);
        }
    }

    /// Sends new prices to every linked worker as `quotes` packets.
    pub(crate) fn push_quotes(&mut self, payload: Vec<u8>) {
        let packets = quote_packets(&payload);
        let tokens: Vec<Token> = self.links.values().copied().collect();
        for token in tokens {
            for packet in &packets {
                self.send(token, packet);
            }
        }
        self.last_quotes = Some(payload);
    }

    /// Refuses handshakes past their deadline.
    pub(crate) fn check_handshakes(&mut self, now: Instant) {
        let limit = self.config.handshake_timeout;
        let late: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                !matches!(c.role, Role::Link(_)) && now.duration_since(c.opened) >= limit
            })
            .map(|(t, _)| *t)
            .collect();
        for token in late {
            let text = format!("handshake not finished within {} s", limit.as_secs_f64());
            if let Some(conn) = self.conns.get(&token) {
                log::warn!("{}: {text}", conn.peer);
            }
            self.refuse(token, refuse(ReasonCode::Forbidden, text));
        }
    }

    /// Pings quiet links and drops dead ones.
    pub(crate) fn keepalive(&mut self, now: Instant) {
        let (interval, timeout) = (self.config.ping_interval, self.config.link_timeout);
        let mut dead = Vec::new();
        let mut ping = Vec::new();
        for (token, conn) in &mut self.conns {
            let Role::Link(link) = &mut conn.role else {
                continue;
            };
            let quiet = now.duration_since(conn.last_rx);
            if quiet >= timeout {
                dead.push(*token);
            } else if quiet >= interval && link.ping_out.is_none() {
                link.ping_out = Some(now);
                ping.push(*token);
            }
        }
        for token in dead {
            if let Some(link) = link_of(self, token) {
                log::warn!(
                    "worker {}: no traffic for {timeout:?}, dropping the link",
                    link.name
                );
            }
            self.close(token);
        }
        for token in ping {
            self.ping_counter += 1;
            let counter = self.ping_counter.to_string();
            self.send(token, &frame(Instr::Ping, &[counter]));
        }
    }

    /// Runs a ptctl command that needs the loop.
    pub(crate) fn on_control(&mut self, command: Command) -> Result<String, String> {
        match command {
            Command::Status => Ok(self.status_text()),
            Command::Workers => Ok(self.workers_text()),
            Command::Kick(name) => self.kick(&name),
            Command::Reload => self.reload(),
        }
    }

    fn status_text(&self) -> String {
        let up = Timestamp::now().0 - self.started.0;
        format!(
            "ptmasterd {} pid {}\nlistening on {}\nup {up} s\nworkers linked {} of {} allowed\nconnections {}\n",
            env!("CARGO_PKG_VERSION"),
            std::process::id(),
            self.local,
            self.links.len(),
            self.config.max_workers,
            self.conns.len(),
        )
    }

    fn workers_text(&self) -> String {
        let mut out = String::from("NAME UUID ADDRESS CONNECTED_SINCE REQUESTS\n");
        for entry in self.registry.entries() {
            let link = self.links.get(&entry.uuid).and_then(|t| link_of(self, *t));
            match link {
                Some(l) => out.push_str(&format!(
                    "{} {} {} {} {}\n",
                    entry.name, entry.uuid, l.client_addr, l.since, l.served
                )),
                None => out.push_str(&format!("{} {} - - -\n", entry.name, entry.uuid)),
            }
        }
        out
    }

    fn kick(&mut self, name: &str) -> Result<String, String> {
        let found = self
            .links
            .iter()
            .find(|(_, t)| link_of(self, **t).is_some_and(|l| l.name == name));
        let Some((_, &token)) = found else {
            return Err(format!("no linked worker is named {name:?}"));
        };
        log::info!("worker {name} kicked by ptctl");
        let kick = reply(
            Instr::Kick,
            Reason::new(ReasonCode::Forbidden, "kicked by the administrator"),
        );
        self.unlink(token);
        self.send_and_close(token, &kick);
        Ok(format!("kicked {name}\n"))
    }

    /// Re-reads workers.list; links whose entry went away, or whose address
    /// is no longer allowed, are kicked.
    pub(crate) fn reload(&mut self) -> Result<String, String> {
        let registry = if self.config.workers_file.exists() || self.config.workers_file_required {
            Registry::load(&self.config.workers_file).map_err(|e| e.to_string())?
        } else {
            Registry::empty()
        };
        let assets = self.load_assets()?;
        self.registry = registry;
        let asset_count = assets.len();
        *self.assets.write() = assets;
        let stale: Vec<Token> = self
            .links
            .values()
            .copied()
            .filter(|t| {
                let (Some(conn), Some(link)) = (self.conns.get(t), link_of(self, *t)) else {
                    return true;
                };
                !self
                    .registry
                    .by_uuid(&link.uuid)
                    .is_some_and(|e| e.allows(conn.peer.ip()))
            })
            .collect();
        for token in &stale {
            let text = "no longer registered in workers.list";
            self.unlink(*token);
            let kick = reply(Instr::Kick, Reason::new(ReasonCode::Forbidden, text));
            self.send_and_close(*token, &kick);
        }
        let text = format!(
            "reloaded {}: {} workers registered, {} links dropped; {asset_count} assets listed",
            self.config.workers_file.display(),
            self.registry.entries().len(),
            stale.len()
        );
        log::info!("{text}");
        Ok(text + "\n")
    }
}

impl Server {
    /// Takes a link out of the worker list at once, while its last frame
    /// (a kick) is still being written; the connection closes once it is.
    fn unlink(&mut self, token: Token) {
        let Some(uuid) = link_of(self, token).map(|l| l.uuid.clone()) else {
            return;
        };
        if self.links.get(&uuid) == Some(&token) {
            self.links.remove(&uuid);
            self.broadcast_worker_list();
        }
    }

    /// The asset list from `assets_file`, or the built-in one.
    fn load_assets(&self) -> Result<Vec<crate::market::Asset>, String> {
        match &self.config.assets_file {
            Some(path) => crate::market::assets::load(path).map_err(|e| e.to_string()),
            None => Ok(crate::market::assets::built_in()),
        }
    }
}

fn link_of(server: &Server, token: Token) -> Option<&Link> {
    match &server.conns.get(&token)?.role {
        Role::Link(link) => Some(link),
        _ => None,
    }
}

/// The `quotes` control packets carrying `payload`.
fn quote_packets(payload: &[u8]) -> Vec<Frame> {
    papertrader_common::transfer::packets(Instr::Quotes, payload, None).unwrap_or_else(|err| {
        log::error!("cannot push quotes: {err}");
        Vec::new()
    })
}

/// A `workerList` return, with a REQID in front when forwarded.
fn frame_worker_list(list: &[String], reqid: Option<&str>) -> Frame {
    let mut args: Vec<&str> = reqid.into_iter().collect();
    args.extend(list.iter().map(String::as_str));
    frame(Instr::WorkerList, &args)
}

/// A failure return carrying a REQID and a reason.
fn frame_with_reqid(instr: Instr, reqid: &str, reason: Reason) -> Frame {
    frame(instr, &[reqid.to_string(), reason.to_string()])
}
