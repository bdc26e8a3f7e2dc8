//! Orders and the account as a whole through `papertrader`, end to end
//! against a real master and worker on the `sim` source (one price set a
//! second): limit orders that wait, `orders`, `cancel`, `reset`,
//! `leaderboard` and `equity`, their JSON, and the refusals. A module of
//! `client.rs`, whose `Env` it uses.

use serde_json::Value;

use super::util::daemon::TempDir;
use super::util::system::System;
use super::util::{stderr, stdout};
use super::{Env, lines};

/// Master config lines: AAPL and MSFT from the seeded simulation, a price
/// set a second, 2 000 of starting cash and at most 3 open orders each.
fn sim_market(dir: &TempDir) -> String {
    let path = dir.join("assets.list");
    std::fs::write(&path, "AAPL Apple Inc.\nMSFT Microsoft Corporation\n").expect("assets");
    format!(
        "assets_file = {}\nupdate_interval = 1s\nhistory_days = 5\nsim_seed = 7\n\
         starting_cash = 2000\nmax_open_orders = 3\nshort_selling = no\n",
        path.display()
    )
}

/// Master config lines: AAPL from the seeded simulation, a price set a
/// second, and the defaults for the rest (short selling on, 100 000 of
/// cash, 100 open orders).
fn sim_defaults(dir: &TempDir) -> String {
    let path = dir.join("assets.list");
    std::fs::write(&path, "AAPL Apple Inc.\n").expect("assets");
    format!(
        "assets_file = {}\nupdate_interval = 1s\nhistory_days = 5\nsim_seed = 7\n",
        path.display()
    )
}

/// The number in `order N placed: ...`.
fn placed_id(out: &str) -> u64 {
    out.strip_prefix("order ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no order number in {out:?}"))
}

/// The piped `orders` rows as cells, header first.
fn order_rows(env: &Env, args: &[&str]) -> Vec<Vec<String>> {
    let mut all = vec!["orders"];
    all.extend_from_slice(args);
    let text = env.ok(&all);
    lines(&text)
        .iter()
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}

#[test]
fn limit_orders_wait_and_cancel_once() {
    let dir = TempDir::new("cli-orders");
    let system = System::start("cli-orders", &sim_market(&dir), "");
    let env = Env::new("cli-orders-home", Some(system.worker.addr.to_string()));
    env.register_and_login("alice");
    env.wait_for_price();

    // Far below the market: it waits.
    let out = env.ok(&["buy", "aapl", "10", "--limit", "0.0001"]);
    assert!(
        out.ends_with(
            " placed: buy 10 AAPL at 0.0001 or less, good for the UTC day; \
             see papertrader orders\n"
        ),
        "{out}"
    );
    let id = placed_id(&out);
    let json = env.json(&["buy", "MSFT", "2", "--limit", "0.0002", "--gtc"]);
    assert_eq!(json["type"], "limit");
    assert_eq!(json["limit"], "0.0002");
    assert_eq!(json["stop"], Value::Null);
    assert_eq!(
        (&json["tif"], &json["status"]),
        (&"gtc".into(), &"open".into())
    );
    let msft = json["id"].as_u64().expect("order id");
    assert!(msft > id);

    // A few price sets later both are still open, newest first.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let rows = order_rows(&env, &[]);
    assert_eq!(
        rows[0],
        [
            "ID", "CREATED", "SIDE", "SYMBOL", "QTY", "TYPE", "LIMIT", "STOP", "TIF", "STATUS",
            "UPDATED", "TXID", "FILLED", "AVG"
        ]
    );
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[1][0], msft.to_string());
    let aapl = &rows[2];
    assert_eq!(aapl[0], id.to_string());
    assert_eq!(
        &aapl[2..10],
        ["buy", "AAPL", "10", "limit", "0.0001", "-", "day", "open"]
    );
    assert_eq!(&aapl[11..], ["-", "-", "-"], "no fill");
    let listed = env.json(&["orders"]);
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1]["id"].as_u64(), Some(id));
    assert_eq!(listed[1]["status"], "open");
    assert_eq!(listed[1]["txid"], Value::Null);

    // Cancel once; the second time it is no open order.
    assert_eq!(
        env.ok(&["cancel", &id.to_string()]),
        format!("cancelled order {id}\n")
    );
    let err = env.fails(&["cancel", &id.to_string()], 65);
    assert_eq!(
        err,
        format!(
            "papertrader: order {id} is not an open order of yours: it may have filled, \
             expired or been cancelled; see papertrader orders\n"
        )
    );
    let rows = order_rows(&env, &[]);
    assert_eq!(rows[2][9], "cancelled");
    let open = order_rows(&env, &["--open"]);
    assert_eq!(open.len(), 2, "only the MSFT order: {open:?}");
    let cancelled = env.json(&["cancel", &msft.to_string()]);
    assert_eq!(cancelled["id"].as_u64(), Some(msft));
    assert_eq!(cancelled["status"], "cancelled");

    // Market orders of buy and sell without options are not listed.
    let bought = env.ok(&["buy", "AAPL", "1"]);
    assert!(bought.starts_with("bought 1 AAPL at "), "{bought}");
    assert_eq!(order_rows(&env, &[]).len(), 3);

    // Refusals of the server, each one line with its status.
    let err = env.fails(&["sell", "MSFT", "5", "--stop", "0.0001"], 65);
    assert!(err.starts_with("papertrader: not enough shares"), "{err}");
    let err = env.fails(&["buy", "AAPL", "1000000", "--limit", "1000"], 65);
    assert!(err.starts_with("papertrader: not enough cash"), "{err}");
    let err = env.fails(&["buy", "NOPE", "1", "--limit", "1"], 65);
    assert_eq!(
        err,
        "papertrader: unknown symbol NOPE; see papertrader assets\n"
    );
    let err = env.fails(&["cancel", "999999999"], 65);
    assert!(
        err.starts_with("papertrader: order 999999999 is not an open order"),
        "{err}"
    );
    for _ in 0..3 {
        env.ok(&["buy", "AAPL", "1", "--limit", "0.0001", "--gtc"]);
    }
    let err = env.fails(&["buy", "AAPL", "1", "--limit", "0.0001"], 75);
    assert!(
        err.starts_with("papertrader: you have the most open orders allowed"),
        "{err}"
    );
    assert_eq!(lines(&err).len(), 1, "{err}");
}

