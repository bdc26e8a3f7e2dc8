//! A real ptmasterd on databases of many accounts (issue "Run it for
//! real"): the database is filled through the master's schema (the scale
//! generator, master/benches/support/fill.rs: 5 positions, 20 buys, one
//! filled order and 30 days of equity per account), then the master starts
//! on it with a simulated market of the five symbols the accounts hold,
//! a test worker links to it, and the bench reports start-up time, RSS,
//! getLeaderboard (first call after a price set, and the next) and
//! getUserPortfolio of random accounts (p50, p99).
//!
//! `cargo bench -p papertrader-tests --bench master_scale [-- N ...]`
//! (default 10000 100000; make bench builds the daemons first). Bounded:
//! 200 portfolio requests, 60 s for each wait. Warm page cache: the
//! generator has just written the file; disk syncs on this VM are far
//! cheaper than on real hardware.

#[path = "../tests/util/mod.rs"]
mod util;

#[path = "../master/benches/support/fill.rs"]
mod fill;

use std::time::{Duration, Instant};

use papertrader_common::Instr;
use util::master::{MasterSetup, hashed_pass};

/// `VmRSS` of `pid`, in KiB.
fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// A data request and its whole answer.
fn data(
    w: &mut util::master::TestWorker,
    instr: Instr,
    args: &[&str],
) -> Result<Vec<u8>, (Instr, Vec<String>)> {
    let reqid = w.send_request(instr, args);
    w.recv_data(reqid)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    println!("accounts  start-up  RSS MB  leaderboard cold  leaderboard next  portfolio p50  p99");
    for n in sizes {
        let setup = MasterSetup::new(&format!("scale{n}"));
        let db = setup.dir.join("master.db");
        drop(fill::fill(&db, n));
        let assets = setup.dir.join("assets.list");
        let list: String = fill::SYMBOLS
            .iter()
            .map(|s| format!("{s} market=always {s} Corp.\n"))
            .collect();
        std::fs::write(&assets, list).expect("asset list");
        let extra = format!(
            "update_interval = 2s\nhistory_days = 0\nassets_file = {}\n{}",
            assets.display(),
            util::master::FAST_ARGON2
        );
        let started = Instant::now();
        let master = setup.start(&extra);
        let start_up = started.elapsed();
        let mut w = setup.link(master.addr, 0).expect("linked");
        let pass = hashed_pass("probe", "pw");
        let (i, a) = w.request(Instr::Register, &["probe", "p@example.com", &pass]);
        assert_eq!(i, Instr::RegisterSuccess, "{a:?}");
        let (i, a) = w.request(Instr::Login, &["probe", &pass, "false"]);
        assert_eq!(i, Instr::SessionId, "{a:?}");
        let session = a[0].clone();
        // Wait for prices, then for the next price set to begin timing.
        let deadline = Instant::now() + Duration::from_secs(60);
        while data(&mut w, Instr::GetAssetValueCurrent, &["AAA"]).is_err() {
            assert!(Instant::now() < deadline, "no price");
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_secs(2));
        let started = Instant::now();
        data(&mut w, Instr::GetLeaderboard, &[]).expect("leaderboard");
        let cold = started.elapsed();
        let started = Instant::now();
        data(&mut w, Instr::GetLeaderboard, &[]).expect("leaderboard");
        let next = started.elapsed();
        let mut times: Vec<Duration> = (0..200u64)
            .map(|i| {
                let user = format!("user{}", (i * 7_919) % n as u64);
                let started = Instant::now();
                data(&mut w, Instr::GetUserPortfolio, &[&session, &user]).expect("portfolio");
                started.elapsed()
            })
            .collect();
        times.sort();
        let rss = rss_kib(master.pid());
        println!(
            "{n:>8}  {:>8}  {:>6.1}  {:>16}  {:>16}  {:>13}  {}",
            ms(start_up),
            rss as f64 * 1024.0 / 1e6,
            ms(cold),
            ms(next),
            ms(times[100]),
            ms(times[198])
        );
        drop(w);
        drop(master);
    }
}
