//! One framed connection over any transport (DESIGN.md, "One connection
//! type, any transport"). A [`Framed`] owns what every framed peer needs:
//! the decoder, the output buffer and its cap, the idle and stalled-frame
//! clocks, the interest it wants from the event loop and closing once the
//! output is flushed. The code above it sees frames, never bytes.
//!
//! A transport is anything that reads and writes bytes without blocking:
//! plain TCP, TLS (rustls driven by the loop, `crate::tls::Stream`, which
//! also tells plain from TLS on an accepted socket) or a WebSocket (in
//! ptworkerd, which reports a message that is not one frame as an
//! `InvalidData` error carrying a [`FrameError`]); each implements
//! [`Transport`] and nothing that handles frames changes. The event loops of ptmasterd and ptworkerd own
//! their `Framed` values; nothing here starts a thread or opens a socket.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::{Interest, Registry, Token};

use crate::Frame;
use crate::frame::{DecodeError, Decoder, FrameError};

/// Below this many spare bytes an emptied output buffer is kept.
const KEEP_CAPACITY: usize = 4096;

/// A byte stream an event loop drives without blocking: `read` and `write`
/// behave as on a non-blocking socket (`WouldBlock` when nothing can move).
pub trait Transport {
    /// Reads bytes meant for the decoder; `Ok(0)` at the end of the stream.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Takes bytes of encoded frames; `Ok(0)` means the peer is gone.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize>;
    /// Pushes out what the transport holds of its own (TLS records, a
    /// WebSocket message); `WouldBlock` is not an error here.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// Whether the transport itself still has bytes for the socket.
    fn wants_write(&self) -> bool {
        false
    }
    /// Whether the peer is in the middle of something below the frames
    /// (a TLS handshake): the stalled-frame clock runs meanwhile.
    fn in_handshake(&self) -> bool {
        false
    }
    /// Ends the writing side once everything is out (best effort).
    fn shutdown(&mut self) {}
    /// Whether a `read` that fills less than its buffer has emptied the
    /// socket, so the next bytes (or the end) bring a new edge-triggered
    /// readiness event: true for a plain socket, whose kernel buffer it
    /// read; false where the transport may keep bytes of its own (TLS).
    fn short_read_drains(&self) -> bool {
        false
    }
}

impl Transport for mio::net::TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        io::Read::read(self, buf)
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::Write::write(self, buf)
    }

    fn shutdown(&mut self) {
        let _ = mio::net::TcpStream::shutdown(self, std::net::Shutdown::Write);
    }

    fn short_read_drains(&self) -> bool {
        true
    }
}

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
pub enum End {
    /// The peer closed its side.
    #[error("closed by peer")]
    Closed,
    /// Reading or writing failed.
    #[error("{0}")]
    Failed(io::Error),
    /// The peer broke section 2 of the protocol: answer `protocolError`,
    /// then close once that answer is written.
    #[error("{0}")]
    Malformed(DecodeError),
    /// The output went over its cap: the peer does not read its answers.
    #[error("not reading its answers")]
    NotReading,
    /// The last frame asked for is written.
    #[error("finished")]
    Finished,
}

impl End {
    /// Logs why a connection to `peer` ended: a warning when the peer
    /// misbehaved, debug for an ordinary close.
    pub fn log(&self, peer: SocketAddr) {
        match self {
            End::NotReading | End::Malformed(_) => warn!("{peer}: {self}, disconnected"),
            // A TLS transport's verdict on the peer's bytes (a bad record,
            // an alert such as a client refusing our certificate).
            End::Failed(err) if err.kind() == io::ErrorKind::InvalidData => {
                warn!("{peer}: {self}, disconnected")
            }
            _ => debug!("{peer}: {self}"),
        }
    }
}

/// What one read brought: the whole frames, in order, and, if the
/// connection ends, why. Frames that arrived before a malformed one or the
/// end of the stream are still returned, to be handled first.
#[derive(Debug, Default)]
pub struct Input {
    /// Whole frames, in arrival order.
    pub frames: Vec<Frame>,
    /// Set when the connection ends after these frames.
    pub end: Option<End>,
    /// More may be waiting (`max_frames` was reached): read again.
    pub more: bool,
}

