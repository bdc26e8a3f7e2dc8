//! Partial fills under the volume cap (protocol 1.2, section Fills): open
//! orders of every kind filled in parts over several price sets, through
//! the batch and the same change bookkeeping the trade thread does, with
//! the audit clean after each set.

use std::collections::HashMap;

use papertrader_common::payload::Line;
use papertrader_common::value::{
    Money, OrderClass, OrderKind, OrderStatus, Quantity, ReasonCode, Symbol, Tif, Timestamp,
};
use rusqlite::Connection;

use super::fees::Fees;
use super::orders::{self, NewOrder, OpenOrder};
use super::position::ShortRules;
use super::queue::apply_changes;
use super::test_util::*;
use super::{Batch, Change, Order, Outcome, Rest, Rules, Side, audit, run_batch_with};

/// 10% of the volume per account and asset at each price set.
const CAP: Fees = Fees {
    per_order: Money(0),
    per_share: Money(0),
    percent_bps: 0,
    minimum: Money(0),
    slippage_bps: 0,
    volume_cap_bps: 1_000,
};

/// A price set of `price` for AAA (fractional) and WHL (whole shares),
/// with `volume` shares traded in each.
fn run(
    conn: &mut Connection,
    queued: &[Order],
    open: &mut Vec<OpenOrder>,
    price: i64,
    volume: u64,
    fees: Fees,
    time: i64,
) -> Batch {
    let prices: HashMap<Symbol, Money> = [(sym("AAA"), Money(price)), (sym("WHL"), Money(price))]
        .into_iter()
        .collect();
    let volumes: HashMap<Symbol, u64> = [(sym("AAA"), volume), (sym("WHL"), volume)]
        .into_iter()
        .collect();
    let rules = Rules {
        shorts: ShortRules::off(),
        marks: &prices,
        fractional: &|s: &Symbol| s.as_str() != "WHL",
        fees,
        bounds: &|_| Default::default(),
        volumes: &volumes,
    };
    let batch =
        run_batch_with(conn, queued, open, &prices, Timestamp(time), &rules).expect("batch");
    apply_changes(open, batch.changes.clone());
    assert_eq!(audit(conn).expect("audit"), Vec::<String>::new());
    batch
}

/// A simple order of `quantity` whole shares, placed at NOW.
fn new_order(
    account: i64,
    side: Side,
    symbol: &Symbol,
    quantity: i64,
    kind: OrderKind,
    tif: Tif,
) -> NewOrder<'_> {
    NewOrder {
        account,
        side,
        symbol,
        quantity: Quantity::whole(quantity).expect("quantity"),
        kind,
        tif,
        created: NOW,
        arrival_ms: 0,
        mark: None,
        triggered: false,
        class: None,
        parent: None,
        held: false,
    }
}

/// Places an open order of `quantity` whole shares.
fn place(
    conn: &Connection,
    account: i64,
    side: Side,
    symbol: &str,
    quantity: i64,
    kind: OrderKind,
    tif: Tif,
) -> OpenOrder {
    let symbol = sym(symbol);
    let new = new_order(account, side, &symbol, quantity, kind, tif);
    orders::insert(conn, &new).expect("insert")
}

