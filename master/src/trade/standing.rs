//! How accounts stand (PROTOCOL.md section 4): the leaderboard, the daily
//! equity snapshots and equity history.
//!
//! Equity is cash plus every position at its current price; a position
//! with no price is valued at its cost (as in the user views). The
//! leaderboard and today's equity use the close of each symbol's latest
//! tick; a snapshot uses the price set the trade thread last saw.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use papertrader_common::payload::{EquityPoint, Line, Standing, write_lines};
use papertrader_common::value::{
    Date, Money, Percent, Reason, ReasonCode, SHARE_SCALE, Symbol, Username,
};
use rusqlite::{Connection, OptionalExtension, params};

use super::ledger::Ledger;
use super::{internal, round_half_away};

/// Most lines `getLeaderboard` sends.
pub const LEADERS: usize = 100;

/// Longest equity history sent, in days (about 55 years).
const MAX_DAYS: i64 = 20_000;

/// Every account but closed portfolios (frozen: their equity no longer
/// counts anywhere).
const SELECT_CASH: &str = "SELECT id, cash FROM accounts WHERE status != 'closed'";
const SELECT_POSITIONS: &str = "SELECT account_id, symbol, quantity, cost FROM positions";
const PUT_SNAPSHOT: &str = "INSERT INTO equity_days (account_id, day, equity) VALUES (?1, ?2, ?3)
     ON CONFLICT (account_id, day) DO UPDATE SET equity = excluded.equity";

/// What a position adds to its account's equity: its shares at `price`
/// (rounded half away from zero), or its cost while its symbol has no
/// price. The leaderboard ([`super::ledger`]) and the snapshots value
/// positions alike through it.
pub(super) fn position_value(price: Option<Money>, quantity: i64, cost: i64) -> i128 {
    match price {
        Some(price) => round_half_away(
            i128::from(price.raw()) * i128::from(quantity),
            i128::from(SHARE_SCALE),
        ),
        None => i128::from(cost),
    }
}

/// Rows of a snapshot written per transaction, so that no other writer
/// waits long for the write lock.
pub const SNAPSHOT_CHUNK: usize = 2_000;

/// `(account id, equity)` of every account at `prices` (missing prices:
/// the cost): the snapshot's read, to run inside a read transaction for
/// one consistent moment.
pub fn equities_at(
    conn: &Connection,
    prices: &HashMap<Symbol, Money>,
) -> rusqlite::Result<Vec<(i64, i64)>> {
    let by_text: HashMap<&str, Money> = prices.iter().map(|(s, p)| (s.as_str(), *p)).collect();
    let mut held: HashMap<i64, i128> = HashMap::new();
    {
        let mut stmt = conn.prepare_cached(SELECT_POSITIONS)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (account, symbol, quantity, cost): (i64, String, i64, i64) =
                (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
            let price = by_text.get(symbol.as_str()).copied();
            *held.entry(account).or_default() += position_value(price, quantity, cost);
        }
    }
    let mut stmt = conn.prepare_cached(SELECT_CASH)?;
    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, cash): (i64, i64) = row?;
        let equity = i128::from(cash) + held.get(&id).copied().unwrap_or(0);
        out.push((id, i64::try_from(equity).unwrap_or(i64::MAX)));
    }
    Ok(out)
}

/// Tries to write a chunk of a snapshot this many times (each waits up to
/// the busy timeout for the write lock).
const CHUNK_ATTEMPTS: usize = 3;

/// Writes `rows` as the snapshot of `day`, [`SNAPSHOT_CHUNK`] rows per
/// transaction, each tried [`CHUNK_ATTEMPTS`] times; returns how many it
/// wrote.
pub fn write_snapshot(
    conn: &mut Connection,
    day: Date,
    rows: &[(i64, i64)],
) -> rusqlite::Result<usize> {
    for chunk in rows.chunks(SNAPSHOT_CHUNK) {
        let mut attempt = 1;
        while let Err(err) = write_chunk(conn, day, chunk) {
            if attempt == CHUNK_ATTEMPTS {
                return Err(err);
            }
            papertrader_common::warn!("equity of {day}: a chunk failed ({err}); again");
            attempt += 1;
        }
    }
    Ok(rows.len())
}

