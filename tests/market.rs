//! Market data end to end: a real master with a price source, a real
//! worker, and clients asking every data instruction of PROTOCOL.md
//! section 4 through the worker.

mod util;

use std::time::{Duration, Instant};

use papertrader_common::value::{Date, Money, Timestamp};
use papertrader_common::{Instr, ReasonCode};
use util::daemon::TempDir;
use util::master::hashed_pass;
use util::system::{System, call, call_data};
use util::wire::Peer;

fn code_of(args: &[String]) -> ReasonCode {
    let reason = args.last().expect("a reason");
    ReasonCode::parse(reason.split(' ').next().expect("a code")).expect("known code")
}

/// A client logged in and switched to data state.
fn data_client(system: &System, user: &str) -> Peer {
    let mut c = system.client();
    let pass = hashed_pass(user, "pw");
    let (i, _) = call(&mut c, Instr::Register, &[user, "m@example.com", &pass]);
    assert_eq!(i, Instr::RegisterSuccess);
    let (_, a) = call(&mut c, Instr::Login, &[user, &pass, "true"]);
    let (i, _) = call(&mut c, Instr::SwitchState, &[&a[0], "data"]);
    assert_eq!(i, Instr::StateSwitchSuccess);
    c
}

fn text(payload: Vec<u8>) -> String {
    String::from_utf8(payload).expect("UTF-8 payload")
}

