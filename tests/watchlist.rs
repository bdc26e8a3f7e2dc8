//! Watchlists (protocol 1.2) against a real master and worker: adding,
//! listing in order, idempotent adds and removes, the refusals (unknown
//! asset, bad or ended session, bad symbols, the 101st symbol, the wrong
//! state), an API key's session, a reset and a master restart that keep
//! the list, a thousand adds pipelined unread, and `papertrader watchlist`
//! run as a process.

mod util;

use std::time::Duration;

use papertrader_common::message::frame;
use papertrader_common::payload::{Line, WatchLine};
use papertrader_common::{Frame, Instr, ReasonCode};
use serde_json::Value;
use util::cli::Env;
use util::daemon::TempDir;
use util::master::{FAST_ARGON2, hashed_pass};
use util::system::{System, call, call_data, code_of, login};
use util::wire::{Peer, instr, words};
use util::{stderr, stdout};

/// Listed assets: W000 to W119, more than a watchlist holds.
const LISTED: usize = 120;

/// Master config lines: `LISTED` simulated assets, a price set a second,
/// no back-filled history. The list file goes in `dir`.
fn market(dir: &TempDir) -> String {
    let list: String = (0..LISTED)
        .map(|i| format!("W{i:03} Watched {i}\n"))
        .collect();
    let path = dir.join("assets.list");
    std::fs::write(&path, list).expect("assets");
    format!(
        "assets_file = {}\nupdate_interval = 1s\nhistory_days = 0\nsim_seed = 7\n",
        path.display()
    )
}

/// `addToWatchlist` or `removeFromWatchlist`: the answer's instruction
/// and arguments.
fn change(c: &mut Peer, i: Instr, session: &str, symbol: &str) -> (Instr, Vec<String>) {
    call(c, i, &[session, symbol])
}

fn add(c: &mut Peer, session: &str, symbol: &str) -> (Instr, Vec<String>) {
    change(c, Instr::AddToWatchlist, session, symbol)
}

fn remove(c: &mut Peer, session: &str, symbol: &str) -> (Instr, Vec<String>) {
    change(c, Instr::RemoveFromWatchlist, session, symbol)
}

fn updated(symbol: &str) -> (Instr, Vec<String>) {
    (Instr::WatchlistUpdated, vec![symbol.to_string()])
}

/// The refusal's instruction and reason code.
fn refused(answer: (Instr, Vec<String>)) -> (Instr, ReasonCode) {
    let code = code_of(&answer.1);
    (answer.0, code)
}

/// `getWatchlist` from data state and back: the lines, oldest first.
fn list(c: &mut Peer, session: &str) -> Vec<WatchLine> {
    let (i, a) = call(c, Instr::SwitchState, &[session, "data"]);
    assert_eq!(i, Instr::StateSwitchSuccess, "{a:?}");
    let payload = call_data(c, Instr::GetWatchlist, &[session])
        .unwrap_or_else(|e| panic!("getWatchlist refused: {e:?}"));
    let (i, a) = call(c, Instr::SwitchState, &[session, "command"]);
    assert_eq!(i, Instr::StateSwitchSuccess, "{a:?}");
    let text = String::from_utf8(payload).expect("UTF-8 payload");
    papertrader_common::payload::parse_lines(&text).expect("watchlist lines")
}

fn symbols(lines: &[WatchLine]) -> Vec<String> {
    lines.iter().map(|w| w.symbol.to_string()).collect()
}

#[test]
fn adds_lists_and_removes_once() {
    let dir = TempDir::new("watch-basic");
    let system = System::start("watch-basic", &market(&dir), "");
    let mut c = system.client();
    let alice = login(&mut c, "alice");
    assert!(
        list(&mut c, &alice).is_empty(),
        "a new account watches nothing"
    );

    assert_eq!(add(&mut c, &alice, "W002"), updated("W002"));
    assert_eq!(add(&mut c, &alice, "w000"), updated("W000"), "upper-cased");
    assert_eq!(add(&mut c, &alice, "W001"), updated("W001"));
    let first = list(&mut c, &alice);
    assert_eq!(symbols(&first), ["W002", "W000", "W001"], "oldest first");
    let raw = first.iter().map(WatchLine::to_line).collect::<String>();
    assert!(raw.starts_with("W002 1") && raw.ends_with('\n'), "{raw:?}");

    // Again: success, no second line, the first time kept.
    assert_eq!(add(&mut c, &alice, "W000"), updated("W000"));
    assert_eq!(list(&mut c, &alice), first);

    assert_eq!(remove(&mut c, &alice, "W000"), updated("W000"));
    assert_eq!(
        remove(&mut c, &alice, "W000"),
        updated("W000"),
        "idempotent"
    );
    assert_eq!(
        remove(&mut c, &alice, "W119"),
        updated("W119"),
        "never there"
    );
    assert_eq!(symbols(&list(&mut c, &alice)), ["W002", "W001"]);

    // Each account its own list.
    let mut other = system.client();
    let bob = login(&mut other, "bob");
    assert!(list(&mut other, &bob).is_empty());
    assert_eq!(add(&mut other, &bob, "W005"), updated("W005"));
    assert_eq!(symbols(&list(&mut c, &alice)), ["W002", "W001"]);
}

