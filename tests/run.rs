//! `make run` end to end: etc/run-local.sh on a fresh RUN_DIR makes the
//! keys, registers the worker and starts both daemons; the README's
//! `ptwire encode getWorkerList | nc | ptwire decode` shows the worker,
//! `papertrader` reaches it over TLS with the local CA it made; a
//! Ctrl-C (SIGINT to the process group) stops everything within 5 s. And
//! `make run PT_ASSETS=... PT_MASTER_EXTRA=...` runs on that asset list and
//! those lines, and refuses a bad line before it starts anything.

mod util;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::daemon::TempDir;
use util::system::free_port;

/// Whether a process (or, for a negative id, any process of that group) is
/// alive.
fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only asks whether the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[test]
fn make_run_starts_the_system_and_ctrl_c_stops_it() {
    let dir = TempDir::new("run");
    let (mut child, rx, (master_port, worker_port)) = start_run(&dir, &[]);
    let pgid = child.id() as i32;
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !seen
        .iter()
        .any(|l: &String| l.contains("PaperTrader is up"))
    {
        let left = deadline
            .checked_duration_since(Instant::now())
            .expect("came up within 60 s");
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("no ready line; saw {seen:?}"),
        }
    }
    let ready = seen.last().expect("ready line");
    assert!(
        ready.contains(&format!("clients connect to 127.0.0.1:{worker_port}")),
        "{ready}"
    );

    let ptwire = util::bin("ptwire");
    let pipeline = format!(
        "{w} encode getWorkerList | nc -q 2 127.0.0.1 {master_port} | {w} decode",
        w = ptwire.display()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(&pipeline)
        .output()
        .expect("sh");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("return workerList 127.0.0.1:{worker_port}\n"),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // TLS works out of the box: the local CA that make run made.
    let ca = dir.join("var/tls/ca.pem");
    let home = dir.join("home");
    let out = Command::new(util::bin("papertrader"))
        .args(["-s", &format!("tls://127.0.0.1:{worker_port}"), "--ca"])
        .arg(&ca)
        .arg("workers")
        .env("HOME", &home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("PAPERTRADER_SERVER")
        .output()
        .expect("papertrader");
    assert!(
        out.status.success(),
        "papertrader over TLS: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = dir.join("var/tls/privkey.pem");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key).expect("key").permissions(),
    );
    assert_eq!(mode & 0o077, 0, "the TLS key is private");

    // The README's ptbench line, shortened: a summary with no failure.
    let out = Command::new(util::bin("ptbench"))
        .args([
            "-s",
            &format!("127.0.0.1:{worker_port}"),
            "-c",
            "5",
            "-d",
            "1",
            "--warmup",
            "0.5",
        ])
        .output()
        .expect("ptbench");
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && summary.starts_with("ptbench: quotes, 5 connections (5 running)"),
        "ptbench against make run: {summary}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let start = Instant::now();
    // SAFETY: SIGINT to the process group the test created, as Ctrl-C would.
    unsafe { libc::kill(-pgid, libc::SIGINT) };
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "make run stopped within 5 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        status.success(),
        "run-local.sh exits 0 on Ctrl-C: {status:?}"
    );
    // Nothing of the group is left running: both daemons stopped too.
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        !alive(-pgid),
        "a member of the process group outlived Ctrl-C"
    );
    let master_log = std::fs::read_to_string(dir.join("var/ptmasterd.log")).expect("master log");
    assert!(master_log.contains("stopped"), "{master_log}");
}

/// Starts run-local.sh on `dir` with the test ports and `env`; its child,
/// its standard error's lines, and the (master, worker) ports.
fn start_run(
    dir: &TempDir,
    env: &[(&str, String)],
) -> (
    std::process::Child,
    std::sync::mpsc::Receiver<String>,
    (u16, u16),
) {
    let bin_dir = util::bin("ptmasterd")
        .parent()
        .expect("target dir")
        .to_path_buf();
    let (master_port, worker_port) = (free_port(), free_port());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/etc/run-local.sh");
    let mut command = Command::new(script);
    command
        .env("RUN_DIR", dir.join("var"))
        .env("BIN", &bin_dir)
        .env("PT_MASTER_LISTEN", format!("127.0.0.1:{master_port}"))
        .env("PT_WORKER_LISTEN", format!("127.0.0.1:{worker_port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("run-local.sh");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx, (master_port, worker_port))
}

#[test]
fn make_run_takes_an_asset_list_and_extra_lines() {
    let dir = TempDir::new("run-assets");
    let list = dir.join("mine.list");
    std::fs::write(&list, "ZZA market=always Zed A\nZZB Zed B\n").expect("list");
    let env = [
        ("PT_ASSETS", list.to_str().expect("path").to_string()),
        (
            "PT_MASTER_EXTRA",
            "update_interval = 1s\nhistory_days = 5".to_string(),
        ),
    ];
    let (mut child, lines, (_, worker_port)) = start_run(&dir, &env);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .expect("came up within 60 s");
        match lines.recv_timeout(left) {
            Ok(line) if line.contains("PaperTrader is up") => break,
            Ok(_) => {}
            Err(_) => panic!("no ready line"),
        }
    }
    let home = dir.join("home");
    let pw = dir.join("pw");
    std::fs::write(&pw, "correct horse\n").expect("password file");
    let papertrader = |args: &[&str]| {
        Command::new(util::bin("papertrader"))
            .args(["-s", &format!("127.0.0.1:{worker_port}")])
            .args(args)
            .env("HOME", &home)
            .env("XDG_STATE_HOME", home.join("state"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env_remove("PAPERTRADER_SERVER")
            .output()
            .expect("papertrader")
    };
    let pw = pw.to_str().expect("path");
    for args in [
        ["register", "ann", "ann@example.com", "--password-file", pw].as_slice(),
        ["login", "ann", "--password-file", pw].as_slice(),
    ] {
        let out = papertrader(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
    }
    let out = papertrader(&["assets"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let symbols: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        symbols.contains(&"ZZA") && symbols.contains(&"ZZB") && !symbols.contains(&"AAPL"),
        "{text}"
    );
    let conf = std::fs::read_to_string(dir.join("var/ptmasterd.conf")).expect("conf");
    assert!(
        !conf.contains("assets_file"),
        "the first run's file stays as it was"
    );
    // SAFETY: SIGINT to the process group the script leads.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) };
    assert!(child.wait().expect("wait").success());

    // A bad line stops it before anything starts, saying where.
    let env = [("PT_MASTER_EXTRA", "update_interval = soon".to_string())];
    let (mut child, lines, _) = start_run(&dir, &env);
    let status = child.wait().expect("wait");
    assert!(!status.success());
    let said: Vec<String> = lines.iter().collect();
    assert!(
        said.iter().any(|l| l.contains("update_interval")),
        "{said:?}"
    );
}
