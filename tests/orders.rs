//! Orders end to end (PROTOCOL.md sections 4 and 9): a real ptmasterd with
//! a CSV price source that replays prices each test chooses, spoken to
//! over a real master link; limit, stop and stop-limit fills, cancel, day
//! expiry, reservation, rejection, kill -9, reset, leaderboard, equity
//! history, and bad input. `ptctl audit` must be clean after each.

mod util;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use papertrader_common::payload::{EquityPoint, OrderLine, Standing, parse_lines};
use papertrader_common::value::{Money, OrderStatus};
use papertrader_common::{Instr, ReasonCode};
use util::daemon::TempDir;
use util::master::{FAST_ARGON2, MasterSetup, hashed_pass};
use util::trader::{Trader, audit_clean, code_of};

/// Master config for a CSV feed replaying `series` (per symbol, one price
/// per 1 s update; the last price repeats to 600 bars).
fn market(dir: &TempDir, series: &[(&str, &[&str])]) -> String {
    market_trading(dir, series, 1000)
}

/// [`market`] with `volume` shares traded at each update.
fn market_trading(dir: &TempDir, series: &[(&str, &[&str])], volume: u64) -> String {
    let mut csv = String::from("Symbol,Date,Time,Open,High,Low,Close,Volume\n");
    for i in 0..600 {
        for (symbol, prices) in series {
            let p = prices[i.min(prices.len() - 1)];
            csv.push_str(&format!(
                "{symbol},2026-11-20,10:00:00,{p},{p},{p},{p},{volume}\n"
            ));
        }
    }
    std::fs::write(dir.join("bars.csv"), csv).expect("csv");
    let assets: String = series
        .iter()
        .map(|(s, _)| format!("{s} {s} Corp.\n"))
        .collect();
    std::fs::write(dir.join("assets.list"), assets).expect("assets");
    format!(
        "{FAST_ARGON2}price_source = csv\ncsv_file = {}\nassets_file = {}\nupdate_interval = 1s\n",
        dir.join("bars.csv").display(),
        dir.join("assets.list").display()
    )
}

/// A price repeated `n` times, then the rest.
fn hold<'a>(price: &'a str, n: usize, then: &[&'a str]) -> Vec<&'a str> {
    let mut out = vec![price; n];
    out.extend_from_slice(then);
    out
}

fn money(text: &str) -> Money {
    Money::parse(text).expect("money")
}

#[test]
fn limit_stop_and_stop_limit_fill_as_section_nine_says() {
    let dir = TempDir::new("orders-fill");
    // AAPL: 100 for 10 s, then 97 (a stop sell at 98 fires), 94 (the
    // limit buy at 95 fills), 96, 103 (a stop-limit buy, stop 102 limit
    // 101, triggers over its limit), 104, 90 (... and fills as a limit).
    let aapl = hold(
        "100.0000",
        10,
        &[
            "97.0000", "94.0000", "96.0000", "103.0000", "104.0000", "90.0000", "100.0000",
        ],
    );
    let setup = MasterSetup::new("orders-fill");
    let master = setup.start(&market(&dir, &[("AAPL", &aapl)]));
    let mut t = Trader::register(&setup, &master, "alice");
    assert_eq!(t.wait_price("AAPL"), money("100"));
    let (i, a) =
        t.w.request(Instr::PurchaseAsset, &[&t.session.clone(), "AAPL", "10"]);
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
    let limit = t.accepted("buy AAPL 10 limit 95 - day");
    let stop = t.accepted("sell aapl 5 stop - 98 gtc");
    let stop_limit = t.accepted("buy AAPL 3 stop-limit 101 102 gtc");
    let listed = t.orders();
    let ids: Vec<String> = listed.iter().map(|o| o.id.to_string()).collect();
    assert_eq!(
        ids,
        [stop_limit.clone(), stop.clone(), limit.clone()],
        "newest first"
    );
    assert!(
        listed
            .iter()
            .all(|o| o.status == OrderStatus::Open && o.txid.is_none())
    );

    let filled = t.wait_status(&stop, OrderStatus::Filled, Duration::from_secs(20));
    assert_eq!(
        filled_price(&mut t, &filled),
        money("97"),
        "the stop fires at 97"
    );
    let filled = t.wait_status(&limit, OrderStatus::Filled, Duration::from_secs(10));
    assert_eq!(
        filled_price(&mut t, &filled),
        money("94"),
        "first price at or under 95"
    );
    let triggered = t.wait_status(&stop_limit, OrderStatus::Triggered, Duration::from_secs(10));
    assert!(triggered.txid.is_none());
    let filled = t.wait_status(&stop_limit, OrderStatus::Filled, Duration::from_secs(10));
    assert_eq!(
        filled_price(&mut t, &filled),
        money("90"),
        "then fills as a limit"
    );
    // 10 + 10 + 3 bought, 5 sold.
    assert!(t.portfolio().starts_with("AAPL 18 "), "{}", t.portfolio());

    let (i, a) =
        t.w.request(Instr::CancelOrder, &[&t.session.clone(), &limit]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::CancelFail, ReasonCode::UnknownOrder),
        "filled"
    );
    audit_clean(&setup);
}

/// The price of the transaction that filled `order`.
fn filled_price(t: &mut Trader, order: &OrderLine) -> Money {
    let txid = order
        .txid
        .expect("a filled order names its fill")
        .to_string();
    let history = t.history();
    let line = history
        .lines()
        .find(|l| l.split(' ').next() == Some(txid.as_str()))
        .unwrap_or_else(|| panic!("transaction {txid} in {history}"));
    money(line.split(' ').nth(5).expect("PRICE"))
}

