//! Typed argument values of PROTOCOL.md section 3, each validated once at
//! the edge so that code past the parser never sees a malformed one.

mod date;
mod money;
mod order;
mod reason;
mod shares;

use std::fmt;

pub use date::{Date, Timestamp};
pub use money::{Money, SCALE};
pub use order::{
    ORDER_TYPES, OrderClass, OrderKind, OrderPrice, OrderStatus, Percent, Tif, Trail,
    parse_order_id,
};
pub use reason::{Reason, ReasonCode};
pub use shares::{Quantity, SHARE_DIGITS, SHARE_SCALE, Shares, round_half_away};

/// A value that does not have the shape PROTOCOL.md section 3 requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {input:?}: expected {expected}")]
pub struct ValueError {
    /// What kind of value it was meant to be (`username`, `money`...).
    pub what: &'static str,
    /// The offending input, shortened for display.
    pub input: String,
    /// What was expected instead.
    pub expected: &'static str,
}

/// Longest piece of bad input repeated back in a message.
pub const SHOWN_INPUT: usize = 40;

/// At most [`SHOWN_INPUT`] characters of peer input, with `...` when it
/// was cut: the one way a message repeats what a peer sent.
pub fn shown(input: &str) -> String {
    if input.chars().count() > SHOWN_INPUT {
        let cut: String = input.chars().take(SHOWN_INPUT).collect();
        format!("{cut}...")
    } else {
        input.to_string()
    }
}

/// `text` as a number of 1 to `max_len` decimal digits and nothing else
/// (no sign, no space), within `T`.
pub(crate) fn decimal<T: std::str::FromStr>(text: &str, max_len: usize) -> Option<T> {
    let digits = (1..=max_len).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    text.parse().ok().filter(|_| digits)
}

impl ValueError {
    /// A value error for `input`.
    pub fn new(what: &'static str, input: &str, expected: &'static str) -> ValueError {
        ValueError {
            what,
            input: shown(input),
            expected,
        }
    }

    /// The reason code a server answers with for this value (section 8:
    /// the specific code where one fits, else `bad-arguments`).
    pub fn code(&self) -> ReasonCode {
        match self.what {
            "username" => ReasonCode::InvalidUsername,
            "email" => ReasonCode::InvalidEmail,
            "quantity" | "shares" => ReasonCode::BadQuantity,
            "date" => ReasonCode::BadDate,
            "sessionID" => ReasonCode::BadSession,
            _ => ReasonCode::BadArguments,
        }
    }

    /// The error as a wire reason.
    pub fn reason(&self) -> Reason {
        Reason::new(self.code(), self.to_string())
    }
}

/// Defines a validated string newtype with `parse`, `as_str` and `Display`.
macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $what:literal, $expected:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates `text` against PROTOCOL.md section 3.
            pub fn parse(text: &str) -> Result<$name, ValueError> {
                let check: fn(&str) -> bool = $check;
                check(text)
                    .then(|| $name(text.to_string()))
                    .ok_or_else(|| ValueError::new($what, text, $expected))
            }

            /// The value as sent on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = ValueError;
            fn from_str(text: &str) -> Result<$name, ValueError> {
                $name::parse(text)
            }
        }
    };
}

mod oidc;
pub use oidc::{IdToken, MAX_ID_TOKEN, Provider, ResetProof};

mod key;
pub use key::{ApiKeyId, ApiSecret, KeyLabel};

mod tag;
pub use tag::ClientOrderId;

mod game;
pub use game::{
    CODE_LEN, DEFAULT_GAME_CASH, GameCode, GameFees, GameRules, MAX_GAME_ASSETS, MAX_GAME_NAME,
    MAX_START_CASH, OrderTypes, PortfolioName, Visibility, check_name as check_game_name, parse_id,
};

text_value!(
    /// 1-24 of `A-Z a-z 0-9 _ . -`, kept as registered; compare with
    /// [`Username::key`] to ignore case.
    Username,
    "username",
    "1-24 characters of A-Z a-z 0-9 _ . -",
    |s| {
        (1..=24).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    }
);

