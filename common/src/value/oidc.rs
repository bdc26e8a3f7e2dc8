//! The values of third-party sign-in (PROTOCOL.md section 3, `provider`
//! and `idToken`), and what `resetAccount` takes as its proof: a password
//! for an account that has one, a fresh ID token for one that has none.

use std::fmt;

use super::{HashedPass, ValueError};

/// Longest ID token accepted, in bytes.
pub const MAX_ID_TOKEN: usize = 16_384;

text_value!(
    /// A provider name from the master's list: 1-32 of `a-z 0-9 -`.
    Provider,
    "provider",
    "1-32 characters of a-z 0-9 -",
    |s| {
        (1..=32).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    }
);

/// An OpenID Connect ID token in JWS compact form: three base64url parts
/// joined by `.`, at most [`MAX_ID_TOKEN`] bytes. The header and payload
/// parts are not empty; the signature part may be (an unsigned token has
/// the right shape and is refused by the master as `bad-token`). Its text
/// is a credential: `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct IdToken(String);

impl IdToken {
    /// Checks the shape only; the master checks everything else.
    pub fn parse(text: &str) -> Result<IdToken, ValueError> {
        let base64url = |part: &str| {
            part.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        let parts: Vec<&str> = text.split('.').collect();
        let ok = text.len() <= MAX_ID_TOKEN
            && parts.len() == 3
            && !parts[0].is_empty()
            && !parts[1].is_empty()
            && parts.iter().all(|p| base64url(p));
        let expected = "an ID token: three base64url parts joined by '.', at most 16384 bytes";
        ok.then(|| IdToken(text.to_string()))
            .ok_or_else(|| ValueError::new("idToken", text, expected))
    }

    /// The token as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdToken({} bytes)", self.0.len())
    }
}

/// The second argument of `resetAccount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetProof {
    /// The account's password (hashedPass).
    Pass(HashedPass),
    /// A fresh ID token of the account's linked identity.
    Token(IdToken),
}

impl ResetProof {
    /// A hashedPass when the text is one (1-128 printable characters);
    /// else an ID token, which is always longer (its signature alone is
    /// 86 characters for ES256, 342 for RS256).
    pub fn parse(text: &str) -> Result<ResetProof, ValueError> {
        if let Ok(pass) = HashedPass::parse(text) {
            return Ok(ResetProof::Pass(pass));
        }
        match IdToken::parse(text) {
            Ok(token) => Ok(ResetProof::Token(token)),
            Err(_) => Err(ValueError::new(
                "hashedPass",
                text,
                "1-128 printable ASCII characters without spaces, or an ID token",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers() {
        assert!(Provider::parse("google").is_ok());
        assert!(Provider::parse("my-dex-2").is_ok());
        assert!(Provider::parse(&"a".repeat(32)).is_ok());
        for bad in ["", "Google", "a_b", "a b", &"a".repeat(33)] {
            assert!(Provider::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn id_tokens() {
        assert!(IdToken::parse("eyJh.eyJz.c2ln").is_ok());
        assert!(
            IdToken::parse("eyJh.eyJz.").is_ok(),
            "unsigned: refused later"
        );
        let at_limit = format!(
            "{}.{}.{}",
            "a".repeat(8000),
            "b".repeat(8000),
            "c".repeat(382)
        );
        assert_eq!(at_limit.len(), MAX_ID_TOKEN);
        assert!(IdToken::parse(&at_limit).is_ok());
        let over = format!("{at_limit}c");
        assert!(IdToken::parse(&over).is_err());
        for bad in [
            "", "a.b", "a.b.c.d", ".b.c", "a..c", "a.b.c=", "a.b+.c", "a.b.c d",
        ] {
            assert!(IdToken::parse(bad).is_err(), "{bad:?}");
        }
        let debug = format!("{:?}", IdToken::parse("eyJh.eyJz.c2ln").expect("ok"));
        assert_eq!(
            debug, "IdToken(14 bytes)",
            "the token itself is never shown"
        );
    }

    #[test]
    fn reset_proofs() {
        let pass = "f".repeat(64);
        assert!(matches!(ResetProof::parse(&pass), Ok(ResetProof::Pass(_))));
        let token = format!("eyJh.eyJz.{}", "s".repeat(342));
        assert!(matches!(
            ResetProof::parse(&token),
            Ok(ResetProof::Token(_))
        ));
        assert!(ResetProof::parse("has space").is_err());
        assert!(ResetProof::parse(&"x".repeat(129)).is_err());
    }
}