#[test]
fn cancel_reserve_reject_and_expire() {
    let dir = TempDir::new("orders-cancel");
    // MSFT 105 for 12 s, then 100 for good.
    let msft = hold("105.0000", 12, &["100.0000"]);
    let setup = MasterSetup::new("orders-cancel");
    // Without short selling, a sale needs the shares.
    let extra = format!(
        "starting_cash = 1000\nshort_selling = no\n{}",
        market(&dir, &[("MSFT", &msft)])
    );
    let mut master = setup.start(&extra);
    let mut t = Trader::register(&setup, &master, "bob");
    t.wait_price("MSFT");

    // Reservation: 6 x 100 of 1000 reserved, 5 x 100 more does not fit.
    let first = t.accepted("buy MSFT 6 limit 100 - gtc");
    assert_eq!(
        t.refused("buy MSFT 5 limit 100 - gtc"),
        ReasonCode::InsufficientFunds
    );
    assert_eq!(
        t.refused("sell MSFT 1 limit 200 - gtc"),
        ReasonCode::InsufficientShares
    );
    // Cancel gives the reservation back.
    let (i, a) =
        t.w.request(Instr::CancelOrder, &[&t.session.clone(), &first]);
    assert_eq!(
        (i, a[0].as_str()),
        (Instr::CancelSuccess, first.as_str()),
        "{a:?}"
    );
    assert_eq!(t.order(&first).status, OrderStatus::Cancelled);
    let (i, a) =
        t.w.request(Instr::CancelOrder, &[&t.session.clone(), &first]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::CancelFail, ReasonCode::UnknownOrder),
        "twice"
    );

    // A fill that can no longer be covered: 9 x 100 reserved, then a
    // market purchase at 105 spends the cash; at 100 the order is rejected.
    let doomed = t.accepted("buy MSFT 9 limit 100 - gtc");
    let (i, a) =
        t.w.request(Instr::PurchaseAsset, &[&t.session.clone(), "MSFT", "5"]);
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
    let cash_after = t.info("cash");
    assert_eq!(cash_after, "475.0000");
    t.wait_status(&doomed, OrderStatus::Rejected, Duration::from_secs(25));
    assert_eq!(
        t.info("cash"),
        cash_after,
        "a rejection changes nothing else"
    );
    assert!(t.portfolio().starts_with("MSFT 5 "));

    // Another account cannot cancel bob's order.
    let keep = t.accepted("buy MSFT 1 limit 1 - day");
    let eve = t.another("eve");
    let (i, a) = t.w.request(Instr::CancelOrder, &[&eve, &keep]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::CancelFail, ReasonCode::UnknownOrder)
    );
    assert_eq!(t.order(&keep).status, OrderStatus::Open);

    // A day order placed "yesterday" (the master's clock cannot be moved,
    // so the row is aged while the master is down) expires at the next
    // price set after 00:00 UTC.
    master.kill9();
    let db = rusqlite::Connection::open(setup.dir.join("master.db")).expect("db");
    db.execute(
        "UPDATE orders SET created = created - 86400 WHERE id = ?1",
        [&keep],
    )
    .expect("age the order");
    drop(db);
    let master = setup.start(&extra);
    t.relink(&setup, &master);
    t.wait_status(&keep, OrderStatus::Expired, Duration::from_secs(20));
    audit_clean(&setup);
}

#[test]
fn open_orders_survive_kill_9_and_fill_later() {
    let dir = TempDir::new("orders-crash");
    let aapl = hold("100.0000", 15, &["45.0000"]);
    let setup = MasterSetup::new("orders-crash");
    let extra = market(&dir, &[("AAPL", &aapl)]);
    let mut master = setup.start(&extra);
    let mut t = Trader::register(&setup, &master, "carol");
    t.wait_price("AAPL");
    let waiting = t.accepted("buy AAPL 2 limit 50 - gtc");
    let session = t.session.clone();
    let (i, a) = t.w.request(Instr::PurchaseAsset, &[&session, "AAPL", "3"]);
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
    // A trailing stop marked at 100, trailing 10: its mark must survive
    // the crash for it to fire at 45 (stop 90).
    let trailing = t.accepted("sell AAPL 3 trailing-stop - 10 gtc");
    // Pipelined without waiting, killed in the middle: every order and
    // replace the master accepted must be there after the restart. The
    // replaces come first, each naming the order the one before makes.
    let chain: u64 = t.accepted("buy AAPL 1 limit 2 - gtc").parse().expect("id");
    for n in 0..50u64 {
        let limit = if n % 2 == 0 { "3" } else { "2" };
        t.w.send_request(
            Instr::ReplaceOrder,
            &[&session, &(chain + n).to_string(), "=", limit, "=", "="],
        );
    }
    for _ in 0..300 {
        t.w.send_request(
            Instr::PlaceOrder,
            &[&session, "buy", "AAPL", "1", "limit", "1", "-", "gtc"],
        );
    }
    let mut acked = HashSet::new();
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
        if let Some(f) = t.w.peer.try_recv(Duration::from_millis(20))
            && util::wire::instr(&f) == Instr::OrderAccepted
        {
            acked.insert(util::wire::words(&f)[1].clone());
        }
    }
    master.kill9();
    let master = setup.start(&extra);
    t.relink(&setup, &master);
    let orders = t.orders();
    let listed: HashSet<String> = orders.iter().map(|o| o.id.to_string()).collect();
    let lost: Vec<&String> = acked.difference(&listed).collect();
    assert!(lost.is_empty(), "accepted orders lost: {lost:?}");
    assert!(
        acked.len() <= 150,
        "at most 50 replaces and max_open_orders - 3 more"
    );
    // Every acknowledged replace ended its predecessor.
    for n in 1..=50u64 {
        if acked.contains(&(chain + n).to_string()) {
            let old = t.order(&(chain + n - 1).to_string());
            assert_eq!(old.status, OrderStatus::Replaced, "order {}", old.id);
        }
    }
    assert_eq!(t.order(&waiting).status, OrderStatus::Open, "still open");
    assert_eq!(
        t.order(&trailing).mark,
        Some(money("100")),
        "the mark survived"
    );
    let filled = t.wait_status(&waiting, OrderStatus::Filled, Duration::from_secs(30));
    assert_eq!(filled_price(&mut t, &filled), money("45"));
    let sold = t.wait_status(&trailing, OrderStatus::Filled, Duration::from_secs(10));
    assert_eq!(filled_price(&mut t, &sold), money("45"));
    audit_clean(&setup);
}

