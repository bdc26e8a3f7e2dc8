//! Portfolios and competitions (protocol 1.2) through `papertrader`, end
//! to end: the real binary against a real ptmasterd and ptworkerd, each
//! user with their own HOME. `portfolio create|list|use|rename|close` and
//! the old `portfolio` holdings view beside them; `game create --json`,
//! `join` with the code from another login, `list`, `show`, `standings`,
//! `holdings`, `change`, `code`, `remove`, `leave`, and the refusals with
//! their sentences and exit statuses. Output is piped: the tab-separated
//! form scripts see.

mod util;

use std::time::{Duration, Instant};

use serde_json::Value;
use util::cli::Env;
use util::daemon::TempDir;
use util::stderr;
use util::system::System;

/// Master config lines: AAPL and MSFT from the seeded simulation, a price
/// set a second, 2 000 of starting cash.
fn market(dir: &TempDir) -> String {
    let path = dir.join("assets.list");
    std::fs::write(&path, "AAPL Apple Inc.\nMSFT Microsoft Corporation\n").expect("assets");
    format!(
        "assets_file = {}\nupdate_interval = 1s\nhistory_days = 0\nsim_seed = 7\n\
         starting_cash = 2000\n",
        path.display()
    )
}

/// The piped table's rows as cells, header first.
fn rows(text: &str) -> Vec<Vec<&str>> {
    text.lines().map(|l| l.split('\t').collect()).collect()
}

/// The `portfolio list --json` entry with number `id`.
fn portfolio(env: &Env, id: u64) -> Value {
    let list = env.json(&["portfolio", "list"]);
    list.as_array()
        .expect("an array")
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no portfolio {id} in {list}"))
        .clone()
}

/// The portfolio numbers marked in use by `portfolio list`.
fn in_use(env: &Env) -> Vec<String> {
    let text = env.ok(&["portfolio", "list"]);
    rows(&text)
        .iter()
        .skip(1)
        .filter(|r| r[0] == "*")
        .map(|r| r[1].to_string())
        .collect()
}

