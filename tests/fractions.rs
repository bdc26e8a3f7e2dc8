//! Fractional quantities end to end (protocol 1.2, papertrader-protocol(7)
//! "Changes in 1.2"): a real ptmasterd with a CSV price source, spoken to
//! over a real master link. Fractions fill exactly on an asset that trades
//! in them, are refused on a whole-share asset, cost rounds up and
//! proceeds round down, every view writes them back as sent, whole
//! quantities read exactly as in 1.1, and bad counts are `bad-quantity`.

mod util;

use std::time::Duration;

use papertrader_common::value::{Money, OrderStatus};
use papertrader_common::{Instr, ReasonCode};
use util::daemon::TempDir;
use util::master::{FAST_ARGON2, MasterSetup};
use util::trader::{Trader, audit_clean, code_of};

/// BTC (fractions by default: the CSV market never closes) at 33333.3333
/// and AAPL (`fractional=no`) at 100, one price set a second.
fn market(dir: &TempDir) -> String {
    let mut csv = String::from("Symbol,Date,Time,Open,High,Low,Close,Volume\n");
    for _ in 0..600 {
        for (symbol, p) in [("BTC", "33333.3333"), ("AAPL", "100.0000")] {
            csv.push_str(&format!(
                "{symbol},2026-11-20,10:00:00,{p},{p},{p},{p},1000\n"
            ));
        }
    }
    std::fs::write(dir.join("bars.csv"), csv).expect("csv");
    std::fs::write(
        dir.join("assets.list"),
        "BTC Bitcoin\nAAPL fractional=no Apple Inc.\n",
    )
    .expect("assets");
    format!(
        "{FAST_ARGON2}price_source = csv\ncsv_file = {}\nassets_file = {}\nupdate_interval = 1s\n\
         short_selling = no\n",
        dir.join("bars.csv").display(),
        dir.join("assets.list").display()
    )
}

/// `price * billionths / 10^9` rounded up (a buy) or down (a sale), in
/// 1/10 000 units.
fn amount(price: i64, billionths: i64, up: bool) -> i64 {
    let exact = i128::from(price) * i128::from(billionths);
    let scale = 1_000_000_000i128;
    let down = exact / scale;
    (if up && exact % scale != 0 {
        down + 1
    } else {
        down
    }) as i64
}

#[test]
fn fractions_fill_exactly_and_round_against_the_trader() {
    let dir = TempDir::new("fractions");
    let setup = MasterSetup::new("fractions");
    let master = setup.start(&market(&dir));
    let mut t = Trader::register(&setup, &master, "frank");
    let session = t.session.clone();
    assert_eq!(t.wait_price("BTC"), Money(333_333_333));
    t.wait_price("AAPL");

    let (i, a) = t.buy("BTC", "0.5");
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
    assert_eq!(a[1..4], ["BTC", "0.5", "33333.3333"]);
    let cost = amount(333_333_333, 500_000_000, true);
    assert_eq!(cost, 166_666_667, "16666.66665 rounds up");
    let (i, a) =
        t.w.request(Instr::SellAsset, &[&session, "btc", "0.123456789"]);
    assert_eq!(i, Instr::SellSuccess, "{a:?}");
    assert_eq!(a[2], "0.123456789");
    let proceeds = amount(333_333_333, 123_456_789, false);
    let cash = 1_000_000_000 - cost + proceeds;
    assert_eq!(t.info("cash"), Money(cash).to_string());

    let portfolio = t.portfolio();
    assert!(
        portfolio.starts_with("BTC 0.376543211 "),
        "what is left, exactly: {portfolio}"
    );
    let history = t.history();
    let quantities: Vec<&str> = history
        .lines()
        .map(|l| l.split(' ').nth(4).expect("QUANTITY"))
        .collect();
    assert_eq!(quantities, ["0.5", "0.123456789"], "{history}");

    // Orders carry fractions too, and getOrders shows them as sent.
    let id = t.accepted("buy BTC 0.25 limit 40000 - gtc");
    let order = t.wait_status(&id, OrderStatus::Filled, Duration::from_secs(20));
    assert_eq!(order.quantity.to_string(), "0.25");
    // A sell may take every last billionth.
    let (i, a) =
        t.w.request(Instr::SellAsset, &[&session, "BTC", "0.626543211"]);
    assert_eq!(i, Instr::SellSuccess, "{a:?}");
    assert_eq!(t.portfolio(), "", "nothing left, no zero row");

    // A whole-share asset refuses a fraction, however it comes, and takes
    // a whole quantity exactly as in 1.1.
    let (i, a) = t.buy("AAPL", "0.5");
    assert_eq!(
        (i, code_of(&a)),
        (Instr::PurchaseFail, ReasonCode::BadQuantity)
    );
    assert!(a[0].contains("AAPL trades in whole shares only"), "{a:?}");
    assert_eq!(
        t.refused("buy AAPL 1.5 limit 90 - day"),
        ReasonCode::BadQuantity
    );
    let (i, a) = t.w.request(Instr::SellAsset, &[&session, "AAPL", "2.0"]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::SellFail, ReasonCode::InsufficientShares),
        "2.0 is whole: it gets as far as the shares check"
    );
    let (i, a) = t.buy("AAPL", "0003");
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
    assert_eq!(
        a[1..4],
        ["AAPL", "3", "100.0000"],
        "a whole count, no fraction"
    );
    audit_clean(&setup);
}

