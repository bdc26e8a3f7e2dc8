//! The user data payloads of PROTOCOL.md section 4 (getUserInfo,
//! getUserPortfolio, getUserTransactionHistory) and `ptctl account`.
//!
//! Plain functions on a `rusqlite::Connection`: the data reader threads call
//! them through their own connections, the control thread through its own.
//! The session's owner gets the private view, anyone else the public one.
//!
//! A position is valued at the close of its symbol's latest tick. A symbol
//! with no tick at all (never priced since it was listed, or its ticks
//! purged) is valued at the position's AVG_COST instead, so equity stays
//! defined; the portfolio's PRICE column then shows that AVG_COST.

use papertrader_common::payload::{
    self, Line, Position, PrivateInfo, Trade, TradeSide, UserInfo, Valuation,
};
use papertrader_common::value::{
    Email, Money, Reason, ReasonCode, Shares, Symbol, Timestamp, Username,
};
use rusqlite::{Connection, OptionalExtension};

use super::{avg_cost, internal};
use crate::auth::Viewer;
use crate::market::store;

const SELECT_ACCOUNT: &str =
    "SELECT id, username, email, created, cash FROM accounts WHERE username_key = ?1";
const SELECT_POSITIONS: &str =
    "SELECT symbol, quantity, cost FROM positions WHERE account_id = ?1 ORDER BY symbol";
const SELECT_HISTORY: &str = "SELECT txid, time, side, symbol, quantity, price
     FROM transactions WHERE account_id = ?1 ORDER BY txid";
const COUNT_TRANSACTIONS: &str = "SELECT count(*) FROM transactions WHERE account_id = ?1";

/// An `accounts` row.
struct Account {
    id: i64,
    username: String,
    email: String,
    created: i64,
    cash: i64,
}

/// getUserInfo: `username`, `email`, `created`, `cash`, `equity` lines for
/// the owner (`viewer` is the session's account id), `username` and
/// `created` for anyone else. Equity is cash plus every position at its
/// current price (see the module docs for a symbol without a tick).
pub fn user_info(conn: &Connection, viewer: Viewer, username: &str) -> Result<String, Reason> {
    let account = seen_by(conn, viewer, find(conn, username)?)?;
    let viewer = viewer.book;
    let mut info = UserInfo {
        username: stored(Username::parse(&account.username))?,
        created: Timestamp(account.created),
        private: None,
    };
    if account.id == viewer {
        let who = format_args!("the equity of {}", account.username);
        info.private = Some(PrivateInfo {
            // "-": a third-party account whose provider vouched for no email.
            email: match account.email.as_str() {
                "-" => None,
                email => Some(stored(Email::parse(email))?),
            },
            cash: Money(account.cash),
            equity: equity_of(conn, account.id, account.cash, who)?,
        });
    }
    let mut out = String::new();
    info.write(&mut out);
    Ok(out)
}

/// getUserPortfolio: `SYMBOL QUANTITY AVG_COST PRICE VALUE` per position
/// for the owner, `SYMBOL QUANTITY` for anyone else, sorted by symbol.
pub fn portfolio(conn: &Connection, viewer: Viewer, username: &str) -> Result<String, Reason> {
    let account = seen_by(conn, viewer, find(conn, username)?)?;
    let viewer = viewer.book;
    if account.id != viewer {
        let public: Vec<Position> = positions(conn, account.id)?
            .into_iter()
            .map(|(symbol, quantity, _)| Position {
                symbol,
                quantity,
                valuation: None,
            })
            .collect();
        return Ok(payload::write_lines(&public));
    }
    Ok(payload::write_lines(&valued(conn, account.id)?))
}

/// getUserTransactionHistory: `TXID TIMESTAMP SIDE SYMBOL QUANTITY PRICE`
/// per trade, oldest first; only the owner may see it.
pub fn history(conn: &Connection, viewer: Viewer, username: &str) -> Result<String, Reason> {
    let account = seen_by(conn, viewer, find(conn, username)?)?;
    let viewer = viewer.book;
    if account.id != viewer {
        return Err(Reason::new(
            ReasonCode::Forbidden,
            "transaction history is private",
        ));
    }
    Ok(payload::write_lines(&trades(conn, account.id)?))
}

