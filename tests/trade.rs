//! Trading end to end (PROTOCOL.md section 9): real daemons, a CSV price
//! source for known prices, orders through workers, the portfolio and
//! history views, ptctl audit, ordering across workers, and crashes.

mod util;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use papertrader_common::value::Money;
use papertrader_common::{Instr, ReasonCode};
use util::daemon::TempDir;
use util::master::{FAST_ARGON2, MasterSetup, TestWorker, hashed_pass};
use util::system::{System, call, call_data};
use util::wire::Peer;

fn code_of(args: &[String]) -> ReasonCode {
    let reason = args.last().expect("a reason");
    ReasonCode::parse(reason.split(' ').next().expect("a code")).expect("known code")
}

/// Master config lines for a CSV feed of AAPL and MSFT cycling through
/// `prices` (one bar per interval, 600 bars), one price set a second.
fn csv_market(dir: &TempDir, prices: &[&str]) -> String {
    csv_market_every(dir, prices, "1s")
}

fn csv_market_every(dir: &TempDir, prices: &[&str], interval: &str) -> String {
    let mut csv = String::from("Symbol,Date,Time,Open,High,Low,Close,Volume\n");
    for i in 0..600 {
        let p = prices[i % prices.len()];
        for symbol in ["AAPL", "MSFT"] {
            csv.push_str(&format!(
                "{symbol},2026-11-20,10:00:00,{p},{p},{p},{p},1000\n"
            ));
        }
    }
    std::fs::write(dir.join("bars.csv"), csv).expect("csv");
    std::fs::write(
        dir.join("assets.list"),
        "AAPL Apple Inc.\nMSFT Microsoft Corporation\n",
    )
    .expect("assets");
    format!(
        "price_source = csv\ncsv_file = {}\nassets_file = {}\nupdate_interval = {interval}\n",
        dir.join("bars.csv").display(),
        dir.join("assets.list").display()
    )
}

/// Registers and logs in `user` on `c`; returns the session.
fn login(c: &mut Peer, user: &str) -> String {
    let pass = hashed_pass(user, "pw");
    assert_eq!(
        call(c, Instr::Register, &[user, "t@example.com", &pass]).0,
        Instr::RegisterSuccess
    );
    let (i, a) = call(c, Instr::Login, &[user, &pass, "false"]);
    assert_eq!(i, Instr::SessionId);
    a[0].clone()
}

