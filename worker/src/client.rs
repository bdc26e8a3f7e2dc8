//! One client connection of ptworkerd (PROTOCOL.md section 5): its state
//! (command or data), the session bound by `switchState`, and the queue of
//! reply slots that keeps answers in request order even when the master
//! answers out of order. Owned by the event loop thread.

use std::collections::VecDeque;
use std::net::SocketAddr;

use papertrader_common::framed::{End, Framed};

use crate::transport::ClientIo;
use papertrader_common::value::SessionId;
use papertrader_common::{Frame, State};

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
    pub(crate) framed: Framed<ClientIo>,
    slots: VecDeque<Slot>,
    state: State,
    /// The session bound by the last successful `switchState`.
    session: Option<SessionId>,
    /// A `switchState` is waiting for the master; later frames wait too.
    switching: bool,
    /// `watchPrices` asked for a `prices` push after each price set.
    watching: bool,
    /// Frames that came during the switch, boxed: most connections
    /// never hold any, and an idle connection's size is what 10 000 cost.
    #[allow(clippy::box_collection)] // 8 bytes idle instead of 32: deliberate
    held: Option<Box<VecDeque<Frame>>>,
    /// Expirable sessions created by `login` on this connection: the master
    /// hears `sessionClosed` for each when it closes.
    expirable: Vec<SessionId>,
}

impl Client {
    /// A new connection in command state.
    pub fn new(framed: Framed<ClientIo>) -> Client {
        Client {
            framed,
            slots: VecDeque::new(),
            state: State::Command,
            session: None,
            switching: false,
            watching: false,
            held: None,
            expirable: Vec::new(),
        }
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.framed.peer()
    }

    /// Command or data state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The session bound by the last successful `switchState`.
    pub fn session(&self) -> Option<&SessionId> {
        self.session.as_ref()
    }

    /// Whether a `switchState` is waiting for the master.
    pub fn is_switching(&self) -> bool {
        self.switching
    }

    /// A request that later frames must wait for went to the master (a
    /// `switchState`, a registration): they are held until it is answered.
    pub fn begin_switch(&mut self) {
        self.switching = true;
    }

    /// The master answered a `switchState`: on success the connection is
    /// in `state`, bound to `session`; either way held frames may run.
    pub fn finish_switch(&mut self, granted: Option<(State, SessionId)>) {
        self.switching = false;
        if let Some((state, session)) = granted {
            self.switch_now(state, session);
        }
    }

    /// A `switchState` granted here, from a session vouched for lately.
    pub fn switch_now(&mut self, state: State, session: SessionId) {
        // Prices are pushed in data state only.
        self.watching &= state == State::Data;
        self.state = state;
        self.session = Some(session);
    }

    /// `watchPrices`: pushes follow each price set until the connection
    /// leaves data state.
    pub fn watch(&mut self) {
        self.watching = true;
    }

    /// Whether this connection hears `prices`.
    pub fn is_watching(&self) -> bool {
        self.watching
    }

    /// Queues a `prices` push after whatever answers are owed, never
    /// inside one; false (and nothing queued) while more than `backlog`
    /// bytes wait unsent (a client that has not taken one push gets the
    /// next one instead of a growing queue), while a `switchState` waits
    /// (the push would follow its answer, perhaps into command state) and
    /// once the connection is closing.
    pub fn push(&mut self, bytes: &[u8], backlog: usize) -> bool {
        if self.unsent() > backlog || self.switching || self.framed.is_closing() {
            return false;
        }
        self.answer_encoded(bytes);
        true
    }

    /// Bytes of answers not yet written: queued, and waiting their turn.
    pub fn unsent(&self) -> usize {
        self.framed.queued() + self.held_back()
    }

    /// `session` was logged out: the connection is no longer bound to it.
    pub fn logged_out(&mut self, session: &SessionId) {
        if self.session.as_ref() == Some(session) {
            self.session = None;
            self.watching = false;
        }
    }

    /// An expirable session created on this connection.
    pub fn add_expirable(&mut self, session: SessionId) {
        self.expirable.push(session);
    }

    /// The expirable sessions to end when the connection closes.
    pub fn take_expirable(&mut self) -> Vec<SessionId> {
        std::mem::take(&mut self.expirable)
    }

    /// Queues a whole answer made here.
    pub fn answer(&mut self, frame: &Frame) {
        if self.slots.is_empty() {
            return self.framed.send(frame);
        }
        let mut bytes = Vec::with_capacity(frame.encoded_len());
        frame.encode(&mut bytes);
        self.answer_later(bytes);
    }

