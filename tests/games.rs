//! Portfolios and competitions (protocol 1.2) against a real master and
//! worker: each portfolio's own books, the session's choice of one, API
//! keys per portfolio, the global leaderboard over first portfolios,
//! closing; competitions' rules at their limits (the window, assets,
//! order types, fractions, shorts, the position cap, late joining,
//! resets), invitation codes and their rate limit, removal, leaving,
//! standings with ties frozen at the end, the visibility of holdings,
//! and `ptctl audit` clean over every portfolio.

mod util;

use std::time::{Duration, Instant};

use papertrader_common::value::{MAX_GAME_ASSETS, Timestamp};
use papertrader_common::{Instr, ReasonCode};
use util::daemon::TempDir;
use util::master::hashed_pass;
use util::system::{System, call, code_of, data_text as data, login};
use util::wire::Peer;

/// Master config lines: AAPL and MSFT from a CSV at 100 every second, both
/// trading in fractions.
fn market(dir: &TempDir) -> String {
    let mut csv = String::from("Symbol,Date,Time,Open,High,Low,Close,Volume\n");
    for _ in 0..600 {
        for symbol in ["AAPL", "MSFT"] {
            csv.push_str(&format!(
                "{symbol},2026-11-20,10:00:00,100,100,100,100,1000\n"
            ));
        }
    }
    std::fs::write(dir.join("bars.csv"), csv).expect("csv");
    std::fs::write(
        dir.join("assets.list"),
        "AAPL fractional=yes Apple Inc.\nMSFT fractional=yes Microsoft Corporation\n",
    )
    .expect("assets");
    format!(
        "price_source = csv\ncsv_file = {}\nassets_file = {}\nupdate_interval = 1s\n",
        dir.join("bars.csv").display(),
        dir.join("assets.list").display()
    )
}

/// The failure's instruction and reason code; panics on a success.
fn refused(answer: (Instr, Vec<String>)) -> (Instr, ReasonCode) {
    assert!(answer.0.is_failure(), "expected a refusal: {answer:?}");
    (answer.0, code_of(&answer.1))
}

/// `getPortfolios` as `(id, status, in use, game, cash, name)`.
fn portfolios(c: &mut Peer, s: &str) -> Vec<(String, String, String, String, String, String)> {
    let text = data(c, s, Instr::GetPortfolios, &[s]).expect("portfolios");
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            assert_eq!(f.len(), 7, "{l}");
            let own = |i: usize| f[i].to_string();
            (own(0), own(1), own(2), own(3), own(4), own(6))
        })
        .collect()
}

/// The user's cash as `getUserInfo` of their own name shows it.
fn cash(c: &mut Peer, s: &str, user: &str) -> String {
    let text = data(c, s, Instr::GetUserInfo, &[s, user]).expect("info");
    text.lines()
        .find_map(|l| l.strip_prefix("cash "))
        .expect("a cash line")
        .to_string()
}

fn updated(id: &str, name: &str) -> (Instr, Vec<String>) {
    (Instr::PortfolioUpdated, vec![id.into(), name.into()])
}

