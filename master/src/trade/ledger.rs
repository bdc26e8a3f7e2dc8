//! Every account's cash and holdings in memory, for the leaderboard.
//!
//! The standings thread loads them once, then follows the database: new
//! accounts by id, and the accounts named by the history lines written
//! since (every change of cash or holdings writes one: a fill, a fee, a
//! liquidation, a split, a dividend, a reset). A ranking therefore reads
//! from SQLite only what changed since the last one, and the latest
//! price of each held symbol; valuing every account is a pass over
//! memory, and only the [`LEADERS`] best are sorted.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use papertrader_common::value::{Money, Percent, Symbol};
use rusqlite::{Connection, params};

use super::standing::{LEADERS, percent_return, position_value};
use crate::market::store;

/// Every account after `?1`, with where it is ranked: 0 on the
/// leaderboard (a login's own portfolio), a competition's number, or -1
/// nowhere (a login's further portfolio).
const SELECT_ACCOUNTS: &str = "SELECT id, username, cash, start_cash,
         CASE WHEN owner_id IS NULL THEN 0 ELSE COALESCE(game_id, -1) END
     FROM accounts WHERE id > ?1 ORDER BY id";
const SELECT_ACCOUNT: &str = "SELECT cash, start_cash FROM accounts WHERE id = ?1";
const SELECT_ALL_HELD: &str =
    "SELECT account_id, symbol, quantity, cost FROM positions ORDER BY account_id";
const SELECT_HELD: &str = "SELECT symbol, quantity, cost FROM positions WHERE account_id = ?1";
const SELECT_CHANGED: &str = "SELECT txid, account_id FROM transactions WHERE txid > ?1";
const LAST_TXID: &str = "SELECT COALESCE(MAX(txid), 0) FROM transactions";

/// One account as the ledger holds it: its name and positions are runs
/// of [`Ledger::names`] and [`Ledger::held`] (one allocation for all the
/// accounts, not one each: a fifth less memory at a million).
struct Row {
    id: i64,
    cash: i64,
    start: i64,
    /// Where it is ranked: [`LEADERBOARD`], a competition's number, or
    /// -1 nowhere.
    group: i64,
    held_at: usize,
    name_at: usize,
    held_len: u32,
    name_len: u32,
}

/// A ranking: `(rank, username, return)`, best first.
pub type Ranked<'a> = Vec<(u64, &'a str, Percent)>;

/// The group of a login's own portfolio: the leaderboard.
pub const LEADERBOARD: i64 = 0;
/// Garbage positions past which, once they are half of all, `held` is
/// compacted (few in tests, so that the model test compacts often).
const COMPACT_AFTER: usize = if cfg!(test) { 2 } else { 1024 };

/// The symbol index of a position whose stored symbol is malformed.
const NO_SYMBOL: u32 = u32::MAX;

/// One position: its shares (10^-9 units, negative when short), its cost
/// (what it is worth while its symbol has no price) and the symbol's
/// index in [`Ledger::symbols`]. Packed: 20 bytes, not 24 (read by value
/// only).
#[derive(Clone, Copy)]
#[repr(C, packed(4))]
struct Held {
    quantity: i64,
    cost: i64,
    symbol: u32,
}

/// The accounts in memory, in id order, and how far into the database's
/// changes they are.
#[derive(Default)]
pub struct Ledger {
    rows: Vec<Row>,
    /// Every account's username, one after the other.
    names: String,
    /// Every account's positions, one run per account; a run replaced by
    /// a longer one is left behind as garbage until [`Ledger::compact`].
    held: Vec<Held>,
    /// Positions in `held` no account refers to.
    garbage: usize,
    symbols: Vec<Symbol>,
    symbol_ids: HashMap<Symbol, u32>,
    /// The last history line (`txid`) read.
    last_txid: i64,
}

impl Ledger {
    /// Reads every account and position. Call it inside a read
    /// transaction, so that the accounts, their positions and the last
    /// history line are of one moment.
    pub fn load(conn: &Connection) -> rusqlite::Result<Ledger> {
        let mut ledger = Ledger {
            last_txid: conn.query_row(LAST_TXID, [], |r| r.get(0))?,
            ..Ledger::default()
        };
        ledger.add_accounts(conn)?;
        let mut stmt = conn.prepare(SELECT_ALL_HELD)?;
        let mut rows = stmt.query([])?;
        let (mut at, mut from) = (None, 0);
        while let Some(row) = rows.next()? {
            let account: i64 = row.get(0)?;
            if at != Some(account) {
                ledger.place(at, from);
                (at, from) = (Some(account), ledger.held.len());
            }
            let symbol: String = row.get(1)?;
            let held = ledger.position(&symbol, row.get(2)?, row.get(3)?);
            ledger.held.push(held);
        }
        ledger.place(at, from);
        Ok(ledger)
    }

