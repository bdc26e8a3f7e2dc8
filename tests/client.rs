//! The `papertrader` command end to end: the real binary against a real
//! ptmasterd and ptworkerd (a CSV feed with one fixed price, so amounts are
//! known), each test with its own HOME, XDG directories and System. Output
//! is piped here, so it is the plain, tab-separated form scripts see.

mod client_orders;
mod util;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use serde_json::Value;
use util::cli::Env;
use util::daemon::TempDir;
use util::system::System;
use util::{stderr, stdout};

/// Master config lines: AAPL and MSFT at a fixed price, one update a
/// second, 2 000.0000 of starting cash.
fn market(dir: &TempDir) -> String {
    let mut csv = String::from("Symbol,Date,Time,Open,High,Low,Close,Volume\n");
    for _ in 0..600 {
        for symbol in ["AAPL", "MSFT"] {
            csv.push_str(&format!(
                "{symbol},2026-11-20,10:00:00,189.5000,189.5000,189.5000,189.5000,1000\n"
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
        "price_source = csv\ncsv_file = {}\nassets_file = {}\nupdate_interval = 1s\n\
         starting_cash = 2000\n",
        dir.join("bars.csv").display(),
        dir.join("assets.list").display()
    )
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn accounts_sessions_and_refusals() {
    let dir = TempDir::new("clim");
    let system = System::start("cli", &market(&dir), "");
    let worker = system.worker.addr.to_string();
    let env = Env::new("cli-home", Some(worker.clone()));
    let pw = env.path("pw");

    let err = env.fails(&["quote", "AAPL"], 77);
    assert_eq!(
        err,
        "papertrader: not logged in; run: papertrader login USER\n"
    );

    let out = env.ok(&[
        "register",
        "alice",
        "alice@example.com",
        "--password-file",
        &pw,
    ]);
    assert_eq!(
        out,
        "registered alice; log in with: papertrader login alice\n"
    );
    let err = env.fails(
        &["register", "ALICE", "a@example.com", "--password-file", &pw],
        65,
    );
    assert_eq!(
        err,
        "papertrader: the username ALICE is taken; choose another\n"
    );
    let err = env.fails(
        &["register", "bob", "no-at-sign", "--password-file", &pw],
        65,
    );
    assert!(
        err.starts_with("papertrader: email \"no-at-sign\": expected"),
        "{err}"
    );
    let err = env.fails(
        &["register", "b b", "b@example.com", "--password-file", &pw],
        65,
    );
    assert!(
        err.starts_with("papertrader: username \"b b\": expected"),
        "{err}"
    );

    let wrong = env.path("wrong");
    let err = env.fails(&["login", "alice", "--password-file", &wrong], 77);
    assert_eq!(err, "papertrader: wrong username or password\n");
    assert!(!env.session_file().exists());

    // No --password-file and stdin not a terminal: the first line of stdin.
    let out = env.run_with(&["login", "alice"], b"correct horse\nignored\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!(
            "logged in as alice on {worker}; session saved in "
        )),
        "{text}"
    );
    let saved = std::fs::read_to_string(env.session_file()).expect("session file");
    let words: Vec<&str> = saved.trim_end().split(' ').collect();
    assert_eq!(
        (words.len(), words[0], words[1]),
        (3, worker.as_str(), "alice")
    );
    assert!(
        words[2].len() == 32 && words[2].bytes().all(|b| b.is_ascii_hexdigit()),
        "{saved}"
    );
    assert_eq!(mode(&env.session_file()), 0o600, "session file mode");
    assert_eq!(mode(&env.state_dir()), 0o700, "state dir mode");

    // Logging in again replaces the saved session and ends the old one.
    env.ok(&["login", "alice", "--password-file", &pw]);
    let replaced = std::fs::read_to_string(env.session_file()).expect("session file");
    assert_ne!(replaced, saved, "a new session id");
    std::fs::write(env.session_file(), &saved).expect("put the old one back");
    let err = env.fails(&["assets"], 77);
    assert_eq!(err, "papertrader: your session has ended; log in again\n");
    env.ok(&["login", "alice", "--password-file", &pw]);

    // The remembered session serves every later invocation.
    env.wait_for_price();
    let out = env.ok(&["quote", "AAPL"]);
    let rows = lines(&out);
    assert_eq!(rows[0], "SYMBOL\tPRICE\tTIME\tAGE");
    let cells: Vec<&str> = rows[1].split('\t').collect();
    assert_eq!((cells[0], cells[1]), ("AAPL", "189.5000"), "{out}");
    assert!(cells[2].ends_with('Z') && cells[2].contains('T'), "{out}");
    assert!(
        cells[3].ends_with(" s") || cells[3].ends_with(" min"),
        "the price's age: {out}"
    );
    assert_eq!(rows.len(), 2, "piped: no market line: {out}");
    let info = env.ok(&["info", "AAPL"]);
    assert!(
        info.contains("stock market") && info.contains("crypto never closes"),
        "{info}"
    );

    // A user's public view, and what stays private.
    env.ok(&["register", "bob", "bob@example.com", "--password-file", &pw]);
    assert_eq!(env.ok(&["portfolio", "bob"]), "SYMBOL\tQTY\n");
    let bob = env.json(&["portfolio", "bob"]);
    assert_eq!(bob["username"], "bob");
    assert_eq!(bob["positions"], Value::Array(Vec::new()));
    let err = env.fails(&["trades", "bob"], 77);
    assert_eq!(err, "papertrader: the trades of bob are private\n");
    let public = env.json(&["user", "bob"]);
    let keys: Vec<&String> = public.as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 2, "{public}");
    assert_eq!(public["username"], "bob");
    assert!(public["created"].is_i64(), "{public}");
    let err = env.fails(&["user", "nobody"], 65);
    assert_eq!(err, "papertrader: unknown user nobody\n");

    let own = env.ok(&["user", "alice"]);
    let rows = lines(&own);
    assert_eq!(rows[0], "username\talice");
    assert_eq!(rows[1], "email\talice@example.com");
    assert!(
        rows[2].starts_with("created\t20") && rows[2].ends_with('Z'),
        "{own}"
    );
    assert_eq!(&rows[3..], ["cash\t2000.0000", "equity\t2000.0000"]);
    let own = env.json(&["user", "alice"]);
    assert_eq!(own["email"], "alice@example.com");
    assert_eq!(own["cash"], "2000.0000");
    assert!(own["created"].is_i64());

    // logout ends the session; a later command is not logged in.
    let stale = std::fs::read(env.session_file()).expect("session");
    assert_eq!(env.ok(&["logout"]), "logged out alice\n");
    assert!(!env.session_file().exists());
    let err = env.fails(&["portfolio"], 77);
    assert_eq!(
        err,
        "papertrader: not logged in; run: papertrader login USER\n"
    );
    let err = env.fails(&["logout"], 77);
    assert!(err.contains("not logged in"), "{err}");

    // A session file the server no longer knows is removed.
    std::fs::write(env.session_file(), &stale).expect("restore");
    let err = env.fails(&["quote", "AAPL"], 77);
    assert_eq!(err, "papertrader: your session has ended; log in again\n");
    assert!(!env.session_file().exists(), "stale session removed");

    // An expirable session ends with the process, so it is not saved.
    let out = env.ok(&["login", "alice", "--password-file", &pw, "--expirable"]);
    assert!(out.contains("expirable session"), "{out}");
    assert!(
        out.contains("not saved") && out.contains("papertrader shell"),
        "{out}"
    );
    assert!(!env.session_file().exists());
    env.fails(&["quote", "AAPL"], 77);
}

#[test]
fn market_data_trades_and_json() {
    let dir = TempDir::new("clit");
    let system = System::start(
        "clitr",
        &format!("short_selling = no\n{}", market(&dir)),
        "",
    );
    let worker = system.worker.addr.to_string();
    let env = Env::new("cli-trade", Some(worker.clone()));
    env.register_and_login("carol");
    env.wait_for_price();

    let quotes = env.json(&["quote", "AAPL", "msft"]);
    let list = quotes.as_array().expect("array");
    assert_eq!(list.len(), 2, "{quotes}");
    assert_eq!(
        (&list[0]["symbol"], &list[0]["price"]),
        (&"AAPL".into(), &"189.5000".into())
    );
    assert_eq!(list[1]["symbol"], "MSFT");
    assert!(list[0]["time"].is_i64());
    let err = env.fails(&["quote", "ZZZZ"], 65);
    assert_eq!(
        err,
        "papertrader: unknown symbol ZZZZ; see papertrader assets\n"
    );
    let out = env.run(&["quote", "AAPL", "zzzz"]);
    assert_eq!(out.status.code(), Some(65));
    assert!(
        stdout(&out).contains("AAPL\t189.5000\t"),
        "the good symbol is shown"
    );
    assert!(stderr(&out).contains("unknown symbol ZZZZ"));
    let err = env.fails(&["quote", "A$"], 65);
    assert!(
        err.starts_with("papertrader: symbol \"A$\": expected"),
        "{err}"
    );

    let info = env.ok(&["info", "aapl"]);
    assert!(info.starts_with("symbol\tAAPL\nopen\t189.5000\n"), "{info}");
    assert!(info.contains("\nclose\t189.5000\n"), "{info}");
    let info = env.json(&["info", "AAPL"]);
    assert_eq!(
        (&info["symbol"], &info["close"]),
        (&"AAPL".into(), &"189.5000".into())
    );
    assert!(info["volume"].is_u64() && info["time"].is_i64(), "{info}");

    assert_eq!(
        env.ok(&["assets"]),
        "SYMBOL\tNAME\nAAPL\tApple Inc.\nMSFT\tMicrosoft Corporation\n"
    );
    let assets = env.json(&["assets"]);
    assert_eq!(assets[1]["name"], "Microsoft Corporation");

    // 2 000.0000 of cash: 10 AAPL cost 1 895.0000, leaving 105.0000.
    let out = env.ok(&["buy", "aapl", "10"]);
    assert!(
        out.starts_with("bought 10 AAPL at 189.5000 for 1,895.0000 (transaction "),
        "{out}"
    );
    let err = env.fails(&["buy", "AAPL", "10"], 65);
    assert_eq!(
        err,
        "papertrader: not enough cash: 105.0000 available, 1,895.0000 needed\n"
    );
    let err = env.fails(&["sell", "AAPL", "50"], 65);
    assert_eq!(
        err,
        "papertrader: not enough shares: you hold 10 AAPL, tried to sell 50\n"
    );
    let err = env.fails(&["buy", "AAPL", "0"], 65);
    assert!(
        err.starts_with("papertrader: quantity \"0\": expected"),
        "{err}"
    );
    let err = env.fails(&["buy", "ZZZZ", "1"], 65);
    assert!(err.contains("unknown symbol ZZZZ"), "{err}");
    let fill = env.json(&["sell", "AAPL", "4"]);
    assert_eq!(fill["side"], "sell");
    assert_eq!(
        (&fill["quantity"], &fill["price"]),
        (&4.into(), &"189.5000".into())
    );
    assert_eq!(fill["amount"], "758.0000");
    assert!(fill["txid"].is_i64() && fill["time"].is_i64());

    // Cash 2 000 - 1 895 + 758 = 863; equity 863 + 6 x 189.5 = 2 000.
    assert_eq!(
        lines(&env.ok(&["portfolio"])),
        [
            "SYMBOL\tQTY\tAVG COST\tPRICE\tVALUE\tP/L\tP/L%",
            "AAPL\t6\t189.5000\t189.5000\t1137.0000\t0.0000\t0.00%",
            "TOTAL\t\t\t\t1137.0000\t0.0000\t0.00%",
            "cash\t863.0000",
            "equity\t2000.0000",
        ]
    );
    let p = env.json(&["portfolio"]);
    assert_eq!(
        (&p["cash"], &p["equity"]),
        (&"863.0000".into(), &"2000.0000".into())
    );
    let pos = &p["positions"][0];
    assert_eq!(
        (&pos["symbol"], &pos["quantity"]),
        (&"AAPL".into(), &6.into())
    );
    assert_eq!(
        (&pos["avg_cost"], &pos["value"]),
        (&"189.5000".into(), &"1137.0000".into())
    );
    assert_eq!(p["total"]["pl"], "0.0000");

    let trades = env.ok(&["trades"]);
    let rows = lines(&trades);
    assert_eq!(rows[0], "TXID\tTIME\tSIDE\tSYMBOL\tQTY\tPRICE");
    assert_eq!(rows.len(), 3, "{trades}");
    assert!(rows[1].contains("\tbuy\tAAPL\t10\t189.5000"), "{trades}");
    assert!(rows[2].contains("\tsell\tAAPL\t4\t189.5000"), "{trades}");
    let trades = env.json(&["trades"]);
    let list = trades.as_array().expect("array");
    let sides: Vec<&str> = list
        .iter()
        .map(|t| t["side"].as_str().expect("side"))
        .collect();
    assert_eq!(sides, ["buy", "sell"]);
    assert_eq!(list[0]["quantity"], 10);
    assert!(list[0]["txid"].as_i64() < list[1]["txid"].as_i64());

    // History: CSV when piped or with --csv, JSON with --json.
    let day = env.ok(&["history", "AAPL", "day"]);
    let rows = lines(&day);
    assert_eq!(rows[0], "date,open,high,low,close,volume");
    assert!(rows.len() >= 2, "today has updates: {day}");
    let f: Vec<&str> = rows[1].split(',').collect();
    assert_eq!(f.len(), 6, "{day}");
    assert!(
        f[0].len() == 20 && f[0].ends_with('Z'),
        "interval bars carry a time: {day}"
    );
    assert_eq!(f[4], "189.5000");
    let week = env.ok(&["history", "AAPL", "week", "--csv"]);
    let last = lines(&week).last().copied().expect("a bar");
    assert_eq!(
        last.split(',').next().map(str::len),
        Some(10),
        "daily bars: {week}"
    );
    let bars = env.json(&["history", "aapl", "day"]);
    let bars = bars.as_array().expect("array");
    assert!(!bars.is_empty());
    assert_eq!(bars[0]["close"], "189.5000");
    assert!(bars[0]["time"].is_i64() && bars[0]["volume"].is_u64());
    let err = env.fails(&["history", "AAPL", "week", "2026-02-30"], 65);
    assert_eq!(
        err,
        "papertrader: bad date 2026-02-30: expected a calendar day as YYYY-MM-DD\n"
    );
    env.fails(&["history", "AAPL", "all", "2026-01-01"], 64);
    env.fails(&["history", "AAPL", "fortnight"], 64);
    let old = env.ok(&["history", "AAPL", "day", "2020-01-01"]);
    assert_eq!(old, "date,open,high,low,close,volume\n", "no bars that day");

    assert_eq!(env.ok(&["workers"]), format!("{worker}\n"));
    assert_eq!(env.json(&["workers"]), serde_json::json!([worker]));
}

#[test]
fn config_file_master_discovery_and_exit_codes() {
    let dir = TempDir::new("clic");
    let system = System::start("clicf", &market(&dir), "");
    let worker = system.worker.addr.to_string();
    let master = system.master.addr.to_string();

    // No $PAPERTRADER_SERVER: the config file names the worker.
    let env = Env::new("cli-conf", None);
    env.config(&format!("# my worker\nserver = {worker}\n"));
    env.register_and_login("dave");
    env.wait_for_price();
    assert_eq!(env.ok(&["workers"]), format!("{worker}\n"));

    // --master asks the master for its workers, overriding the config.
    env.config("server = 127.0.0.1:1\n");
    let out = env.ok(&["--master", &master, "quote", "AAPL"]);
    assert!(out.contains("AAPL\t189.5000"), "{out}");
    assert_eq!(
        env.json(&["--master", &master, "workers"]),
        serde_json::json!([worker])
    );
    // ... and so does master = in the config file.
    env.config(&format!("master = {master}\n"));
    let out = env.ok(&["portfolio"]);
    assert!(out.starts_with("SYMBOL\tQTY"), "{out}");

    // -s beats everything; an unreachable server is 69.
    let err = env.fails(&["-s", "127.0.0.1:1", "workers"], 69);
    assert!(
        err.starts_with("papertrader: cannot reach the server at 127.0.0.1:1: "),
        "{err}"
    );

    // A bad config file: one line naming file and line, exit 78.
    let path = env.config(&format!("server = {worker}\nsevrer = 127.0.0.1:2049\n"));
    let err = env.fails(&["quote", "AAPL"], 78);
    assert_eq!(
        err,
        format!(
            "papertrader: {}:2: unknown key \"sevrer\", expected one of: server, master, tls, ca, providers_file\n",
            path.display()
        )
    );
    env.config("server = nowhere\n");
    let err = env.fails(&["-s", &worker, "workers"], 78);
    assert!(
        err.contains(":1: server = \"nowhere\": expected HOST:PORT"),
        "{err}"
    );
}

#[test]
fn usage_errors_and_version() {
    let env = Env::new("cli-usage", Some("127.0.0.1:1".to_string()));
    let out = env.ok(&["--version"]);
    assert!(out.starts_with("papertrader "), "{out}");
    let help = env.ok(&["--help"]);
    for command in [
        "register",
        "login",
        "logout",
        "buy",
        "sell",
        "quote",
        "info",
        "assets",
        "history",
        "portfolio",
        "trades",
        "user",
        "workers",
        "shell",
    ] {
        assert!(
            help.contains(&format!("  {command} ")),
            "{command} in --help"
        );
    }
    env.fails(&[], 64);
    env.fails(&["buy", "AAPL"], 64);
    env.fails(&["frobnicate"], 64);
    env.fails(&["-s", "no-port", "workers"], 64);
    let err = env.fails(&["workers"], 69);
    assert!(err.contains("127.0.0.1:1"), "{err}");
    let err = env.fails(&["login", "eve", "--password-file", "/nonexistent/pw"], 74);
    assert!(
        err.starts_with("papertrader: cannot read /nonexistent/pw: "),
        "{err}"
    );
}

/// `keys create|list|revoke` against real daemons, and the key at work on
/// the binary protocol: `loginApiKey` gives one session that trades, that
/// manages no keys, that survives a master restart and that ends with the
/// revoke.
#[test]
fn api_keys_are_made_listed_used_and_revoked() {
    use papertrader_common::Instr;
    use papertrader_common::value::ReasonCode;
    use util::system::call;
    use util::trader::code_of;

    let dir = TempDir::new("clikeys");
    let mut system = System::start("clikeys", &market(&dir), "");
    let env = Env::new("clikeys-home", Some(system.worker.addr.to_string()));
    env.register_and_login("alice");

    let made = env.json(&["keys", "create", "trend-bot"]);
    let id = made["key_id"].as_str().expect("key_id").to_string();
    let secret = made["secret_key"].as_str().expect("secret_key").to_string();
    assert_eq!((id.len(), &id[..2], secret.len()), (20, "PK", 64), "{made}");
    let text = env.ok(&["keys", "create"]);
    assert!(text.contains("secret key\t"), "{text}");
    assert!(text.contains("The secret is shown only now"), "{text}");
    let listed = env.json(&["keys", "list"]);
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["key_id"], id.as_str());
    assert_eq!(listed[0]["label"], "trend-bot");
    assert_eq!(listed[1]["label"], "default");
    let table = env.ok(&["keys", "list"]);
    assert!(
        !table.contains(&secret),
        "a list never shows a secret: {table}"
    );
    let err = env.fails(&["keys", "create", "two words"], 65);
    assert!(err.contains("label"), "{err}");

    // The key's session, on the binary protocol.
    let mut bot = system.client();
    let (reply, args) = call(&mut bot, Instr::LoginApiKey, &[&id, &secret]);
    assert_eq!(reply, Instr::ApiKeySession, "{args:?}");
    assert_eq!(args[1], "alice");
    let session = args[0].clone();
    let (again, args) = call(&mut bot, Instr::LoginApiKey, &[&id, &secret]);
    assert_eq!(
        (again, args[0].as_str()),
        (Instr::ApiKeySession, session.as_str())
    );
    let order = ["buy", "AAPL", "1", "limit", "1", "-", "gtc"];
    let mut place = vec![session.as_str()];
    place.extend(order);
    let (reply, args) = call(&mut bot, Instr::PlaceOrder, &place);
    assert_eq!(reply, Instr::OrderAccepted, "a key trades: {args:?}");
    let (reply, args) = call(&mut bot, Instr::CreateApiKey, &[&session, "more"]);
    assert_eq!(
        (reply, code_of(&args)),
        (Instr::ApiKeyFail, ReasonCode::Forbidden)
    );
    let (reply, args) = call(&mut bot, Instr::RevokeApiKey, &[&session, &id]);
    assert_eq!(
        (reply, code_of(&args)),
        (Instr::ApiKeyFail, ReasonCode::Forbidden)
    );

    // Wrong and malformed secrets: bad-credentials or bad-arguments, never
    // a lockout of the owner.
    let wrong = "f".repeat(64);
    for _ in 0..50 {
        let (reply, args) = call(&mut bot, Instr::LoginApiKey, &[&id, &wrong]);
        assert_eq!(
            (reply, code_of(&args)),
            (Instr::LoginFail, ReasonCode::BadCredentials)
        );
    }
    let (reply, args) = call(&mut bot, Instr::LoginApiKey, &[&id, "F00"]);
    assert_eq!(
        (reply, code_of(&args)),
        (Instr::LoginFail, ReasonCode::BadArguments)
    );
    assert!(
        !args.join(" ").contains("F00"),
        "a secret is never echoed: {args:?}"
    );
    let (reply, _) = call(&mut bot, Instr::LoginApiKey, &[&id, &secret]);
    assert_eq!(reply, Instr::ApiKeySession);

    // The key outlives a master restart (its hash key is in the database).
    system.restart_master();
    system.wait_linked(Duration::from_secs(20));
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut bot = loop {
        let mut bot = system.client();
        let (reply, args) = call(&mut bot, Instr::LoginApiKey, &[&id, &secret]);
        if reply == Instr::ApiKeySession {
            assert_eq!(args[0], session);
            break bot;
        }
        assert!(Instant::now() < deadline, "{reply:?} {args:?}");
        std::thread::sleep(Duration::from_millis(200));
    };

    let out = env.ok(&["keys", "revoke", &id.to_lowercase()]);
    assert_eq!(out, format!("revoked API key {id}\n"));
    let (reply, args) = call(&mut bot, Instr::PlaceOrder, &place);
    assert_eq!(
        (reply, code_of(&args)),
        (Instr::OrderFail, ReasonCode::BadSession),
        "revoked at once"
    );
    let (reply, args) = call(&mut bot, Instr::LoginApiKey, &[&id, &secret]);
    assert_eq!(
        (reply, code_of(&args)),
        (Instr::LoginFail, ReasonCode::BadCredentials)
    );
    let err = env.fails(&["keys", "revoke", &id], 65);
    assert!(err.contains("no API key with that id"), "{err}");
    assert_eq!(
        env.json(&["keys", "list"]).as_array().map(Vec::len),
        Some(1)
    );
}
