//! A blocking peer speaking frames over TCP, plain or TLS, with timeouts
//! on every read.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use papertrader_common::{Decoder, Frame, Instr, args};
use rustls::pki_types::ServerName;

pub struct Peer {
    /// The socket; bytes written here directly bypass TLS.
    pub stream: TcpStream,
    tls: Option<Box<rustls::ClientConnection>>,
    decoder: Decoder,
}

impl Peer {
    /// A TLS 1.3 connection that accepts any certificate, as a worker's
    /// link does (the GnuPG signatures authenticate the master).
    pub fn connect_tls(addr: SocketAddr) -> Peer {
        let config = papertrader_common::tls::link_client_config();
        let name = ServerName::IpAddress(addr.ip().into());
        Peer::try_connect_tls_with(addr, config, name)
            .unwrap_or_else(|e| panic!("TLS handshake with {addr}: {e}"))
    }

    /// A TLS connection to `addr` checked as `name`, its handshake done.
    pub fn try_connect_tls_with(
        addr: SocketAddr,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
    ) -> std::io::Result<Peer> {
        let mut peer = Peer::connect(addr);
        let mut conn =
            rustls::ClientConnection::new(config, name).map_err(std::io::Error::other)?;
        peer.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        while conn.is_handshaking() {
            conn.complete_io(&mut peer.stream)?;
        }
        // A TLS 1.3 server's verdict on the client comes after the
        // client's Finished: flush it and give a refusal a moment to show.
        while conn.wants_write() {
            conn.write_tls(&mut peer.stream)?;
        }
        peer.tls = Some(Box::new(conn));
        Ok(peer)
    }

    /// EXPORTER of section 7 on this TLS connection.
    pub fn exporter(&self) -> String {
        let conn = self.tls.as_ref().expect("a TLS peer");
        let key = conn
            .export_keying_material([0u8; 32], papertrader_common::tls::EXPORTER_LABEL, None)
            .expect("exporter after the handshake");
        papertrader_common::value::hex(&key)
    }

    /// The TLS connection, for what only it knows.
    pub fn tls(&self) -> Option<&rustls::ClientConnection> {
        self.tls.as_deref()
    }

    /// Writes bytes through TLS (when the peer is TLS); the error of a
    /// daemon that stopped reading or closed.
    pub fn try_send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match &mut self.tls {
            Some(conn) => rustls::Stream::new(&mut **conn, &mut self.stream).write_all(bytes),
            None => self.stream.write_all(bytes),
        }
    }

    /// Reads through TLS (when the peer is TLS); an end without
    /// close_notify is an end.
    pub fn read_some(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let result = match &mut self.tls {
            Some(conn) => rustls::Stream::new(&mut **conn, &mut self.stream).read(buf),
            None => self.stream.read(buf),
        };
        match result {
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => Ok(0),
            other => other,
        }
    }

    pub fn connect(addr: SocketAddr) -> Peer {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream.set_nodelay(true).expect("nodelay");
        Peer {
            stream,
            tls: None,
            decoder: Decoder::new(),
        }
    }

    /// Connects from the loopback address `from` (127.0.0.2, say), so a
    /// test can be two clients at two addresses.
    pub fn connect_from(from: std::net::Ipv4Addr, addr: SocketAddr) -> Peer {
        use std::os::fd::FromRawFd;
        let SocketAddr::V4(to) = addr else {
            panic!("connect_from takes an IPv4 daemon address");
        };
        let sin = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(ip).to_be(),
            },
            sin_zero: [0; 8],
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        // SAFETY: a fresh socket, bound and connected with valid
        // sockaddr_in values, then owned by the TcpStream.
        let stream = unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let local = sin(from, 0);
            let rc = libc::bind(fd, (&raw const local).cast(), len);
            assert_eq!(rc, 0, "bind {from}: {}", std::io::Error::last_os_error());
            let remote = sin(*to.ip(), to.port());
            let rc = libc::connect(fd, (&raw const remote).cast(), len);
            assert_eq!(rc, 0, "connect {addr}: {}", std::io::Error::last_os_error());
            TcpStream::from_raw_fd(fd)
        };
        stream.set_nodelay(true).expect("nodelay");
        Peer {
            stream,
            tls: None,
            decoder: Decoder::new(),
        }
    }

    pub fn send(&mut self, frame: &Frame) {
        self.send_raw(&frame.to_bytes());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.try_send_raw(bytes).expect("write to daemon");
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
            match self.read_some(&mut buf) {
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
            match self.read_some(&mut buf) {
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
