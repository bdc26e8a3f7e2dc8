//! The trading stream's connection (`/stream`, papertrader-api(7)): a
//! WebSocket of JSON messages, text or binary, driven by tungstenite over
//! the loop's non-blocking stream as `ws::WsStream` is. It reads whole
//! messages of at most `MAX_INBOUND` bytes, answers pings, and holds what
//! it sends for a client that reads slowly, up to [`MAX_QUEUED`] bytes;
//! past that, or when nothing drains for the frame timeout, the client is
//! dropped. What the messages mean is `api::stream`'s and the loop's.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::{Interest, Registry, Token};
use papertrader_common::framed::Transport;
use papertrader_common::tls::Stream;
use tungstenite::error::Error as WsError;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{Role, WebSocketConfig, WebSocketContext};
use tungstenite::{Bytes, Message};

use super::ws::Io;
use crate::api::stream::MAX_INBOUND;

/// Bytes of events held for a client that does not read them.
pub const MAX_QUEUED: usize = 1 << 20;

/// A trading stream connection.
pub struct StreamConn {
    io: Stream,
    ctx: WebSocketContext,
    peer: SocketAddr,
    preface: Vec<u8>,
    /// Bytes given to tungstenite and not yet taken by the socket.
    queued: usize,
    blocked: bool,
    last_rx: Instant,
    /// Output has waited since then without draining.
    stuck_since: Option<Instant>,
    registered: Option<Interest>,
}

/// Why a stream connection ends.
pub type End = &'static str;

impl StreamConn {
    /// A stream over `io` whose upgrade is answered with `preface` (not
    /// yet written); `early` holds bytes read after the request.
    pub fn new(
        io: Stream,
        preface: Vec<u8>,
        early: Vec<u8>,
        peer: SocketAddr,
        now: Instant,
    ) -> StreamConn {
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .max_message_size(Some(MAX_INBOUND))
            .max_frame_size(Some(MAX_INBOUND))
            .write_buffer_size(0)
            .max_write_buffer_size(MAX_QUEUED + 64 * 1024);
        let ctx = if early.is_empty() {
            WebSocketContext::new(Role::Server, Some(config))
        } else {
            WebSocketContext::from_partially_read(early, Role::Server, Some(config))
        };
        StreamConn {
            io,
            ctx,
            peer,
            preface,
            queued: 0,
            blocked: false,
            last_rx: now,
            stuck_since: None,
            registered: None,
        }
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Registers the stream under `token`.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let interest = self.interest();
        registry.register(&mut self.io, token, interest)?;
        self.registered = Some(interest);
        Ok(())
    }

    /// Takes the stream off the poll.
    pub fn deregister(&mut self, registry: &Registry) {
        if self.registered.take().is_some() {
            let _ = registry.deregister(&mut self.io);
        }
    }

    fn interest(&self) -> Interest {
        if self.wants_write() {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        }
    }

    fn wants_write(&self) -> bool {
        !self.preface.is_empty() || self.blocked || self.io.wants_write()
    }

    /// Re-registers for writing when it has to.
    pub fn update_interest(&mut self, registry: &Registry, token: Token) -> Result<(), End> {
        let interest = self.interest();
        if self.registered.is_some_and(|was| was != interest) {
            registry
                .reregister(&mut self.io, token, interest)
                .map_err(|_| "cannot register")?;
            self.registered = Some(interest);
        }
        Ok(())
    }

    /// Readiness: writes what waits, reads whole messages.
    pub fn ready(&mut self, now: Instant) -> Result<Vec<Bytes>, End> {
        self.flush(now)?;
        let mut messages = Vec::new();
        loop {
            let mut came = false;
            let read = self.ctx.read(&mut Io(&mut self.io, &mut came));
            if came {
                self.last_rx = now;
            }
            match read {
                Ok(Message::Text(text)) => messages.push(Bytes::from(text)),
                Ok(Message::Binary(bytes)) => messages.push(bytes),
                Ok(Message::Ping(_)) => self.flush(now)?,
                Ok(Message::Close(_)) => {
                    let _ = self.flush(now);
                    return Err("closed by peer");
                }
                Ok(Message::Pong(_) | Message::Frame(_)) => {}
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => {
                    return Err("closed by peer");
                }
                // Its pongs fill what is held for it.
                Err(WsError::WriteBufferFull(_)) => return Err("not reading its events"),
                Err(_) => return Err("broke the WebSocket protocol"),
            }
        }
        Ok(messages)
    }

    /// Sends one JSON message (text); `Err` when the client has left
    /// [`MAX_QUEUED`] bytes unread.
    pub fn send(&mut self, text: String, now: Instant) -> Result<(), End> {
        if self.queued + text.len() > MAX_QUEUED {
            return Err("not reading its events");
        }
        self.queued += text.len();
        let mut io = Io(&mut self.io, &mut false);
        match self.ctx.write(&mut io, Message::text(text)) {
            Ok(()) => {}
            Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => self.blocked = true,
            Err(_) => return Err("write failed"),
        }
        self.flush(now)
    }

    fn flush(&mut self, now: Instant) -> Result<(), End> {
        while !self.preface.is_empty() {
            match Transport::write(&mut self.io, &self.preface) {
                Ok(0) => return Err("write failed"),
                Ok(n) => {
                    self.preface.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.stuck_since.get_or_insert(now);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err("write failed"),
            }
        }
        let mut io = Io(&mut self.io, &mut false);
        match self.ctx.flush(&mut io) {
            Ok(()) => {
                self.blocked = false;
                self.queued = 0;
                self.stuck_since = None;
            }
            Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                self.blocked = true;
                self.stuck_since.get_or_insert(now);
            }
            Err(_) => return Err("write failed"),
        }
        Ok(())
    }

    /// Why the connection should close at `now`: events not drained for
    /// `stall`, or silence (no message, no ping) for `idle` when it is not
    /// `listening` (a listener may wait quietly for events).
    pub fn expired(
        &self,
        now: Instant,
        idle: Duration,
        stall: Duration,
        listening: bool,
    ) -> Option<End> {
        if self
            .stuck_since
            .is_some_and(|t| now.duration_since(t) >= stall)
        {
            Some("not reading its events")
        } else if !listening && now.duration_since(self.last_rx) >= idle {
            Some("idle")
        } else {
            None
        }
    }

    /// Closes the WebSocket (best effort).
    pub fn shutdown(&mut self) {
        let close = CloseFrame {
            code: CloseCode::Normal,
            reason: tungstenite::protocol::frame::Utf8Bytes::from_static(""),
        };
        let mut io = Io(&mut self.io, &mut false);
        let _ = self.ctx.close(&mut io, Some(close));
        let _ = self.ctx.flush(&mut io);
        self.io.shutdown();
    }
}
