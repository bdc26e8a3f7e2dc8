//! SQL of the `watchlists` table (protocol 1.2, migration 16): the symbols
//! each account watches, with when each was added. Written by the auth
//! pool (`addToWatchlist`, `removeFromWatchlist`), read by the data
//! threads (`getWatchlist`); see `crate::watchlist` for the rules.

use papertrader_common::payload::WatchLine;
use papertrader_common::value::{Symbol, Timestamp};
use rusqlite::{Connection, params};

/// Adds `symbol` to the account's list; `false` if it was there already
/// (its `added` time is kept).
pub fn add(
    conn: &Connection,
    account: i64,
    symbol: &Symbol,
    added: Timestamp,
) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO watchlists (account_id, symbol, added) VALUES (?1, ?2, ?3)
             ON CONFLICT (account_id, symbol) DO NOTHING",
        )?
        .execute(params![account, symbol.as_str(), added.0])?;
    Ok(changed > 0)
}

/// Whether `symbol` is on the account's list.
pub fn contains(conn: &Connection, account: i64, symbol: &Symbol) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM watchlists WHERE account_id = ?1 AND symbol = ?2)",
    )?
    .query_row(params![account, symbol.as_str()], |row| row.get(0))
}

/// How many symbols the account watches.
pub fn count(conn: &Connection, account: i64) -> rusqlite::Result<u32> {
    conn.prepare_cached("SELECT count(*) FROM watchlists WHERE account_id = ?1")?
        .query_row([account], |row| row.get(0))
}

/// Takes `symbol` off the account's list; `false` if it was not on it.
pub fn remove(conn: &Connection, account: i64, symbol: &Symbol) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached("DELETE FROM watchlists WHERE account_id = ?1 AND symbol = ?2")?
        .execute(params![account, symbol.as_str()])?;
    Ok(changed > 0)
}

/// The account's list, oldest first (symbols added in the same second in
/// the order they were added).
pub fn listed(conn: &Connection, account: i64) -> rusqlite::Result<Vec<WatchLine>> {
    let mut stmt = conn.prepare_cached(
        "SELECT symbol, added FROM watchlists WHERE account_id = ?1 ORDER BY added, rowid",
    )?;
    let rows = stmt.query_map([account], |row| {
        let symbol: String = row.get(0)?;
        Ok((symbol, Timestamp(row.get(1)?)))
    })?;
    let mut lines = Vec::new();
    for row in rows {
        let (symbol, added) = row?;
        // Written by `add` from a parsed symbol; a row that no longer
        // parses is skipped rather than sent malformed.
        if let Ok(symbol) = Symbol::parse(&symbol) {
            lines.push(WatchLine { symbol, added });
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{self, TempDir};

    fn sym(text: &str) -> Symbol {
        Symbol::parse(text).expect("symbol")
    }

    fn account(conn: &Connection, name: &str) -> i64 {
        let account = db::accounts::NewAccount {
            username: name,
            username_key: name,
            email: "",
            pass_hash: None,
            cash: papertrader_common::Money(0),
            created: Timestamp(0),
        };
        db::accounts::insert(conn, &account).expect("account")
    }

    fn symbols(conn: &Connection, account: i64) -> Vec<(String, i64)> {
        listed(conn, account)
            .expect("listed")
            .into_iter()
            .map(|w| (w.symbol.to_string(), w.added.0))
            .collect()
    }

    #[test]
    fn symbols_are_kept_once_per_account_oldest_first() {
        let dir = TempDir::new("watchlists");
        let conn = db::open(&dir.join("pt.db")).expect("open");
        let (alice, bob) = (account(&conn, "alice"), account(&conn, "bob"));
        assert!(add(&conn, alice, &sym("MSFT"), Timestamp(20)).expect("add"));
        assert!(add(&conn, alice, &sym("AAPL"), Timestamp(20)).expect("add"));
        assert!(add(&conn, alice, &sym("BTC"), Timestamp(10)).expect("add"));
        assert!(!add(&conn, alice, &sym("MSFT"), Timestamp(30)).expect("again"));
        assert!(add(&conn, bob, &sym("MSFT"), Timestamp(5)).expect("bob's own"));
        // By time, then in the order added within the same second.
        assert_eq!(
            symbols(&conn, alice),
            [("BTC".into(), 10), ("MSFT".into(), 20), ("AAPL".into(), 20)]
        );
        assert_eq!(count(&conn, alice).expect("count"), 3);
        assert!(contains(&conn, alice, &sym("AAPL")).expect("contains"));
        assert!(!contains(&conn, bob, &sym("AAPL")).expect("not bob's"));
        assert!(remove(&conn, alice, &sym("MSFT")).expect("remove"));
        assert!(!remove(&conn, alice, &sym("MSFT")).expect("again"));
        assert_eq!(
            symbols(&conn, alice),
            [("BTC".into(), 10), ("AAPL".into(), 20)]
        );
        assert_eq!(symbols(&conn, bob), [("MSFT".into(), 5)]);
        assert_eq!(symbols(&conn, 999), []);
    }

    #[test]
    fn an_account_deleted_takes_its_watchlist_with_it() {
        let dir = TempDir::new("watchlists-cascade");
        let conn = db::open(&dir.join("pt.db")).expect("open");
        let alice = account(&conn, "alice");
        add(&conn, alice, &sym("AAPL"), Timestamp(1)).expect("add");
        conn.execute("DELETE FROM accounts WHERE id = ?1", [alice])
            .expect("delete account");
        let left: i64 = conn
            .query_row("SELECT count(*) FROM watchlists", [], |r| r.get(0))
            .expect("count");
        assert_eq!(left, 0);
    }

    #[test]
    fn every_statement_searches_the_index() {
        let dir = TempDir::new("watchlists-plan");
        let conn = db::open(&dir.join("pt.db")).expect("open");
        for sql in [
            "SELECT added FROM watchlists WHERE account_id = ?1 AND symbol = ?2",
            "SELECT symbol, added FROM watchlists WHERE account_id = ?1 ORDER BY added, rowid",
            "SELECT count(*) FROM watchlists WHERE account_id = ?1",
        ] {
            let plan = db::query_plan(&conn, sql);
            assert!(
                plan.contains("USING") && !plan.contains("SCAN watchlists"),
                "{sql}: {plan}"
            );
        }
    }
}