/// `(status, filled in 10^-9 shares, filled_cost, quantity)` of order `id`
/// (the audit after each set checks the average against the fills).
fn row(conn: &Connection, id: i64) -> (String, i64, i64, i64) {
    conn.query_row(
        "SELECT status, filled, filled_cost, quantity FROM orders WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
    .expect("order row")
}

fn filled(batch: &Batch) -> Vec<(usize, i64, Rest)> {
    batch
        .changes
        .iter()
        .filter_map(|(i, c)| match c {
            Change::Filled { quantity, rest, .. } => Some((*i, quantity.raw(), *rest)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_limit_order_fills_in_parts_and_pays_one_commission() {
    let mut db = test_db("partial-limit");
    let ann = add_account(&db.conn, "ann", 100_000_000);
    let fees = Fees {
        per_order: Money(10_000),
        percent_bps: 10,
        ..CAP
    };
    let mut open = vec![place(
        &db.conn,
        ann,
        Side::Buy,
        "AAA",
        10,
        OrderKind::Limit(Money(200_000)),
        Tif::Gtc,
    )];
    let id = open[0].id;
    // 40 traded: 4 fill at 20, the rest stays open.
    let b = run(&mut db.conn, &[], &mut open, 200_000, 40, fees, NOW.0);
    assert_eq!(filled(&b), [(0, 4 * ONE, Rest::Open)]);
    assert_eq!(
        row(&db.conn, id),
        ("open".into(), 4 * ONE, 800_000, 10 * ONE)
    );
    // Above its limit: nothing. Then 4 more at 10, and the last 2 at 15.
    let b = run(&mut db.conn, &[], &mut open, 210_000, 40, fees, NOW.0 + 60);
    assert!(filled(&b).is_empty());
    run(&mut db.conn, &[], &mut open, 100_000, 40, fees, NOW.0 + 120);
    let b = run(
        &mut db.conn,
        &[],
        &mut open,
        150_000,
        1_000,
        fees,
        NOW.0 + 180,
    );
    assert_eq!(filled(&b), [(0, 2 * ONE, Rest::Nothing)]);
    assert!(open.is_empty(), "filled: no longer open");
    // 4 x 20 + 4 x 10 + 2 x 15 = 150; average 15.
    let (status, shares, cost, _) = row(&db.conn, id);
    assert_eq!(
        (status.as_str(), shares, cost),
        ("filled", 10 * ONE, 1_500_000)
    );
    let line = &orders::listed(&db.conn, ann).expect("listed")[0];
    let got = line.filled.expect("filled");
    assert_eq!((got.quantity.raw(), got.avg), (10 * ONE, Money(150_000)));
    assert!(line.to_line().ends_with(" filled=10 avg=15.0000\n"));
    // One commission in all: 1 + 0.1% of 150 = 1.15, paid 1.08 + 0.04 + 0.03.
    let fees: i64 = db
        .conn
        .query_row(
            "SELECT sum(price) FROM transactions WHERE side = 'fee' AND order_id = ?1",
            [id],
            |r| r.get(0),
        )
        .expect("fees");
    assert_eq!(fees, 11_500);
    assert_eq!(cash(&db.conn, ann), 100_000_000 - 1_500_000 - 11_500);
}

#[test]
fn ioc_keeps_its_part_and_fok_waits_for_all_or_nothing() {
    let mut db = test_db("partial-ioc");
    let bea = add_account(&db.conn, "bea", 100_000_000);
    let mut open = vec![
        place(
            &db.conn,
            bea,
            Side::Buy,
            "AAA",
            10,
            OrderKind::Market,
            Tif::Ioc,
        ),
        place(
            &db.conn,
            bea,
            Side::Buy,
            "WHL",
            10,
            OrderKind::Market,
            Tif::Fok,
        ),
    ];
    let (ioc, fok) = (open[0].id, open[1].id);
    // 50 traded: the ioc takes 5 and its rest expires; the fok cannot
    // fill whole and expires with nothing.
    run(&mut db.conn, &[], &mut open, 100_000, 50, CAP, NOW.0);
    assert!(open.is_empty());
    assert_eq!(
        row(&db.conn, ioc),
        ("expired".into(), 5 * ONE, 500_000, 10 * ONE)
    );
    assert_eq!(row(&db.conn, fok), ("expired".into(), 0, 0, 10 * ONE));
    // A fok the volume covers fills whole.
    let mut open = vec![place(
        &db.conn,
        bea,
        Side::Buy,
        "WHL",
        10,
        OrderKind::Market,
        Tif::Fok,
    )];
    let id = open[0].id;
    run(&mut db.conn, &[], &mut open, 100_000, 100, CAP, NOW.0 + 60);
    assert_eq!(row(&db.conn, id).0, "filled");
}

#[test]
fn whole_share_assets_fill_whole_parts_and_no_volume_means_no_cap() {
    let mut db = test_db("partial-whole");
    let cy = add_account(&db.conn, "cy", 100_000_000);
    let mut open = vec![place(
        &db.conn,
        cy,
        Side::Buy,
        "WHL",
        3,
        OrderKind::Market,
        Tif::Day,
    )];
    let id = open[0].id;
    // 10% of 15 is 1.5: one whole share.
    run(&mut db.conn, &[], &mut open, 100_000, 15, CAP, NOW.0);
    assert_eq!(row(&db.conn, id).1, ONE);
    // 10% of 9 is no whole share: nothing, the order waits.
    let b = run(&mut db.conn, &[], &mut open, 100_000, 9, CAP, NOW.0 + 60);
    assert!(b.changes.is_empty());
    // A provider that reports no volume (0): no cap.
    run(&mut db.conn, &[], &mut open, 100_000, 0, CAP, NOW.0 + 120);
    assert_eq!(row(&db.conn, id).0, "filled");
}

#[test]
fn the_cap_is_per_account_and_asset_across_orders() {
    let mut db = test_db("partial-shared");
    let dee = add_account(&db.conn, "dee", 100_000_000);
    let eve = add_account(&db.conn, "eve", 100_000_000);
    // dee's market order takes 3 of her 5; her open order the other 2;
    // eve's own 5 are hers.
    let queued = [order(dee, Side::Buy, "WHL", 3, 1)];
    let mut open = vec![
        place(
            &db.conn,
            dee,
            Side::Buy,
            "WHL",
            4,
            OrderKind::Market,
            Tif::Day,
        ),
        place(
            &db.conn,
            eve,
            Side::Buy,
            "WHL",
            6,
            OrderKind::Market,
            Tif::Day,
        ),
    ];
    let (mine, theirs) = (open[0].id, open[1].id);
    let b = run(&mut db.conn, &queued, &mut open, 100_000, 50, CAP, NOW.0);
    assert!(matches!(
        b.outcomes[0].1,
        Outcome::Filled { quantity, .. } if quantity.raw() == 3 * ONE
    ));
    assert_eq!(row(&db.conn, mine).1, 2 * ONE);
    assert_eq!(row(&db.conn, theirs).1, 5 * ONE);
    // A market order beyond the cap fills what it allows (the rest is not
    // placed); with nothing left, it is refused and nothing changes.
    let queued = [
        order(dee, Side::Buy, "AAA", 8, 1),
        order(dee, Side::Buy, "AAA", 1, 2),
    ];
    let before = cash(&db.conn, dee);
    let b = run(
        &mut db.conn,
        &queued,
        &mut Vec::new(),
        100_000,
        50,
        CAP,
        NOW.0 + 60,
    );
    assert!(matches!(
        b.outcomes[0].1,
        Outcome::Filled { quantity, .. } if quantity.raw() == 5 * ONE
    ));
    match &b.outcomes[1].1 {
        Outcome::Refused(reason) => assert_eq!(reason.code, ReasonCode::Unavailable),
        other => panic!("{other:?}"),
    }
    assert_eq!(cash(&db.conn, dee), before - 500_000);
}

#[test]
fn a_stop_fills_its_rest_at_later_prices_reached_or_not() {
    let mut db = test_db("partial-stop");
    let fay = add_account(&db.conn, "fay", 100_000_000);
    let mut open = vec![place(
        &db.conn,
        fay,
        Side::Buy,
        "AAA",
        6,
        OrderKind::Stop(Money(200_000)),
        Tif::Gtc,
    )];
    let id = open[0].id;
    // Below its stop: nothing, even with volume.
    run(&mut db.conn, &[], &mut open, 190_000, 30, CAP, NOW.0);
    assert_eq!(row(&db.conn, id).1, 0);
    // Reached: 3 fill, the stop is triggered; its rest fills back below.
    run(&mut db.conn, &[], &mut open, 200_000, 30, CAP, NOW.0 + 60);
    assert_eq!(
        row(&db.conn, id),
        ("triggered".into(), 3 * ONE, 600_000, 6 * ONE)
    );
    assert!(open[0].triggered);
    run(&mut db.conn, &[], &mut open, 180_000, 30, CAP, NOW.0 + 120);
    assert_eq!(row(&db.conn, id).0, "filled");
}

#[test]
fn a_bracket_opens_its_legs_for_what_the_entry_filled() {
    let mut db = test_db("partial-bracket");
    let gil = add_account(&db.conn, "gil", 100_000_000);
    let symbol = sym("AAA");
    let limit = OrderKind::Limit(Money(100_000));
    let entry = NewOrder {
        class: Some(OrderClass::Bracket),
        ..new_order(gil, Side::Buy, &symbol, 10, limit, Tif::Day)
    };
    let leg = |kind| NewOrder {
        side: Side::Sell,
        kind,
        tif: Tif::Gtc,
        held: true,
        ..entry
    };
    let mut open = orders::insert_class(
        &mut db.conn,
        &entry,
        &[
            leg(OrderKind::Limit(Money(120_000))),
            leg(OrderKind::Stop(Money(80_000))),
        ],
        None,
    )
    .expect("class");
    let (entry_id, tp, sl) = (open[0].id, open[1].id, open[2].id);
    // 6 of the entry fill; the legs wait; at the day's end it expires and
    // the legs open for the 6.
    run(&mut db.conn, &[], &mut open, 100_000, 60, CAP, NOW.0);
    assert_eq!(row(&db.conn, tp).0, "held");
    run(
        &mut db.conn,
        &[],
        &mut open,
        100_000,
        0,
        CAP,
        NOW.0 + 86_400,
    );
    assert_eq!(row(&db.conn, entry_id).0, "expired");
    assert_eq!(row(&db.conn, tp), ("open".into(), 0, 0, 6 * ONE));
    assert_eq!(row(&db.conn, sl), ("open".into(), 0, 0, 6 * ONE));
    // The take-profit fills 2: the stop-loss is cut to 4.
    run(
        &mut db.conn,
        &[],
        &mut open,
        120_000,
        20,
        CAP,
        NOW.0 + 86_460,
    );
    assert_eq!(row(&db.conn, tp).1, 2 * ONE);
    assert_eq!(row(&db.conn, sl).3, 4 * ONE);
    // The stop-loss takes 3 of its 4: the take-profit's rest is 1.
    run(
        &mut db.conn,
        &[],
        &mut open,
        80_000,
        30,
        CAP,
        NOW.0 + 86_520,
    );
    assert_eq!(
        row(&db.conn, sl),
        ("triggered".into(), 3 * ONE, 240_000, 4 * ONE)
    );
    assert_eq!(row(&db.conn, tp).3, 3 * ONE);
    // Its last share: filled, and the take-profit is cancelled.
    run(
        &mut db.conn,
        &[],
        &mut open,
        90_000,
        30,
        CAP,
        NOW.0 + 86_580,
    );
    assert_eq!(row(&db.conn, sl).0, "filled");
    assert_eq!(row(&db.conn, tp).0, "cancelled");
    assert!(open.is_empty());
    assert_eq!(position(&db.conn, gil, "AAA"), None, "6 bought, 6 sold");
}

#[test]
fn an_entry_that_ends_unfilled_cancels_its_legs() {
    let mut db = test_db("partial-unfilled");
    let hu = add_account(&db.conn, "hu", 100_000_000);
    let symbol = sym("WHL");
    let entry = NewOrder {
        class: Some(OrderClass::Oto),
        ..new_order(hu, Side::Buy, &symbol, 2, OrderKind::Market, Tif::Day)
    };
    let exit = NewOrder {
        side: Side::Sell,
        kind: OrderKind::Limit(Money(500_000)),
        tif: Tif::Gtc,
        held: true,
        ..entry
    };
    let mut open = orders::insert_class(&mut db.conn, &entry, &[exit], None).expect("class");
    let leg = open[1].id;
    // Too little volume for a whole share, then the day ends.
    run(&mut db.conn, &[], &mut open, 100_000, 5, CAP, NOW.0);
    run(
        &mut db.conn,
        &[],
        &mut open,
        100_000,
        5,
        CAP,
        NOW.0 + 86_400,
    );
    assert_eq!(row(&db.conn, leg).0, "cancelled");
    assert!(open.is_empty());
    let status = orders::listed(&db.conn, hu).expect("listed")[1].status;
    assert_eq!(status, OrderStatus::Expired);
}

#[test]
fn a_stop_limit_reached_while_the_cap_allows_nothing_still_triggers() {
    let mut db = test_db("partial-stop-limit");
    let kai = add_account(&db.conn, "kai", 100_000_000);
    let kind = OrderKind::StopLimit {
        stop: Money(1_750_000),
        limit: Money(1_760_000),
    };
    let mut open = vec![place(&db.conn, kai, Side::Buy, "WHL", 2, kind, Tif::Gtc)];
    let id = open[0].id;
    // Its stop is reached while 10% of 5 is no whole share: triggered.
    run(&mut db.conn, &[], &mut open, 1_755_000, 5, CAP, NOW.0);
    assert_eq!(row(&db.conn, id), ("triggered".into(), 0, 0, 2 * ONE));
    // Back below the stop, it fills as the limit it now is.
    run(
        &mut db.conn,
        &[],
        &mut open,
        1_740_000,
        100,
        CAP,
        NOW.0 + 60,
    );
    assert_eq!(row(&db.conn, id).0, "filled");
}
