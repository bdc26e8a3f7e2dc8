//! The fills model of a deployment (protocol 1.2): a commission per
//! order, slippage against the trader and a volume cap. The defaults keep
//! fills free, exact and whole, as in 1.1.
//!
//! Slippage moves the fill price by `slippage_bps` hundredths of a
//! percent against the trader (a buy pays more, rounded up to 1/10 000; a
//! sale gets less, rounded down), never past the order's limit. The
//! commission of a fill is `fee_per_order + fee_per_share x shares +
//! fee_percent x amount` (each part rounded up to 1/10 000), at least
//! `fee_minimum`; it is taken from cash in the fill's transaction and
//! written as a history line of its own (`fee`, QUANTITY the shares
//! filled, PRICE the fee). An order filled in parts pays, at each part,
//! the commission of all its fills so far less what it has paid: in all
//! the commission of one fill of the whole.
//!
//! The volume cap lets at most `volume_cap` percent of the shares traded
//! in the market since the last price set fill per account and asset at
//! that price set; an order's rest stays open (see `batch`).

use papertrader_common::value::{Money, SHARE_SCALE, Shares};

use super::Side;

/// Most basis points of slippage or of a percent fee: 10%.
pub const MAX_BPS: u32 = 1_000;

/// The fills model (`ptmasterd.conf(5)`: `fee_*`, `slippage_bps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fees {
    /// A fixed amount per fill.
    pub per_order: Money,
    /// An amount per share filled.
    pub per_share: Money,
    /// Hundredths of a percent of the fill's amount.
    pub percent_bps: u32,
    /// The least fee of a fill, when there is one.
    pub minimum: Money,
    /// Hundredths of a percent the fill price moves against the trader.
    pub slippage_bps: u32,
    /// Hundredths of a percent of an interval's volume that may fill per
    /// account and asset at one price set; 0 for no cap.
    pub volume_cap_bps: u32,
}

/// Most hundredths of a percent of a volume cap: all of it.
pub const MAX_CAP_BPS: u32 = 10_000;

impl Fees {
    /// Whether fills are free and exact (whatever the volume cap).
    pub fn is_free(&self) -> bool {
        Fees {
            volume_cap_bps: 0,
            ..*self
        } == Fees::default()
    }

    /// The shares (in 10^-9) one account may fill in an asset at a price
    /// set whose interval traded `volume` shares: `None` for no cap (none
    /// set, or a provider that reports no volume: 0). Rounded down, to a
    /// whole share for an asset that trades in whole shares.
    pub fn allowance(&self, volume: u64, fractional: bool) -> Option<i64> {
        if self.volume_cap_bps == 0 || volume == 0 {
            return None;
        }
        let raw =
            i128::from(volume) * i128::from(SHARE_SCALE) * i128::from(self.volume_cap_bps) / 10_000;
        let raw = i64::try_from(raw).unwrap_or(i64::MAX);
        Some(if fractional {
            raw
        } else {
            raw - raw % SHARE_SCALE
        })
    }

    /// The commission of a part `(shares, amount)` of an order that has
    /// filled `before` already: the commission of both together less that
    /// of `before` (nothing before the first part). `None` on overflow.
    pub fn of_part(&self, before: (Shares, Money), part: (Shares, Money)) -> Option<Money> {
        let all = self.of(
            before.0.checked_add(part.0)?,
            before.1.raw().checked_add(part.1.raw()).map(Money)?,
        )?;
        let paid = if before.0.raw() == 0 {
            Money(0)
        } else {
            self.of(before.0, before.1)?
        };
        Some(Money(all.raw() - paid.raw()))
    }

    /// The fill price of `side` at market price `price`, slipped against
    /// the trader but never beyond `limit`.
    pub fn fill_price(&self, side: Side, price: Money, limit: Option<Money>) -> Money {
        if self.slippage_bps == 0 {
            return price;
        }
        let p = i128::from(price.raw());
        let bps = i128::from(self.slippage_bps);
        let slipped = match side {
            Side::Buy => (p * (10_000 + bps) + 9_999) / 10_000,
            Side::Sell => (p * (10_000 - bps)) / 10_000,
        };
        let slipped = Money(i64::try_from(slipped).unwrap_or(i64::MAX).max(1));
        match (side, limit) {
            (Side::Buy, Some(limit)) => slipped.min(limit.max(price)),
            (Side::Sell, Some(limit)) => slipped.max(limit.min(price)),
            (_, None) => slipped,
        }
    }

    /// The commission of a fill of `shares` moving `amount` of cash;
    /// `None` on overflow.
    pub fn of(&self, shares: Shares, amount: Money) -> Option<Money> {
        if self.is_free() || self.minimum.raw() == 0 && self.sum_is_zero() {
            return Some(Money(0));
        }
        let per_share = self.per_share.buy_cost(shares)?.raw();
        let percent = (i128::from(amount.raw()) * i128::from(self.percent_bps) + 9_999) / 10_000;
        let total = i128::from(self.per_order.raw()) + i128::from(per_share) + percent;
        let total = total.max(i128::from(self.minimum.raw()));
        i64::try_from(total).ok().map(Money)
    }

