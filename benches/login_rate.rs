//! Logins per second through a real master link against raw argon2id
//! hashes per second on the same machine, in the same run, with the same
//! parameters and thread count (issue 3: target ratio at least 0.8; issue
//! "Hostile peers": at least 0.9). Both sides hash the way ptmasterd does:
//! each thread into one argon2 block it keeps (`password::Hasher`).
//!
//! `cargo bench --bench login_rate` (make bench builds the daemons first).
//! Bounded: LOGINS logins and HASHES hashes, each phase under a minute.

#[path = "../tests/util/mod.rs"]
mod util;

use std::sync::Arc;
use std::time::{Duration, Instant};

use papertrader_common::Instr;
use papertrader_master::auth::AuthConfig;
use papertrader_master::password::Hasher;
use util::master::{MasterSetup, hashed_pass};

const THREADS: usize = 2;
const HASHES: usize = 200;
const LOGINS: usize = 200;
const ROUNDS: usize = 3;

fn raw_hashes_per_second(config: &AuthConfig) -> f64 {
    let config = Arc::new(config.clone());
    let start = Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let config = config.clone();
            std::thread::spawn(move || {
                let mut hasher = Hasher::new(
                    config.argon2_memory_kib,
                    config.argon2_iterations,
                    config.argon2_lanes,
                )
                .expect("argon2 parameters");
                for i in 0..HASHES / THREADS {
                    let salt = [(t * 31 + i) as u8; 16];
                    let pass = b"0123456789abcdef0123456789abcdef";
                    hasher.hash(pass, &salt).expect("hash");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("hash thread");
    }
    HASHES as f64 / start.elapsed().as_secs_f64()
}

fn logins_per_second() -> f64 {
    let setup = MasterSetup::new("bench");
    let master = setup.start(&format!(
        "auth_threads = {THREADS}\nrate_limit_failures = 1000000\n"
    ));
    let mut w = setup.link(master.addr, 0).expect("linked");
    let pass = hashed_pass("bench", "pw");
    assert_eq!(
        w.request(Instr::Register, &["bench", "b@example.com", &pass])
            .0,
        Instr::RegisterSuccess
    );
    let start = Instant::now();
    for _ in 0..LOGINS {
        w.send_request(Instr::Login, &["bench", &pass, "true"]);
    }
    for _ in 0..LOGINS {
        let (_, instr, args) = w.recv_reply();
        assert_eq!(instr, Instr::SessionId, "{args:?}");
        assert!(start.elapsed() < Duration::from_secs(60), "bounded");
    }
    LOGINS as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let config = AuthConfig::default();
    println!(
        "argon2id m={} KiB t={} p={}, {THREADS} threads, {ROUNDS} interleaved rounds",
        config.argon2_memory_kib, config.argon2_iterations, config.argon2_lanes
    );
    // This machine's speed drifts within a run; alternating the two
    // measurements and comparing their means keeps the drift out of the
    // ratio.
    let (mut raw_sum, mut login_sum) = (0.0, 0.0);
    for round in 1..=ROUNDS {
        let raw = raw_hashes_per_second(&config);
        let logins = logins_per_second();
        println!("round {round}: raw argon2id {raw:.1} hashes/s, ptmasterd {logins:.1} logins/s");
        raw_sum += raw;
        login_sum += logins;
    }
    let (raw, logins) = (raw_sum / ROUNDS as f64, login_sum / ROUNDS as f64);
    println!("mean: raw {raw:.1} hashes/s, logins {logins:.1}/s through one link");
    println!("ratio: {:.2} (target >= 0.90)", logins / raw);
}
