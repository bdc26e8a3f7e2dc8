//! The values of API keys (protocol 1.2): a key id, its secret and its
//! label. A key id names a key in lists and logs; the secret is shown once,
//! when the key is made, and never printed again (its `Debug` hides it).

use std::fmt;

use super::{ValueError, hex};

/// The alphabet of a key id after its `PK`: RFC 4648 base32, which has no
/// 0, 1, 8 or 9 to mistake for letters.
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

text_value!(
    /// `PK` and 18 characters of `A-Z 2-7` (90 random bits): shaped like
    /// Alpaca's key ids, so bots that check the shape accept it.
    ApiKeyId,
    "keyID",
    "PK and 18 characters of A-Z 2-7",
    |s| {
        s.len() == 20
            && s.starts_with("PK")
            && s.bytes().skip(2).all(|b| BASE32.contains(&b))
    }
);

impl ApiKeyId {
    /// A key id from random bytes (the first 90 bits are used).
    pub fn from_bytes(bytes: [u8; 12]) -> ApiKeyId {
        let mut bits = u128::from_be_bytes({
            let mut wide = [0u8; 16];
            wide[..12].copy_from_slice(&bytes);
            wide
        });
        let mut id = String::with_capacity(20);
        id.push_str("PK");
        for _ in 0..18 {
            id.push(BASE32[(bits >> 123) as usize] as char);
            bits <<= 5;
        }
        ApiKeyId(id)
    }
}

/// A key's secret: 64 lowercase hex characters (256 random bits).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ApiSecret(String);

impl ApiSecret {
    /// Validates `text`.
    pub fn parse(text: &str) -> Result<ApiSecret, ValueError> {
        let ok = text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if ok {
            Ok(ApiSecret(text.to_string()))
        } else {
            // Never echo what may be most of a secret.
            Err(ValueError::new(
                "secretKey",
                "",
                "64 lowercase hex characters",
            ))
        }
    }

    /// A secret from 32 random bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> ApiSecret {
        ApiSecret(hex(&bytes))
    }

    /// The secret as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiSecret(..)")
    }
}

impl fmt::Display for ApiSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

text_value!(
    /// 1-32 of `A-Z a-z 0-9 _ . -`: what the owner calls a key.
    KeyLabel,
    "label",
    "1-32 characters of A-Z a-z 0-9 _ . -",
    |s| {
        (1..=32).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_from_bytes_parse_back_and_differ() {
        let a = ApiKeyId::from_bytes([0; 12]);
        assert_eq!(a.as_str(), "PKAAAAAAAAAAAAAAAAAA");
        let b = ApiKeyId::from_bytes([0xff; 12]);
        assert_eq!(b.as_str(), "PK777777777777777777");
        let c = ApiKeyId::from_bytes([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4]);
        for id in [&a, &b, &c] {
            assert_eq!(ApiKeyId::parse(id.as_str()).as_ref(), Ok(id));
        }
        assert_ne!(a, c);
    }

    #[test]
    fn bad_key_ids_and_secrets_are_refused() {
        for bad in [
            "",
            "PK",
            "pkAAAAAAAAAAAAAAAAAA",
            "PKAAAAAAAAAAAAAAAAA1",
            "XKAAAAAAAAAAAAAAAAAA",
            "PKAAAAAAAAAAAAAAAAAAA",
            "PKAAAAAAAAAAAAAAAAAé",
        ] {
            assert!(ApiKeyId::parse(bad).is_err(), "{bad}");
        }
        let good = "0123456789abcdef".repeat(4);
        assert!(ApiSecret::parse(&good).is_ok());
        for bad in [&good[..63], &good.to_uppercase(), &format!("{good}0"), ""] {
            let err = ApiSecret::parse(bad).expect_err("bad secret");
            assert!(!err.to_string().contains("0123"), "{err}");
        }
        assert_eq!(
            format!("{:?}", ApiSecret::from_bytes([7; 32])),
            "ApiSecret(..)"
        );
    }

    #[test]
    fn labels_are_short_words() {
        assert!(KeyLabel::parse("bot-1").is_ok());
        assert!(KeyLabel::parse(&"a".repeat(32)).is_ok());
        for bad in ["", "two words", &"a".repeat(33), "é"] {
            assert!(KeyLabel::parse(bad).is_err(), "{bad}");
        }
    }
}
