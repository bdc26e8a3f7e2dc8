//! A blocking WebSocket peer of the web port (`papertrader-protocol(7)`
//! section 12), written out by hand so that tests can send what no
//! library would: text, two frames in one message, half a frame, a 16 MiB
//! header. Frames it sends are masked as a browser masks them.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use papertrader_common::Frame;
use rustls::pki_types::ServerName;

pub const TEXT: u8 = 1;
pub const BINARY: u8 = 2;
pub const CLOSE: u8 = 8;
pub const PING: u8 = 9;
pub const PONG: u8 = 10;

pub trait Io: Read + Write + Send {}
impl<T: Read + Write + Send> Io for T {}

pub struct WsPeer {
    io: Box<dyn Io>,
    /// The TCP socket below, for timeouts.
    pub tcp: TcpStream,
    input: Vec<u8>,
}

/// The upgrade request for `/ws` with `origin` and `extra` headers.
pub fn upgrade_request(addr: SocketAddr, origin: Option<&str>, extra: &str) -> String {
    let origin = origin
        .map(|o| format!("Origin: {o}\r\n"))
        .unwrap_or_default();
    format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: papertrader.v1\r\n{origin}{extra}\r\n"
    )
}

impl WsPeer {
    /// Opens `/ws` with no Origin (not a browser); panics if refused.
    pub fn connect(addr: SocketAddr) -> WsPeer {
        WsPeer::open(addr, None).unwrap_or_else(|answer| panic!("upgrade refused:\n{answer}"))
    }

    /// Opens `/ws` as a page of `origin` would; Err holds the refusal.
    pub fn open(addr: SocketAddr, origin: Option<&str>) -> Result<WsPeer, String> {
        let tcp = TcpStream::connect(addr).expect("connect to the web port");
        let io: Box<dyn Io> = Box::new(tcp.try_clone().expect("clone"));
        WsPeer::handshake(io, tcp, &upgrade_request(addr, origin, ""))
    }

    /// Opens `/ws` over TLS (WSS), checking the certificate with `config`.
    pub fn open_tls(
        addr: SocketAddr,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
    ) -> Result<WsPeer, String> {
        let tcp = TcpStream::connect(addr).expect("connect to the web port");
        let conn = rustls::ClientConnection::new(config, name).expect("TLS client");
        let io: Box<dyn Io> = Box::new(rustls::StreamOwned::new(
            conn,
            tcp.try_clone().expect("clone"),
        ));
        WsPeer::handshake(io, tcp, &upgrade_request(addr, None, ""))
    }

    /// Opens the trading stream `/stream` as a bot does: no Origin, no
    /// subprotocol.
    pub fn open_stream(addr: SocketAddr) -> Result<WsPeer, String> {
        let tcp = TcpStream::connect(addr).expect("connect to the web port");
        let io: Box<dyn Io> = Box::new(tcp.try_clone().expect("clone"));
        let request = format!(
            "GET /stream HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        WsPeer::handshake_as(io, tcp, &request, false)
    }

    /// Sends `request` and reads the answer's head: Ok after a 101.
    pub fn handshake(io: Box<dyn Io>, tcp: TcpStream, request: &str) -> Result<WsPeer, String> {
        WsPeer::handshake_as(io, tcp, request, true)
    }

    /// [`WsPeer::handshake`]; `protocol`: the 101 must name
    /// `papertrader.v1`, else must name none.
    pub fn handshake_as(
        mut io: Box<dyn Io>,
        tcp: TcpStream,
        request: &str,
        protocol: bool,
    ) -> Result<WsPeer, String> {
        tcp.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        io.write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut input = Vec::new();
        let mut buf = [0u8; 4096];
        let end = loop {
            if let Some(p) = input.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            match io.read(&mut buf) {
                Ok(0) | Err(_) => return Err(String::from_utf8_lossy(&input).into_owned()),
                Ok(n) => input.extend_from_slice(&buf[..n]),
            }
        };
        let head = String::from_utf8_lossy(&input[..end]).into_owned();
        if !head.starts_with("HTTP/1.1 101 ") {
            let mut rest = input;
            let _ = io.read_to_end(&mut rest);
            return Err(String::from_utf8_lossy(&rest).into_owned());
        }
        assert!(
            head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            "{head}"
        );
        assert_eq!(
            head.contains("Sec-WebSocket-Protocol: papertrader.v1\r\n"),
            protocol,
            "{head}"
        );
        input.drain(..end);
        Ok(WsPeer { io, tcp, input })
    }

    /// Sends one whole message of `opcode`, masked.
    pub fn send_message(&mut self, opcode: u8, payload: &[u8]) {
        let mut bytes = message_head(opcode, payload.len() as u64, true);
        bytes.extend(mask(payload));
        self.send_raw(&bytes);
    }

    /// Sends `frame` as one binary message.
    pub fn send(&mut self, frame: &Frame) {
        self.send_message(BINARY, &frame.to_bytes());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.try_send_raw(bytes).expect("write to the web port");
    }

    pub fn try_send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.io.write_all(bytes)?;
        self.io.flush()
    }

