//! The "snapshot" thread: writes the daily equity snapshot (PROTOCOL.md
//! section 4, `getEquityHistory`) off the trade thread. When the first
//! price set of a new UTC day arrives, the trade thread hands it the day
//! and the last prices and waits only until this thread holds a read
//! transaction, a snapshot of the database as the day ended (WAL readers
//! see the commits before them and none after); then it goes on trading
//! while this thread values every account in that snapshot, ends the read
//! and writes the rows in chunks ([`standing::SNAPSHOT_CHUNK`] a
//! transaction), so no writer waits long for the lock.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use papertrader_common::value::{Date, Money, Symbol};
use rusqlite::Connection;

use super::standing;

/// How long the trade thread waits for the snapshot's read to begin.
const PIN_TIMEOUT: Duration = Duration::from_secs(30);

/// One day's snapshot to take.
struct Job {
    day: Date,
    prices: HashMap<Symbol, Money>,
    /// Told once the read transaction holds the day's state.
    pinned: Sender<()>,
    /// Who takes it: [`WAITING`] until the snapshot thread claims it
    /// ([`CLAIMED`]) or the trade thread gives up on it ([`ABANDONED`]),
    /// so that it is never taken twice.
    owner: Arc<AtomicU8>,
}

const WAITING: u8 = 0;
const CLAIMED: u8 = 1;
const ABANDONED: u8 = 2;

/// The handle the trade thread keeps.
pub struct Snapshots {
    jobs: Option<Sender<Job>>,
    handle: Option<JoinHandle<()>>,
}

impl Snapshots {
    /// Starts the "snapshot" thread on its own connection.
    pub fn spawn(conn: Connection) -> io::Result<Snapshots> {
        let (jobs, rx) = crossbeam_channel::bounded(4);
        let handle = thread::Builder::new()
            .name("snapshot".into())
            .spawn(move || run(conn, &rx))?;
        Ok(Snapshots {
            jobs: Some(jobs),
            handle: Some(handle),
        })
    }

    /// Has the snapshot of `day` at `prices` taken of the database as it
    /// stands now: returns once the snapshot thread holds a read of it
    /// (what the caller commits afterwards is not in it), or false when
    /// that thread is gone or did not take the job within [`PIN_TIMEOUT`]
    /// (it then never will: the caller writes the snapshot itself).
    pub fn take(&self, day: Date, prices: HashMap<Symbol, Money>) -> bool {
        let Some(jobs) = &self.jobs else {
            return false;
        };
        let (pinned, done) = crossbeam_channel::bounded(1);
        let owner = Arc::new(AtomicU8::new(WAITING));
        let job = Job {
            day,
            prices,
            pinned,
            owner: owner.clone(),
        };
        if jobs.send_timeout(job, PIN_TIMEOUT).is_err() {
            return false;
        }
        if done.recv_timeout(PIN_TIMEOUT).is_ok() {
            return true;
        }
        match owner.compare_exchange(WAITING, ABANDONED, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => false,
            // Claimed just now: its read begins at once.
            Err(_) => done.recv().is_ok(),
        }
    }
}

impl Drop for Snapshots {
    /// Lets a snapshot being written finish, then stops the thread.
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

fn run(mut conn: Connection, jobs: &Receiver<Job>) {
    for job in jobs {
        let started = Instant::now();
        let Job {
            day,
            prices,
            pinned,
            owner,
        } = job;
        let claimed = owner.compare_exchange(WAITING, CLAIMED, Ordering::AcqRel, Ordering::Acquire);
        if claimed.is_err() {
            papertrader_common::warn!("the equity of {day} was written by the trade thread");
            continue;
        }
        let read = (|| -> rusqlite::Result<Vec<(i64, i64)>> {
            let tx = conn.transaction()?;
            // A DEFERRED transaction reads from its first statement on.
            let pin = tx.query_row("SELECT count(*) FROM accounts WHERE id = 0", [], |_| Ok(()));
            // The trade thread goes on either way: it waits for this, not
            // for the read to have worked.
            let _ = pinned.send(());
            pin?;
            let rows = standing::equities_at(&tx, &prices)?;
            tx.commit()?;
            Ok(rows)
        })();
        let written = read.and_then(|rows| standing::write_snapshot(&mut conn, day, &rows));
        match written {
            Ok(n) => papertrader_common::info!(
                "equity of {n} accounts recorded for {day} in {:?}",
                started.elapsed()
            ),
            Err(err) => papertrader_common::error!(
                "cannot record the equity of {day}: {err}; getEquityHistory repeats the day \
                 before for the accounts not written"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use crate::db;

    /// The snapshot is of the moment it was asked for: a trade committed
    /// right after `take` returns is not in it, and it is all written.
    #[test]
    fn the_snapshot_is_of_the_moment_it_was_taken() {
        let dir = db::TempDir::new("snapshots");
        let path = dir.join("pt.db");
        let conn = db::open(&path).expect("open");
        let ids: Vec<i64> = (0..5_000)
            .map(|i| add_account(&conn, &format!("u{i}"), 1_000_000))
            .collect();
        let snapshots = Snapshots::spawn(db::open(&path).expect("second")).expect("spawn");
        let day = Date::of_timestamp(NOW);
        assert!(snapshots.take(day, HashMap::new()));
        conn.execute("UPDATE accounts SET cash = 5 WHERE id = ?1", [ids[0]])
            .expect("a later trade");
        drop(snapshots);
        let (count, first): (i64, i64) = conn
            .query_row(
                "SELECT count(*), (SELECT equity FROM equity_days WHERE account_id = ?1)
                 FROM equity_days WHERE day = ?2",
                rusqlite::params![ids[0], day.start().0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("rows");
        assert_eq!((count, first), (5_000, 1_000_000));
    }
}
