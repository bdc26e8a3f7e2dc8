//! Shared harness for the integration tests: finds the built binaries in
//! target/ (cargo does not build other crates' binaries for us; `make test`
//! builds them first), runs them, and reads the shared test vectors.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// Path of a workspace binary, built beforehand by `cargo build --bins`;
/// `PT_BIN_DIR` names another directory (a benchmark comparing two builds
/// drives both with the same client).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let built = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .to_path_buf();
    let dir = std::env::var_os("PT_BIN_DIR").map_or(built, PathBuf::from);
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` (or `make test`) first",
        path.display()
    );
    path
}

/// Runs `name` with `args`, feeding `stdin`, and waits for it.
pub fn run(name: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(bin(name))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
    let mut input = child.stdin.take().expect("piped stdin");
    input.write_all(stdin).expect("write stdin");
    drop(input);
    child.wait_with_output().expect("wait")
}

/// `(name, bytes)` of every frame in the protocol vectors file.
pub fn vectors() -> Vec<(String, Vec<u8>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/common/testdata/protocol-vectors.txt"
    );
    let text = std::fs::read_to_string(path).expect("protocol vectors");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, hex) = l.split_once(' ').expect("name hex");
            (name.to_string(), unhex(hex.trim()))
        })
        .collect()
}

/// Bytes of a hex string.
pub fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit pair"))
        .collect()
}

/// Stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub mod certs;
pub mod cli;
pub mod daemon;
pub mod gpg;
pub mod http;
pub mod master;
pub mod system;
pub mod trader;
pub mod webdriver;
pub mod wire;
pub mod ws;

/// A `Duration` as `{:?}` prints it (`1.5ms`, `830.1µs`, `2.1s`), as the
/// daemons' debug logs write times: the benchmarks read them back.
pub fn parse_debug_duration(text: &str) -> Option<std::time::Duration> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().ok()?;
    let secs = match unit.trim() {
        "s" => n,
        "ms" => n / 1e3,
        "µs" | "us" => n / 1e6,
        "ns" => n / 1e9,
        _ => return None,
    };
    Some(std::time::Duration::from_secs_f64(secs))
}

/// `VmRSS` of process `pid`, in KiB (0 when it cannot be read).
pub fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// A duration as the benchmarks print it: `12.3 ms`.
pub fn ms(d: std::time::Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
