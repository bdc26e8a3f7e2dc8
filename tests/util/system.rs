//! A whole system for a test: a real ptmasterd with its keys and registry
//! (see `master`), and a real ptworkerd linked to it as worker `w1`.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use papertrader_common::message::frame;
use papertrader_common::{Frame, Instr, ReasonCode, args};

use super::daemon::Daemon;
use super::master::{FAST_ARGON2, MasterSetup, hashed_pass};
use super::wire::{Peer, instr, words};

pub struct System {
    pub setup: MasterSetup,
    pub master: Daemon,
    pub worker: Daemon,
    pub worker_extra: String,
}

impl System {
    /// Master and worker with extra config lines each; waits for the link.
    pub fn start(tag: &str, master_extra: &str, worker_extra: &str) -> System {
        System::start_with(tag, master_extra, worker_extra, |_| {})
    }

    /// Like `start`, running `prepare` on the set-up (its directory holds
    /// the database-to-be, master.db) before the master starts.
    pub fn start_with(
        tag: &str,
        master_extra: &str,
        worker_extra: &str,
        prepare: impl FnOnce(&MasterSetup),
    ) -> System {
        let setup = MasterSetup::new(tag);
        prepare(&setup);
        let master = setup.start(&format!("{FAST_ARGON2}{master_extra}"));
        let worker = start_worker(&setup, master.addr, worker_extra);
        let system = System {
            setup,
            master,
            worker,
            worker_extra: worker_extra.to_string(),
        };
        system.wait_linked(Duration::from_secs(20));
        system
    }

