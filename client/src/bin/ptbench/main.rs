//! ptbench: a load generator for PaperTrader workers (and, with --redis,
//! for redis-server, through the same loop, so that a comparison uses one
//! client). See ptbench(1).

mod engine;
mod summary;
mod tally;

use std::io::IsTerminal;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use engine::{Plan, Role, Shared};
use papertrader_client::{Client, Error as ClientError, hashed_pass};
use papertrader_common::ReasonCode;
use papertrader_common::value::{Date, HashedPass, SessionId, Symbol, Timestamp, Username};
use summary::Summary;
use tally::{Live, OPS, Tally};

const EX_USAGE: u8 = 64;
const EX_UNAVAILABLE: u8 = 69;
const EX_SOFTWARE: u8 = 70;
const EX_TEMPFAIL: u8 = 75;

/// Load generator for PaperTrader workers.
#[derive(Parser, Debug)]
#[command(name = "ptbench", version, after_help = AFTER_HELP)]
struct Cli {
    /// A worker to load, HOST:PORT (repeat for several; connections are
    /// spread over them in turn).
    #[arg(short = 's', long = "server", value_name = "HOST:PORT")]
    servers: Vec<String>,
    /// Ask this master for its workers and spread the connections over them.
    #[arg(long, value_name = "HOST:PORT")]
    master: Option<String>,
    /// Connections to open.
    #[arg(short = 'c', long, default_value_t = 50)]
    connections: usize,
    /// Seconds to measure, after the warm-up.
    #[arg(short = 'd', long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before measuring starts.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// What each connection does.
    #[arg(long, value_enum, default_value_t = Scenario::Quotes)]
    scenario: Scenario,
    /// Open loop: this many requests per second in all, on a fixed
    /// schedule (latency counts from when each request was due). Without
    /// it: closed loop, one request outstanding per connection.
    #[arg(long, value_name = "PER_SECOND")]
    rate: Option<f64>,
    /// trade: the percent of connections that trade; the others read.
    #[arg(long, default_value_t = 10.0)]
    traders: f64,
    /// trade: seconds a trader waits between the start of two trades.
    #[arg(long, default_value_t = 1.0)]
    trade_every: f64,
    /// Users to register (if new) and log in; connection i uses user i mod N.
    #[arg(long, default_value_t = 1)]
    users: usize,
    /// Names of the users: PREFIX0, PREFIX1...
    #[arg(long, default_value = "ptbench")]
    user_prefix: String,
    /// The users' password.
    #[arg(long, default_value = "ptbench-password")]
    password: String,
    /// Symbols asked and traded, comma-separated (default: the first 8 of
    /// the server's asset list; with --redis, the keys AAPL,MSFT).
    #[arg(long)]
    symbols: Option<String>,
    /// The day asked for history (default: today, UTC).
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: Option<String>,
    /// Client threads.
    #[arg(short = 't', long, default_value_t = 2)]
    threads: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// No progress line, even on a terminal.
    #[arg(long)]
    no_progress: bool,
    /// Send redis GET of the symbols to this redis-server instead, with the
    /// same loop and timing.
    #[arg(long, value_name = "HOST:PORT")]
    redis: Option<String>,
    /// The worker's web port, for the HTTP API scenarios (http-account,
    /// http-orders): each user gets an API key for the run.
    #[arg(long, value_name = "HOST:PORT")]
    web: Option<String>,
}

const AFTER_HELP: &str = "\
Scenarios: quotes (cached getAssetValueCurrent), history (day, month and year
bars in turn), readers (quotes and history in turn), login (login and logout
in turn: argon2 on the master), trade (--traders percent buy and sell one
share every --trade-every seconds, the rest read), orders (placeOrder of a
limit far under the market, then cancelOrder), account (what GET /v2/account
reads, over the protocol: getUserInfo, getUserPortfolio, getOrders and
getEquityHistory sent together), and on the HTTP API of --web:
http-account (GET /v2/account) and http-orders (POST /v2/orders of a
limit far under the market, then its DELETE).