    /// How many accounts it holds.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Reads what changed since the last load or catch-up: accounts added
    /// since, and the cash and positions of every account with a history
    /// line since. Inside a read transaction, as [`Ledger::load`].
    /// Returns how many accounts it read again.
    pub fn catch_up(&mut self, conn: &Connection) -> rusqlite::Result<usize> {
        self.add_accounts(conn)?;
        let mut changed = BTreeSet::new();
        let mut last = self.last_txid;
        {
            let mut stmt = conn.prepare_cached(SELECT_CHANGED)?;
            let mut rows = stmt.query([self.last_txid])?;
            while let Some(row) = rows.next()? {
                last = last.max(row.get(0)?);
                changed.insert(row.get::<_, i64>(1)?);
            }
        }
        for &id in &changed {
            self.reload(conn, id)?;
        }
        // Only now: after a failure the same changes are read again.
        self.last_txid = last;
        if self.garbage > COMPACT_AFTER && self.garbage > self.held.len() / 2 {
            self.compact();
        }
        Ok(changed.len())
    }

    /// Copies every account's run of positions into a new `held` without
    /// the garbage.
    fn compact(&mut self) {
        let mut fresh = Vec::with_capacity(self.held.len() - self.garbage);
        let old = &self.held;
        for row in &mut self.rows {
            let run = &old[row.held_at..row.held_at + row.held_len as usize];
            row.held_at = fresh.len();
            fresh.extend_from_slice(run);
        }
        self.held = fresh;
        self.garbage = 0;
    }

    /// Account `row`'s username.
    fn name(&self, row: &Row) -> &str {
        &self.names[row.name_at..row.name_at + row.name_len as usize]
    }

    /// Account `row`'s positions.
    fn positions(&self, row: &Row) -> &[Held] {
        &self.held[row.held_at..row.held_at + row.held_len as usize]
    }

    /// The best [`LEADERS`] accounts by return at the latest tick of each
    /// symbol (a position whose symbol has none counts at its cost):
    /// `(rank, username, return)`, ranked as [`super::standing::rank`].
    #[cfg(test)]
    pub fn rank(&self, conn: &Connection) -> rusqlite::Result<Vec<(u64, &str, Percent)>> {
        Ok(self.rank_at(&self.prices(conn)?))
    }

    /// The close of each symbol's latest tick, by symbol index.
    pub fn prices(&self, conn: &Connection) -> rusqlite::Result<Vec<Option<Money>>> {
        let mut prices = Vec::with_capacity(self.symbols.len());
        for symbol in &self.symbols {
            prices.push(store::last_tick(conn, symbol)?.map(|t| t.close));
        }
        Ok(prices)
    }

    /// The standings of every competition in `games` at `prices`: all its
    /// players but those in `out` (removed or gone), ranked as the
    /// leaderboard.
    pub fn rank_games(
        &self,
        prices: &[Option<Money>],
        games: &HashMap<i64, usize>,
        out: &std::collections::HashSet<i64>,
    ) -> Vec<(i64, Ranked<'_>)> {
        let mut by_game: Vec<Vec<(Percent, &str)>> = vec![Vec::new(); games.len()];
        for row in &self.rows {
            let Some(&at) = games.get(&row.group) else {
                continue;
            };
            if out.contains(&row.id) {
                continue;
            }
            let equity = equity(row.cash, self.positions(row), prices);
            by_game[at].push((percent_return(equity, row.start), self.name(row)));
        }
        let mut ids: Vec<(i64, usize)> = games.iter().map(|(&g, &at)| (g, at)).collect();
        ids.sort_unstable();
        ids.into_iter()
            .map(|(game, at)| {
                let entries = std::mem::take(&mut by_game[at]);
                (game, top_n(entries, usize::MAX))
            })
            .collect()
    }

    /// [`Ledger::rank`] at prices read already ([`Ledger::prices`]).
    pub fn rank_at_prices(&self, prices: &[Option<Money>]) -> Vec<(u64, &str, Percent)> {
        self.rank_at(prices)
    }

    fn rank_at(&self, prices: &[Option<Money>]) -> Vec<(u64, &str, Percent)> {
        let returns: Vec<(Percent, &str)> = self
            .rows
            .iter()
            .filter(|row| row.group == LEADERBOARD)
            .map(|row| {
                let equity = equity(row.cash, self.positions(row), prices);
                (percent_return(equity, row.start), self.name(row))
            })
            .collect();
        top(returns)
    }

