//! The transport of a client connection: the client port's stream (plain
//! or TLS, `papertrader_common::tls::Stream`) or a WebSocket of the web
//! port (`web::ws`). Both are a `Transport`, so `Framed`, `Client` and the
//! dispatch handle them alike (DESIGN.md, "One connection type, any
//! transport"). Owned by the event loop.

use std::io;

use papertrader_common::framed::Transport;
use papertrader_common::tls::Stream;

use crate::web::ws::WsStream;

/// A client's stream.
pub enum ClientIo {
    /// The client port (2049): frames over plain TCP or TLS.
    Tcp(Stream),
    /// The web port's `/ws`: one frame per binary message; boxed, since
    /// tungstenite's state is large and most clients may be on TCP.
    Ws(Box<WsStream>),
}

impl ClientIo {
    /// The TCP or TLS stream below.
    pub fn stream(&self) -> &Stream {
        match self {
            ClientIo::Tcp(s) => s,
            ClientIo::Ws(ws) => ws.stream(),
        }
    }

    /// Whether the connection turned out plain (no TLS below).
    pub fn is_plain(&self) -> bool {
        self.stream().is_plain()
    }

    fn inner(&mut self) -> &mut dyn Transport {
        match self {
            ClientIo::Tcp(s) => s,
            ClientIo::Ws(ws) => ws.as_mut(),
        }
    }

    fn source(&mut self) -> &mut Stream {
        match self {
            ClientIo::Tcp(s) => s,
            ClientIo::Ws(ws) => ws.stream_mut(),
        }
    }
}

impl Transport for ClientIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner().read(buf)
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner().flush()
    }

    fn wants_write(&self) -> bool {
        match self {
            ClientIo::Tcp(s) => s.wants_write(),
            ClientIo::Ws(ws) => ws.wants_write(),
        }
    }

    fn in_handshake(&self) -> bool {
        match self {
            ClientIo::Tcp(s) => s.in_handshake(),
            ClientIo::Ws(ws) => ws.in_handshake(),
        }
    }

    fn shutdown(&mut self) {
        self.inner().shutdown();
    }

    fn short_read_drains(&self) -> bool {
        match self {
            ClientIo::Tcp(s) => s.short_read_drains(),
            // tungstenite may hold bytes it has read.
            ClientIo::Ws(_) => false,
        }
    }
}

papertrader_common::delegate_source!(ClientIo, source);
