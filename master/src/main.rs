//! ptmasterd: the PaperTrader master server. Parses flags, reads the
//! config, starts the log system, binds, spawns the helper threads and runs
//! the event loop. See ptmasterd(8).

use std::net::TcpListener;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixListener;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::Sender;

use mio::Poll;
use papertrader_common::daemon;
use papertrader_common::log::{self as ptlog, LogConfig};
use papertrader_master::auth::Auth;
use papertrader_master::config::Config;
use papertrader_master::event::{self, Notifier};
use papertrader_master::market::feed_config::FeedConfig;
use papertrader_master::market::provider::Provider;
use papertrader_master::market::routes;
use papertrader_master::ratelimit::RateLimiter;
use papertrader_master::registry::Registry;
use papertrader_master::server::{Parts, Queues, Server};
use papertrader_master::trade::queue as trade_queue;
use papertrader_master::{auth_thread, control, data, db, event::Event, gpg_thread, market};
use parking_lot::Mutex;

const EX_OSERR: u8 = 71;
const EX_CANTCREAT: u8 = 73;
const EX_CONFIG: u8 = 78;

const USAGE: &str = "usage: ptmasterd [-fnv] [-c config]";

/// Queued account requests before new ones are answered `unavailable`.
const AUTH_QUEUE: usize = 4096;
const GPG_QUEUE: usize = 256;
const DATA_QUEUE: usize = 4096;
/// Orders in transit to the trade thread, before its arrival checks; the
/// queue of orders waiting for prices behind them has its own bounds
/// (max_waiting_orders). A bounded channel allocates its slots at once,
/// so this stays small: 200 000 slots were 22 MB of RSS at start.
const TRADE_QUEUE: usize = 16_384;

fn main() -> ExitCode {
    daemon::finish("ptmasterd", run())
}

fn run() -> Result<(), (u8, String)> {
    let flags = daemon::Flags::parse(std::env::args_os().skip(1), USAGE)?;
    let mut config = Config::load(flags.config.as_deref()).map_err(config_err)?;
    let registry = load_registry(&config)?;
    let assets = load_assets(&config)?;
    if flags.check_only {
        check_master_key(&config)?;
        price_source(&config)?;
        check_log_file(&config)?;
        if !config.tls_generate {
            papertrader_master::tls::server_config(&config).map_err(config_err)?;
        }
        println!("configuration OK");
        return Ok(());
    }
    if flags.verbose {
        config.log.level = config.log.level.max(log::LevelFilter::Debug);
    }
    let config = Arc::new(config);
    let source = price_source(&config)?;
    if !flags.foreground {
        // Before any thread; this command then waits for daemon::ready or
        // for the error of any step below.
        daemon::detach("ptmasterd", &config.pid_file).map_err(oserr("detach"))?;
    }
    let (std_listener, control_listener) = prepare(&config)?;
    let local = std_listener.local_addr().map_err(oserr("listener"))?;
    let log = daemon::start_logging(LogConfig {
        echo_stderr: flags.foreground,
        ..config.log.clone()
    })?;
    papertrader_common::info!(
        "ptmasterd {} starting with {}",
        env!("CARGO_PKG_VERSION"),
        config.source
    );
    let tls = papertrader_master::tls::server_config(&config).map_err(config_err)?;
    let assets = Arc::new(parking_lot::RwLock::new(assets));
    let listeners = (std_listener, control_listener, tls);
    let (mut server, helpers) = start(&config, listeners, registry, assets, source, &log)?;
    papertrader_common::info!("listening on {local}");
    println!("listening on {local}");
    daemon::ready();
    let result = server.run();
    // Dropping the server closes the job channels: each helper finishes
    // the work it holds and returns.
    drop(server);
    drop(helpers.feed_stop);
    for handle in helpers.threads {
        let _ = handle.join();
    }
    // Every writer is gone: the WAL goes into the database and the file
    // is emptied, so a clean stop leaves no WAL behind to replay.
    if let Err(err) = db::checkpoint(&config.database) {
        papertrader_common::warn!("cannot checkpoint the database at shutdown: {err}");
    }
    let _ = std::fs::remove_file(&config.control_socket);
    daemon::stopped(&log, (!flags.foreground).then_some(&*config.pid_file));
    result.map_err(oserr("event loop"))
}

