//! Share counts (protocol 1.2): fixed point with 9 fraction digits, never
//! floating point. [`Shares`] is any count a position or a history line
//! holds; [`Quantity`] is what one order may carry.

use std::fmt;

use super::{Money, ValueError};

/// Fraction digits a share count may have.
pub const SHARE_DIGITS: usize = 9;

/// Units of 10^-9 share in one whole share.
pub const SHARE_SCALE: i64 = 1_000_000_000;

/// A count of shares in 10^-9 units. Whole counts print without a
/// fraction (`3`), others with what their digits need (`0.5`, `1.000000001`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Shares(pub i64);

const EXPECTED_SHARES: &str = "a number of shares with at most 9 fraction digits, like 3 or 0.25";

impl Shares {
    /// No shares.
    pub const ZERO: Shares = Shares(0);

    /// `n` whole shares, `None` beyond what an i64 of 10^-9 units holds.
    pub fn whole(n: i64) -> Option<Shares> {
        n.checked_mul(SHARE_SCALE).map(Shares)
    }

    /// The raw count of 10^-9 shares.
    pub fn raw(self) -> i64 {
        self.0
    }

    /// Whether the count has no fraction.
    pub fn is_whole(self) -> bool {
        self.0 % SHARE_SCALE == 0
    }

    /// Parses an optional `-`, digits, and optionally `.` with 1 to 9
    /// digits. More fraction digits are refused, never rounded; so are
    /// exponents, `+`, spaces and anything an i64 of 10^-9 cannot hold.
    pub fn parse(text: &str) -> Result<Shares, ValueError> {
        parse_fixed(text, true)
            .map(Shares)
            .ok_or_else(|| ValueError::new("shares", text, EXPECTED_SHARES))
    }

    /// Sum, `None` on overflow.
    pub fn checked_add(self, other: Shares) -> Option<Shares> {
        self.0.checked_add(other.0).map(Shares)
    }

    /// Difference, `None` on overflow.
    pub fn checked_sub(self, other: Shares) -> Option<Shares> {
        self.0.checked_sub(other.0).map(Shares)
    }
}

impl fmt::Display for Shares {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        let scale = SHARE_SCALE as u64;
        let (whole, frac) = (magnitude / scale, magnitude % scale);
        if frac == 0 {
            return write!(f, "{sign}{whole}");
        }
        let digits = format!("{frac:09}");
        write!(f, "{sign}{whole}.{}", digits.trim_end_matches('0'))
    }
}

/// An order's quantity: more than 0 and at most 1 000 000 000 shares, in
/// 10^-9 units. A seed client's whole numbers are exactly what they were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(i64);

const EXPECTED_QUANTITY: &str =
    "a number of shares above 0, at most 1000000000, with at most 9 fraction digits";

impl Quantity {
    /// Most whole shares one order may carry.
    pub const MAX_WHOLE: i64 = 1_000_000_000;

    /// Parses as [`Shares::parse`] (without a sign), in range.
    pub fn parse(text: &str) -> Result<Quantity, ValueError> {
        parse_fixed(text, false)
            .and_then(|raw| Quantity::from_shares(Shares(raw)))
            .ok_or_else(|| ValueError::new("quantity", text, EXPECTED_QUANTITY))
    }

    /// A count in range, else `None`.
    pub fn from_shares(shares: Shares) -> Option<Quantity> {
        (1..=Quantity::MAX_WHOLE * SHARE_SCALE)
            .contains(&shares.0)
            .then_some(Quantity(shares.0))
    }

    /// `n` whole shares, in range, else `None`.
    pub fn whole(n: i64) -> Option<Quantity> {
        Shares::whole(n).and_then(Quantity::from_shares)
    }

    /// The count as shares.
    pub fn shares(self) -> Shares {
        Shares(self.0)
    }

    /// The raw count of 10^-9 shares.
    pub fn raw(self) -> i64 {
        self.0
    }

    /// Whether the count has no fraction.
    pub fn is_whole(self) -> bool {
        self.shares().is_whole()
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shares().fmt(f)
    }
}

