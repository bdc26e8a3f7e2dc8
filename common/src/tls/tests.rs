//! A `Framed<Stream>` on a real loopback socket, driven by a small mio
//! loop, against a blocking rustls client on another thread.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};
use rustls::pki_types::ServerName;

use super::*;
use crate::framed::Framed;
use crate::message::frame;
use crate::{Frame, Instr};

/// A self-signed certificate for "localhost" and a server config on it.
fn server() -> (Arc<ServerConfig>, CertificateDer<'static>) {
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    let cert = params.self_signed(&key).expect("cert");
    let der = cert.der().clone();
    let files = CertFiles {
        chain: vec![der.clone()],
        key: PrivateKeyDer::try_from(key.serialize_der()).expect("key der"),
    };
    (server_config(files, Versions::Tls13).expect("config"), der)
}

/// Accepts one connection from `client` (run on its own thread) and
/// drives it until it sends a frame; answers it with `workerList` and
/// returns the frame, whether the stream was TLS, and its EXPORTER.
fn serve_one<F>(tls: Option<Arc<ServerConfig>>, client: F) -> (Frame, bool, Option<String>, String)
where
    F: FnOnce(std::net::TcpStream) -> String + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let thread = std::thread::spawn(move || {
        let sock = std::net::TcpStream::connect(addr).expect("connect");
        sock.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        client(sock)
    });
    let (sock, peer) = listener.accept().expect("accept");
    sock.set_nonblocking(true).expect("nonblocking");
    let stream = Stream::accepted(TcpStream::from_std(sock), tls);
    let mut framed = Framed::new(stream, peer, Instant::now(), 1 << 20);
    let mut poll = Poll::new().expect("poll");
    framed
        .register(poll.registry(), Token(0))
        .expect("register");
    let mut events = Events::with_capacity(8);
    let mut buf = vec![0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(5);
    let got = loop {
        assert!(Instant::now() < deadline, "no frame within 5 s");
        poll.poll(&mut events, Some(Duration::from_millis(50)))
            .expect("poll");
        let input = framed.read(Instant::now(), &mut buf, 8);
        assert!(input.end.is_none(), "ended: {:?}", input.end);
        framed.flush(0).expect("flush");
        framed.update_interest(poll.registry()).expect("interest");
        if let Some(f) = input.frames.into_iter().next() {
            break f;
        }
    };
    let exporter = framed.transport().exporter();
    let is_tls = framed.transport().is_tls();
    framed.send(&frame(Instr::WorkerList, &["a:1"]));
    framed.close_when_flushed();
    while let Ok(()) = framed.flush(0) {
        poll.poll(&mut events, Some(Duration::from_millis(50)))
            .expect("poll");
    }
    let client_said = thread.join().expect("client thread");
    (got, is_tls, exporter, client_said)
}

/// What a client reads until the end, as text.
fn read_all(mut r: impl Read) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => panic!("client read: {e}"),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_plain_first_byte_is_a_plain_stream_even_with_tls_on() {
    let (tls, _) = server();
    let (got, is_tls, exporter, answer) = serve_one(Some(tls), |mut sock| {
        let req = frame::<&str>(Instr::GetWorkerList, &[]);
        sock.write_all(&req.to_bytes()).expect("write");
        read_all(sock)
    });
    assert_eq!(got.instruction, Instr::GetWorkerList.code());
    assert!(!is_tls);
    assert_eq!(exporter, None);
    assert!(answer.ends_with("a:1"), "{answer:?}");
}

#[test]
fn a_tls_first_byte_is_tls_and_both_ends_export_the_same_key() {
    let (tls, _) = server();
    let (got, is_tls, exporter, client_exporter) = serve_one(Some(tls), |mut sock| {
        let name = ServerName::try_from("ptmasterd").expect("name");
        let mut conn = ClientConnection::new(link_client_config(), name).expect("client");
        let mut tls = rustls::Stream::new(&mut conn, &mut sock);
        let req = frame::<&str>(Instr::GetWorkerList, &[]);
        tls.write_all(&req.to_bytes()).expect("write");
        let answer = read_all(&mut tls);
        assert!(answer.ends_with("a:1"), "{answer:?}");
        let key = conn
            .export_keying_material([0u8; 32], EXPORTER_LABEL, None)
            .expect("exporter");
        crate::value::hex(&key)
    });
    assert_eq!(got.instruction, Instr::GetWorkerList.code());
    assert!(is_tls);
    let exporter = exporter.expect("exporter after the handshake");
    assert_eq!(exporter.len(), 64);
    assert_eq!(exporter, client_exporter);
    assert_eq!(exporter, exporter.to_ascii_lowercase());
}

#[test]
fn without_a_tls_config_a_handshake_byte_is_a_bad_frame() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut client =
        std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (sock, peer) = listener.accept().expect("accept");
    client.write_all(&[TLS_HANDSHAKE; 16]).expect("write");
    std::thread::sleep(Duration::from_millis(50));
    sock.set_nonblocking(true).expect("nonblocking");
    let stream = Stream::accepted(TcpStream::from_std(sock), None);
    let mut framed = Framed::new(stream, peer, Instant::now(), 1 << 20);
    let input = framed.read(Instant::now(), &mut [0u8; 64], 8);
    assert!(framed.transport().is_plain());
    assert!(matches!(input.end, Some(crate::framed::End::Malformed(_))));
}

#[test]
fn garbage_after_a_client_hello_ends_the_connection() {
    let (tls, _) = server();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut client =
        std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (sock, peer) = listener.accept().expect("accept");
    // A real ClientHello, then bytes that are no TLS record.
    let name = ServerName::try_from("ptmasterd").expect("name");
    let mut conn = ClientConnection::new(link_client_config(), name).expect("client");
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).expect("hello");
    hello.extend_from_slice(&[0xff; 64]);
    client.write_all(&hello).expect("write");
    std::thread::sleep(Duration::from_millis(50));
    sock.set_nonblocking(true).expect("nonblocking");
    let stream = Stream::accepted(TcpStream::from_std(sock), Some(tls));
    let mut framed = Framed::new(stream, peer, Instant::now(), 1 << 20);
    let input = framed.read(Instant::now(), &mut [0u8; 4096], 8);
    assert!(framed.transport().is_tls());
    match input.end {
        Some(crate::framed::End::Failed(err)) => {
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
            assert!(err.to_string().starts_with("TLS: "), "{err}");
        }
        other => panic!("expected a TLS failure, got {other:?}"),
    }
}

#[test]
fn a_handshake_cut_short_runs_the_stalled_frame_clock() {
    let (tls, _) = server();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut client =
        std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (sock, peer) = listener.accept().expect("accept");
    let name = ServerName::try_from("ptmasterd").expect("name");
    let mut conn = ClientConnection::new(link_client_config(), name).expect("client");
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).expect("hello");
    client.write_all(&hello[..hello.len() / 2]).expect("write");
    std::thread::sleep(Duration::from_millis(50));
    sock.set_nonblocking(true).expect("nonblocking");
    let stream = Stream::accepted(TcpStream::from_std(sock), Some(tls));
    let start = Instant::now();
    let mut framed = Framed::new(stream, peer, start, 1 << 20);
    let input = framed.read(start, &mut [0u8; 4096], 8);
    assert!(input.end.is_none() && input.frames.is_empty());
    let limit = Duration::from_secs(30);
    assert!(!framed.stalled(start, limit));
    assert!(
        framed.stalled(start + limit, limit),
        "half a ClientHello stalls"
    );
}