fn write_chunk(conn: &mut Connection, day: Date, chunk: &[(i64, i64)]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut put = tx.prepare_cached(PUT_SNAPSHOT)?;
        for (id, equity) in chunk {
            put.execute(params![id, day.start().0, equity])?;
        }
    }
    tx.commit()
}

/// Writes every account's equity at `prices` as its snapshot of `day`,
/// read in one transaction and written in chunks, all on `conn`'s thread
/// (the trade thread hands the work to [`super::snapshots`] instead).
/// Returns how many accounts it wrote.
pub fn snapshot(
    conn: &mut Connection,
    day: Date,
    prices: &HashMap<Symbol, Money>,
) -> rusqlite::Result<usize> {
    let rows = {
        let tx = conn.transaction()?;
        let rows = equities_at(&tx, prices)?;
        tx.commit()?;
        rows
    };
    write_snapshot(conn, day, &rows)
}

/// RETURN: the percent by which `equity` exceeds `start`, rounded half
/// away from zero to hundredths; 0 for an account that started with none.
pub fn percent_return(equity: i64, start: i64) -> Percent {
    if start <= 0 {
        return Percent(0);
    }
    let gain = i128::from(equity) - i128::from(start);
    let hundredths = round_half_away(gain * 10_000, i128::from(start));
    Percent(i64::try_from(hundredths).unwrap_or(if gain < 0 { i64::MIN } else { i64::MAX }))
}

/// Ranks `(username, return)` pairs: best first, ties by the lower-case
/// username's bytes, tied returns sharing the rank of the first of them;
/// at most [`LEADERS`].
pub fn rank(entries: Vec<(String, Percent)>) -> Vec<(u64, String, Percent)> {
    let borrowed = entries.iter().map(|(n, r)| (*r, n.as_str())).collect();
    super::ledger::top(borrowed)
        .into_iter()
        .map(|(rank, name, ret)| (rank, name.to_string(), ret))
        .collect()
}

/// The leaderboard as the "standings" thread last ranked it, which the
/// data threads answer `getLeaderboard` from. The thread keeps every
/// account in a [`Ledger`] that follows the database's changes; it ranks
/// at most once per price set (or reset), and only while someone looks: a
/// request after a change wakes the thread and waits up to [`FRESH_WAIT`]
/// for the new ranking, else gets the one before (one price set old), and
/// for [`LOOKED_AT`] after a request every change wakes the thread at
/// once, so that the next request finds the ranking made.
#[derive(Clone, Default)]
pub struct Board {
    inner: Arc<BoardInner>,
}

#[derive(Default)]
struct BoardInner {
    ranked: parking_lot::Mutex<Ranked>,
    changed: parking_lot::Condvar,
    /// Counts price sets and resets: what a ranking is of.
    generation: AtomicU64,
    /// Wakes the standings thread (none without one: callers rank).
    wake: OnceLock<Sender<()>>,
    /// When the leaderboard was last asked for, in ms since `epoch`.
    asked_ms: AtomicU64,
    /// The standings of each running competition, ranked after the last
    /// price set (protocol 1.2).
    games: parking_lot::Mutex<Arc<HashMap<i64, String>>>,
    epoch: OnceLock<Instant>,
}

impl BoardInner {
    /// Milliseconds since the board's first use, at least 1.
    fn now_ms(&self) -> u64 {
        let epoch = self.epoch.get_or_init(Instant::now);
        epoch.elapsed().as_millis() as u64 + 1
    }