    fn sum_is_zero(&self) -> bool {
        self.per_order.raw() == 0 && self.per_share.raw() == 0 && self.percent_bps == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: i64 = papertrader_common::value::SHARE_SCALE;

    #[test]
    fn free_by_default() {
        let free = Fees::default();
        assert!(free.is_free());
        assert_eq!(free.of(Shares(10 * ONE), Money(1_000_000)), Some(Money(0)));
        assert_eq!(
            free.fill_price(Side::Buy, Money(1_000_000), None),
            Money(1_000_000)
        );
    }

    #[test]
    fn commission_parts_and_minimum() {
        let fees = Fees {
            per_order: Money(10_000),
            per_share: Money(50),
            percent_bps: 10,
            minimum: Money(20_000),
            slippage_bps: 0,
            volume_cap_bps: 0,
        };
        // 1 + 0.005 x 100 + 0.1% of 10,000 = 1 + 0.5 + 10 = 11.5.
        assert_eq!(
            fees.of(Shares(100 * ONE), Money(100_000_000)),
            Some(Money(115_000))
        );
        // A tiny fill pays the minimum of 2.
        assert_eq!(
            fees.of(Shares(ONE / 10), Money(10_000)),
            Some(Money(20_000))
        );
        // Parts round up: 0.1% of 0.0001 is a whole ten-thousandth.
        let percent = Fees {
            percent_bps: 10,
            ..Fees::default()
        };
        assert_eq!(percent.of(Shares(ONE), Money(1)), Some(Money(1)));
        assert_eq!(
            Fees {
                per_share: Money(i64::MAX),
                ..Fees::default()
            }
            .of(Shares(2 * ONE), Money(1)),
            None
        );
    }

    #[test]
    fn parts_pay_the_commission_of_the_whole() {
        let fees = Fees {
            per_order: Money(10_000),
            per_share: Money(50),
            percent_bps: 10,
            minimum: Money(20_000),
            ..Fees::default()
        };
        // 30 then 70 shares at 10: 1 + 0.15 + 0.30 -> the minimum 2; then
        // 1 + 0.5 + 1 = 2.5 in all less the 2 paid.
        let first = fees.of_part((Shares(0), Money(0)), (Shares(30 * ONE), Money(3_000_000)));
        assert_eq!(first, Some(Money(20_000)));
        let second = fees.of_part(
            (Shares(30 * ONE), Money(3_000_000)),
            (Shares(70 * ONE), Money(7_000_000)),
        );
        assert_eq!(second, Some(Money(5_000)));
        let whole = fees.of(Shares(100 * ONE), Money(10_000_000));
        assert_eq!(Some(Money(20_000 + 5_000)), whole);
        // A part that stays under the minimum pays nothing more.
        let small = fees.of_part((Shares(ONE), Money(1)), (Shares(ONE), Money(1)));
        assert_eq!(small, Some(Money(0)));
        assert_eq!(
            Fees::default().of_part((Shares(ONE), Money(5)), (Shares(ONE), Money(5))),
            Some(Money(0))
        );
    }

    #[test]
    fn the_volume_cap_allows_a_share_of_the_volume() {
        let cap = Fees {
            volume_cap_bps: 250,
            ..Fees::default()
        };
        assert!(cap.is_free(), "a cap alone charges nothing");
        assert_eq!(Fees::default().allowance(1_000, true), None, "no cap");
        assert_eq!(cap.allowance(0, true), None, "no volume reported");
        // 2.5% of 1,000 = 25; of 50 = 1.25, or 1 whole share.
        assert_eq!(cap.allowance(1_000, false), Some(25 * ONE));
        assert_eq!(cap.allowance(50, true), Some(ONE + ONE / 4));
        assert_eq!(cap.allowance(50, false), Some(ONE));
        assert_eq!(cap.allowance(39, false), Some(0));
        let all = Fees {
            volume_cap_bps: MAX_CAP_BPS,
            ..Fees::default()
        };
        assert_eq!(all.allowance(u64::MAX, true), Some(i64::MAX));
    }

    #[test]
    fn slippage_goes_against_the_trader_up_to_the_limit() {
        let fees = Fees {
            slippage_bps: 10,
            ..Fees::default()
        };
        let p = Money(1_000_000);
        assert_eq!(fees.fill_price(Side::Buy, p, None), Money(1_001_000));
        assert_eq!(fees.fill_price(Side::Sell, p, None), Money(999_000));
        // Rounded against the trader: 0.0001 x 1.001 -> 0.0002 for a buy,
        // 0.0001 x 0.999 -> 0.0000, which is no price: 0.0001.
        assert_eq!(fees.fill_price(Side::Buy, Money(1), None), Money(2));
        assert_eq!(fees.fill_price(Side::Sell, Money(1), None), Money(1));
        // Never past the limit (which the market price is within).
        assert_eq!(
            fees.fill_price(Side::Buy, p, Some(Money(1_000_500))),
            Money(1_000_500)
        );
        assert_eq!(
            fees.fill_price(Side::Sell, p, Some(Money(999_500))),
            Money(999_500)
        );
        assert_eq!(
            fees.fill_price(Side::Buy, p, Some(Money(2_000_000))),
            Money(1_001_000)
        );
    }
}
