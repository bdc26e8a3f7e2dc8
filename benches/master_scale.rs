//! A real ptmasterd on databases of many accounts (issue "Run it for
//! real"): the database is filled through the master's schema (the scale
//! generator, master/benches/support/fill.rs: 5 positions, 20 buys, one
//! filled order and 30 days of equity per account), then the master starts
//! on it with a simulated market of the five symbols the accounts hold,
//! a test worker links to it, and the bench reports the database's size,
//! start-up time, RSS, getLeaderboard (the first call, which waits for the
//! first ranking; the first call after the next price set, which the
//! standings thread has ranked by then since someone looked; the call
//! right after it), getUserPortfolio of random accounts (p50, p99), the trade
//! thread's time for the price set that fills 5,000 orders (50 traders,
//! 100 purchases each, pipelined; from the master's debug log) and
//! `ptctl audit`.
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

/// Traders and purchases each for the price set of 5,000 orders.
const TRADERS: usize = 50;
const PURCHASES: usize = 100;

/// The longest "trade batch" the master logged, `(orders, time)`.
fn biggest_batch(log: &std::path::Path) -> Option<(usize, Duration)> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .filter_map(|l| {
            let rest = l.split("trade batch: ").nth(1)?;
            let orders = rest.split(' ').next()?.parse().ok()?;
            let time = util::parse_debug_duration(rest.rsplit(" in ").next()?)?;
            Some((orders, time))
        })
        .max()
}

/// Registers and logs in `TRADERS` traders, sends all their purchases
/// without waiting, and reads every reply.
fn place_many(w: &mut util::master::TestWorker) {
    let mut sessions = Vec::new();
    for t in 0..TRADERS {
        let name = format!("trader{t}");
        let pass = hashed_pass(&name, "pw");
        let (i, a) = w.request(
            Instr::Register,
            &[&name, &format!("{name}@example.com"), &pass],
        );
        assert_eq!(i, Instr::RegisterSuccess, "{a:?}");
        let (i, a) = w.request(Instr::Login, &[&name, &pass, "false"]);
        assert_eq!(i, Instr::SessionId, "{a:?}");
        sessions.push(a[0].clone());
    }
    for p in 0..PURCHASES {
        for session in &sessions {
            let symbol = fill::SYMBOLS[p % fill::SYMBOLS.len()];
            w.send_request(Instr::PurchaseAsset, &[session, symbol, "1"]);
        }
    }
    for _ in 0..TRADERS * PURCHASES {
        w.recv_reply();
    }
    // And as many limit buys far under the price, which stay open: the
    // trade thread checks them at every price set (the day change too).
    for p in 0..PURCHASES {
        for session in &sessions {
            let symbol = fill::SYMBOLS[p % fill::SYMBOLS.len()];
            let mut args = vec![session.as_str()];
            args.extend(["buy", symbol, "1", "limit", "0.01", "-", "gtc"]);
            w.send_request(Instr::PlaceOrder, &args);
        }
    }
    for _ in 0..TRADERS * PURCHASES {
        let (_, instr, args) = w.recv_reply();
        assert_eq!(instr, Instr::OrderAccepted, "{args:?}");
    }
}