    /// Whether the leaderboard was asked for in the last [`LOOKED_AT`].
    fn looked_at(&self) -> bool {
        let asked = self.asked_ms.load(Ordering::Acquire);
        asked > 0 && self.now_ms() <= asked + LOOKED_AT.as_millis() as u64
    }
}

#[derive(Default)]
struct Ranked {
    /// One more than the generation last ranked at (0: never).
    at: u64,
    payload: Option<String>,
}

/// How long a request waits for a ranking of the latest change when an
/// older one is at hand.
pub const FRESH_WAIT: Duration = Duration::from_secs(1);
/// How long the first request waits for the first ranking.
const FIRST_WAIT: Duration = Duration::from_secs(30);
/// How long after a request each change is ranked without waiting to be
/// asked.
pub const LOOKED_AT: Duration = Duration::from_secs(600);

impl Board {
    /// Prices moved or an account was reset: the ranking is old. The
    /// standings thread wakes: it ranks anew while someone has looked at
    /// the leaderboard lately, else only reads the changes.
    pub fn advance(&self) {
        let inner = &*self.inner;
        inner.generation.fetch_add(1, Ordering::AcqRel);
        if let Some(wake) = inner.wake.get() {
            let _ = wake.try_send(());
        }
    }

    /// Competition `id`'s standings as last ranked, if it was.
    pub fn game_standings(&self, id: i64) -> Option<String> {
        let games = self.inner.games.lock().clone();
        games.get(&id).cloned()
    }

    /// Whether there is a standings thread to answer (else callers rank).
    pub fn has_ranker(&self) -> bool {
        self.inner.wake.get().is_some()
    }

    /// The leaderboard payload: the latest ranking, woken and waited for
    /// if it is older than the last change; `None` when there is no
    /// standings thread or no ranking came (the caller ranks itself).
    pub fn answer(&self) -> Option<String> {
        let inner = &*self.inner;
        let wake = inner.wake.get()?;
        inner.asked_ms.store(inner.now_ms(), Ordering::Release);
        let want = inner.generation.load(Ordering::Acquire) + 1;
        let mut ranked = inner.ranked.lock();
        if ranked.at >= want {
            return ranked.payload.clone();
        }
        let _ = wake.try_send(());
        let wait = if ranked.payload.is_some() {
            FRESH_WAIT
        } else {
            FIRST_WAIT
        };
        let deadline = Instant::now() + wait;
        while ranked.at < want {
            if inner.changed.wait_until(&mut ranked, deadline).timed_out() {
                break;
            }
        }
        ranked.payload.clone()
    }
}

/// Starts the "standings" thread on its own read connection for `board`:
/// it loads the [`Ledger`] at once, ranks when a request wakes it
/// ([`Board::answer`]), and stops once every handle of the board is gone
/// (it keeps only a weak one).
pub fn spawn_ranker(conn: Connection, board: &Board) -> io::Result<JoinHandle<()>> {
    let (tx, rx) = crossbeam_channel::bounded::<()>(1);
    let _ = board.inner.wake.set(tx);
    let weak = Arc::downgrade(&board.inner);
    thread::Builder::new()
        .name("standings".into())
        .spawn(move || {
            let mut ledger = None;
            let started = Instant::now();
            match load(&conn) {
                Ok(loaded) => {
                    papertrader_common::info!(
                        "standings: {} accounts loaded in {:.1?}",
                        loaded.len(),
                        started.elapsed()
                    );
                    ledger = Some(loaded);
                }
                Err(reason) => papertrader_common::error!("standings: {reason}"),
            }
            // The sender lives in the board: gone with its last handle.
            while rx.recv().is_ok() {
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                while rx.try_recv().is_ok() {}
                let at = inner.generation.load(Ordering::Acquire) + 1;
                let looked = inner.looked_at();
                // Running competitions are ranked after every change,
                // looked at or not (protocol 1.2: their standings follow
                // each price set).
                let started = Instant::now();
                let ranked = follow(&conn, &mut ledger, looked);
                // The whole pass: what each price set costs this thread
                // (BENCHMARKS.md reads it from the debug log).
                papertrader_common::debug!(
                    "standings pass: {} competitions, leaderboard {}, in {:?}",
                    ranked.as_ref().map_or(0, |r| r.games.len()),
                    if looked { "ranked" } else { "not asked" },
                    started.elapsed()
                );
                let result = match ranked {
                    Ok(Ranking { board, games }) => {
                        *inner.games.lock() = Arc::new(games);
                        match board {
                            Some(payload) => Ok(payload),
                            None => continue,
                        }
                    }
                    Err(reason) if !looked => {
                        papertrader_common::error!("standings: {reason}");
                        continue;
                    }
                    Err(reason) => Err(reason),
                };
                {
                    // A failed ranking keeps the last payload (or none: the
                    // waiters then rank themselves) but ends their wait.
                    let mut ranked = inner.ranked.lock();
                    ranked.at = at;
                    match result {
                        Ok(payload) => ranked.payload = Some(payload),
                        Err(reason) => {
                            papertrader_common::error!("cannot rank the accounts: {reason}")
                        }
                    }
                }
                inner.changed.notify_all();
            }
        })
}