Exit status: 0 done, 64 usage, 69 nothing could be reached, 70 every
connection failed, 75 some operations failed.

Example, against `make run`:
  ptbench -s 127.0.0.1:2049 -c 50 -d 10";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Quotes,
    History,
    Readers,
    Login,
    Trade,
    Orders,
    Account,
    HttpAccount,
    HttpOrders,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Quotes => "quotes",
            Scenario::History => "history",
            Scenario::Readers => "readers",
            Scenario::Login => "login",
            Scenario::Trade => "trade",
            Scenario::Orders => "orders",
            Scenario::Account => "account",
            Scenario::HttpAccount => "http-account",
            Scenario::HttpOrders => "http-orders",
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            let done = matches!(
                err.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            );
            let _ = err.print();
            return ExitCode::from(if done { 0 } else { EX_USAGE });
        }
    };
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err((code, message)) => {
            eprintln!("ptbench: {message}");
            ExitCode::from(code)
        }
    }
}

type Failure = (u8, String);

fn usage(message: impl Into<String>) -> Failure {
    (EX_USAGE, message.into())
}

fn run(cli: &Cli) -> Result<u8, Failure> {
    let (given, date) = check(cli)?;
    raise_fd_limit(cli.connections);
    let (targets, sessions, users, symbols) = match &cli.redis {
        Some(redis) => {
            let keys = given.unwrap_or_else(|| {
                ["AAPL", "MSFT"]
                    .into_iter()
                    .flat_map(Symbol::parse)
                    .collect()
            });
            (vec![resolve(redis)?], Vec::new(), Vec::new(), keys)
        }
        None => {
            let addrs = workers(cli)?;
            let (sessions, users, listed) = log_in(cli, &addrs)?;
            let targets = match (&cli.web, http_scenario(cli.scenario)) {
                (Some(web), true) => vec![resolve(web)?],
                (None, true) => return Err(usage("http scenarios need --web HOST:PORT")),
                _ => addrs.iter().map(|a| resolve(a)).collect::<Result<_, _>>()?,
            };
            (targets, sessions, users, given.unwrap_or(listed))
        }
    };
    let keys = match http_scenario(cli.scenario) {
        true => make_keys(cli, &sessions)?,
        false => Vec::new(),
    };
    if symbols.is_empty() {
        return Err((EX_UNAVAILABLE, "the server lists no asset".to_string()));
    }
    let plans = plan(cli, &targets, &sessions, &users, &keys);
    let start = Instant::now();
    let warmup = Duration::from_secs_f64(cli.warmup);
    let measure = Duration::from_secs_f64(cli.duration);
    let shared = Shared {
        quote_requests: engine::quote_requests(&symbols),
        symbols,
        date: date.unwrap_or_else(|| Date::of_timestamp(Timestamp::now())),
        rate_per_conn: cli.rate.map(|r| r / cli.connections as f64),
        trade_every: Duration::from_secs_f64(cli.trade_every),
        record_from: start + warmup,
        until: start + warmup + measure,
        max_outstanding: 1000,
    };
    let live = Arc::new(Live::default());
    let tally = drive(cli, plans, &shared, &live, (start, warmup, measure));
    revoke_keys(cli, &sessions, &keys);
    let tally = tally?;
    let summary = Summary {
        cli,
        targets: &targets,
        seconds: measure.as_secs_f64(),
        tally: &tally,
        running: live.running.load(Ordering::Relaxed),
    };
    if cli.json {
        println!("{}", summary.json());
    } else {
        print!("{}", summary.text());
    }
    let answered: u64 = tally.hist.iter().map(|h| h.len()).sum();
    let failed: u64 = tally.failed.iter().sum();
    Ok(if answered == 0 && failed == 0 {
        EX_SOFTWARE
    } else if failed > 0 || !tally.broken.is_empty() {
        EX_TEMPFAIL
    } else {
        0
    })
}

fn http_scenario(s: Scenario) -> bool {
    matches!(s, Scenario::HttpAccount | Scenario::HttpOrders)
}

