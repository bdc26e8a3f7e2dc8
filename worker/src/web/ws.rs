//! WebSocket as a transport of client connections (`papertrader-protocol(7)`
//! section 12): one binary message carries exactly one whole frame, both
//! ways. A [`WsStream`] is a [`Transport`] like plain TCP or TLS, so the
//! worker's dispatch cannot tell a browser from a terminal client.
//!
//! tungstenite's `WebSocketContext` keeps the RFC 6455 state (masking,
//! fragments, control frames, the closing handshake) and is driven here
//! over the loop's non-blocking stream, itself plain or TLS
//! (`papertrader_common::tls::Stream`), never blocking: `WouldBlock` from
//! the socket comes back out as `WouldBlock`. Runs on the event loop; the
//! HTTP side (`web::conn`) builds one when `/ws` is upgraded.

use std::io::{self, Read, Write};

use papertrader_common::HEADER_LEN;
use papertrader_common::frame::{FrameError, Header, MAX_DATA, MessageFault};
use papertrader_common::framed::Transport;
use papertrader_common::tls::Stream;
use tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{Role, WebSocketConfig, WebSocketContext};
use tungstenite::{Bytes, Message};

/// The largest message either side may send: one frame of section 2.
const MAX_MESSAGE: usize = HEADER_LEN + MAX_DATA;

/// Bytes of messages tungstenite may hold for a socket that does not take
/// them; past this `write` answers `WouldBlock` and the rest waits in the
/// connection's own output, under its `max_output` cap, as with TLS.
const BUFFER_LIMIT: usize = 32 * 1024;

/// What the event loop drives: the stream below, and tungstenite's state.
pub struct WsStream {
    io: Stream,
    ctx: WebSocketContext,
    /// The `101 Switching Protocols` answer, written before any message.
    preface: Vec<u8>,
    /// The message being handed to the decoder, and how far.
    inbound: Bytes,
    taken: usize,
    /// Bytes came from the socket since the last whole message: the peer
    /// is in the middle of one (the stalled-frame clock runs).
    partial: bool,
    /// Message bytes given to tungstenite since its last complete flush.
    unflushed: usize,
    /// The socket refused bytes tungstenite holds.
    blocked: bool,
    /// The peer broke section 12: the close says 1002.
    violated: bool,
}

impl WsStream {
    /// A WebSocket over `io`, whose upgrade request has been answered with
    /// `preface` (not yet written); `early` holds bytes the peer sent after
    /// its request, already read.
    pub fn new(io: Stream, preface: Vec<u8>, early: Vec<u8>) -> WsStream {
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(BUFFER_LIMIT)
            .max_write_buffer_size(BUFFER_LIMIT + 2 * MAX_MESSAGE)
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let ctx = if early.is_empty() {
            WebSocketContext::new(Role::Server, Some(config))
        } else {
            WebSocketContext::from_partially_read(early, Role::Server, Some(config))
        };
        WsStream {
            io,
            ctx,
            preface,
            inbound: Bytes::new(),
            taken: 0,
            partial: false,
            unflushed: 0,
            blocked: false,
            violated: false,
        }
    }

    /// The stream below (plain or TLS).
    pub fn stream(&self) -> &Stream {
        &self.io
    }

    /// The stream below, to register it with the poll.
    pub fn stream_mut(&mut self) -> &mut Stream {
        &mut self.io
    }

    /// The peer broke section 12: the error the framed connection answers
    /// as a malformed frame.
    fn violation(&mut self, fault: impl Into<FrameError>) -> io::Error {
        self.violated = true;
        io::Error::new(io::ErrorKind::InvalidData, fault.into())
    }

    /// Writes what is left of the `101` answer; false while some remains.
    fn write_preface(&mut self) -> io::Result<bool> {
        while !self.preface.is_empty() {
            match Transport::write(&mut self.io, &self.preface) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.preface.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.preface = Vec::new();
        Ok(true)
    }

    /// Pushes out what tungstenite holds; `blocked` says whether the
    /// socket took it all.
    fn flush_ws(&mut self) -> io::Result<()> {
        let mut io = Io(&mut self.io, &mut self.partial);
        match self.ctx.flush(&mut io) {
            Ok(()) => {
                self.blocked = false;
                self.unflushed = 0;
                Ok(())
            }
            Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                self.blocked = true;
                Ok(())
            }
            Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            Err(err) => Err(io_error(err)),
        }
    }

