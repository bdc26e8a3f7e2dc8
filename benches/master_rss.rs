//! Memory of a real ptmasterd under login load (issue "Hostile peers":
//! at most 64 MB of VmRSS after 1,000 logins with the default argon2
//! settings and 2 auth threads).
//!
//! `cargo bench -p papertrader-tests --bench master_rss [-- LOGINS]`
//! (make bench builds the daemons first; `PT_BIN_DIR` measures another
//! build's). A test worker links to the master over loopback, registers
//! one account and pipelines LOGINS (default 1,000) logins for it in
//! batches of 100, reading the daemon's VmRSS from /proc after each batch.
//! Bounded: the daemon is killed if its RSS passes 2 GiB or a batch takes
//! more than a minute.

#[path = "../tests/util/mod.rs"]
mod util;

use std::time::{Duration, Instant};

use papertrader_common::Instr;
use util::master::{MasterSetup, hashed_pass};

const THREADS: usize = 2;
const BATCH: usize = 100;
/// 64 MB (10^6 bytes, the stricter reading) in KiB.
const TARGET_KIB: u64 = 62_500;
const GIVE_UP_KIB: u64 = 2 * 1024 * 1024;

/// `VmRSS` and `VmHWM` (peak) of `pid`, in KiB.
fn rss_kib(pid: i32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mb(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 * 1024.0 / 1e6)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let logins: usize = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(1000)
        .max(BATCH);
    let setup = MasterSetup::new("rss");
    let master = setup.start(&format!("auth_threads = {THREADS}\n"));
    let mut w = setup.link(master.addr, 0).expect("linked");
    let (start_rss, _) = rss_kib(master.pid());
    println!(
        "ptmasterd ({}), argon2 defaults, {THREADS} auth threads, {logins} logins",
        util::bin("ptmasterd").display()
    );
    println!("started and linked: VmRSS {}", mb(start_rss));

    let pass = hashed_pass("rss", "pw");
    let (answer, args) = w.request(Instr::Register, &["rss", "r@example.com", &pass]);
    assert_eq!(answer, Instr::RegisterSuccess, "{args:?}");
    let start = Instant::now();
    let mut done = 0;
    while done < logins {
        let batch = BATCH.min(logins - done);
        let sent = Instant::now();
        for _ in 0..batch {
            w.send_request(Instr::Login, &["rss", &pass, "true"]);
        }
        for _ in 0..batch {
            let (_, instr, args) = w.recv_reply();
            assert_eq!(instr, Instr::SessionId, "{args:?}");
        }
        done += batch;
        let (rss, _) = rss_kib(master.pid());
        println!("after {done:>5} logins: VmRSS {}", mb(rss));
        assert!(rss < GIVE_UP_KIB, "gave up: RSS past 2 GiB");
        assert!(sent.elapsed() < Duration::from_secs(60), "bounded");
    }
    let (rss, peak) = rss_kib(master.pid());
    let rate = logins as f64 / start.elapsed().as_secs_f64();
    println!(
        "VmRSS {} before, {} after {logins} logins ({rate:.1} logins/s), peak {}",
        mb(start_rss),
        mb(rss),
        mb(peak)
    );
    let verdict = if rss <= TARGET_KIB { "met" } else { "NOT met" };
    println!("target: at most 64 MB after the logins: {verdict}");
}
