//! ptbench against real daemons: every scenario runs and reports in JSON,
//! bad options exit 64, an unreachable worker 69, and (where redis-server
//! is installed) the redis mode drives it through the same loop.

mod util;

use std::process::{Command, Stdio};
use std::time::Duration;

use util::daemon::TempDir;
use util::system::System;

/// Master config for a CSV feed of AAPL and MSFT at 10.0000, one price
/// set a second, and room for the test's registrations.
fn market(dir: &TempDir) -> String {
    let mut csv = String::from("Symbol,Date,Time,Open,High,Low,Close,Volume\n");
    for _ in 0..600 {
        for symbol in ["AAPL", "MSFT"] {
            csv.push_str(&format!("{symbol},2026-11-20,10:00:00,10,10,10,10,1000\n"));
        }
    }
    std::fs::write(dir.join("bars.csv"), csv).expect("csv");
    std::fs::write(
        dir.join("assets.list"),
        "AAPL Apple Inc.\nMSFT Microsoft Corp.\n",
    )
    .expect("assets");
    format!(
        "price_source = csv\ncsv_file = {}\nassets_file = {}\nupdate_interval = 1s\nregister_limit = 1000\n",
        dir.join("bars.csv").display(),
        dir.join("assets.list").display()
    )
}

fn ptbench(args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = util::run("ptbench", args, b"");
    let stdout = util::stdout(&out);
    let json = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), json, util::stderr(&out))
}

fn count(json: &serde_json::Value, op: &str) -> u64 {
    json["ops"][op]["count"].as_u64().unwrap_or(0)
}

#[test]
fn every_scenario_runs_and_reports() {
    let dir = TempDir::new("ptbench");
    let system = System::start("ptbench", &market(&dir), "");
    let worker = system.worker.addr.to_string();
    // Quotes reach the worker's cache with the first price set.
    std::thread::sleep(Duration::from_secs(2));
    let base = [
        "-s",
        worker.as_str(),
        "-c",
        "8",
        "--warmup",
        "0.3",
        "--json",
        "--users",
        "2",
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        ptbench(&args)
    };
    let (code, json, err) = run(&["-d", "1", "--scenario", "quotes"]);
    assert_eq!(code, Some(0), "{err} {json}");
    assert!(count(&json, "quote") > 100, "{json}");
    assert_eq!(json["connections"], 8);
    assert!(json["ops"]["quote"]["p99_us"].as_u64() >= json["ops"]["quote"]["p50_us"].as_u64());

    let (code, json, err) = run(&["-d", "1", "--scenario", "readers"]);
    assert_eq!(code, Some(0), "{err} {json}");
    assert!(
        count(&json, "quote") > 10 && count(&json, "history") > 10,
        "{json}"
    );

    let (code, json, err) = run(&["-d", "1", "--scenario", "orders"]);
    assert_eq!(code, Some(0), "{err} {json}");
    assert!(
        count(&json, "place") > 5 && count(&json, "cancel") > 5,
        "{json}"
    );

    // Half the connections trade every 0.5 s: buys and sells fill at the
    // 1 s price sets.
    let (code, json, err) = run(&[
        "-d",
        "3",
        "--scenario",
        "trade",
        "--traders",
        "50",
        "--trade-every",
        "0.5",
    ]);
    assert_eq!(code, Some(0), "{err} {json}");
    assert!(
        count(&json, "buy") > 0 && count(&json, "sell") > 0,
        "{json}"
    );

    let (code, json, err) = run(&["-d", "1", "--rate", "400", "--scenario", "quotes"]);
    assert_eq!(code, Some(0), "{err} {json}");
    assert_eq!(json["loop"], "open");
    let quotes = count(&json, "quote");
    assert!((300..=500).contains(&quotes), "about 400 in 1 s: {json}");

    let (code, json, err) = run(&["-d", "1", "--scenario", "login"]);
    assert_eq!(code, Some(0), "{err} {json}");
    assert!(count(&json, "login") > 0, "{json}");

    // The human summary.
    let out = util::run(
        "ptbench",
        &["-s", &worker, "-c", "2", "-d", "0.5", "--warmup", "0"],
        b"",
    );
    let text = util::stdout(&out);
    assert!(
        text.starts_with("ptbench: quotes, 2 connections (2 running)"),
        "{text}"
    );
    assert!(text.contains("p99.9 ms"), "{text}");
    let sock = system.setup.control_socket();
    let audit = util::run("ptctl", &["-s", sock.to_str().expect("path"), "audit"], b"");
    assert_eq!(audit.status.code(), Some(0), "{}", util::stdout(&audit));
}

/// A user registered by one run is logged in by the next, not registered
/// again, and a fresh run tries one login that fails, not one per user:
/// repeated runs stay within small registration and failed-login limits.
#[test]
fn repeated_runs_register_each_user_once() {
    let dir = TempDir::new("ptbench-again");
    let conf = market(&dir).replace(
        "register_limit = 1000",
        "register_limit = 5\nrate_limit_failures = 2",
    );
    let system = System::start("ptbench-again", &conf, "");
    let worker = system.worker.addr.to_string();
    std::thread::sleep(Duration::from_secs(2));
    for run in 0..3 {
        let (code, json, err) = ptbench(&[
            "-s", &worker, "-c", "5", "-d", "0.3", "--warmup", "0", "--json", "--users", "5",
        ]);
        assert_eq!(code, Some(0), "run {run}: {err} {json}");
        assert!(count(&json, "quote") > 0, "run {run}: {json}");
    }
}

#[test]
fn bad_options_and_unreachable_servers() {
    for args in [
        &["-c", "0"][..],
        &["--rate", "-1"],
        &["--rate", "nan"],
        &["-d", "0"],
        &["--traders", "101"],
        &["--symbols", "$$$"],
        &["--date", "2026-02-30"],
        &["--users", "0"],
        &["--user-prefix", "a b"],
        &["-s", "tls://127.0.0.1:1"],
        &["--redis", "127.0.0.1:1", "-s", "127.0.0.1:2"],
        &["--scenario", "nope"],
    ] {
        let out = util::run("ptbench", args, b"");
        assert_eq!(
            out.status.code(),
            Some(64),
            "{args:?}: {}",
            util::stderr(&out)
        );
        assert_eq!(util::stderr(&out).lines().count().min(1), 1, "{args:?}");
    }
    // Port 1 on loopback: nothing listens.
    let out = util::run("ptbench", &["-s", "127.0.0.1:1", "-d", "0.5"], b"");
    assert_eq!(out.status.code(), Some(69), "{}", util::stderr(&out));
    assert!(util::stderr(&out).starts_with("ptbench: 127.0.0.1:1: "));
}

#[test]
fn redis_mode_uses_the_same_loop() {
    let Ok(path) = which("redis-server") else {
        eprintln!("redis-server is not installed: skipped");
        return;
    };
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let mut redis = Command::new(path)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server");
    let addr = format!("127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..50 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let result = up.then(|| {
        ptbench(&[
            "--redis", &addr, "-c", "4", "-d", "0.5", "--warmup", "0", "--json",
        ])
    });
    let _ = redis.kill();
    let _ = redis.wait();
    let (code, json, err) = result.expect("redis-server came up");
    assert_eq!(code, Some(0), "{err} {json}");
    assert_eq!(json["scenario"], "redis");
    assert!(count(&json, "get") > 100, "{json}");
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
        .ok_or(())
}