#[test]
fn refusals_name_their_reason() {
    let dir = TempDir::new("watch-refuse");
    let system = System::start("watch-refuse", &market(&dir), "");
    let mut c = system.client();
    let nobody = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let fail = Instr::WatchlistFail;

    // Before any login: a well-formed session the master never made.
    for i in [Instr::AddToWatchlist, Instr::RemoveFromWatchlist] {
        let answer = change(&mut c, i, nobody, "W001");
        assert_eq!(refused(answer), (fail, ReasonCode::BadSession));
        let answer = change(&mut c, i, "not-a-session", "W001");
        assert_eq!(refused(answer), (fail, ReasonCode::BadSession));
    }

    let alice = login(&mut c, "alice");
    let answer = add(&mut c, &alice, "ZZZZ");
    assert_eq!(refused(answer.clone()), (fail, ReasonCode::UnknownAsset));
    assert!(answer.1[0].contains("ZZZZ"), "{answer:?}");
    // At the symbol length limit, a well-formed symbol no asset has.
    let sixteen = "ABCDEFGHIJKLMNOP";
    assert_eq!(
        refused(add(&mut c, &alice, sixteen)),
        (fail, ReasonCode::UnknownAsset)
    );
    for bad in ["ABCDEFGHIJKLMNOPQ", "$$$", "W0 01"] {
        assert_eq!(
            refused(add(&mut c, &alice, bad)),
            (fail, ReasonCode::BadArguments),
            "{bad:?}"
        );
        assert_eq!(
            refused(remove(&mut c, &alice, bad)),
            (fail, ReasonCode::BadArguments),
            "{bad:?}"
        );
    }
    // Non-UTF-8 and empty symbols are refused at the worker's edge.
    for data in [
        [alice.as_bytes(), b" W\xff\xfe"].concat(),
        [alice.as_bytes(), b" "].concat(),
    ] {
        for i in [Instr::AddToWatchlist, Instr::RemoveFromWatchlist] {
            c.send(&Frame::new(i.kind(), i.code(), 2, data.clone()));
            let answer = c.recv();
            assert_eq!(instr(&answer), fail);
            assert_eq!(code_of(&words(&answer)), ReasonCode::BadArguments);
        }
    }
    // The wrong state: getWatchlist is a data instruction, the other
    // two are commands.
    let (i, a) = call(&mut c, Instr::GetWatchlist, &[&alice]);
    assert_eq!((i, code_of(&a)), (Instr::DataFail, ReasonCode::WrongState));
    call(&mut c, Instr::SwitchState, &[&alice, "data"]);
    let (i, a) = add(&mut c, &alice, "W001");
    assert_eq!((i, code_of(&a)), (fail, ReasonCode::WrongState));
    let answer = call_data(&mut c, Instr::GetWatchlist, &[nobody]).expect_err("refused");
    assert_eq!(
        (answer.0, code_of(&answer.1)),
        (Instr::DataFail, ReasonCode::BadSession)
    );
    call(&mut c, Instr::SwitchState, &[&alice, "command"]);

    // An ended session.
    let pass = hashed_pass("alice", "pw");
    let (_, a) = call(&mut c, Instr::Login, &["alice", &pass, "false"]);
    let ended = a[0].clone();
    assert_eq!(add(&mut c, &ended, "W003"), updated("W003"));
    let (i, _) = call(&mut c, Instr::Logout, &[&ended]);
    assert_eq!(i, Instr::LogoutSuccess);
    assert_eq!(
        refused(add(&mut c, &ended, "W004")),
        (fail, ReasonCode::BadSession)
    );
    assert_eq!(
        refused(remove(&mut c, &ended, "W003")),
        (fail, ReasonCode::BadSession)
    );
    assert_eq!(symbols(&list(&mut c, &alice)), ["W003"]);
    // The other session was never touched by the refusals.
    assert_eq!(add(&mut c, &alice, "W004"), updated("W004"));
}

