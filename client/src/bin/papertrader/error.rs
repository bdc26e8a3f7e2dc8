//! Errors of the `papertrader` command: a sentence for people and a
//! sysexits(3) status. Every reason code of PROTOCOL.md section 8 becomes a
//! sentence here, using what the command knows (symbol, user, quantity)
//! and the amounts in the server's text.

use papertrader_client::Error as ClientError;
use papertrader_common::value::{Money, Reason, ReasonCode, Shares};

use crate::numbers::{human_money, human_shares};

mod games;
use games::game_refusal;

/// Exit statuses (sysexits.h).
pub mod status {
    /// Bad command line.
    pub const USAGE: u8 = 64;
    /// Bad input data: the server refused a value.
    pub const DATAERR: u8 = 65;
    /// The server cannot be reached or is unavailable.
    pub const UNAVAILABLE: u8 = 69;
    /// A fault inside the server or a protocol violation.
    pub const SOFTWARE: u8 = 70;
    /// A local file could not be read or written.
    pub const IOERR: u8 = 74;
    /// Try again later: rate limited, or a trade's outcome is unknown.
    pub const TEMPFAIL: u8 = 75;
    /// The server's TLS certificate was refused (EX_PROTOCOL).
    pub const PROTOCOL: u8 = 76;
    /// Not logged in, wrong password, ended session, private data.
    pub const NOPERM: u8 = 77;
    /// A bad configuration file.
    pub const CONFIG: u8 = 78;
}

/// One [`CliError`] constructor per status: `name => STATUS;`, each with
/// its doc comment.
macro_rules! by_status {
    ($($(#[$doc:meta])* $name:ident => $status:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(message: impl Into<String>) -> CliError {
                CliError::new(status::$status, message)
            }
        )*
    };
}

/// A failed command: `papertrader: MESSAGE` on stderr, exit `status`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    /// The exit status (sysexits).
    pub status: u8,
    /// One sentence, without the `papertrader: ` prefix.
    pub message: String,
}

impl CliError {
    /// An error with any status.
    pub fn new(status: u8, message: impl Into<String>) -> CliError {
        CliError {
            status,
            message: message.into(),
        }
    }

    by_status! {
        /// Bad command line (64).
        usage => USAGE;
        /// Bad input data (65).
        data => DATAERR;
        /// Server unreachable or unavailable (69).
        unavailable => UNAVAILABLE;
        /// Server fault or protocol violation (70).
        software => SOFTWARE;
        /// Local I/O error (74).
        io => IOERR;
        /// Temporary failure (75).
        tempfail => TEMPFAIL;
        /// Permission: not logged in, bad credentials... (77).
        noperm => NOPERM;
        /// Configuration error (78).
        config => CONFIG;
    }

    /// No session file and none in memory.
    pub fn not_logged_in() -> CliError {
        CliError::noperm("not logged in; run: papertrader login USER")
    }

    /// The server no longer knows the session.
    pub fn session_ended() -> CliError {
        CliError::noperm("your session has ended; log in again")
    }
}

/// What a command was about, to put into its error sentences.
#[derive(Debug, Clone, Copy, Default)]
pub struct What<'a> {
    /// The symbol of a quote, trade or history.
    pub symbol: Option<&'a str>,
    /// The user a command names (register, login, portfolio...).
    pub user: Option<&'a str>,
    /// The email of a registration.
    pub email: Option<&'a str>,
    /// The quantity of a trade.
    pub quantity: Option<Shares>,
    /// The date of a history request.
    pub date: Option<&'a str>,
    /// True for buy and sell: a broken connection leaves the outcome open.
    pub trade: bool,
    /// With `trade`: the command that tells what happened (default
    /// `trades`; `orders` for an order, `portfolio` for a reset).
    pub check: Option<&'a str>,
    /// The order of `cancel`.
    pub order: Option<u64>,
    /// `reset`: a wrong password is about the account, not a login.
    pub reset: bool,
    /// The data asked for (`trades`, `portfolio`...), for `forbidden`.
    pub view: Option<&'a str>,
    /// The portfolio a portfolio command names, as typed (`2`, `bot`).
    pub portfolio: Option<&'a str>,
    /// The name a portfolio gets (`portfolio create`, `rename`).
    pub name: Option<&'a str>,
    /// The competition a `game` command names, as typed (number, name or
    /// code).
    pub game: Option<&'a str>,
    /// `game join`: the competition was named by code or public number.
    pub join: bool,
}

