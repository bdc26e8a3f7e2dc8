//! The web port end to end (`papertrader-protocol(7)` section 12,
//! ptworkerd.conf(5) `web_listen`): the embedded app over HTTP (types,
//! ETag and 304, gzip, HEAD), the protocol over WebSocket at `/ws` answered
//! exactly as on the client port, and the hostile cases: text, two frames
//! or half a frame in a message, a 16 MiB message, a foreign Origin, a
//! client that never reads; oversized heads, slowloris, pipelining, bad
//! methods, path traversal, non-UTF-8 request lines. After each the worker
//! still answers, and its memory stays bounded. Also HTTPS and WSS with
//! the client port's certificate.

mod util;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use papertrader_common::message::frame;
use papertrader_common::{Frame, Instr};
use util::certs::{TestCa, loopback_name};
use util::daemon::TempDir;
use util::master::hashed_pass;
use util::system::{System, free_port};
use util::wire::{instr, words};
use util::ws::{self, BINARY, TEXT, WsPeer, http_exchange};

/// A system whose worker serves the web port; returns it and the port's
/// address.
fn web_system(tag: &str, extra: &str) -> (System, SocketAddr) {
    let web: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let system = System::start(tag, "", &format!("web_listen = {web}\n{extra}"));
    (system, web)
}

fn get(web: SocketAddr, path: &str, headers: &str) -> (String, Vec<u8>) {
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {web}\r\n{headers}Connection: close\r\n\r\n");
    split(&http_exchange(
        web,
        request.as_bytes(),
        Duration::from_secs(5),
    ))
}

/// (head, body) of one answer.
fn split(answer: &[u8]) -> (String, Vec<u8>) {
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |p| p + 4);
    (
        String::from_utf8_lossy(&answer[..end]).into_owned(),
        answer[end..].to_vec(),
    )
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The worker still answers a new WebSocket client.
fn still_serves(web: SocketAddr) {
    let mut peer = WsPeer::connect(web);
    peer.send(&frame::<&str>(Instr::GetWorkerList, &[]));
    assert_eq!(instr(&peer.recv()), Instr::WorkerList);
}

fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn the_app_is_served_with_types_etags_and_gzip() {
    let (_system, web) = web_system("web-http", "");
    let (head, body) = get(web, "/", "");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(
        header(&head, "Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert!(String::from_utf8_lossy(&body).contains("<title>PaperTrader"));
    assert_eq!(header(&head, "Cache-Control"), Some("no-cache"));
    assert!(header(&head, "Content-Security-Policy").is_some());
    let etag = header(&head, "ETag").expect("an ETag").to_string();

    let (head, body) = get(web, "/", &format!("If-None-Match: {etag}\r\n"));
    assert!(head.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{head}");
    assert!(body.is_empty());

    let (plain_head, plain) = get(web, "/js/codec.js", "");
    assert_eq!(
        header(&plain_head, "Content-Type"),
        Some("text/javascript; charset=utf-8")
    );
    let (gz_head, gz) = get(web, "/js/codec.js", "Accept-Encoding: gzip, br\r\n");
    assert_eq!(
        header(&gz_head, "Content-Encoding"),
        Some("gzip"),
        "{gz_head}"
    );
    assert!(gz.len() < plain.len() && gz.starts_with(&[0x1f, 0x8b]));
    let (q0_head, _) = get(web, "/js/codec.js", "Accept-Encoding: gzip;q=0\r\n");
    assert_eq!(header(&q0_head, "Content-Encoding"), None);

    let request = format!("HEAD /js/codec.js HTTP/1.1\r\nHost: {web}\r\nConnection: close\r\n\r\n");
    let (head, body) = split(&http_exchange(
        web,
        request.as_bytes(),
        Duration::from_secs(5),
    ));
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(
        header(&head, "Content-Length"),
        Some(plain.len().to_string().as_str())
    );
    assert!(body.is_empty(), "HEAD has no body");

    // No web_providers_file: an empty list, and the strict policy.
    let (head, body) = get(web, "/providers.json", "");
    assert_eq!(header(&head, "Content-Type"), Some("application/json"));
    assert_eq!(body, b"{\"providers\":[]}\n");
    let csp = header(&head, "Content-Security-Policy").expect("a CSP");
    assert!(csp.contains("connect-src 'self';"), "{csp}");
}

#[test]
fn web_providers_are_served_and_their_issuers_allowed_by_the_csp() {
    let dir = TempDir::new("web-providers-list");
    let list = dir.join("web.providers");
    std::fs::write(
        &list,
        "# NAME ISSUER CLIENT_ID\nlocal http://127.0.0.1:5556/dex papertrader\n\
         kc https://ID.example.org/realms/pt pt-web\n",
    )
    .expect("list");
    let extra = format!("web_providers_file = {}\n", list.display());
    let (_system, web) = web_system("web-providers", &extra);
    let (head, body) = get(web, "/providers.json", "Accept-Encoding: gzip\r\n");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(header(&head, "Content-Type"), Some("application/json"));
    assert_eq!(header(&head, "Content-Encoding"), None);
    assert_eq!(
        String::from_utf8_lossy(&body),
        "{\"providers\":[{\"name\":\"local\",\"issuer\":\"http://127.0.0.1:5556/dex\",\
         \"client_id\":\"papertrader\"},{\"name\":\"kc\",\
         \"issuer\":\"https://ID.example.org/realms/pt\",\"client_id\":\"pt-web\"}]}\n"
    );
    let etag = header(&head, "ETag").expect("an ETag").to_string();
    let (head, body) = get(
        web,
        "/providers.json",
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert!(head.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{head}");
    assert!(body.is_empty());
    let (head, _) = get(web, "/", "");
    let csp = header(&head, "Content-Security-Policy").expect("a CSP");
    assert!(
        csp.contains("connect-src 'self' http://127.0.0.1:5556 https://id.example.org;"),
        "{csp}"
    );
    // The worker's own error answers keep the strict policy.
    let (head, _) = get(web, "/nothing-here", "");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let csp = header(&head, "Content-Security-Policy").expect("a CSP");
    assert!(csp.contains("connect-src 'self';"), "{csp}");
}

#[test]
fn a_bad_web_providers_file_stops_the_worker_with_78() {
    let dir = TempDir::new("web-providers-bad");
    let list = dir.join("web.providers");
    let conf = dir.join("ptworkerd.conf");
    std::fs::write(
        &conf,
        format!(
            "web_listen = 127.0.0.1:0\nweb_providers_file = {}\n",
            list.display()
        ),
    )
    .expect("conf");
    let long = "# padding ".repeat(30_000);
    let cases: [(&[u8], &str); 5] = [
        (b"local https://a.example \xff\xfe\n", "not UTF-8 (byte 24)"),
        (long.as_bytes(), "longer than 262144 bytes"),
        (
            b"Bad/Name https://a.example x\n",
            ":1: provider \"Bad/Name\"",
        ),
        (b"local http://evil.example x\n", ":1: issuer"),
        (
            b"local https://a.example x\nlocal https://b.example y\n",
            "listed twice",
        ),
    ];
    for (content, expect) in cases {
        std::fs::write(&list, content).expect("list");
        let out = util::run(
            "ptworkerd",
            &["-n", "-c", conf.to_str().expect("path")],
            b"",
        );
        let err = util::stderr(&out);
        assert_eq!(out.status.code(), Some(78), "{expect}: {err}");
        assert!(err.contains(expect), "{expect}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
    std::fs::remove_file(&list).expect("remove");
    let out = util::run(
        "ptworkerd",
        &["-n", "-c", conf.to_str().expect("path")],
        b"",
    );
    assert_eq!(out.status.code(), Some(78));
    assert!(util::stderr(&out).contains("cannot read"));
}

#[test]
fn hostile_http_requests_are_refused_and_the_worker_stays_up() {
    let (_system, web) = web_system("web-hostile-http", "frame_timeout = 2s\n");
    let limit = Duration::from_secs(5);
    let status = |answer: &[u8]| {
        String::from_utf8_lossy(answer)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    };

    // Every method but GET and HEAD: 404 (section 12).
    for method in ["POST", "PUT", "DELETE", "OPTIONS", "BREW", "TRACE"] {
        let req = format!(
            "{method} / HTTP/1.1\r\nHost: {web}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(
            status(&http_exchange(web, req.as_bytes(), limit)),
            "HTTP/1.1 404 Not Found",
            "{method}"
        );
    }
    // Path traversal, plain and encoded: nothing but the embedded files.
    for path in [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/..%2f..%2fetc/passwd",
        "//etc/passwd",
        "/js/../../Cargo.toml",
        "/index.html/..",
        "/%00",
        "/vendor/../../../etc/shadow",
    ] {
        let (head, _) = get(web, path, "");
        assert!(head.starts_with("HTTP/1.1 404 "), "{path}: {head}");
    }
    // Not UTF-8 in the request line, and control bytes: 400, closed.
    for line in [
        &b"GET /\xff\xfe HTTP/1.1\r\n\r\n"[..],
        b"G\x01T / HTTP/1.1\r\n\r\n",
        b"\x00\x00\x00\r\n\r\n",
    ] {
        let answer = http_exchange(web, line, limit);
        assert_eq!(status(&answer), "HTTP/1.1 400 Bad Request");
    }
    // An oversized head: 431, closed.
    let big = format!(
        "GET / HTTP/1.1\r\nHost: {web}\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    assert_eq!(
        status(&http_exchange(web, big.as_bytes(), limit)),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    let many: String = (0..100).map(|i| format!("X-{i}: y\r\n")).collect();
    let many = format!("GET / HTTP/1.1\r\nHost: {web}\r\n{many}\r\n");
    assert!(status(&http_exchange(web, many.as_bytes(), limit)).starts_with("HTTP/1.1 431"));

    // Pipelined requests: answered in order on one connection.
    let pipelined = format!(
        "GET /js/codec.js HTTP/1.1\r\nHost: {web}\r\n\r\nHEAD / HTTP/1.1\r\nHost: {web}\r\n\r\n\
         GET /nothing HTTP/1.1\r\nHost: {web}\r\nConnection: close\r\n\r\n"
    );
    let answer =
        String::from_utf8_lossy(&http_exchange(web, pipelined.as_bytes(), limit)).into_owned();
    let statuses: Vec<&str> = answer
        .lines()
        .filter(|l| l.starts_with("HTTP/1.1 "))
        .collect();
    assert_eq!(
        statuses,
        [
            "HTTP/1.1 200 OK",
            "HTTP/1.1 200 OK",
            "HTTP/1.1 404 Not Found"
        ],
        "{answer}"
    );
    // A thousand pipelined requests, read only at the end.
    let mut tcp = TcpStream::connect(web).expect("connect");
    let one = format!("GET /js/codec.js HTTP/1.1\r\nHost: {web}\r\n\r\n");
    let mut burst = one.repeat(999);
    burst.push_str(&format!(
        "GET / HTTP/1.1\r\nHost: {web}\r\nConnection: close\r\n\r\n"
    ));
    let writer = {
        let mut tcp = tcp.try_clone().expect("clone");
        std::thread::spawn(move || {
            let _ = tcp.write_all(burst.as_bytes());
        })
    };
    let answer = ws::read_until_quiet(&mut tcp, Duration::from_secs(20));
    writer.join().expect("writer");
    let oks = answer
        .windows(15)
        .filter(|w| w == b"HTTP/1.1 200 OK")
        .count();
    assert_eq!(oks, 1000, "every pipelined request answered");

    // Slowloris: a head that never ends is cut at frame_timeout (2 s).
    let mut slow = TcpStream::connect(web).expect("connect");
    let start = Instant::now();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(300));
        if slow.write_all(b"X-Slow: 1\r\n").is_err() {
            break;
        }
    }
    let rest = ws::read_until_quiet(&mut slow, Duration::from_secs(8));
    assert!(rest.is_empty(), "nothing answered to an unfinished head");
    assert!(
        start.elapsed() < Duration::from_secs(9),
        "closed by the stall timer"
    );
    still_serves(web);
}

/// Registers and logs in `user` over `peer`; the session.
fn login_ws(peer: &mut WsPeer, user: &str) -> String {
    let pass = hashed_pass(user, "pw");
    peer.send(&frame(
        Instr::Register,
        &[user, &format!("{user}@example.com"), &pass],
    ));
    assert_eq!(instr(&peer.recv()), Instr::RegisterSuccess);
    peer.send(&frame(Instr::Login, &[user, &pass, "false"]));
    let answer = peer.recv();
    assert_eq!(instr(&answer), Instr::SessionId, "{:?}", words(&answer));
    words(&answer)[0].clone()
}

#[test]
fn websocket_clients_speak_the_protocol_as_tcp_clients_do() {
    let (system, web) = web_system("web-ws", "");
    let mut peer = WsPeer::connect(web);
    let session = login_ws(&mut peer, "wsuser");
    peer.send(&frame(Instr::SwitchState, &[session.as_str(), "data"]));
    assert_eq!(instr(&peer.recv()), Instr::StateSwitchSuccess);
    // A data transfer: each packet its own message.
    peer.send(&frame::<&str>(Instr::GetAssetList, &[]));
    let first = peer.recv();
    assert_eq!(instr(&first), Instr::Data);
    assert!(first.data_message_max >= 1);
    for _ in 1..first.data_message_max {
        assert_eq!(instr(&peer.recv()), Instr::Data);
    }
    // The same session works on the client port: one system, two transports.
    let mut tcp = system.client();
    let (i, _) = util::system::call(&mut tcp, Instr::SwitchState, &[&session, "data"]);
    assert_eq!(i, Instr::StateSwitchSuccess);
    // Pipelined requests come back in order; a ping is answered.
    for _ in 0..100 {
        peer.send(&frame::<&str>(Instr::GetWorkerList, &[]));
    }
    peer.send_message(ws::PING, b"hi");
    let mut seen = 0;
    while seen < 100 {
        let (opcode, payload) = peer
            .try_recv_message(Duration::from_secs(10))
            .expect("answers");
        if opcode == ws::PONG {
            assert_eq!(payload, b"hi");
            continue;
        }
        assert_eq!(opcode, BINARY);
        seen += 1;
    }
    // A close is answered with a close.
    peer.send_message(ws::CLOSE, &1000u16.to_be_bytes());
    assert_eq!(peer.close_code(Duration::from_secs(5)), Some(1000));
}

/// Opens `/ws`, sends `bytes`, and expects `protocolError` then close 1002.
fn refused_with_1002(web: SocketAddr, what: &str, send: impl FnOnce(&mut WsPeer)) {
    let mut peer = WsPeer::connect(web);
    send(&mut peer);
    let answer = peer
        .try_recv(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("{what}: no answer"));
    assert_eq!(instr(&answer), Instr::ProtocolError, "{what}");
    assert!(
        words(&answer)[0].starts_with("protocol"),
        "{what}: {:?}",
        words(&answer)
    );
    assert_eq!(
        peer.close_code(Duration::from_secs(5)),
        Some(1002),
        "{what}"
    );
    assert!(peer.closed_within(Duration::from_secs(5)), "{what}: closed");
}

#[test]
fn hostile_websocket_messages_are_closed_with_1002() {
    let (system, web) = web_system("web-ws-hostile", "max_output = 65552\n");
    let getlist = frame::<&str>(Instr::GetWorkerList, &[]).to_bytes();
    refused_with_1002(web, "text", |p| p.send_message(TEXT, b"getWorkerList"));
    refused_with_1002(web, "two frames", |p| {
        p.send_message(BINARY, &[getlist.clone(), getlist.clone()].concat())
    });
    refused_with_1002(web, "half a frame", |p| {
        p.send_message(BINARY, &getlist[..10])
    });
    let mut long = frame(Instr::Login, &["a", "b", "false"]).to_bytes();
    long.truncate(long.len() - 3);
    refused_with_1002(web, "a frame cut short", |p| p.send_message(BINARY, &long));
    refused_with_1002(web, "a bad header", |p| p.send_message(BINARY, &[9u8; 16]));
    refused_with_1002(web, "an unmasked message", |p| {
        let mut bytes = ws::message_head(BINARY, getlist.len() as u64, false);
        bytes.extend_from_slice(&getlist);
        p.send_raw(&bytes);
    });
    // 16 MiB announced: refused from the header, before the bytes come.
    let before = rss_kib(system.worker.pid());
    refused_with_1002(web, "16 MiB", |p| {
        let mut bytes = ws::message_head(BINARY, 16 << 20, true);
        bytes.extend(ws::mask(&vec![1u8; 1024]));
        p.send_raw(&bytes);
    });
    // Frames before a bad message are answered first.
    refused_with_1002(web, "good then text", |p| {
        p.send_message(BINARY, &getlist);
        assert_eq!(instr(&p.recv()), Instr::WorkerList);
        p.send_message(TEXT, b"x");
    });

    // A foreign Origin is refused before any upgrade; the own one and no
    // Origin (not a browser) are taken.
    let refusal = WsPeer::open(web, Some("http://evil.example"))
        .err()
        .expect("refused");
    assert!(refusal.starts_with("HTTP/1.1 403 Forbidden"), "{refusal}");
    assert!(WsPeer::open(web, Some(&format!("http://{web}"))).is_ok());
    assert!(WsPeer::open(web, Some("null")).is_err());
    // No subprotocol, or another WebSocket version: refused.
    let no_proto = ws::upgrade_request(web, None, "")
        .replace("Sec-WebSocket-Protocol: papertrader.v1\r\n", "");
    let answer = String::from_utf8_lossy(&http_exchange(
        web,
        no_proto.as_bytes(),
        Duration::from_secs(5),
    ))
    .into_owned();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    let v8 = ws::upgrade_request(web, None, "").replace("Version: 13", "Version: 8");
    let answer =
        String::from_utf8_lossy(&http_exchange(web, v8.as_bytes(), Duration::from_secs(5)))
            .into_owned();
    assert!(answer.starts_with("HTTP/1.1 426 "), "{answer}");

    // A client that never reads: dropped at max_output, memory bounded.
    let mut lazy = WsPeer::connect(web);
    let mut message = ws::message_head(BINARY, getlist.len() as u64, true);
    message.extend(ws::mask(&getlist));
    let burst = message.repeat(10_000);
    let start = Instant::now();
    let mut sent = 0usize;
    while lazy.try_send_raw(&burst).is_ok() {
        sent += burst.len();
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "never dropped after {sent} bytes"
        );
    }
    let log = system.worker.stderr_with("not reading its answers");
    assert!(log.contains("not reading its answers"), "{log}");
    let after = rss_kib(system.worker.pid());
    assert!(
        after < before + 64 * 1024,
        "worker RSS grew from {before} KiB to {after} KiB"
    );
    still_serves(web);
}

#[test]
fn a_foreign_origin_may_be_allowed_by_configuration() {
    let (_system, web) = web_system(
        "web-origins",
        "web_allowed_origins = https://trade.example.org\n",
    );
    assert!(WsPeer::open(web, Some("https://trade.example.org")).is_ok());
    assert!(WsPeer::open(web, Some("https://other.example.org")).is_err());
}

#[test]
fn with_client_tls_the_web_port_serves_https_and_wss() {
    let ca = TestCa::new("web-tls");
    let dir = TempDir::new("web-tls-certs");
    let (cert, key, _) = ca.write_leaf(&dir.path, "worker", &["127.0.0.1", "localhost"]);
    let extra = format!(
        "client_tls = required\ntls_cert = {}\ntls_key = {}\n",
        cert.display(),
        key.display()
    );
    let (_system, web) = web_system("web-tls", &extra);
    // Plain HTTP is sent to https:// on the same port.
    let (head, _) = get(web, "/", "");
    assert!(head.starts_with("HTTP/1.1 308 "), "{head}");
    assert_eq!(
        header(&head, "Location"),
        Some(format!("https://{web}/").as_str())
    );
    // WSS with the same certificate, checked against the CA.
    let mut peer = WsPeer::open_tls(web, ca.client_config(), loopback_name(web)).expect("WSS");
    peer.send(&frame::<&str>(Instr::GetWorkerList, &[]));
    assert_eq!(instr(&peer.recv()), Instr::WorkerList);
    peer.send_message(TEXT, b"nope");
    assert_eq!(instr(&peer.recv()), Instr::ProtocolError);
    assert_eq!(peer.close_code(Duration::from_secs(5)), Some(1002));
    // The HTTP API over TLS on the same port; plain, it is refused.
    let (head, body) = get(web, "/v2/clock", "");
    assert!(head.starts_with("HTTP/1.1 403 "), "{head}");
    assert!(String::from_utf8_lossy(&body).contains("requires TLS"));
    let conn = rustls::ClientConnection::new(ca.client_config(), loopback_name(web)).expect("TLS");
    let tcp = std::net::TcpStream::connect(web).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let request = format!("GET /v2/clock HTTP/1.1\r\nHost: {web}\r\nConnection: close\r\n\r\n");
    std::io::Write::write_all(&mut tls, request.as_bytes()).expect("write");
    let mut answer = Vec::new();
    let _ = std::io::Read::read_to_end(&mut tls, &mut answer);
    let (head, body) = split(&answer);
    assert!(head.starts_with("HTTP/1.1 401 "), "{head}");
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["code"], 40110000);
}

#[test]
fn a_frame_like_the_vectors_round_trips_over_websocket() {
    // Every vector that is a request decodes on the worker's side exactly
    // as on TCP: answered, not refused as malformed.
    let (_system, web) = web_system("web-vectors", "");
    let mut peer = WsPeer::connect(web);
    for (name, bytes) in util::vectors() {
        let Ok(Some((f, used))) = papertrader_common::frame::decode(&bytes) else {
            panic!("{name}: a vector that does not decode");
        };
        assert_eq!(used, bytes.len());
        if f.message_type != 1 && f.message_type != 2 {
            continue;
        }
        peer.send_message(BINARY, &bytes);
        let answer: Frame = peer.recv();
        assert_ne!(
            instr(&answer),
            Instr::ProtocolError,
            "{name}: {:?}",
            words(&answer)
        );
        // Drain a transfer.
        for _ in 1..answer.data_message_max {
            peer.recv();
        }
    }
}
