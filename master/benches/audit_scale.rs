//! `ptctl audit` and the daily equity snapshot at scale, on databases of
//! 10 000 and 100 000 accounts filled through the master's schema (each
//! account with 5 positions, 20 buys, one filled order naming its last
//! buy, and 30 days of equity history). The audit goes one account at a
//! time, so its peak memory should not grow with the accounts. The
//! snapshot: how long the trade thread is held, writing it itself
//! (`standing::snapshot`) against handing it to the snapshot thread
//! (`Snapshots::take`, which waits for that thread's read to begin), both
//! in the same run on the same database. And the question the trade
//! thread asks at every price set, whether any account owes shares, with
//! and without the index that answers it (`positions_short`, migration
//! 10), also in the same run.
//!
//! `cargo bench -p papertrader-master --bench audit_scale`; set
//! `AUDIT_ACCOUNTS=10000,100000,1000000` for other sizes (1 000 000 takes
//! minutes to fill and about 1 GB of disk). Memory is the process's peak
//! resident set during the audit (VmHWM, reset just before it through
//! /proc/self/clear_refs), less the resident set before it.

use std::time::Instant;

use std::collections::HashMap;

use papertrader_common::value::{Date, Money, Symbol, Timestamp};
use papertrader_master::db;
use papertrader_master::trade::snapshots::Snapshots;
use papertrader_master::trade::standing;
use rusqlite::Connection;

// Only its scratch directory is used here.
#[allow(dead_code)]
mod support;

use support::TempDir;

#[path = "support/fill.rs"]
mod fill;

use fill::{SYMBOLS, fill};

/// The best of 5 of the trade thread's two questions about shorts at a
/// price set: whether any account owes shares, and which.
fn shorts_query(conn: &Connection) -> std::time::Duration {
    (0..5)
        .map(|_| {
            let started = Instant::now();
            let any: bool = conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM positions WHERE quantity < 0)",
                    [],
                    |r| r.get(0),
                )
                .expect("exists");
            let which: Vec<i64> = conn
                .prepare("SELECT DISTINCT account_id FROM positions WHERE quantity < 0")
                .expect("prepare")
                .query_map([], |r| r.get(0))
                .expect("query")
                .collect::<rusqlite::Result<_>>()
                .expect("rows");
            assert!(!any && which.is_empty());
            started.elapsed()
        })
        .min()
        .expect("five runs")
}

/// A `/proc/self/status` figure in KiB.
fn status_kib(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").expect("status");
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let sizes: Vec<usize> = std::env::var("AUDIT_ACCOUNTS")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .map(|n| n.trim().parse().expect("AUDIT_ACCOUNTS: numbers"))
        .collect();
    let dir = TempDir::new("audit-scale");
    println!(
        "accounts   fill s   audit s   peak extra RSS MiB   snapshot written here s   \
         snapshot handed off ms"
    );
    for n in sizes {
        let path = dir.0.join(format!("audit-{n}.db"));
        let started = Instant::now();
        let conn = fill(&path, n);
        let filled = started.elapsed();
        let before = status_kib("VmRSS:");
        std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM");
        let started = Instant::now();
        let report = papertrader_master::trade::audit(&conn).expect("audit");
        let took = started.elapsed();
        let peak = status_kib("VmHWM:");
        assert!(report.is_empty(), "{:?}", &report[..report.len().min(5)]);
        let mut conn = conn;
        let prices: HashMap<Symbol, Money> = SYMBOLS
            .iter()
            .map(|s| (Symbol::parse(s).expect("symbol"), Money(123_456)))
            .collect();
        let started = Instant::now();
        let written = standing::snapshot(&mut conn, Date::of_timestamp(Timestamp(86_400)), &prices)
            .expect("snapshot");
        let here = started.elapsed();
        assert_eq!(written, n);
        let snapshots = Snapshots::spawn(db::open(&path).expect("second")).expect("spawn");
        let started = Instant::now();
        assert!(snapshots.take(Date::of_timestamp(Timestamp(2 * 86_400)), prices));
        let handed = started.elapsed();
        drop(snapshots);
        println!(
            "{n:>8}   {:>6.1}   {:>7.2}   {:>18.1}   {:>23.2}   {:>22.2}",
            filled.as_secs_f64(),
            took.as_secs_f64(),
            peak.saturating_sub(before) as f64 / 1024.0,
            here.as_secs_f64(),
            handed.as_secs_f64() * 1000.0
        );
        // getLeaderboard: ranking in the request, against the board the
        // standings thread keeps (the first request waits for a ranking,
        // the next ones until a change are answered from it).
        let started = Instant::now();
        standing::leaderboard(&conn).expect("ranking");
        let direct = started.elapsed();
        let board = standing::Board::default();
        let ranker =
            standing::spawn_ranker(db::open(&path).expect("third"), &board).expect("spawn");
        board.answer().expect("first ranking");
        let started = Instant::now();
        for _ in 0..1000 {
            board.answer().expect("ranked");
        }
        let cached = started.elapsed() / 1000;
        drop(board);
        ranker.join().expect("ranker");
        println!(
            "{n:>8}   getLeaderboard: {:.1} ms ranking in the request, {:.1} us from the board",
            direct.as_secs_f64() * 1000.0,
            cached.as_secs_f64() * 1e6
        );
        let indexed = shorts_query(&conn);
        conn.execute_batch("DROP INDEX positions_short")
            .expect("drop");
        let scanned = shorts_query(&conn);
        conn.execute_batch(
            "CREATE INDEX positions_short ON positions(account_id) WHERE quantity < 0",
        )
        .expect("again");
        println!(
            "{n:>8}   any short at a price set: {:.3} ms with positions_short, {:.1} ms without",
            indexed.as_secs_f64() * 1000.0,
            scanned.as_secs_f64() * 1000.0
        );
        drop(conn);
        let _ = std::fs::remove_file(&path);
    }
}
