//! Price pushes (protocol 1.2 `watchPrices`, papertrader-protocol(7)
//! "Price pushes") against a real ptmasterd and ptworkerd with a CSV
//! market of a price set a second: the snapshot of every cached quote,
//! a `prices` transfer after each set between whole answers, none once
//! the connection is back in command state, the instruction refused
//! outside data state, and a thousand of them pipelined without reading.

mod util;

use std::time::{Duration, Instant};

use papertrader_common::Instr;
use papertrader_common::message::frame;
use util::daemon::TempDir;
use util::master::hashed_pass;
use util::system::{System, aapl_btc_market, call, call_data, receive_data};
use util::wire::{Peer, instr, words};

/// A client of `system` logged in as `name`, in data state, once the
/// worker has AAPL's quote cached.
fn watcher(system: &System, name: &str) -> (Peer, String) {
    let mut c = system.client();
    let pass = hashed_pass(name, "pw");
    let email = format!("{name}@example.com");
    call(&mut c, Instr::Register, &[name, &email, &pass]);
    let (_, a) = call(&mut c, Instr::Login, &[name, &pass, "false"]);
    let session = a[0].clone();
    let (answer, _) = call(&mut c, Instr::SwitchState, &[&session, "data"]);
    assert_eq!(answer, Instr::StateSwitchSuccess);
    let deadline = Instant::now() + Duration::from_secs(20);
    while call_data(&mut c, Instr::GetAssetValueCurrent, &["AAPL"]).is_err() {
        assert!(Instant::now() < deadline, "no quote within 20 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    (c, session)
}

/// Checks a payload of getAssetInfo lines and returns their symbols.
fn symbols(payload: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(payload).expect("utf-8");
    text.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(
                fields.len(),
                7,
                "SYMBOL OPEN HIGH LOW CLOSE VOLUME TIMESTAMP: {line}"
            );
            fields[0].to_string()
        })
        .collect()
}

/// The next `prices` push within `limit`, its frames checked; other
/// frames are not expected meanwhile.
fn next_push(c: &mut Peer, limit: Duration) -> Option<Vec<u8>> {
    let f = c.try_recv(limit)?;
    assert_eq!(instr(&f), Instr::Prices, "only pushes come unasked");
    assert_eq!((f.data_message_number, f.data_message_max), (1, 1));
    Some(f.data)
}

#[test]
fn a_watching_client_hears_each_price_set_until_it_leaves_data_state() {
    let dir = TempDir::new("prices-push");
    let mut system = System::start("prices-push", &aapl_btc_market(&dir.path, 300), "");
    let (mut c, session) = watcher(&system, "watcher");

    let snapshot = call_data(&mut c, Instr::WatchPrices, &[]).expect("the snapshot");
    assert_eq!(
        symbols(&snapshot),
        ["AAPL", "BTC"],
        "every quote, by symbol"
    );
    for _ in 0..3 {
        let push = next_push(&mut c, Duration::from_secs(5)).expect("a push a second");
        let got = symbols(&push);
        assert!(got.contains(&"AAPL".to_string()), "{got:?}");
    }

    // Requests meanwhile are answered whole and in order; a push comes
    // only between answers.
    for _ in 0..200 {
        c.send(&frame::<&str>(Instr::GetAssetList, &[]));
    }
    let (mut answers, mut pushes) = (0, 0);
    while answers < 200 {
        let f = c.recv();
        match instr(&f) {
            Instr::Data => {
                assert_eq!((f.data_message_number, f.data_message_max), (1, 1));
                answers += 1;
            }
            Instr::Prices => pushes += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    eprintln!("200 answers, {pushes} pushes between them");

    // Back in command state nothing more comes.
    let (answer, _) = call_until(&mut c, Instr::SwitchState, &[&session, "command"]);
    assert_eq!(answer, Instr::StateSwitchSuccess);
    assert!(
        c.try_recv(Duration::from_secs(3)).is_none(),
        "a push after leaving data state"
    );

    // The master going away and coming back: the watcher hears the sets
    // again without asking (the worker's link comes back by itself).
    let (mut w, _) = watcher(&system, "again");
    call_data(&mut w, Instr::WatchPrices, &[]).expect("snapshot");
    system.restart_master();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            Instant::now() < deadline,
            "no push after the master came back"
        );
        if next_push(&mut w, Duration::from_secs(2)).is_some() {
            break;
        }
    }
}

/// `call`, skipping the pushes that come before the answer.
fn call_until(c: &mut Peer, i: Instr, argv: &[&str]) -> (Instr, Vec<String>) {
    c.send(&frame(i, argv));
    loop {
        let f = c.recv();
        if instr(&f) != Instr::Prices {
            return (instr(&f), words(&f));
        }
    }
}

#[test]
fn watch_prices_outside_data_state_and_by_the_thousand() {
    let dir = TempDir::new("prices-hostile");
    let system = System::start("prices-hostile", &aapl_btc_market(&dir.path, 300), "");

    // Before login, and logged in but in command state: wrong-state.
    let mut stranger = system.client();
    let (answer, reason) = call(&mut stranger, Instr::WatchPrices, &[]);
    assert_eq!(answer, Instr::DataFail);
    assert!(reason[0].starts_with("wrong-state "), "{reason:?}");
    // With an argument: the frame is malformed.
    let (answer, _) = call(&mut stranger, Instr::WatchPrices, &["AAPL"]);
    assert_eq!(answer, Instr::DataFail);

    // A thousand pipelined without reading: each answered, in order,
    // and the worker serves others meanwhile.
    let (mut c, _) = watcher(&system, "flood");
    for _ in 0..1000 {
        c.send(&frame::<&str>(Instr::WatchPrices, &[]));
    }
    std::thread::sleep(Duration::from_secs(2));
    let (mut other, _) = watcher(&system, "other");
    assert!(call_data(&mut other, Instr::GetAssetList, &[]).is_ok());
    let mut snapshots = 0;
    while snapshots < 1000 {
        match receive_data(&mut c) {
            Ok(payload) => {
                assert_eq!(symbols(&payload), ["AAPL", "BTC"]);
                snapshots += 1;
            }
            Err((Instr::Prices, _)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    // Still watching, once.
    let push = next_push(&mut c, Duration::from_secs(5)).expect("a push");
    assert!(symbols(&push).contains(&"AAPL".to_string()));
}
