//! Trades and the user data built from them (PROTOCOL.md sections 4 and 9).
//!
//! [`run_batch`] fills a queue of orders at one price set, then tries the
//! open orders of `placeOrder` ([`orders`]), in one database transaction;
//! the "trade" thread ([`queue`]) calls it with the only connection that
//! writes trades, and also places, cancels and resets there. [`standing`]
//! holds the leaderboard, the daily equity snapshots and equity history. [`user_info`], [`portfolio`] and
//! [`history`] build the payloads of the user data instructions on the data
//! reader threads, each through its own connection. [`audit`] and
//! [`account_text`] serve ptctl on the control thread.
//!
//! Money is `Money(i64)` in 1/10 000 units and every sum, product and
//! division here is integer arithmetic; a position keeps the total cost of
//! the shares it holds, and a sale takes away the sold share of that cost
//! rounded half away from zero ([`sold_cost`]), so that the history replays
//! to exactly the same tables ([`audit`]).

mod audit;
mod batch;
pub mod corporate;
pub mod fees;
pub mod game_views;
mod ledger;
pub mod orders;
pub mod position;
pub mod queue;
pub mod snapshots;
pub mod standing;
mod views;

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod order_model_tests;
#[cfg(test)]
mod partial_tests;
#[cfg(test)]
mod test_util;

use std::fmt::Display;

pub use papertrader_common::value::round_half_away;
use papertrader_common::value::{Money, Quantity, Reason, ReasonCode, Shares, Symbol, Timestamp};

pub use papertrader_common::request::{Side, Size};

pub use audit::audit;
pub use batch::{Batch, Bounds, Change, Liquidation, Rest, Rules, run_batch, run_batch_with};
pub use views::{account_text, history, portfolio, user_info};

/// What the client sees for a server-side fault; the detail goes to the log.
const INTERNAL: &str = "the server could not complete the request; nothing was changed";

/// An order that passed the arrival checks, waiting for the next price set.
#[derive(Debug, Clone)]
pub struct Order {
    /// `accounts.id` of the session's owner.
    pub account: i64,
    /// Buy or sell.
    pub side: Side,
    /// The asset, upper-case.
    pub symbol: Symbol,
    /// Number of shares, or the amount of money to trade.
    pub size: Size,
    /// The worker's TIMESTAMP_MS: orders run in this order.
    pub ts_ms: u64,
    /// Arrival order at the master, which breaks ties of `ts_ms`.
    pub seq: u64,
}

/// How one order ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Filled at `price` at `time`, recorded as transaction `txid`.
    Filled {
        /// `transactions.txid`.
        txid: i64,
        /// The shares filled (a notional order's, worked out at `price`).
        quantity: Quantity,
        /// The fill price per share.
        price: Money,
        /// The batch's time.
        time: Timestamp,
    },
    /// Not filled; nothing changed for this order.
    Refused(Reason),
}

/// What a fill of `shares` at `price` moves in cash: a buy's cost rounded
/// up to 1/10 000, a sale's proceeds rounded down, so that no fraction of
/// a share is ever free; `None` beyond an i64.
pub fn fill_amount(side: Side, price: Money, shares: Shares) -> Option<Money> {
    match side {
        Side::Buy => price.buy_cost(shares),
        Side::Sell => price.sale_proceeds(shares),
    }
}

/// A dividend of `per_share` on `shares`, rounded down to 1/10 000.
pub fn dividend_paid(per_share: Money, shares: Shares) -> Option<Money> {
    per_share.sale_proceeds(shares)
}

/// What a dividend of `per_share` moves in the cash `cash` of a holder of
/// `shares`: a long is paid [`dividend_paid`]; a short (`shares < 0`)
/// pays `per_share` on the shares it owes, rounded up, but never more
/// than its cash. `None` on overflow.
pub fn dividend_cash(per_share: Money, shares: Shares, cash: i64) -> Option<i64> {
    if shares.raw() >= 0 {
        return dividend_paid(per_share, shares).map(Money::raw);
    }
    let owed = per_share.buy_cost(Shares(shares.raw().checked_neg()?))?;
    Some(-owed.raw().min(cash.max(0)))
}

/// The part of a position's total `cost` that selling `sold` of its `held`
/// shares takes away: `cost * sold / held` rounded half away from zero.
/// Never more than `cost` since `sold <= held`; all of it when `sold == held`.
pub fn sold_cost(cost: i64, sold: i64, held: i64) -> i64 {
    let part = round_half_away(i128::from(cost) * i128::from(sold), i128::from(held));
    i64::try_from(part).expect("a part of an i64 cost fits an i64")
}

/// AVG_COST: the total cost over the shares held (`quantity` in 10^-9
/// shares, not zero), rounded half away from zero to 1/10 000; the
/// largest amount for an average beyond an i64.
pub fn avg_cost(cost: i64, quantity: i64) -> Money {
    Money(cost)
        .per_share(Shares(quantity))
        .unwrap_or(Money(i64::MAX))
}

/// Logs the detail of a server-side fault and returns the `internal` reason
/// the client sees, which never carries the detail.
fn internal(what: &str, err: impl Display) -> Reason {
    papertrader_common::error!("{what}: {err}");
    Reason::new(ReasonCode::Internal, INTERNAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(round_half_away(5, 2), 3);
        assert_eq!(round_half_away(-5, 2), -3);
        assert_eq!(round_half_away(7, 3), 2);
        assert_eq!(round_half_away(8, 3), 3);
        assert_eq!(round_half_away(-8, 3), -3);
        assert_eq!(round_half_away(3, -2), -2);
        assert_eq!(round_half_away(6, 3), 2);
        assert_eq!(round_half_away(0, 7), 0);
    }

    #[test]
    fn sold_cost_takes_the_sold_share() {
        // 3 shares cost 10: selling 1 takes 3.33 -> 3, selling 2 takes 6.67 -> 7.
        assert_eq!(sold_cost(10, 1, 3), 3);
        assert_eq!(sold_cost(10, 2, 3), 7);
        assert_eq!(sold_cost(10, 3, 3), 10);
        // 4 shares cost 10: selling 1 takes exactly 2.5 -> 3.
        assert_eq!(sold_cost(10, 1, 4), 3);
        assert_eq!(
            sold_cost(i64::MAX, 999_999_999, 1_000_000_000),
            9_223_372_027_631_403_770
        );
    }

    #[test]
    fn avg_cost_rounds() {
        const ONE: i64 = papertrader_common::value::SHARE_SCALE;
        assert_eq!(avg_cost(10, 4 * ONE), Money(3));
        assert_eq!(avg_cost(10, 3 * ONE), Money(3));
        assert_eq!(avg_cost(5_685_001, 3 * ONE), Money(1_895_000));
        assert_eq!(avg_cost(5_685_002, 3 * ONE), Money(1_895_001));
        assert_eq!(avg_cost(1_895_000, ONE / 2), Money(3_790_000));
    }

    #[test]
    fn side_names() {
        for side in [Side::Buy, Side::Sell] {
            assert_eq!(Side::parse(side.name()), Some(side));
        }
        assert_eq!(Side::parse("BUY"), None);
    }
}
