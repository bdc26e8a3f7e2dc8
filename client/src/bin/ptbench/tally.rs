//! What ptbench measures: the operations it times, each load thread's
//! tally of latencies and failures, and the live counters the progress
//! line reads.

use std::sync::atomic::{AtomicBool, AtomicU64};

use hdrhistogram::Histogram;

/// The operations timed, one histogram each.
pub const OPS: [&str; 11] = [
    "quote", "history", "login", "logout", "buy", "sell", "place", "cancel", "get", "switch",
    "account",
];

/// An answer that is part of an operation timed by a later one (the
/// first three requests of `account` over the protocol).
pub const PART: usize = usize::MAX;

/// The index of an operation in [`OPS`].
pub fn op_index(name: &str) -> usize {
    OPS.iter().position(|o| *o == name).unwrap_or(0)
}

/// What a thread measured.
pub struct Tally {
    /// Latency in microseconds per operation ([`OPS`] order).
    pub hist: Vec<Histogram<u64>>,
    /// Failures per operation.
    pub failed: Vec<u64>,
    /// Reason codes of failures, counted.
    pub reasons: Vec<(String, u64)>,
    /// Connections that could not be set up, with why.
    pub broken: Vec<String>,
    /// Open-loop sends skipped because a connection had too many outstanding.
    pub skipped: u64,
}

impl Tally {
    /// An empty tally (one per thread, and the one they merge into).
    pub fn new() -> Tally {
        Tally {
            hist: OPS
                .iter()
                .map(|_| Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds"))
                .collect(),
            failed: vec![0; OPS.len()],
            reasons: Vec::new(),
            broken: Vec::new(),
            skipped: 0,
        }
    }

    /// Counts `n` more failures of reason `code`.
    pub fn reason(&mut self, code: &str, n: u64) {
        match self.reasons.iter_mut().find(|(c, _)| c == code) {
            Some((_, m)) => *m += n,
            None => self.reasons.push((code.to_string(), n)),
        }
    }

    /// Adds another thread's tally.
    pub fn merge(&mut self, other: Tally) {
        for (mine, theirs) in self.hist.iter_mut().zip(&other.hist) {
            let _ = mine.add(theirs);
        }
        for (mine, theirs) in self.failed.iter_mut().zip(&other.failed) {
            *mine += theirs;
        }
        for (code, n) in other.reasons {
            self.reason(&code, n);
        }
        self.broken.extend(other.broken);
        self.skipped += other.skipped;
    }
}

/// Live counters the progress line reads.
#[derive(Default)]
pub struct Live {
    /// Operations answered (after warm-up).
    pub done: AtomicU64,
    /// Operations failed (after warm-up).
    pub failed: AtomicU64,
    /// Connections set up and running.
    pub running: AtomicU64,
    /// Set to stop early (SIGINT).
    pub stop: AtomicBool,
}
