//! Splits and dividends (PROTOCOL.md section 4 "History entries"), as the
//! providers report them. Runs on the "trade" thread, the only writer of
//! positions and cash, each batch of actions in one transaction. Each
//! action is recorded in `corporate_actions` so it applies once, however
//! often a provider reports it again.
//!
//! Who takes part: the shares held at the action's effective time (the
//! ex-date; Yahoo gives the ex-date's market open), rebuilt from the
//! current position and the fills since then, so that shares bought after
//! the ex-date at post-split prices are not split again and do not earn
//! the dividend. A short (protocol 1.2) takes part with the shares it
//! owed. A split turns those shares into `to / from` as many, rounded
//! toward zero to a whole share on an asset that trades in whole shares,
//! to 10^-9 share on one that trades in fractions (no cash in lieu of what
//! is cut: the history has no line for it), keeps the position's total
//! cost, and writes a `split` line (QUANTITY the shares now held, below 0
//! for a short, PRICE the new AVG_COST). A dividend credits shares x
//! amount rounded down to 1/10 000, or charges a short shares owed x amount
//! rounded up (at most its cash: `dividend_cash`), and writes a `dividend`
//! line (QUANTITY the shares that take part, signed, PRICE the amount per
//! share), on the ex-date: the
//! chart API gives no pay date. An action found more than [`LOOK_BACK_S`]
//! after it took effect (the two years of a back-fill) is recorded and
//! not applied.

use papertrader_common::value::{Money, SHARE_SCALE, Shares, Symbol, Timestamp};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{avg_cost, dividend_cash};
use crate::market::provider::{Action, ActionKind};

/// How late an action may still be applied: a week of missed top-ups.
pub const LOOK_BACK_S: i64 = 7 * 86_400;

/// Applies the actions not seen before; returns how many changed an
/// account. `fractional` tells whether an asset trades in fractions.
pub fn apply(
    conn: &mut Connection,
    actions: &[(Symbol, Action)],
    fractional: &dyn Fn(&Symbol) -> bool,
    now: Timestamp,
) -> rusqlite::Result<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut changed = 0;
    for (symbol, action) in actions {
        let (kind, to, from, amount) = match action.kind {
            ActionKind::Split { to, from } => ("split", to, from, 0),
            ActionKind::Dividend(amount) => ("dividend", 0, 0, amount.raw()),
        };
        let known: Option<i64> = tx
            .query_row(
                "SELECT applied FROM corporate_actions
                 WHERE symbol = ?1 AND kind = ?2 AND effective = ?3",
                params![symbol.as_str(), kind, action.effective.0],
                |r| r.get(0),
            )
            .optional()?;
        if known.is_some() {
            continue;
        }
        let late = now.0 - action.effective.0 > LOOK_BACK_S;
        let n = if late {
            0
        } else {
            match action.kind {
                ActionKind::Split { to, from } => {
                    let unit = if fractional(symbol) { 1 } else { SHARE_SCALE };
                    split(&tx, symbol, action.effective, (to, from), unit, now)?
                }
                ActionKind::Dividend(_) => dividend(&tx, symbol, action.effective, amount, now)?,
            }
        };
        if !late {
            papertrader_common::info!(
                "{kind} of {symbol} effective {}: {n} accounts changed",
                action.effective
            );
        }
        changed += n;
        tx.execute(
            "INSERT INTO corporate_actions
             (symbol, kind, effective, ratio_to, ratio_from, amount, applied, seen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                symbol.as_str(),
                kind,
                action.effective.0,
                to,
                from,
                amount,
                i64::from(n > 0),
                now.0
            ],
        )?;
    }
    tx.commit()?;
    Ok(changed)
}

