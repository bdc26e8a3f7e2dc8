//! Money and prices: integers of 1/10 000 unit, never floating point.

use std::fmt;
use std::str::FromStr;

use super::ValueError;

/// Units of 1/10 000 in one whole unit.
pub const SCALE: i64 = 10_000;

/// An amount of money or a price in 1/10 000 units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(pub i64);

const EXPECTED: &str = "a decimal with at most 4 fraction digits, like 189.5 or -12.0000";

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// `whole` units exactly.
    pub fn from_units(whole: i64) -> Option<Money> {
        whole.checked_mul(SCALE).map(Money)
    }

    /// The raw count of 1/10 000 units.
    pub fn raw(self) -> i64 {
        self.0
    }

    /// Sum, `None` on overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// Difference, `None` on overflow.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// Price times a whole quantity, `None` on overflow.
    pub fn checked_mul(self, quantity: u64) -> Option<Money> {
        let q = i64::try_from(quantity).ok()?;
        self.0.checked_mul(q).map(Money)
    }

    /// Parses a decimal: optional `-`, digits, optionally `.` and 1 to 4
    /// digits. More fraction digits are refused, never rounded.
    pub fn parse(text: &str) -> Result<Money, ValueError> {
        let bad = || ValueError::new("money", text, EXPECTED);
        let (negative, body) = text
            .strip_prefix('-')
            .map_or((false, text), |rest| (true, rest));
        let (whole, frac) = match body.split_once('.') {
            Some((w, f)) if !f.is_empty() => (w, f),
            Some(_) => return Err(bad()),
            None => (body, ""),
        };
        let whole: i64 = super::decimal(whole, usize::MAX).ok_or_else(bad)?;
        let frac_units: i64 = if frac.is_empty() {
            0
        } else {
            super::decimal(frac, 4).ok_or_else(bad)?
        };
        let frac_units = frac_units * 10_i64.pow(4 - frac.len() as u32);
        let magnitude = whole
            .checked_mul(SCALE)
            .and_then(|w| w.checked_add(frac_units));
        let magnitude = magnitude.ok_or_else(bad)?;
        Ok(Money(if negative { -magnitude } else { magnitude }))
    }
}

impl fmt::Display for Money {
    /// Always exactly four fraction digits: `189.5000`, `-12.0000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        let scale = SCALE as u64;
        write!(f, "{sign}{}.{:04}", magnitude / scale, magnitude % scale)
    }
}

impl FromStr for Money {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Money, ValueError> {
        Money::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_four_digits() {
        assert_eq!(Money(1_895_000).to_string(), "189.5000");
        assert_eq!(Money(-120_000).to_string(), "-12.0000");
        assert_eq!(Money(-5).to_string(), "-0.0005");
        assert_eq!(Money(0).to_string(), "0.0000");
        assert_eq!(Money(i64::MIN).to_string(), "-922337203685477.5808");
    }

    #[test]
    fn parses_exactly() {
        assert_eq!(Money::parse("189.5"), Ok(Money(1_895_000)));
        assert_eq!(Money::parse("189.5000"), Ok(Money(1_895_000)));
        assert_eq!(Money::parse("-12"), Ok(Money(-120_000)));
        assert_eq!(Money::parse("0.0001"), Ok(Money(1)));
        assert_eq!(Money::parse("100000.0000"), Ok(Money(1_000_000_000)));
    }

    #[test]
    fn refuses_more_than_four_fraction_digits() {
        let err = Money::parse("12.34567").expect_err("five digits");
        assert_eq!(
            err.to_string(),
            "money \"12.34567\": expected a decimal with at most 4 fraction digits, like 189.5 or -12.0000"
        );
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            "-",
            ".5",
            "5.",
            "1e3",
            "+1",
            "1,5",
            "1.2.3",
            " 1",
            "99999999999999999",
        ] {
            assert!(Money::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Money(1_895_000).checked_mul(10), Some(Money(18_950_000)));
        assert_eq!(Money(i64::MAX).checked_mul(2), None);
        assert_eq!(Money(1).checked_mul(u64::MAX), None);
        assert_eq!(Money(5).checked_sub(Money(7)), Some(Money(-2)));
    }
}