/// `KEY VALUE` lines of getUserInfo, in data state and back.
fn info(c: &mut Peer, session: &str, user: &str) -> Vec<(String, String)> {
    assert_eq!(
        call(c, Instr::SwitchState, &[session, "data"]).0,
        Instr::StateSwitchSuccess
    );
    let payload = call_data(c, Instr::GetUserInfo, &[session, user]).expect("user info");
    assert_eq!(
        call(c, Instr::SwitchState, &[session, "command"]).0,
        Instr::StateSwitchSuccess
    );
    String::from_utf8(payload)
        .expect("text")
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').expect("KEY VALUE");
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn value(lines: &[(String, String)], key: &str) -> String {
    lines
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn data_text(c: &mut Peer, session: &str, instr: Instr, user: &str) -> Result<String, ReasonCode> {
    assert_eq!(
        call(c, Instr::SwitchState, &[session, "data"]).0,
        Instr::StateSwitchSuccess
    );
    let answer = call_data(c, instr, &[session, user]);
    assert_eq!(
        call(c, Instr::SwitchState, &[session, "command"]).0,
        Instr::StateSwitchSuccess
    );
    answer
        .map(|p| String::from_utf8(p).expect("text"))
        .map_err(|(_, a)| code_of(&a))
}

fn money(text: &str) -> Money {
    Money::parse(text).expect("money")
}

#[test]
fn buy_sell_cash_average_cost_and_refusals() {
    let dir = TempDir::new("trade");
    let market = csv_market(&dir, &["100.0000", "101.5000", "99.2500", "100.1234"]);
    // Without short selling: a sale needs the shares.
    let system = System::start("trade", &format!("short_selling = no\n{market}"), "");
    let mut c = system.client();
    let s = login(&mut c, "alice");

    let (i, a) = call(&mut c, Instr::PurchaseAsset, &[&s, "aapl", "10"]);
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
    assert_eq!(
        (a[1].as_str(), a[2].as_str()),
        ("AAPL", "10"),
        "txid symbol quantity price time"
    );
    let p1 = money(&a[3]);
    let (i, a) = call(&mut c, Instr::PurchaseAsset, &[&s, "AAPL", "5"]);
    assert_eq!(i, Instr::PurchaseSuccess);
    let p2 = money(&a[3]);
    let cost = p1.0 * 10 + p2.0 * 5;
    let cash_after_buys = 1_000_000_000 - cost;
    assert_eq!(
        money(&value(&info(&mut c, &s, "alice"), "cash")).0,
        cash_after_buys,
        "exact cash"
    );

    let portfolio = data_text(&mut c, &s, Instr::GetUserPortfolio, "alice").expect("portfolio");
    let f: Vec<&str> = portfolio.trim_end().split(' ').collect();
    assert_eq!((f[0], f[1]), ("AAPL", "15"), "{portfolio}");
    let avg = (2 * cost + 15) / 30; // cost / 15 rounded half away from zero
    assert_eq!(money(f[2]).0, avg, "average cost: {portfolio}");
    assert_eq!(
        money(f[4]).0,
        money(f[3]).0 * 15,
        "value = price x quantity"
    );

    let (i, a) = call(&mut c, Instr::SellAsset, &[&s, "AAPL", "4"]);
    assert_eq!(i, Instr::SellSuccess, "{a:?}");
    let p3 = money(&a[3]);
    let info_lines = info(&mut c, &s, "alice");
    assert_eq!(
        money(&value(&info_lines, "cash")).0,
        cash_after_buys + p3.0 * 4
    );
    let keys: Vec<&str> = info_lines.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["username", "email", "created", "cash", "equity"]);

    let (i, a) = call(&mut c, Instr::SellAsset, &[&s, "AAPL", "12"]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::SellFail, ReasonCode::InsufficientShares),
        "more than held"
    );
    let (i, a) = call(&mut c, Instr::SellAsset, &[&s, "MSFT", "1"]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::SellFail, ReasonCode::InsufficientShares),
        "never held"
    );
    let (i, a) = call(&mut c, Instr::PurchaseAsset, &[&s, "MSFT", "100000000"]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::PurchaseFail, ReasonCode::InsufficientFunds)
    );
    assert!(
        a[0].contains("cash") && a[0].matches('.').count() >= 2,
        "amounts in the text: {a:?}"
    );
    for bad in ["0", "1000000001"] {
        let (i, a) = call(&mut c, Instr::PurchaseAsset, &[&s, "AAPL", bad]);
        assert_eq!(
            (i, code_of(&a)),
            (Instr::PurchaseFail, ReasonCode::BadQuantity),
            "{bad}"
        );
    }
    let (i, a) = call(&mut c, Instr::PurchaseAsset, &[&s, "ZZZZ", "1"]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::PurchaseFail, ReasonCode::UnknownAsset)
    );
    let (i, a) = call(
        &mut c,
        Instr::SellAsset,
        &["0f1e2d3c4b5a69788796a5b4c3d2e1f0", "AAPL", "1"],
    );
    assert_eq!((i, code_of(&a)), (Instr::SellFail, ReasonCode::BadSession));

    let history =
        data_text(&mut c, &s, Instr::GetUserTransactionHistory, "alice").expect("history");
    let sides: Vec<&str> = history
        .lines()
        .map(|l| l.split(' ').nth(2).expect("SIDE"))
        .collect();
    assert_eq!(
        sides,
        ["buy", "buy", "sell"],
        "oldest first, refusals not recorded"
    );

    // Another user sees the public views only.
    let mut other = system.client();
    let s2 = login(&mut other, "bob");
    let public = info(&mut other, &s2, "ALICE");
    let keys: Vec<&str> = public.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["username", "created"]);
    let portfolio = data_text(&mut other, &s2, Instr::GetUserPortfolio, "alice").expect("public");
    assert_eq!(portfolio, "AAPL 11\n");
    let err =
        data_text(&mut other, &s2, Instr::GetUserTransactionHistory, "alice").expect_err("private");
    assert_eq!(err, ReasonCode::Forbidden);
    let err = data_text(&mut other, &s2, Instr::GetUserInfo, "nobody").expect_err("unknown");
    assert_eq!(err, ReasonCode::UnknownUser);
}