#[test]
fn bad_counts_are_bad_quantity_and_change_nothing() {
    let dir = TempDir::new("fractions-bad");
    let setup = MasterSetup::new("fractions-bad");
    let master = setup.start(&market(&dir));
    let mut t = Trader::register(&setup, &master, "gwen");
    t.wait_price("BTC");
    for bad in [
        "1.0000000001",
        "0.0000000001",
        "1e5",
        "NaN",
        "inf",
        "-1",
        "+1",
        "0",
        "0.000000000",
        "1000000000.000000001",
        "1000000001",
        ".5",
        "5.",
        "1,5",
        "99999999999999999999999999",
    ] {
        let (i, a) = t.buy("BTC", bad);
        assert_eq!(
            (i, code_of(&a)),
            (Instr::PurchaseFail, ReasonCode::BadQuantity),
            "{bad:?}: {a:?}"
        );
        let words = format!("sell BTC {bad} limit 1 - day");
        assert_eq!(t.refused(&words), ReasonCode::BadQuantity, "{bad:?}");
    }
    // The largest quantity at the smallest step is a count, but no
    // account can pay for it.
    let (i, a) = t.buy("BTC", "999999999.999999999");
    assert_eq!(
        (i, code_of(&a)),
        (Instr::PurchaseFail, ReasonCode::InsufficientFunds),
        "{a:?}"
    );
    assert_eq!(t.info("cash"), "100000.0000");
    assert_eq!(t.history(), "");
    audit_clean(&setup);
}

#[test]
fn notional_orders_buy_what_the_amount_pays_for() {
    let dir = TempDir::new("fractions-notional");
    let setup = MasterSetup::new("fractions-notional");
    let master = setup.start(&market(&dir));
    let mut t = Trader::register(&setup, &master, "nora");
    let session = t.session.clone();
    t.wait_price("BTC");
    t.wait_price("AAPL");

    // 100 / 33333.3333 = 0.0030000000030...: 0.003 BTC, which costs
    // 99.9999999 rounded up to 100.0000.
    let (i, a) =
        t.w.request(Instr::PurchaseNotional, &[&session, "btc", "100"]);
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
    assert_eq!(a[1..4], ["BTC", "0.003", "33333.3333"]);
    // 50 sells 0.0015 BTC for 49.99999999 rounded down.
    let (i, a) = t.w.request(Instr::SellNotional, &[&session, "BTC", "50"]);
    assert_eq!(i, Instr::SellSuccess, "{a:?}");
    assert_eq!(a[2], "0.0015");
    assert_eq!(t.info("cash"), "99949.9999");
    // The smallest amount still buys a few billionths, never for free.
    let (i, a) =
        t.w.request(Instr::PurchaseNotional, &[&session, "BTC", "0.0001"]);
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
    assert_eq!(a[2], "0.000000003");
    assert_eq!(t.info("cash"), "99949.9998");

    let refused = |t: &mut Trader, instr: Instr, symbol: &str, amount: &str| {
        let (i, a) = t.w.request(instr, &[&session, symbol, amount]);
        assert!(
            i == Instr::PurchaseFail || i == Instr::SellFail,
            "{amount}: {a:?}"
        );
        code_of(&a)
    };
    for bad in ["0", "-1", "1e5", "NaN", "100.00001", "1,5", "0.00"] {
        let code = refused(&mut t, Instr::PurchaseNotional, "BTC", bad);
        assert_eq!(code, ReasonCode::BadQuantity, "{bad}");
    }
    // A whole-share asset cannot be bought by the amount.
    let code = refused(&mut t, Instr::PurchaseNotional, "AAPL", "100");
    assert_eq!(code, ReasonCode::BadQuantity);
    // Beyond the cash, beyond the holding.
    let code = refused(&mut t, Instr::PurchaseNotional, "BTC", "100000");
    assert_eq!(code, ReasonCode::InsufficientFunds);
    let code = refused(&mut t, Instr::SellNotional, "BTC", "1000");
    assert_eq!(code, ReasonCode::InsufficientShares);
    assert!(
        t.portfolio().starts_with("BTC 0.001500003 "),
        "{}",
        t.portfolio()
    );
    audit_clean(&setup);
}