/// Waits for the first price set, so that market orders fill.
fn wait_for_prices(c: &mut Peer, s: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while data(c, s, Instr::GetAssetValueCurrent, &["AAPL"]).is_err() {
        assert!(Instant::now() < deadline, "no price came");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn audit_clean(system: &System) {
    let sock = system.setup.control_socket();
    let out = util::run("ptctl", &["-s", sock.to_str().expect("path"), "audit"], b"");
    assert!(
        util::stdout(&out).contains("audit clean"),
        "{}{}",
        util::stdout(&out),
        util::stderr(&out)
    );
}

#[test]
fn portfolios_keep_their_own_books() {
    let dir = TempDir::new("portfolios");
    let system = System::start("portfolios", &market(&dir), "");
    let mut c = system.client();
    let s = login(&mut c, "alice");
    wait_for_prices(&mut c, &s);
    let first_cash = cash(&mut c, &s, "alice");

    assert_eq!(
        call(&mut c, Instr::CreatePortfolio, &[&s, "-", "swing"]),
        updated("2", "swing")
    );
    assert_eq!(
        call(&mut c, Instr::CreatePortfolio, &[&s, "5000", "bot"]),
        updated("3", "bot")
    );
    assert_eq!(
        refused(call(&mut c, Instr::CreatePortfolio, &[&s, "-", "swing"])),
        (Instr::PortfolioFail, ReasonCode::PortfolioExists)
    );
    assert_eq!(
        refused(call(&mut c, Instr::CreatePortfolio, &[&s, "0", "empty"])),
        (Instr::PortfolioFail, ReasonCode::BadArguments)
    );
    let listed = portfolios(&mut c, &s);
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0].5, "main");
    assert_eq!((listed[0].2.as_str(), listed[2].2.as_str()), ("yes", "no"));
    assert_eq!(listed[2].4, "5000.0000");

    // Trading in portfolio 3 leaves the first alone.
    assert_eq!(
        call(&mut c, Instr::UsePortfolio, &[&s, "3"]),
        updated("3", "bot")
    );
    let (i, a) = call(&mut c, Instr::PurchaseAsset, &[&s, "AAPL", "10"]);
    assert_eq!(i, Instr::PurchaseSuccess, "{a:?}");
    assert_eq!(cash(&mut c, &s, "alice"), "4000.0000");
    let listed = portfolios(&mut c, &s);
    assert_eq!(
        (listed[2].2.as_str(), listed[2].4.as_str()),
        ("yes", "4000.0000")
    );
    assert_eq!(listed[0].4, first_cash);

    // A second login sees alice's first portfolio, and the leaderboard
    // ranks first portfolios only.
    let mut b = system.client();
    let bob = login(&mut b, "bob");
    assert_eq!(
        data(&mut b, &bob, Instr::GetUserPortfolio, &[&bob, "alice"]).expect("public"),
        ""
    );
    let board = data(&mut b, &bob, Instr::GetLeaderboard, &[]).expect("leaderboard");
    assert_eq!(
        board.lines().filter(|l| l.contains(" alice ")).count(),
        1,
        "{board}"
    );
    assert_eq!(board.lines().count(), 2, "{board}");

    // Closing: not with an open order, never the first.
    let (i, a) = call(
        &mut c,
        Instr::PlaceOrder,
        &[&s, "buy", "AAPL", "1", "limit", "50", "-", "gtc"],
    );
    assert_eq!(i, Instr::OrderAccepted, "{a:?}");
    assert_eq!(
        refused(call(&mut c, Instr::ClosePortfolio, &[&s, "3"])),
        (Instr::PortfolioFail, ReasonCode::PortfolioBusy)
    );
    assert_eq!(
        call(&mut c, Instr::CancelOrder, &[&s, &a[0]]).0,
        Instr::CancelSuccess
    );
    assert_eq!(
        call(&mut c, Instr::ClosePortfolio, &[&s, "3"]),
        updated("3", "bot")
    );
    let listed = portfolios(&mut c, &s);
    assert_eq!(
        (listed[2].1.as_str(), listed[0].2.as_str()),
        ("closed", "yes")
    );
    assert_eq!(
        refused(call(&mut c, Instr::UsePortfolio, &[&s, "3"])),
        (Instr::PortfolioFail, ReasonCode::UnknownPortfolio)
    );
    assert_eq!(
        refused(call(&mut c, Instr::ClosePortfolio, &[&s, "1"])),
        (Instr::PortfolioFail, ReasonCode::Forbidden)
    );
    assert_eq!(
        refused(call(&mut c, Instr::RenamePortfolio, &[&s, "9", "x"])),
        (Instr::PortfolioFail, ReasonCode::UnknownPortfolio)
    );
    // A closed portfolio's name is free again.
    assert_eq!(
        call(&mut c, Instr::RenamePortfolio, &[&s, "2", "bot"]),
        updated("2", "bot")
    );

    // An API key made in portfolio 2 trades there, and cannot switch.
    assert_eq!(
        call(&mut c, Instr::UsePortfolio, &[&s, "2"]),
        updated("2", "bot")
    );
    let (i, key) = call(&mut c, Instr::CreateApiKey, &[&s, "bot-key"]);
    assert_eq!(i, Instr::ApiKeyCreated, "{key:?}");
    let mut k = system.client();
    let (i, a) = call(&mut k, Instr::LoginApiKey, &[&key[0], &key[1]]);
    assert_eq!(i, Instr::ApiKeySession, "{a:?}");
    let ks = a[0].clone();
    assert_eq!(
        call(&mut k, Instr::PurchaseAsset, &[&ks, "MSFT", "1"]).0,
        Instr::PurchaseSuccess
    );
    assert_eq!(
        refused(call(&mut k, Instr::UsePortfolio, &[&ks, "1"])),
        (Instr::PortfolioFail, ReasonCode::Forbidden)
    );
    assert_eq!(
        refused(call(&mut k, Instr::CreatePortfolio, &[&ks, "-", "mine"])),
        (Instr::PortfolioFail, ReasonCode::Forbidden)
    );
    let listed = portfolios(&mut c, &s);
    assert_eq!(listed[1].4, "99900.0000", "{listed:?}");
    assert_eq!(listed[0].4, first_cash);
    let keys = data(&mut c, &s, Instr::GetApiKeys, &[&s]).expect("keys");
    assert!(keys.contains(&key[0]), "{keys}");
    assert_eq!(
        call(&mut c, Instr::UsePortfolio, &[&s, "1"]),
        updated("1", "main")
    );
    assert_eq!(
        data(&mut c, &s, Instr::GetApiKeys, &[&s]).expect("keys"),
        ""
    );
    // The key's own view of its name is its portfolio.
    assert_eq!(cash(&mut k, &ks, "alice"), "99900.0000");

    // A reset starts over the portfolio in use only.
    assert_eq!(
        call(&mut c, Instr::UsePortfolio, &[&s, "2"]),
        updated("2", "bot")
    );
    let pass = hashed_pass("alice", "pw");
    let (i, a) = call(&mut c, Instr::ResetAccount, &[&s, &pass]);
    assert_eq!(i, Instr::ResetSuccess, "{a:?}");
    let listed = portfolios(&mut c, &s);
    assert_eq!(
        listed[1].4, "100000.0000",
        "portfolio 2 opened with the default"
    );
    assert_eq!(listed[0].4, first_cash);

    // A portfolio made with an amount starts over with it.
    assert_eq!(
        call(&mut c, Instr::CreatePortfolio, &[&s, "2500", "small"]),
        updated("4", "small")
    );
    assert_eq!(
        call(&mut c, Instr::UsePortfolio, &[&s, "4"]),
        updated("4", "small")
    );
    assert_eq!(
        call(&mut c, Instr::PurchaseAsset, &[&s, "AAPL", "1"]).0,
        Instr::PurchaseSuccess
    );
    let (i, a) = call(&mut c, Instr::ResetAccount, &[&s, &pass]);
    assert_eq!((i, a[0].as_str()), (Instr::ResetSuccess, "2500.0000"));

    // At most 20 open portfolios (1, 2 and 4 are open).
    for n in 3..=19 {
        let name = format!("p{n}");
        let (i, a) = call(&mut c, Instr::CreatePortfolio, &[&s, "-", &name]);
        assert_eq!(i, Instr::PortfolioUpdated, "{n}: {a:?}");
    }
    assert_eq!(
        refused(call(&mut c, Instr::CreatePortfolio, &[&s, "-", "one-more"])),
        (Instr::PortfolioFail, ReasonCode::TooManyPortfolios)
    );
    audit_clean(&system);
}