/// The users of a competition's standings, polled until `want` players
/// are ranked (the master ranks at each price set).
fn standings(env: &Env, game: &str, want: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = env.json(&["game", "standings", game]);
        let list = list.as_array().expect("an array").clone();
        if list.len() == want || Instant::now() > deadline {
            return list;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn portfolios_made_used_renamed_and_closed() {
    let dir = TempDir::new("games-cli-p");
    let system = System::start("games-cli-p", &market(&dir), "");
    let env = Env::new("games-cli-p-home", Some(system.worker.addr.to_string()));
    env.fails(&["portfolio", "list"], 77);
    env.register_and_login("alice");

    let text = env.ok(&["portfolio", "list"]);
    assert_eq!(
        rows(&text),
        [
            vec!["", "ID", "NAME", "STATUS", "GAME", "CASH", "START CASH"],
            vec!["*", "1", "main", "open", "-", "2000.0000", "2000.0000"],
        ]
    );
    assert_eq!(
        env.ok(&["portfolio", "create", "bot", "--cash", "5000"]),
        "created portfolio 2 (bot); trade in it after: papertrader portfolio use 2\n"
    );
    let err = env.fails(&["portfolio", "create", "bot"], 65);
    assert_eq!(
        err,
        "papertrader: you already have an open portfolio named bot; choose another name\n"
    );
    // Refused before anything is sent.
    let err = env.fails(&["portfolio", "create", "two words"], 65);
    assert!(err.contains("portfolio name"), "{err}");
    let err = env.fails(&["portfolio", "create", "x", "--cash", "0"], 65);
    assert!(err.contains("--cash"), "{err}");
    env.fails(&["portfolio", "create"], 64);

    let made = env.json(&["portfolio", "create", "swing"]);
    assert_eq!(made, serde_json::json!({"id": 3, "name": "swing"}));
    let bot = portfolio(&env, 2);
    assert_eq!(
        (&bot["cash"], &bot["start_cash"], &bot["in_use"]),
        (
            &Value::from("5000.0000"),
            &Value::from("5000.0000"),
            &Value::Bool(false)
        )
    );
    assert_eq!(portfolio(&env, 3)["cash"], "2000.0000", "the server's cash");

    // `use` is kept by the master with the saved session: the next
    // commands (new connections) act on the portfolio.
    assert_eq!(
        env.ok(&["portfolio", "use", "BOT"]),
        "using portfolio 2 (bot): trades, orders and portfolio act on it now\n"
    );
    assert_eq!(in_use(&env), ["2"]);
    let holdings = env.ok(&["portfolio"]);
    assert!(holdings.contains("cash\t5000.0000\n"), "{holdings}");
    assert!(holdings.ends_with("portfolio\t2 (bot)\n"), "{holdings}");
    let own = env.json(&["portfolio", "alice"]);
    assert_eq!(own["cash"], "5000.0000", "{own}");

    // A portfolio with an open order cannot close.
    env.ok(&["buy", "AAPL", "1", "--limit", "0.0001", "--gtc"]);
    let err = env.fails(&["portfolio", "close", "bot"], 65);
    assert!(
        err.starts_with("papertrader: portfolio 2 has open orders"),
        "{err}"
    );
    let orders = env.json(&["orders", "--open"]);
    let id = orders[0]["id"].as_u64().expect("an order id");
    env.ok(&["cancel", &id.to_string()]);
    assert_eq!(
        env.ok(&["portfolio", "close", "bot"]),
        "closed portfolio 2 (bot); its positions stay as they were\n"
    );
    assert_eq!(in_use(&env), ["1"], "back on the first");
    assert_eq!(portfolio(&env, 2)["status"], "closed");
    let err = env.fails(&["portfolio", "use", "bot"], 65);
    assert_eq!(
        err,
        "papertrader: you have no open portfolio 2; see papertrader portfolio list\n"
    );
    // A closed portfolio's name is free again.
    env.ok(&["portfolio", "create", "bot"]);
    assert_eq!(portfolio(&env, 4)["name"], "bot");
    assert_eq!(
        env.json(&["portfolio", "use", "bot"])["id"],
        4,
        "the open one"
    );

    // The first portfolio never closes.
    for first in ["1", "main"] {
        let err = env.fails(&["portfolio", "close", first], 77);
        assert!(
            err.starts_with("papertrader: not allowed on portfolio 1"),
            "{err}"
        );
    }
    assert_eq!(
        env.ok(&["portfolio", "rename", "main", "primary"]),
        "renamed portfolio 1 to primary\n"
    );
    let err = env.fails(&["portfolio", "rename", "swing", "primary"], 65);
    assert!(err.contains("named primary"), "{err}");
    let err = env.fails(&["portfolio", "use", "nosuch"], 65);
    assert_eq!(
        err,
        "papertrader: you have no portfolio named nosuch; see papertrader portfolio list\n"
    );
    env.fails(&["portfolio", "close", "99"], 65);
    env.fails(&["portfolio", "use", "0"], 65);
    assert_eq!(in_use(&env), ["4"]);
}

#[test]
fn competitions_between_logins() {
    let dir = TempDir::new("games-cli-g");
    let system = System::start("games-cli-g", &market(&dir), "");
    let worker = system.worker.addr.to_string();
    let alice = Env::new("games-cli-alice", Some(worker.clone()));
    let bob = Env::new("games-cli-bob", Some(worker.clone()));
    let carol = Env::new("games-cli-carol", Some(worker));
    alice.register_and_login("alice");
    bob.register_and_login("bob");
    carol.register_and_login("carol");
    alice.wait_for_price();

    let made = alice.json(&[
        "game",
        "create",
        "Spring cup",
        "--start",
        "now",
        "--end",
        "+1d",
        "--cash",
        "10000",
        "--assets",
        "aapl",
    ]);
    let id = made["id"].as_u64().expect("an id");
    let game = id.to_string();
    let code = made["code"].as_str().expect("a code").to_string();
    assert_eq!(code.len(), 12, "{made}");
    assert_eq!(
        (&made["name"], &made["cash"], &made["organiser"]),
        (
            &Value::from("Spring cup"),
            &Value::from("10000.0000"),
            &Value::from("alice")
        )
    );
    assert_eq!(made["assets"], serde_json::json!(["AAPL"]));

    // A wrong code, a malformed one, a private competition's number.
    let err = bob.fails(&["game", "join", "AAAAAAAAAAAA"], 65);
    assert!(
        err.starts_with("papertrader: no competition to join as AAAAAAAAAAAA"),
        "{err}"
    );
    let err = bob.fails(&["game", "join", "abc"], 65);
    assert!(err.contains("code \"abc\""), "{err}");
    bob.fails(&["game", "join", &game], 65);

    let out = bob.ok(&["game", "join", &code.to_lowercase()]);
    assert_eq!(
        out,
        format!(
            "joined competition {id} with portfolio 2 (game-{id}), cash 10,000.0000\n\
             trade in it after: papertrader portfolio use 2\n"
        )
    );
    let err = bob.fails(&["game", "join", &code], 65);
    assert!(err.contains("already"), "{err}");
    let mine = portfolio(&bob, 2);
    assert_eq!(
        (&mine["game"], &mine["start_cash"]),
        (&Value::from(id), &Value::from("10000.0000"))
    );

    // The list, the competition, the standings.
    let text = alice.ok(&["game", "list"]);
    let table = rows(&text);
    assert_eq!(
        table[0],
        ["ID", "STATE", "ROLE", "PLAYERS", "START", "END", "NAME"]
    );
    assert_eq!(
        (
            table[1][0],
            table[1][1],
            table[1][2],
            table[1][3],
            table[1][6]
        ),
        (game.as_str(), "running", "organiser", "1", "Spring cup")
    );
    assert_eq!(bob.json(&["game", "list"])[0]["role"], "player");
    let shown = alice.ok(&["game", "show", "SPRING CUP"]);
    assert!(shown.contains(&format!("code\t{code}\n")), "{shown}");
    assert!(shown.contains("organiser\talice\n"), "{shown}");
    let seen = bob.json(&["game", "show", &game]);
    assert_eq!(
        (&seen["code"], &seen["players"]),
        (&Value::Null, &Value::from(1))
    );
    let ranked = standings(&alice, &game, 1);
    assert_eq!(ranked.len(), 1, "{ranked:?}");
    assert_eq!(ranked[0]["username"], "bob");
    let text = bob.ok(&["game", "standings", "spring cup"]);
    assert_eq!(rows(&text)[0], ["RANK", "USER", "RETURN"]);

    // Holdings: the player always; others after the end (the default).
    let held = bob.json(&["game", "holdings", &game, "bob"]);
    assert_eq!(held["username"], "bob");
    let err = alice.fails(&["game", "holdings", &game, "bob"], 77);
    assert!(err.contains("not shown to you"), "{err}");
    let err = alice.fails(&["game", "holdings", &game, "dave"], 65);
    assert!(err.contains("dave is not a player"), "{err}");

    // Only the organiser changes rules, and only before the start.
    let err = bob.fails(&["game", "change", &game, "--cash", "5"], 77);
    assert!(err.contains("only the organiser"), "{err}");
    let err = alice.fails(&["game", "change", &game, "--cash", "5"], 65);
    assert!(err.contains("has started"), "{err}");
    alice.fails(&["game", "change", &game], 64);
    let later = alice.json(&[
        "game", "create", "Later", "--start", "+1d", "--end", "+2d", "--public",
    ]);
    let later_id = later["id"].as_u64().expect("an id").to_string();
    let changed = alice.json(&["game", "change", "later", "--cash", "500", "--no-short"]);
    assert_eq!(
        (&changed["cash"], &changed["short"]),
        (&Value::from("500.0000"), &Value::Bool(false))
    );
    let shown = carol.json(&["game", "show", &later_id]);
    assert_eq!(
        (&shown["cash"], &shown["public"]),
        (&Value::from("500.0000"), &Value::Bool(true))
    );
    // A public competition by its number; its portfolio cannot trade
    // before the start.
    let joined = carol.json(&["game", "join", &later_id]);
    assert_eq!(joined["game"], later["id"]);
    let pid = joined["id"].as_u64().expect("a portfolio").to_string();
    carol.ok(&["portfolio", "use", &pid]);
    let err = carol.fails(&["buy", "AAPL", "1", "--limit", "1", "--gtc"], 65);
    assert!(err.contains("competition is not running"), "{err}");
    carol.ok(&["portfolio", "use", "main"]);

    // A new code: the old one stops working.
    let out = alice.ok(&["game", "code", &game]);
    let new_code = out
        .split(": ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("a code")
        .to_string();
    assert_ne!(new_code, code);
    let err = carol.fails(&["game", "join", &code], 65);
    assert!(err.contains("no competition to join"), "{err}");
    bob.fails(&["game", "code", &game], 77);
    carol.ok(&["game", "join", &new_code]);
    assert_eq!(standings(&alice, &game, 2).len(), 2);

    // The organiser removes a player; the player leaves.
    bob.fails(&["game", "remove", &game, "carol"], 77);
    alice.fails(&["game", "remove", &game, "dave"], 65);
    assert_eq!(
        alice.ok(&["game", "remove", "spring cup", "carol"]),
        format!("removed carol from competition {id}\n")
    );
    let list = carol.json(&["portfolio", "list"]);
    let removed = list
        .as_array()
        .expect("an array")
        .iter()
        .find(|p| p["game"] == id)
        .expect("carol's portfolio in the game")
        .clone();
    assert_eq!(removed["status"], "removed");
    // Trading by the rules: only AAPL; an open order keeps the player in.
    bob.ok(&["portfolio", "use", "2"]);
    let err = bob.fails(&["buy", "MSFT", "1", "--limit", "1", "--gtc"], 65);
    assert!(
        err.starts_with("papertrader: the rules of this portfolio's competition do not allow"),
        "{err}"
    );
    bob.ok(&["buy", "AAPL", "1", "--limit", "0.0001", "--gtc"]);
    let err = bob.fails(&["game", "leave", "Spring Cup"], 65);
    assert!(
        err.contains(&format!(
            "your portfolio in competition {id} has open orders"
        )),
        "{err}"
    );
    let order = bob.json(&["orders", "--open"])[0]["id"].clone();
    bob.ok(&["cancel", &order.to_string()]);
    assert_eq!(
        bob.ok(&["game", "leave", &game]),
        format!("left competition {id}; your portfolio in it is closed\n")
    );
    assert_eq!(portfolio(&bob, 2)["status"], "closed");
    let err = bob.fails(&["game", "leave", &game], 65);
    assert!(err.contains("do not play"), "{err}");
    assert_eq!(bob.json(&["game", "list"])[0]["role"], "left");

    // Names: none, several.
    let err = alice.fails(&["game", "show", "nosuch"], 65);
    assert_eq!(
        err,
        "papertrader: no competition you can see is called nosuch; see papertrader game list\n"
    );
    alice.ok(&["game", "create", "later", "--start", "+1d", "--end", "+2d"]);
    // Spelled exactly so, one is found; in another case, both fit.
    assert!(
        alice
            .ok(&["game", "show", "Later"])
            .contains("name\tLater\n")
    );
    let err = alice.fails(&["game", "show", "LATER"], 64);
    assert!(err.contains("several competitions"), "{err}");
    let err = alice.fails(&["game", "show", "999"], 65);
    assert!(err.contains("competition 999"), "{err}");
    let out = alice.run(&["game", "create", "x", "--start", "soon", "--end", "+1d"]);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
}