#[test]
fn malformed_orders_never_reach_the_server() {
    // Nothing listens on port 1: a refusal that came from the server, or
    // any attempt to connect, would not be exit 64/65 with these words.
    let env = Env::new("cli-orders-bad", Some("127.0.0.1:1".to_string()));
    for (args, status, start) in [
        (
            &["buy", "AAPL", "10", "--limit", "abc"][..],
            65,
            "limit \"abc\": expected a positive price",
        ),
        (
            &["buy", "AAPL", "10", "--limit", "0"],
            65,
            "limit \"0\": expected a positive price",
        ),
        (
            &["sell", "AAPL", "10", "--limit", "1.00001"],
            65,
            "limit \"1.00001\"",
        ),
        (&["sell", "AAPL", "10", "--stop", "-5"], 65, "stop \"-5\""),
        (
            &["buy", "AAPL", "10", "--stop", "175", "--limit", "x"],
            65,
            "limit \"x\"",
        ),
        (&["buy", "AAPL", "0", "--limit", "1"], 65, "quantity \"0\""),
        (&["buy", "A$", "1", "--limit", "1"], 65, "symbol \"A$\""),
        (
            &["cancel", "abc"],
            65,
            "order \"abc\": expected an order number",
        ),
        (&["cancel", "-1"], 65, "order \"-1\""),
        (&["cancel", "1.5"], 65, "order \"1.5\""),
        (&["cancel"], 64, "error: the following required arguments"),
        (
            &["buy", "AAPL", "10", "--limit"],
            64,
            "error: a value is required for '--limit",
        ),
        (&["orders", "extra"], 64, "error: unexpected argument"),
    ] {
        let err = env.fails(args, status);
        let err = err.strip_prefix("papertrader: ").unwrap_or(&err);
        assert!(err.starts_with(start), "{args:?}: {err}");
        if status == 65 {
            assert_eq!(lines(err).len(), 1, "{args:?}: {err}");
        }
    }
}