/// Unix seconds `from_now` from now.
fn at(from_now: i64) -> i64 {
    Timestamp::now().0 + from_now
}

#[test]
fn competition_rules_hold_at_their_limits() {
    let dir = TempDir::new("game-rules");
    let system = System::start("game-rules", &market(&dir), "");
    let mut a = system.client();
    let alice = login(&mut a, "alice");
    let mut b = system.client();
    let bob = login(&mut b, "bob");
    wait_for_prices(&mut a, &alice);

    let rules = |start: i64| {
        format!(
            "start={start} end={} cash=10000 assets=AAPL orders=market,limit short=no \
             fractional=no fees=none cap=50 late=no holdings=end name=Spring cup",
            at(7200)
        )
    };
    let (i, made) = call(&mut a, Instr::CreateGame, &[&alice, &rules(at(3600))]);
    assert_eq!(i, Instr::GameCreated, "{made:?}");
    let (id, code) = (made[0].clone(), made[1].clone());
    let (i, joined) = call(&mut b, Instr::JoinGame, &[&bob, &code.to_lowercase()]);
    assert_eq!(i, Instr::PortfolioUpdated, "{joined:?}");
    assert_eq!(joined[1], format!("game-{id}"));
    assert_eq!(
        refused(call(&mut b, Instr::JoinGame, &[&bob, &code])),
        (Instr::GameFail, ReasonCode::AlreadyJoined)
    );
    // Not public: its number is no way in.
    let mut d = system.client();
    let dave = login(&mut d, "dave");
    assert_eq!(
        refused(call(&mut d, Instr::JoinGame, &[&dave, &id])),
        (Instr::GameFail, ReasonCode::UnknownGame)
    );
    assert_eq!(
        data(&mut d, &dave, Instr::GetGame, &[&dave, &id]),
        Err(ReasonCode::UnknownGame)
    );

    // Before the start: no trading.
    assert_eq!(
        call(&mut b, Instr::UsePortfolio, &[&bob, &joined[0]]).0,
        Instr::PortfolioUpdated
    );
    assert_eq!(
        refused(call(&mut b, Instr::PurchaseAsset, &[&bob, "AAPL", "1"])),
        (Instr::PurchaseFail, ReasonCode::GameNotRunning)
    );
    // Only the organiser changes the rules, and only before the start.
    assert_eq!(
        refused(call(
            &mut b,
            Instr::ChangeGame,
            &[&bob, &id, &rules(at(-1))]
        )),
        (Instr::GameFail, ReasonCode::Forbidden)
    );
    assert_eq!(
        call(&mut a, Instr::ChangeGame, &[&alice, &id, &rules(at(-1))]),
        (Instr::GameUpdated, vec![id.clone()])
    );
    assert_eq!(
        refused(call(
            &mut a,
            Instr::ChangeGame,
            &[&alice, &id, &rules(at(-1))]
        )),
        (Instr::GameFail, ReasonCode::GameStarted)
    );
    // No late players.
    assert_eq!(
        refused(call(&mut d, Instr::JoinGame, &[&dave, &code])),
        (Instr::GameFail, ReasonCode::GameStarted)
    );

    let buy = |b: &mut Peer, q: &str| call(b, Instr::PurchaseAsset, &[&bob, "AAPL", q]);
    assert_eq!(
        refused(call(&mut b, Instr::PurchaseAsset, &[&bob, "MSFT", "1"])),
        (Instr::PurchaseFail, ReasonCode::GameRule)
    );
    assert_eq!(
        refused(buy(&mut b, "0.5")),
        (Instr::PurchaseFail, ReasonCode::GameRule)
    );
    assert_eq!(
        refused(call(
            &mut b,
            Instr::PurchaseNotional,
            &[&bob, "AAPL", "100"]
        )),
        (Instr::PurchaseFail, ReasonCode::GameRule)
    );
    assert_eq!(
        refused(call(&mut b, Instr::SellAsset, &[&bob, "AAPL", "1"])),
        (Instr::SellFail, ReasonCode::GameRule)
    );
    assert_eq!(
        refused(call(
            &mut b,
            Instr::PlaceOrder,
            &[&bob, "buy", "AAPL", "1", "stop", "-", "120", "gtc"]
        )),
        (Instr::OrderFail, ReasonCode::GameRule)
    );
    // The cap: half of an equity of 10000 at 100 a share is 50 shares,
    // open buys of the symbol counted as bought.
    let (i, open) = call(
        &mut b,
        Instr::PlaceOrder,
        &[&bob, "buy", "AAPL", "40", "limit", "90", "-", "gtc"],
    );
    assert_eq!(i, Instr::OrderAccepted, "{open:?}");
    assert_eq!(
        refused(buy(&mut b, "11")),
        (Instr::PurchaseFail, ReasonCode::GameRule)
    );
    assert_eq!(
        call(&mut b, Instr::CancelOrder, &[&bob, &open[0]]).0,
        Instr::CancelSuccess
    );
    let (i, f) = buy(&mut b, "50");
    assert_eq!(i, Instr::PurchaseSuccess, "{f:?}");
    assert_eq!(
        refused(buy(&mut b, "1")),
        (Instr::PurchaseFail, ReasonCode::GameRule)
    );
    // Selling what is held is no short.
    assert_eq!(
        call(&mut b, Instr::SellAsset, &[&bob, "AAPL", "1"]).0,
        Instr::SellSuccess
    );
    assert_eq!(
        refused(call(&mut b, Instr::SellAsset, &[&bob, "AAPL", "50"])),
        (Instr::SellFail, ReasonCode::GameRule)
    );
    // Sales waiting for the same price set count together: of two of 30
    // out of 49, the second would be a short.
    for _ in 0..2 {
        b.send(&papertrader_common::message::frame(
            Instr::SellAsset,
            &[&bob, "AAPL", "30"],
        ));
    }
    let first = b.recv();
    assert_eq!(util::wire::instr(&first), Instr::SellSuccess);
    let second = b.recv();
    assert_eq!(
        (
            util::wire::instr(&second),
            code_of(&util::wire::words(&second))
        ),
        (Instr::SellFail, ReasonCode::GameRule)
    );
    // An open sale of all 19 left can still be changed: the order it
    // replaces does not count against it.
    let (i, sell) = call(
        &mut b,
        Instr::PlaceOrder,
        &[&bob, "sell", "AAPL", "19", "limit", "200", "-", "gtc"],
    );
    assert_eq!(i, Instr::OrderAccepted, "{sell:?}");
    let (i, changed) = call(
        &mut b,
        Instr::ReplaceOrder,
        &[&bob, &sell[0], "=", "210", "=", "="],
    );
    assert_eq!(i, Instr::OrderAccepted, "{changed:?}");
    assert_eq!(
        call(&mut b, Instr::CancelOrder, &[&bob, &changed[0]]).0,
        Instr::CancelSuccess
    );
    // No resets in this competition.
    let pass = hashed_pass("bob", "pw");
    assert_eq!(
        refused(call(&mut b, Instr::ResetAccount, &[&bob, &pass])),
        (Instr::ResetFail, ReasonCode::GameRule)
    );

    // Holdings: one's own always, others' only after the end here.
    let own = data(&mut b, &bob, Instr::GetGameHoldings, &[&bob, &id, "bob"]).expect("own");
    assert!(own.starts_with("AAPL 19 "), "{own}");
    assert_eq!(
        data(
            &mut a,
            &alice,
            Instr::GetGameHoldings,
            &[&alice, &id, "bob"]
        ),
        Err(ReasonCode::Forbidden)
    );
    assert_eq!(
        data(
            &mut a,
            &alice,
            Instr::GetGameHoldings,
            &[&alice, &id, "dave"]
        ),
        Err(ReasonCode::UnknownUser)
    );
    let standings = data(&mut a, &alice, Instr::GetStandings, &[&alice, &id]).expect("standings");
    assert_eq!(standings, "1 bob 0.00\n");
    let detail = data(&mut a, &alice, Instr::GetGame, &[&alice, &id]).expect("game");
    assert!(
        detail.contains(&format!(" running alice 1 {code} ")),
        "{detail}"
    );
    let seen = data(&mut b, &bob, Instr::GetGame, &[&bob, &id]).expect("game");
    assert!(
        seen.contains(" running alice 1 - "),
        "the code is the organiser's: {seen}"
    );

    // Removal: bob's open order ends, his trades are refused, he leaves the
    // standings and cannot come back.
    let (i, order) = call(
        &mut b,
        Instr::PlaceOrder,
        &[&bob, "buy", "AAPL", "1", "limit", "50", "-", "gtc"],
    );
    assert_eq!(i, Instr::OrderAccepted, "{order:?}");
    assert_eq!(
        refused(call(&mut b, Instr::RemovePlayer, &[&bob, &id, "bob"])),
        (Instr::GameFail, ReasonCode::Forbidden)
    );
    assert_eq!(
        call(&mut a, Instr::RemovePlayer, &[&alice, &id, "BOB"]),
        (Instr::GameUpdated, vec![id.clone()])
    );
    assert_eq!(
        refused(call(&mut a, Instr::RemovePlayer, &[&alice, &id, "bob"])),
        (Instr::GameFail, ReasonCode::UnknownUser)
    );
    // His session went back to his first portfolio; choosing the removed
    // one again shows it but trades nothing.
    let listed = portfolios(&mut b, &bob);
    assert_eq!(
        (listed[1].1.as_str(), listed[0].2.as_str()),
        ("removed", "yes")
    );
    assert_eq!(
        call(&mut b, Instr::UsePortfolio, &[&bob, &joined[0]]).0,
        Instr::PortfolioUpdated
    );
    assert_eq!(
        refused(buy(&mut b, "1")),
        (Instr::PurchaseFail, ReasonCode::NotAPlayer)
    );
    assert_eq!(
        refused(call(&mut b, Instr::ClosePortfolio, &[&bob, &joined[0]])),
        (Instr::PortfolioFail, ReasonCode::Forbidden)
    );
    let orders = data(&mut b, &bob, Instr::GetOrders, &[&bob]).expect("orders");
    assert!(
        orders
            .lines()
            .any(|l| l.starts_with(&format!("{} ", order[0])) && l.contains("cancelled")),
        "{orders}"
    );
    assert_eq!(
        data(&mut a, &alice, Instr::GetStandings, &[&alice, &id]).expect("standings"),
        ""
    );
    assert_eq!(
        refused(call(&mut b, Instr::JoinGame, &[&bob, &code])),
        (Instr::GameFail, ReasonCode::AlreadyJoined)
    );
    // A new code: the old one stops working.
    let (i, renewed) = call(&mut a, Instr::NewGameCode, &[&alice, &id]);
    assert_eq!(i, Instr::GameCreated, "{renewed:?}");
    assert_ne!(renewed[1], code);
    audit_clean(&system);
}