#[test]
fn reset_cancels_orders_clears_positions_and_keeps_history() {
    let dir = TempDir::new("orders-reset");
    let setup = MasterSetup::new("orders-reset");
    let master = setup.start(&market(&dir, &[("AAPL", &["10.0000"])]));
    let mut t = Trader::register(&setup, &master, "dave");
    t.wait_price("AAPL");
    let (i, _) =
        t.w.request(Instr::PurchaseAsset, &[&t.session.clone(), "AAPL", "7"]);
    assert_eq!(i, Instr::PurchaseSuccess);
    let open = t.accepted("sell AAPL 3 limit 500 - gtc");
    let session = t.session.clone();
    let wrong = hashed_pass("dave", "not-it");
    let (i, a) = t.w.request(Instr::ResetAccount, &[&session, &wrong]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::ResetFail, ReasonCode::BadCredentials)
    );
    let (i, a) = t.w.request(
        Instr::ResetAccount,
        &[
            "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            &hashed_pass("dave", "pw"),
        ],
    );
    assert_eq!((i, code_of(&a)), (Instr::ResetFail, ReasonCode::BadSession));
    assert!(t.portfolio().starts_with("AAPL 7 "), "nothing changed yet");

    let (i, a) =
        t.w.request(Instr::ResetAccount, &[&session, &hashed_pass("dave", "pw")]);
    assert_eq!(
        (i, a[0].as_str()),
        (Instr::ResetSuccess, "100000.0000"),
        "{a:?}"
    );
    assert_eq!(t.portfolio(), "", "positions gone");
    assert_eq!(t.order(&open).status, OrderStatus::Cancelled);
    assert_eq!(t.info("cash"), "100000.0000");
    let history = t.history();
    let sides: Vec<&str> = history
        .lines()
        .map(|l| l.split(' ').nth(2).expect("SIDE"))
        .collect();
    assert_eq!(sides, ["buy", "reset"], "{history}");
    assert!(
        history
            .lines()
            .last()
            .expect("reset")
            .ends_with(" reset - 0 100000.0000")
    );
    // The account trades on from its new start.
    let (i, _) = t.w.request(Instr::PurchaseAsset, &[&session, "AAPL", "1"]);
    assert_eq!(i, Instr::PurchaseSuccess);
    audit_clean(&setup);
}

#[test]
fn leaderboard_ranks_ties_and_equity_history_has_one_line_a_day() {
    let dir = TempDir::new("orders-board");
    let aapl = hold("10.0000", 6, &["12.5000"]);
    let setup = MasterSetup::new("orders-board");
    let extra = market(&dir, &[("AAPL", &aapl)]);
    let mut master = setup.start(&extra);
    let mut alice = Trader::register(&setup, &master, "alice");
    let bob = alice.another("Bob");
    alice.another("carol");
    alice.wait_price("AAPL");
    // alice puts 10% of her cash into AAPL at 10: +2.5% when it is 12.5.
    let (i, a) = alice.w.request(
        Instr::PurchaseAsset,
        &[&alice.session.clone(), "AAPL", "1000"],
    );
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
    assert_eq!(money(&a[3]), money("10"));
    let deadline = Instant::now() + Duration::from_secs(20);
    let board = loop {
        let text = alice.data(Instr::GetLeaderboard, &[]).expect("leaderboard");
        let board: Vec<Standing> = parse_lines(&text).expect("standings");
        if board[0].ret.to_string() == "2.50" || Instant::now() > deadline {
            break board;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let shown: Vec<String> = board
        .iter()
        .map(|s| format!("{} {} {}", s.rank, s.username, s.ret))
        .collect();
    // Ties share a rank and sort by lower-case name: Bob before carol.
    assert_eq!(shown, ["1 alice 2.50", "2 Bob 0.00", "2 carol 0.00"]);

    // Equity history: the owner only; one line for each day since the
    // account opened. Age the account by three days while the master is
    // down, with snapshots for two of them.
    let name = "alice";
    let other = alice.data(Instr::GetEquityHistory, &[&bob, name]);
    assert_eq!(other, Err(ReasonCode::Forbidden));
    let today = alice
        .data(Instr::GetEquityHistory, &[&alice.session.clone(), name])
        .expect("equity");
    let points: Vec<EquityPoint> = parse_lines(&today).expect("points");
    assert_eq!(points.len(), 1, "opened today: {today}");
    assert_eq!(points[0].equity, money("102500"));

    master.kill9();
    let db = rusqlite::Connection::open(setup.dir.join("master.db")).expect("db");
    let day = |back: i64| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        (now / 86_400 - back) * 86_400
    };
    db.execute(
        "UPDATE accounts SET started = ?1 WHERE username = 'alice'",
        [day(3) + 600],
    )
    .expect("age");
    db.execute(
        "INSERT INTO equity_days SELECT id, ?1, 99000000 FROM accounts WHERE username = 'alice'",
        [day(3)],
    )
    .expect("snapshot");
    db.execute(
        "INSERT INTO equity_days SELECT id, ?1, 101000000 FROM accounts WHERE username = 'alice'",
        [day(1)],
    )
    .expect("snapshot");
    drop(db);
    let master = setup.start(&extra);
    alice.relink(&setup, &master);
    let text = alice
        .data(Instr::GetEquityHistory, &[&alice.session.clone(), name])
        .expect("equity");
    let equities: Vec<String> = parse_lines::<EquityPoint>(&text)
        .expect("points")
        .iter()
        .map(|p| p.equity.to_string())
        .collect();
    // Day -3 and -1 from their snapshots, day -2 carried, today live (the
    // restarted feed replays from 10.0000, so either price may stand).
    assert_eq!(
        equities[..3],
        ["9900.0000", "9900.0000", "10100.0000"],
        "{text}"
    );
    assert!(
        ["100000.0000", "102500.0000"].contains(&equities[3].as_str()),
        "{text}"
    );
    audit_clean(&setup);
}

#[test]
fn bad_orders_get_their_codes_and_store_nothing() {
    let dir = TempDir::new("orders-bad");
    let setup = MasterSetup::new("orders-bad");
    let extra = format!(
        "max_open_orders = 5\n{}",
        market(&dir, &[("AAPL", &["10.0000"])])
    );
    let master = setup.start(&extra);
    let mut t = Trader::register(&setup, &master, "frank");
    t.wait_price("AAPL");
    let cases = [
        ("buy AAPL 1 market 10 - day", ReasonCode::BadPrice),
        ("buy AAPL 1 limit - - day", ReasonCode::BadPrice),
        ("buy AAPL 1 stop - - day", ReasonCode::BadPrice),
        ("buy AAPL 1 stop-limit 5 - day", ReasonCode::BadPrice),
        ("buy AAPL 1 limit 0 - day", ReasonCode::BadPrice),
        ("buy AAPL 1 limit 1.00001 - day", ReasonCode::BadPrice),
        ("buy AAPL 0 limit 1 - day", ReasonCode::BadQuantity),
        ("buy AAPL 1000000001 limit 1 - day", ReasonCode::BadQuantity),
        ("buy ZZZZ 1 limit 1 - day", ReasonCode::UnknownAsset),
        ("hold AAPL 1 limit 1 - day", ReasonCode::BadArguments),
        ("buy AAPL 1 limit 1 - forever", ReasonCode::BadArguments),
        ("buy AAPL 1 bracket - - day", ReasonCode::BadArguments),
        (
            "buy AAPL 1 limit 99999999999999999 - day",
            ReasonCode::BadPrice,
        ),
        (
            "buy AAPL 1000000000 limit 1000000 - day",
            ReasonCode::InsufficientFunds,
        ),
    ];
    for (words, want) in cases {
        assert_eq!(t.refused(words), want, "{words}");
    }
    let (i, a) = t.w.request(
        Instr::PlaceOrder,
        &[
            "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "buy",
            "AAPL",
            "1",
            "market",
            "-",
            "-",
            "day",
        ],
    );
    assert_eq!((i, code_of(&a)), (Instr::OrderFail, ReasonCode::BadSession));
    let (i, a) = t.w.request(Instr::PlaceOrder, &[&t.session.clone(), "buy"]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::OrderFail, ReasonCode::BadArguments)
    );
    for id in ["-1", "x", "99999999999999999999", "424242"] {
        let (i, a) = t.w.request(Instr::CancelOrder, &[&t.session.clone(), id]);
        assert_eq!(i, Instr::CancelFail, "{id}: {a:?}");
    }
    assert!(t.orders().is_empty(), "nothing stored on any failure");

    // The open-order cap, with thousands pipelined without reading.
    let session = t.session.clone();
    for _ in 0..2000 {
        t.w.send_request(
            Instr::PlaceOrder,
            &[&session, "buy", "AAPL", "1", "limit", "1", "-", "gtc"],
        );
    }
    let (mut accepted, mut capped) = (0, 0);
    for _ in 0..2000 {
        let (_, i, a) = t.w.recv_reply();
        match i {
            Instr::OrderAccepted => accepted += 1,
            Instr::OrderFail if code_of(&a) == ReasonCode::TooManyOrders => capped += 1,
            other => panic!("{other:?} {a:?}"),
        }
    }
    assert_eq!((accepted, capped), (5, 1995));
    assert_eq!(t.orders().len(), 5);
    audit_clean(&setup);
}