#[test]
fn a_watchlist_holds_a_hundred_symbols() {
    let dir = TempDir::new("watch-full");
    let system = System::start("watch-full", &market(&dir), "");
    let mut c = system.client();
    let alice = login(&mut c, "alice");
    for i in 0..100 {
        let symbol = format!("W{i:03}");
        assert_eq!(add(&mut c, &alice, &symbol), updated(&symbol));
    }
    let answer = add(&mut c, &alice, "W100");
    assert_eq!(
        refused(answer.clone()),
        (Instr::WatchlistFail, ReasonCode::WatchlistFull)
    );
    assert!(answer.1[0].contains("100"), "{answer:?}");
    // Full, one already there still succeeds; an unknown one is unknown.
    assert_eq!(add(&mut c, &alice, "W042"), updated("W042"));
    assert_eq!(
        refused(add(&mut c, &alice, "ZZZZ")),
        (Instr::WatchlistFail, ReasonCode::UnknownAsset)
    );
    let all = list(&mut c, &alice);
    assert_eq!(all.len(), 100);
    assert_eq!(
        (all[0].symbol.as_str(), all[99].symbol.as_str()),
        ("W000", "W099")
    );
    // A removal makes room for one.
    assert_eq!(remove(&mut c, &alice, "W042"), updated("W042"));
    assert_eq!(add(&mut c, &alice, "W100"), updated("W100"));
    assert_eq!(
        refused(add(&mut c, &alice, "W101")),
        (Instr::WatchlistFail, ReasonCode::WatchlistFull)
    );
    let all = symbols(&list(&mut c, &alice));
    assert_eq!(all.len(), 100);
    assert!(!all.contains(&"W042".to_string()));
    assert_eq!(all.last().map(String::as_str), Some("W100"));
}

/// An API key's session may use all three; a reset and a master restart
/// keep the list.
#[test]
fn a_key_a_reset_and_a_restart_keep_the_list() {
    let dir = TempDir::new("watch-keep");
    let extra = market(&dir);
    let mut system = System::start("watch-keep", &extra, "");
    let mut c = system.client();
    let alice = login(&mut c, "alice");
    assert_eq!(add(&mut c, &alice, "W010"), updated("W010"));

    let (i, a) = call(&mut c, Instr::CreateApiKey, &[&alice, "bot"]);
    assert_eq!(i, Instr::ApiKeyCreated, "{a:?}");
    let (i, a) = call(&mut c, Instr::LoginApiKey, &[&a[0], &a[1]]);
    assert_eq!(i, Instr::ApiKeySession, "{a:?}");
    let key = a[0].clone();
    assert_eq!(add(&mut c, &key, "W011"), updated("W011"));
    assert_eq!(add(&mut c, &key, "W012"), updated("W012"));
    assert_eq!(remove(&mut c, &key, "W012"), updated("W012"));
    assert_eq!(symbols(&list(&mut c, &key)), ["W010", "W011"]);
    let before = list(&mut c, &alice);
    assert_eq!(symbols(&before), ["W010", "W011"], "one list per account");

    let pass = hashed_pass("alice", "pw");
    let (i, a) = call(&mut c, Instr::ResetAccount, &[&alice, &pass]);
    assert_eq!(i, Instr::ResetSuccess, "{a:?}");
    assert_eq!(list(&mut c, &alice), before, "a reset keeps the watchlist");

    system.master.kill9();
    let listen = format!("listen = {}\n", system.master.addr);
    system.master = system.setup.start(&format!("{FAST_ARGON2}{listen}{extra}"));
    system.wait_linked(Duration::from_secs(30));
    let mut c = system.client();
    assert_eq!(list(&mut c, &alice), before, "kept across a restart");
    assert_eq!(add(&mut c, &alice, "W013"), updated("W013"));
}