impl Money {
    /// The price of `shares` at `self` per share, rounded half away from
    /// zero to 1/10 000; `None` when it does not fit.
    pub fn times(self, shares: Shares) -> Option<Money> {
        let exact = i128::from(self.0) * i128::from(shares.0);
        let rounded = round_half_away(exact, i128::from(SHARE_SCALE));
        i64::try_from(rounded).ok().map(Money)
    }

    /// What buying `shares` at `self` per share costs: the exact amount
    /// rounded up to 1/10 000, so that no fraction is ever free.
    pub fn buy_cost(self, shares: Shares) -> Option<Money> {
        let exact = i128::from(self.0) * i128::from(shares.0);
        let scale = i128::from(SHARE_SCALE);
        let up = exact.div_euclid(scale) + i128::from(exact.rem_euclid(scale) != 0);
        i64::try_from(up).ok().map(Money)
    }

    /// What selling `shares` at `self` per share brings: the exact amount
    /// rounded down to 1/10 000.
    pub fn sale_proceeds(self, shares: Shares) -> Option<Money> {
        let exact = i128::from(self.0) * i128::from(shares.0);
        i64::try_from(exact.div_euclid(i128::from(SHARE_SCALE)))
            .ok()
            .map(Money)
    }

    /// How many shares `self` buys at `price` per share, rounded down to
    /// 10^-9 (so that their [`Money::buy_cost`] is never above `self`); `None` for a
    /// price that is not positive or a count that does not fit.
    pub fn buys(self, price: Money) -> Option<Shares> {
        if price.0 <= 0 {
            return None;
        }
        let n = i128::from(self.0) * i128::from(SHARE_SCALE) / i128::from(price.0);
        i64::try_from(n).ok().map(Shares)
    }

    /// The cost per share of `cost` spread over `shares`, rounded half
    /// away from zero to 1/10 000; `None` for no shares.
    pub fn per_share(self, shares: Shares) -> Option<Money> {
        if shares.0 == 0 {
            return None;
        }
        let exact = i128::from(self.0) * i128::from(SHARE_SCALE);
        i64::try_from(round_half_away(exact, i128::from(shares.0)))
            .ok()
            .map(Money)
    }
}

/// `n / d` rounded half away from zero; `d` must not be zero.
pub fn round_half_away(n: i128, d: i128) -> i128 {
    let (quot, rem) = (n / d, n % d);
    if 2 * rem.abs() >= d.abs() {
        // The remainder has the sign of `n`; away from zero follows the
        // sign of the exact quotient.
        if (n < 0) == (d < 0) {
            quot + 1
        } else {
            quot - 1
        }
    } else {
        quot
    }
}