#[test]
fn through_a_worker_with_states_and_the_cached_leaderboard() {
    use util::system::{System, call, call_data};
    let dir = TempDir::new("orders-worker");
    let system = System::start(
        "orders-worker",
        // System adds the fast argon2 settings itself.
        &market(&dir, &[("AAPL", &["10.0000"])]).replacen(FAST_ARGON2, "", 1),
        "",
    );
    let mut c = system.client();
    let pass = hashed_pass("gina", "pw");
    let (i, _) = call(&mut c, Instr::Register, &["gina", "g@example.com", &pass]);
    assert_eq!(i, Instr::RegisterSuccess);
    let order = ["buy", "AAPL", "1", "limit", "5", "-", "day"];
    let mut args = vec!["0f1e2d3c4b5a69788796a5b4c3d2e1f0"];
    args.extend(order);
    let (i, a) = call(&mut c, Instr::PlaceOrder, &args);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::OrderFail, ReasonCode::BadSession),
        "before login"
    );
    let (i, a) = call(&mut c, Instr::Login, &["gina", &pass, "true"]);
    assert_eq!(i, Instr::SessionId);
    let session = a[0].clone();
    let (i, a) = call(&mut c, Instr::GetOrders, &[&session]);
    assert_eq!((i, code_of(&a)), (Instr::DataFail, ReasonCode::WrongState));
    let mut args = vec![session.as_str()];
    args.extend(order);
    // The first price may still be on its way: an order waits for none,
    // but a market-priced reservation does; a limit reserves at its limit.
    let (i, a) = call(&mut c, Instr::PlaceOrder, &args);
    assert_eq!(i, Instr::OrderAccepted, "{a:?}");
    let id = a[0].clone();
    assert_eq!(
        call(&mut c, Instr::SwitchState, &[&session, "data"]).0,
        Instr::StateSwitchSuccess
    );
    let (i, a) = call(&mut c, Instr::CancelOrder, &[&session, &id]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::CancelFail, ReasonCode::WrongState)
    );
    let text = call_data(&mut c, Instr::GetOrders, &[&session]).expect("orders");
    let lines: Vec<OrderLine> =
        parse_lines(std::str::from_utf8(&text).expect("utf-8")).expect("lines");
    assert_eq!((lines.len(), lines[0].id.to_string()), (1, id.clone()));
    for _ in 0..3 {
        let board = call_data(&mut c, Instr::GetLeaderboard, &[]).expect("leaderboard");
        assert_eq!(board, b"1 gina 0.00\n");
    }
    let equity = call_data(&mut c, Instr::GetEquityHistory, &[&session, "gina"]).expect("equity");
    assert!(equity.ends_with(b" 100000.0000\n"), "{equity:?}");
    assert_eq!(
        call(&mut c, Instr::SwitchState, &[&session, "command"]).0,
        Instr::StateSwitchSuccess
    );
    let (i, a) = call(&mut c, Instr::CancelOrder, &[&session, &id]);
    assert_eq!((i, a[0].as_str()), (Instr::CancelSuccess, id.as_str()));
    audit_clean(&system.setup);
}