#[test]
fn a_competition_ends_with_frozen_standings_and_open_holdings() {
    let dir = TempDir::new("game-end");
    let system = System::start("game-end", &market(&dir), "");
    let mut a = system.client();
    let alice = login(&mut a, "alice");
    wait_for_prices(&mut a, &alice);
    let end = at(6);
    let rules = format!(
        "start={} end={end} cash=10000 holdings=end resets=yes public=yes name=Quick one",
        at(-10)
    );
    let (i, made) = call(&mut a, Instr::CreateGame, &[&alice, &rules]);
    assert_eq!(i, Instr::GameCreated, "{made:?}");
    let id = made[0].clone();
    let mut players = Vec::new();
    for name in ["Zed", "bob", "carol"] {
        let mut p = system.client();
        let s = login(&mut p, name);
        // Public: joined by its number, listed for everyone.
        let games = data(&mut p, &s, Instr::GetGames, &[&s]).expect("games");
        assert!(games.contains(&format!("{id} running - ")), "{games}");
        let (i, joined) = call(&mut p, Instr::JoinGame, &[&s, &id]);
        assert_eq!(i, Instr::PortfolioUpdated, "{joined:?}");
        assert_eq!(
            call(&mut p, Instr::UsePortfolio, &[&s, &joined[0]]).0,
            Instr::PortfolioUpdated
        );
        players.push((p, s));
    }
    // carol trades and resets (allowed here); at one price every return
    // is 0: a three-way tie, ordered by lower-case name.
    {
        let (p, s) = &mut players[2];
        assert_eq!(
            call(p, Instr::PurchaseAsset, &[s, "AAPL", "2.5"]).0,
            Instr::PurchaseSuccess
        );
        let pass = hashed_pass("carol", "pw");
        let (i, r) = call(p, Instr::ResetAccount, &[s, &pass]);
        assert_eq!((i, r[0].as_str()), (Instr::ResetSuccess, "10000.0000"));
        assert_eq!(
            call(p, Instr::PurchaseAsset, &[s, "AAPL", "1"]).0,
            Instr::PurchaseSuccess
        );
    }
    // Two more, ending at the same time: holdings always shown, and never.
    let mut shown = Vec::new();
    for holdings in ["always", "never"] {
        let rules = format!(
            "start={} end={end} holdings={holdings} public=yes name={holdings}",
            at(-10)
        );
        let (i, made) = call(&mut a, Instr::CreateGame, &[&alice, &rules]);
        assert_eq!(i, Instr::GameCreated, "{made:?}");
        let (p, s) = &mut players[2];
        assert_eq!(
            call(p, Instr::JoinGame, &[s, &made[0]]).0,
            Instr::PortfolioUpdated
        );
        shown.push(made[0].clone());
    }
    {
        let (p, s) = &mut players[1];
        assert_eq!(
            data(p, s, Instr::GetGameHoldings, &[s, &shown[0], "carol"]),
            Ok(String::new()),
            "always: while it runs"
        );
        assert_eq!(
            data(p, s, Instr::GetGameHoldings, &[s, &shown[1], "carol"]),
            Err(ReasonCode::Forbidden)
        );
    }
    let tie = "1 bob 0.00\n1 carol 0.00\n1 Zed 0.00\n";
    assert_eq!(
        data(&mut a, &alice, Instr::GetStandings, &[&alice, &id]).expect("standings"),
        tie
    );
    let (p, s) = &mut players[1];
    assert_eq!(
        data(p, s, Instr::GetGameHoldings, &[s, &id, "carol"]),
        Err(ReasonCode::Forbidden)
    );
    // The end.
    while Timestamp::now().0 <= end + 1 {
        std::thread::sleep(Duration::from_millis(250));
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        refused(call(p, Instr::PurchaseAsset, &[s, "AAPL", "1"])),
        (Instr::PurchaseFail, ReasonCode::GameNotRunning)
    );
    let holdings = data(p, s, Instr::GetGameHoldings, &[s, &id, "carol"]).expect("after the end");
    assert!(holdings.starts_with("AAPL 1 "), "{holdings}");
    assert_eq!(
        data(p, s, Instr::GetGameHoldings, &[s, &shown[1], "carol"]),
        Err(ReasonCode::Forbidden),
        "never: after the end too"
    );
    {
        let (p, s) = &mut players[2];
        assert_eq!(
            data(p, s, Instr::GetGameHoldings, &[s, &shown[1], "carol"]),
            Ok(String::new()),
            "one's own, always"
        );
    }
    assert_eq!(
        data(&mut a, &alice, Instr::GetStandings, &[&alice, &id]).expect("frozen"),
        tie
    );
    let mut late = system.client();
    let eve = login(&mut late, "eve");
    assert_eq!(
        refused(call(&mut late, Instr::JoinGame, &[&eve, &id])),
        (Instr::GameFail, ReasonCode::GameNotRunning),
    );
    let games = data(&mut late, &eve, Instr::GetGames, &[&eve]).expect("games");
    assert_eq!(
        games, "",
        "an ended competition is no longer in the public list"
    );
    let detail = data(&mut a, &alice, Instr::GetGame, &[&alice, &id]).expect("game");
    assert!(detail.contains(" ended alice 3 "), "{detail}");
    audit_clean(&system);
}