/// A framed connection over the transport `T`.
pub struct Framed<T> {
    io: T,
    peer: SocketAddr,
    decoder: Decoder,
    out: Vec<u8>,
    /// u32 keeps an idle connection small; caps go up to 4 GiB.
    max_output: u32,
    last_rx: Instant,
    partial_since: Option<Instant>,
    close_when_flushed: bool,
    connecting: bool,
    registered: Option<(Token, Interest)>,
    /// The peer closed its side (a read-closed event was seen): reads go
    /// on to the end rather than stop at a short one.
    peer_closed: bool,
}

impl<T: Transport> Framed<T> {
    /// A connection over `io` to `peer` whose queued output may not pass
    /// `max_output` bytes.
    pub fn new(io: T, peer: SocketAddr, now: Instant, max_output: usize) -> Framed<T> {
        Framed {
            io,
            peer,
            decoder: Decoder::new(),
            out: Vec::new(),
            max_output: u32::try_from(max_output).unwrap_or(u32::MAX),
            last_rx: now,
            partial_since: None,
            close_when_flushed: false,
            connecting: false,
            registered: None,
            peer_closed: false,
        }
    }

    /// A connection whose `connect` is still in progress: it wants WRITABLE
    /// until [`Framed::connected`] is called.
    pub fn connecting(io: T, peer: SocketAddr, now: Instant, max_output: usize) -> Framed<T> {
        Framed {
            connecting: true,
            ..Framed::new(io, peer, now, max_output)
        }
    }

    /// The connect finished.
    pub fn connected(&mut self) {
        self.connecting = false;
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The transport, for what only it knows (TLS state, the socket).
    pub fn transport(&self) -> &T {
        &self.io
    }

    /// When bytes last arrived.
    pub fn last_rx(&self) -> Instant {
        self.last_rx
    }

    /// Whether the peer has been in the middle of a frame for `limit`.
    pub fn stalled(&self, now: Instant, limit: Duration) -> bool {
        self.partial_since
            .is_some_and(|since| now.duration_since(since) >= limit)
    }

    /// Reads what the transport has and returns the whole frames, at most
    /// `max_frames` of them. It reads from the transport only while it has
    /// fewer, so what a peer pipelines beyond that stays in the kernel's
    /// buffer: back-pressure, not buffering. `Input::more` says frames or
    /// bytes may be left; readiness is edge-triggered, so no new event
    /// comes for them and the owner must call again.
    pub fn read(&mut self, now: Instant, buf: &mut [u8], max_frames: usize) -> Input {
        let mut input = Input::default();
        let mut got = false;
        // A short read of a plain socket emptied it: one read (and no
        // second one that only says WouldBlock) per burst of requests,
        // unless the end of the stream may sit behind the bytes read.
        let mut drained = false;
        'read: loop {
            while input.frames.len() < max_frames {
                match self.decoder.next_frame() {
                    Ok(Some(frame)) => input.frames.push(frame),
                    Ok(None) => break,
                    Err(err) => {
                        input.end = Some(End::Malformed(err));
                        self.decoder = Decoder::new();
                        break 'read;
                    }
                }
            }
            if input.frames.len() >= max_frames {
                input.more = true;
                break;
            }
            if drained {
                break;
            }
            match self.io.read(buf) {
                Ok(0) => {
                    input.end = Some(End::Closed);
                    break;
                }
                Ok(n) => {
                    got = true;
                    self.decoder.push(&buf[..n]);
                    drained = n < buf.len() && !self.peer_closed && self.io.short_read_drains();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    input.end = Some(self.read_error(e));
                    break;
                }
            }
        }
        if got {
            self.last_rx = now;
        }
        // The clock runs from the last whole frame, so a busy peer that
        // keeps completing frames is never "stopped in the middle of one";
        // nor is one whose frames wait for us.
        let pending = self.decoder.pending() > 0 || self.io.in_handshake();
        self.partial_since = match (pending, self.partial_since) {
            (false, _) => None,
            _ if input.more => None,
            (_, Some(since)) if input.frames.is_empty() => Some(since),
            _ => Some(now),
        };
        input
    }