#[test]
fn ioc_and_fok_live_for_one_price_set() {
    let dir = TempDir::new("orders-ioc");
    let setup = MasterSetup::new("orders-ioc");
    let master = setup.start(&market(&dir, &[("AAPL", &["100.0000"])]));
    let mut t = Trader::register(&setup, &master, "ivy");
    assert_eq!(t.wait_price("AAPL"), money("100"));
    // Below the market: nothing fills at the next price set, so it expires.
    let missed = t.accepted("buy AAPL 1 limit 90 - ioc");
    let missed_fok = t.accepted("buy AAPL 1 limit 90 - fok");
    // At or better than the market: it fills at the next price set.
    let filled = t.accepted("buy AAPL 2 limit 101 - ioc");
    let filled_fok = t.accepted("buy AAPL 3 market - - fok");
    for id in [&missed, &missed_fok] {
        let order = t.wait_status(id, OrderStatus::Expired, Duration::from_secs(10));
        assert!(order.txid.is_none());
    }
    for id in [&filled, &filled_fok] {
        let order = t.wait_status(id, OrderStatus::Filled, Duration::from_secs(10));
        assert_eq!(filled_price(&mut t, &order), money("100"));
    }
    assert!(t.portfolio().starts_with("AAPL 5 "), "{}", t.portfolio());
    // Stops cannot be immediate; an unknown word is no time in force.
    assert_eq!(
        t.refused("sell AAPL 1 stop - 90 ioc"),
        ReasonCode::BadArguments
    );
    assert_eq!(
        t.refused("sell AAPL 1 stop-limit 89 90 fok"),
        ReasonCode::BadArguments
    );
    assert_eq!(
        t.refused("sell AAPL 1 limit 90 - opg"),
        ReasonCode::BadArguments
    );
    assert_eq!(
        t.refused("sell AAPL 1 limit 90 - IOC"),
        ReasonCode::BadArguments
    );
    let listed = t.orders();
    let tifs: Vec<&str> = listed.iter().map(|o| o.tif.name()).collect();
    assert_eq!(tifs, ["fok", "ioc", "fok", "ioc"], "getOrders shows them");
    audit_clean(&setup);
}

