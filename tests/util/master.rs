//! A master set up for a test: its own temp dir, GnuPG homes with real
//! keys for the master and each worker, workers.list and ptmasterd.conf;
//! and `TestWorker`, a worker link built on common + gpgme that performs
//! the real handshake of PROTOCOL.md section 7.

use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use papertrader_common::gpg::{Role, Signer, handshake_message};
use papertrader_common::message::frame;
use papertrader_common::value::hex;
use papertrader_common::{Frame, Instr, MessageType, args};

use super::daemon::{Daemon, TempDir};
use super::gpg::GpgHome;
use super::wire::{Peer, instr, words};

/// A worker's identity: name, UUID and its own GnuPG home and key.
pub struct WorkerKey {
    pub name: String,
    pub uuid: String,
    pub home: GpgHome,
    pub fingerprint: String,
}

pub struct MasterSetup {
    pub dir: TempDir,
    pub home: GpgHome,
    pub master_fpr: String,
    pub workers: Vec<WorkerKey>,
}

/// Small argon2 parameters so tests spend their time on behaviour.
pub const FAST_ARGON2: &str = "argon2_memory_kib = 64\nargon2_iterations = 1\n";

impl MasterSetup {
    /// A master key and one registered worker `w1` allowed from 127.0.0.1.
    pub fn new(tag: &str) -> MasterSetup {
        let dir = TempDir::new(tag);
        let home = GpgHome::new(&format!("{tag}m"));
        let master_fpr = home.make_key("master");
        let mut setup = MasterSetup {
            dir,
            home,
            master_fpr,
            workers: Vec::new(),
        };
        setup.add_worker("w1");
        setup.write_workers_list(&[(0, "127.0.0.1")]);
        setup
    }

    /// Makes a worker key; its public key goes into the master's keyring
    /// and the master's into the worker's.
    pub fn add_worker(&mut self, name: &str) -> usize {
        let home = GpgHome::new(&format!("w{}", self.workers.len()));
        let fingerprint = home.make_key(name);
        self.home.import(&home.export_public(&fingerprint));
        home.import(&self.home.export_public(&self.master_fpr));
        let n = self.workers.len() + 1;
        let uuid = format!("6f9619ff-8b86-d011-b42d-00c04fc964{n:02x}");
        self.workers.push(WorkerKey {
            name: name.to_string(),
            uuid,
            home,
            fingerprint,
        });
        self.workers.len() - 1
    }

    /// Writes workers.list with the given workers and allowed addresses.
    pub fn write_workers_list(&self, entries: &[(usize, &str)]) {
        let mut text = String::from("# NAME UUID FINGERPRINT ADDRESSES\n");
        for (i, allowed) in entries {
            let w = &self.workers[*i];
            text.push_str(&format!(
                "{} {} {} {allowed}\n",
                w.name, w.uuid, w.fingerprint
            ));
        }
        fs::write(self.dir.join("workers.list"), text).expect("workers.list");
    }

    /// Writes ptmasterd.conf: loopback port 0 (unless `extra` sets
    /// `listen`), everything in the temp dir, plus `extra` lines.
    pub fn write_conf(&self, extra: &str) -> PathBuf {
        let d = &self.dir.path;
        let listen = if extra.contains("listen =") {
            ""
        } else {
            "listen = 127.0.0.1:0\n"
        };
        let text = format!(
            "{listen}state_dir = {d}\ndatabase = {d}/master.db\n\
             control_socket = {d}/ctl.sock\npid_file = {d}/ptmasterd.pid\n\
             gnupg_home = {home}\nmaster_key = {fpr}\nworkers_file = {d}/workers.list\n\
             log_file = {d}/ptmasterd.log\n{extra}",
            d = d.display(),
            home = self.home.path.display(),
            fpr = self.master_fpr,
        );
        let path = self.dir.join("ptmasterd.conf");
        fs::write(&path, text).expect("ptmasterd.conf");
        path
    }

    /// Starts ptmasterd -f on a config with `extra` lines.
    pub fn start(&self, extra: &str) -> Daemon {
        self.start_env(extra, &[])
    }