#[test]
fn reset_leaderboard_and_equity() {
    let dir = TempDir::new("cli-reset");
    let system = System::start("cli-reset", &sim_market(&dir), "");
    let env = Env::new("cli-reset-home", Some(system.worker.addr.to_string()));
    env.register_and_login("bob");
    env.register_and_login("alice");
    env.wait_for_price();
    env.ok(&["buy", "AAPL", "2"]);
    env.ok(&["buy", "MSFT", "1", "--limit", "0.0001", "--gtc"]);

    // Both accounts are on the board; bob has not traded: 0.00%.
    let board = env.ok(&["leaderboard"]);
    let rows = lines(&board);
    assert_eq!(rows[0], "RANK\tUSER\tRETURN");
    assert_eq!(rows.len(), 3, "{board}");
    let bob = rows.iter().find(|r| r.contains("\tbob\t")).expect("bob");
    assert!(bob.ends_with("\t0.00%"), "{board}");
    assert!(rows.iter().any(|r| r.contains("\talice\t")), "{board}");
    let json = env.json(&["leaderboard"]);
    let json = json.as_array().expect("array");
    assert_eq!(json.len(), 2);
    assert!(
        json.iter()
            .all(|s| s["rank"].as_u64().is_some_and(|r| r >= 1))
    );
    assert!(json.iter().any(|s| s["username"] == "alice"));

    // Equity: CSV when piped, one line a day (only today here).
    let csv = env.ok(&["equity"]);
    let rows = lines(&csv);
    assert_eq!(rows[0], "date,equity");
    assert_eq!(rows.len(), 2, "{csv}");
    let (day, equity) = rows[1].split_once(',').expect("date,equity");
    assert_eq!(day.len(), 10, "{csv}");
    assert!(equity.ends_with(|c: char| c.is_ascii_digit()) && equity.contains('.'));
    assert!(env.ok(&["equity", "--csv"]).starts_with("date,equity\n"));
    let json = env.json(&["equity"]);
    assert_eq!(json[0]["date"], day);

    // No confirmation, a wrong one, a wrong password: nothing changes.
    let out = env.run_with(&["reset"], b"correct horse\n");
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "papertrader: reset not confirmed: type the username alice to confirm (or give \
         --yes); nothing was changed\n"
    );
    let out = env.run_with(&["reset"], b"correct horse\nbob\n");
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    let out = env.run_with(&["reset"], b"wrong horse\nalice\n");
    assert_eq!(out.status.code(), Some(77), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "papertrader: wrong password for alice; nothing was reset\n"
    );
    let portfolio = env.ok(&["portfolio"]);
    assert!(portfolio.contains("AAPL\t2\t"), "{portfolio}");
    assert_eq!(order_rows(&env, &["--open"]).len(), 2);

    // Password and confirmation on standard input.
    let out = env.run_with(&["reset"], b"correct horse\nalice\n");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "reset alice: no positions, no open orders, cash 2,000.0000\n"
    );
    let portfolio = env.ok(&["portfolio"]);
    assert!(!portfolio.contains("AAPL"), "{portfolio}");
    assert!(portfolio.contains("cash\t2000.0000"), "{portfolio}");
    let rows = order_rows(&env, &[]);
    assert_eq!((rows.len(), rows[1][9].as_str()), (2, "cancelled"));
    let trades = env.ok(&["trades"]);
    let last = lines(&trades).last().copied().unwrap_or_default();
    assert!(last.contains("\treset\t-\t0\t2000.0000"), "{trades}");

    // --yes skips only the confirmation: the password still comes.
    let pw = env.path("pw");
    let json = env.json(&["reset", "--yes", "--password-file", &pw]);
    assert_eq!(
        (&json["username"], &json["cash"]),
        (&"alice".into(), &"2000.0000".into())
    );
    let out = env.run_with(&["reset", "--yes"], b"wrong horse\n");
    assert_eq!(out.status.code(), Some(77), "{}", stderr(&out));

    // In the shell: the password and the username are the next lines.
    env.ok(&["buy", "AAPL", "1"]);
    let out = env.run_with(&["shell"], b"reset\ncorrect horse\nalice\nportfolio\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("reset alice: no positions, no open orders, cash 2,000.0000\n"),
        "{text}"
    );
    assert!(!text.contains("AAPL"), "{text}");
    let out = env.run_with(&["shell"], b"reset\ncorrect horse\nno\nportfolio\n");
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("reset not confirmed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn fractions_through_the_cli_stay_exact() {
    let dir = TempDir::new("cli-fractions");
    // The simulated market never closes: its assets trade in fractions.
    let system = System::start("cli-fractions", &sim_market(&dir), "");
    let env = Env::new("cli-fractions-home", Some(system.worker.addr.to_string()));
    env.register_and_login("fiona");
    env.wait_for_price();

    let bought = env.json(&["buy", "AAPL", "0.5"]);
    assert_eq!(bought["quantity"].to_string(), "0.5", "{bought}");
    let sold = env.json(&["sell", "AAPL", "0.123456789"]);
    assert_eq!(
        sold["quantity"].to_string(),
        "0.123456789",
        "a JSON number with exactly the server's digits, never through a float: {sold}"
    );
    let portfolio = env.json(&["portfolio"]);
    let position = &portfolio["positions"][0];
    assert_eq!(
        position["quantity"].to_string(),
        "0.376543211",
        "{portfolio}"
    );
    let text = env.ok(&["sell", "aapl", "0.376543211"]);
    assert!(text.starts_with("sold 0.376543211 AAPL at "), "{text}");

    // By the amount: the fill says how many shares it bought, through the
    // worker's purchaseNotional and sellNotional.
    let bought = env.json(&["buy", "MSFT", "--notional", "100"]);
    let shares = bought["quantity"].to_string();
    assert!(
        shares.starts_with("0."),
        "100 buys a fraction of MSFT: {bought}"
    );
    let price = papertrader_common::value::Money::parse(bought["price"].as_str().expect("price"))
        .expect("money");
    let held = papertrader_common::value::Shares::parse(&shares).expect("shares");
    assert!(
        price.buy_cost(held).expect("fits").raw() <= 1_000_000,
        "never costs more than the amount: {bought}"
    );
    let sold = env.json(&["sell", "MSFT", "--notional", "10"]);
    assert_eq!(sold["side"], "sell", "{sold}");
    let err = env.fails(&["buy", "MSFT", "--notional", "0"], 65);
    assert!(err.contains("quantity"), "{err}");

    // Whole quantities read as before; a bad count is refused before
    // anything is sent (exit 65).
    let out = env.ok(&["buy", "AAPL", "1", "--limit", "0.0001"]);
    assert!(
        out.contains(" placed: buy 1 AAPL at 0.0001 or less"),
        "{out}"
    );
    for bad in ["1.0000000001", "1e5", "NaN", "-1", "0"] {
        let err = env.fails(&["buy", "AAPL", bad], 65);
        assert!(err.contains("quantity"), "{bad}: {err}");
    }
}

