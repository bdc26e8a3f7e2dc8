//! The worker's side of the master link (PROTOCOL.md sections 6, 7 and 11)
//! as a state machine that does no I/O: timers and frames from the master
//! go in, [`Step`]s the loop carries out come out (connect, send a frame,
//! have the gpg thread prove, route a reply, apply quotes, drop the link).
//! It keeps the phase of the handshake, the reconnection backoff, the
//! keepalive, the reassembly of `quotes` transfers and the session closings
//! that wait for the link. `link` does the sockets, TLS and the routing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use papertrader_common::framed::Framed;
use papertrader_common::gpg::ProofError;
use papertrader_common::reply::LinkMsg;
use papertrader_common::tls::{self, Stream};
use papertrader_common::transfer::Reassembler;
use papertrader_common::value::SessionId;
use papertrader_common::{Frame, Instr, MessageType};

/// First wait before reconnecting; doubles up to `reconnect_max`.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Largest `quotes` payload accepted.
const MAX_QUOTES: usize = 64 << 20;
/// Session closings kept while the link is down; beyond, the master's
/// grace for the lost link ends them all anyway.
const MAX_CLOSED_LATER: usize = 100_000;

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

/// The link's timers, from ptworkerd.conf(5).
#[derive(Debug, Clone, Copy)]
pub struct Timers {
    /// `handshake_timeout`: connect to `linkAccepted`.
    pub handshake: Duration,
    /// `link_timeout`: silence after which the link is dropped.
    pub silence: Duration,
    /// `ping_interval`: silence after which the worker pings.
    pub ping: Duration,
    /// `reconnect_max`: the longest backoff.
    pub reconnect_max: Duration,
}

/// What the loop is to do for the link.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Open a connection to the master.
    Connect,
    /// Send this frame to the master.
    Send(Frame),
    /// Have the gpg thread check the master's challenge and sign the proof
    /// (for connection `generation`).
    Prove {
        /// The connection attempt the proof is for.
        generation: u64,
        /// The worker's nonce of its `workerHello`.
        worker_nonce: String,
        /// The master's nonce.
        master_nonce: String,
        /// The master's signature.
        signature: String,
    },
    /// The link is up.
    Up,
    /// A REQID-tagged return for a client.
    Reply(Frame),
    /// A whole `quotes` payload.
    Quotes(Vec<u8>),
    /// The master's worker list.
    WorkerList(Vec<String>),
    /// Drop the connection, and why.
    Down(String),
}

