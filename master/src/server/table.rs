//! The connections of the master port: the listener, the per-address
//! limit, and each accepted connection with its [`Role`]. Owns the sockets'
//! registration with the poll; the loop asks it for connections by token.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Registry, Token};
use papertrader_common::framed::Framed;
use papertrader_common::listen::{Listener, PerAddress};
use papertrader_common::reply::Reply;
use papertrader_common::tls::Stream;
use papertrader_common::value::ReasonCode;
use papertrader_common::{Frame, Instr};
use rustls::ServerConfig;

use super::{FIRST_CONN, LISTENER};
use crate::config::Config;
use crate::peer::{Handshake, Link, Role};

/// The loop's one read buffer; frames are assembled in each connection.
const READ_CHUNK: usize = 16 * 1024;

/// One accepted connection on the master port.
pub struct Conn {
    framed: Framed<Stream>,
    opened: Instant,
    role: Role,
}

impl Conn {
    /// The address it came from.
    pub fn peer(&self) -> SocketAddr {
        self.framed.peer()
    }

    /// Who is at the other end.
    pub fn role(&self) -> &Role {
        &self.role
    }

    /// The connection moved on in the handshake (or became a link).
    pub fn set_role(&mut self, role: Role) {
        self.role = role;
    }

    /// The TLS exporter of its session, once the TLS handshake is done.
    pub fn exporter(&self) -> Option<String> {
        self.framed.transport().exporter()
    }

    /// Whether it is closing (its last frame is being written).
    pub fn is_closing(&self) -> bool {
        self.framed.is_closing()
    }

    /// Whether it speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.framed.transport().is_tls()
    }
}

/// Every connection of the master port, by token.
pub struct Table {
    listener: Listener,
    /// TLS 1.3 for connections whose first byte starts a handshake.
    tls: Arc<ServerConfig>,
    per_address: PerAddress,
    conns: HashMap<Token, Conn>,
    next_token: usize,
    max_output: usize,
    read_buf: Box<[u8]>,
}

impl Table {
    /// Registers `listener` under `LISTENER`; the limits are the config's.
    pub fn new(
        listener: TcpListener,
        registry: &Registry,
        tls: Arc<ServerConfig>,
        config: &Config,
    ) -> io::Result<Table> {
        Ok(Table {
            listener: Listener::new(listener, registry, LISTENER)?,
            tls,
            per_address: PerAddress::new(config.max_conns_per_address),
            conns: HashMap::new(),
            next_token: FIRST_CONN,
            max_output: config.max_output,
            read_buf: vec![0u8; READ_CHUNK].into_boxed_slice(),
        })
    }

    /// The address actually bound (the config may say port 0).
    pub fn local(&self) -> SocketAddr {
        self.listener.local()
    }

    /// Connections open.
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// The connection of `token`.
    pub fn get(&self, token: Token) -> Option<&Conn> {
        self.conns.get(&token)
    }

    /// The connection of `token`, to change.
    pub fn get_mut(&mut self, token: Token) -> Option<&mut Conn> {
        self.conns.get_mut(&token)
    }

    /// The accepted link on `token`, if it is one.
    pub fn link(&self, token: Token) -> Option<&Link> {
        match &self.conns.get(&token)?.role {
            Role::Link(link) => Some(link),
            _ => None,
        }
    }

    /// The accepted link on `token`, to change.
    pub fn link_mut(&mut self, token: Token) -> Option<&mut Link> {
        match &mut self.conns.get_mut(&token)?.role {
            Role::Link(link) => Some(link),
            _ => None,
        }
    }

    /// The handshake in progress on `token`, if it is in one.
    pub fn handshake_mut(&mut self, token: Token) -> Option<&mut Handshake> {
        match &mut self.conns.get_mut(&token)?.role {
            Role::Handshake(hs) => Some(hs),
            _ => None,
        }
    }

    /// Every token.
    pub fn tokens(&self) -> Vec<Token> {
        self.conns.keys().copied().collect()
    }