#[test]
fn trailing_stops_and_replace_through_the_cli() {
    let dir = TempDir::new("cli-trail");
    let system = System::start("cli-trail", &sim_market(&dir), "");
    let env = Env::new("cli-trail-home", Some(system.worker.addr.to_string()));
    env.register_and_login("trey");
    env.wait_for_price();
    env.ok(&["buy", "AAPL", "3"]);

    // A sale trailing 50% of its high stays open in a simulated market.
    let out = env.ok(&["sell", "AAPL", "2", "--trail", "50%", "--gtc"]);
    assert!(
        out.contains("placed: sell 2 AAPL at the market once the price falls 50% from its highest, good till cancelled"),
        "{out}"
    );
    let id = placed_id(&out);
    let listed = env.json(&["orders", "--open"]);
    let order = &listed[0];
    assert_eq!(
        (&order["id"], &order["type"], &order["trail"]),
        (
            &Value::from(id),
            &Value::from("trailing-stop"),
            &Value::from("50%")
        ),
        "{listed}"
    );
    assert!(order["mark"].is_string(), "marked at placing: {listed}");
    assert!(order["stop"].is_string(), "{listed}");
    let rows = order_rows(&env, &["--open"]);
    assert!(rows[1][7].ends_with(" (50%)"), "{rows:?}");

    // Replace narrows the trail and the quantity: a new order, the old
    // one replaced.
    let replaced = env.json(&["replace", &id.to_string(), "--trail", "40%", "--qty", "1"]);
    let new = replaced["id"].as_u64().expect("new id");
    assert_eq!(replaced["replaces"], id, "{replaced}");
    let all = env.json(&["orders"]);
    let status = |n: u64| {
        all.as_array()
            .expect("list")
            .iter()
            .find(|o| o["id"] == n)
            .map(|o| o["status"].clone())
    };
    assert_eq!(status(id), Some(Value::from("replaced")), "{all}");
    assert_eq!(status(new), Some(Value::from("open")), "{all}");
    let text = env.ok(&["replace", &new.to_string(), "--trail", "1.5"]);
    assert!(
        text.starts_with(&format!("order {new} replaced by order ")),
        "{text}"
    );

    // Refusals: before sending (64, 65) and by the server (65).
    let err = env.fails(&["replace", &new.to_string()], 64);
    assert!(err.contains("at least one of"), "{err}");
    for (args, needle) in [
        (vec!["sell", "AAPL", "1", "--trail", "0%"], "trail"),
        (vec!["sell", "AAPL", "1", "--trail", "100%"], "trail"),
        (vec!["sell", "AAPL", "1", "--trail", "NaN"], "trail"),
        (vec!["replace", "abc", "--limit", "1"], "order"),
    ] {
        let err = env.fails(&args, 65);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let err = env.fails(&["replace", &id.to_string(), "--trail", "3%"], 65);
    assert!(
        err.contains("order"),
        "a replaced order is no longer open: {err}"
    );
    let err = env.fails(&["sell", "AAPL", "1", "--trail", "2%", "--limit", "5"], 64);
    assert!(err.contains("--limit"), "{err}");
}

#[test]
fn a_sale_beyond_holdings_is_a_short_in_the_cli() {
    let dir = TempDir::new("cli-short");
    let system = System::start("cli-short", &sim_defaults(&dir), "");
    let env = Env::new("cli-short-home", Some(system.worker.addr.to_string()));
    env.register_and_login("shay");
    env.wait_for_price();

    let sold = env.json(&["sell", "AAPL", "2"]);
    assert_eq!(sold["quantity"], 2, "{sold}");
    let portfolio = env.json(&["portfolio"]);
    let position = &portfolio["positions"][0];
    assert_eq!(
        position["quantity"].to_string(),
        "-2",
        "a signed quantity: {portfolio}"
    );
    assert!(
        position["value"].as_str().expect("value").starts_with('-'),
        "{portfolio}"
    );
    let text = env.ok(&["portfolio"]);
    let rows = lines(&text);
    assert!(rows[1].starts_with("AAPL\t-2\t"), "{rows:?}");
    // Beyond the margin: 100,000 of cash shorts at most 200,000 worth.
    let err = env.fails(&["sell", "AAPL", "1000000"], 65);
    assert!(err.starts_with("papertrader: not enough margin"), "{err}");
    let bought = env.json(&["buy", "AAPL", "2"]);
    assert_eq!(bought["quantity"], 2, "{bought}");
    let portfolio = env.json(&["portfolio"]);
    assert_eq!(
        portfolio["positions"],
        serde_json::json!([]),
        "covered: {portfolio}"
    );
    let trades = env.ok(&["trades"]);
    assert!(
        trades.contains("sell") && trades.contains("buy"),
        "{trades}"
    );
}

#[test]
fn brackets_and_oco_through_the_cli() {
    let dir = TempDir::new("cli-class");
    let system = System::start("cli-class", &sim_defaults(&dir), "");
    let env = Env::new("cli-class-home", Some(system.worker.addr.to_string()));
    env.register_and_login("cleo");
    env.wait_for_price();

    // A bracket whose entry rests far below the market.
    let out = env.ok(&[
        "buy",
        "AAPL",
        "1",
        "--limit",
        "1",
        "--take-profit",
        "2",
        "--stop-loss",
        "0.5",
        "--gtc",
    ]);
    assert!(
        out.contains(
            "buy 1 AAPL at 1.0000 or less, good till cancelled, then sell at 2.0000 or more, \
             or at the market once the price falls to 0.5000; see papertrader orders"
        ),
        "{out}"
    );
    let entry = placed_id(&out);
    let listed = env.json(&["orders"]);
    let all = listed.as_array().expect("list");
    assert_eq!(all.len(), 3, "{listed}");
    let legs: Vec<&Value> = all.iter().filter(|o| o["parent"] == entry).collect();
    assert_eq!(legs.len(), 2, "{listed}");
    assert!(
        legs.iter()
            .all(|o| o["status"] == "held" && o["class"] == "bracket"),
        "{listed}"
    );
    // Exits on the wrong side are the server's refusal; --oco needs both.
    let err = env.fails(
        &[
            "buy",
            "AAPL",
            "1",
            "--limit",
            "1",
            "--take-profit",
            "0.9",
            "--stop-loss",
            "0.5",
        ],
        65,
    );
    assert!(err.contains("takeProfit"), "{err}");
    let err = env.fails(&["sell", "AAPL", "1", "--oco", "--take-profit", "5"], 64);
    assert!(err.contains("--stop-loss"), "{err}");
    // Cancelling the entry cancels its legs.
    env.ok(&["cancel", &entry.to_string()]);
    let listed = env.json(&["orders"]);
    assert!(
        listed
            .as_array()
            .expect("list")
            .iter()
            .all(|o| o["status"] == "cancelled"),
        "{listed}"
    );
    // An OCO on a holding: both exits open at once.
    env.ok(&["buy", "AAPL", "2"]);
    let oco = env.json(&[
        "sell",
        "AAPL",
        "2",
        "--oco",
        "--take-profit",
        "100000",
        "--stop-loss",
        "0.01",
    ]);
    assert_eq!(oco["class"], "oco", "{oco}");
    let open = env.json(&["orders", "--open"]);
    assert_eq!(open.as_array().expect("list").len(), 2, "{open}");
}
