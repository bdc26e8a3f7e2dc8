//! TLS on both links (PROTOCOL.md sections 7 and 11) with the real
//! daemons: what a recorder on the master link sees, a party in the middle
//! of it, plain peers where TLS is required, the client port's
//! off/optional/required and certificate reload, and the hostile peers of
//! tests/hostile.rs over TLS.

mod util;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use papertrader_common::message::frame;
use papertrader_common::{Instr, ReasonCode};
use util::certs::{TestCa, loopback_name};
use util::daemon::{Daemon, TempDir};
use util::master::{FAST_ARGON2, MasterSetup, hashed_pass};
use util::system::{System, call, start_worker};
use util::wire::{Peer, instr, words};

fn code_of(args: &[String]) -> ReasonCode {
    let reason = args.last().expect("a reason");
    ReasonCode::parse(reason.split(' ').next().expect("a code")).expect("known code")
}

/// A CSV market of AAPL at 100, one price set a second, so a buy fills
/// within a second or two.
fn market(dir: &TempDir) -> String {
    let mut csv = String::from("Symbol,Date,Time,Open,High,Low,Close,Volume\n");
    for _ in 0..600 {
        csv.push_str("AAPL,2026-11-20,10:00:00,100,100,100,100,1000\n");
    }
    std::fs::write(dir.join("bars.csv"), csv).expect("csv");
    std::fs::write(dir.join("assets.list"), "AAPL Apple Inc.\n").expect("assets");
    format!(
        "price_source = csv\ncsv_file = {}\nassets_file = {}\nupdate_interval = 1s\n",
        dir.join("bars.csv").display(),
        dir.join("assets.list").display()
    )
}

/// Whether the master lists any worker.
fn linked(master: SocketAddr) -> bool {
    let mut peer = Peer::connect(master);
    peer.send(&frame::<&str>(Instr::GetWorkerList, &[]));
    peer.try_recv(Duration::from_secs(2))
        .is_some_and(|list| !words(&list).is_empty())
}

fn wait_linked(master: SocketAddr, worker: &Daemon) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !linked(master) {
        assert!(
            Instant::now() < deadline,
            "worker did not link; stderr:\n{}",
            worker.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A TCP relay that records every byte it carries, both ways.
struct Recorder {
    addr: SocketAddr,
    captured: Arc<Mutex<Vec<u8>>>,
}

impl Recorder {
    fn start(upstream: SocketAddr) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let captured = Arc::new(Mutex::new(Vec::new()));
        let record = captured.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(down) = conn else { return };
                let Ok(up) = TcpStream::connect(upstream) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (
                        down.try_clone().expect("clone"),
                        up.try_clone().expect("clone"),
                    ),
                    (up, down),
                ] {
                    let record = record.clone();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                            record.lock().expect("lock").extend_from_slice(&buf[..n]);
                        }
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    });
                }
            }
        });
        Recorder { addr, captured }
    }

    fn bytes(&self) -> Vec<u8> {
        self.captured.lock().expect("lock").clone()
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[test]
fn a_recorder_on_the_master_link_sees_no_credentials() {
    let setup = MasterSetup::new("tlsrec");
    let master = setup.start(&format!("{FAST_ARGON2}{}", market(&setup.dir)));
    let recorder = Recorder::start(master.addr);
    let worker = start_worker(&setup, recorder.addr, "");
    wait_linked(master.addr, &worker);

    let mut c = Peer::connect(worker.addr);
    let (user, email) = ("zebediah", "zebediah.secret@example.com");
    let pass = hashed_pass(user, "pw");
    let (i, a) = call(&mut c, Instr::Register, &[user, email, &pass]);
    assert_eq!(i, Instr::RegisterSuccess, "{a:?}");
    let (i, a) = call(&mut c, Instr::Login, &[user, &pass, "false"]);
    assert_eq!(i, Instr::SessionId, "{a:?}");
    let session = a[0].clone();
    let (i, a) = call(&mut c, Instr::PurchaseAsset, &[&session, "AAPL", "3"]);
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");

    let bytes = recorder.bytes();
    assert!(bytes.len() > 1000, "the link carried the requests");
    assert_eq!(bytes[0], 0x16, "the link starts with a TLS handshake");
    for secret in [pass.as_str(), session.as_str(), email, user, "AAPL"] {
        assert!(
            !contains(&bytes, secret),
            "{secret} crossed the link in clear"
        );
    }
}

/// A party in the middle that terminates TLS with its own certificate on
/// both sides and relays the frames between them. Counts the bytes it
/// relays from the worker to the master after the worker's first frame.
struct Middle {
    addr: SocketAddr,
    sessions: Arc<AtomicUsize>,
}

impl Middle {
    fn start(upstream: SocketAddr) -> Middle {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let sessions = Arc::new(AtomicUsize::new(0));
        let count = sessions.clone();
        let ca = TestCa::new("mallory");
        let (chain, key, _) = ca.leaf_until(&["127.0.0.1"], None);
        let chain: Vec<_> = rustls::pki_types::pem::PemObject::pem_slice_iter(chain.as_bytes())
            .collect::<Result<_, _>>()
            .expect("chain");
        let key = rustls::pki_types::pem::PemObject::from_pem_slice(key.as_bytes()).expect("key");
        let server = papertrader_common::tls::server_config(
            papertrader_common::tls::CertFiles { chain, key },
            papertrader_common::tls::Versions::Tls13,
        )
        .expect("server config");
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(down) = conn else { return };
                let server = server.clone();
                let count = count.clone();
                std::thread::spawn(move || relay_in_the_middle(down, upstream, server, &count));
            }
        });
        Middle { addr, sessions }
    }
}