/// Asks until the master has a price (the first update may still run).
fn wait_for_price(c: &mut Peer, symbol: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match call_data(c, Instr::GetAssetValueCurrent, &[symbol]) {
            Ok(payload) => return text(payload),
            Err((i, a)) => {
                assert_eq!((i, code_of(&a)), (Instr::DataFail, ReasonCode::Unavailable));
                assert!(
                    Instant::now() < deadline,
                    "no price for {symbol} within 20 s"
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

/// Checks a bar line: `TIMESTAMP OPEN HIGH LOW CLOSE VOLUME`.
fn check_bar(line: &str) -> (i64, Money, Money, Money, Money) {
    let f: Vec<&str> = line.split(' ').collect();
    assert_eq!(f.len(), 6, "bar line {line:?}");
    let t: i64 = f[0].parse().expect("timestamp");
    let m = |s: &str| {
        assert_eq!(
            s.split('.').nth(1).map(str::len),
            Some(4),
            "four decimals in {s}"
        );
        Money::parse(s).expect("money")
    };
    let (o, h, l, c) = (m(f[1]), m(f[2]), m(f[3]), m(f[4]));
    assert!(
        h >= o && h >= c && l <= o && l <= c && l.0 > 0,
        "sane bar {line}"
    );
    f[5].parse::<u64>().expect("volume");
    (t, o, h, l, c)
}

fn assets_file(dir: &TempDir, lines: &str) -> String {
    let path = dir.join("assets.list");
    std::fs::write(&path, lines).expect("assets.list");
    format!("assets_file = {}\n", path.display())
}

#[test]
fn every_data_instruction_through_the_worker() {
    let dir = TempDir::new("mkt");
    let assets = assets_file(&dir, "msft Microsoft Corporation\nAAPL Apple Inc.\n");
    let master = format!("{assets}update_interval = 1s\nhistory_days = 60\nsim_seed = 7\n");
    let system = System::start("mkt", &master, "history_cache_ttl = 1s\n");
    let mut c = data_client(&system, "mia");

    let list = text(call_data(&mut c, Instr::GetAssetList, &[]).expect("list"));
    assert_eq!(
        list, "AAPL Apple Inc.\nMSFT Microsoft Corporation\n",
        "sorted by symbol"
    );

    let current = wait_for_price(&mut c, "aapl");
    let f: Vec<&str> = current.trim_end().split(' ').collect();
    assert_eq!((f.len(), f[0]), (3, "AAPL"), "{current:?}");
    Money::parse(f[1]).expect("price");
    let now = Timestamp::now().0;
    let ts: i64 = f[2].parse().expect("timestamp");
    assert!(
        (now - 30..=now + 1).contains(&ts),
        "recent update time {ts}"
    );

    let info = text(call_data(&mut c, Instr::GetAssetInfo, &["AAPL"]).expect("info"));
    let f: Vec<&str> = info.trim_end().split(' ').collect();
    assert_eq!(
        (f.len(), f[0]),
        (7, "AAPL"),
        "SYMBOL OPEN HIGH LOW CLOSE VOLUME TIMESTAMP: {info:?}"
    );

    let today = Date::of_timestamp(Timestamp::now());
    let today_text = today.to_string();
    let day =
        text(call_data(&mut c, Instr::GetAssetValueDay, &["AAPL", &today_text]).expect("day"));
    assert!(!day.is_empty(), "today has ticks");
    for line in day.lines() {
        let (t, ..) = check_bar(line);
        assert_eq!(
            Date::of_timestamp(Timestamp(t)),
            today,
            "tick inside the day"
        );
    }
    let week =
        text(call_data(&mut c, Instr::GetAssetValueWeek, &["AAPL", &today_text]).expect("week"));
    let days: Vec<i64> = week.lines().map(|l| check_bar(l).0).collect();
    assert_eq!(days.len(), 7, "7 daily bars ending today: {week}");
    assert_eq!(*days.last().expect("today"), today.start().0);
    assert!(
        days.windows(2).all(|w| w[1] - w[0] == 86_400),
        "consecutive days, oldest first"
    );
    let month =
        text(call_data(&mut c, Instr::GetAssetValueMonth, &["AAPL", &today_text]).expect("month"));
    assert!(
        (28..=31).contains(&month.lines().count()),
        "a month of daily bars: {}",
        month.lines().count()
    );
    let year =
        text(call_data(&mut c, Instr::GetAssetValueYear, &["AAPL", &today_text]).expect("year"));
    let months: Vec<i64> = year.lines().map(|l| check_bar(l).0).collect();
    assert!(
        (2..=4).contains(&months.len()),
        "60 days span 2-4 months: {year}"
    );
    for t in &months {
        let d = Date::of_timestamp(Timestamp(*t)).0;
        assert_eq!(d.day(), 1, "monthly bars start on the 1st");
    }
    let all = text(call_data(&mut c, Instr::GetAssetValueAllTime, &["AAPL"]).expect("all time"));
    assert_eq!(all, year, "all history is within the year");

    let old = call_data(&mut c, Instr::GetAssetValueDay, &["AAPL", "2020-01-01"]).expect("empty");
    assert!(
        old.is_empty(),
        "a day outside retention is an empty transfer"
    );
    let err =
        call_data(&mut c, Instr::GetAssetValueWeek, &["ZZZZ", &today_text]).expect_err("unknown");
    assert_eq!(
        (err.0, code_of(&err.1)),
        (Instr::DataFail, ReasonCode::UnknownAsset)
    );
    let err =
        call_data(&mut c, Instr::GetAssetValueDay, &["AAPL", "2026-02-30"]).expect_err("bad date");
    assert_eq!(
        (err.0, code_of(&err.1)),
        (Instr::DataFail, ReasonCode::BadDate)
    );
    let err = call_data(&mut c, Instr::GetAssetValueCurrent, &["ZZZZ"]).expect_err("unknown");
    assert_eq!(
        (err.0, code_of(&err.1)),
        (Instr::DataFail, ReasonCode::UnknownAsset)
    );
    let err = call_data(&mut c, Instr::GetAssetInfo, &["A$"]).expect_err("malformed");
    assert_eq!(
        (err.0, code_of(&err.1)),
        (Instr::DataFail, ReasonCode::BadArguments)
    );
}

#[test]
fn quotes_are_answered_from_the_worker_cache() {
    let dir = TempDir::new("mktcache");
    let master = format!(
        "{}update_interval = 1s\nhistory_days = 5\n",
        assets_file(&dir, "SPY S&P 500\n")
    );
    let system = System::start("mktcache", &master, "");
    let mut c = data_client(&system, "noah");
    wait_for_price(&mut c, "SPY");
    // Give the quotes push a moment to reach the worker, then take the master away.
    std::thread::sleep(Duration::from_millis(1500));
    let mut master = system.master;
    master.kill9();
    let quote =
        text(call_data(&mut c, Instr::GetAssetValueCurrent, &["SPY"]).expect("cached quote"));
    assert!(quote.starts_with("SPY "), "{quote}");
    let info = text(call_data(&mut c, Instr::GetAssetInfo, &["spy"]).expect("cached info"));
    assert_eq!(info.split(' ').count(), 7, "{info}");
}

#[test]
fn long_day_arrives_in_numbered_packets() {
    use papertrader_common::value::Symbol;
    use papertrader_master::market::{Bar, Tick, store};
    let dir = TempDir::new("mktlong");
    let master = format!(
        "{}update_interval = 1s\nhistory_days = 5\ntick_retention_days = 3650\n",
        assets_file(&dir, "KO The Coca-Cola Company\n")
    );
    // 2,000 one-second ticks of 2024-11-21, stored by the master's own code
    // into the database it is about to open.
    let system = System::start_with("mktlong", &master, "", |setup| {
        let conn = papertrader_master::db::open(&setup.dir.join("master.db")).expect("db");
        let day = Date::parse("2024-11-21").expect("date").start().0;
        let ticks: Vec<Tick> = (0..2000)
            .map(|i| {
                let p = Money(600_000 + i);
                let bar = Bar {
                    time: Timestamp(day + 36_000 + i),
                    open: p,
                    high: p,
                    low: p,
                    close: p,
                    volume: 100,
                };
                Tick {
                    symbol: Symbol::parse("KO").expect("symbol"),
                    bar,
                }
            })
            .collect();
        assert_eq!(store::store_ticks(&conn, &ticks).expect("store"), 2000);
    });
    let mut c = data_client(&system, "olga");
    // call_data checks that packets arrive numbered 1..N in order.
    let day = text(call_data(&mut c, Instr::GetAssetValueDay, &["KO", "2024-11-21"]).expect("day"));
    assert!(
        day.len() > 65_536,
        "needs several packets: {} bytes",
        day.len()
    );
    let times: Vec<i64> = day.lines().map(|l| check_bar(l).0).collect();
    assert_eq!(times.len(), 2000);
    assert!(
        times.windows(2).all(|w| w[1] == w[0] + 1),
        "every tick, oldest first"
    );
    let first = day.lines().next().expect("first");
    assert_eq!(first, "1732183200 60.0000 60.0000 60.0000 60.0000 100");
}

#[test]
fn csv_source_prices_reach_clients_exactly() {
    let dir = TempDir::new("mktcsv");
    let csv = dir.join("bars.csv");
    std::fs::write(
        &csv,
        "Symbol,Date,Time,Open,High,Low,Close,Volume\n\
         AAPL,2024-11-21,15:59:00,188.0000,191.2500,187.5000,189.5000,53200000\n",
    )
    .expect("csv");
    let master = format!(
        "{}price_source = csv\ncsv_file = {}\nupdate_interval = 1s\n",
        assets_file(&dir, "AAPL Apple Inc.\n"),
        csv.display()
    );
    let system = System::start("mktcsv", &master, "");
    let mut c = data_client(&system, "pia");
    let current = wait_for_price(&mut c, "AAPL");
    assert!(current.starts_with("AAPL 189.5000 "), "{current}");
    let today = Date::of_timestamp(Timestamp::now()).to_string();
    let day = text(call_data(&mut c, Instr::GetAssetValueDay, &["AAPL", &today]).expect("day"));
    let first = day.lines().next().expect("one tick");
    assert!(
        first.ends_with(" 188.0000 191.2500 187.5000 189.5000 53200000"),
        "{first}"
    );
}

/// A tiny HTTP server on loopback answering each request with the next
/// canned response (the last one repeats); returns its port.
fn http_server(responses: Vec<String>) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().take(1000).enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            let body = &responses[n.min(responses.len() - 1)];
            let _ = stream.write_all(body.as_bytes());
        }
    });
    port
}