/// An API key for each user, for the run: (key id, secret).
fn make_keys(cli: &Cli, sessions: &[SessionId]) -> Result<Vec<(String, String)>, Failure> {
    let addrs = workers(cli)?;
    let mut client = Client::connect(&addrs[0], Duration::from_secs(10))
        .map_err(|e| (EX_UNAVAILABLE, format!("{}: {e}", addrs[0])))?;
    sessions
        .iter()
        .map(|s| {
            client
                .create_key(s, "ptbench")
                .map(|(id, secret)| (id.to_string(), secret.to_string()))
                .map_err(|e| (EX_TEMPFAIL, format!("API key: {e}")))
        })
        .collect()
}

/// Revokes the run's keys (best effort: an account holds at most 20).
fn revoke_keys(cli: &Cli, sessions: &[SessionId], keys: &[(String, String)]) {
    if keys.is_empty() {
        return;
    }
    let Ok(addrs) = workers(cli) else {
        return;
    };
    let Ok(mut client) = Client::connect(&addrs[0], Duration::from_secs(10)) else {
        return;
    };
    for (session, (id, _)) in sessions.iter().zip(keys) {
        let _ = client.revoke_key(session, id);
    }
}

/// Runs the load threads, each with its share of the plans, showing
/// progress on a terminal, and adds up what they measured.
fn drive(
    cli: &Cli,
    plans: Vec<Plan>,
    shared: &Shared,
    live: &Arc<Live>,
    (start, warmup, measure): (Instant, Duration, Duration),
) -> Result<Tally, Failure> {
    let threads = cli.threads.clamp(1, 64).min(cli.connections);
    let mut shares: Vec<Vec<Plan>> = vec![Vec::new(); threads];
    for (i, p) in plans.into_iter().enumerate() {
        shares[i % threads].push(p);
    }
    let handles: Vec<_> = shares
        .into_iter()
        .map(|plans| {
            let (shared, live) = (shared.clone(), live.clone());
            std::thread::spawn(move || engine::run(plans, &shared, &live))
        })
        .collect();
    let progress = !cli.no_progress && !cli.json && std::io::stderr().is_terminal();
    while handles.iter().any(|h| !h.is_finished()) {
        std::thread::sleep(Duration::from_millis(200));
        if progress {
            show_progress(live, start, warmup, measure);
        }
    }
    if progress {
        eprintln!();
    }
    let mut tally = Tally::new();
    for h in handles {
        match h.join() {
            Ok(Ok(t)) => tally.merge(t),
            Ok(Err(err)) => return Err((EX_SOFTWARE, format!("load thread: {err}"))),
            Err(_) => return Err((EX_SOFTWARE, "a load thread panicked".to_string())),
        }
    }
    Ok(tally)
}

/// Refuses an option out of its range; the symbols and the day of
/// history given, parsed.
fn check(cli: &Cli) -> Result<(Option<Vec<Symbol>>, Option<Date>), Failure> {
    if !(1..=1_000_000).contains(&cli.connections) {
        return Err(usage("--connections must be 1 to 1000000"));
    }
    if !(cli.duration > 0.0 && cli.duration <= 86_400.0) {
        return Err(usage(
            "--duration must be more than 0 and at most 86400 seconds",
        ));
    }
    if !(0.0..=3600.0).contains(&cli.warmup) {
        return Err(usage("--warmup must be 0 to 3600 seconds"));
    }
    if !cli.rate.is_none_or(|r| r > 0.0 && r <= 100_000_000.0) {
        return Err(usage("--rate must be more than 0 and at most 100000000"));
    }
    if !(0.0..=100.0).contains(&cli.traders) {
        return Err(usage("--traders must be a percent from 0 to 100"));
    }
    if !(0.0..=3600.0).contains(&cli.trade_every) {
        return Err(usage("--trade-every must be 0 to 3600 seconds"));
    }
    if !(1..=100_000).contains(&cli.users) {
        return Err(usage("--users must be 1 to 100000"));
    }
    let symbols = cli.symbols.as_ref().map(|list| {
        let parsed: Result<Vec<Symbol>, _> = list.split(',').map(Symbol::parse).collect();
        parsed.map_err(|_| {
            usage(format!(
                "--symbols {list:?}: each must be a symbol (1-16 of A-Z 0-9 . - ^ =)"
            ))
        })
    });
    let symbols = symbols.transpose()?;
    let date = cli.date.as_deref().map(|date| {
        Date::parse(date).map_err(|_| usage(format!("--date {date:?}: expected YYYY-MM-DD")))
    });
    let date = date.transpose()?;
    let prefix_len = cli.user_prefix.len() + cli.users.to_string().len();
    if Username::parse(&format!("{}{}", cli.user_prefix, cli.users)).is_err() || prefix_len > 24 {
        return Err(usage(format!(
            "--user-prefix {:?}: names must be 1-24 of A-Z a-z 0-9 _ . -",
            cli.user_prefix
        )));
    }
    if cli.redis.is_some() && (cli.master.is_some() || !cli.servers.is_empty()) {
        return Err(usage("--redis takes no -s or --master"));
    }
    Ok((symbols, date))
}