/// (account, shares held now, cost now, shares held at `effective`) of
/// every account that held `symbol` then or holds it now. An account
/// reset since `effective` is left out: its old shares are gone.
fn holders(
    conn: &Connection,
    symbol: &Symbol,
    effective: Timestamp,
) -> rusqlite::Result<Vec<(i64, i64, i64, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT a.id,
                COALESCE(p.quantity, 0), COALESCE(p.cost, 0),
                COALESCE((SELECT SUM(CASE t.side WHEN 'buy' THEN t.quantity
                                                 WHEN 'liquidation' THEN t.quantity
                                                 WHEN 'sell' THEN -t.quantity ELSE 0 END)
                          FROM transactions t
                          WHERE t.account_id = a.id AND t.symbol = ?1 AND t.time >= ?2), 0),
                EXISTS (SELECT 1 FROM transactions t WHERE t.account_id = a.id
                        AND t.time >= ?2 AND t.side = 'reset')
         FROM accounts a LEFT JOIN positions p ON p.account_id = a.id AND p.symbol = ?1
         WHERE p.quantity IS NOT NULL OR EXISTS (SELECT 1 FROM transactions t
               WHERE t.account_id = a.id AND t.symbol = ?1 AND t.time >= ?2)",
    )?;
    let rows = stmt.query_map(params![symbol.as_str(), effective.0], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, bool>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (account, held, cost, bought_since, reset) = row?;
        if reset {
            continue;
        }
        // Below 0 for a short at the ex-date (protocol 1.2).
        let before = held.saturating_sub(bought_since);
        out.push((account, held, cost, before));
    }
    Ok(out)
}

fn line(
    conn: &Connection,
    account: i64,
    now: Timestamp,
    side: &str,
    symbol: &Symbol,
    quantity: i64,
    price: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO transactions (account_id, time, side, symbol, quantity, price)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![account, now.0, side, symbol.as_str(), quantity, price],
    )?;
    Ok(())
}

/// Splits `to` for `from` the shares held at `effective`, rounded down to
/// a multiple of `unit` (10^-9 shares).
fn split(
    conn: &Connection,
    symbol: &Symbol,
    effective: Timestamp,
    (to, from): (u32, u32),
    unit: i64,
    now: Timestamp,
) -> rusqlite::Result<usize> {
    let mut n = 0;
    for (account, held, cost, before) in holders(conn, symbol, effective)? {
        // A position that changed sides since the ex-date is left alone.
        if held == 0 || before == 0 || (held > 0) != (before > 0) {
            continue;
        }
        let turned = i128::from(before) * i128::from(to) / i128::from(from.max(1));
        let turned = turned - turned % i128::from(unit);
        let Ok(quantity) = i64::try_from(i128::from(held - before) + turned) else {
            papertrader_common::error!("split of {symbol}: account {account} overflows");
            continue;
        };
        if quantity == 0 {
            conn.execute(
                "DELETE FROM positions WHERE account_id = ?1 AND symbol = ?2",
                params![account, symbol.as_str()],
            )?;
            line(conn, account, now, "split", symbol, 0, 0)?;
        } else {
            conn.execute(
                "UPDATE positions SET quantity = ?3 WHERE account_id = ?1 AND symbol = ?2",
                params![account, symbol.as_str(), quantity],
            )?;
            let avg = avg_cost(cost, quantity).raw();
            line(conn, account, now, "split", symbol, quantity, avg)?;
        }
        n += 1;
    }
    Ok(n)
}

fn dividend(
    conn: &Connection,
    symbol: &Symbol,
    effective: Timestamp,
    amount: i64,
    now: Timestamp,
) -> rusqlite::Result<usize> {
    let mut n = 0;
    for (account, _, _, before) in holders(conn, symbol, effective)? {
        if before == 0 {
            continue;
        }
        let cash: i64 =
            conn.query_row("SELECT cash FROM accounts WHERE id = ?1", [account], |r| {
                r.get(0)
            })?;
        let Some(paid) = dividend_cash(Money(amount), Shares(before), cash) else {
            papertrader_common::error!("dividend of {symbol}: account {account} overflows");
            continue;
        };
        conn.execute(
            "UPDATE accounts SET cash = cash + ?2 WHERE id = ?1",
            params![account, paid],
        )?;
        line(conn, account, now, "dividend", symbol, before, amount)?;
        n += 1;
    }
    Ok(n)
}