/// Waits until some of order `id` has filled.
fn wait_part(t: &mut Trader, id: &str) -> OrderLine {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let order = t.order(id);
        if order.filled.is_some() {
            return order;
        }
        assert!(Instant::now() < deadline, "no part filled: {order:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Protocol 1.2's volume cap, through a real master: 1000 shares trade at
/// each update and `volume_cap = 0.5` lets 5 fill per price set, so
/// orders fill in parts, each a history line, with one commission in all,
/// and a part-filled order survives a kill -9.
#[test]
fn a_volume_cap_fills_orders_in_parts() {
    let dir = TempDir::new("orders-cap");
    let setup = MasterSetup::new("orders-cap");
    let config = market_trading(&dir, &[("AAPL", &["100.0000"])], 1000);
    let config_capped = format!("{config}volume_cap = 0.5\nfee_per_order = 1\n");
    let mut master = setup.start(&config_capped);
    let mut t = Trader::register(&setup, &master, "kim");
    assert_eq!(t.wait_price("AAPL"), money("100"));
    // 12 in parts of 5, 5 and 2; the line shows what has filled.
    let id = t.accepted("buy AAPL 12 limit 101 - gtc");
    let done = t.wait_status(&id, OrderStatus::Filled, Duration::from_secs(15));
    let filled = done.filled.expect("filled=");
    assert_eq!(
        (filled.quantity.to_string(), filled.avg),
        ("12".into(), money("100"))
    );
    let history = t.history();
    let parts: Vec<&str> = history
        .lines()
        .filter(|l| l.contains(" buy AAPL "))
        .map(|l| l.split(' ').nth(4).expect("QUANTITY"))
        .collect();
    assert_eq!(parts, ["5", "5", "2"], "{history}");
    let fees: Vec<&str> = history.lines().filter(|l| l.contains(" fee ")).collect();
    assert_eq!(fees.len(), 1, "one commission for the order: {history}");
    assert!(fees[0].ends_with(" 1.0000"), "{history}");
    // purchaseAsset beyond the cap fills what it allows: 5 of 8.
    let (instr, args) = t.buy("AAPL", "8");
    assert_eq!(instr, Instr::PurchaseSuccess, "{args:?}");
    assert_eq!(args[2], "5", "{args:?}");
    // ioc keeps its part; fok cannot fill whole and fills nothing.
    let ioc = t.accepted("buy AAPL 9 market - - ioc");
    let ioc = t.wait_status(&ioc, OrderStatus::Expired, Duration::from_secs(10));
    assert_eq!(ioc.filled.expect("part").quantity.to_string(), "5");
    let fok = t.accepted("buy AAPL 9 market - - fok");
    let fok = t.wait_status(&fok, OrderStatus::Expired, Duration::from_secs(10));
    assert_eq!(fok.filled, None);
    // An order that waits with its rest keeps its parts through a kill -9
    // and fills the rest after the restart.
    let rest = t.accepted("sell AAPL 20 market - - gtc");
    let part = wait_part(&mut t, &rest);
    assert_eq!(part.status, OrderStatus::Open);
    master.kill9();
    let master = setup.start(&config_capped);
    t.relink(&setup, &master);
    let after = t.order(&rest);
    assert!(
        after.filled.expect("kept").quantity >= part.filled.expect("part").quantity,
        "{after:?}"
    );
    let sold = t.wait_status(&rest, OrderStatus::Filled, Duration::from_secs(15));
    assert_eq!(sold.filled.expect("all").quantity.to_string(), "20");
    // Cancel ends the rest and keeps the parts filled.
    let rest = t.accepted("buy AAPL 30 market - - gtc");
    wait_part(&mut t, &rest);
    let (session, rest_id) = (t.session.clone(), rest.clone());
    let (instr, args) = t.w.request(Instr::CancelOrder, &[&session, &rest_id]);
    assert_eq!(instr, Instr::CancelSuccess, "{args:?}");
    let cancelled = t.order(&rest);
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    let kept = cancelled.filled.expect("the parts stay").quantity;
    assert!(kept.is_whole() && kept.raw() > 0, "{kept}");
    audit_clean(&setup);
}

/// While a bracket's entry fills in parts its exits wait held, and the
/// shares bought so far are theirs: a sale of them is refused (without
/// short selling) rather than leaving the exits short of shares.
#[test]
fn a_part_filled_entry_keeps_its_shares_for_its_exits() {
    let dir = TempDir::new("orders-cap-bracket");
    let setup = MasterSetup::new("orders-cap-bracket");
    let config = market_trading(&dir, &[("AAPL", &["100.0000"])], 1000);
    let master = setup.start(&format!("{config}volume_cap = 0.5\nshort_selling = no\n"));
    let mut t = Trader::register(&setup, &master, "liv");
    assert_eq!(t.wait_price("AAPL"), money("100"));
    let session = t.session.clone();
    let args = [
        session.as_str(),
        "bracket",
        "buy",
        "AAPL",
        "100",
        "limit",
        "101",
        "-",
        "gtc",
        "200",
        "50",
    ];
    let (i, a) = t.w.request(Instr::PlaceOrderClass, &args);
    assert_eq!(i, Instr::OrderAccepted, "{a:?}");
    let entry = a[0].clone();
    wait_part(&mut t, &entry);
    assert_eq!(
        t.refused("sell AAPL 1 limit 300 - gtc"),
        ReasonCode::InsufficientShares,
        "the filled shares belong to the held exits"
    );
    let (i, a) = t.w.request(Instr::CancelOrder, &[&session, &entry]);
    assert_eq!(i, Instr::CancelSuccess, "{a:?}");
    audit_clean(&setup);
}

#[test]
fn trailing_stops_follow_the_price_and_replace_swaps_orders() {
    let dir = TempDir::new("orders-trail");
    // AAPL: 100 for 10 s, then up to 110, back down: a sell trailing 2%
    // from its high of 110 fires at 107.7 (stop 107.8); then down to 99
    // and up: a buy trailing 1.50 from its low of 99 fires at 100.5.
    let aapl = hold(
        "100.0000",
        10,
        &[
            "104.0000", "110.0000", "109.0000", "108.0000", "107.7000", "100.0000", "99.0000",
            "99.0000", "99.0000", "99.0000", "100.4000", "100.5000", "100.0000",
        ],
    );
    let setup = MasterSetup::new("orders-trail");
    // Without short selling, a replace beyond the shares held is refused.
    let master = setup.start(&format!(
        "short_selling = no\n{}",
        market(&dir, &[("AAPL", &aapl)])
    ));
    let mut t = Trader::register(&setup, &master, "tess");
    assert_eq!(t.wait_price("AAPL"), money("100"));
    let session = t.session.clone();
    let (i, a) = t.w.request(Instr::PurchaseAsset, &[&session, "AAPL", "10"]);
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");

    // Placed at 100 with a 5% trail, then narrowed to 2%: the new order
    // keeps the mark.
    let wide = t.accepted("sell AAPL 4 trailing-stop - 5% gtc");
    let placed = t.order(&wide);
    assert_eq!(placed.mark, Some(money("100")), "marked at the last price");
    assert_eq!(placed.stop(), Some(money("95")));
    let replace = |t: &mut Trader, args: &[&str]| {
        let mut all = vec![session.as_str()];
        all.extend(args);
        t.w.request(Instr::ReplaceOrder, &all)
    };
    let (i, a) = replace(&mut t, &[&wide, "=", "=", "2%", "="]);
    assert_eq!(i, Instr::OrderAccepted, "{a:?}");
    let sell = a[0].clone();
    assert_eq!(t.order(&wide).status, OrderStatus::Replaced);
    let narrowed = t.order(&sell);
    assert_eq!(
        (
            narrowed.quantity.to_string(),
            narrowed.mark,
            narrowed.stop()
        ),
        ("4".to_string(), Some(money("100")), Some(money("98")))
    );
    // A trail of 0 or 100%, a limit on a trailing stop, a filled or
    // replaced order: each refused, nothing changed.
    for (args, want) in [
        (
            vec![sell.as_str(), "=", "=", "0%", "="],
            ReasonCode::BadPrice,
        ),
        (
            vec![sell.as_str(), "=", "=", "100%", "="],
            ReasonCode::BadPrice,
        ),
        (
            vec![sell.as_str(), "=", "101", "=", "="],
            ReasonCode::BadPrice,
        ),
        (
            vec![sell.as_str(), "=", "=", "=", "ioc"],
            ReasonCode::BadArguments,
        ),
        (
            vec![sell.as_str(), "=", "=", "=", "="],
            ReasonCode::BadArguments,
        ),
        (
            vec![sell.as_str(), "11", "=", "=", "="],
            ReasonCode::InsufficientShares,
        ),
        (
            vec![wide.as_str(), "=", "=", "3%", "="],
            ReasonCode::UnknownOrder,
        ),
    ] {
        let (i, a) = replace(&mut t, &args);
        assert_eq!((i, code_of(&a)), (Instr::OrderFail, want), "{args:?}");
    }
    assert_eq!(t.order(&sell).status, OrderStatus::Open);

    let filled = t.wait_status(&sell, OrderStatus::Filled, Duration::from_secs(30));
    assert_eq!(filled_price(&mut t, &filled), money("107.7"));
    assert_eq!(
        (filled.mark, filled.stop()),
        (Some(money("110")), Some(money("107.8"))),
        "the high it trailed"
    );
    let (i, a) = replace(&mut t, &[&sell, "=", "=", "3%", "="]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::OrderFail, ReasonCode::UnknownOrder)
    );

    let buy = t.accepted("buy AAPL 2 trailing-stop - 1.5 day");
    let filled = t.wait_status(&buy, OrderStatus::Filled, Duration::from_secs(20));
    assert_eq!(filled_price(&mut t, &filled), money("100.5"));
    assert_eq!(filled.mark, Some(money("99")));
    // 10 bought, 4 sold, 2 bought.
    assert!(t.portfolio().starts_with("AAPL 8 "), "{}", t.portfolio());

    // 2,000 replaces pipelined without reading: each names the order the
    // one before it makes (ids are given in sequence), so all succeed.
    let first = t.accepted("buy AAPL 1 limit 1 - gtc");
    let first: u64 = first.parse().expect("id");
    for n in 0..2000u64 {
        let id = (first + n).to_string();
        let limit = if n % 2 == 0 { "2" } else { "1" };
        t.w.send_request(Instr::ReplaceOrder, &[&session, &id, "=", limit, "=", "="]);
    }
    for n in 0..2000u64 {
        let (_, i, a) = t.w.recv_reply();
        assert_eq!(
            (i, a[0].clone()),
            (Instr::OrderAccepted, (first + n + 1).to_string())
        );
    }
    let open: Vec<OrderLine> = t
        .orders()
        .into_iter()
        .filter(|o| o.status.is_live())
        .collect();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].id, open[0].kind.limit()),
        (first + 2000, Some(money("1")))
    );
    audit_clean(&setup);
}