#[test]
fn ten_connections_race_for_the_same_cash() {
    let dir = TempDir::new("race");
    let system = System::start("race", &csv_market(&dir, &["100.0000"]), "");
    let mut first = system.client();
    let s = login(&mut first, "carol");
    let mut conns: Vec<Peer> = (0..10).map(|_| system.client()).collect();
    // Each order is 150 x 100.0000 = 15% of the 100000.0000 starting cash.
    for c in &mut conns {
        c.send(&papertrader_common::message::frame(
            Instr::PurchaseAsset,
            &[s.as_str(), "AAPL", "150"],
        ));
    }
    let mut filled = 0;
    for c in &mut conns {
        let answer = c.recv();
        match util::wire::instr(&answer) {
            Instr::PurchaseSuccess => filled += 1,
            Instr::PurchaseFail => {
                assert_eq!(
                    code_of(&util::wire::words(&answer)),
                    ReasonCode::InsufficientFunds
                )
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(filled, 6, "exactly six fit");
    assert_eq!(value(&info(&mut first, &s, "carol"), "cash"), "10000.0000");
    let sock = system.setup.control_socket();
    let out = util::run("ptctl", &["-s", sock.to_str().expect("path"), "audit"], b"");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        util::stdout(&out),
        util::stderr(&out)
    );
    assert!(util::stdout(&out).contains("audit clean"));
    let sock = sock.to_str().expect("path");
    let out = util::run("ptctl", &["-s", sock, "account", "Carol"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", util::stderr(&out));
    let text = util::stdout(&out);
    assert!(text.contains("cash 10000.0000"), "{text}");
    assert!(text.contains("position AAPL 900 "), "{text}");
    assert!(text.contains("transactions 6"), "{text}");
    let out = util::run("ptctl", &["-s", sock, "account", "nobody"], b"");
    assert_eq!(out.status.code(), Some(70));
    assert!(
        util::stderr(&out).contains("nobody"),
        "{}",
        util::stderr(&out)
    );
}

/// A master with workers w1 and w2 linked by test harness links, a fixed
/// price, and one registered, logged-in account.
fn two_workers(
    tag: &str,
    interval: &str,
) -> (
    MasterSetup,
    util::daemon::Daemon,
    TestWorker,
    TestWorker,
    String,
    TempDir,
) {
    let dir = TempDir::new(tag);
    let mut setup = MasterSetup::new(tag);
    setup.add_worker("w2");
    setup.write_workers_list(&[(0, "127.0.0.1"), (1, "127.0.0.1")]);
    let market = csv_market_every(&dir, &["100.0000"], interval);
    let master = setup.start(&format!("{FAST_ARGON2}{market}"));
    let mut w1 = setup.link(master.addr, 0).expect("w1");
    let w2 = setup.link(master.addr, 1).expect("w2");
    let pass = hashed_pass("dan", "pw");
    assert_eq!(
        w1.request(Instr::Register, &["dan", "d@example.com", &pass])
            .0,
        Instr::RegisterSuccess
    );
    let (_, a) = w1.request(Instr::Login, &["dan", &pass, "false"]);
    (setup, master, w1, w2, a[0].clone(), dir)
}

#[test]
fn orders_from_two_workers_fill_in_timestamp_order() {
    let (_setup, _master, mut w1, mut w2, s, _dir) = two_workers("order", "1s");
    // Each is 60% of the cash: only the one stamped earlier can fill, and
    // it reaches the master second.
    let late = w1.send_request_at(Instr::PurchaseAsset, &[&s, "AAPL", "600"], 2_000);
    let early = w2.send_request_at(Instr::PurchaseAsset, &[&s, "AAPL", "600"], 1_000);
    let (r1, i1, a1) = w1.recv_reply();
    let (r2, i2, _) = w2.recv_reply();
    assert_eq!((r1, r2), (late, early));
    assert_eq!(i2, Instr::PurchaseSuccess, "the earlier timestamp fills");
    assert_eq!(
        (i1, code_of(&a1)),
        (Instr::PurchaseFail, ReasonCode::InsufficientFunds)
    );
    // Interleaved small orders: transaction ids follow the timestamps.
    let mut sent = Vec::new();
    for (n, ts) in [(0u64, 5_400u64), (1, 5_100), (0, 5_300), (1, 5_200)] {
        let w = if n == 0 { &mut w1 } else { &mut w2 };
        sent.push((
            ts,
            n,
            w.send_request_at(Instr::PurchaseAsset, &[&s, "MSFT", "1"], ts),
        ));
    }
    let mut fills = Vec::new();
    for n in [0, 0, 1, 1] {
        let w = if n == 0 { &mut w1 } else { &mut w2 };
        let (reqid, i, a) = w.recv_reply();
        assert_eq!(i, Instr::PurchaseSuccess);
        let ts = sent
            .iter()
            .find(|(_, k, r)| *k == n && *r == reqid)
            .expect("sent")
            .0;
        fills.push((ts, a[0].parse::<i64>().expect("txid")));
    }
    fills.sort();
    assert!(
        fills.windows(2).all(|w| w[0].1 < w[1].1),
        "txids in timestamp order: {fills:?}"
    );
}

#[test]
fn graceful_stop_answers_queued_orders_unavailable() {
    let (_setup, mut master, mut w1, _w2, s, _dir) = two_workers("gstop", "60s");
    // The first price set ran at start; these wait a minute for the next.
    std::thread::sleep(Duration::from_millis(500));
    let reqids: Vec<u64> = (0..5)
        .map(|_| w1.send_request(Instr::PurchaseAsset, &[&s, "AAPL", "1"]))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    master.signal(libc::SIGTERM);
    for _ in &reqids {
        let (reqid, i, a) = w1.recv_reply();
        assert!(reqids.contains(&reqid));
        assert_eq!(
            (i, code_of(&a)),
            (Instr::PurchaseFail, ReasonCode::Unavailable),
            "{a:?}"
        );
    }
    assert!(
        master
            .wait_exit(Duration::from_secs(5))
            .expect("exits")
            .success()
    );
}

#[test]
fn kill_9_during_batches_loses_nothing_acknowledged() {
    let dir = TempDir::new("crash");
    let setup = MasterSetup::new("crash");
    // Waves of 3000 orders from one account: above the default cap.
    let extra = format!(
        "{FAST_ARGON2}starting_cash = 100000000\nmax_waiting_orders_per_account = 5000\n{}",
        csv_market(&dir, &["1.0000"])
    );
    let mut acked: HashSet<i64> = HashSet::new();
    let (mut session, user) = (String::new(), "erin");
    for round in 0..3 {
        let mut master = setup.start(&extra);
        let mut w = setup.link(master.addr, 0).expect("linked");
        let pass = hashed_pass(user, "pw");
        if round == 0 {
            assert_eq!(
                w.request(Instr::Register, &[user, "e@example.com", &pass])
                    .0,
                Instr::RegisterSuccess
            );
            session = w.request(Instr::Login, &[user, &pass, "false"]).1.remove(0);
        }
        // Wave A: wait until its batch is acknowledged.
        for _ in 0..3000 {
            w.send_request(Instr::PurchaseAsset, &[&session, "AAPL", "1"]);
        }
        for _ in 0..3000 {
            let (_, i, a) = w.recv_reply();
            assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
            acked.insert(a[0].parse().expect("txid"));
        }
        // Wave B: kill -9 somewhere in or around its batch.
        for _ in 0..3000 {
            w.send_request(Instr::PurchaseAsset, &[&session, "AAPL", "1"]);
        }
        let until = Instant::now() + Duration::from_millis(400 + 300 * round);
        while Instant::now() < until {
            let left = until.saturating_duration_since(Instant::now());
            if let Some(f) = w.peer.try_recv(left)
                && util::wire::instr(&f) == Instr::PurchaseSuccess
            {
                acked.insert(util::wire::words(&f)[1].parse().expect("txid"));
            }
        }
        master.kill9();
    }
    let master = setup.start(&extra);
    let mut w = setup.link(master.addr, 0).expect("linked");
    let reqid = w.send_request(Instr::GetUserTransactionHistory, &[&session, user]);
    let history = String::from_utf8(w.recv_data(reqid).expect("history")).expect("text");
    let stored: HashSet<i64> = history
        .lines()
        .map(|l| l.split(' ').next().expect("TXID").parse().expect("txid"))
        .collect();
    let missing: Vec<&i64> = acked.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged trades lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(acked.len() >= 9000, "three acknowledged waves at least");
    let sock = setup.control_socket();
    let out = util::run("ptctl", &["-s", sock.to_str().expect("path"), "audit"], b"");
    assert_eq!(
        out.status.code(),
        Some(0),
        "audit clean: {}",
        util::stdout(&out)
    );
}

#[test]
fn an_order_whose_price_never_comes_is_refused_not_left_hanging() {
    let dir = TempDir::new("noprice");
    // MSFT is listed but the feed only ever prices AAPL.
    let mut csv = String::from("Symbol,Date,Time,Open,High,Low,Close,Volume\n");
    for _ in 0..100 {
        csv.push_str("AAPL,2026-11-20,10:00:00,100,100,100,100,1000\n");
    }
    std::fs::write(dir.join("bars.csv"), csv).expect("csv");
    std::fs::write(
        dir.join("assets.list"),
        "AAPL Apple Inc.\nMSFT Microsoft Corporation\n",
    )
    .expect("assets");
    let market = format!(
        "price_source = csv\ncsv_file = {}\nassets_file = {}\nupdate_interval = 1s\n",
        dir.join("bars.csv").display(),
        dir.join("assets.list").display()
    );
    let system = System::start("noprice", &market, "");
    let mut c = system.client();
    let s = login(&mut c, "gus");
    let start = Instant::now();
    c.send(&papertrader_common::message::frame(
        Instr::PurchaseAsset,
        &[s.as_str(), "MSFT", "1"],
    ));
    let answer = c
        .try_recv(Duration::from_secs(25))
        .expect("answered within 25 s");
    let (i, a) = (util::wire::instr(&answer), util::wire::words(&answer));
    assert_eq!(
        (i, code_of(&a)),
        (Instr::PurchaseFail, ReasonCode::Unavailable),
        "{a:?}"
    );
    assert!(a[0].contains("no price for MSFT"), "{a:?}");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "refused after about ten updates"
    );
    assert_eq!(
        call(&mut c, Instr::PurchaseAsset, &[&s, "AAPL", "1"]).0,
        Instr::PurchaseSuccess
    );
}

#[test]
fn shorts_open_cover_and_are_liquidated_through_a_worker() {
    let dir = TempDir::new("shorts");
    // 100 for 10 s, then 300 for the rest of the 600 bars.
    let mut prices = vec!["100.0000"; 10];
    prices.extend(vec!["300.0000"; 590]);
    let system = System::start("shorts", &csv_market(&dir, &prices), "");
    let mut c = system.client();
    let s = login(&mut c, "sid");
    let b = login(&mut c, "bea");

    // Selling what is not held opens a short: cash up by the proceeds,
    // the position below 0 at its price.
    let (i, a) = call(&mut c, Instr::SellAsset, &[&s, "AAPL", "10"]);
    assert_eq!(i, Instr::SellSuccess, "{a:?}");
    assert_eq!(a[2], "10", "{a:?}");
    let cash = value(&info(&mut c, &s, "sid"), "cash");
    assert_eq!(cash, "101000.0000");
    let portfolio = data_text(&mut c, &s, Instr::GetUserPortfolio, "sid").expect("portfolio");
    assert_eq!(
        portfolio.lines().next(),
        Some("AAPL -10 100.0000 100.0000 -1000.0000"),
        "{portfolio}"
    );
    // Covered by a buy; then beyond the margin: 100,000 of cash shorts at
    // most 200,000 worth (150% held back).
    let (i, a) = call(&mut c, Instr::PurchaseAsset, &[&s, "AAPL", "10"]);
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
    let (i, a) = call(&mut c, Instr::SellAsset, &[&s, "MSFT", "2001"]);
    assert_eq!(
        (i, code_of(&a)),
        (Instr::SellFail, ReasonCode::InsufficientFunds),
        "{a:?}"
    );
    assert!(a[0].contains("margin"), "{a:?}");
    // A short order rests like any sale, once its margin is there: it is
    // checked on arrival at its limit, not only when it fills.
    let (i, a) = call(
        &mut c,
        Instr::PlaceOrder,
        &[&s, "sell", "MSFT", "5", "limit", "1000", "-", "gtc"],
    );
    assert_eq!(i, Instr::OrderAccepted, "{a:?}");
    let (i, a) = call(
        &mut c,
        Instr::PlaceOrder,
        &[&s, "sell", "MSFT", "196", "limit", "1000", "-", "gtc"],
    );
    assert_eq!(
        (i, code_of(&a)),
        (Instr::OrderFail, ReasonCode::InsufficientFunds),
        "5 + 196 at 1000 is beyond 200,000 of shorts: {a:?}"
    );
    assert!(a[0].contains("margin: "), "{a:?}");

    // bea shorts 600 at 100 (cash 160,000); at 300 her equity is below
    // 30% of the shorts' 180,000: the master covers what her cash buys.
    let (i, a) = call(&mut c, Instr::SellAsset, &[&b, "AAPL", "600"]);
    assert_eq!(i, Instr::SellSuccess, "{a:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let history = loop {
        let history =
            data_text(&mut c, &b, Instr::GetUserTransactionHistory, "bea").expect("history");
        if history.contains(" liquidation ") {
            break history;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no liquidation: {history}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let line = history
        .lines()
        .find(|l| l.contains(" liquidation "))
        .expect("line");
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(&words[2..4], ["liquidation", "AAPL"], "{line}");
    assert_eq!(words[5], "300.0000", "{line}");
    // 160,000 / 300 = 533.333333333 shares (CSV assets trade in fractions).
    assert_eq!(words[4], "533.333333333", "{line}");
    let info = info(&mut c, &b, "bea");
    assert_eq!(value(&info, "cash"), "0.0000", "{info:?}");
    assert_eq!(value(&info, "equity"), "-20000.0000", "{info:?}");
    let portfolio = data_text(&mut c, &b, Instr::GetUserPortfolio, "bea").expect("portfolio");
    assert!(portfolio.starts_with("AAPL -66.666666667 "), "{portfolio}");

    let sock = system.setup.control_socket();
    let out = util::run("ptctl", &["-s", sock.to_str().expect("path"), "audit"], b"");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        util::stdout(&out),
        util::stderr(&out)
    );
}

#[test]
fn commissions_and_slippage_are_lines_of_their_own() {
    let dir = TempDir::new("fees");
    let conf = format!(
        "fee_per_order = 1\nfee_per_share = 0.01\nfee_percent = 0.1\nfee_minimum = 2\n\
         slippage_bps = 10\n{}",
        csv_market(&dir, &["100.0000"])
    );
    let system = System::start("fees", &conf, "");
    let mut c = system.client();
    let s = login(&mut c, "fay");
    // Buy 10 at 100 slipped 0.1% to 100.1: 1,001, and 1 + 0.10 + 1.001.
    let (i, a) = call(&mut c, Instr::PurchaseAsset, &[&s, "AAPL", "10"]);
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
    assert_eq!(a[3], "100.1000", "the fill price is slipped: {a:?}");
    assert_eq!(value(&info(&mut c, &s, "fay"), "cash"), "98996.8990");
    // Sell 10 at 99.9: 999, less 1 + 0.10 + 0.999.
    let (i, a) = call(&mut c, Instr::SellAsset, &[&s, "AAPL", "10"]);
    assert_eq!(i, Instr::SellSuccess, "{a:?}");
    assert_eq!(a[3], "99.9000", "{a:?}");
    assert_eq!(value(&info(&mut c, &s, "fay"), "cash"), "99993.8000");
    let history = data_text(&mut c, &s, Instr::GetUserTransactionHistory, "fay").expect("history");
    let sides: Vec<(&str, &str)> = history
        .lines()
        .map(|l| {
            let w: Vec<&str> = l.split(' ').collect();
            (w[2], w[5])
        })
        .collect();
    assert_eq!(
        sides,
        [
            ("buy", "100.1000"),
            ("fee", "2.1010"),
            ("sell", "99.9000"),
            ("fee", "2.0990")
        ],
        "{history}"
    );
    // A limit is never passed: a buy limited at 100 fills at 100.
    let (i, a) = call(
        &mut c,
        Instr::PlaceOrder,
        &[&s, "buy", "AAPL", "1", "limit", "100", "-", "day"],
    );
    assert_eq!(i, Instr::OrderAccepted, "{a:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let line = loop {
        let history =
            data_text(&mut c, &s, Instr::GetUserTransactionHistory, "fay").expect("history");
        if let Some(line) = history.lines().nth(4) {
            break line.to_string();
        }
        assert!(std::time::Instant::now() < deadline, "{history}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(line.ends_with(" buy AAPL 1 100.0000"), "{line}");
    let sock = system.setup.control_socket();
    let out = util::run("ptctl", &["-s", sock.to_str().expect("path"), "audit"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", util::stdout(&out));
}
