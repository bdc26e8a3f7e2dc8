//! Competitions at scale (issue 25): 1,000 competitions of 100 players
//! each, their standings recomputed after every price set, against the
//! same run without competitions.
//!
//! Both runs use one database shape: `PLAYERS` logins made by the scale
//! generator (master/benches/support/fill.rs: 5 positions, 20 buys, 30
//! days of equity each), and beside each login's own portfolio a second
//! one holding the same 5 positions. With competitions, the second
//! portfolios play in 1,000 running competitions of 100 players; without,
//! they are plain portfolios (ranked nowhere) and there are no
//! competitions. A real ptmasterd runs on each with a simulated market of
//! the 5 symbols, a price set a second, for `SECONDS`; a test worker links
//! and reads one competition's standings (100 lines). From the master's
//! debug log: the trade thread's time per price set ("price set ...
//! handled in") and the standings thread's time per pass ("standings
//! pass"), which runs once per price set, without the first of each
//! (the ledger's load at start-up is reported apart).
//!
//! `cargo bench -p papertrader-tests --bench game_standings [-- PLAYERS]`
//! (default 100000; `make bench` builds the daemons first). Bounded: 60 s
//! per wait, `SECONDS` per run. Warm page cache; disk syncs on this VM are
//! far cheaper than on real hardware.

#[path = "../tests/util/mod.rs"]
mod util;

#[path = "../master/benches/support/fill.rs"]
mod fill;

use std::time::{Duration, Instant};

use papertrader_common::Instr;
use papertrader_common::value::{GameRules, Timestamp};
use rusqlite::params;
use util::master::{MasterSetup, hashed_pass};

/// Players per competition.
const PER_GAME: usize = 100;
/// How long each run lasts after the first price set.
const SECONDS: u64 = 30;

/// Adds each login's second portfolio (the same 5 positions as its
/// first) and, `with_games`, the competitions they play in.
fn add_portfolios(conn: &mut rusqlite::Connection, players: usize, with_games: bool) {
    let tx = conn.transaction().expect("begin");
    let now = Timestamp::now().0;
    if with_games {
        let mut game = tx
            .prepare(
                "INSERT INTO games (id, organiser_id, rules, code, public, start, end, created)
                 VALUES (?1, 1, ?2, NULL, 1, ?3, ?4, ?3)",
            )
            .expect("prepare");
        for g in 0..players / PER_GAME {
            // Public, so that the probe login may read the standings.
            let rules = GameRules {
                public: true,
                ..GameRules::new(
                    &format!("League {g}"),
                    Timestamp(now - 60),
                    Timestamp(now + 86_400),
                )
            };
            game.execute(params![
                g as i64 + 1,
                rules.to_string(),
                now - 60,
                now + 86_400
            ])
            .expect("game");
        }
    }
    // The second portfolio copies the first one's cash, positions and
    // what it started with; its game is the login's hundred's.
    tx.execute_batch(&format!(
        "INSERT INTO accounts (username, username_key, email, pass_hash, cash, created,
             opening_cash, start_cash, started, owner_id, portfolio_no, portfolio_name, game_id)
         SELECT username, '#' || id || '.2', email, NULL, cash, created, opening_cash,
             start_cash, started, id, 2, 'second',
             CASE WHEN {with_games} THEN (id - 1) / {PER_GAME} + 1 END
         FROM accounts WHERE owner_id IS NULL ORDER BY id;
         INSERT INTO positions (account_id, symbol, quantity, cost)
         SELECT a.id, p.symbol, p.quantity, p.cost FROM accounts a
         JOIN positions p ON p.account_id = a.owner_id WHERE a.owner_id IS NOT NULL;",
        with_games = i64::from(with_games),
    ))
    .expect("portfolios");
    tx.commit().expect("commit");
}