    /// A transport that frames messages itself (WebSocket) reports a
    /// message that is not one whole frame as an `InvalidData` error
    /// carrying the [`FrameError`]: that is a malformed frame, answered
    /// as any other.
    fn read_error(&self, err: io::Error) -> End {
        let fault = err
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<FrameError>())
            .copied();
        match fault {
            Some(error) => End::Malformed(DecodeError {
                frame_offset: self.decoder.consumed(),
                error,
            }),
            None => End::Failed(err),
        }
    }

    /// The peer's end of stream came with this readiness (a read-closed
    /// event, which may share an edge with its last bytes): reads go on to
    /// the end rather than stop at a short read.
    pub fn note_read_closed(&mut self) {
        self.peer_closed = true;
    }

    /// Queues a frame; [`Framed::flush`] writes it.
    pub fn send(&mut self, frame: &Frame) {
        frame.encode(&mut self.out);
    }

    /// Queues bytes of whole frames encoded elsewhere.
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// Queues bytes of frames encoded elsewhere, taking `bytes`' buffer
    /// when nothing else is queued.
    pub fn send_encoded(&mut self, bytes: &mut Vec<u8>) {
        if self.out.is_empty() {
            std::mem::swap(&mut self.out, bytes);
        } else {
            self.out.append(bytes);
        }
    }

    /// Closes the connection once everything queued is written.
    pub fn close_when_flushed(&mut self) {
        self.close_when_flushed = true;
    }

    /// Whether [`Framed::close_when_flushed`] was asked for.
    pub fn is_closing(&self) -> bool {
        self.close_when_flushed
    }

    /// Bytes queued and not yet taken by the transport.
    pub fn queued(&self) -> usize {
        self.out.len()
    }

    /// Writes what the transport takes now. `Err` says why the connection
    /// must close: the peer is gone, it does not read (the queue is over its
    /// cap, counting `waiting` bytes its owner holds for it), or the last
    /// frame asked for is out.
    pub fn flush(&mut self, waiting: usize) -> Result<(), End> {
        if self.connecting {
            return Ok(());
        }
        let mut written = 0;
        let result = loop {
            if written == self.out.len() {
                break self.io.flush();
            }
            match self.io.write(&self.out[written..]) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            }
        };
        self.out.drain(..written);
        if self.out.is_empty() && self.out.capacity() > KEEP_CAPACITY {
            self.out = Vec::new();
        }
        match result {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(End::Failed(e)),
            _ => {}
        }
        if self.out.len() + waiting > self.max_output as usize {
            return Err(End::NotReading);
        }
        if self.close_when_flushed && self.out.is_empty() && !self.io.wants_write() {
            self.io.shutdown();
            return Err(End::Finished);
        }
        Ok(())
    }

    /// The readiness this connection waits for: WRITABLE only while output
    /// is pending (or a connect is in progress).
    pub fn interest(&self) -> Interest {
        if self.connecting || !self.out.is_empty() || self.io.wants_write() {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        }
    }
}