/// The workers to load: -s, else the master's list, else 127.0.0.1:2049.
fn workers(cli: &Cli) -> Result<Vec<String>, Failure> {
    let list = if !cli.servers.is_empty() {
        cli.servers.clone()
    } else if let Some(master) = &cli.master {
        papertrader_client::worker_list(master, Duration::from_secs(10))
            .map_err(|e| (EX_UNAVAILABLE, format!("master {master}: {e}")))?
    } else {
        vec!["127.0.0.1:2049".to_string()]
    };
    if list.is_empty() {
        return Err((EX_UNAVAILABLE, "the master lists no worker".to_string()));
    }
    list.into_iter()
        .map(|a| match a.strip_prefix("tls://") {
            Some(_) => Err(usage(format!(
                "{a}: ptbench speaks plain TCP only; give the worker's plain address"
            ))),
            None => Ok(a),
        })
        .collect()
}

fn resolve(addr: &str) -> Result<SocketAddr, Failure> {
    addr.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| usage(format!("{addr}: not a HOST:PORT that resolves")))
}

/// What the set-up made: sessions, (name, hashedPass) of each user, and
/// the first symbols of the asset list.
type SetUp = (Vec<SessionId>, Vec<(Username, HashedPass)>, Vec<Symbol>);

/// Logs each user in once (remembered sessions), registering those that
/// do not exist yet, through the first worker, and reads the asset list.
fn log_in(cli: &Cli, addrs: &[String]) -> Result<SetUp, Failure> {
    let needs_session = cli.scenario != Scenario::Login;
    let mut client = Client::connect(&addrs[0], Duration::from_secs(10))
        .map_err(|e| (EX_UNAVAILABLE, format!("{}: {e}", addrs[0])))?;
    let mut sessions = Vec::new();
    let mut users = Vec::new();
    // Users are numbered: those a previous run made come first. Log them
    // in; from the first that is not there on, register before logging
    // in. So a repeat run registers nobody again (the registration limit
    // counts attempts) and a run costs at most one failed login (which
    // has a limit of its own).
    let mut existing = true;
    for i in 0..cli.users {
        let name = format!("{}{i}", cli.user_prefix);
        let register = |client: &mut Client| match client.register(
            &name,
            &format!("{name}@ptbench.invalid"),
            &cli.password,
        ) {
            Ok(()) => Ok(()),
            Err(ClientError::Refused(r)) if r.code == ReasonCode::UsernameTaken => Ok(()),
            Err(e) => Err((EX_TEMPFAIL, format!("register {name}: {e}"))),
        };
        if !existing {
            register(&mut client)?;
        }
        let session = match client.login(&name, &cli.password, false) {
            Err(ClientError::Refused(r)) if existing && r.code == ReasonCode::BadCredentials => {
                existing = false;
                register(&mut client)?;
                client.login(&name, &cli.password, false)
            }
            other => other,
        }
        .map_err(|e| (EX_TEMPFAIL, format!("login {name}: {e}")))?;
        if needs_session {
            sessions.push(session);
        } else {
            let _ = client.logout(&session);
        }
        let user = Username::parse(&name).map_err(|e| usage(e.to_string()))?;
        let pass = HashedPass::parse(&hashed_pass(&name, &cli.password))
            .map_err(|e| (EX_SOFTWARE, e.to_string()))?;
        users.push((user, pass));
    }
    // The asset list needs a session: the first user's (one more login
    // for the login scenario, which keeps none).
    let first = format!("{}0", cli.user_prefix);
    let session = client
        .login(&first, &cli.password, true)
        .map_err(|e| (EX_TEMPFAIL, format!("login {first}: {e}")))?;
    let listed = client
        .assets(&session)
        .map_err(|e| (EX_TEMPFAIL, format!("asset list: {e}")))?
        .into_iter()
        .take(8)
        .map(|a| a.symbol)
        .collect();
    let _ = client.logout(&session);
    Ok((sessions, users, listed))
}

