//! User data lines (PROTOCOL.md section 4): portfolio positions,
//! transaction history entries and the `KEY VALUE` lines of `getUserInfo`,
//! each in its private and (where there is one) public view.

use std::fmt::{self, Write};

use super::{Fields, Line, PayloadError, Problem, digits};
use crate::value::{
    ApiKeyId, Email, KeyLabel, Money, Shares, Symbol, Timestamp, Username, ValueError,
};

/// A `getUserPortfolio` line: `SYMBOL QUANTITY AVG_COST PRICE VALUE` in the
/// owner's view, `SYMBOL QUANTITY` in anyone else's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The asset, upper-case.
    pub symbol: Symbol,
    /// Shares held.
    pub quantity: Shares,
    /// The owner's view only: cost and current value.
    pub valuation: Option<Valuation>,
}

/// The private columns of a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Valuation {
    /// Total cost of the shares held over their number.
    pub avg_cost: Money,
    /// The current price.
    pub price: Money,
    /// QUANTITY times PRICE.
    pub value: Money,
}

impl Line for Position {
    const KIND: &'static str = "position";

    fn write(&self, out: &mut String) {
        let _ = write!(out, "{} {}", self.symbol, self.quantity);
        if let Some(v) = &self.valuation {
            let _ = write!(out, " {} {} {}", v.avg_cost, v.price, v.value);
        }
        out.push('\n');
    }

    fn parse(line: &str) -> Result<Position, PayloadError> {
        let mut f = Fields::new(Self::KIND, line);
        let symbol = f.value("symbol", Symbol::parse)?;
        let quantity = f.value("quantity", Shares::parse)?;
        let valuation = if f.more() {
            let valuation = Valuation {
                avg_cost: f.value("avg_cost", Money::parse)?,
                price: f.value("price", Money::parse)?,
                value: f.value("value", Money::parse)?,
            };
            f.end("value", "2 or 5 fields")?;
            Some(valuation)
        } else {
            None
        };
        Ok(Position {
            symbol,
            quantity,
            valuation,
        })
    }
}

/// What a transaction history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TradeSide {
    /// A fill of a buy.
    Buy,
    /// A fill of a sell.
    Sell,
    /// An account reset (SYMBOL `-`, QUANTITY 0, PRICE the new cash).
    Reset,
    /// A split (QUANTITY the shares held after it, PRICE the new AVG_COST).
    Split,
    /// A dividend (QUANTITY the shares held, PRICE the cash per share);
    /// a short's QUANTITY is below 0, and it pays.
    Dividend,
    /// A short bought back by the master under the maintenance margin
    /// (protocol 1.2; QUANTITY the shares, PRICE the fill price).
    Liquidation,
    /// The commission of a fill (protocol 1.2; QUANTITY the shares
    /// filled, PRICE the fee taken from cash).
    Fee,
}

impl TradeSide {
    /// The wire word.
    pub fn as_str(self) -> &'static str {
        match self {
            TradeSide::Buy => "buy",
            TradeSide::Sell => "sell",
            TradeSide::Reset => "reset",
            TradeSide::Split => "split",
            TradeSide::Dividend => "dividend",
            TradeSide::Liquidation => "liquidation",
            TradeSide::Fee => "fee",
        }
    }

    /// Parses the wire word, exactly.
    pub fn parse(word: &str) -> Result<TradeSide, ValueError> {
        use TradeSide::*;
        [Buy, Sell, Reset, Split, Dividend, Liquidation, Fee]
            .into_iter()
            .find(|s| s.as_str() == word)
            .ok_or_else(|| {
                let expected = "buy, sell, reset, split, dividend, liquidation or fee";
                ValueError::new("side", word, expected)
            })
    }
}

impl fmt::Display for TradeSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `getUserTransactionHistory` line:
/// `TXID TIMESTAMP SIDE SYMBOL QUANTITY PRICE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trade {
    /// Transaction id, unique per master.
    pub txid: i64,
    /// When it happened.
    pub time: Timestamp,
    /// What it was.
    pub side: TradeSide,
    /// The asset, upper-case (`-` for a reset).
    pub symbol: Symbol,
    /// Shares (0 for a reset).
    pub quantity: Shares,
    /// Price per share (the new cash for a reset).
    pub price: Money,
}

impl Line for Trade {
    const KIND: &'static str = "transaction";

    fn write(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "{} {} {} {} {} {}",
            self.txid, self.time, self.side, self.symbol, self.quantity, self.price
        );
    }

    fn parse(line: &str) -> Result<Trade, PayloadError> {
        let mut f = Fields::new(Self::KIND, line);
        let txid = |text: &str| digits(text, "txid", "a transaction id (digits only)");
        let trade = Trade {
            txid: f.value("txid", txid)?,
            time: f.value("timestamp", Timestamp::parse)?,
            side: f.value("side", TradeSide::parse)?,
            symbol: f.value("symbol", Symbol::parse)?,
            quantity: f.value("quantity", Shares::parse)?,
            price: f.value("price", Money::parse)?,
        };
        f.end("price", "6 fields")?;
        Ok(trade)
    }
}