impl Username {
    /// The case-folded form that decides uniqueness and login matching.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

text_value!(
    /// 3-321 bytes, exactly one `@` with text on both sides, no space or
    /// control character.
    Email,
    "email",
    "an address like name@example.com (3-321 bytes, one @, no spaces)",
    |s| {
        let parts = s.split_once('@');
        (3..=321).contains(&s.len())
            && s.bytes().filter(|&b| b == b'@').count() == 1
            && parts.is_some_and(|(l, r)| !l.is_empty() && !r.is_empty())
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
    }
);

text_value!(
    /// 1-128 printable ASCII characters without spaces, opaque to servers.
    HashedPass,
    "hashedPass",
    "1-128 printable ASCII characters without spaces",
    |s| (1..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
);

text_value!(
    /// 32 lowercase hex characters (128 random bits).
    SessionId,
    "sessionID",
    "32 lowercase hex characters",
    |s| s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
);

impl SessionId {
    /// A session id from 16 random bytes supplied by the caller.
    pub fn from_bytes(bytes: [u8; 16]) -> SessionId {
        SessionId(hex(&bytes))
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// 1-16 of `A-Z 0-9 . - ^ =`; input is case-insensitive, kept upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol(String);

impl Symbol {
    /// Validates and upper-cases `text`.
    pub fn parse(text: &str) -> Result<Symbol, ValueError> {
        let ok = (1..=16).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-^=".contains(&b));
        ok.then(|| Symbol(text.to_ascii_uppercase()))
            .ok_or_else(|| ValueError::new("symbol", text, "1-16 characters of A-Z 0-9 . - ^ ="))
    }

    /// The upper-case symbol.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A map keyed by `Symbol` is looked up by the upper-case text too.
impl std::borrow::Borrow<str> for Symbol {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses a wire bool: exactly `true` or `false`.
pub fn parse_bool(text: &str) -> Result<bool, ValueError> {
    match text {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ValueError::new("bool", text, "true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(
            Username::parse("Alice_B.c-1").expect("ok").key(),
            "alice_b.c-1"
        );
        assert!(Username::parse(&"a".repeat(24)).is_ok());
        let err = Username::parse(&"a".repeat(25)).expect_err("25 characters");
        assert_eq!(err.code(), ReasonCode::InvalidUsername);
        assert!(
            err.to_string()
                .starts_with("username \"aaaaaaaaaaaaaaaaaaaaaaaaa\": expected 1-24")
        );
        for bad in ["", "al ice", "al@ice", "é", "a/b"] {
            assert!(Username::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn emails() {
        assert!(Email::parse("alice@example.com").is_ok());
        assert!(Email::parse("a@b").is_ok());
        for bad in [
            "ab",
            "@b.c",
            "a@",
            "a@b@c",
            "a b@c",
            "a\t@b",
            &format!("{}@b", "a".repeat(320)),
        ] {
            let err = Email::parse(bad).expect_err(bad);
            assert_eq!(err.code(), ReasonCode::InvalidEmail);
        }
    }

    #[test]
    fn long_input_is_shortened_in_messages() {
        let err = Email::parse(&"x".repeat(400)).expect_err("no @");
        assert!(err.to_string().len() < 160, "{err}");
    }

    #[test]
    fn session_ids() {
        let id = SessionId::from_bytes([
            0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2,
            0xe1, 0xf0,
        ]);
        assert_eq!(id.as_str(), "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
        assert_eq!(SessionId::parse(id.as_str()), Ok(id));
        let err = SessionId::parse("0F1E2D3C4B5A69788796A5B4C3D2E1F0").expect_err("upper case");
        assert_eq!(err.code(), ReasonCode::BadSession);
        assert!(SessionId::parse("0f1e").is_err());
    }

    #[test]
    fn symbols_upper_case() {
        assert_eq!(Symbol::parse("brk.b").expect("ok").as_str(), "BRK.B");
        assert_eq!(Symbol::parse("^gspc").expect("ok").as_str(), "^GSPC");
        assert_eq!(Symbol::parse("EURUSD=X").expect("ok").as_str(), "EURUSD=X");
        for bad in ["", "A B", "A$", &"A".repeat(17)] {
            assert_eq!(
                Symbol::parse(bad).expect_err(bad).code(),
                ReasonCode::BadArguments
            );
        }
    }

    #[test]
    fn hashed_pass_and_bool() {
        assert!(HashedPass::parse(&"f".repeat(64)).is_ok());
        assert!(HashedPass::parse(&"f".repeat(129)).is_err());
        assert!(HashedPass::parse("has space").is_err());
        assert_eq!(parse_bool("true"), Ok(true));
        assert!(parse_bool("True").is_err());
    }
}
