//! The official Alpaca SDKs, pinned and unmodified, against the HTTP API
//! of a real worker (papertrader-api(7)): alpaca-py's TradingClient,
//! alpaca-trade-api's REST through APCA_API_BASE_URL, and ccxt's alpaca
//! class with its URLs pointed here. The Python scripts under tests/sdk/
//! make the calls and check the answers; the venvs come from the Makefile
//! (`make sdk-venvs`, part of `make test`).

mod util;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use papertrader_common::Instr;
use util::daemon::TempDir;
use util::master::hashed_pass;
use util::system::{System, aapl_btc_market, call, call_data, free_port};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's python; a missing venv fails the test with what to run.
fn python(venv: &str) -> PathBuf {
    let path = root().join("target/sdk").join(venv).join("bin/python");
    assert!(
        path.exists(),
        "{} is missing: run make sdk-venvs (make test does)",
        path.display()
    );
    path
}

/// A system with the web port, its prices in, and a fresh account with a
/// key: (system, web address, key id, secret).
fn start(tag: &str, worker_extra: &str) -> (System, SocketAddr, String, String, TempDir) {
    let dir = TempDir::new(tag);
    let web: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let system = System::start(
        tag,
        &aapl_btc_market(&dir.path, 1200),
        &format!("web_listen = {web}\n{worker_extra}"),
    );
    let mut c = system.client();
    let pass = hashed_pass("bot", "pw");
    call(&mut c, Instr::Register, &["bot", "bot@example.com", &pass]);
    let (_, a) = call(&mut c, Instr::Login, &["bot", &pass, "false"]);
    let session = a[0].clone();
    let (reply, key) = call(&mut c, Instr::CreateApiKey, &[&session, "sdk"]);
    assert_eq!(reply, Instr::ApiKeyCreated, "{key:?}");
    call(&mut c, Instr::SwitchState, &[&session, "data"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !["AAPL", "BTC"]
        .iter()
        .all(|s| call_data(&mut c, Instr::GetAssetValueCurrent, &[s]).is_ok())
    {
        assert!(std::time::Instant::now() < deadline, "no prices");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    (system, web, key[0].clone(), key[1].clone(), dir)
}

/// Runs `script` with `venv`'s python and `env`; its output on failure.
fn run(venv: &str, script: &str, env: &[(&str, String)]) {
    let mut cmd = Command::new(python(venv));
    cmd.arg(root().join("tests/sdk").join(script));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run python");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script}:\n{text}");
    assert!(text.contains("OK"), "{script}:\n{text}");
}

#[test]
fn alpaca_py_trades_through_the_worker() {
    let (system, web, key, secret, _dir) = start("sdk-alpaca-py", "");
    let env = [
        ("PT_URL", format!("http://{web}")),
        ("PT_KEY", key),
        ("PT_SECRET", secret),
    ];
    run("alpaca", "alpaca_py_check.py", &env);
    util::trader::audit_clean(&system.setup);
}

#[test]
fn alpaca_trade_api_trades_through_the_worker() {
    let (system, web, key, secret, _dir) = start("sdk-trade-api", "");
    let env = [
        ("APCA_API_BASE_URL", format!("http://{web}")),
        ("APCA_API_KEY_ID", key),
        ("APCA_API_SECRET_KEY", secret),
        ("APCA_RETRY_MAX", "0".to_string()),
    ];
    run("alpaca", "alpaca_trade_api_check.py", &env);
    util::trader::audit_clean(&system.setup);
}

#[test]
fn alpaca_trade_api_meets_the_rate_limit() {
    let (_system, web, key, secret, _dir) = start("sdk-rate", "api_rate_limit = 10\n");
    let env = [
        ("APCA_API_BASE_URL", format!("http://{web}")),
        ("APCA_API_KEY_ID", key),
        ("APCA_API_SECRET_KEY", secret),
        ("APCA_RETRY_MAX", "0".to_string()),
        ("PT_RATE_LIMITED", "1".to_string()),
    ];
    run("alpaca", "alpaca_trade_api_check.py", &env);
}

#[test]
fn ccxt_trades_crypto_through_the_worker() {
    let (system, web, key, secret, _dir) = start("sdk-ccxt", "");
    let env = [
        ("PT_URL", format!("http://{web}")),
        ("PT_KEY", key),
        ("PT_SECRET", secret),
    ];
    run("ccxt", "ccxt_check.py", &env);
    util::trader::audit_clean(&system.setup);
}