/// `[-]digits[.1-9 digits]` as a count of 10^-9, `None` if malformed or
/// beyond an i64.
fn parse_fixed(text: &str, signed: bool) -> Option<i64> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) if signed => (true, rest),
        Some(_) => return None,
        None => (false, text),
    };
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) if !f.is_empty() => (w, f),
        Some(_) => return None,
        None => (body, ""),
    };
    let whole: i64 = super::decimal(whole, 19)?;
    let frac_units: i64 = if frac.is_empty() {
        0
    } else {
        super::decimal::<i64>(frac, SHARE_DIGITS)? * 10_i64.pow((SHARE_DIGITS - frac.len()) as u32)
    };
    let magnitude = whole.checked_mul(SHARE_SCALE)?.checked_add(frac_units)?;
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::ReasonCode;

    #[test]
    fn prints_whole_counts_without_a_fraction() {
        assert_eq!(Shares(3 * SHARE_SCALE).to_string(), "3");
        assert_eq!(Shares(SHARE_SCALE / 2).to_string(), "0.5");
        assert_eq!(Shares(SHARE_SCALE + 1).to_string(), "1.000000001");
        assert_eq!(Shares(-SHARE_SCALE / 4).to_string(), "-0.25");
        assert_eq!(Shares(0).to_string(), "0");
        assert_eq!(Shares(i64::MIN).to_string(), "-9223372036.854775808");
    }

    #[test]
    fn quantities_parse_exactly() {
        let q = |t: &str| Quantity::parse(t).map(Quantity::raw);
        assert_eq!(q("1"), Ok(SHARE_SCALE));
        assert_eq!(q("0.5"), Ok(SHARE_SCALE / 2));
        assert_eq!(q("0.000000001"), Ok(1));
        assert_eq!(q("1000000000"), Ok(Quantity::MAX_WHOLE * SHARE_SCALE));
        assert_eq!(q("007"), Ok(7 * SHARE_SCALE));
        for text in ["1", "0.5", "2.25", "1000000000", "0.000000001"] {
            assert_eq!(Quantity::parse(text).expect(text).to_string(), text);
        }
    }

    #[test]
    fn quantities_refuse_what_is_not_a_count() {
        for bad in [
            "0",
            "0.0",
            "0.0000000001",
            "1.0000000001",
            "1000000000.000000001",
            "1000000001",
            "-1",
            "+1",
            "1e5",
            "NaN",
            "inf",
            ".5",
            "5.",
            "1,5",
            " 1",
            "1 ",
            "",
            "٣",
            "99999999999999999999",
        ] {
            let err = Quantity::parse(bad).expect_err(bad);
            assert_eq!(err.code(), ReasonCode::BadQuantity, "{bad}");
        }
    }

    #[test]
    fn shares_take_a_sign_and_the_i64_range() {
        assert_eq!(Shares::parse("-2.5"), Ok(Shares(-5 * SHARE_SCALE / 2)));
        assert_eq!(Shares::parse("9223372036.854775807"), Ok(Shares(i64::MAX)));
        assert!(Shares::parse("9223372036.854775808").is_err());
        assert!(Shares::parse("--1").is_err());
    }

    #[test]
    fn money_times_shares_rounds_half_away() {
        let price = Money(1_895_000); // 189.5
        assert_eq!(price.times(Shares(3 * SHARE_SCALE)), Some(Money(5_685_000)));
        // 0.5 of 0.0001 is 0.00005: half, away from zero.
        assert_eq!(Money(1).times(Shares(SHARE_SCALE / 2)), Some(Money(1)));
        assert_eq!(Money(1).times(Shares(SHARE_SCALE / 2 - 1)), Some(Money(0)));
        assert_eq!(Money(-1).times(Shares(SHARE_SCALE / 2)), Some(Money(-1)));
        assert_eq!(Money(i64::MAX).times(Shares(2 * SHARE_SCALE)), None);
        assert_eq!(
            Money(i64::MAX).times(Quantity::whole(1).expect("1").shares()),
            Some(Money(i64::MAX))
        );
    }

    #[test]
    fn buys_round_up_and_sales_down() {
        let tiny = Shares(1);
        assert_eq!(Money(1_000_000).buy_cost(tiny), Some(Money(1)));
        assert_eq!(Money(1_000_000).sale_proceeds(tiny), Some(Money(0)));
        let three = Shares(3 * SHARE_SCALE);
        assert_eq!(Money(1_895_000).buy_cost(three), Some(Money(5_685_000)));
        assert_eq!(
            Money(1_895_000).sale_proceeds(three),
            Some(Money(5_685_000))
        );
        assert_eq!(Money(3).buy_cost(Shares(SHARE_SCALE / 2)), Some(Money(2)));
        assert_eq!(
            Money(3).sale_proceeds(Shares(SHARE_SCALE / 2)),
            Some(Money(1))
        );
        assert_eq!(Money(i64::MAX).buy_cost(Shares(2 * SHARE_SCALE)), None);
    }

    #[test]
    fn notional_buys_never_cost_more_than_it() {
        let price = Money(1_895_000);
        let n = Money(1_000_000).buys(price).expect("fits"); // 100 / 189.5
        assert_eq!(n, Shares(527_704_485));
        assert!(price.buy_cost(n).expect("fits") <= Money(1_000_000));
        assert_eq!(Money(1).buys(Money(0)), None);
    }

    #[test]
    fn per_share_cost() {
        assert_eq!(Money(10).per_share(Shares(4 * SHARE_SCALE)), Some(Money(3)));
        assert_eq!(
            Money(5_685_002).per_share(Shares(3 * SHARE_SCALE)),
            Some(Money(1_895_001))
        );
        assert_eq!(Money(1).per_share(Shares(SHARE_SCALE / 2)), Some(Money(2)));
        assert_eq!(Money(1).per_share(Shares(0)), None);
    }
}