    /// Like [`MasterSetup::start`], with `env` added to its environment.
    pub fn start_env(&self, extra: &str, env: &[(&str, &str)]) -> Daemon {
        let conf = self.write_conf(extra);
        let conf = conf.to_str().expect("utf-8 path");
        Daemon::start_env(
            "ptmasterd",
            &["-f", "-c", conf],
            &self.dir.join("stderr"),
            env,
        )
    }

    pub fn control_socket(&self) -> PathBuf {
        self.dir.join("ctl.sock")
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.join("ptmasterd.log")
    }

    /// Links worker `i` to the master at `addr`.
    pub fn link(&self, addr: SocketAddr, i: usize) -> Result<TestWorker, Frame> {
        TestWorker::link(addr, &self.workers[i], &self.master_fpr, "127.0.0.1:2049")
    }
}

/// The worker side of a master link, for tests.
pub struct TestWorker {
    pub peer: Peer,
    pub uuid: String,
    next_reqid: u64,
    /// The last workerListUpdate seen.
    pub worker_list: Vec<String>,
    /// `quotes` packets seen (the master pushes prices to every link).
    pub quotes_packets: usize,
}

impl TestWorker {
    /// Connects and runs the handshake. Err carries the master's refusal
    /// (`linkRefused`, `protocolError`...) or panics if the link just closed.
    pub fn link(
        addr: SocketAddr,
        key: &WorkerKey,
        master_fpr: &str,
        client_addr: &str,
    ) -> Result<TestWorker, Frame> {
        let mut peer = Peer::connect_tls(addr);
        let exporter = peer.exporter();
        let nonce = hex(&rand_bytes());
        peer.send(&frame(
            Instr::WorkerHello,
            &[&key.uuid, &key.name, client_addr, &nonce],
        ));
        let challenge = peer.recv();
        if instr(&challenge) != Instr::MasterChallenge {
            return Err(challenge);
        }
        let args = words(&challenge);
        let mut signer =
            Signer::new(Some(&key.home.path), &key.fingerprint).expect("worker signer");
        let signed = handshake_message(Role::Master, &key.uuid, &nonce, &exporter);
        signer
            .verify(&args[1], &signed, master_fpr)
            .expect("master signature verifies");
        let proof = signer
            .sign(&handshake_message(
                Role::Worker,
                &key.uuid,
                &args[0],
                &exporter,
            ))
            .expect("sign proof");
        peer.send(&frame(Instr::WorkerProof, &[proof]));
        let answer = peer.recv();
        if instr(&answer) != Instr::LinkAccepted {
            return Err(answer);
        }
        let mut worker = TestWorker {
            peer,
            uuid: key.uuid.clone(),
            next_reqid: 1,
            worker_list: Vec::new(),
            quotes_packets: 0,
        };
        let update = worker.peer.recv();
        assert_eq!(
            instr(&update),
            Instr::WorkerListUpdate,
            "workerListUpdate follows linkAccepted"
        );
        worker.worker_list = words(&update);
        Ok(worker)
    }

    /// Forwards a client request with the UUID/REQID/TIMESTAMP/ADDRESS
    /// prefix; returns its REQID.
    pub fn send_request(&mut self, instr: Instr, args: &[&str]) -> u64 {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as u64;
        self.send_request_at(instr, args, ms)
    }

    /// Like `send_request`, with a chosen TIMESTAMP_MS.
    pub fn send_request_at(&mut self, instr: Instr, args: &[&str], ts_ms: u64) -> u64 {
        self.send_prefixed(instr, args, ts_ms, "127.0.0.1:40000")
    }

    /// Like `send_request`, from the client at `client` (`host:port` or
    /// `[v6]:port`, the ADDRESS of the prefix).
    pub fn send_request_from(&mut self, instr: Instr, args: &[&str], client: &str) -> u64 {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as u64;
        self.send_prefixed(instr, args, ms, client)
    }

    /// Like `request`, from the client at `client`.
    pub fn request_from(
        &mut self,
        instr: Instr,
        args: &[&str],
        client: &str,
    ) -> (Instr, Vec<String>) {
        let reqid = self.send_request_from(instr, args, client);
        let (got, instr, args) = self.recv_reply();
        assert_eq!(got, reqid, "replies in order when one is outstanding");
        (instr, args)
    }