    /// Appends the accounts with an id above the last one held.
    fn add_accounts(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        let after = self.rows.last().map_or(i64::MIN, |r| r.id);
        let mut stmt = conn.prepare_cached(SELECT_ACCOUNTS)?;
        let mut rows = stmt.query([after])?;
        while let Some(row) = rows.next()? {
            let name: String = row.get(1)?;
            let name_at = self.names.len();
            self.names.push_str(&name);
            self.rows.push(Row {
                id: row.get(0)?,
                cash: row.get(2)?,
                start: row.get(3)?,
                group: row.get(4)?,
                held_at: self.held.len(),
                name_at,
                held_len: 0,
                name_len: u32::try_from(name.len()).unwrap_or(u32::MAX),
            });
        }
        Ok(())
    }

    /// Reads account `id`'s cash, start and positions again.
    fn reload(&mut self, conn: &Connection, id: i64) -> rusqlite::Result<()> {
        let Ok(at) = self.rows.binary_search_by_key(&id, |r| r.id) else {
            // An account this read transaction cannot see yet.
            return Ok(());
        };
        let (cash, start): (i64, i64) =
            conn.query_row(SELECT_ACCOUNT, [id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut held = Vec::new();
        {
            let mut stmt = conn.prepare_cached(SELECT_HELD)?;
            let mut rows = stmt.query(params![id])?;
            while let Some(row) = rows.next()? {
                let symbol: String = row.get(0)?;
                let h = self.position(&symbol, row.get(1)?, row.get(2)?);
                held.push(h);
            }
        }
        let row = &mut self.rows[at];
        row.cash = cash;
        row.start = start;
        let old = row.held_len as usize;
        if held.len() <= old {
            // In place: the rest of the old run becomes garbage.
            self.held[row.held_at..row.held_at + held.len()].copy_from_slice(&held);
            self.garbage += old - held.len();
        } else {
            row.held_at = self.held.len();
            self.held.extend_from_slice(&held);
            self.garbage += old;
        }
        row.held_len = held.len() as u32;
        Ok(())
    }

    /// A position of `symbol`, its symbol interned. A symbol the table
    /// should never hold (malformed: logged) has no price: it counts at
    /// its cost.
    fn position(&mut self, symbol: &str, quantity: i64, cost: i64) -> Held {
        let Ok(parsed) = Symbol::parse(symbol) else {
            papertrader_common::error!("positions: a stored symbol is malformed: {symbol:?}");
            return Held {
                symbol: NO_SYMBOL,
                quantity,
                cost,
            };
        };
        let next = self.symbols.len() as u32;
        let index = *self.symbol_ids.entry(parsed.clone()).or_insert(next);
        if index == next {
            self.symbols.push(parsed);
        }
        Held {
            symbol: index,
            quantity,
            cost,
        }
    }

    /// Gives account `at` the positions from `from` to the end of `held`
    /// (loading, in id order); positions of no account held are garbage.
    fn place(&mut self, at: Option<i64>, from: usize) {
        let Some(id) = at else { return };
        let run = self.held.len() - from;
        match self.rows.binary_search_by_key(&id, |r| r.id) {
            Ok(i) => {
                self.rows[i].held_at = from;
                self.rows[i].held_len = run as u32;
            }
            Err(_) => self.garbage += run,
        }
    }
}

/// Cash plus every position at `prices` (at its cost without one).
fn equity(cash: i64, positions: &[Held], prices: &[Option<Money>]) -> i64 {
    let mut total = i128::from(cash);
    for &Held {
        quantity,
        cost,
        symbol,
    } in positions
    {
        let price = prices.get(symbol as usize).copied().flatten();
        total += position_value(price, quantity, cost);
    }
    i64::try_from(total).unwrap_or(if total < 0 { i64::MIN } else { i64::MAX })
}

/// Best return first, ties by the lower-case name's bytes.
fn better(a: &(Percent, &str), b: &(Percent, &str)) -> Ordering {
    b.0.cmp(&a.0).then_with(|| lower(a.1).cmp(lower(b.1)))
}

fn lower(name: &str) -> impl Iterator<Item = u8> + '_ {
    name.bytes().map(|c| c.to_ascii_lowercase())
}

/// The [`LEADERS`] best of `entries` in order, with their ranks: tied
/// returns share the rank of the first of them. Selecting before sorting
/// keeps it linear in the number of entries.
pub fn top(entries: Vec<(Percent, &str)>) -> Vec<(u64, &str, Percent)> {
    top_n(entries, LEADERS)
}

/// The `n` best of `entries` in order, ranked as [`top`].
pub fn top_n(mut entries: Vec<(Percent, &str)>, n: usize) -> Vec<(u64, &str, Percent)> {
    if n == 0 {
        return Vec::new();
    }
    if entries.len() > n {
        entries.select_nth_unstable_by(n - 1, better);
        entries.truncate(n);
    }
    entries.sort_unstable_by(better);
    let mut out: Vec<(u64, &str, Percent)> = Vec::with_capacity(entries.len());
    for (i, (ret, name)) in entries.into_iter().enumerate() {
        let rank = match out.last() {
            Some(&(prev_rank, _, prev)) if prev == ret => prev_rank,
            _ => i as u64 + 1,
        };
        out.push((rank, name, ret));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use papertrader_common::value::{Money, Percent, Timestamp};
    use proptest::prelude::*;

    use super::super::test_util::*;
    use super::super::{Side, run_batch};
    use super::{Ledger, top};
    use crate::trade::standing::{LEADERS, percent_return};

    /// The ranking as it was before the ledger: every account read from
    /// the tables, every symbol at its latest tick, all of them sorted.
    fn ranked_from_scratch(conn: &rusqlite::Connection) -> Vec<(u64, String, Percent)> {
        let mut stmt = conn
            .prepare("SELECT id, username, cash, start_cash FROM accounts")
            .expect("accounts");
        let accounts: Vec<(i64, String, i64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect();
        let mut entries = Vec::new();
        for (id, name, cash, start) in accounts {
            let mut equity = i128::from(cash);
            let mut held = conn
                .prepare("SELECT symbol, quantity, cost FROM positions WHERE account_id = ?1")
                .expect("positions");
            let rows: Vec<(String, i64, i64)> = held
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .expect("query")
                .map(|r| r.expect("row"))
                .collect();
            for (symbol, quantity, cost) in rows {
                let close: Option<i64> = conn
                    .query_row(
                        "SELECT close FROM ticks WHERE symbol = ?1 ORDER BY time DESC LIMIT 1",
                        [&symbol],
                        |r| r.get(0),
                    )
                    .ok();
                equity += match close {
                    Some(p) => crate::trade::round_half_away(
                        i128::from(p) * i128::from(quantity),
                        i128::from(ONE),
                    ),
                    None => i128::from(cost),
                };
            }
            let equity = i64::try_from(equity).expect("fits");
            entries.push((percent_return(equity, start), name));
        }
        entries.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| a.1.to_ascii_lowercase().cmp(&b.1.to_ascii_lowercase()))
        });
        let mut out: Vec<(u64, String, Percent)> = Vec::new();
        for (i, (ret, name)) in entries.into_iter().take(LEADERS).enumerate() {
            let rank = match out.last() {
                Some((r, _, prev)) if *prev == ret => *r,
                _ => i as u64 + 1,
            };
            out.push((rank, name, ret));
        }
        out
    }

