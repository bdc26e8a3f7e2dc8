//! `Framed` over an in-memory transport: the frame-handling contract holds
//! whatever carries the bytes, which is what lets TLS and WebSocket plug in.

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use mio::Interest;

use super::*;
use crate::{Instr, MessageType};

/// Bytes in, bytes out, and a window of how much the "socket" takes.
#[derive(Default)]
struct Memory {
    inbound: VecDeque<u8>,
    eof: bool,
    written: Vec<u8>,
    /// How many more bytes a write may take before WouldBlock.
    room: usize,
    /// Bytes the transport holds of its own, as TLS would.
    own: usize,
}

impl Transport for Memory {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.inbound.is_empty() {
            return if self.eof {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        // A few bytes at a time, so frames arrive split.
        let n = buf.len().min(self.inbound.len()).min(7);
        for (slot, byte) in buf.iter_mut().zip(self.inbound.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.room == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.room);
        self.room -= n;
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.own = 0;
        Ok(())
    }

    fn wants_write(&self) -> bool {
        self.own > 0
    }
}

fn peer() -> SocketAddr {
    "127.0.0.1:9".parse().expect("address")
}

fn ping(n: &str) -> Frame {
    crate::message::frame(Instr::Ping, &[n])
}

fn framed(max_output: usize) -> Framed<Memory> {
    Framed::new(Memory::default(), peer(), Instant::now(), max_output)
}

#[test]
fn frames_split_anyhow_come_out_whole_and_in_order() {
    let mut conn = framed(1 << 20);
    for n in ["1", "22", "333"] {
        conn.io.inbound.extend(ping(n).to_bytes());
    }
    let mut buf = [0u8; 64];
    let input = conn.read(Instant::now(), &mut buf, usize::MAX);
    assert!(input.end.is_none());
    let got: Vec<Vec<u8>> = input.frames.iter().map(|f| f.data.clone()).collect();
    assert_eq!(got, [b"1".to_vec(), b"22".to_vec(), b"333".to_vec()]);
}

#[test]
fn good_frames_before_a_bad_one_are_kept() {
    let mut conn = framed(1 << 20);
    conn.io.inbound.extend(ping("1").to_bytes());
    conn.io.inbound.extend(ping("2").to_bytes());
    let mut bad = ping("3").to_bytes();
    bad[0] = 9; // no such message_type
    conn.io.inbound.extend(bad);
    let input = conn.read(Instant::now(), &mut [0u8; 64], usize::MAX);
    assert_eq!(input.frames.len(), 2, "both good frames are handled first");
    assert!(matches!(input.end, Some(End::Malformed(_))));
}

#[test]
fn end_of_stream_still_returns_what_came_before_it() {
    let mut conn = framed(1 << 20);
    conn.io.inbound.extend(ping("1").to_bytes());
    conn.io.eof = true;
    let input = conn.read(Instant::now(), &mut [0u8; 64], usize::MAX);
    assert_eq!(input.frames.len(), 1);
    assert!(matches!(input.end, Some(End::Closed)));
}

#[test]
fn a_partial_frame_starts_the_stall_clock() {
    let mut conn = framed(1 << 20);
    let bytes = ping("1").to_bytes();
    conn.io.inbound.extend(&bytes[..5]);
    let t0 = Instant::now();
    assert!(conn.read(t0, &mut [0u8; 64], usize::MAX).frames.is_empty());
    assert!(!conn.stalled(t0, Duration::from_secs(1)));
    assert!(conn.stalled(t0 + Duration::from_secs(1), Duration::from_secs(1)));
    conn.io.inbound.extend(&bytes[5..]);
    assert_eq!(conn.read(t0, &mut [0u8; 64], usize::MAX).frames.len(), 1);
    assert!(!conn.stalled(t0 + Duration::from_secs(5), Duration::from_secs(1)));
}

#[test]
fn output_waits_for_room_and_interest_follows_it() {
    let mut conn = framed(1 << 20);
    assert_eq!(conn.interest(), Interest::READABLE);
    let frame = ping("42");
    conn.send(&frame);
    conn.io.room = 5;
    conn.flush(0).expect("would block is fine");
    assert_eq!(conn.queued(), frame.encoded_len() - 5);
    assert_eq!(conn.interest(), Interest::READABLE | Interest::WRITABLE);
    conn.io.room = 1000;
    conn.flush(0).expect("written");
    assert_eq!(conn.io.written, frame.to_bytes());
    assert_eq!(conn.interest(), Interest::READABLE);
}

#[test]
fn a_transport_holding_bytes_of_its_own_wants_write() {
    let mut conn = framed(1 << 20);
    conn.io.own = 10;
    assert_eq!(conn.interest(), Interest::READABLE | Interest::WRITABLE);
    conn.flush(0).expect("flushed");
    assert_eq!(conn.interest(), Interest::READABLE);
}

#[test]
fn a_peer_that_does_not_read_goes_over_the_cap() {
    let mut conn = framed(100);
    for _ in 0..10 {
        conn.send(&ping("1234567890"));
    }
    assert!(matches!(conn.flush(0), Err(End::NotReading)));
    let mut conn = framed(100);
    conn.send(&ping("1"));
    assert!(conn.flush(0).is_ok());
    assert!(
        matches!(conn.flush(200), Err(End::NotReading)),
        "bytes the owner holds count too"
    );
}

#[test]
fn close_when_flushed_ends_after_the_last_byte() {
    let mut conn = framed(1 << 20);
    conn.send(&Frame::new(MessageType::Return, 9, 0, Vec::new()));
    conn.close_when_flushed();
    assert!(conn.flush(0).is_ok(), "no room yet: still open");
    conn.io.room = 100;
    assert!(matches!(conn.flush(0), Err(End::Finished)));
    assert_eq!(conn.io.written.len(), crate::HEADER_LEN);
}

#[test]
fn a_connect_in_progress_wants_write_and_sends_nothing() {
    let mut conn = Framed::connecting(Memory::default(), peer(), Instant::now(), 1 << 20);
    conn.io.room = 100;
    conn.send(&ping("1"));
    assert_eq!(conn.interest(), Interest::READABLE | Interest::WRITABLE);
    conn.flush(0).expect("waits");
    assert!(conn.io.written.is_empty());
    conn.connected();
    conn.flush(0).expect("sent");
    assert_eq!(conn.io.written, ping("1").to_bytes());
}

#[test]
fn reading_stops_at_max_frames_and_leaves_the_rest_unread() {
    let mut conn = framed(1 << 20);
    for n in 0..100 {
        conn.io.inbound.extend(ping(&n.to_string()).to_bytes());
    }
    let before = conn.io.inbound.len();
    let input = conn.read(Instant::now(), &mut [0u8; 64], 3);
    assert_eq!(input.frames.len(), 3);
    assert!(input.more);
    assert!(
        conn.io.inbound.len() > before - 64,
        "at most one buffer's worth was taken from the transport"
    );
    let mut seen = 3;
    loop {
        let input = conn.read(Instant::now(), &mut [0u8; 64], 10);
        seen += input.frames.len();
        if !input.more {
            break;
        }
    }
    assert_eq!(seen, 100, "every frame comes out, in the end");
    assert!(
        conn.read(Instant::now(), &mut [0u8; 64], 0).more,
        "no room: nothing read"
    );
}

/// A plain socket: a read takes everything waiting, up to the buffer.
#[derive(Default)]
struct Socket {
    inbound: VecDeque<u8>,
    eof: bool,
    reads: usize,
}

impl Transport for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        if self.inbound.is_empty() {
            return if self.eof {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let n = buf.len().min(self.inbound.len());
        for (slot, byte) in buf.iter_mut().zip(self.inbound.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn short_read_drains(&self) -> bool {
        true
    }
}

#[test]
fn a_short_read_of_a_plain_socket_is_the_last_until_the_next_event() {
    let mut conn = Framed::new(Socket::default(), peer(), Instant::now(), 1 << 20);
    conn.io.inbound.extend(ping("1").to_bytes());
    conn.io.inbound.extend(ping("2").to_bytes());
    let input = conn.read(Instant::now(), &mut [0u8; 4096], usize::MAX);
    assert_eq!(
        (input.frames.len(), conn.io.reads),
        (2, 1),
        "no read that only says WouldBlock"
    );
    // A full buffer may have left bytes behind: read on.
    conn.io.reads = 0;
    conn.io.inbound.extend(ping("3").to_bytes());
    let input = conn.read(Instant::now(), &mut [0u8; 8], usize::MAX);
    assert_eq!(input.frames.len(), 1);
    assert!(conn.io.reads >= 3, "{}", conn.io.reads);
    // The peer's last bytes and its end in one edge: without the
    // read-closed note the short read is taken as the last, and the end
    // would wait for an event that never comes ...
    conn.io.reads = 0;
    conn.io.inbound.extend(&ping("4").to_bytes()[..5]);
    conn.io.eof = true;
    let input = conn.read(Instant::now(), &mut [0u8; 4096], usize::MAX);
    assert!(input.end.is_none() && conn.io.reads == 1);
    // ... with it (on_event's, or the worker's master link's), the end is
    // seen in the same read.
    conn.note_read_closed();
    let input = conn.read(Instant::now(), &mut [0u8; 4096], usize::MAX);
    assert!(input.frames.is_empty());
    assert!(matches!(input.end, Some(End::Closed)));
}