/// The `getUserInfo` payload: `KEY VALUE` lines `username`, `email`,
/// `created`, `cash`, `equity` in the owner's view, `username` and
/// `created` in anyone else's. Several lines, so not a [`Line`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The username as registered.
    pub username: Username,
    /// When the account was opened.
    pub created: Timestamp,
    /// The owner's view only.
    pub private: Option<PrivateInfo>,
}

/// The lines of `getUserInfo` only the owner sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateInfo {
    /// The account's email address; `None` for a third-party account
    /// whose provider vouched for none (shown as `-`).
    pub email: Option<Email>,
    /// Cash.
    pub cash: Money,
    /// Cash plus every position at its current price.
    pub equity: Money,
}

const USER_INFO: &str = "user info";

/// An email address, or `-` for none.
fn parse_email(text: &str) -> Result<Option<Email>, crate::value::ValueError> {
    match text {
        "-" => Ok(None),
        _ => Email::parse(text).map(Some),
    }
}

impl UserInfo {
    /// Appends the whole payload, each line with its `\n`.
    pub fn write(&self, out: &mut String) {
        let _ = writeln!(out, "username {}", self.username);
        if let Some(p) = &self.private {
            match &p.email {
                Some(email) => {
                    let _ = writeln!(out, "email {email}");
                }
                None => out.push_str("email -\n"),
            }
        }
        let _ = writeln!(out, "created {}", self.created);
        if let Some(p) = &self.private {
            let _ = writeln!(out, "cash {}\nequity {}", p.cash, p.equity);
        }
    }

    /// Parses a whole payload; the second line's key (`email` or
    /// `created`) tells the private view from the public one.
    pub fn parse(payload: &str) -> Result<UserInfo, PayloadError> {
        let body = payload.strip_suffix('\n').unwrap_or(payload);
        let mut lines = body.split('\n').filter(|_| !body.is_empty());
        let mut next = |key: &'static str| {
            lines
                .next()
                .ok_or_else(|| PayloadError::new(USER_INFO, "", Problem::MissingLine(key)))
        };
        let username = entry(next("username")?, "username", "username", Username::parse)?;
        let line = next("created")?;
        let private = line.split(' ').next() == Some("email");
        let email = match private {
            true => Some(entry(line, "email", "email", parse_email)?),
            false => None,
        };
        let line = if private { next("created")? } else { line };
        let keys = if private {
            "created"
        } else {
            "email or created"
        };
        let created = entry(line, "created", keys, Timestamp::parse)?;
        let private = match email {
            Some(email) => Some(PrivateInfo {
                email,
                cash: entry(next("cash")?, "cash", "cash", Money::parse)?,
                equity: entry(next("equity")?, "equity", "equity", Money::parse)?,
            }),
            None => None,
        };
        if let Some(extra) = lines.next() {
            return Err(PayloadError::new(USER_INFO, extra, Problem::ExtraLine));
        }
        Ok(UserInfo {
            username,
            created,
            private,
        })
    }
}

/// The value of a `KEY VALUE` line whose key must be `key`; `keys` names
/// what was expected when it is not.
fn entry<T>(
    line: &str,
    key: &'static str,
    keys: &'static str,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Result<T, PayloadError> {
    let mut f = Fields::new(USER_INFO, line);
    let found = f.text("key")?;
    if found != key {
        let input = ValueError::new("key", found, keys).input;
        let problem = Problem::Bad {
            field: "key",
            input,
            expected: keys,
        };
        return Err(PayloadError::new(USER_INFO, line, problem));
    }
    let value = f.value(key, parse)?;
    f.end(key, "2 fields, KEY VALUE")?;
    Ok(value)
}

/// A `getApiKeys` line (protocol 1.2): `KEYID CREATED LABEL`, one per key
/// not revoked, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLine {
    /// The key id.
    pub id: ApiKeyId,
    /// When it was made.
    pub created: Timestamp,
    /// What its owner calls it.
    pub label: KeyLabel,
}

impl Line for KeyLine {
    const KIND: &'static str = "key";

    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "{} {} {}", self.id, self.created, self.label);
    }

    fn parse(line: &str) -> Result<KeyLine, PayloadError> {
        let mut f = Fields::new(Self::KIND, line);
        let key = KeyLine {
            id: f.value("keyID", ApiKeyId::parse)?,
            created: f.value("created", Timestamp::parse)?,
            label: f.value("label", KeyLabel::parse)?,
        };
        f.end("label", "3 fields")?;
        Ok(key)
    }
}

/// A `getWatchlist` line (protocol 1.2): `SYMBOL ADDED`, one per watched
/// symbol, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchLine {
    /// The asset, upper-case.
    pub symbol: Symbol,
    /// When it was added.
    pub added: Timestamp,
}

impl Line for WatchLine {
    const KIND: &'static str = "watchlist";

    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "{} {}", self.symbol, self.added);
    }

    fn parse(line: &str) -> Result<WatchLine, PayloadError> {
        let mut f = Fields::new(Self::KIND, line);
        let watched = WatchLine {
            symbol: f.value("symbol", Symbol::parse)?,
            added: f.value("added", Timestamp::parse)?,
        };
        f.end("added", "2 fields")?;
        Ok(watched)
    }
}