/// Starts every helper thread and builds the event loop's server.
fn start(
    config: &Arc<Config>,
    (std_listener, control_listener, tls): (TcpListener, UnixListener, Arc<rustls::ServerConfig>),
    registry: Registry,
    assets: Arc<parking_lot::RwLock<Vec<market::Asset>>>,
    source: Option<Box<dyn Provider>>,
    log: &ptlog::LogHandle,
) -> Result<(Server, Running), (u8, String)> {
    let poll = Poll::new().map_err(oserr("poll"))?;
    let waker = Server::waker(&poll).map_err(oserr("waker"))?;
    let (notifier, events) = event::notifier(waker);
    let (queues, running) =
        spawn_helpers(config, &assets, source, control_listener, &notifier, log)?;
    papertrader_common::threads::spawn_signals(notifier, Event::Signal)
        .map_err(oserr("signal thread"))?;
    let parts = Parts {
        config: config.clone(),
        poll,
        listener: mio::net::TcpListener::from_std(std_listener),
        tls,
        registry,
        queues,
        assets,
        events,
        log: log.clone(),
    };
    let server = Server::new(parts).map_err(oserr("listener"))?;
    Ok((server, running))
}

/// What `run` keeps of the helpers: their threads, and the sender whose
/// drop stops the asset thread. The job senders live in the server, so
/// dropping it stops the rest.
struct Running {
    feed_stop: Sender<()>,
    threads: Vec<JoinHandle<()>>,
}

fn oserr(what: &str) -> impl Fn(std::io::Error) -> (u8, String) + '_ {
    move |e| (EX_OSERR, format!("{what}: {e}"))
}

/// A file or directory `what` that cannot be made: EX_CANTCREAT.
fn cantcreat(what: String) -> impl Fn(std::io::Error) -> (u8, String) {
    move |e| (EX_CANTCREAT, format!("{what}: {e}"))
}

/// A bad configuration, or a file it names: EX_CONFIG.
fn config_err(e: impl std::fmt::Display) -> (u8, String) {
    (EX_CONFIG, e.to_string())
}

/// Everything that can fail for a reason the operator must see, done
/// before the log system and the threads start (and after detaching, whose
/// command prints the error): the state directory (mode 0700), the
/// database, the master key, the log file, the master port and the
/// control socket.
fn prepare(config: &Config) -> Result<(TcpListener, UnixListener), (u8, String)> {
    let state_dir = format!("state_dir {}", config.state_dir.display());
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&config.state_dir)
        .map_err(cantcreat(state_dir))?;
    drop(open_db(config)?);
    check_master_key(config)?;
    check_log_file(config)?;
    let listener = TcpListener::bind(config.listen)
        .map_err(|e| (EX_OSERR, format!("bind {}: {e}", config.listen)))?;
    listener.set_nonblocking(true).map_err(oserr("listener"))?;
    let socket = format!("control socket {}", config.control_socket.display());
    let control = control::bind(&config.control_socket).map_err(cantcreat(socket))?;
    Ok((listener, control))
}

fn open_db(config: &Config) -> Result<rusqlite::Connection, (u8, String)> {
    db::set_autocheckpoint(config.wal_autocheckpoint);
    db::open(&config.database).map_err(|e| (EX_CANTCREAT, e.to_string()))
}

/// Starts the auth pool, the gpg thread, the data threads, the asset
/// thread and the control thread, each with its own database connection.
fn spawn_helpers(
    config: &Arc<Config>,
    assets: &Arc<parking_lot::RwLock<Vec<market::Asset>>>,
    source: Option<Box<dyn Provider>>,
    control_listener: UnixListener,
    notifier: &Notifier,
    log: &ptlog::LogHandle,
) -> Result<(Queues, Running), (u8, String)> {
    let limiter = Arc::new(Mutex::new(RateLimiter::new(config.rate_limit.clone())));
    let auth_config = Arc::new(config.auth.clone());
    let (auth_tx, auth_rx) = crossbeam_channel::bounded(AUTH_QUEUE);
    let (trade_tx, trade_rx) = crossbeam_channel::bounded(TRADE_QUEUE);
    let shared = auth_thread::Shared {
        trade: trade_tx.clone(),
        assets: assets.clone(),
    };
    let mut threads = auth_thread::spawn_auth(
        config.auth_threads,
        config.database.clone(),
        auth_config.clone(),
        limiter.clone(),
        auth_rx,
        shared,
        notifier.clone(),
    )
    .map_err(oserr("auth threads"))?;
    let gpg_tx = spawn_gpg(config, notifier, &mut threads)?;
    let (data_tx, data_rx) = crossbeam_channel::bounded(DATA_QUEUE);
    let readers = (0..config.data_threads)
        .map(|_| open_db(config))
        .collect::<Result<_, _>>()?;
    let board = papertrader_master::trade::standing::Board::default();
    let standings = papertrader_master::trade::standing::spawn_ranker(open_db(config)?, &board)
        .map_err(oserr("standings thread"))?;
    threads.push(standings);
    let terms = papertrader_master::market::assets::SharedTerms::default();
    let data = data::spawn(
        readers,
        assets.clone(),
        board.clone(),
        terms.clone(),
        data_rx,
        notifier.clone(),
    )
    .map_err(oserr("data threads"))?;
    threads.extend(data);
    let limits = trade_queue::Limits {
        per_account: config.max_waiting_orders_per_account,
        total: config.max_waiting_orders,
        open_per_account: config.max_open_orders,
        starting_cash: config.auth.starting_cash,
        shorts: config.shorts,
        fees: config.fees,
    };
    let trade = trade_queue::spawn(
        open_db(config)?,
        assets.clone(),
        limits,
        trade_rx,
        notifier.clone(),
        board,
        terms,
    )
    .map_err(oserr("trade thread"))?;
    threads.push(trade);
    let feed_stop = spawn_feed(config, assets, source, notifier, &trade_tx, &mut threads)?;
    let control_auth = Auth::new(open_db(config)?, auth_config, limiter)
        .map_err(|e| (EX_CONFIG, format!("argon2 parameters: {e}")))?;
    let books = control::Books {
        conn: open_db(config)?,
    };
    let context = control::Context {
        auth: control_auth,
        books,
        config: config.clone(),
        notifier: notifier.clone(),
        log: log.clone(),
    };
    let (_, control_tx) =
        control::spawn(control_listener, context).map_err(oserr("control thread"))?;
    let queues = Queues {
        auth: auth_tx,
        gpg: gpg_tx,
        data: data_tx,
        trade: trade_tx,
        control: control_tx,
    };
    Ok((queues, Running { feed_stop, threads }))
}