/// The master link's state, and its connection while it has one.
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

    /// Where it stands.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The TLS configuration for a new connection.
    pub fn tls(&self) -> Arc<rustls::ClientConfig> {
        self.tls.clone()
    }

    /// The connection, while there is one.
    pub fn conn(&self) -> Option<&Framed<Stream>> {
        self.conn.as_ref()
    }

    /// The connection, to read and write.
    pub fn conn_mut(&mut self) -> Option<&mut Framed<Stream>> {
        self.conn.as_mut()
    }

    /// When the next attempt is due (after a [`MasterLink::down`]).
    pub fn retry_at(&self) -> Instant {
        self.retry_at
    }

    /// The timers at `now`: a connection when one is due (and the worker
    /// can link at all), the handshake deadline, the keepalive.
    pub fn tick(&mut self, now: Instant, timers: &Timers, can_link: bool) -> Option<Step> {
        match self.phase {
            Phase::Down if now >= self.retry_at && can_link => return Some(Step::Connect),
            Phase::Down | Phase::Up => {}
            _ if now.duration_since(self.attempt_started) >= timers.handshake => {
                return Some(Step::Down("handshake did not finish in time".into()));
            }
            _ => {}
        }
        let quiet = now.duration_since(self.conn.as_ref()?.last_rx());
        if self.phase != Phase::Up {
            None
        } else if quiet >= timers.silence {
            Some(Step::Down("no traffic from the master".into()))
        } else if quiet >= timers.ping && !self.ping_out {
            self.ping_out = true;
            Some(Step::Send(LinkMsg::Ping("keepalive".into()).encode()))
        } else {
            None
        }
    }

    /// A connection attempt started at `now` over `conn` (TCP connecting).
    pub fn connecting(&mut self, conn: Framed<Stream>, now: Instant) {
        self.attempt_started = now;
        self.generation += 1;
        self.conn = Some(conn);
        self.phase = Phase::Connecting;
    }

    /// A connection that is already up (the fuzz target's plain link).
    pub fn up_over(&mut self, conn: Framed<Stream>, now: Instant) {
        self.connecting(conn, now);
        self.phase = Phase::Up;
    }

    /// TCP is connected: the `workerHello` to send, with a fresh `nonce`.
    pub fn hello(&mut self, uuid: String, name: String, address: String, nonce: String) -> Frame {
        self.worker_nonce = nonce.clone();
        self.phase = Phase::AwaitChallenge;
        LinkMsg::Hello {
            uuid,
            name,
            address,
            nonce,
        }
        .encode()
    }

    /// A frame from the master, and what follows from it.
    pub fn on_frame(&mut self, f: Frame) -> Vec<Step> {
        let instr = Instr::from_code(f.instruction);
        let kind = MessageType::from_u8(f.message_type);
        match (self.phase, instr, kind) {
            (Phase::Up, Some(_), Some(MessageType::Return)) => vec![Step::Reply(f)],
            (_, Some(Instr::LinkRefused | Instr::Kick | Instr::ProtocolError), _) => {
                let text = String::from_utf8_lossy(&f.data);
                let name = instr.map_or("?", Instr::name);
                vec![Step::Down(format!("{name}: {}", text.trim()))]
            }
            (Phase::AwaitChallenge, Some(Instr::MasterChallenge), _) => self.on_challenge(&f),
            (Phase::AwaitAccept, Some(Instr::LinkAccepted), _) => self.on_accepted(),
            (Phase::Up, Some(Instr::Quotes), Some(MessageType::Control)) => self.on_quotes(&f),
            (Phase::Up, Some(_), Some(MessageType::Control)) => self.on_control(&f),
            _ => {
                let name = instr.map_or_else(|| format!("#{}", f.instruction), |i| i.name().into());
                vec![Step::Down(format!("unexpected {name} from the master"))]
            }
        }
    }

    fn on_challenge(&mut self, f: &Frame) -> Vec<Step> {
        let Ok(LinkMsg::Challenge { nonce, signature }) = LinkMsg::parse(f) else {
            return vec![Step::Down("malformed masterChallenge".into())];
        };
        self.phase = Phase::Proving;
        vec![Step::Prove {
            generation: self.generation,
            worker_nonce: self.worker_nonce.clone(),
            master_nonce: nonce,
            signature,
        }]
    }

    fn on_accepted(&mut self) -> Vec<Step> {
        self.phase = Phase::Up;
        self.backoff = FIRST_BACKOFF;
        let mut steps = vec![Step::Up];
        for session in std::mem::take(&mut self.closed_later) {
            steps.push(Step::Send(LinkMsg::SessionClosed(session).encode()));
        }
        steps
    }

    fn on_control(&mut self, f: &Frame) -> Vec<Step> {
        match LinkMsg::parse(f) {
            Ok(LinkMsg::Ping(word)) => vec![Step::Send(LinkMsg::Pong(word).encode())],
            Ok(LinkMsg::Pong(_)) => {
                self.ping_out = false;
                Vec::new()
            }
            Ok(LinkMsg::WorkerListUpdate(list)) => vec![Step::WorkerList(list)],
            Ok(other) => {
                let name = other.instr().name();
                papertrader_common::warn!("master sent an unexpected control frame {name}");
                Vec::new()
            }
            Err(err) => {
                papertrader_common::warn!("master sent a bad control frame: {err}");
                Vec::new()
            }
        }
    }

    fn on_quotes(&mut self, f: &Frame) -> Vec<Step> {
        let (n, max) = (f.data_message_number, f.data_message_max);
        match self.quotes.push(n, max, &f.data) {
            Ok(Some(payload)) => vec![Step::Quotes(payload)],
            Ok(None) => Vec::new(),
            Err(err) => {
                papertrader_common::warn!("quotes from the master: {err}");
                Vec::new()
            }
        }
    }

    /// The gpg thread's proof for connection `generation` (stale ones are
    /// dropped): the `workerProof` to send, or why the link goes down.
    pub fn on_proof(
        &mut self,
        generation: u64,
        result: Result<String, ProofError>,
    ) -> Option<Step> {
        if generation != self.generation || self.phase != Phase::Proving {
            return None;
        }
        match result {
            Ok(proof) => {
                self.phase = Phase::AwaitAccept;
                Some(Step::Send(LinkMsg::Proof(proof).encode()))
            }
            Err(err) => Some(Step::Down(err.to_string())),
        }
    }

    /// The connection is gone (taken out for the loop to deregister): the
    /// next attempt waits out the backoff, which doubles up to
    /// `reconnect_max`. Returns the connection and whether the link was up.
    pub fn down(
        &mut self,
        now: Instant,
        reconnect_max: Duration,
    ) -> (Option<Framed<Stream>>, bool) {
        let was_up = self.is_up();
        self.ping_out = false;
        self.quotes = Reassembler::new(MAX_QUOTES);
        self.phase = Phase::Down;
        self.retry_at = now + self.backoff;
        self.backoff = (self.backoff * 2).min(reconnect_max);
        (self.conn.take(), was_up)
    }

    /// An expirable session ended: the `sessionClosed` to send now, or
    /// none while the link is down (it goes out when the link is back).
    pub fn session_closed(&mut self, session: &SessionId) -> Option<Frame> {
        if self.is_up() {
            return Some(LinkMsg::SessionClosed(session.clone()).encode());
        }
        if self.closed_later.len() < MAX_CLOSED_LATER {
            self.closed_later.push(session.clone());
        }
        None
    }
}

#[cfg(test)]
mod tests;