    /// Waits until the master lists the worker.
    pub fn wait_linked(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let mut peer = Peer::connect(self.master.addr);
            peer.send(&frame::<&str>(Instr::GetWorkerList, &[]));
            if let Some(list) = peer.try_recv(Duration::from_secs(2))
                && !words(&list).is_empty()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "worker did not link; worker stderr:\n{}",
            self.worker.stderr_text()
        );
    }

    /// Restarts the master on the same port and database.
    pub fn restart_master(&mut self) {
        self.master.kill9();
        let extra = format!("{FAST_ARGON2}listen = {}\n", self.master.addr);
        let conf = self
            .setup
            .write_conf(&extra)
            .to_str()
            .expect("path")
            .to_string();
        self.master = Daemon::start(
            "ptmasterd",
            &["-f", "-c", &conf],
            &self.setup.dir.join("stderr2"),
        );
    }

    /// Kills the worker (SIGKILL); `start_worker_again` brings it back.
    pub fn stop_worker(&mut self) {
        self.worker.kill9();
    }

    /// Starts the worker stopped by `stop_worker`; waits for the link.
    pub fn start_worker_again(&mut self) {
        self.worker = start_worker(&self.setup, self.master.addr, &self.worker_extra);
        self.wait_linked(Duration::from_secs(20));
    }

    pub fn client(&self) -> Peer {
        Peer::connect(self.worker.addr)
    }

    /// For the quote benchmarks: registers and logs in user `bench`,
    /// waits for AAPL's quote and 2 s more, so that the worker's quote
    /// cache holds it; returns the session.
    pub fn quote_session(&self) -> String {
        let mut c = self.client();
        let pass = super::master::hashed_pass("bench", "pw");
        call(&mut c, Instr::Register, &["bench", "b@example.com", &pass]);
        let (_, a) = call(&mut c, Instr::Login, &["bench", &pass, "false"]);
        let session = a[0].clone();
        call(&mut c, Instr::SwitchState, &[&session, "data"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while call_data(&mut c, Instr::GetAssetValueCurrent, &["AAPL"]).is_err() {
            assert!(Instant::now() < deadline, "no quote within 20 s");
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_secs(2)); // quotes reach the worker's cache
        session
    }
}

/// Writes ptworkerd.conf for worker `w1` of `setup` and starts it.
pub fn start_worker(setup: &MasterSetup, master: std::net::SocketAddr, extra: &str) -> Daemon {
    let w = &setup.workers[0];
    let d = &setup.dir.path;
    let text = format!(
        "listen = 127.0.0.1:0\nmaster = {master}\nuuid = {uuid}\nname = {name}\n\
         state_dir = {d}\npid_file = {d}/ptworkerd.pid\ngnupg_home = {home}\n\
         worker_key = {wfpr}\nmaster_key = {mfpr}\nlog_file = {d}/ptworkerd.log\n{extra}",
        d = d.display(),
        uuid = w.uuid,
        name = w.name,
        home = w.home.path.display(),
        wfpr = w.fingerprint,
        mfpr = setup.master_fpr,
    );
    let path: PathBuf = setup.dir.join("ptworkerd.conf");
    fs::write(&path, text).expect("ptworkerd.conf");
    let conf = path.to_str().expect("path");
    Daemon::start(
        "ptworkerd",
        &["-f", "-c", conf],
        &setup.dir.join("worker-stderr"),
    )
}

/// Sends a request and returns the answer's instruction and arguments.
pub fn call(peer: &mut Peer, i: Instr, argv: &[&str]) -> (Instr, Vec<String>) {
    peer.send(&frame(i, argv));
    let answer = peer.recv();
    (instr(&answer), words(&answer))
}

/// Sends a data request; Ok(payload) for a transfer, Err(answer) otherwise.
pub fn call_data(
    peer: &mut Peer,
    i: Instr,
    argv: &[&str],
) -> Result<Vec<u8>, (Instr, Vec<String>)> {
    peer.send(&frame(i, argv));
    receive_data(peer)
}

/// Reads one answer that may be a data transfer, checking its numbering.
pub fn receive_data(peer: &mut Peer) -> Result<Vec<u8>, (Instr, Vec<String>)> {
    let mut payload = Vec::new();
    let mut expected = 1;
    loop {
        let f: Frame = peer.recv();
        if instr(&f) != Instr::Data {
            return Err((
                instr(&f),
                args::split(&f.data, f.argument_count)
                    .map(|a| a.iter().map(|s| s.to_string()).collect())
                    .unwrap_or_default(),
            ));
        }
        assert_eq!(
            f.data_message_number, expected,
            "packets numbered 1..N in order"
        );
        payload.extend_from_slice(&f.data);
        if f.data_message_number == f.data_message_max {
            return Ok(payload);
        }
        expected += 1;
    }
}

/// A port free now (for `web_listen`: the daemon prints only its client
/// port, so the test chooses the web port). It is taken below the
/// kernel's ephemeral range (32768 and up), where the daemons of tests
/// running meanwhile get their port-0 listeners, so that none of them can
/// take it between now and the daemon's bind.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let seed = std::process::id().wrapping_mul(2_654_435_761).wrapping_add(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos()),
    );
    for _ in 0..1000 {
        let n = NEXT.fetch_add(7919, Ordering::Relaxed).wrapping_add(seed);
        let port = 20_000 + (n % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between 20000 and 32000");
}

/// Master config lines for the HTTP API tests: AAPL (whole shares) at
/// 189.5000 and BTC (a crypto-currency) at 40000.0000, a price set every
/// second for `seconds`, 2 000.0000 of starting cash. The files go in
/// `dir`.
pub fn aapl_btc_market(dir: &std::path::Path, seconds: usize) -> String {
    let mut csv = String::from("Symbol,Date,Time,Open,High,Low,Close,Volume\n");
    for _ in 0..seconds {
        csv.push_str("AAPL,2026-11-20,10:00:00,189.5000,189.5000,189.5000,189.5000,1000\n");
        csv.push_str("BTC,2026-11-20,10:00:00,40000,40000,40000,40000,10\n");
    }
    fs::write(dir.join("bars.csv"), csv).expect("csv");
    fs::write(
        dir.join("assets.list"),
        "AAPL fractional=no Apple Inc.\nBTC class=crypto Bitcoin\n",
    )
    .expect("assets");
    format!(
        "price_source = csv\ncsv_file = {}\nassets_file = {}\nupdate_interval = 1s\n\
         starting_cash = 2000\n",
        dir.join("bars.csv").display(),
        dir.join("assets.list").display()
    )
}

/// The reason code of a failure's arguments (its last, `CODE text`).
pub fn code_of(args: &[String]) -> ReasonCode {
    let reason = args.last().expect("a reason");
    let word = reason.split(' ').next().expect("a code");
    ReasonCode::parse(word).unwrap_or_else(|| panic!("unknown reason code in {reason:?}"))
}

/// Registers `name` (password `pw`, `NAME@example.com`) and logs in with a
/// remembered session; returns it.
pub fn login(c: &mut Peer, name: &str) -> String {
    let pass = hashed_pass(name, "pw");
    let email = format!("{name}@example.com");
    let (i, a) = call(c, Instr::Register, &[name, &email, &pass]);
    assert_eq!(i, Instr::RegisterSuccess, "{a:?}");
    let (i, a) = call(c, Instr::Login, &[name, &pass, "false"]);
    assert_eq!(i, Instr::SessionId, "{a:?}");
    a[0].clone()
}

/// A data instruction sent from command state: switches to data, reads the
/// whole answer as text (or the failure's reason code), switches back.
pub fn data_text(
    c: &mut Peer,
    session: &str,
    i: Instr,
    argv: &[&str],
) -> Result<String, ReasonCode> {
    let (s, a) = call(c, Instr::SwitchState, &[session, "data"]);
    assert_eq!(s, Instr::StateSwitchSuccess, "{a:?}");
    let answer = call_data(c, i, argv);
    let (s, a) = call(c, Instr::SwitchState, &[session, "command"]);
    assert_eq!(s, Instr::StateSwitchSuccess, "{a:?}");
    answer
        .map(|p| String::from_utf8(p).expect("text"))
        .map_err(|(_, a)| code_of(&a))
}