    /// Accepts every waiting connection as [`Role::New`]; one over the
    /// per-address limit hears why and is dropped.
    pub fn accept_all(&mut self, registry: &Registry) {
        while let Some((mut stream, peer)) = self.listener.accept(registry) {
            if !self.per_address.admit(peer.ip()) {
                let text = format!(
                    "too many connections from your address (max_conns_per_address {})",
                    self.per_address.limit()
                );
                let refusal = Reply::fail(Instr::ProtocolError, ReasonCode::RateLimited, text);
                let _ = stream.write(&refusal.encode(None).to_bytes());
                continue;
            }
            let stream = Stream::accepted(stream, Some(self.tls.clone()));
            if self.insert(registry, stream, peer, Role::New).is_none() {
                self.per_address.release(peer.ip());
            }
        }
    }

    /// Registers a connection in `role`; its token, or `None` (logged).
    pub fn insert(
        &mut self,
        registry: &Registry,
        stream: Stream,
        peer: SocketAddr,
        role: Role,
    ) -> Option<Token> {
        let token = Token(self.next_token);
        self.next_token += 1;
        let _ = stream.socket().set_nodelay(true);
        let now = Instant::now();
        let mut framed = Framed::new(stream, peer, now, self.max_output);
        if let Err(err) = framed.register(registry, token) {
            papertrader_common::error!("{peer}: cannot register connection: {err}");
            return None;
        }
        papertrader_common::debug!("{peer}: connected");
        let conn = Conn {
            framed,
            opened: now,
            role,
        };
        self.conns.insert(token, conn);
        Some(token)
    }

    /// Queues `frame` for `token` (to be closed once written when `close`);
    /// false when the connection failed and must be dropped.
    pub fn send(&mut self, registry: &Registry, token: Token, frame: &Frame, close: bool) -> bool {
        let Some(conn) = self.conns.get_mut(&token) else {
            return true;
        };
        if close {
            conn.framed.close_when_flushed();
        }
        conn.framed.send(frame);
        conn.framed.pump(registry, 0).is_ok()
    }

    /// Writes what `token`'s socket takes now; false when it failed.
    pub fn pump(&mut self, registry: &Registry, token: Token) -> bool {
        self.conns
            .get_mut(&token)
            .is_none_or(|c| c.framed.pump(registry, 0).is_ok())
    }

    /// `token`'s framing and the loop's read buffer, for `framed::on_ready`.
    pub fn framed(&mut self, token: Token) -> Option<(&mut Framed<Stream>, &mut [u8])> {
        let conn = self.conns.get_mut(&token)?;
        Some((&mut conn.framed, &mut self.read_buf))
    }

    /// Takes `token` out; the listener resumes if it was paused for want of
    /// descriptors (and then accepts what waits).
    pub fn remove(&mut self, registry: &Registry, token: Token) -> Option<Conn> {
        let mut conn = self.conns.remove(&token)?;
        conn.framed.deregister(registry);
        self.per_address.release(conn.peer().ip());
        self.resume(registry, true);
        Some(conn)
    }

    /// Puts a paused listener back (`force`, or after its retry delay).
    pub fn resume(&mut self, registry: &Registry, force: bool) {
        if self.listener.resume(registry, force) {
            self.accept_all(registry);
        }
    }

    /// Connections stopped in the middle of a frame for `limit`.
    pub fn stalled(&self, now: Instant, limit: Duration) -> Vec<Token> {
        self.select(|c| c.framed.stalled(now, limit))
    }

    /// Connections not linked `limit` after they opened.
    pub fn late(&self, now: Instant, limit: Duration) -> Vec<Token> {
        self.select(|c| !matches!(c.role, Role::Link(_)) && now - c.opened >= limit)
    }

    /// Links quiet for `timeout` (dead), and those quiet for `interval`
    /// with no ping out (a ping now counts as sent).
    pub fn quiet_links(
        &mut self,
        now: Instant,
        interval: Duration,
        timeout: Duration,
    ) -> (Vec<Token>, Vec<Token>) {
        let (mut dead, mut ping) = (Vec::new(), Vec::new());
        for (token, conn) in &mut self.conns {
            let Role::Link(link) = &mut conn.role else {
                continue;
            };
            let quiet = now.duration_since(conn.framed.last_rx());
            if quiet >= timeout {
                dead.push(*token);
            } else if quiet >= interval && link.ping_due(now) {
                ping.push(*token);
            }
        }
        (dead, ping)
    }

    fn select(&self, pick: impl Fn(&Conn) -> bool) -> Vec<Token> {
        let chosen = self.conns.iter().filter(|(_, c)| pick(c));
        chosen.map(|(t, _)| *t).collect()
    }
}