/// Every account, read in one read transaction.
fn load(conn: &Connection) -> Result<Ledger, Reason> {
    let read = || -> rusqlite::Result<Ledger> {
        let tx = conn.unchecked_transaction()?;
        let ledger = Ledger::load(&tx)?;
        tx.finish()?;
        Ok(ledger)
    };
    read().map_err(|err| internal("cannot read the accounts to rank", err))
}

/// What one pass of the standings thread ranked.
struct Ranking {
    /// The leaderboard, when asked for.
    board: Option<String>,
    /// The standings of each running competition.
    games: HashMap<i64, String>,
}

/// The running competitions at `now` (number → index) and their players
/// who are out (removed or gone).
type Running = (HashMap<i64, usize>, std::collections::HashSet<i64>);

fn running(conn: &Connection, now: i64) -> rusqlite::Result<Running> {
    let mut games = HashMap::new();
    let mut stmt =
        conn.prepare_cached("SELECT id FROM games WHERE start <= ?1 AND end > ?1 ORDER BY id")?;
    for id in stmt.query_map([now], |r| r.get::<_, i64>(0))? {
        let next = games.len();
        games.insert(id?, next);
    }
    let mut out = std::collections::HashSet::new();
    if !games.is_empty() {
        let mut stmt = conn.prepare_cached(
            "SELECT a.id FROM games g JOIN accounts a ON a.game_id = g.id
             WHERE g.end > ?1 AND g.start <= ?1 AND a.status != 'open'",
        )?;
        for id in stmt.query_map([now], |r| r.get::<_, i64>(0))? {
            out.insert(id?);
        }
    }
    Ok((games, out))
}

/// Brings `ledger` up to date (loading it if it is not there yet) and
/// ranks the running competitions and, when `board`, the leaderboard,
/// all in one read transaction.
fn follow(conn: &Connection, ledger: &mut Option<Ledger>, board: bool) -> Result<Ranking, Reason> {
    let held = match ledger {
        Some(held) => held,
        None => ledger.insert(load(conn)?),
    };
    let failed = |err| internal("cannot rank the accounts", err);
    let tx = conn.unchecked_transaction().map_err(failed)?;
    held.catch_up(&tx).map_err(failed)?;
    let now = papertrader_common::value::Timestamp::now().0;
    let (games, out) = running(&tx, now).map_err(failed)?;
    let prices = if board || !games.is_empty() {
        held.prices(&tx).map_err(failed)?
    } else {
        Vec::new()
    };
    let mut ranked = HashMap::with_capacity(games.len());
    for (game, standings) in held.rank_games(&prices, &games, &out) {
        ranked.insert(game, payload(standings)?);
    }
    let board = if board {
        Some(payload(held.rank_at_prices(&prices))?)
    } else {
        None
    };
    let _ = tx.finish();
    Ok(Ranking {
        board,
        games: ranked,
    })
}