fn relay_in_the_middle(
    down: TcpStream,
    upstream: SocketAddr,
    server: Arc<rustls::ServerConfig>,
    sessions: &AtomicUsize,
) {
    let Ok(up) = TcpStream::connect(upstream) else {
        return;
    };
    for s in [&down, &up] {
        s.set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
    }
    let down_conn = rustls::ServerConnection::new(server).expect("server side");
    let name = loopback_name(upstream);
    let up_conn =
        rustls::ClientConnection::new(papertrader_common::tls::link_client_config(), name)
            .expect("client side");
    let mut down = rustls::StreamOwned::new(down_conn, down);
    let mut up = rustls::StreamOwned::new(up_conn, up);
    sessions.fetch_add(1, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 16 * 1024];
    let mut open = true;
    while Instant::now() < deadline && open {
        open = pass_on(&mut down, &mut up, &mut buf) && pass_on(&mut up, &mut down, &mut buf);
    }
}

/// Moves what `from` has to `to`; false once either end is gone.
fn pass_on(from: &mut impl ReadWrite, to: &mut impl ReadWrite, buf: &mut [u8]) -> bool {
    match from.read(buf) {
        Ok(0) => false,
        Ok(n) => to.write_all(&buf[..n]).and_then(|()| to.flush()).is_ok(),
        Err(e) => matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

#[test]
fn a_party_in_the_middle_of_the_master_link_fails_the_handshake_on_both_ends() {
    let setup = MasterSetup::new("tlsmitm");
    let master = setup.start(FAST_ARGON2);
    let middle = Middle::start(master.addr);
    let worker = start_worker(&setup, middle.addr, "reconnect_max = 1s\n");
    let worker_log = worker.stderr_with("a party in the middle");
    assert!(
        worker_log.contains("master signature refused: bad signature"),
        "the worker says why:\n{worker_log}"
    );
    let master_log = master.stderr_with("ended before its proof");
    assert!(
        master_log.contains("link handshake of worker w1 ended before its proof"),
        "the master says why:\n{master_log}"
    );
    assert!(
        middle.sessions.load(Ordering::SeqCst) >= 1,
        "the worker went through the middle"
    );
    assert!(!linked(master.addr), "no link came up");
    // Nothing a client asks reaches the master.
    let mut c = Peer::connect(worker.addr);
    let pass = hashed_pass("mallory", "pw");
    let (i, a) = call(
        &mut c,
        Instr::Register,
        &["mallory", "m@example.com", &pass],
    );
    assert_eq!(i, Instr::RegisterFail);
    assert_eq!(code_of(&a), ReasonCode::Unavailable);
    let master_log = master.stderr_text();
    assert!(!master_log.contains("mallory"), "{master_log}");
    assert!(!master_log.contains("linked, clients use"), "{master_log}");
}

#[test]
fn a_plain_worker_hello_is_refused_and_plain_get_worker_list_answers() {
    let system = System::start("tlsplain", "", "");
    let key = &system.setup.workers[0];
    let mut peer = Peer::connect(system.master.addr);
    peer.send(&frame(
        Instr::WorkerHello,
        &[&key.uuid, "w1", "127.0.0.1:2049", &"0".repeat(32)],
    ));
    let refusal = peer.recv();
    assert_eq!(instr(&refusal), Instr::LinkRefused);
    let reason = &words(&refusal)[0];
    assert!(reason.starts_with("forbidden tls required"), "{reason}");
    assert!(peer.closed_within(Duration::from_secs(5)));
    let mut plain = Peer::connect(system.master.addr);
    let (i, list) = call(&mut plain, Instr::GetWorkerList, &[]);
    assert_eq!(i, Instr::WorkerList);
    assert_eq!(list, vec![system.worker.addr.to_string()]);
    // And over TLS too.
    let mut tls = Peer::connect_tls(system.master.addr);
    assert_eq!(
        call(&mut tls, Instr::GetWorkerList, &[]).0,
        Instr::WorkerList
    );
    let version = tls.tls().and_then(|c| c.protocol_version());
    assert_eq!(version, Some(rustls::ProtocolVersion::TLSv1_3));
}

/// A system whose worker serves clients with `client_tls = mode` and a
/// certificate for 127.0.0.1 from `ca`.
fn tls_system(tag: &str, mode: &str, ca: &TestCa, worker_extra: &str) -> System {
    let dir = TempDir::new(&format!("{tag}c"));
    let (cert, key, _) = ca.write_leaf(&dir.path, "worker", &["127.0.0.1", "localhost"]);
    let extra = format!(
        "client_tls = {mode}\ntls_cert = {}\ntls_key = {}\n{worker_extra}",
        cert.display(),
        key.display()
    );
    // The files stay: the worker rereads them on SIGHUP.
    std::mem::forget(dir);
    System::start(tag, "", &extra)
}

fn tls_client(system: &System, ca: &TestCa) -> Peer {
    let addr = system.worker.addr;
    Peer::try_connect_tls_with(addr, ca.client_config(), loopback_name(addr))
        .expect("TLS to the worker")
}

#[test]
fn client_tls_required_refuses_a_plain_client() {
    let ca = TestCa::new("required");
    let system = tls_system("tlsreq", "required", &ca, "");
    let mut plain = system.client();
    let (i, a) = call(&mut plain, Instr::GetWorkerList, &[]);
    assert_eq!(i, Instr::ProtocolError);
    assert!(a[0].starts_with("forbidden tls required"), "{a:?}");
    assert!(plain.closed_within(Duration::from_secs(5)));
    let mut tls = tls_client(&system, &ca);
    assert_eq!(
        call(&mut tls, Instr::GetWorkerList, &[]).0,
        Instr::WorkerList
    );
}

#[test]
fn client_tls_optional_serves_both_on_one_port() {
    let ca = TestCa::new("optional");
    let system = tls_system("tlsopt", "optional", &ca, "");
    let mut plain = system.client();
    let mut tls = tls_client(&system, &ca);
    let pass = hashed_pass("olive", "pw");
    let (i, _) = call(
        &mut tls,
        Instr::Register,
        &["olive", "o@example.com", &pass],
    );
    assert_eq!(i, Instr::RegisterSuccess);
    let (i, a) = call(&mut plain, Instr::Login, &["olive", &pass, "false"]);
    assert_eq!(i, Instr::SessionId);
    let (i, _) = call(&mut tls, Instr::LoginSession, &[&a[0]]);
    assert_eq!(i, Instr::SessionId);
    let version = tls.tls().and_then(|c| c.protocol_version());
    assert_eq!(
        version,
        Some(rustls::ProtocolVersion::TLSv1_3),
        "1.3 preferred"
    );
}

#[test]
fn sighup_reloads_the_certificate_without_dropping_clients() {
    let ca = TestCa::new("reload");
    let dir = TempDir::new("tlshupc");
    let (cert, key, first) = ca.write_leaf(&dir.path, "worker", &["127.0.0.1"]);
    let extra = format!(
        "client_tls = required\ntls_cert = {}\ntls_key = {}\n",
        cert.display(),
        key.display()
    );
    let system = System::start("tlshup", "", &extra);
    let mut old = tls_client(&system, &ca);
    let seen = |p: &Peer| p.tls().and_then(|c| c.peer_certificates()).expect("certs")[0].clone();
    assert_eq!(seen(&old), first);
    // certbot renews: new files under the same names, then SIGHUP.
    let (_, _, renewed) = ca.write_leaf(&dir.path, "worker", &["127.0.0.1"]);
    assert_ne!(renewed, first);
    system.worker.signal(libc::SIGHUP);
    let log = system.worker.stderr_with("reloaded the TLS certificate");
    assert!(log.contains("reloaded the TLS certificate"), "{log}");
    let new = tls_client(&system, &ca);
    assert_eq!(
        seen(&new),
        renewed,
        "new handshakes use the new certificate"
    );
    assert_eq!(
        call(&mut old, Instr::GetWorkerList, &[]).0,
        Instr::WorkerList,
        "the client connected before the reload is still served"
    );
    // A broken file keeps the old certificate.
    std::fs::write(&cert, "not a certificate").expect("write");
    system.worker.signal(libc::SIGHUP);
    let log = system.worker.stderr_with("keeping the old one");
    assert!(log.contains("cannot reload the TLS certificate"), "{log}");
    let after = tls_client(&system, &ca);
    assert_eq!(seen(&after), renewed);
}

#[test]
fn a_tls_client_that_never_reads_is_dropped_at_the_output_cap() {
    let ca = TestCa::new("noread");
    let system = tls_system("tlsnoread", "required", &ca, "max_output = 65552\n");
    let mut c = tls_client(&system, &ca);
    c.stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let batch: Vec<u8> = (0..1000)
        .flat_map(|_| frame::<&str>(Instr::GetWorkerList, &[]).to_bytes())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut sent = 0usize;
    while Instant::now() < deadline && sent < 64 << 20 {
        if c.try_send_raw(&batch).is_err() {
            break;
        }
        sent += batch.len();
    }
    let log = system.worker.stderr_with("not reading");
    assert!(log.contains("not reading its answers"), "{log}");
    let rss = rss_kib(system.worker.pid());
    assert!(rss < 64 * 1024, "worker RSS {rss} KiB");
    let mut honest = tls_client(&system, &ca);
    assert_eq!(
        call(&mut honest, Instr::GetWorkerList, &[]).0,
        Instr::WorkerList
    );
}

#[test]
fn garbage_after_a_client_hello_and_a_stalled_handshake_are_closed() {
    let ca = TestCa::new("hostile");
    let system = tls_system("tlshostile", "optional", &ca, "frame_timeout = 2s\n");
    let hello = client_hello();
    // Garbage after a real ClientHello.
    let mut garbage = TcpStream::connect(system.worker.addr).expect("connect");
    let mut bytes = hello.clone();
    bytes.extend_from_slice(&[0x17, 0x03, 0x03, 0xff, 0xff]);
    bytes.extend_from_slice(&[0xab; 4096]);
    garbage.write_all(&bytes).expect("write");
    assert!(
        closed_within(&mut garbage, Duration::from_secs(5)),
        "garbage closed"
    );
    let log = system.worker.stderr_with("TLS: ");
    assert!(log.contains("TLS: "), "the worker says why:\n{log}");
    // Half a ClientHello, then nothing: the stalled-frame clock.
    let mut stalled = TcpStream::connect(system.worker.addr).expect("connect");
    stalled.write_all(&hello[..hello.len() / 2]).expect("write");
    let start = Instant::now();
    assert!(
        closed_within(&mut stalled, Duration::from_secs(6)),
        "stall closed"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
    let log = system
        .worker
        .stderr_with("stopped in the middle of a frame");
    assert!(log.contains("stopped in the middle of a frame"), "{log}");
    let mut honest = tls_client(&system, &ca);
    assert_eq!(
        call(&mut honest, Instr::GetWorkerList, &[]).0,
        Instr::WorkerList
    );
}

#[test]
fn a_silent_connection_to_the_master_hits_the_handshake_deadline() {
    let setup = MasterSetup::new("tlssilent");
    let master = setup.start(&format!("{FAST_ARGON2}handshake_timeout = 1s\n"));
    let mut silent = TcpStream::connect(master.addr).expect("connect");
    let start = Instant::now();
    assert!(closed_within(&mut silent, Duration::from_secs(5)));
    assert!(start.elapsed() >= Duration::from_millis(900));
    // Half a ClientHello to the master: the same deadline.
    let mut half = TcpStream::connect(master.addr).expect("connect");
    let hello = client_hello();
    half.write_all(&hello[..hello.len() / 2]).expect("write");
    assert!(closed_within(&mut half, Duration::from_secs(5)));
}

/// The first flight of a TLS client.
fn client_hello() -> Vec<u8> {
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut conn =
        rustls::ClientConnection::new(papertrader_common::tls::link_client_config(), name)
            .expect("client");
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).expect("hello");
    hello
}

/// True if the peer closes within `limit` (whatever it sends meanwhile).
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .expect("timeout");
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
    false
}

fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Runs `papertrader` with `args` in a HOME of its own (no config file
/// unless `config` is given); returns (exit status, stdout, stderr).
fn papertrader(home: &TempDir, config: Option<&str>, args: &[&str]) -> (i32, String, String) {
    if let Some(text) = config {
        let dir = home.join("config").join("papertrader");
        std::fs::create_dir_all(&dir).expect("config dir");
        std::fs::write(dir.join("config"), text).expect("config");
    }
    let out = std::process::Command::new(util::bin("papertrader"))
        .args(args)
        .env("HOME", home.path.as_os_str())
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("PAPERTRADER_SERVER")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run papertrader");
    (
        out.status.code().unwrap_or(-1),
        util::stdout(&out),
        util::stderr(&out),
    )
}

#[test]
fn papertrader_checks_the_certificate_and_its_host_name() {
    let ca = TestCa::new("papertrader");
    let dir = TempDir::new("tlscli");
    let ca_file = ca.write(&dir.join("ca.pem"));
    let ca_arg = ca_file.to_str().expect("path");
    let (cert, key, _) = ca.write_leaf(&dir.path, "right", &["127.0.0.1"]);
    let extra = format!(
        "client_tls = required\ntls_cert = {}\ntls_key = {}\n",
        cert.display(),
        key.display()
    );
    let system = System::start("tlscli", "", &extra);
    let url = format!("tls://{}", system.worker.addr);
    let home = TempDir::new("tlsclihome");

    // The right CA and host: it works, and the worker list comes back.
    let (code, out, err) = papertrader(&home, None, &["-s", &url, "--ca", ca_arg, "workers"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&system.worker.addr.to_string()), "{out}");
    // The same through the config file's keys.
    let config = format!(
        "server = {}\ntls = yes\nca = {ca_arg}\n",
        system.worker.addr
    );
    let (code, _, err) = papertrader(&home, Some(&config), &["workers"]);
    assert_eq!(code, 0, "{err}");
    std::fs::remove_dir_all(home.join("config")).expect("no config");

    // An unknown authority: the system's roots do not know the test CA.
    let (code, _, err) = papertrader(&home, None, &["-s", &url, "workers"]);
    assert_eq!(code, 76, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("signed by an unknown authority"), "{err}");
    // A plain client of a TLS-only worker hears why.
    let plain = system.worker.addr.to_string();
    let (code, _, err) = papertrader(&home, None, &["-s", &plain, "workers"]);
    assert_ne!(code, 0);
    assert!(err.contains("tls required"), "{err}");
}

#[test]
fn papertrader_refuses_another_hosts_and_an_expired_certificate() {
    let ca = TestCa::new("wronghost");
    let dir = TempDir::new("tlscliwrong");
    let ca_file = ca.write(&dir.join("ca.pem"));
    let ca_arg = ca_file.to_str().expect("path");
    let (cert, key, _) = ca.write_leaf(&dir.path, "other", &["quotes.example.org"]);
    let extra = format!(
        "client_tls = optional\ntls_cert = {}\ntls_key = {}\n",
        cert.display(),
        key.display()
    );
    let system = System::start("tlscliwrong", "", &extra);
    let url = format!("tls://{}", system.worker.addr);
    let home = TempDir::new("tlscliwronghome");
    let (code, _, err) = papertrader(&home, None, &["-s", &url, "--ca", ca_arg, "workers"]);
    assert_eq!(code, 76, "{err}");
    assert_eq!(
        err.trim(),
        format!("papertrader: {url}: the server's certificate is not valid for 127.0.0.1")
    );
    // Renewed, but with a certificate that expired in 2020.
    let (cert2, key2, _) =
        ca.write_leaf_until(&dir.path, "old", &["127.0.0.1"], Some((2020, 1, 1)));
    std::fs::copy(&cert2, &cert).expect("copy");
    std::fs::copy(&key2, &key).expect("copy");
    system.worker.signal(libc::SIGHUP);
    system.worker.stderr_with("reloaded the TLS certificate");
    let (code, _, err) = papertrader(&home, None, &["-s", &url, "--ca", ca_arg, "workers"]);
    assert_eq!(code, 76, "{err}");
    assert!(
        err.contains("the server's certificate has expired"),
        "{err}"
    );
    // A CA file that is not there is a local problem.
    let (code, _, err) = papertrader(
        &home,
        None,
        &["-s", &url, "--ca", "/nonexistent.pem", "workers"],
    );
    assert_eq!(code, 78, "{err}");
    assert!(err.contains("/nonexistent.pem"), "{err}");
}

#[test]
fn bad_certificate_files_stop_both_daemons_with_exit_78() {
    let setup = MasterSetup::new("tlsbadconf");
    let d = &setup.dir;
    std::fs::write(d.join("garbage.pem"), "not a certificate\n").expect("write");
    let conf = setup.write_conf(&format!(
        "tls_cert = {0}\ntls_key = {0}\n",
        d.join("garbage.pem").display()
    ));
    let out = util::run(
        "ptmasterd",
        &["-n", "-c", conf.to_str().expect("path")],
        b"",
    );
    assert_eq!(out.status.code(), Some(78), "{}", util::stderr(&out));
    let err = util::stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("garbage.pem"), "{err}");
    let conf = setup.write_conf("tls_cert = /nonexistent.pem\n");
    let out = util::run(
        "ptmasterd",
        &["-n", "-c", conf.to_str().expect("path")],
        b"",
    );
    assert_eq!(out.status.code(), Some(78), "{}", util::stderr(&out));
    assert!(util::stderr(&out).contains("tls_cert and tls_key go together"));

    let worker_conf = d.join("w.conf");
    std::fs::write(
        &worker_conf,
        format!(
            "client_tls = required\ntls_cert = {0}\ntls_key = {0}\n",
            d.join("missing.pem").display()
        ),
    )
    .expect("write");
    let out = util::run(
        "ptworkerd",
        &["-n", "-c", worker_conf.to_str().expect("path")],
        b"",
    );
    assert_eq!(out.status.code(), Some(78), "{}", util::stderr(&out));
    let err = util::stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("missing.pem: No such file"), "{err}");
    std::fs::write(&worker_conf, "client_tls = required\n").expect("write");
    let out = util::run(
        "ptworkerd",
        &["-n", "-c", worker_conf.to_str().expect("path")],
        b"",
    );
    assert_eq!(out.status.code(), Some(78));
    assert!(util::stderr(&out).contains("needs tls_cert and tls_key"));
}