/// The asset thread, with `source` as the provider of the assets that
/// name none; dropping the returned sender stops it.
fn spawn_feed(
    config: &Config,
    assets: &Arc<parking_lot::RwLock<Vec<market::Asset>>>,
    source: Option<Box<dyn Provider>>,
    notifier: &Notifier,
    trade_tx: &Sender<trade_queue::TradeMsg>,
    threads: &mut Vec<JoinHandle<()>>,
) -> Result<Sender<()>, (u8, String)> {
    let (stop, stop_rx) = crossbeam_channel::bounded::<()>(0);
    let feed_config = FeedConfig {
        interval: config.update_interval,
        history_days: config.history_days,
        tick_retention: config.tick_retention,
        assets_file: config.assets_file.clone(),
        default_provider: config.price_source.name().to_string(),
        providers: config.providers.clone(),
    };
    let feed = market::feed::spawn(
        open_db(config)?,
        source,
        assets.clone(),
        feed_config,
        notifier.clone(),
        trade_tx.clone(),
        stop_rx,
    )
    .map_err(oserr("asset thread"))?;
    threads.push(feed);
    Ok(stop)
}

/// The gpg thread, when a master key is configured.
fn spawn_gpg(
    config: &Config,
    notifier: &Notifier,
    threads: &mut Vec<JoinHandle<()>>,
) -> Result<Option<Sender<gpg_thread::GpgJob>>, (u8, String)> {
    let Some(fpr) = &config.master_key else {
        papertrader_common::warn!("no master_key configured: every worker link will be refused");
        return Ok(None);
    };
    let (tx, rx) = crossbeam_channel::bounded(GPG_QUEUE);
    let home = config.gnupg_home.clone();
    let handle = gpg_thread::spawn(home, fpr.clone(), rx, notifier.clone())
        .map_err(|e| (EX_CONFIG, format!("master_key {fpr}: {e}")))?;
    threads.push(handle);
    Ok(Some(tx))
}

fn load_assets(config: &Config) -> Result<Vec<market::Asset>, (u8, String)> {
    match &config.assets_file {
        Some(path) => market::assets::load(path).map_err(config_err),
        None => Ok(market::assets::built_in()),
    }
}

fn check_log_file(config: &Config) -> Result<(), (u8, String)> {
    match &config.log.file {
        Some(path) => ptlog::open_log_file(path)
            .map(drop)
            .map_err(|e| (EX_CANTCREAT, format!("log_file: {e}"))),
        None => Ok(()),
    }
}

/// The configured master key must be a usable secret key in gnupg_home.
fn check_master_key(config: &Config) -> Result<(), (u8, String)> {
    let Some(fpr) = &config.master_key else {
        return Ok(());
    };
    papertrader_common::gpg::Signer::new(Some(&config.gnupg_home), fpr)
        .map(drop)
        .map_err(|e| (EX_CONFIG, format!("master_key: {e}")))
}

/// The provider `price_source` names, built now when it is not a real one
/// (a bad `csv_file` stops the master here).
fn price_source(config: &Config) -> Result<Option<Box<dyn Provider>>, (u8, String)> {
    routes::local_source(&config.price_source, config.update_interval).map_err(config_err)
}

fn load_registry(config: &Config) -> Result<Registry, (u8, String)> {
    if config.workers_file_required || config.workers_file.exists() {
        Registry::load(&config.workers_file).map_err(config_err)
    } else {
        Ok(Registry::empty())
    }
}