/// getLeaderboard without a standings thread: the [`LEADERS`] best
/// accounts by return, every account read for this one answer.
pub fn leaderboard(conn: &Connection) -> Result<String, Reason> {
    let mut ledger = None;
    let ranking = follow(conn, &mut ledger, true)?;
    Ok(ranking.board.unwrap_or_default())
}

/// The wire form of a ranking.
pub(super) fn payload(ranked: Vec<(u64, &str, Percent)>) -> Result<String, Reason> {
    let mut lines = Vec::with_capacity(ranked.len());
    for (rank, name, ret) in ranked {
        let username =
            Username::parse(name).map_err(|err| internal("a stored username is malformed", err))?;
        lines.push(Standing {
            rank,
            username,
            ret,
        });
    }
    Ok(write_lines(&lines))
}

/// getEquityHistory: the owner's equity, one line per UTC day from the
/// day it opened or was last reset to `today`, oldest first. A day with a
/// snapshot shows it; today shows the equity as it stands; a day without
/// one (the master was down at its end) repeats the day before, and the
/// days before the first snapshot show the starting cash.
pub fn equity_history(
    conn: &Connection,
    viewer: crate::auth::Viewer,
    username: &Username,
    today: Date,
) -> Result<String, Reason> {
    let found = conn
        .query_row(
            "SELECT id, cash, start_cash, started FROM accounts WHERE username_key = ?1",
            [username.key()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .optional()
        .map_err(|err| internal("cannot look up an account", err))?;
    let Some((id, cash, start, started)): Option<(i64, i64, i64, i64)> = found else {
        let text = format!("no user named {username}");
        return Err(Reason::new(ReasonCode::UnknownUser, text));
    };
    if id != viewer.login {
        let text = format!("the equity history of {username} is private");
        return Err(Reason::new(ReasonCode::Forbidden, text));
    }
    // One's own name: the portfolio the session acts on (protocol 1.2).
    let (id, cash, start, started) = if viewer.book == id {
        (id, cash, start, started)
    } else {
        conn.query_row(
            "SELECT id, cash, start_cash, started FROM accounts WHERE id = ?1",
            [viewer.book],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .map_err(|err| internal("cannot read a portfolio", err))?
    };
    let first = Date::of_timestamp(papertrader_common::value::Timestamp(started));
    let first_day = first
        .start()
        .0
        .max(today.start().0 - (MAX_DAYS - 1) * 86_400);
    let snapshots: HashMap<i64, i64> = conn
        .prepare_cached("SELECT day, equity FROM equity_days WHERE account_id = ?1 AND day >= ?2")
        .and_then(|mut stmt| {
            stmt.query_map(params![id, first_day], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect()
        })
        .map_err(|err| internal("cannot read equity snapshots", err))?;
    let now = super::views::equity_of(conn, id, cash, format_args!("account {id}"))?;
    let mut points = Vec::new();
    let mut carried = Money(start);
    let mut day = first_day;
    while day <= today.start().0 {
        let date = Date::of_timestamp(papertrader_common::value::Timestamp(day));
        let equity = if day == today.start().0 {
            now
        } else {
            snapshots.get(&day).map_or(carried, |&e| Money(e))
        };
        carried = equity;
        points.push(EquityPoint { date, equity });
        day += 86_400;
    }
    let mut out = String::with_capacity(points.len() * 24);
    for point in &points {
        point.write(&mut out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// The standings thread ranks when asked after a change, once for
    /// many requests, and a reset or price set makes the next request see
    /// the new ranking.
    #[test]
    fn the_board_ranks_once_per_change_when_asked() {
        use super::super::test_util::*;
        let db = test_db("board");
        let path = db.conn.path().expect("a file").to_string();
        add_account(&db.conn, "ann", 10_000_000);
        let board = Board::default();
        assert_eq!(
            board.answer(),
            None,
            "no standings thread: the caller ranks"
        );
        let handle = spawn_ranker(
            crate::db::open(std::path::Path::new(&path)).expect("open"),
            &board,
        )
        .expect("spawn");
        assert_eq!(board.answer().as_deref(), Some("1 ann 0.00\n"));
        let bob = add_account(&db.conn, "bob", 10_000_000);
        // A dividend, as corporate actions write it: cash and a line.
        db.conn
            .execute_batch(&format!(
                "UPDATE accounts SET cash = 11000000 WHERE id = {bob};
                 INSERT INTO transactions (account_id, time, side, symbol, quantity, price)
                 VALUES ({bob}, 1700000000, 'dividend', 'AAA', 1, 1000000);"
            ))
            .expect("bob gains");
        assert_eq!(
            board.answer().as_deref(),
            Some("1 ann 0.00\n"),
            "no price set or reset since: the ranking holds"
        );
        board.advance();
        assert_eq!(board.answer().as_deref(), Some("1 bob 10.00\n2 ann 0.00\n"));
        // Looked at lately: a change is ranked before anyone asks.
        let at = board.inner.generation.load(Ordering::Acquire) + 2;
        board.advance();
        let deadline = Instant::now() + Duration::from_secs(10);
        while board.inner.ranked.lock().at < at {
            assert!(Instant::now() < deadline, "ranked without a request");
            thread::sleep(Duration::from_millis(5));
        }
        drop(board);
        handle.join().expect("stops with the board");
    }

    use super::*;

    #[test]
    fn returns_round_half_away_from_zero() {
        assert_eq!(percent_return(1_100, 1_000), Percent(1_000));
        assert_eq!(percent_return(900, 1_000), Percent(-1_000));
        // 1/3 of a percent: 0.3333... -> 0.33; 2/3 -> 0.67.
        assert_eq!(percent_return(300_001, 300_000).to_string(), "0.00");
        assert_eq!(percent_return(3_001, 3_000).to_string(), "0.03");
        assert_eq!(percent_return(3_002, 3_000).to_string(), "0.07");
        // Exactly half a hundredth rounds away: 0.005% of 200 000.
        assert_eq!(percent_return(200_010, 200_000).to_string(), "0.01");
        assert_eq!(percent_return(199_990, 200_000).to_string(), "-0.01");
        assert_eq!(percent_return(5, 0), Percent(0));
        assert_eq!(percent_return(0, 10).to_string(), "-100.00");
    }

    #[test]
    fn ties_share_a_rank_and_sort_by_lower_case_name() {
        let entries = vec![
            ("bob".to_string(), Percent(500)),
            ("Alice".to_string(), Percent(500)),
            ("carol".to_string(), Percent(900)),
            ("dave".to_string(), Percent(-100)),
            ("_x".to_string(), Percent(500)),
        ];
        let ranked = rank(entries);
        let shown: Vec<(u64, &str)> = ranked.iter().map(|(r, n, _)| (*r, n.as_str())).collect();
        // '_' (0x5f) sorts before 'a' (0x61) in lower-case bytes.
        assert_eq!(
            shown,
            vec![
                (1, "carol"),
                (2, "_x"),
                (2, "Alice"),
                (2, "bob"),
                (5, "dave")
            ]
        );
    }

    #[test]
    fn at_most_a_hundred_are_ranked() {
        let entries = (0..250).map(|i| (format!("u{i:03}"), Percent(i))).collect();
        let ranked = rank(entries);
        assert_eq!(ranked.len(), LEADERS);
        assert_eq!(ranked[0], (1, "u249".to_string(), Percent(249)));
    }
}
