//! The UUIDs of the HTTP API. Alpaca names orders, assets and accounts by
//! UUID; the protocol names orders by number and assets by symbol. An
//! order's UUID holds its number under a fixed first group, so it turns
//! back into the number without a table; an asset's and an account's are
//! made from a hash of the symbol or the username, so they stay the same
//! from call to call and from worker to worker.

use sha2::{Digest, Sha256};

/// The first group of an order's UUID (`ordr`).
const ORDER: u32 = 0x6f72_6472;
/// The first group of a notional order's UUID (`fill`): a fill's number.
const FILL: u32 = 0x6669_6c6c;

/// The UUID of order `id`.
pub fn order_uuid(id: u64) -> String {
    numbered(ORDER, id)
}

/// The UUID of the notional order that made fill `txid`.
pub fn fill_uuid(txid: u64) -> String {
    numbered(FILL, txid)
}

fn numbered(group: u32, n: u64) -> String {
    let (hi, mid, lo) = (n >> 60, (n >> 48) & 0xfff, n & 0xffff_ffff_ffff);
    format!("{group:08x}-0000-4{hi:03x}-8{mid:03x}-{lo:012x}")
}

/// The order number of an order's UUID (either case); `None` for any
/// other text.
pub fn order_id(uuid: &str) -> Option<u64> {
    let b = uuid.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let hex = |range: std::ops::Range<usize>| -> Option<u64> {
        let text = uuid.get(range)?;
        text.bytes()
            .all(|c| c.is_ascii_hexdigit())
            .then(|| u64::from_str_radix(text, 16).ok())
            .flatten()
    };
    if hex(0..8)? != u64::from(ORDER) || hex(9..13)? != 0 || b[14] != b'4' || b[19] != b'8' {
        return None;
    }
    let (hi, mid, lo) = (hex(15..18)?, hex(20..23)?, hex(24..36)?);
    if hi > 0xf {
        return None;
    }
    Some(hi << 60 | mid << 48 | lo)
}

/// A stable UUID (version 4 bits, RFC 4122 variant) for `kind` and `name`.
pub fn named_uuid(kind: &str, name: &str) -> String {
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    h.update([0]);
    h.update(name.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = |r: std::ops::Range<usize>| b[r].iter().map(|v| format!("{v:02x}")).collect::<String>();
    format!(
        "{}-{}-{}-{}-{}",
        x(0..4),
        x(4..6),
        x(6..8),
        x(8..10),
        x(10..16)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_uuids_turn_back_into_numbers() {
        for id in [
            0,
            1,
            42,
            0xffff_ffff_ffff,
            1 << 48,
            u64::MAX,
            i64::MAX as u64,
        ] {
            let uuid = order_uuid(id);
            assert_eq!(uuid.len(), 36, "{uuid}");
            assert_eq!(order_id(&uuid), Some(id), "{uuid}");
            assert_eq!(order_id(&uuid.to_uppercase()), Some(id));
        }
        assert_eq!(order_uuid(42), "6f726472-0000-4000-8000-00000000002a");
        assert_eq!(order_id(&fill_uuid(42)), None, "a fill is not an order");
        for bad in [
            "",
            "42",
            "6f726472-0000-4000-8000-00000000002",
            "6f726472-0000-4000-8000-00000000002g",
            "6f726472-0000-5000-8000-00000000002a",
            "6f726472x0000-4000-8000-00000000002a",
            "6f726472-0000-4000-8000-00000000002aé",
        ] {
            assert_eq!(order_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn named_uuids_are_stable_version_4() {
        let a = named_uuid("asset", "AAPL");
        assert_eq!(a, named_uuid("asset", "AAPL"));
        assert_ne!(a, named_uuid("asset", "MSFT"));
        assert_ne!(a, named_uuid("account", "AAPL"));
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }
}