#[test]
fn brackets_oco_and_oto_open_and_cancel_their_legs() {
    let dir = TempDir::new("orders-class");
    // AAPL 100 for 10 s, then 95 (the bracket's entry limit fills), 99,
    // 111 (its take-profit at 110 fills, the stop-loss is cancelled), 105.
    let aapl = hold(
        "100.0000",
        10,
        &["95.0000", "99.0000", "111.0000", "105.0000"],
    );
    let setup = MasterSetup::new("orders-class");
    let master = setup.start(&market(&dir, &[("AAPL", &aapl)]));
    let mut t = Trader::register(&setup, &master, "bret");
    assert_eq!(t.wait_price("AAPL"), money("100"));
    let session = t.session.clone();
    let class = |t: &mut Trader, words: &str| {
        let mut args = vec![session.as_str()];
        args.extend(words.split(' '));
        t.w.request(Instr::PlaceOrderClass, &args)
    };
    let (i, a) = class(&mut t, "bracket buy AAPL 2 limit 96 - gtc 110 90");
    assert_eq!(i, Instr::OrderAccepted, "{a:?}");
    let entry = a[0].clone();
    let orders = t.orders();
    let legs: Vec<&OrderLine> = orders
        .iter()
        .filter(|o| o.parent.map(|p| p.to_string()) == Some(entry.clone()))
        .collect();
    assert_eq!(legs.len(), 2, "{orders:?}");
    assert!(
        legs.iter()
            .all(|l| l.status == OrderStatus::Held && l.side.name() == "sell"),
        "{legs:?}"
    );
    let take_profit = legs
        .iter()
        .find(|l| l.kind.limit().is_some())
        .expect("take-profit")
        .id
        .to_string();
    let stop_loss = legs
        .iter()
        .find(|l| l.kind.stop().is_some())
        .expect("stop-loss")
        .id
        .to_string();
    // Exits on the wrong side, ioc, a missing exit, a bad class: refused.
    for (words, want) in [
        (
            "bracket buy AAPL 1 limit 96 - gtc 95 90",
            ReasonCode::BadPrice,
        ),
        (
            "bracket buy AAPL 1 limit 96 - gtc 110 97",
            ReasonCode::BadPrice,
        ),
        (
            "bracket sell AAPL 1 limit 96 - gtc 110 90",
            ReasonCode::BadPrice,
        ),
        (
            "bracket buy AAPL 1 limit 96 - ioc 110 90",
            ReasonCode::BadArguments,
        ),
        (
            "bracket buy AAPL 1 limit 96 - gtc 110 -",
            ReasonCode::BadPrice,
        ),
        ("oto buy AAPL 1 limit 96 - gtc 110 90", ReasonCode::BadPrice),
        (
            "oco sell AAPL 1 limit 96 - gtc 110 90",
            ReasonCode::BadArguments,
        ),
        (
            "triangle buy AAPL 1 limit 96 - gtc 110 90",
            ReasonCode::BadArguments,
        ),
    ] {
        let (i, a) = class(&mut t, words);
        assert_eq!((i, code_of(&a)), (Instr::OrderFail, want), "{words}: {a:?}");
    }
    // A cancelled OTO takes its held leg along.
    let (i, a) = class(&mut t, "oto buy AAPL 1 limit 50 - gtc - 40");
    assert_eq!(i, Instr::OrderAccepted, "{a:?}");
    let oto = a[0].clone();
    let (i, a) = t.w.request(Instr::CancelOrder, &[&session, &oto]);
    assert_eq!(i, Instr::CancelSuccess, "{a:?}");
    let cancelled = t
        .orders()
        .iter()
        .filter(|o| o.status == OrderStatus::Cancelled)
        .count();
    assert_eq!(cancelled, 2, "the entry and its leg");

    t.wait_status(&entry, OrderStatus::Filled, Duration::from_secs(30));
    t.wait_status(&take_profit, OrderStatus::Open, Duration::from_secs(5));
    let filled = t.wait_status(&take_profit, OrderStatus::Filled, Duration::from_secs(20));
    assert_eq!(filled_price(&mut t, &filled), money("111"));
    assert_eq!(t.order(&stop_loss).status, OrderStatus::Cancelled);
    assert!(
        t.portfolio().is_empty(),
        "bought 2, sold 2: {}",
        t.portfolio()
    );

    // An OCO on a holding: the take-profit and the stop-loss are both open.
    let (i, a) = t.w.request(Instr::PurchaseAsset, &[&session, "AAPL", "3"]);
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
    let (i, a) = class(&mut t, "oco sell AAPL 3 - - - gtc 200 50");
    assert_eq!(i, Instr::OrderAccepted, "{a:?}");
    let oco = a[0].clone();
    let both: Vec<OrderLine> = t
        .orders()
        .into_iter()
        .filter(|o| o.id.to_string() == oco || o.parent.map(|p| p.to_string()) == Some(oco.clone()))
        .collect();
    assert_eq!(both.len(), 2);
    assert!(
        both.iter().all(|o| o.status == OrderStatus::Open),
        "{both:?}"
    );
    // Cancelling its stop-loss cancels the whole OCO.
    let leg = both
        .iter()
        .find(|o| o.parent.is_some())
        .expect("leg")
        .id
        .to_string();
    let (i, a) = t.w.request(Instr::CancelOrder, &[&session, &leg]);
    assert_eq!(i, Instr::CancelSuccess, "{a:?}");
    assert_eq!(t.order(&oco).status, OrderStatus::Cancelled);
    audit_clean(&setup);
}