#[test]
fn hostile_competition_requests_are_refused_and_bounded() {
    let dir = TempDir::new("game-hostile");
    let system = System::start("game-hostile", &market(&dir), "");
    let mut a = system.client();
    let alice = login(&mut a, "alice");
    let window = format!("start={} end={}", at(60), at(3600));
    // An allow-list one past the limit, and rules that do not read.
    let many: Vec<String> = (0..=MAX_GAME_ASSETS).map(|i| format!("S{i}")).collect();
    let too_many = format!("{window} assets={} name=x", many.join(","));
    for rules in [
        too_many.as_str(),
        "name=x",
        &format!("{window} cap=0 name=x"),
        &format!("start={} end={} name=over", at(-100), at(-10)),
        &format!("{window} name=\u{7}bell"),
    ] {
        assert_eq!(
            refused(call(&mut a, Instr::CreateGame, &[&alice, rules])),
            (Instr::GameFail, ReasonCode::BadArguments),
            "{}",
            &rules[..rules.len().min(60)]
        );
    }
    assert_eq!(
        refused(call(
            &mut a,
            Instr::CreateGame,
            &[&alice, &format!("{window} assets=AAPL,NOPE name=x")]
        )),
        (Instr::GameFail, ReasonCode::UnknownAsset)
    );
    // Bad sessions and the wrong state.
    let nobody = "0123456789abcdef0123456789abcdef";
    assert_eq!(
        refused(call(
            &mut a,
            Instr::CreateGame,
            &[nobody, &format!("{window} name=x")]
        )),
        (Instr::GameFail, ReasonCode::BadSession)
    );
    assert_eq!(
        refused(call(&mut a, Instr::GetPortfolios, &[&alice])),
        (Instr::DataFail, ReasonCode::WrongState)
    );
    assert_eq!(
        data(&mut a, &alice, Instr::GetGame, &[&alice, "424242"]),
        Err(ReasonCode::UnknownGame)
    );
    assert_eq!(
        data(&mut a, &alice, Instr::GetStandings, &[&alice, "0"]),
        Err(ReasonCode::BadArguments)
    );

    // Guessing codes: ten wrong ones, then even a right one waits.
    let (i, made) = call(
        &mut a,
        Instr::CreateGame,
        &[&alice, &format!("{window} name=x")],
    );
    assert_eq!(i, Instr::GameCreated, "{made:?}");
    let mut g = Peer::connect_from(std::net::Ipv4Addr::new(127, 0, 0, 2), system.worker.addr);
    let guesser = login(&mut g, "guesser");
    // Pipelined without reading, the answers come in order.
    let frames: Vec<_> = (0..1000)
        .map(|n| {
            papertrader_common::message::frame(
                Instr::JoinGame,
                &[
                    &guesser,
                    &format!("ZZZZZZZZZZ{}", ["AB", "CD", "EF"][n % 3]),
                ],
            )
        })
        .collect();
    for f in &frames {
        g.send(f);
    }
    let mut codes = Vec::new();
    for _ in 0..1000 {
        let f = g.recv();
        let w = util::wire::words(&f);
        codes.push(code_of(&w));
    }
    assert!(
        codes[..10].iter().all(|c| *c == ReasonCode::UnknownGame),
        "{codes:?}"
    );
    assert!(codes[10..].iter().all(|c| *c == ReasonCode::RateLimited));
    assert_eq!(
        refused(call(&mut g, Instr::JoinGame, &[&guesser, &made[1]])),
        (Instr::GameFail, ReasonCode::RateLimited)
    );
    // The master is up and others are not held back.
    let mut o = system.client();
    let other = login(&mut o, "other");
    assert_eq!(
        call(&mut o, Instr::JoinGame, &[&other, &made[1]]).0,
        Instr::PortfolioUpdated
    );
    // From the guesser's address, another login has its own ten tries
    // before the address's fifty run out.
    let mut h = Peer::connect_from(std::net::Ipv4Addr::new(127, 0, 0, 2), system.worker.addr);
    let helper = login(&mut h, "helper");
    assert_eq!(
        call(&mut h, Instr::JoinGame, &[&helper, &made[1]]).0,
        Instr::PortfolioUpdated
    );
}
