//! Reason codes (PROTOCOL.md section 8): the first word of every failure
//! return's `reason` argument.

use std::fmt;

/// Every reason code of protocol version 1.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasonCode {
    BadArguments,
    BadSession,
    WrongState,
    BadCredentials,
    UsernameTaken,
    InvalidUsername,
    InvalidEmail,
    UnknownAsset,
    BadQuantity,
    InsufficientFunds,
    InsufficientShares,
    UnknownUser,
    Forbidden,
    BadDate,
    BadPrice,
    UnknownOrder,
    TooManyOrders,
    MarketClosed,
    UnknownProvider,
    BadToken,
    NoPassword,
    NotLinked,
    IdentityTaken,
    RateLimited,
    Unavailable,
    UnknownOutcome,
    Internal,
    Protocol,
    TooManyKeys,
    UnknownKey,
    WatchlistFull,
    UnknownPortfolio,
    PortfolioExists,
    TooManyPortfolios,
    PortfolioBusy,
    UnknownGame,
    AlreadyJoined,
    GameNotRunning,
    GameRule,
    GameStarted,
    NotAPlayer,
}

const CODES: &[(ReasonCode, &str)] = &[
    (ReasonCode::BadArguments, "bad-arguments"),
    (ReasonCode::BadSession, "bad-session"),
    (ReasonCode::WrongState, "wrong-state"),
    (ReasonCode::BadCredentials, "bad-credentials"),
    (ReasonCode::UsernameTaken, "username-taken"),
    (ReasonCode::InvalidUsername, "invalid-username"),
    (ReasonCode::InvalidEmail, "invalid-email"),
    (ReasonCode::UnknownAsset, "unknown-asset"),
    (ReasonCode::BadQuantity, "bad-quantity"),
    (ReasonCode::InsufficientFunds, "insufficient-funds"),
    (ReasonCode::InsufficientShares, "insufficient-shares"),
    (ReasonCode::UnknownUser, "unknown-user"),
    (ReasonCode::Forbidden, "forbidden"),
    (ReasonCode::BadDate, "bad-date"),
    (ReasonCode::BadPrice, "bad-price"),
    (ReasonCode::UnknownOrder, "unknown-order"),
    (ReasonCode::TooManyOrders, "too-many-orders"),
    (ReasonCode::MarketClosed, "market-closed"),
    (ReasonCode::UnknownProvider, "unknown-provider"),
    (ReasonCode::BadToken, "bad-token"),
    (ReasonCode::NoPassword, "no-password"),
    (ReasonCode::NotLinked, "not-linked"),
    (ReasonCode::IdentityTaken, "identity-taken"),
    (ReasonCode::RateLimited, "rate-limited"),
    (ReasonCode::Unavailable, "unavailable"),
    (ReasonCode::UnknownOutcome, "unknown-outcome"),
    (ReasonCode::Internal, "internal"),
    (ReasonCode::Protocol, "protocol"),
    (ReasonCode::TooManyKeys, "too-many-keys"),
    (ReasonCode::UnknownKey, "unknown-key"),
    (ReasonCode::WatchlistFull, "watchlist-full"),
    (ReasonCode::UnknownPortfolio, "unknown-portfolio"),
    (ReasonCode::PortfolioExists, "portfolio-exists"),
    (ReasonCode::TooManyPortfolios, "too-many-portfolios"),
    (ReasonCode::PortfolioBusy, "portfolio-busy"),
    (ReasonCode::UnknownGame, "unknown-game"),
    (ReasonCode::AlreadyJoined, "already-joined"),
    (ReasonCode::GameNotRunning, "game-not-running"),
    (ReasonCode::GameRule, "game-rule"),
    (ReasonCode::GameStarted, "game-started"),
    (ReasonCode::NotAPlayer, "not-a-player"),
];

impl ReasonCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        CODES
            .iter()
            .find(|(c, _)| *c == self)
            .map(|(_, s)| *s)
            .expect("every code listed")
    }

    /// Parses a wire code.
    pub fn parse(word: &str) -> Option<ReasonCode> {
        CODES.iter().find(|(_, s)| *s == word).map(|(c, _)| *c)
    }

    /// Every code, in the order of PROTOCOL.md section 8.
    pub fn all() -> impl Iterator<Item = ReasonCode> {
        CODES.iter().map(|(c, _)| *c)
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `reason` argument: a code and an optional sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The machine-readable code.
    pub code: ReasonCode,
    /// Free text for people; may be empty.
    pub text: String,
}

impl Reason {
    /// A reason with an explanatory sentence.
    pub fn new(code: ReasonCode, text: impl Into<String>) -> Reason {
        Reason {
            code,
            text: text.into(),
        }
    }

    /// Parses `code [text]`; an unknown code is an error naming it.
    pub fn parse(arg: &str) -> Result<Reason, super::ValueError> {
        let (word, text) = arg.split_once(' ').unwrap_or((arg, ""));
        match ReasonCode::parse(word) {
            Some(code) => Ok(Reason {
                code,
                text: text.to_string(),
            }),
            None => Err(super::ValueError::new(
                "reason code",
                word,
                "a code of PROTOCOL.md section 8",
            )),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.text.is_empty() {
            f.write_str(self.code.as_str())
        } else {
            write!(f, "{} {}", self.code, self.text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        assert_eq!(ReasonCode::all().count(), 41);
        for code in ReasonCode::all() {
            assert_eq!(ReasonCode::parse(code.as_str()), Some(code));
        }
    }

    #[test]
    fn reason_parse_and_display() {
        let r =
            Reason::parse("insufficient-funds cash 120.5000 is below cost 1895.0000").expect("ok");
        assert_eq!(r.code, ReasonCode::InsufficientFunds);
        assert_eq!(r.text, "cash 120.5000 is below cost 1895.0000");
        assert_eq!(
            r.to_string(),
            "insufficient-funds cash 120.5000 is below cost 1895.0000"
        );
        assert_eq!(
            Reason::parse("forbidden").expect("bare").to_string(),
            "forbidden"
        );
        let err = Reason::parse("nope whatever").expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "reason code \"nope\": expected a code of PROTOCOL.md section 8"
        );
    }
}