/// Durations of the debug log's lines holding `marker`, `... in TIME`.
fn times(log: &str, marker: &str) -> Vec<Duration> {
    log.lines()
        .filter(|l| l.contains(marker))
        .filter_map(|l| util::parse_debug_duration(l.rsplit(" in ").next()?))
        .collect()
}

/// `p50 / max` of `values` (without the first `skip`), and how many.
fn summary(mut values: Vec<Duration>, skip: usize) -> (String, usize) {
    values.drain(..skip.min(values.len()));
    if values.is_empty() {
        return ("-".into(), 0);
    }
    let n = values.len();
    values.sort();
    (
        format!("{} / {}", util::ms(values[n / 2]), util::ms(values[n - 1])),
        n,
    )
}

fn run(players: usize, with_games: bool) {
    let tag = if with_games { "with" } else { "without" };
    let setup = MasterSetup::new(&format!("games-{tag}-{players}"));
    let db = setup.dir.join("master.db");
    let mut conn = fill::fill(&db, players);
    add_portfolios(&mut conn, players, with_games);
    drop(conn);
    let assets = setup.dir.join("assets.list");
    let list: String = fill::SYMBOLS
        .iter()
        .map(|s| format!("{s} market=always {s} Corp.\n"))
        .collect();
    std::fs::write(&assets, list).expect("asset list");
    let extra = format!(
        "update_interval = 1s\nhistory_days = 0\nassets_file = {}\nlog_level = debug\n{}",
        assets.display(),
        util::master::FAST_ARGON2
    );
    let master = setup.start(&extra);
    let mut w = setup.link(master.addr, 0).expect("linked");
    let pass = hashed_pass("probe", "pw");
    let (i, a) = w.request(Instr::Register, &["probe", "p@example.com", &pass]);
    assert_eq!(i, Instr::RegisterSuccess, "{a:?}");
    let (i, a) = w.request(Instr::Login, &["probe", &pass, "false"]);
    assert_eq!(i, Instr::SessionId, "{a:?}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while w.data(Instr::GetAssetValueCurrent, &["AAA"]).is_err() {
        assert!(Instant::now() < deadline, "no price");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(SECONDS));
    // Anyone reads a public competition's standings: the first one's,
    // ranked by the standings thread after the last price set.
    let session = a[0].clone();
    let (lines, read) = if with_games {
        let started = Instant::now();
        let text = w
            .data(Instr::GetStandings, &[&session, "1"])
            .expect("standings");
        let read = started.elapsed();
        (
            String::from_utf8(text).expect("text").lines().count(),
            util::ms(read),
        )
    } else {
        (0, "-".into())
    };
    let rss = util::rss_kib(master.pid());
    let _ = std::process::Command::new("kill")
        .args(["-USR1", &master.pid().to_string()])
        .status();
    std::thread::sleep(Duration::from_millis(500));
    let log = std::fs::read_to_string(setup.log_file()).expect("log");
    let trade = times(&log, "price set of ");
    let passes = times(&log, "standings pass: ");
    let (trade_text, sets) = summary(trade, 1);
    let (pass_text, n) = summary(passes, 1);
    let all = format!("standings pass: {} competitions", players / PER_GAME);
    let ranked = log.lines().filter(|l| l.contains(&all)).count();
    let load = times(&log, "accounts loaded in ")
        .first()
        .copied()
        .unwrap_or_default();
    println!(
        "{tag:>7}  {:>8}  {:>5}  {sets:>10}  {trade_text:>19}  {n:>6}  {ranked:>6}  {pass_text:>19}  \
         {:>11}  {:>6.1}  {lines} ({read})",
        players * 2,
        if with_games { players / PER_GAME } else { 0 },
        util::ms(load),
        rss as f64 * 1024.0 / 1e6
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let players = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000usize);
    println!(
        "   run  accounts  games  price sets  trade p50 / max      passes  of all  \
         standings p50 / max  ledger load  RSS MB  getStandings lines (time)"
    );
    for with_games in [false, true] {
        run(players, with_games);
    }
}
