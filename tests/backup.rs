//! `ptctl backup FILE` (ptctl(8)): a consistent copy of the master's
//! database taken while traders trade, restored as ptmasterd(8) says (stop
//! the master, put the copy in place of the database, start it): the
//! accounts and sessions are there and `ptctl audit` is clean. Also the
//! WAL left by a clean stop, and the copy's refusals.

mod util;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use papertrader_common::Instr;
use util::master::{FAST_ARGON2, MasterSetup};
use util::trader::{Trader, audit_clean};

/// A simulated market with a price set every second.
const CONFIG: &str = "update_interval = 1s\n";

fn ptctl(setup: &MasterSetup, args: &[&str]) -> std::process::Output {
    let sock = setup.control_socket();
    let mut all = vec!["-s", sock.to_str().expect("path")];
    all.extend_from_slice(args);
    util::run("ptctl", &all, b"")
}

#[test]
fn a_backup_taken_under_load_restores_with_a_clean_audit() {
    let setup = MasterSetup::new("backup-load");
    let config = format!("{FAST_ARGON2}{CONFIG}");
    let mut master = setup.start(&config);
    let mut ann = Trader::register(&setup, &master, "ann");
    ann.wait_price("AAPL");
    let (instr, args) = ann.buy("AAPL", "3");
    assert_eq!(instr, Instr::PurchaseSuccess, "{args:?}");

    // Another trader buys and sells without pause while the copy is made.
    let bob = Trader::register(&setup, &master, "bob");
    let stop = Arc::new(AtomicBool::new(false));
    let trades = Arc::new(Mutex::new(0u32));
    let load = {
        let (stop, trades) = (stop.clone(), trades.clone());
        thread::spawn(move || {
            let mut bob = bob;
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) && n < 200 {
                let session = bob.session.clone();
                let instr = if n.is_multiple_of(2) {
                    Instr::PurchaseAsset
                } else {
                    Instr::SellAsset
                };
                let (_, _) = bob.w.request(instr, &[&session, "AAPL", "1"]);
                // An order that waits, placed and cancelled.
                let id = bob.accepted("buy AAPL 1 limit 1 - gtc");
                let (i, a) = bob.w.request(Instr::CancelOrder, &[&session, &id]);
                assert_eq!(i, Instr::CancelSuccess, "{a:?}");
                n += 1;
                *trades.lock().expect("count") = n;
            }
        })
    };
    thread::sleep(Duration::from_secs(2));
    let copy = setup.dir.join("copy.db");
    let out = ptctl(&setup, &["backup", copy.to_str().expect("path")]);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("backed up "), "{said}");
    thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    load.join().expect("load");
    assert!(
        *trades.lock().expect("count") >= 2,
        "trading went on meanwhile"
    );
    let mode = std::fs::metadata(&copy).expect("copy").permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );

    // Restore: stop, put the copy in place of the database, start.
    master.signal(libc::SIGTERM);
    master.wait_exit(Duration::from_secs(10));
    let db = setup.dir.join("master.db");
    let wal = setup.dir.join("master.db-wal");
    let wal_left = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(wal_left, 0, "a clean stop leaves no WAL to replay");
    std::fs::copy(&copy, &db).expect("restore");
    for side in ["master.db-wal", "master.db-shm"] {
        let _ = std::fs::remove_file(setup.dir.join(side));
    }
    let master = setup.start(&config);
    audit_clean(&setup);
    // ann's session and holdings came back with the copy.
    ann.relink(&setup, &master);
    let portfolio = ann.portfolio();
    assert!(portfolio.starts_with("AAPL 3 "), "{portfolio}");
}

#[test]
fn backup_refuses_an_existing_file_and_a_missing_directory() {
    let setup = MasterSetup::new("backup-refusals");
    let _master = setup.start(&format!("{FAST_ARGON2}{CONFIG}"));
    let taken = setup.dir.join("taken.db");
    std::fs::write(&taken, b"keep me").expect("file");
    let out = ptctl(&setup, &["backup", taken.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(70), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("cannot back up to"), "{said}");
    assert_eq!(std::fs::read(&taken).expect("file"), b"keep me");
    let nowhere = setup.dir.join("no/such/dir/copy.db");
    let out = ptctl(&setup, &["backup", nowhere.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(70), "{out:?}");
    // A relative name is the caller's: ptctl makes it absolute.
    let out = std::process::Command::new(util::bin("ptctl"))
        .current_dir(&setup.dir.path)
        .args(["-s", setup.control_socket().to_str().expect("path")])
        .args(["backup", "relative copy.db"])
        .output()
        .expect("ptctl");
    assert!(out.status.success(), "{out:?}");
    assert!(setup.dir.join("relative copy.db").exists());
    // Usage: a name is needed, and only one.
    assert_eq!(ptctl(&setup, &["backup"]).status.code(), Some(64));
    assert_eq!(ptctl(&setup, &["backup", "a", "b"]).status.code(), Some(64));
}
