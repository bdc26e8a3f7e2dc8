//! ptmasterd: the PaperTrader master server. Parses flags, reads the
//! config, starts the log system, binds, spawns the helper threads and runs
//! the event loop. See ptmasterd(8).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use mio::Poll;
use papertrader_common::log::{self as ptlog, LogConfig};
use papertrader_master::auth::Auth;
use papertrader_master::config::Config;
use papertrader_master::event::Notifier;
use papertrader_master::ratelimit::RateLimiter;
use papertrader_master::registry::Registry;
use papertrader_master::server::{Parts, Server};
use papertrader_master::{control, daemon, db, pool};
use parking_lot::Mutex;

const EX_USAGE: u8 = 64;
const EX_SOFTWARE: u8 = 70;
const EX_OSERR: u8 = 71;
const EX_CANTCREAT: u8 = 73;
const EX_CONFIG: u8 = 78;

const USAGE: &str = "usage: ptmasterd [-fnv] [-c config]";

/// Queued account requests before new ones are answered `unavailable`.
const AUTH_QUEUE: usize = 4096;
const GPG_QUEUE: usize = 256;

struct Flags {
    foreground: bool,
    check_only: bool,
    verbose: bool,
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err((status, message)) => {
            eprintln!("ptmasterd: {message}");
            log::error!("{message}");
            log::logger().flush();
            ExitCode::from(status)
        }
    }
}

fn parse_flags() -> Result<Flags, (u8, String)> {
    use lexopt::prelude::*;
    let usage = |e: lexopt::Error| (EX_USAGE, format!("{e}\n{USAGE}"));
    let mut flags = Flags {
        foreground: false,
        check_only: false,
        verbose: false,
        config: None,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Short('f') => flags.foreground = true,
            Short('n') => flags.check_only = true,
            Short('v') => flags.verbose = true,
            Short('c') => flags.config = Some(parser.value().map_err(usage)?.into()),
            Short('h') | Long("help") => return Err((0, USAGE.to_string())),
            other => return Err(usage(other.unexpected())),
        }
    }
    Ok(flags)
}

fn run() -> Result<(), (u8, String)> {
    let flags = parse_flags()?;
    let mut config =
        Config::load(flags.config.as_deref()).map_err(|e| (EX_CONFIG, e.to_string()))?;
    let registry = load_registry(&config)?;
    if flags.check_only {
        println!("configuration OK");
        return Ok(());
    }
    if flags.verbose {
        config.log_level = log::LevelFilter::Debug;
    }
    let config = Arc::new(config);
    let oserr = |what: String| move |e: std::io::Error| (EX_OSERR, format!("{what}: {e}"));
    std::fs::create_dir_all(&config.state_dir).map_err(|e| {
        (
            EX_CANTCREAT,
            format!("state_dir {}: {e}", config.state_dir.display()),
        )
    })?;
    let std_listener = std::net::TcpListener::bind(config.listen)
        .map_err(oserr(format!("bind {}", config.listen)))?;
    std_listener
        .set_nonblocking(true)
        .map_err(oserr("listener".into()))?;
    let local = std_listener
        .local_addr()
        .map_err(oserr("listener".into()))?;
    let control_listener = control::bind(&config.control_socket).map_err(|e| {
        (
            EX_CANTCREAT,
            format!("control socket {}: {e}", config.control_socket.display()),
        )
    })?;
    if !flags.foreground {
        papertrader_common::daemon::detach(&config.pid_file).map_err(oserr("detach".into()))?;
    }
    let log = ptlog::init(LogConfig {
        level: config.log_level,
        memory_entries: config.log_memory_entries,
        file: config.log_file.clone(),
        echo_stderr: flags.foreground,
    })
    .map_err(|e| (EX_SOFTWARE, format!("logger: {e}")))?;
    exit_on_thread_panic();
    log::info!(
        "ptmasterd {} starting with {}",
        env!("CARGO_PKG_VERSION"),
        config.source
    );

    let conn = db::open(&config.database).map_err(|e| (EX_CANTCREAT, e.to_string()))?;
    let poll = Poll::new().map_err(oserr("poll".into()))?;
    let waker = Server::waker(&poll).map_err(oserr("waker".into()))?;
    let (notifier, events) = Notifier::new(waker);
    let limiter = Arc::new(Mutex::new(RateLimiter::new(config.rate_limit.clone())));
    let auth_config = Arc::new(config.auth.clone());
    let (auth_tx, auth_rx) = crossbeam_channel::bounded(AUTH_QUEUE);
    let mut threads = pool::spawn_auth(
        config.auth_threads,
        config.database.clone(),
        auth_config.clone(),
        limiter.clone(),
        auth_rx,
        notifier.clone(),
    )
    .map_err(oserr("auth threads".into()))?;
    let gpg_tx = match &config.master_key {
        Some(fpr) => {
            let (tx, rx) = crossbeam_channel::bounded(GPG_QUEUE);
            let handle =
                pool::spawn_gpg(config.gnupg_home.clone(), fpr.clone(), rx, notifier.clone())
                    .map_err(|e| {
                        (
                            EX_CONFIG,
                            format!("master_key {fpr} in {}: {e}", config.gnupg_home.display()),
                        )
                    })?;
            threads.push(handle);
            Some(tx)
        }
        None => {
            log::warn!("no master_key configured: every worker link will be refused");
            None
        }
    };
    let control_auth = Auth::new(conn, auth_config, limiter);
    control::spawn(
        control_listener,
        control_auth,
        notifier.clone(),
        log.clone(),
    )
    .map_err(oserr("control thread".into()))?;
    daemon::spawn_signals(notifier).map_err(oserr("signal thread".into()))?;

    let listener = mio::net::TcpListener::from_std(std_listener);
    let parts = Parts {
        config: config.clone(),
        poll,
        listener,
        registry,
        auth_tx,
        gpg_tx,
        events,
        log: log.clone(),
    };
    let mut server = Server::new(parts).map_err(oserr("listener".into()))?;
    log::info!("listening on {local}");
    println!("listening on {local}");
    let result = server.run();
    drop(server);
    for handle in threads {
        let _ = handle.join();
    }
    let _ = std::fs::remove_file(&config.control_socket);
    if !flags.foreground {
        let _ = std::fs::remove_file(&config.pid_file);
    }
    log::info!("stopped");
    let _ = log.flush();
    result.map_err(oserr("event loop".into()))
}

fn load_registry(config: &Config) -> Result<Registry, (u8, String)> {
    if config.workers_file_required || config.workers_file.exists() {
        Registry::load(&config.workers_file).map_err(|e| (EX_CONFIG, e.to_string()))
    } else {
        Ok(Registry::empty())
    }
}

/// A dead thread takes the daemon down rather than leave it half alive:
/// after the log system's hook has recorded and flushed the panic, exit.
fn exit_on_thread_panic() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        std::process::exit(i32::from(EX_SOFTWARE));
    }));
}