#[test]
fn orders_of_every_kind_survive_kill_9() {
    let dir = TempDir::new("orders-crash-all");
    // 100 for 12 s, 45 (entries and stops fill), 61 (take-profits fill),
    // then 220: the short of 600 at 100 is under its maintenance margin.
    let aapl = hold("100.0000", 12, &["45.0000", "61.0000", "220.0000"]);
    let setup = MasterSetup::new("orders-crash-all");
    let extra = format!(
        "fee_per_order = 1\nmax_open_orders = 1000\n{}",
        market(&dir, &[("AAPL", &aapl)])
    );
    let mut master = setup.start(&extra);
    let mut t = Trader::register(&setup, &master, "kim");
    t.wait_price("AAPL");
    let session = t.session.clone();
    let shorter = t.another("lou");
    let (i, a) = t.w.request(Instr::SellAsset, &[&shorter, "AAPL", "600"]);
    assert_eq!(i, Instr::SellSuccess, "a short: {a:?}");
    let (i, a) =
        t.w.request(Instr::PurchaseAsset, &[&session, "AAPL", "100"]);
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");

    // Pipelined without reading, killed in the middle: brackets, trailing
    // stops, limit orders and market buys.
    for _ in 0..100 {
        t.w.send_request(
            Instr::PlaceOrderClass,
            &[
                &session, "bracket", "buy", "AAPL", "1", "limit", "50", "-", "gtc", "60", "40",
            ],
        );
        t.w.send_request(
            Instr::PlaceOrder,
            &[
                &session,
                "sell",
                "AAPL",
                "1",
                "trailing-stop",
                "-",
                "5%",
                "gtc",
            ],
        );
        t.w.send_request(Instr::PurchaseAsset, &[&session, "AAPL", "1"]);
    }
    let (mut acked, mut fills) = (HashSet::new(), HashSet::new());
    let until = Instant::now() + Duration::from_millis(400);
    while Instant::now() < until {
        if let Some(f) = t.w.peer.try_recv(Duration::from_millis(20)) {
            let words = util::wire::words(&f);
            match util::wire::instr(&f) {
                Instr::OrderAccepted => {
                    acked.insert(words[1].clone());
                }
                Instr::PurchaseSuccess => {
                    fills.insert(words[1].clone());
                }
                _ => {}
            }
        }
    }
    master.kill9();
    let master = setup.start(&extra);
    t.relink(&setup, &master);
    let orders = t.orders();
    let listed: HashSet<String> = orders.iter().map(|o| o.id.to_string()).collect();
    let lost: Vec<&String> = acked.difference(&listed).collect();
    assert!(lost.is_empty(), "accepted orders lost: {lost:?}");
    let history = t.history();
    let txids: HashSet<String> = history
        .lines()
        .filter_map(|l| l.split(' ').next().map(String::from))
        .collect();
    let lost: Vec<&String> = fills.difference(&txids).collect();
    assert!(lost.is_empty(), "acknowledged fills lost: {lost:?}");
    // Every fill paid its commission.
    let buys = history.lines().filter(|l| l.contains(" buy ")).count();
    let fees = history.lines().filter(|l| l.contains(" fee ")).count();
    assert_eq!(buys, fees, "{history}");

    // The series plays on: the brackets' entries fill at 45, their
    // take-profits at 61, which cancels their stop-losses; the short is
    // covered at 220.
    let entries: Vec<String> = orders
        .iter()
        .filter(|o| o.class.is_some() && o.parent.is_none())
        .map(|o| o.id.to_string())
        .collect();
    assert!(
        !entries.is_empty(),
        "some brackets were accepted before the kill"
    );
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let now = t.orders();
        let done = entries.iter().all(|e| {
            let legs: Vec<&OrderLine> = now
                .iter()
                .filter(|o| o.parent.map(|p| p.to_string()).as_ref() == Some(e))
                .collect();
            legs.len() == 2
                && legs
                    .iter()
                    .filter(|l| l.status == OrderStatus::Filled)
                    .count()
                    == 1
                && legs
                    .iter()
                    .filter(|l| l.status == OrderStatus::Cancelled)
                    .count()
                    == 1
        });
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "brackets not done: {now:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let (i, a) = t.w.request(Instr::SwitchState, &[&shorter, "data"]);
    assert_eq!(i, Instr::StateSwitchSuccess, "{a:?}");
    loop {
        let text = t
            .data(Instr::GetUserTransactionHistory, &[&shorter, "lou"])
            .expect("history");
        if text.contains(" liquidation AAPL ") {
            break;
        }
        assert!(Instant::now() < deadline, "no liquidation: {text}");
        std::thread::sleep(Duration::from_millis(200));
    }
    audit_clean(&setup);
}