/// The database file and its WAL, in bytes.
fn db_bytes(db: &std::path::Path) -> u64 {
    let wal = db.with_extension("db-wal");
    [db, wal.as_path()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
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
    println!(
        "accounts  DB MB  start-up  RSS MB  leaderboard first  after a price set  next  \
         portfolio p50  p99  price set (orders)  audit"
    );
    for n in sizes {
        let setup = MasterSetup::new(&format!("scale{n}"));
        let db = setup.dir.join("master.db");
        drop(fill::fill(&db, n));
        let db_mb = db_bytes(&db) as f64 / 1e6;
        let assets = setup.dir.join("assets.list");
        let list: String = fill::SYMBOLS
            .iter()
            .map(|s| format!("{s} market=always {s} Corp.\n"))
            .collect();
        std::fs::write(&assets, list).expect("asset list");
        let extra = format!(
            "update_interval = 2s\nhistory_days = 0\nassets_file = {}\nlog_level = debug\n\
             max_waiting_orders_per_account = {PURCHASES}\nregister_limit = 1000\n{}",
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
        while w.data(Instr::GetAssetValueCurrent, &["AAA"]).is_err() {
            assert!(Instant::now() < deadline, "no price");
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_secs(2));
        let started = Instant::now();
        w.data(Instr::GetLeaderboard, &[]).expect("leaderboard");
        let cold = started.elapsed();
        // Looked at: the next price set is ranked before anyone asks.
        std::thread::sleep(Duration::from_millis(2_500));
        let started = Instant::now();
        w.data(Instr::GetLeaderboard, &[]).expect("leaderboard");
        let after = started.elapsed();
        let started = Instant::now();
        w.data(Instr::GetLeaderboard, &[]).expect("leaderboard");
        let next = started.elapsed();
        let mut times: Vec<Duration> = (0..200u64)
            .map(|i| {
                let user = format!("user{}", (i * 7_919) % n as u64);
                let started = Instant::now();
                w.data(Instr::GetUserPortfolio, &[&session, &user])
                    .expect("portfolio");
                started.elapsed()
            })
            .collect();
        times.sort();
        let rss = util::rss_kib(master.pid());
        place_many(&mut w);
        // The log is written from memory on SIGUSR1.
        let _ = std::process::Command::new("kill")
            .args(["-USR1", &master.pid().to_string()])
            .status();
        std::thread::sleep(Duration::from_millis(500));
        let (orders, batch) = biggest_batch(&setup.log_file()).unwrap_or_default();
        let started = Instant::now();
        let sock = setup.control_socket();
        let audit = util::run("ptctl", &["-s", sock.to_str().expect("path"), "audit"], b"");
        let audit_time = started.elapsed();
        assert!(audit.status.success(), "audit: {audit:?}");
        println!(
            "{n:>8}  {db_mb:>5.0}  {:>8}  {:>6.1}  {:>17}  {:>17}  {:>4}  {:>13}  {}  {} ({orders})  \
             {:.2} s",
            util::ms(start_up),
            rss as f64 * 1024.0 / 1e6,
            util::ms(cold),
            util::ms(after),
            util::ms(next),
            util::ms(times[100]),
            util::ms(times[198]),
            util::ms(batch),
            audit_time.as_secs_f64()
        );
        drop(w);
        drop(master);
        println!("          {}", day_change(&setup, &extra));
    }
}

/// libfaketime, which `make scale-db` installs.
const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// The master started again under libfaketime at 23:59:45 UTC of today,
/// 1 s price sets, with the 5 000 open orders of [`place_many`], until the
/// snapshot thread has written the day that ended (at least 35 s, at most
/// 10 minutes): the longest price set the trade thread handled (a new
/// day's snapshot hand-off and the sets while the snapshot is written
/// included) and the snapshot thread's time, from the debug log. The monotonic clock stays real
/// (`FAKETIME_DONT_FAKE_MONOTONIC`), else the feed's timers stop. No
/// worker links: its signatures would be hours apart from the master's.
fn day_change(setup: &MasterSetup, extra: &str) -> String {
    if !std::path::Path::new(FAKETIME).exists() {
        return format!("day change: not measured, {FAKETIME} is missing (make scale-db)");
    }
    let today =
        papertrader_common::value::Date::of_timestamp(papertrader_common::value::Timestamp::now());
    let start = format!("@{today} 23:59:45");
    let _ = std::fs::remove_file(setup.log_file());
    let extra = extra.replace("update_interval = 2s", "update_interval = 1s");
    let master = setup.start_env(
        &extra,
        &[
            ("LD_PRELOAD", FAKETIME),
            // libfaketime reads the start as local time.
            ("TZ", "UTC"),
            ("FAKETIME", &start),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ],
    );
    std::thread::sleep(Duration::from_secs(35));
    let deadline = Instant::now() + Duration::from_secs(600);
    let text = loop {
        let _ = std::process::Command::new("kill")
            .args(["-USR1", &master.pid().to_string()])
            .status();
        std::thread::sleep(Duration::from_millis(500));
        let text = std::fs::read_to_string(setup.log_file()).unwrap_or_default();
        if text.contains(" recorded for ") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    drop(master);
    let sets: Vec<Duration> = text
        .lines()
        .filter(|l| l.contains("price set of "))
        .filter_map(|l| util::parse_debug_duration(l.rsplit(" in ").next()?))
        .collect();
    let snapshot = text
        .lines()
        .find(|l| l.contains("equity of ") && l.contains(" recorded for "))
        .and_then(|l| l.split("equity of ").nth(1))
        .unwrap_or("no snapshot recorded");
    format!(
        "day change: longest of {} price sets {}; snapshot thread: {}",
        sets.len(),
        util::ms(sets.iter().max().copied().unwrap_or_default()),
        snapshot.trim()
    )
}