    fn send_prefixed(&mut self, instr: Instr, args: &[&str], ts_ms: u64, client: &str) -> u64 {
        let reqid = self.next_reqid;
        self.next_reqid += 1;
        let ms = ts_ms.to_string();
        let reqid_text = reqid.to_string();
        let mut all = vec![self.uuid.as_str(), &reqid_text, &ms, client];
        all.extend_from_slice(args);
        let (count, data) = args::join(&all).expect("well-formed request");
        self.peer
            .send(&Frame::new(instr.kind(), instr.code(), count, data));
        reqid
    }

    /// The next reply to a forwarded request: (REQID, instruction, its own
    /// arguments). Answers pings and records worker list updates meanwhile.
    pub fn recv_reply(&mut self) -> (u64, Instr, Vec<String>) {
        loop {
            let f = self.peer.recv();
            if f.message_type == MessageType::Control as u8 {
                self.on_control(&f);
                continue;
            }
            let mut all = words(&f);
            let reqid = all.remove(0).parse().expect("decimal REQID first");
            return (reqid, instr(&f), all);
        }
    }

    /// A whole data transfer answering `reqid` (its packets carry the REQID
    /// and are numbered 1..N), or the failure that answered it instead.
    /// Sends a data request and reads its whole answer.
    pub fn data(&mut self, instr: Instr, args: &[&str]) -> Result<Vec<u8>, (Instr, Vec<String>)> {
        let reqid = self.send_request(instr, args);
        self.recv_data(reqid)
    }

    pub fn recv_data(&mut self, reqid: u64) -> Result<Vec<u8>, (Instr, Vec<String>)> {
        let mut payload = Vec::new();
        let mut expected = 1;
        loop {
            let f = self.peer.recv();
            if f.message_type == MessageType::Control as u8 {
                self.on_control(&f);
                continue;
            }
            if instr(&f) != Instr::Data {
                let mut all = words(&f);
                assert_eq!(
                    all.remove(0).parse::<u64>().ok(),
                    Some(reqid),
                    "answer to {reqid}"
                );
                return Err((instr(&f), all));
            }
            let (prefix, chunk) =
                papertrader_common::message::split_prefix(&f.data, 1).expect("REQID prefix");
            assert_eq!(
                prefix[0].parse::<u64>().ok(),
                Some(reqid),
                "packet of {reqid}"
            );
            assert_eq!(f.data_message_number, expected, "numbered in order");
            payload.extend_from_slice(chunk);
            if f.data_message_number == f.data_message_max {
                return Ok(payload);
            }
            expected += 1;
        }
    }

    /// Sends one request and waits for its reply.
    pub fn request(&mut self, instr: Instr, args: &[&str]) -> (Instr, Vec<String>) {
        let reqid = self.send_request(instr, args);
        let (got, instr, args) = self.recv_reply();
        assert_eq!(got, reqid, "replies in order when one is outstanding");
        (instr, args)
    }

    fn on_control(&mut self, f: &Frame) {
        match instr(f) {
            Instr::Ping => {
                let token = words(f).remove(0);
                self.peer.send(&frame(Instr::Pong, &[token]));
            }
            Instr::WorkerListUpdate => self.worker_list = words(f),
            Instr::Quotes => self.quotes_packets += 1,
            other => panic!("unexpected control frame {}", other.name()),
        }
    }

    /// Waits for a control frame of kind `want`, answering pings.
    pub fn wait_control(&mut self, want: Instr, limit: Duration) -> Option<Frame> {
        let deadline = std::time::Instant::now() + limit;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            let f = self.peer.try_recv(left)?;
            if instr(&f) == want {
                return Some(f);
            }
            if f.message_type == MessageType::Control as u8 {
                self.on_control(&f);
            }
        }
        None
    }
}

fn rand_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    let mut urandom = fs::File::open("/dev/urandom").expect("/dev/urandom");
    std::io::Read::read_exact(&mut urandom, &mut bytes).expect("random bytes");
    bytes
}

/// The reference client's hashedPass: hex SHA-256 of
/// "papertrader\0" + lowercase(username) + "\0" + password, computed with
/// sha256sum so the tests do not share code with the daemons.
pub fn hashed_pass(username: &str, password: &str) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    let mut input = child.stdin.take().expect("stdin");
    write!(
        input,
        "papertrader\0{}\0{password}",
        username.to_lowercase()
    )
    .expect("write");
    drop(input);
    let out = child.wait_with_output().expect("sha256sum output");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("digest")
        .to_string()
}