/// A `transactions` row: txid, time, side, symbol, quantity, price.
type TradeRow = (i64, i64, String, String, i64, i64);

/// Every transaction of `account`, oldest first.
fn trades(conn: &Connection, account: i64) -> Result<Vec<Trade>, Reason> {
    let rows: Vec<TradeRow> = conn
        .prepare_cached(SELECT_HISTORY)
        .and_then(|mut stmt| {
            stmt.query_map([account], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                ))
            })?
            .collect()
        })
        .map_err(|err| internal("cannot read a transaction history", err))?;
    rows.into_iter()
        .map(|(txid, time, side, symbol, quantity, price)| {
            Ok(Trade {
                txid,
                time: Timestamp(time),
                side: stored(TradeSide::parse(&side))?,
                symbol: stored(Symbol::parse(&symbol))?,
                quantity: Shares(quantity),
                price: Money(price),
            })
        })
        .collect()
}

/// Text for `ptctl account NAME`: the private getUserInfo lines, one
/// `position SYMBOL QUANTITY AVG_COST PRICE VALUE` line per position, and
/// `transactions N`.
pub fn account_text(conn: &Connection, username: &str) -> Result<String, Reason> {
    let account = find(conn, username)?;
    let mut out = user_info(conn, Viewer::of(account.id), &account.username)?;
    for p in valued(conn, account.id)? {
        out.push_str("position ");
        p.write(&mut out);
    }
    let count: i64 = conn
        .prepare_cached(COUNT_TRANSACTIONS)
        .and_then(|mut stmt| stmt.query_row([account.id], |row| row.get(0)))
        .map_err(|err| internal("cannot count transactions", err))?;
    out.push_str(&format!("transactions {count}\n"));
    // A login's further portfolios (protocol 1.2), one line each.
    let all = crate::db::games::of_login(conn, account.id)
        .map_err(|err| internal("cannot list portfolios", err))?;
    for p in all.iter().filter(|p| p.no != 1) {
        let game = p.game.map_or_else(|| "-".to_string(), |g| g.to_string());
        out.push_str(&format!(
            "portfolio {} {} {game} {} {}\n",
            p.no,
            p.status.as_str(),
            Money(p.cash),
            p.name
        ));
    }
    Ok(out)
}

/// A value read back from the database; one that does not parse is a
/// server-side fault.
fn stored<T, E: std::fmt::Display>(value: Result<T, E>) -> Result<T, Reason> {
    value.map_err(|err| internal("stored value is malformed", err))
}

/// The account named `username`, ignoring case.
fn find(conn: &Connection, username: &str) -> Result<Account, Reason> {
    let name = Username::parse(username).map_err(|e| e.reason())?;
    let found = conn
        .prepare_cached(SELECT_ACCOUNT)
        .and_then(|mut stmt| {
            stmt.query_row([name.key()], |row| {
                Ok(Account {
                    id: row.get(0)?,
                    username: row.get(1)?,
                    email: row.get(2)?,
                    created: row.get(3)?,
                    cash: row.get(4)?,
                })
            })
            .optional()
        })
        .map_err(|err| internal("cannot look up an account", err))?;
    found.ok_or_else(|| Reason::new(ReasonCode::UnknownUser, format!("no user named {name}")))
}