fn plan(
    cli: &Cli,
    targets: &[SocketAddr],
    sessions: &[SessionId],
    users: &[(Username, HashedPass)],
    keys: &[(String, String)],
) -> Vec<Plan> {
    let traders = (cli.connections as f64 * cli.traders / 100.0).round() as usize;
    (0..cli.connections)
        .map(|i| {
            let role = match (&cli.redis, cli.scenario) {
                (Some(_), _) => Role::Redis,
                (None, Scenario::Quotes) => Role::Quotes,
                (None, Scenario::History) => Role::History,
                (None, Scenario::Readers) => Role::Reader,
                (None, Scenario::Login) => Role::Login,
                (None, Scenario::Orders) => Role::Orders,
                (None, Scenario::Account) => Role::Account,
                (None, Scenario::HttpAccount) => Role::HttpAccount,
                (None, Scenario::HttpOrders) => Role::HttpOrders,
                // Traders spread evenly among the readers.
                (None, Scenario::Trade)
                    if traders > 0
                        && i * traders / cli.connections != (i + 1) * traders / cli.connections =>
                {
                    Role::Trader
                }
                (None, Scenario::Trade) => Role::Reader,
            };
            Plan {
                addr: targets[i % targets.len()],
                role,
                session: sessions.get(i % sessions.len().max(1)).cloned(),
                user: users.get(i % users.len().max(1)).cloned(),
                key: keys.get(i % keys.len().max(1)).cloned(),
            }
        })
        .collect()
}

fn show_progress(live: &Live, start: Instant, warmup: Duration, measure: Duration) {
    let elapsed = start.elapsed();
    let total = (warmup + measure).as_secs_f64();
    let done = live.done.load(Ordering::Relaxed);
    let measuring = elapsed.saturating_sub(warmup).as_secs_f64();
    let rate = if measuring > 0.0 {
        done as f64 / measuring
    } else {
        0.0
    };
    let width = 30;
    let filled = ((elapsed.as_secs_f64() / total) * width as f64).min(width as f64) as usize;
    let phase = if elapsed < warmup {
        "warm-up"
    } else {
        "measuring"
    };
    eprint!(
        "\r[{}{}] {:5.1}/{:.0} s {phase:9} {} conns {:10.0} ops/s {} failed   ",
        "#".repeat(filled),
        " ".repeat(width - filled),
        elapsed.as_secs_f64().min(total),
        total,
        live.running.load(Ordering::Relaxed),
        rate,
        live.failed.load(Ordering::Relaxed),
    );
}

/// Raises the soft open-file limit towards the hard one when the run needs
/// more descriptors than the soft limit allows.
fn raise_fd_limit(connections: usize) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write `limit`.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        let want = (connections as libc::rlim_t)
            .saturating_add(64)
            .min(limit.rlim_max);
        if want > limit.rlim_cur {
            limit.rlim_cur = want;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
