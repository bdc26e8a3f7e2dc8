//! A position through its fills, long or short (protocol 1.2), and the
//! margin rules of short selling. The trade thread and `ptctl audit` both
//! move positions with [`after_fill`], so that the history replays to
//! exactly the tables.
//!
//! A position is a signed number of 10^-9 shares and a signed total cost:
//! a long holds `quantity > 0` bought for `cost >= 0`; a short owes
//! `-quantity` shares sold for `-cost`. Either way AVG_COST is `cost /
//! quantity` and the value at price P is `quantity * P`.

use papertrader_common::value::{Money, Shares};

use super::{Side, sold_cost};

/// One `positions` row; `quantity == 0` is no position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Holding {
    /// Signed 10^-9 shares: below 0 for a short.
    pub quantity: i64,
    /// Signed total cost: what a long paid, minus what a short brought.
    pub cost: i64,
}

impl Holding {
    /// Whether shares are owed.
    pub fn is_short(self) -> bool {
        self.quantity < 0
    }

    /// `Some(self)` unless flat.
    pub fn kept(self) -> Option<Holding> {
        (self.quantity != 0).then_some(self)
    }
}

/// The position after a fill of `q` shares (10^-9, above 0) on `side` at
/// `price`, the fill moving `amount` of cash (its cost or proceeds). A buy
/// adds to a long, or covers a short first (taking away the covered part
/// of its cost, as a sale does of a long's) and puts the rest in a long
/// costing `price.buy_cost(rest)`; a sale takes from a long first and
/// opens or adds to a short with the rest, worth `price.sale_proceeds`.
/// `None` on overflow.
pub fn after_fill(side: Side, held: Holding, q: i64, price: Money, amount: i64) -> Option<Holding> {
    let Holding { quantity: h, cost } = held;
    match side {
        // Adds to a long (or opens one).
        Side::Buy if h >= 0 => Some(Holding {
            quantity: h.checked_add(q)?,
            cost: cost.checked_add(amount)?,
        }),
        // Covers part of a short.
        Side::Buy if q <= -h => Some(Holding {
            quantity: h + q,
            cost: cost - sold_cost(cost, q, -h),
        }),
        // Covers the whole short and goes long with the rest.
        Side::Buy => {
            let rest = q.checked_add(h)?;
            Some(Holding {
                quantity: rest,
                cost: price.buy_cost(Shares(rest))?.raw(),
            })
        }
        // Adds to a short (or opens one).
        Side::Sell if h <= 0 => Some(Holding {
            quantity: h.checked_sub(q)?,
            cost: cost.checked_sub(amount)?,
        }),
        // Sells part of a long.
        Side::Sell if q <= h => Some(Holding {
            quantity: h - q,
            cost: cost - sold_cost(cost, q, h),
        }),
        // Sells the whole long and goes short with the rest.
        Side::Sell => {
            let rest = q - h;
            Some(Holding {
                quantity: -rest,
                cost: -price.sale_proceeds(Shares(rest))?.raw(),
            })
        }
    }
}

/// Whether a fill of `q` on `side` against `held` owes more shares than
/// before: it opens or adds to a short.
pub fn adds_short(side: Side, held: Holding, q: i64) -> bool {
    side == Side::Sell && q > held.quantity.max(0)
}

/// Whether a buy of `q` against `held` ends with more shares held long.
pub fn adds_long(side: Side, held: Holding, q: i64) -> bool {
    side == Side::Buy && held.quantity.saturating_add(q) > 0
}

/// The short selling rules of a deployment (`ptmasterd.conf(5)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShortRules {
    /// Whether a sale beyond the shares held opens a short at all.
    pub enabled: bool,
    /// The least equity an account needs to open or add to a short.
    pub min_equity: Money,
    /// Percent of the shorts' value held back from buying power.
    pub initial_pct: u32,
    /// Below this percent of the shorts' value in equity, the master
    /// covers the shorts.
    pub maintenance_pct: u32,
}

impl Default for ShortRules {
    fn default() -> ShortRules {
        ShortRules {
            enabled: true,
            min_equity: Money(2_000 * 10_000),
            initial_pct: 150,
            maintenance_pct: 30,
        }
    }
}

impl ShortRules {
    /// Short selling off: a sale beyond the shares held is refused.
    pub fn off() -> ShortRules {
        ShortRules {
            enabled: false,
            ..ShortRules::default()
        }
    }
}

/// An account's standing for the margin rules, all in 1/10 000 (i128, so
/// that no sum overflows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Exposure {
    /// Cash plus the signed value of every position.
    pub equity: i128,
    /// What the shorts are worth (above 0 when there are any).
    pub shorts: i128,
    /// Cash.
    pub cash: i128,
}