    /// Queues several frames (a data transfer) made here as one answer.
    pub fn answer_all(&mut self, frames: impl IntoIterator<Item = Frame>) {
        if self.slots.is_empty() {
            return frames.into_iter().for_each(|f| self.framed.send(&f));
        }
        let mut bytes = Vec::new();
        for frame in frames {
            frame.encode(&mut bytes);
        }
        self.answer_later(bytes);
    }

    /// Queues a whole answer encoded in advance (a cached quote's).
    pub fn answer_encoded(&mut self, bytes: &[u8]) {
        if self.slots.is_empty() {
            return self.framed.send_bytes(bytes);
        }
        self.answer_later(bytes.to_vec());
    }

    /// An answer made here behind forwarded ones still owed: it waits in
    /// a slot for its turn. (With no slot ahead, it goes straight out.)
    fn answer_later(&mut self, bytes: Vec<u8>) {
        self.slots.push_back(Slot {
            reqid: None,
            bytes,
            done: true,
        });
        self.release_answers();
    }

    /// Reserves the place of a forwarded request's answer.
    pub fn expect(&mut self, reqid: u64) {
        self.slots.push_back(Slot {
            reqid: Some(reqid),
            bytes: Vec::new(),
            done: false,
        });
    }

    /// Adds a frame of the answer to `reqid` to every slot waiting for it
    /// (a client that asked for one history answer twice while it was on
    /// its way has two); `last` completes them. The front answer streams
    /// straight to the output; later ones wait their turn.
    pub fn deliver(&mut self, reqid: u64, frame: &Frame, last: bool) {
        let mut found = false;
        for slot in self.slots.iter_mut().filter(|s| s.reqid == Some(reqid)) {
            frame.encode(&mut slot.bytes);
            slot.done |= last;
            found = true;
        }
        if found {
            self.release_answers();
        }
    }

