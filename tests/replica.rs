//! Continuous replication with Litestream (ptmasterd(8), section
//! "Continuous replication"): a master with `wal_autocheckpoint = 0` and
//! Litestream replicating its database to a file replica while a trader
//! trades; then both are killed (SIGKILL) and the database files deleted,
//! as when the master's disk is lost; `litestream restore` makes the
//! database again from the replica and a master started on it has the
//! acknowledged trade, the open order and the session, and a clean audit.
//!
//! Litestream is the release `make test` installs under target/litestream,
//! pinned with its hashes in tests/litestream-requirements.txt
//! (`PT_LITESTREAM` names another binary). The drill of
//! the whole failover, with network namespaces, is `make drill`.

mod util;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use papertrader_common::Instr;
use papertrader_common::value::OrderStatus;
use util::master::{FAST_ARGON2, MasterSetup};
use util::trader::{Trader, audit_clean};

/// 1 s prices; checkpoints left to Litestream, as its documentation asks.
const CONFIG: &str = "update_interval = 1s\nwal_autocheckpoint = 0\n";

fn litestream() -> PathBuf {
    let path = std::env::var_os("PT_LITESTREAM").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/litestream/bin/litestream"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} is missing: make test installs it (make target/litestream/bin/litestream)",
        path.display()
    );
    path
}

/// `litestream replicate`, killed when dropped.
struct Replicator(Child);

impl Drop for Replicator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `litestream restore` of `replica` into a new file `out`.
fn restore(replica: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    let url = format!("file://{}", replica.display());
    Command::new(litestream())
        .args(["restore", "-o", out.to_str().expect("path"), &url])
        .output()
        .expect("litestream restore")
}

/// Whether a restore of `replica` now holds `account`'s open order `id`.
fn replicated(replica: &std::path::Path, dir: &std::path::Path, id: &str) -> bool {
    let probe = dir.join("probe.db");
    for file in ["probe.db", "probe.db-wal", "probe.db-shm"] {
        let _ = std::fs::remove_file(dir.join(file));
    }
    if !restore(replica, &probe).status.success() {
        return false;
    }
    let Ok(conn) = rusqlite::Connection::open(&probe) else {
        return false;
    };
    conn.query_row("SELECT count(*) FROM orders WHERE id = ?1", [id], |r| {
        r.get::<_, i64>(0)
    })
    .is_ok_and(|n| n == 1)
}

#[test]
fn a_master_restored_from_its_litestream_replica_keeps_what_it_acknowledged() {
    let setup = MasterSetup::new("replica");
    let config = format!("{FAST_ARGON2}{CONFIG}");
    let mut master = setup.start(&config);
    let db = setup.dir.join("master.db");
    let replica = setup.dir.join("replica");
    let conf = setup.dir.join("litestream.yml");
    std::fs::write(
        &conf,
        format!(
            "dbs:\n  - path: {}\n    replica:\n      type: file\n      path: {}\n      \
             sync-interval: 1s\n",
            db.display(),
            replica.display()
        ),
    )
    .expect("litestream.yml");
    let log = std::fs::File::create(setup.dir.join("litestream.log")).expect("log");
    let replicator = Replicator(
        Command::new(litestream())
            .args(["replicate", "-config", conf.to_str().expect("path")])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("litestream replicate"),
    );

    let mut ann = Trader::register(&setup, &master, "ann");
    ann.wait_price("AAPL");
    let (instr, args) = ann.buy("AAPL", "3");
    assert_eq!(instr, Instr::PurchaseSuccess, "{args:?}");
    let (instr, args) = ann.buy("AAPL", "1");
    assert_eq!(instr, Instr::PurchaseSuccess, "{args:?}");
    let waiting = ann.accepted("buy AAPL 2 limit 1 - gtc");

    // The replica holds the order placed last (and so all before it).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !replicated(&replica, &setup.dir.path, &waiting) {
        assert!(
            Instant::now() < deadline,
            "Litestream did not replicate within 30 s"
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    // The machine is lost: both processes die at once, and the disk.
    master.signal(libc::SIGKILL);
    master.wait_exit(Duration::from_secs(10));
    drop(replicator);
    for file in ["master.db", "master.db-wal", "master.db-shm"] {
        let _ = std::fs::remove_file(setup.dir.join(file));
    }
    let out = restore(&replica, &db);
    assert!(out.status.success(), "restore: {out:?}");
    std::fs::set_permissions(&db, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");

    let master = setup.start(&config);
    audit_clean(&setup);
    ann.relink(&setup, &master);
    let portfolio = ann.portfolio();
    assert!(portfolio.starts_with("AAPL 4 "), "{portfolio}");
    let order = ann.order(&waiting);
    assert_eq!(order.status, OrderStatus::Open, "{order:?}");
}
