//! Watchlists (protocol 1.2): the symbols an account keeps an eye on, at
//! most [`MAX_SYMBOLS`]. `addToWatchlist` and `removeFromWatchlist` run on
//! the "auth-N" threads (`auth_thread`), `getWatchlist` on the "data-N"
//! threads (`data`), each on its own connection. Any active session of the
//! account may use them, an API key's too; a reset leaves the list alone.

use papertrader_common::payload::WatchLine;
use papertrader_common::value::{Reason, ReasonCode, SessionId, Symbol, Timestamp};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::auth::session_account;
use crate::db::watchlists;

/// Most symbols an account watches.
pub const MAX_SYMBOLS: u32 = 100;

/// `addToWatchlist sessionID symbol`: adds `symbol`, which must be in the
/// asset list (`listed`), at `now`. One already on the list succeeds and
/// keeps its place; a new one past [`MAX_SYMBOLS`] is `watchlist-full`.
pub fn add(
    conn: &Connection,
    session: &SessionId,
    symbol: &Symbol,
    listed: bool,
    now: Timestamp,
) -> Result<(), Reason> {
    // A made-up session or symbol is refused before the write lock, which
    // trades wait for too.
    session_account(conn, session, now)?;
    if !listed {
        let text = format!("{symbol} is not in the asset list");
        return Err(Reason::new(ReasonCode::UnknownAsset, text));
    }
    // The count and the insert in one write transaction, so two threads
    // cannot both add the hundred-and-first symbol; the session is checked
    // again inside it (it may have ended meanwhile).
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(fault)?;
    let account = session_account(&tx, session, now)?.0;
    if watchlists::contains(&tx, account, symbol).map_err(fault)? {
        return Ok(());
    }
    if watchlists::count(&tx, account).map_err(fault)? >= MAX_SYMBOLS {
        return Err(Reason::new(
            ReasonCode::WatchlistFull,
            format!("a watchlist holds at most {MAX_SYMBOLS} symbols; remove one first"),
        ));
    }
    watchlists::add(&tx, account, symbol, now).map_err(fault)?;
    tx.commit().map_err(fault)
}

/// `removeFromWatchlist sessionID symbol`: takes `symbol` off the list; a
/// symbol not on it (listed or not) is no error.
pub fn remove(
    conn: &Connection,
    session: &SessionId,
    symbol: &Symbol,
    now: Timestamp,
) -> Result<(), Reason> {
    let account = session_account(conn, session, now)?.0;
    watchlists::remove(conn, account, symbol).map_err(fault)?;
    Ok(())
}

/// `getWatchlist sessionID`: the session's account's list, oldest first.
pub fn listed(
    conn: &Connection,
    session: &SessionId,
    now: Timestamp,
) -> Result<Vec<WatchLine>, Reason> {
    let account = session_account(conn, session, now)?.0;
    watchlists::listed(conn, account).map_err(fault)
}

/// Logs a failed statement; the client sees `internal`.
fn fault(err: rusqlite::Error) -> Reason {
    papertrader_common::error!("watchlist: {err}");
    Reason::new(
        ReasonCode::Internal,
        "the watchlist could not be read or written; nothing was changed",
    )
}

#[cfg(test)]
mod tests {
    use papertrader_common::Money;

    use super::*;
    use crate::db::{self, TempDir, accounts, sessions};

    const NOW: Timestamp = Timestamp(1_732_147_200);

    /// A database with account `alice` and an active session of hers.
    fn alice(dir: &TempDir) -> (Connection, SessionId) {
        let conn = db::open(&dir.join("pt.db")).expect("open");
        let account = accounts::NewAccount {
            username: "alice",
            username_key: "alice",
            email: "a@example.com",
            pass_hash: None,
            cash: Money(0),
            created: NOW,
        };
        let account_id = accounts::insert(&conn, &account).expect("account");
        let session = SessionId::from_bytes([7; 16]);
        let row = sessions::NewSession {
            hash: sessions::hash(&session),
            account_id,
            created: NOW,
            expires: Timestamp(NOW.0 + 3600),
            client_addr: "127.0.0.1:1",
            expirable: false,
            worker: "w1",
        };
        sessions::insert(&conn, &row).expect("session");
        (conn, session)
    }

    fn sym(text: &str) -> Symbol {
        Symbol::parse(text).expect("symbol")
    }

    fn shown(conn: &Connection, session: &SessionId) -> Vec<String> {
        listed(conn, session, NOW)
            .expect("listed")
            .iter()
            .map(|w| w.symbol.to_string())
            .collect()
    }

    #[test]
    fn adding_twice_and_removing_twice_change_it_once() {
        let dir = TempDir::new("watch-idem");
        let (conn, s) = alice(&dir);
        add(&conn, &s, &sym("MSFT"), true, NOW).expect("add");
        add(&conn, &s, &sym("AAPL"), true, NOW).expect("add");
        add(&conn, &s, &sym("MSFT"), true, Timestamp(NOW.0 + 9)).expect("again");
        assert_eq!(shown(&conn, &s), ["MSFT", "AAPL"]);
        let first = listed(&conn, &s, NOW).expect("listed");
        assert_eq!(first[0].added, NOW, "adding again keeps the first time");
        remove(&conn, &s, &sym("MSFT"), NOW).expect("remove");
        remove(&conn, &s, &sym("MSFT"), NOW).expect("remove again");
        remove(&conn, &s, &sym("ZZZZ"), NOW).expect("never there");
        assert_eq!(shown(&conn, &s), ["AAPL"]);
    }

    #[test]
    fn refusals_say_why() {
        let dir = TempDir::new("watch-refuse");
        let (conn, s) = alice(&dir);
        let code = |r: Result<(), Reason>| r.expect_err("refused").code;
        assert_eq!(
            code(add(&conn, &s, &sym("ZZZZ"), false, NOW)),
            ReasonCode::UnknownAsset
        );
        let stranger = SessionId::from_bytes([8; 16]);
        assert_eq!(
            code(add(&conn, &stranger, &sym("AAPL"), true, NOW)),
            ReasonCode::BadSession
        );
        assert_eq!(
            code(remove(&conn, &stranger, &sym("AAPL"), NOW)),
            ReasonCode::BadSession
        );
        let later = Timestamp(NOW.0 + 7200);
        assert_eq!(
            listed(&conn, &s, later).expect_err("expired").code,
            ReasonCode::BadSession
        );
        assert!(shown(&conn, &s).is_empty());
    }

    #[test]
    fn the_hundred_and_first_symbol_is_refused() {
        let dir = TempDir::new("watch-full");
        let (conn, s) = alice(&dir);
        for i in 0..MAX_SYMBOLS {
            add(&conn, &s, &sym(&format!("S{i}")), true, NOW).expect("room");
        }
        let err = add(&conn, &s, &sym("ONEMORE"), true, NOW).expect_err("full");
        assert_eq!(err.code, ReasonCode::WatchlistFull);
        assert!(err.text.contains("100"), "{err}");
        // One already there still succeeds, and a removal makes room.
        add(&conn, &s, &sym("S7"), true, NOW).expect("already there");
        remove(&conn, &s, &sym("S7"), NOW).expect("remove");
        add(&conn, &s, &sym("ONEMORE"), true, NOW).expect("room again");
        let all = shown(&conn, &s);
        assert_eq!(all.len(), MAX_SYMBOLS as usize);
        assert_eq!((all[0].as_str(), all[99].as_str()), ("S0", "ONEMORE"));
    }
}