    /// Moves finished answers, and the front one as it streams, to the output.
    fn release_answers(&mut self) {
        while let Some(front) = self.slots.front_mut() {
            self.framed.send_encoded(&mut front.bytes);
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

    /// Requests taken from the socket and not yet answered in full: the
    /// answers owed and the frames held during a switch.
    pub fn in_flight(&self) -> usize {
        self.slots.len() + self.held.as_ref().map_or(0, |h| h.len())
    }

    /// Bytes of answers waiting their turn behind an unanswered request.
    fn held_back(&self) -> usize {
        self.slots.iter().map(|s| s.bytes.len()).sum()
    }

    /// Holds a frame that arrived while a `switchState` was in flight;
    /// false if the client has sent too many.
    pub fn hold(&mut self, frame: Frame) -> bool {
        let held = self.held.get_or_insert_default();
        if held.len() >= MAX_HELD {
            return false;
        }
        held.push_back(frame);
        true
    }

    /// Frames held during a `switchState`, in order.
    pub fn take_held(&mut self) -> VecDeque<Frame> {
        self.held.take().map(|held| *held).unwrap_or_default()
    }

    /// Writes what the socket takes; `Err` says why the connection ends
    /// (gone, not reading its answers, or finished).
    pub fn flush(&mut self) -> Result<(), End> {
        self.framed.flush(self.held_back())
    }

    /// Flushes and keeps the poll registration in step; `Err` (logged)
    /// says why the connection ends.
    pub fn pump(&mut self, registry: &mio::Registry) -> Result<(), End> {
        self.framed.pump(registry, self.held_back())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use papertrader_common::Instr;
    use papertrader_common::message::frame;
    use std::time::Instant;

    fn client() -> (Client, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let peer = std::net::TcpStream::connect(addr).expect("connect");
        let (stream, from) = listener.accept().expect("accept");
        stream.set_nonblocking(true).expect("nonblocking");
        let stream = papertrader_common::tls::Stream::plain(mio::net::TcpStream::from_std(stream));
        let stream = ClientIo::Tcp(stream);
        let framed = Framed::new(stream, from, Instant::now(), 1 << 20);
        (Client::new(framed), peer)
    }

    /// Packet `number` of `max` of a `data` transfer, holding `a`.
    fn packet(number: u32, max: u32) -> Frame {
        let mut p = Frame::new(
            papertrader_common::MessageType::Return,
            Instr::Data.code(),
            0,
            b"a".to_vec(),
        );
        p.data_message_number = number;
        p.data_message_max = max;
        p
    }

    fn bytes(f: &Frame) -> Vec<u8> {
        f.to_bytes()
    }

    /// What the client wrote to its socket, as its peer reads it.
    fn sent(c: &mut Client, peer: &mut std::net::TcpStream) -> Vec<u8> {
        use std::io::Read;
        let n = c.framed.queued();
        c.flush().expect("written");
        let mut got = vec![0u8; n];
        peer.read_exact(&mut got).expect("read what was sent");
        got
    }

    #[test]
    fn answers_keep_request_order() {
        let (mut c, mut peer) = client();
        let first = frame(Instr::SessionId, &["0f1e2d3c4b5a69788796a5b4c3d2e1f0"]);
        let second = frame::<&str>(Instr::RegisterSuccess, &[]);
        let third = frame::<&str>(Instr::LogoutSuccess, &[]);
        c.expect(1);
        c.expect(2);
        c.answer(&third);
        c.deliver(2, &second, true);
        assert_eq!(
            c.framed.queued(),
            0,
            "nothing may pass the unanswered first request"
        );
        c.deliver(1, &first, true);
        assert_eq!(
            sent(&mut c, &mut peer),
            [bytes(&first), bytes(&second), bytes(&third)].concat()
        );
        assert!(!c.waiting());
    }

    #[test]
    fn encoded_answers_wait_behind_forwarded_ones() {
        let (mut c, mut peer) = client();
        let quote = frame(Instr::Data, &["AAPL 190.0000 1732147265\n"]);
        let forwarded = frame::<&str>(Instr::RegisterSuccess, &[]);
        // With nothing owed the answer goes straight to the output ...
        c.answer_encoded(&bytes(&quote));
        assert_eq!(sent(&mut c, &mut peer), bytes(&quote));
        // ... behind a forwarded request it waits for that one's answer.
        c.expect(9);
        c.answer_encoded(&bytes(&quote));
        assert_eq!(c.framed.queued(), 0);
        assert_eq!(c.in_flight(), 2);
        c.deliver(9, &forwarded, true);
        assert_eq!(
            sent(&mut c, &mut peer),
            [bytes(&forwarded), bytes(&quote)].concat()
        );
        assert!(!c.waiting());
    }

    /// A client that asked twice for a history answer on its way waits
    /// in two slots under one REQID: each delivery fills both, in order.
    #[test]
    fn one_answer_fills_every_slot_waiting_for_it() {
        let (mut c, mut peer) = client();
        let board = frame(Instr::Data, &["1 ann 0.00\n"]);
        let list = frame::<&str>(Instr::WorkerList, &[]);
        c.expect(5);
        c.answer_encoded(&bytes(&list));
        c.expect(5);
        assert_eq!(c.in_flight(), 3);
        c.deliver(5, &board, true);
        assert_eq!(
            sent(&mut c, &mut peer),
            [bytes(&board), bytes(&list), bytes(&board)].concat()
        );
        assert!(!c.waiting());
        c.deliver(5, &board, true);
        assert_eq!(
            c.framed.queued(),
            0,
            "an answer nobody waits for is dropped"
        );
    }

    #[test]
    fn front_answer_streams_packet_by_packet() {
        let (mut c, mut peer) = client();
        let p1 = packet(1, 2);
        c.expect(7);
        c.deliver(7, &p1, false);
        assert_eq!(
            sent(&mut c, &mut peer),
            bytes(&p1),
            "the first packet goes out before the last arrives"
        );
        assert!(c.waiting());
    }

    /// A price push never lands between the packets of an answer, and a
    /// client whose output is backed up misses it instead of queuing it.
    #[test]
    fn pushes_wait_for_the_answer_streaming_and_skip_a_backed_up_client() {
        let (mut c, mut peer) = client();
        c.switch_now(State::Data, SessionId::from_bytes([1; 16]));
        c.watch();
        assert!(c.is_watching());
        let p1 = packet(1, 2);
        let p2 = packet(2, 2);
        let push = frame(Instr::Prices, &["AAPL 1 1 1 1 1 1\n"]);
        c.expect(3);
        c.deliver(3, &p1, false);
        assert!(c.push(&bytes(&push), 1 << 20));
        assert_eq!(sent(&mut c, &mut peer), bytes(&p1));
        c.deliver(3, &p2, true);
        assert_eq!(sent(&mut c, &mut peer), [bytes(&p2), bytes(&push)].concat());
        // Backed up past the limit: the push is left out.
        c.answer_encoded(&[0; 100]);
        assert!(!c.push(&bytes(&push), 50));
        assert_eq!(c.framed.queued(), 100);
        // Nor while a switchState waits for the master.
        let _ = sent(&mut c, &mut peer);
        c.begin_switch();
        assert!(!c.push(&bytes(&push), 1 << 20));
        c.finish_switch(None);
        assert!(c.push(&bytes(&push), 1 << 20));
        // Back in command state, nothing is pushed any more.
        c.switch_now(State::Command, SessionId::from_bytes([1; 16]));
        assert!(!c.is_watching());
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