impl<'a> What<'a> {
    /// About the user `user`.
    pub fn user(user: &'a str) -> What<'a> {
        What {
            user: Some(user),
            ..What::default()
        }
    }

    /// About the symbol `symbol`.
    pub fn symbol(symbol: &'a str) -> What<'a> {
        What {
            symbol: Some(symbol),
            ..What::default()
        }
    }
}

/// The sentence and status for an error of the client library. `server`
/// names the peer for connection errors.
pub fn from_client(err: &ClientError, what: &What) -> CliError {
    match err {
        ClientError::Io(addr, io) if what.trade => CliError::tempfail(match what.check {
            None => {
                format!("the connection to {addr} broke mid-trade ({io}); check papertrader trades")
            }
            Some(check) => format!(
                "the connection to {addr} broke before the answer ({io}); \
                 check papertrader {check}"
            ),
        }),
        ClientError::Io(addr, io) => {
            CliError::unavailable(format!("cannot reach the server at {addr}: {io}"))
        }
        ClientError::Refused(reason) => refused(reason, what),
        ClientError::Protocol(text) => CliError::software(format!("protocol error: {text}")),
        ClientError::Tls(addr, text) => CliError::new(status::PROTOCOL, format!("{addr}: {text}")),
        ClientError::CaFile(text) => CliError::config(text.clone()),
    }
}

/// The sentence and status for a failure return.
pub fn refused(reason: &Reason, what: &What) -> CliError {
    game_refusal(reason, what)
        .or_else(|| account_refusal(reason, what))
        .or_else(|| trade_refusal(reason, what))
        .or_else(|| server_refusal(reason, what))
        .unwrap_or_else(|| CliError::software(format!("the server refused: {reason}")))
}

/// Refusals about who the user is: credentials, identities, names.
fn account_refusal(reason: &Reason, what: &What) -> Option<CliError> {
    let text = reason.text.as_str();
    let user = what.user.unwrap_or("that user");
    Some(match reason.code {
        ReasonCode::BadSession => CliError::session_ended(),
        ReasonCode::BadCredentials if what.reset => {
            CliError::noperm(format!("wrong password for {user}; nothing was reset"))
        }
        ReasonCode::BadCredentials => CliError::noperm("wrong username or password"),
        ReasonCode::NoPassword => {
            CliError::noperm(with_detail(&format!("{user} has no password"), text))
        }
        ReasonCode::UnknownProvider => {
            CliError::config(with_detail("the server does not know that provider", text))
        }
        ReasonCode::BadToken => CliError::noperm(with_detail(
            "the server refused the provider's ID token",
            text,
        )),
        ReasonCode::NotLinked => CliError::noperm(
            "no account is linked to that identity; register first with \
             papertrader register NAME --with PROVIDER",
        ),
        ReasonCode::IdentityTaken => CliError::data(
            "that identity is already linked to an account; log in with \
             papertrader login --with PROVIDER",
        ),
        ReasonCode::UsernameTaken => {
            CliError::data(format!("the username {user} is taken; choose another"))
        }
        ReasonCode::TooManyKeys => CliError::data(with_detail(
            "you have the most API keys allowed; revoke one with papertrader keys revoke",
            text,
        )),
        ReasonCode::UnknownKey => CliError::data(
            "you have no API key with that id that is not revoked; see papertrader keys list",
        ),
        ReasonCode::WatchlistFull => CliError::data(with_detail(
            "your watchlist holds the most symbols allowed; remove one with \
             papertrader watchlist remove",
            text,
        )),
        ReasonCode::InvalidUsername => CliError::data(format!(
            "invalid username {user}: use 1-24 letters, digits, _ . or -"
        )),
        ReasonCode::InvalidEmail => {
            let email = what.email.unwrap_or("");
            CliError::data(format!(
                "invalid email address {email}: expected one @ with text on both sides"
            ))
        }
        ReasonCode::UnknownUser => CliError::data(format!("unknown user {user}")),
        ReasonCode::Forbidden => CliError::noperm(match what.view {
            Some(view) => format!("the {view} of {user} are private"),
            None => with_detail("not allowed", text),
        }),
        _ => return None,
    })
}

/// Refusals of a trade or an order, and of its arguments.
fn trade_refusal(reason: &Reason, what: &What) -> Option<CliError> {
    let text = reason.text.as_str();
    let symbol = what.symbol.unwrap_or("that symbol");
    Some(match reason.code {
        ReasonCode::UnknownAsset => CliError::data(format!(
            "unknown symbol {}; see papertrader assets",
            symbol.to_ascii_uppercase()
        )),
        ReasonCode::BadQuantity => CliError::data(bad_quantity(what.quantity, text)),
        ReasonCode::InsufficientFunds => CliError::data(insufficient_funds(text)),
        ReasonCode::InsufficientShares => CliError::data(insufficient_shares(text, symbol)),
        ReasonCode::BadDate => CliError::data(format!(
            "bad date {}: expected a calendar day as YYYY-MM-DD",
            what.date.unwrap_or("")
        )),
        ReasonCode::BadPrice if text.is_empty() => CliError::data(
            "bad limit or stop price: each must be a positive price with at most 4 decimals",
        ),
        ReasonCode::BadPrice => CliError::data(format!("bad limit or stop price: {text}")),
        ReasonCode::UnknownOrder => CliError::data(match what.order {
            Some(id) => format!(
                "order {id} is not an open order of yours: it may have filled, expired or \
                 been cancelled; see papertrader orders"
            ),
            None => with_detail(
                "no open order of yours has that number; see papertrader orders",
                text,
            ),
        }),
        ReasonCode::TooManyOrders => CliError::tempfail(with_detail(
            "you have the most open orders allowed; cancel one or wait for one to fill",
            text,
        )),
        // The server's text holds the wait: "too many failed logins; try
        // again in 30 s".
        ReasonCode::MarketClosed => CliError::tempfail(with_detail(
            &format!("the market of {} is closed", symbol.to_ascii_uppercase()),
            text,
        )),
        _ => return None,
    })
}

/// Refusals that say how the server is: busy, limited, broken.
fn server_refusal(reason: &Reason, what: &What) -> Option<CliError> {
    let text = reason.text.as_str();
    Some(match reason.code {
        ReasonCode::BadArguments => {
            CliError::data(with_detail("the server refused the arguments", text))
        }
        ReasonCode::WrongState => CliError::software(with_detail(
            "the server says the connection is in the wrong state",
            text,
        )),
        ReasonCode::RateLimited if text.is_empty() => {
            CliError::tempfail("too many attempts; try again later")
        }
        ReasonCode::RateLimited => CliError::tempfail(format!("rate limited: {text}")),
        ReasonCode::Unavailable => CliError::unavailable(with_detail(
            "the server is unavailable right now; nothing was changed",
            text,
        )),
        ReasonCode::UnknownOutcome => CliError::tempfail(format!(
            "the server lost contact mid-trade; check papertrader {}",
            what.check.unwrap_or("trades")
        )),
        ReasonCode::Internal => CliError::software(with_detail(
            "the server failed internally; nothing was changed",
            text,
        )),
        ReasonCode::Protocol => CliError::software(with_detail(
            "the server did not understand the request",
            text,
        )),

        _ => return None,
    })
}

/// `sentence (detail)`, or the sentence alone when the server said nothing.
fn with_detail(sentence: &str, detail: &str) -> String {
    if detail.is_empty() {
        sentence.to_string()
    } else {
        format!("{sentence} ({detail})")
    }
}

fn bad_quantity(quantity: Option<Shares>, text: &str) -> String {
    let shown = quantity.map(|q| format!(" {}", human_shares(q)));
    let shown = shown.unwrap_or_default();
    if text.is_empty() {
        format!(
            "bad quantity{shown}: use a number of shares above 0, at most 1,000,000,000, \
             with at most 9 decimals"
        )
    } else {
        format!("bad quantity{shown}: {text}")
    }
}

/// `cash 120.5000 is below the cost 1895.0000` (master/src/trade/batch.rs),
/// or for an order `cash 2000.0000 with 500.0000 reserved by open buys does
/// not cover 1895.0000` (master/src/trade/queue.rs).
fn insufficient_funds(text: &str) -> String {
    // The margin rules of short selling (protocol 1.2).
    if text.starts_with("margin:")
        || text.starts_with("short selling")
        || text.starts_with("buying power")
    {
        return with_detail("not enough margin", text);
    }
    let m = |t: &str| Money::parse(t).ok().map(human_money);
    let marks = ["cash ", " with ", " reserved by open buys does not cover "];
    let reserved = between(text, marks).map(|p| p.map(m));
    if let Some([Some(cash), Some(reserved), Some(need)]) = reserved {
        return format!(
            "not enough cash: {cash} available, {reserved} of it set aside for open orders, \
             {need} needed"
        );
    }
    match between(text, ["cash ", " is below the cost "]).map(|p| p.map(m)) {
        Some([Some(cash), Some(cost)]) => {
            format!("not enough cash: {cash} available, {cost} needed")
        }
        _ => with_detail("not enough cash", text),
    }
}

/// `holding 3 shares, selling 5` (master/src/trade/batch.rs), or for an
/// order `holding 3 shares with 2 reserved by open sells, selling 5`
/// (master/src/trade/queue.rs).
fn insufficient_shares(text: &str, symbol: &str) -> String {
    let symbol = symbol.to_ascii_uppercase();
    let n = |t: &str| Shares::parse(t).ok().map(human_shares);
    let marks = [
        "holding ",
        " shares with ",
        " reserved by open sells, selling ",
    ];
    let reserved = between(text, marks).map(|p| p.map(n));
    if let Some([Some(held), Some(reserved), Some(sold)]) = reserved {
        return format!(
            "not enough shares: you hold {held} {symbol}, {reserved} of them set aside for open \
             orders, tried to sell {sold}"
        );
    }
    match between(text, ["holding ", " shares, selling "]).map(|p| p.map(n)) {
        Some([Some(held), Some(sold)]) => {
            format!("not enough shares: you hold {held} {symbol}, tried to sell {sold}")
        }
        _ => with_detail("not enough shares", text),
    }
}

/// The pieces of `text` after each of `marks` in turn, the first mark
/// starting the text: `cash 1 is below the cost 2` with the marks `cash `
/// and ` is below the cost ` is `1` and `2`.
fn between<'a, const N: usize>(text: &'a str, marks: [&str; N]) -> Option<[&'a str; N]> {
    let mut rest = text.strip_prefix(marks[0])?;
    let mut pieces = [""; N];
    for i in 1..N {
        (pieces[i - 1], rest) = rest.split_once(marks[i])?;
    }
    pieces[N - 1] = rest;
    Some(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(code: ReasonCode, text: &str, what: &What) -> (u8, String) {
        let err = refused(&Reason::new(code, text), what);
        (err.status, err.message)
    }

    #[test]
    fn trade_refusals_name_the_amounts() {
        let what = What {
            symbol: Some("aapl"),
            quantity: Shares::whole(5),
            trade: true,
            ..What::default()
        };
        assert_eq!(
            sentence(
                ReasonCode::InsufficientFunds,
                "cash 120.5000 is below the cost 1895.0000",
                &what
            ),
            (
                65,
                "not enough cash: 120.5000 available, 1,895.0000 needed".to_string()
            )
        );
        assert_eq!(
            sentence(
                ReasonCode::InsufficientShares,
                "holding 3 shares, selling 5",
                &what
            ),
            (
                65,
                "not enough shares: you hold 3 AAPL, tried to sell 5".to_string()
            )
        );
        assert_eq!(
            sentence(
                ReasonCode::InsufficientFunds,
                "cash 2000.0000 with 500.0000 reserved by open buys does not cover 1895.0000",
                &what
            ),
            (
                65,
                "not enough cash: 2,000.0000 available, 500.0000 of it set aside for open \
                 orders, 1,895.0000 needed"
                    .to_string()
            )
        );
        assert_eq!(
            sentence(
                ReasonCode::InsufficientShares,
                "holding 3 shares with 2 reserved by open sells, selling 5",
                &what
            )
            .1,
            "not enough shares: you hold 3 AAPL, 2 of them set aside for open orders, tried \
             to sell 5"
        );
        assert_eq!(
            sentence(ReasonCode::InsufficientFunds, "no money", &what).1,
            "not enough cash (no money)"
        );
        assert_eq!(
            sentence(ReasonCode::UnknownOutcome, "", &what),
            (
                75,
                "the server lost contact mid-trade; check papertrader trades".to_string()
            )
        );
    }

    #[test]
    fn every_code_has_a_sentence_and_status() {
        let what = What {
            symbol: Some("zzzz"),
            user: Some("bob"),
            ..What::default()
        };
        for code in ReasonCode::all() {
            let (status, message) = sentence(code, "detail", &what);
            assert!((64..=78).contains(&status), "{code}: {status}");
            assert!(!message.is_empty() && !message.contains("Reason"), "{code}");
        }
        assert_eq!(
            sentence(ReasonCode::UnknownAsset, "", &what),
            (
                65,
                "unknown symbol ZZZZ; see papertrader assets".to_string()
            )
        );
        assert_eq!(
            sentence(ReasonCode::BadCredentials, "x", &what),
            (77, "wrong username or password".to_string())
        );
        assert_eq!(
            sentence(
                ReasonCode::RateLimited,
                "too many failed logins; try again in 30 s",
                &what
            ),
            (
                75,
                "rate limited: too many failed logins; try again in 30 s".to_string()
            )
        );
        assert_eq!(sentence(ReasonCode::BadSession, "", &what).0, 77);
        assert_eq!(sentence(ReasonCode::Unavailable, "", &what).0, 69);
        assert_eq!(sentence(ReasonCode::Internal, "", &what).0, 70);
    }

    #[test]
    fn order_refusals() {
        let what = What {
            order: Some(12),
            check: Some("orders"),
            trade: true,
            ..What::default()
        };
        assert_eq!(
            sentence(ReasonCode::UnknownOrder, "no open order 12", &what),
            (
                65,
                "order 12 is not an open order of yours: it may have filled, expired or been \
                 cancelled; see papertrader orders"
                    .to_string()
            )
        );
        assert_eq!(
            sentence(ReasonCode::BadPrice, "a market order takes no limit", &what),
            (
                65,
                "bad limit or stop price: a market order takes no limit".to_string()
            )
        );
        assert_eq!(sentence(ReasonCode::TooManyOrders, "", &what).0, 75);
        assert_eq!(
            sentence(ReasonCode::UnknownOutcome, "", &what).1,
            "the server lost contact mid-trade; check papertrader orders"
        );
        let io = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed");
        let err = from_client(&ClientError::Io("h:1".into(), io), &what);
        assert_eq!(
            (err.status, err.message.as_str()),
            (
                75,
                "the connection to h:1 broke before the answer (closed); check papertrader orders"
            )
        );
    }

    #[test]
    fn broken_connections() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = ClientError::Io("127.0.0.1:1".into(), io);
        let plain = from_client(&err, &What::default());
        assert_eq!(plain.status, 69);
        assert!(
            plain
                .message
                .starts_with("cannot reach the server at 127.0.0.1:1")
        );
        let trade = What {
            trade: true,
            ..What::default()
        };
        assert_eq!(from_client(&err, &trade).status, 75);
    }
}