impl<T: Transport + Source> Framed<T> {
    /// Registers the transport under `token` with the interest it wants.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let interest = self.interest();
        registry.register(&mut self.io, token, interest)?;
        self.registered = Some((token, interest));
        Ok(())
    }

    /// Brings the registration in step with [`Framed::interest`]; call
    /// after every read or flush.
    pub fn update_interest(&mut self, registry: &Registry) -> io::Result<()> {
        let interest = self.interest();
        match self.registered {
            Some((token, now)) if now != interest => {
                registry.reregister(&mut self.io, token, interest)?;
                self.registered = Some((token, interest));
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Writes what the transport takes and brings the registration in step:
    /// the one step after every send. `Err` says why the connection must
    /// close, already logged.
    pub fn pump(&mut self, registry: &Registry, waiting: usize) -> Result<(), End> {
        let result = self
            .flush(waiting)
            .and_then(|()| self.update_interest(registry).map_err(End::Failed));
        if let Err(end) = &result {
            end.log(self.peer);
        }
        result
    }

    /// Takes the transport off the poll.
    pub fn deregister(&mut self, registry: &Registry) {
        if self.registered.take().is_some() {
            let _ = registry.deregister(&mut self.io);
        }
    }
}

/// The connections an event loop owns, seen from the read path, so that
/// path is written once: read what a ready connection has, hand its frames
/// to the loop in order (stopping if one of them closed the connection),
/// then say how the read ended. See [`on_ready`].
pub trait Conns {
    /// The transport of these connections.
    type Io: Transport;
    /// The connection `token` and the loop's read buffer, if it is open.
    fn framed(&mut self, token: Token) -> Option<(&mut Framed<Self::Io>, &mut [u8])>;
    /// Writes what `token` has queued (and closes it if it must).
    fn flush(&mut self, token: Token);
    /// One whole frame from `token`.
    fn on_frame(&mut self, token: Token, frame: Frame);
    /// `token` ended after its last frames: answer a malformed frame
    /// (`protocolError`, then close once written) or close now.
    fn on_end(&mut self, token: Token, end: End);
    /// How many more frames `token` may have in hand now (requests whose
    /// answers are still owed count against it); 0 stops reading it.
    fn room(&self, token: Token) -> usize;
}

/// Readiness of `token`: writes what waits, then reads and dispatches as
/// many frames as it has room for. Returns true when more may be waiting:
/// the owner calls again (as readable) once `room` allows.
pub fn on_ready<C: Conns>(conns: &mut C, token: Token, readable: bool, writable: bool) -> bool {
    if writable {
        conns.flush(token);
    }
    if !readable {
        return false;
    }
    let room = conns.room(token);
    let Some((framed, buf)) = conns.framed(token) else {
        return false;
    };
    if room == 0 {
        return true;
    }
    let input = framed.read(Instant::now(), buf, room);
    for frame in input.frames {
        if conns.framed(token).is_none() {
            return false;
        }
        conns.on_frame(token, frame);
    }
    let Some((framed, _)) = conns.framed(token) else {
        return false;
    };
    match input.end {
        Some(end) => {
            end.log(framed.peer());
            conns.on_end(token, end);
            false
        }
        None => {
            conns.flush(token);
            input.more
        }
    }
}

/// [`on_ready`] for a mio event: a read-closed event (the peer's FIN, which
/// may come in the same edge as its last bytes) makes the connection read
/// on to the end of the stream.
pub fn on_event<C: Conns>(conns: &mut C, event: &mio::event::Event) -> bool {
    let token = event.token();
    if event.is_read_closed()
        && let Some((framed, _)) = conns.framed(token)
    {
        framed.note_read_closed();
    }
    on_ready(
        conns,
        token,
        event.is_readable() || event.is_read_closed(),
        event.is_writable(),
    )
}

/// Connections that may have input left unread: their `room` ran out, or
/// a read stopped at its batch. The loop runs them again after each round
/// of events, since no new readiness event will come for bytes already
/// waiting; one with no room stays here, costing a lookup per round, until
/// its answers drain.
#[derive(Debug, Default)]
pub struct Unread(std::collections::HashSet<Token>);

impl Unread {
    /// Records what [`on_ready`] returned for `token`.
    pub fn note(&mut self, token: Token, more: bool) {
        if more {
            self.0.insert(token);
        } else {
            self.0.remove(&token);
        }
    }

    /// Reads again every connection that has room now. Returns whether any
    /// of them may still have input it has room for, so the loop polls
    /// without waiting.
    pub fn run<C: Conns>(&mut self, conns: &mut C) -> bool {
        let tokens: Vec<Token> = self.0.iter().copied().collect();
        let mut ready = false;
        for token in tokens {
            if conns.framed(token).is_none() {
                self.0.remove(&token);
                continue;
            }
            if conns.room(token) == 0 {
                continue;
            }
            let more = on_ready(conns, token, true, false);
            self.note(token, more);
            ready |= more && conns.room(token) > 0;
        }
        ready
    }
}

#[cfg(test)]
mod tests;
