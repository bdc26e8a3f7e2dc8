//! A blocking peer speaking frames over TCP, with timeouts on every read.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use papertrader_common::{Decoder, Frame, Instr, args};

pub struct Peer {
    pub stream: TcpStream,
    decoder: Decoder,
}

impl Peer {
    pub fn connect(addr: SocketAddr) -> Peer {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream.set_nodelay(true).expect("nodelay");
        Peer {
            stream,
            decoder: Decoder::new(),
        }
    }

    pub fn send(&mut self, frame: &Frame) {
        self.send_raw(&frame.to_bytes());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to daemon");
    }

    /// The next frame within `limit`; None on timeout or end of stream.
    pub fn try_recv(&mut self, limit: Duration) -> Option<Frame> {
        let deadline = Instant::now() + limit;
        let mut buf = [0u8; 16 * 1024];
        loop {
            if let Some(frame) = self
                .decoder
                .next_frame()
                .expect("daemon sent a valid frame")
            {
                return Some(frame);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("timeout");
            match self.stream.read(&mut buf) {
                Ok(0) => return None,
                Ok(n) => self.decoder.push(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return None;
                }
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("read from daemon: {e}"),
            }
        }
    }

    /// The next frame; panics after 10 s.
    pub fn recv(&mut self) -> Frame {
        self.try_recv(Duration::from_secs(10))
            .expect("a frame from the daemon within 10 s")
    }

    /// True if the daemon closes the connection within `limit` (frames
    /// still queued are skipped).
    pub fn closed_within(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut buf = [0u8; 4096];
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("timeout");
            match self.stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
        false
    }
}

/// The instruction of a frame, panicking on an unknown code.
pub fn instr(frame: &Frame) -> Instr {
    Instr::from_code(frame.instruction).expect("known instruction")
}

/// A frame's arguments as owned strings.
pub fn words(frame: &Frame) -> Vec<String> {
    args::split(&frame.data, frame.argument_count)
        .expect("well-formed arguments")
        .iter()
        .map(|s| s.to_string())
        .collect()
}
