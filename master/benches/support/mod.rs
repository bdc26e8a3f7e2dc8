//! What the trade benchmarks share: a scratch directory, the accounts,
//! the symbols and the price set they fill at.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use papertrader_common::value::{Money, Symbol, Timestamp};
use papertrader_master::db::accounts::{self, NewAccount};
use papertrader_master::db::{self};
use rusqlite::{Connection, Transaction};

/// Accounts the orders come from.
pub const ACCOUNTS: usize = 1_000;
/// Symbols they trade.
pub const SYMBOLS: usize = 20;
/// The batch time.
pub const NOW: Timestamp = Timestamp(1_732_147_200);
/// 1 000 000.0000 each: far more than their orders cost.
pub const START_CASH: Money = Money(10_000_000_000);

/// A private directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// `pt-bench-TAG-PID` under the system's temp directory, empty.
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("pt-bench-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create bench dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh database `name` in `dir`, and a transaction that has inserted
/// ACCOUNTS accounts (their ids returned) for the caller to add to and
/// commit.
pub fn with_accounts(
    dir: &TempDir,
    name: &str,
    fill: impl FnOnce(&Transaction<'_>, &[i64]),
) -> Connection {
    let mut conn = db::open(&dir.0.join(name)).expect("open db");
    let tx = conn.transaction().expect("begin");
    let ids: Vec<i64> = (0..ACCOUNTS)
        .map(|i| {
            let username = format!("user{i}");
            let account = NewAccount {
                username: &username,
                username_key: &username,
                email: "bench@example.com",
                pass_hash: None,
                cash: START_CASH,
                created: NOW,
            };
            accounts::insert(&tx, &account).expect("insert account")
        })
        .collect();
    fill(&tx, &ids);
    tx.commit().expect("commit set-up");
    conn
}

/// SYM00 to SYM19.
pub fn symbols() -> Vec<Symbol> {
    (0..SYMBOLS)
        .map(|i| Symbol::parse(&format!("SYM{i:02}")).expect("symbol"))
        .collect()
}

/// A price for each symbol, all different.
pub fn prices(symbols: &[Symbol]) -> HashMap<Symbol, Money> {
    symbols
        .iter()
        .enumerate()
        .map(|(i, s)| (s.clone(), Money(1_000_000 + 12_345 * i as i64)))
        .collect()
}

/// Runs `rounds` rounds of `round` (which times run_batch, then raw
/// rusqlite doing the same writes), printing each, then the best of each
/// under the heading `what` and their ratio against `target`.
pub fn compare(
    rounds: usize,
    what: &str,
    target: f64,
    mut round: impl FnMut(usize) -> (Duration, Duration),
) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (mut batch, mut raw) = (Duration::MAX, Duration::MAX);
    for r in 0..rounds {
        let (b, w) = round(r);
        println!("round {r}: run_batch {:.1} ms, raw {:.1} ms", ms(b), ms(w));
        batch = batch.min(b);
        raw = raw.min(w);
    }
    println!("{what} (best of {rounds})");
    println!("run_batch: {:.1} ms", ms(batch));
    println!("raw rusqlite: {:.1} ms", ms(raw));
    println!(
        "ratio raw_time / batch_time: {:.2} (target >= {target:.2})",
        raw.as_secs_f64() / batch.as_secs_f64()
    );
}