/// A thousand adds pipelined without reading, with a removal after every
/// fifth: every one is answered, in order.
#[test]
fn a_thousand_pipelined_adds_answer_in_order() {
    let dir = TempDir::new("watch-pipe");
    let system = System::start("watch-pipe", &market(&dir), "");
    let mut c = system.client();
    let alice = login(&mut c, "alice");
    // Cycling over 60 listed symbols, every seventh an unknown one.
    let mut requests: Vec<(Instr, String)> = Vec::new();
    for n in 0..1000 {
        let symbol = if n % 7 == 3 {
            "ZZZZ".to_string()
        } else {
            format!("W{:03}", n % 60)
        };
        requests.push((Instr::AddToWatchlist, symbol.clone()));
        if n % 5 == 4 {
            requests.push((Instr::RemoveFromWatchlist, symbol));
        }
    }
    assert_eq!(requests.len(), 1200);
    let mut bytes = Vec::new();
    for (i, symbol) in &requests {
        bytes.extend(frame(*i, &[alice.as_str(), symbol]).to_bytes());
    }
    c.send_raw(&bytes);
    let mut expected = std::collections::BTreeSet::new();
    for (n, (i, symbol)) in requests.iter().enumerate() {
        let answer = c.recv();
        let unknown = symbol == "ZZZZ" && *i == Instr::AddToWatchlist;
        if unknown {
            assert_eq!(instr(&answer), Instr::WatchlistFail, "answer {n}");
            assert_eq!(code_of(&words(&answer)), ReasonCode::UnknownAsset);
        } else {
            assert_eq!(
                (instr(&answer), words(&answer)),
                (Instr::WatchlistUpdated, vec![symbol.clone()]),
                "answer {n} in order"
            );
            if *i == Instr::AddToWatchlist {
                expected.insert(symbol.clone());
            } else {
                expected.remove(symbol);
            }
        }
    }
    let listed: std::collections::BTreeSet<String> =
        symbols(&list(&mut c, &alice)).into_iter().collect();
    assert_eq!(listed, expected);
}

#[test]
fn the_watchlist_command() {
    let dir = TempDir::new("watch-cli");
    let system = System::start("watch-cli", &market(&dir), "");
    let cli = Env::new("watch-cli-home", Some(system.worker.addr.to_string()));
    let pw = cli.dir.join("pw");
    std::fs::write(&pw, "correct horse\n").expect("password file");
    let pw = pw.display().to_string();

    let err = cli.fails(&["watchlist"], 77);
    assert!(err.contains("not logged in"), "{err}");
    cli.ok(&[
        "register",
        "carol",
        "carol@example.com",
        "--password-file",
        &pw,
    ]);
    cli.ok(&["login", "carol", "--password-file", &pw]);

    assert_eq!(cli.ok(&["watchlist"]), "", "empty, piped: nothing");
    assert_eq!(cli.json(&["watchlist"]), Value::Array(Vec::new()));
    let out = cli.ok(&["watchlist", "add", "w001", "W000", "W001"]);
    assert_eq!(
        out,
        "added W001 to your watchlist\nadded W000 to your watchlist\n\
         added W001 to your watchlist\n"
    );
    let out = cli.ok(&["watchlist"]);
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert_eq!(rows[0], ["SYMBOL", "ADDED"]);
    assert_eq!((rows[1][0], rows[2][0]), ("W001", "W000"));
    assert!(rows[1][1].ends_with('Z'), "an ISO time: {out}");

    let listed = cli.json(&["watchlist"]);
    let names: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|w| w["symbol"].as_str().expect("symbol"))
        .collect();
    assert_eq!(names, ["W001", "W000"]);
    assert!(listed[0]["added"].is_string(), "{listed}");

    let removed = cli.json(&["watchlist", "remove", "W001", "W050"]);
    assert_eq!(removed, serde_json::json!({"removed": ["W001", "W050"]}));
    let added = cli.json(&["watchlist", "add", "W002"]);
    assert_eq!(added, serde_json::json!({"added": ["W002"]}));

    // A refused symbol is reported and the others still go through.
    let out = cli.run(&["watchlist", "add", "W003", "ZZZZ", "W004"]);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unknown symbol ZZZZ"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        stdout(&out),
        "added W003 to your watchlist\nadded W004 to your watchlist\n"
    );
    // A malformed one is refused before anything is sent.
    let err = cli.fails(&["watchlist", "add", "W005", "$$$"], 65);
    assert!(err.contains("symbol"), "{err}");
    cli.fails(&["watchlist", "remove"], 64);
    let rows = cli.ok(&["watchlist"]);
    let names: Vec<&str> = rows
        .lines()
        .skip(1)
        .map(|l| l.split('\t').next().unwrap_or(""))
        .collect();
    assert_eq!(names, ["W000", "W002", "W003", "W004"]);
}