fn http_ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn http_source_failure_keeps_the_last_prices() {
    let dir = TempDir::new("mkthttp");
    let good = http_ok(
        "Symbol,Date,Time,Open,High,Low,Close,Volume\r\n\
         AAPL.US,2026-11-20,22:00:09,188,191.25,187.5,189.12345,53200000\r\n",
    );
    let broken =
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let port = http_server(vec![good, broken.to_string()]);
    let master = format!(
        "{}price_source = http\nhttp_quote_url = http://127.0.0.1:{port}/q/l/?s={{symbols}}&e=csv\n\
         update_interval = 1s\nhttp_timeout = 2s\n",
        assets_file(&dir, "AAPL.US Apple Inc.\n")
    );
    let system = System::start("mkthttp", &master, "");
    let mut c = data_client(&system, "quinn");
    let first = wait_for_price(&mut c, "AAPL.US");
    assert!(
        first.starts_with("AAPL.US 189.1235 "),
        "rounded half away from zero: {first}"
    );
    // Several intervals of 500s later the last good price still stands.
    std::thread::sleep(Duration::from_secs(3));
    let later = text(call_data(&mut c, Instr::GetAssetValueCurrent, &["AAPL.US"]).expect("price"));
    assert!(later.starts_with("AAPL.US 189.1235 "), "{later}");
    let log = std::fs::read_to_string(system.setup.log_file()).unwrap_or_default();
    let log = log + &system.master.stderr_with("500");
    assert!(log.contains("500"), "the failure is logged");
}