    /// The next message from tungstenite, with the stream's errors and
    /// the peer's faults told apart.
    fn next_message(&mut self) -> io::Result<Option<Bytes>> {
        loop {
            let mut io = Io(&mut self.io, &mut self.partial);
            let message = match self.ctx.read(&mut io) {
                Ok(message) => message,
                Err(WsError::Io(e)) => return Err(e),
                Err(
                    WsError::ConnectionClosed
                    | WsError::AlreadyClosed
                    | WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake),
                ) => return Ok(None),
                Err(WsError::Capacity(CapacityError::MessageTooLong { size, .. })) => {
                    return Err(self.violation(MessageFault::TooLarge(size as u64)));
                }
                Err(err @ (WsError::Protocol(_) | WsError::Utf8(_))) => {
                    papertrader_common::debug!("WebSocket: {err}");
                    return Err(self.violation(MessageFault::WebSocket));
                }
                Err(err) => return Err(io_error(err)),
            };
            self.partial = false;
            match message {
                Message::Binary(bytes) => return Ok(Some(bytes)),
                Message::Text(_) => return Err(self.violation(MessageFault::Text)),
                Message::Close(_) => {
                    // tungstenite queued the answering close: out with it.
                    let _ = self.flush_ws();
                    return Ok(None);
                }
                // tungstenite queued the pong.
                Message::Ping(_) => self.flush_ws()?,
                Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }
}

/// Checks that `message` is exactly one frame whose header is valid.
fn one_frame(message: &[u8]) -> Result<(), FrameError> {
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    let Some(head) = message.first_chunk::<HEADER_LEN>() else {
        return Err(FrameError::Message(MessageFault::Length { len, frame: 0 }));
    };
    let header = Header::parse(head)?;
    let frame = HEADER_LEN as u32 + header.data_size;
    if frame != len {
        return Err(FrameError::Message(MessageFault::Length { len, frame }));
    }
    Ok(())
}

/// The length of the whole frame at the start of `bytes`, if it is all
/// there. Our own output holds only whole frames.
fn frame_len(bytes: &[u8]) -> Option<usize> {
    let size = bytes.get(4..8)?;
    let size = u32::from_be_bytes(size.try_into().ok()?) as usize;
    let len = HEADER_LEN + size;
    (bytes.len() >= len).then_some(len)
}

fn io_error(err: WsError) -> io::Error {
    match err {
        WsError::Io(e) => e,
        other => io::Error::other(format!("WebSocket: {other}")),
    }
}

impl Transport for WsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.taken == self.inbound.len() {
            let Some(message) = self.next_message()? else {
                return Ok(0);
            };
            one_frame(&message).map_err(|fault| self.violation(fault))?;
            self.inbound = message;
            self.taken = 0;
        }
        let rest = &self.inbound[self.taken..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.taken += n;
        if self.taken == self.inbound.len() {
            self.inbound = Bytes::new();
            self.taken = 0;
        }
        Ok(n)
    }

    /// Takes whole frames, each sent as one binary message.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.write_preface()? {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        if self.blocked || self.unflushed >= BUFFER_LIMIT {
            self.flush_ws()?;
            if self.blocked {
                return Err(io::ErrorKind::WouldBlock.into());
            }
        }
        let mut used = 0;
        while self.unflushed < BUFFER_LIMIT {
            let Some(len) = frame_len(&buf[used..]) else {
                break;
            };
            let message = Message::Binary(Bytes::copy_from_slice(&buf[used..used + len]));
            let mut io = Io(&mut self.io, &mut self.partial);
            match self.ctx.write(&mut io, message) {
                Ok(()) => {}
                // The message is queued; the socket is full.
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.blocked = true;
                }
                Err(err) => return Err(io_error(err)),
            }
            used += len;
            self.unflushed += len;
            if self.blocked {
                break;
            }
        }
        if used == 0 && !buf.is_empty() {
            return Err(io::Error::other("WebSocket: a partial frame to send"));
        }
        if !self.blocked {
            self.flush_ws()?;
        }
        Ok(used)
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.write_preface()? {
            return Ok(());
        }
        self.flush_ws()
    }

    fn wants_write(&self) -> bool {
        !self.preface.is_empty() || self.blocked || self.io.wants_write()
    }

    fn in_handshake(&self) -> bool {
        self.partial || self.io.in_handshake()
    }

    /// Sends the closing handshake's close: 1002 after a message that
    /// broke section 12, 1000 otherwise.
    fn shutdown(&mut self) {
        let (code, reason) = if self.violated {
            (CloseCode::Protocol, "one binary message, one frame")
        } else {
            (CloseCode::Normal, "")
        };
        let close = CloseFrame {
            code,
            reason: tungstenite::protocol::frame::Utf8Bytes::from_static(reason),
        };
        if matches!(self.write_preface(), Ok(true)) {
            let mut io = Io(&mut self.io, &mut self.partial);
            let _ = self.ctx.close(&mut io, Some(close));
        }
        self.io.shutdown();
    }
}

/// The stream below as tungstenite sees it: `Read` and `Write` on the
/// transport (`.0`), setting the flag `.1` when bytes arrive.
/// The stream as tungstenite's reader and writer; `.1` records that
/// bytes came in (the trading stream's `web::stream` uses it too).
pub(crate) struct Io<'a>(pub &'a mut Stream, pub &'a mut bool);

impl Read for Io<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = Transport::read(self.0, buf)?;
        *self.1 |= n > 0;
        Ok(n)
    }
}

impl Write for Io<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Transport::write(self.0, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Transport::flush(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_must_hold_exactly_one_frame() {
        let mut frame = vec![1, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(one_frame(&frame), Ok(()));
        let two = [frame.clone(), frame.clone()].concat();
        assert_eq!(
            one_frame(&two),
            Err(FrameError::Message(MessageFault::Length {
                len: 32,
                frame: 16
            }))
        );
        assert_eq!(
            one_frame(&frame[..10]),
            Err(FrameError::Message(MessageFault::Length {
                len: 10,
                frame: 0
            }))
        );
        frame[0] = 9;
        assert_eq!(one_frame(&frame), Err(FrameError::BadType(9)));
        frame[0] = 1;
        frame[7] = 4;
        assert_eq!(
            one_frame(&frame),
            Err(FrameError::Message(MessageFault::Length {
                len: 16,
                frame: 20
            })),
            "half a frame"
        );
    }

    #[test]
    fn output_is_cut_at_whole_frames() {
        let frame = [
            3u8, 33, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, b'o', b'k',
        ];
        assert_eq!(frame_len(&frame), Some(18));
        assert_eq!(frame_len(&frame[..17]), None);
        assert_eq!(frame_len(&frame[..3]), None);
    }
}
