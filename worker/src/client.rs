//! One client connection of ptworkerd (PROTOCOL.md section 5): its state
//! (command or data), the session bound by `switchState`, and the queue of
//! reply slots that keeps answers in request order even when the master
//! answers out of order. Owned by the event loop thread.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use mio::net::TcpStream;
use papertrader_common::io::write_pending;
use papertrader_common::value::SessionId;
use papertrader_common::{Decoder, Frame, State};

/// The answer to one request, in the order requests arrived.
#[derive(Debug, Default)]
struct Slot {
    /// The REQID of a forwarded request; `None` for one answered here.
    reqid: Option<u64>,
    /// Encoded frames not yet moved to the output.
    bytes: Vec<u8>,
    /// Whether the whole answer is in.
    done: bool,
}

/// Frames a client may send while a `switchState` is in flight.
const MAX_HELD: usize = 256;

/// A client connection.
pub struct Client {
    pub(crate) stream: TcpStream,
    pub(crate) peer: SocketAddr,
    pub(crate) decoder: Decoder,
    out: Vec<u8>,
    slots: VecDeque<Slot>,
    /// Command or data state.
    pub(crate) state: State,
    /// The session bound by the last successful `switchState`.
    pub(crate) session: Option<SessionId>,
    /// A `switchState` is waiting for the master; later frames wait too.
    pub(crate) switching: bool,
    held: VecDeque<Frame>,
    /// Expirable sessions created by `login` on this connection: the master
    /// hears `sessionClosed` for each when it closes.
    pub(crate) expirable: Vec<SessionId>,
    pub(crate) last_rx: Instant,
    pub(crate) partial_since: Option<Instant>,
    pub(crate) close_when_flushed: bool,
    pub(crate) writable_registered: bool,
}

impl Client {
    /// A new connection in command state.
    pub fn new(stream: TcpStream, peer: SocketAddr, now: Instant) -> Client {
        Client {
            stream,
            peer,
            decoder: Decoder::new(),
            out: Vec::new(),
            slots: VecDeque::new(),
            state: State::Command,
            session: None,
            switching: false,
            held: VecDeque::new(),
            expirable: Vec::new(),
            last_rx: now,
            partial_since: None,
            close_when_flushed: false,
            writable_registered: false,
        }
    }

    /// Queues a whole answer made here.
    pub fn answer(&mut self, frame: &Frame) {
        let mut bytes = Vec::with_capacity(frame.encoded_len());
        frame.encode(&mut bytes);
        self.slots.push_back(Slot {
            reqid: None,
            bytes,
            done: true,
        });
        self.pump();
    }

    /// Queues several frames (a data transfer) made here as one answer.
    pub fn answer_all(&mut self, frames: impl IntoIterator<Item = Frame>) {
        let mut bytes = Vec::new();
        for frame in frames {
            frame.encode(&mut bytes);
        }
        self.slots.push_back(Slot {
            reqid: None,
            bytes,
            done: true,
        });
        self.pump();
    }

    /// Reserves the place of a forwarded request's answer.
    pub fn expect(&mut self, reqid: u64) {
        self.slots.push_back(Slot {
            reqid: Some(reqid),
            bytes: Vec::new(),
            done: false,
        });
    }

    /// Adds a frame of the answer to `reqid`; `last` completes it. The front
    /// answer streams straight to the output; later ones wait their turn.
    pub fn deliver(&mut self, reqid: u64, frame: &Frame, last: bool) {
        let Some(slot) = self.slots.iter_mut().find(|s| s.reqid == Some(reqid)) else {
            return;
        };
        frame.encode(&mut slot.bytes);
        slot.done |= last;
        self.pump();
    }

    /// Moves finished answers, and the front one as it streams, to the output.
    fn pump(&mut self) {
        while let Some(front) = self.slots.front_mut() {
            if self.out.is_empty() {
                std::mem::swap(&mut self.out, &mut front.bytes);
            } else {
                self.out.append(&mut front.bytes);
            }
            if !front.done {
                break;
            }
            self.slots.pop_front();
        }
    }

    /// Whether answers are still owed.
    pub fn waiting(&self) -> bool {
        !self.slots.is_empty()
    }

    /// Bytes queued for the socket, counting answers waiting their turn.
    pub fn queued(&self) -> usize {
        self.out.len() + self.slots.iter().map(|s| s.bytes.len()).sum::<usize>()
    }

    /// Holds a frame that arrived while a `switchState` was in flight;
    /// false if the client has sent too many.
    pub fn hold(&mut self, frame: Frame) -> bool {
        if self.held.len() >= MAX_HELD {
            return false;
        }
        self.held.push_back(frame);
        true
    }

    /// Frames held during a `switchState`, in order.
    pub fn take_held(&mut self) -> VecDeque<Frame> {
        std::mem::take(&mut self.held)
    }

    /// Writes what the socket takes; Err when the peer is gone.
    pub fn flush(&mut self) -> io::Result<()> {
        write_pending(&mut self.stream, &mut self.out)
    }

    /// Whether output is pending.
    pub fn wants_write(&self) -> bool {
        !self.out.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use papertrader_common::Instr;
    use papertrader_common::message::frame;

    fn client() -> (Client, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let peer = std::net::TcpStream::connect(addr).expect("connect");
        let (stream, from) = listener.accept().expect("accept");
        stream.set_nonblocking(true).expect("nonblocking");
        (
            Client::new(TcpStream::from_std(stream), from, Instant::now()),
            peer,
        )
    }

    fn bytes(f: &Frame) -> Vec<u8> {
        f.to_bytes()
    }

    #[test]
    fn answers_keep_request_order() {
        let (mut c, _peer) = client();
        let first = frame(Instr::SessionId, &["0f1e2d3c4b5a69788796a5b4c3d2e1f0"]);
        let second = frame::<&str>(Instr::RegisterSuccess, &[]);
        let third = frame::<&str>(Instr::LogoutSuccess, &[]);
        c.expect(1);
        c.expect(2);
        c.answer(&third);
        c.deliver(2, &second, true);
        assert!(
            c.out.is_empty(),
            "nothing may pass the unanswered first request"
        );
        c.deliver(1, &first, true);
        assert_eq!(
            c.out,
            [bytes(&first), bytes(&second), bytes(&third)].concat()
        );
        assert!(!c.waiting());
    }

    #[test]
    fn front_answer_streams_packet_by_packet() {
        let (mut c, _peer) = client();
        let mut p1 = Frame::new(
            papertrader_common::MessageType::Return,
            42,
            0,
            b"a".to_vec(),
        );
        p1.data_message_number = 1;
        p1.data_message_max = 2;
        c.expect(7);
        c.deliver(7, &p1, false);
        assert_eq!(
            c.out,
            bytes(&p1),
            "the first packet goes out before the last arrives"
        );
        assert!(c.waiting());
    }

    #[test]
    fn too_many_held_frames_are_refused() {
        let (mut c, _peer) = client();
        let f = frame::<&str>(Instr::GetAssetList, &[]);
        for _ in 0..MAX_HELD {
            assert!(c.hold(f.clone()));
        }
        assert!(!c.hold(f));
        assert_eq!(c.take_held().len(), MAX_HELD);
    }
}