impl Exposure {
    /// Values `cash` and `positions` (symbol and holding) at `mark`'s
    /// prices; a position without one counts at its cost.
    pub fn of<'a>(
        cash: i64,
        positions: impl IntoIterator<Item = (&'a str, Holding)>,
        mark: &dyn Fn(&str) -> Option<Money>,
    ) -> Exposure {
        let mut out = Exposure {
            equity: i128::from(cash),
            shorts: 0,
            cash: i128::from(cash),
        };
        for (symbol, held) in positions {
            let value = match mark(symbol) {
                Some(price) => {
                    i128::from(price.raw()) * i128::from(held.quantity)
                        / i128::from(papertrader_common::value::SHARE_SCALE)
                }
                None => i128::from(held.cost),
            };
            out.equity += value;
            if held.is_short() {
                out.shorts -= value;
            }
        }
        out
    }

    /// Cash less the initial margin of the shorts: what buys and new
    /// shorts may use.
    pub fn buying_power(&self, rules: &ShortRules) -> i128 {
        self.cash - self.shorts * i128::from(rules.initial_pct) / 100
    }

    /// Whether equity is below the maintenance margin of the shorts.
    pub fn under_maintenance(&self, rules: &ShortRules) -> bool {
        self.shorts > 0 && self.equity * 100 < self.shorts * i128::from(rules.maintenance_pct)
    }
}

/// `Money` of an i128 amount, saturated (for messages).
pub fn shown(amount: i128) -> Money {
    Money(i64::try_from(amount).unwrap_or(if amount < 0 { i64::MIN + 1 } else { i64::MAX }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: i64 = papertrader_common::value::SHARE_SCALE;
    const P: fn(i64) -> Money = |units| Money(units * 10_000);

    fn fill(side: Side, held: (i64, i64), q: i64, price: i64) -> (i64, i64) {
        let price = P(price);
        let shares = Shares(q * ONE);
        let amount = match side {
            Side::Buy => price.buy_cost(shares),
            Side::Sell => price.sale_proceeds(shares),
        }
        .expect("amount")
        .raw();
        let held = Holding {
            quantity: held.0 * ONE,
            cost: held.1 * 10_000,
        };
        let after = after_fill(side, held, q * ONE, price, amount).expect("fits");
        (after.quantity / ONE, after.cost / 10_000)
    }

    #[test]
    fn longs_and_shorts_through_fills() {
        use Side::{Buy, Sell};
        assert_eq!(fill(Buy, (0, 0), 2, 10), (2, 20));
        assert_eq!(
            fill(Sell, (2, 20), 1, 15),
            (1, 10),
            "a long keeps its cost per share"
        );
        // Beyond the long: 1 sold from it, 2 short at 15.
        assert_eq!(fill(Sell, (1, 10), 3, 15), (-2, -30));
        assert_eq!(fill(Sell, (-2, -30), 2, 20), (-4, -70), "adds to the short");
        // Covers half of the short: it keeps its proceeds per share.
        assert_eq!(fill(Buy, (-4, -70), 2, 5), (-2, -35));
        assert_eq!(fill(Buy, (-2, -35), 2, 5), (0, 0), "covered: flat");
        // Covers all and goes long with the rest at the fill price.
        assert_eq!(fill(Buy, (-2, -35), 5, 8), (3, 24));
        assert_eq!(fill(Sell, (0, 0), 1, 7), (-1, -7), "opens a short");
    }

    #[test]
    fn what_adds_to_what() {
        let long = Holding {
            quantity: 2,
            cost: 1,
        };
        let short = Holding {
            quantity: -2,
            cost: -1,
        };
        assert!(!adds_short(Side::Sell, long, 2));
        assert!(adds_short(Side::Sell, long, 3));
        assert!(adds_short(Side::Sell, short, 1));
        assert!(!adds_short(Side::Buy, short, 5));
        assert!(!adds_long(Side::Buy, short, 2));
        assert!(adds_long(Side::Buy, short, 3));
        assert!(adds_long(Side::Buy, long, 1));
    }

    #[test]
    fn margin_of_an_account() {
        let rules = ShortRules::default();
        let short = Holding {
            quantity: -10 * ONE,
            cost: -1_000 * 10_000,
        };
        let long = Holding {
            quantity: 5 * ONE,
            cost: 50 * 10_000,
        };
        let price = |s: &str| match s {
            "S" => Some(P(100)),
            _ => None,
        };
        // 10 short at 100 (1,000), a long counted at its cost (50), cash
        // 2,000 (1,000 of it from the short).
        let e = Exposure::of(2_000 * 10_000, [("S", short), ("L", long)], &price);
        assert_eq!(e.equity, 1_050 * 10_000);
        assert_eq!(e.shorts, 1_000 * 10_000);
        assert_eq!(e.buying_power(&rules), 500 * 10_000);
        assert!(!e.under_maintenance(&rules));
        // The short's price quadruples: equity 2,050 - 4,000 < 30% of 4,000.
        let up = |s: &str| (s == "S").then_some(P(400));
        let e = Exposure::of(2_000 * 10_000, [("S", short), ("L", long)], &up);
        assert_eq!(e.equity, -1_950 * 10_000);
        assert!(e.under_maintenance(&rules));
        assert!(!Exposure::of(0, [("L", long)], &price).under_maintenance(&rules));
    }
}