    fn owned(ranked: Vec<(u64, &str, Percent)>) -> Vec<(u64, String, Percent)> {
        ranked
            .into_iter()
            .map(|(r, n, p)| (r, n.to_string(), p))
            .collect()
    }

    #[derive(Debug, Clone)]
    enum Step {
        Join(i64),
        Trade(usize, bool, usize, i64),
        Tick(usize, i64),
        Reset(usize),
    }

    const SYMBOLS: [&str; 3] = ["AAA", "BBB", "CCC"];

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (1_000_000i64..=20_000_000).prop_map(Step::Join),
            (0usize..8, any::<bool>(), 0usize..3, 1i64..=5)
                .prop_map(|(a, buy, s, q)| Step::Trade(a, buy, s, q)),
            (0usize..3, 10_000i64..=2_000_000).prop_map(|(s, p)| Step::Tick(s, p)),
            (0usize..8).prop_map(Step::Reset),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// A ledger that follows the changes ranks as one loaded afresh,
        /// and both as the full sort over the tables, after every step.
        #[test]
        fn a_followed_ledger_ranks_as_the_tables(steps in prop::collection::vec(step(), 1..40)) {
            let db = test_db("ledger");
            let mut conn = db.conn;
            let mut ids = vec![add_account(&conn, "Ann", 10_000_000)];
            let mut followed = Ledger::load(&conn).expect("load");
            let mut prices: HashMap<_, _> = HashMap::new();
            let mut time = 1_700_000_000;
            for step in steps {
                time += 60;
                match step {
                    Step::Join(cash) => {
                        let name = format!("u{}", ids.len());
                        ids.push(add_account(&conn, &name, cash));
                    }
                    Step::Trade(who, buy, s, q) => {
                        let Some(&account) = ids.get(who) else { continue };
                        let side = if buy { Side::Buy } else { Side::Sell };
                        if !prices.contains_key(&sym(SYMBOLS[s])) {
                            continue;
                        }
                        let o = order(account, side, SYMBOLS[s], q, time as u64 * 1000);
                        run_batch(&mut conn, &[o], &[], &prices, Timestamp(time)).expect("batch");
                    }
                    Step::Tick(s, p) => {
                        tick(&conn, SYMBOLS[s], time, p);
                        prices.insert(sym(SYMBOLS[s]), Money(p));
                    }
                    Step::Reset(who) => {
                        let Some(&account) = ids.get(who) else { continue };
                        crate::db::positions::delete_all(&conn, account).expect("delete");
                        crate::db::accounts::restart(&conn, account, Money(7_000_000), Timestamp(time))
                            .expect("restart");
                        crate::db::transactions::insert_reset(&conn, account, Money(7_000_000), Timestamp(time))
                            .expect("reset line");
                    }
                }
                followed.catch_up(&conn).expect("catch up");
                let expected = ranked_from_scratch(&conn);
                prop_assert_eq!(owned(followed.rank(&conn).expect("rank")), expected.clone());
                let fresh = Ledger::load(&conn).expect("load");
                prop_assert_eq!(owned(fresh.rank(&conn).expect("rank")), expected);
            }
        }
    }

    /// Positions that grow and shrink leave garbage behind in `held`;
    /// compacting drops it and every account keeps its positions.
    #[test]
    fn compacting_keeps_every_account_s_positions() {
        let db = test_db("ledger-compact");
        let mut conn = db.conn;
        let ann = add_account(&conn, "ann", 10_000_000);
        let bob = add_account(&conn, "bob", 10_000_000);
        let mut ledger = Ledger::load(&conn).expect("load");
        let mut prices = HashMap::new();
        for (i, s) in SYMBOLS.iter().enumerate() {
            tick(&conn, s, 1_700_000_000, 100_000 * (i as i64 + 1));
            prices.insert(sym(s), Money(100_000 * (i as i64 + 1)));
        }
        let mut time = 1_700_000_000;
        let mut trade = |conn: &mut rusqlite::Connection, account, side, s: &str| {
            time += 60;
            let o = order(account, side, s, 1, time as u64 * 1000);
            run_batch(conn, &[o], &[], &prices, Timestamp(time)).expect("batch");
        };
        // Runs that grow move to the end, leaving theirs behind: ann's
        // twice (1, then 2), bob's once (1).
        for (account, s) in [
            (ann, "AAA"),
            (bob, "AAA"),
            (bob, "BBB"),
            (ann, "BBB"),
            (ann, "CCC"),
        ] {
            trade(&mut conn, account, Side::Buy, s);
            ledger.catch_up(&conn).expect("catch up");
        }
        assert_eq!((ledger.garbage, ledger.held.len()), (4, 9));
        assert_eq!(
            owned(ledger.rank(&conn).expect("rank")),
            ranked_from_scratch(&conn)
        );
        // Bob's shrinks in place: 5 of 9 are garbage, more than half, so
        // the catch-up compacts.
        trade(&mut conn, bob, Side::Sell, "AAA");
        ledger.catch_up(&conn).expect("catch up");
        assert_eq!((ledger.garbage, ledger.held.len()), (0, 4), "ann 3, bob 1");
        assert_eq!(
            owned(ledger.rank(&conn).expect("rank")),
            ranked_from_scratch(&conn)
        );
    }

    /// Selecting the best hundred before sorting keeps the full sort's
    /// order at the boundary, also when most accounts tie there.
    #[test]
    fn the_top_hundred_match_a_full_sort_through_ties() {
        let names: Vec<String> = (0..1000)
            .map(|i| format!("N{:04}", (i * 7919) % 1000))
            .collect();
        let entries: Vec<(Percent, &str)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (Percent(if i % 10 == 0 { i as i64 } else { 0 }), n.as_str()))
            .collect();
        let mut sorted = entries.clone();
        sorted.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| a.1.to_ascii_lowercase().cmp(&b.1.to_ascii_lowercase()))
        });
        let got = top(entries);
        assert_eq!(got.len(), LEADERS);
        let names_got: Vec<&str> = got.iter().map(|(_, n, _)| *n).collect();
        let names_sorted: Vec<&str> = sorted.iter().take(LEADERS).map(|(_, n)| *n).collect();
        assert_eq!(names_got, names_sorted);
        // 99 positive returns, then a tie at 0 sharing rank 100.
        assert_eq!(got[98].0, 99);
        assert_eq!(got[99], (100, "N0000", Percent(0)));
    }
}