/// The account as `viewer` sees it: a login's own name shows the
/// portfolio its session acts on (protocol 1.2), anyone else's their
/// first.
fn seen_by(conn: &Connection, viewer: Viewer, account: Account) -> Result<Account, Reason> {
    if account.id != viewer.login || viewer.book == viewer.login {
        return Ok(account);
    }
    let (cash, created): (i64, i64) = conn
        .prepare_cached("SELECT cash, created FROM accounts WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([viewer.book], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(|err| internal("cannot read a portfolio", err))?;
    Ok(Account {
        id: viewer.book,
        cash,
        created,
        ..account
    })
}

/// `(symbol, quantity, cost)` of every position, by symbol.
fn positions(conn: &Connection, account: i64) -> Result<Vec<(Symbol, Shares, i64)>, Reason> {
    let rows: Vec<(String, i64, i64)> = conn
        .prepare_cached(SELECT_POSITIONS)
        .and_then(|mut stmt| {
            stmt.query_map([account], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect()
        })
        .map_err(|err| internal("cannot read positions", err))?;
    rows.into_iter()
        .map(|(symbol, quantity, cost)| {
            Ok((stored(Symbol::parse(&symbol))?, Shares(quantity), cost))
        })
        .collect()
}

/// Every position with its AVG_COST, current price and value.
pub(super) fn valued(conn: &Connection, account: i64) -> Result<Vec<Position>, Reason> {
    let mut out = Vec::new();
    for (symbol, quantity, cost) in positions(conn, account)? {
        let avg_cost = avg_cost(cost, quantity.raw());
        let price = current_price(conn, &symbol)?.unwrap_or(avg_cost);
        let value = price.times(quantity).ok_or_else(|| {
            let err = format!("{quantity} {symbol} at {price} overflows");
            internal(
                &format!("cannot value a position of account {account}"),
                err,
            )
        })?;
        out.push(Position {
            symbol,
            quantity,
            valuation: Some(Valuation {
                avg_cost,
                price,
                value,
            }),
        });
    }
    Ok(out)
}

/// The close of the symbol's latest tick, if it has one.
fn current_price(conn: &Connection, symbol: &Symbol) -> Result<Option<Money>, Reason> {
    let tick = store::last_tick(conn, symbol)
        .map_err(|err| internal(&format!("cannot read the last tick of {symbol}"), err))?;
    Ok(tick.map(|bar| bar.close))
}

/// The equity of account `id` with `cash`, as it stands now: cash plus
/// the value of every position; `who` names it in the log should the sum
/// overflow.
pub(super) fn equity_of(
    conn: &Connection,
    id: i64,
    cash: i64,
    who: impl std::fmt::Display,
) -> Result<Money, Reason> {
    valued(conn, id)?
        .iter()
        .filter_map(|p| p.valuation)
        .try_fold(Money(cash), |sum, v| sum.checked_add(v.value))
        .ok_or_else(|| internal("cannot compute equity", format!("{who} overflows")))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::super::test_util::*;
    use super::super::{Side, run_batch};
    use super::*;

    struct Fixture {
        db: TestDb,
        alice: i64,
        bob: i64,
    }

    /// alice holds 3 AAA bought at 189.5 (a tick at 200 follows) and 2 BBB
    /// at 10.0001 (never ticked); bob holds nothing.
    fn fixture(tag: &str) -> Fixture {
        let mut db = test_db(tag);
        let alice = add_account(&db.conn, "Alice", 10_000_000);
        let bob = add_account(&db.conn, "bob", 10_000_000);
        let orders = [
            order(alice, Side::Buy, "AAA", 3, 1),
            order(alice, Side::Buy, "BBB", 2, 2),
        ];
        let prices: HashMap<Symbol, Money> =
            [(sym("AAA"), Money(1_895_000)), (sym("BBB"), Money(100_001))]
                .into_iter()
                .collect();
        run_batch(&mut db.conn, &orders, &[], &prices, NOW).expect("batch");
        tick(&db.conn, "AAA", NOW.0 - 60, 1_900_000);
        tick(&db.conn, "AAA", NOW.0, 2_000_000);
        Fixture { db, alice, bob }
    }

    fn code(result: Result<String, Reason>) -> ReasonCode {
        result.expect_err("should fail").code
    }

    #[test]
    fn user_info_private_and_public() {
        let f = fixture("views-info");
        // 1000 - 568.5 - 20.0002 = 411.4998; equity adds 3 x 200 and 2 x 10.0001.
        let private = "username Alice\nemail alice@example.com\ncreated 1700000000\n\
                       cash 411.4998\nequity 1031.5000\n";
        assert_eq!(
            user_info(&f.db.conn, Viewer::of(f.alice), "Alice").expect("own"),
            private
        );
        assert_eq!(
            user_info(&f.db.conn, Viewer::of(f.alice), "aLiCe").expect("any case"),
            private
        );
        assert_eq!(
            user_info(&f.db.conn, Viewer::of(f.bob), "alice").expect("public"),
            "username Alice\ncreated 1700000000\n"
        );
        assert_eq!(
            user_info(&f.db.conn, Viewer::of(f.bob), "bob").expect("bob"),
            "username bob\nemail bob@example.com\ncreated 1700000000\n\
             cash 1000.0000\nequity 1000.0000\n"
        );
    }

    #[test]
    fn portfolio_private_and_public() {
        let f = fixture("views-portfolio");
        assert_eq!(
            portfolio(&f.db.conn, Viewer::of(f.alice), "alice").expect("own"),
            "AAA 3 189.5000 200.0000 600.0000\nBBB 2 10.0001 10.0001 20.0002\n"
        );
        assert_eq!(
            portfolio(&f.db.conn, Viewer::of(f.bob), "alice").expect("public"),
            "AAA 3\nBBB 2\n"
        );
        assert_eq!(
            portfolio(&f.db.conn, Viewer::of(f.bob), "bob").expect("empty"),
            ""
        );
    }

    #[test]
    fn history_is_private() {
        let f = fixture("views-history");
        assert_eq!(
            history(&f.db.conn, Viewer::of(f.alice), "ALICE").expect("own"),
            "1 1732147200 buy AAA 3 189.5000\n2 1732147200 buy BBB 2 10.0001\n"
        );
        let err = history(&f.db.conn, Viewer::of(f.bob), "alice").expect_err("forbidden");
        assert_eq!(err.code, ReasonCode::Forbidden);
        assert_eq!(err.text, "transaction history is private");
        assert_eq!(
            history(&f.db.conn, Viewer::of(f.bob), "bob").expect("empty"),
            ""
        );
    }

    #[test]
    fn unknown_and_malformed_users() {
        let f = fixture("views-unknown");
        let err = user_info(&f.db.conn, Viewer::of(f.alice), "nobody").expect_err("unknown");
        assert_eq!(err.code, ReasonCode::UnknownUser);
        assert_eq!(err.text, "no user named nobody");
        assert_eq!(
            code(portfolio(&f.db.conn, Viewer::of(f.alice), "nobody")),
            ReasonCode::UnknownUser
        );
        assert_eq!(
            code(history(&f.db.conn, Viewer::of(f.alice), "nobody")),
            ReasonCode::UnknownUser
        );
        assert_eq!(
            code(user_info(&f.db.conn, Viewer::of(f.alice), "no body")),
            ReasonCode::InvalidUsername
        );
        assert_eq!(
            code(portfolio(&f.db.conn, Viewer::of(f.alice), "")),
            ReasonCode::InvalidUsername
        );
        assert_eq!(
            code(account_text(&f.db.conn, "nobody")),
            ReasonCode::UnknownUser
        );
    }

    #[test]
    fn a_login_s_own_name_shows_the_portfolio_in_use() {
        let f = fixture("views-book");
        let new = crate::db::games::NewPortfolio {
            login: f.alice,
            name: "swing",
            cash: Money(50_000_000),
            game: None,
            now: Timestamp(1),
        };
        let (book, no) = crate::db::games::insert(&f.db.conn, &new).expect("portfolio");
        assert_eq!(no, 2);
        let viewer = Viewer {
            login: f.alice,
            book,
            api_key: false,
        };
        assert_eq!(portfolio(&f.db.conn, viewer, "alice").expect("own"), "");
        assert_eq!(history(&f.db.conn, viewer, "alice").expect("own"), "");
        let info = user_info(&f.db.conn, viewer, "Alice").expect("own");
        assert!(
            info.contains("cash 5000.0000\nequity 5000.0000\n"),
            "{info}"
        );
        // Anyone else still sees the first.
        assert_eq!(
            portfolio(&f.db.conn, Viewer::of(f.bob), "alice").expect("public"),
            "AAA 3\nBBB 2\n"
        );
        let text = account_text(&f.db.conn, "alice").expect("account");
        assert!(
            text.ends_with("transactions 2\nportfolio 2 open - 5000.0000 swing\n"),
            "{text}"
        );
    }

    #[test]
    fn account_text_lists_everything() {
        let f = fixture("views-account");
        assert_eq!(
            account_text(&f.db.conn, "alice").expect("account"),
            "username Alice\nemail alice@example.com\ncreated 1700000000\n\
             cash 411.4998\nequity 1031.5000\n\
             position AAA 3 189.5000 200.0000 600.0000\n\
             position BBB 2 10.0001 10.0001 20.0002\n\
             transactions 2\n"
        );
    }
}