    /// The next message within `limit`: (opcode, payload); None on
    /// timeout, end of stream or reset.
    pub fn try_recv_message(&mut self, limit: Duration) -> Option<(u8, Vec<u8>)> {
        let deadline = Instant::now() + limit;
        let mut buf = [0u8; 16 * 1024];
        loop {
            if let Some((opcode, payload, used)) = parse_message(&self.input) {
                self.input.drain(..used);
                return Some((opcode, payload));
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            self.tcp
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("timeout");
            match self.io.read(&mut buf) {
                Ok(0) => return None,
                Ok(n) => self.input.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return None;
                }
                Err(_) => return None,
            }
        }
    }

    /// The next frame: one binary message holding exactly one frame.
    pub fn try_recv(&mut self, limit: Duration) -> Option<Frame> {
        let (opcode, payload) = self.try_recv_message(limit)?;
        assert_eq!(opcode, BINARY, "the worker sends frames in binary messages");
        let (frame, used) = papertrader_common::frame::decode(&payload)
            .expect("a valid frame")
            .expect("a whole frame");
        assert_eq!(used, payload.len(), "one frame per message");
        Some(frame)
    }

    /// The next frame, without touching the socket's timeout (set to
    /// 10 s by the handshake): the benchmark's fast path.
    pub fn recv_quick(&mut self) -> Frame {
        let mut buf = [0u8; 4096];
        loop {
            if let Some((opcode, payload, used)) = parse_message(&self.input) {
                self.input.drain(..used);
                assert_eq!(opcode, BINARY);
                let (frame, _) = papertrader_common::frame::decode(&payload)
                    .expect("a valid frame")
                    .expect("a whole frame");
                return frame;
            }
            let n = self.io.read(&mut buf).expect("read from the web port");
            assert!(n > 0, "the worker closed");
            self.input.extend_from_slice(&buf[..n]);
        }
    }

    pub fn recv(&mut self) -> Frame {
        self.try_recv(Duration::from_secs(10))
            .expect("a frame from the worker within 10 s")
    }

    /// The status of the close the worker sends within `limit`, skipping
    /// other messages; None if none comes.
    pub fn close_code(&mut self, limit: Duration) -> Option<u16> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let (opcode, payload) = self.try_recv_message(left)?;
            if opcode == CLOSE {
                return payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
            }
        }
    }

    /// True if the stream ends within `limit`.
    pub fn closed_within(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut buf = [0u8; 4096];
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            self.tcp
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("timeout");
            match self.io.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return false;
                }
                Err(_) => return true,
            }
        }
        false
    }
}

/// A message header of `len` payload bytes (FIN set), with a mask key
/// when `masked` (the key is fixed: tests need no secrecy).
pub fn message_head(opcode: u8, len: u64, masked: bool) -> Vec<u8> {
    let mut head = vec![0x80 | opcode];
    let bit = if masked { 0x80 } else { 0 };
    match len {
        0..=125 => head.push(bit | len as u8),
        126..=0xffff => {
            head.push(bit | 126);
            head.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            head.push(bit | 127);
            head.extend_from_slice(&len.to_be_bytes());
        }
    }
    if masked {
        head.extend_from_slice(&MASK);
    }
    head
}

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// `payload` masked with [`MASK`].
pub fn mask(payload: &[u8]) -> Vec<u8> {
    payload
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ MASK[i % 4])
        .collect()
}

/// An unmasked message from the server at the start of `buf`.
fn parse_message(buf: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    let (b0, b1) = (*buf.first()?, *buf.get(1)?);
    assert_eq!(b1 & 0x80, 0, "a server never masks");
    assert_ne!(b0 & 0x80, 0, "the worker never fragments");
    let (len, at) = match b1 & 0x7f {
        126 => (
            u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    let payload = buf.get(at..at + len)?.to_vec();
    Some((b0 & 0x0f, payload, at + len))
}

/// Sends raw bytes to the web port and returns everything it answers
/// until it closes or `limit` passes.
pub fn http_exchange(addr: SocketAddr, request: &[u8], limit: Duration) -> Vec<u8> {
    let mut tcp = TcpStream::connect(addr).expect("connect to the web port");
    tcp.write_all(request).expect("send the request");
    read_until_quiet(&mut tcp, limit)
}

/// What `tcp` receives until it closes or `limit` passes.
pub fn read_until_quiet(tcp: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        tcp.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .expect("timeout");
        match tcp.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    out
}
