//! ptworkerd: the PaperTrader worker server. Parses flags, reads the
//! config, starts the log system, binds, spawns the helper threads and runs
//! the event loop. See ptworkerd(8).

use std::process::ExitCode;
use std::sync::Arc;
use std::thread::JoinHandle;

use mio::Poll;
use papertrader_common::daemon;
use papertrader_common::log::{self as ptlog, LogConfig};
use papertrader_common::tls::TlsError;
use papertrader_worker::cache::Caches;
use papertrader_worker::config::Config;
use papertrader_worker::event::{self, Event};
use papertrader_worker::gpg_thread;
use papertrader_worker::server::{Parts, Server};

const EX_OSERR: u8 = 71;
const EX_CONFIG: u8 = 78;

const USAGE: &str = "usage: ptworkerd [-fnv] [-c config]";

fn main() -> ExitCode {
    daemon::finish("ptworkerd", run())
}

fn run() -> Result<(), (u8, String)> {
    let flags = daemon::Flags::parse(std::env::args_os().skip(1), USAGE)?;
    let mut config =
        Config::load(flags.config.as_deref()).map_err(|e| (EX_CONFIG, e.to_string()))?;
    let tls =
        papertrader_worker::tls::server_config(&config).map_err(|e| (EX_CONFIG, e.to_string()))?;
    if flags.check_only {
        println!("configuration OK");
        return Ok(());
    }
    if flags.verbose {
        config.log.level = config.log.level.max(log::LevelFilter::Debug);
    }
    let config = Arc::new(config);
    if !flags.foreground {
        // Before any thread; this command then waits for daemon::ready or
        // for the error of any step below.
        daemon::detach("ptworkerd", &config.pid_file).map_err(oserr("detach"))?;
    }
    let std_listener = bind(config.listen)?;
    let local = std_listener.local_addr().map_err(oserr("listener"))?;
    let web_listener = config.web_listen.map(bind).transpose()?;
    let web_local = web_listener.as_ref().map(|l| l.local_addr());
    let web_local = web_local.transpose().map_err(oserr("web listener"))?;
    // Checked before the threads start, so that a bad key stops the start.
    if let (Some(fpr), true) = (&config.worker_key, config.can_link()) {
        papertrader_common::gpg::Signer::new(Some(&config.gnupg_home), fpr)
            .map_err(|e| (EX_CONFIG, format!("worker_key: {e}")))?;
    }
    let log = daemon::start_logging(LogConfig {
        echo_stderr: flags.foreground,
        ..config.log.clone()
    })?;
    papertrader_common::info!(
        "ptworkerd {} starting with {}",
        env!("CARGO_PKG_VERSION"),
        config.source
    );
    let (mut server, threads) = start(&config, (std_listener, web_listener, tls), &log)?;
    papertrader_common::info!("listening on {local}, master {}", config.master);
    println!("listening on {local}");
    if let Some(web) = web_local {
        papertrader_common::info!("web app on {web}");
        println!("web listening on {web}");
    }
    daemon::ready();
    let result = server.run();
    drop(server);
    for handle in threads {
        let _ = handle.join();
    }
    daemon::stopped(&log, (!flags.foreground).then_some(&*config.pid_file));
    result.map_err(oserr("event loop"))
}

fn oserr(what: &str) -> impl Fn(std::io::Error) -> (u8, String) + '_ {
    move |e| (EX_OSERR, format!("{what}: {e}"))
}

/// A port (client or web), bound and non-blocking.
fn bind(addr: std::net::SocketAddr) -> Result<std::net::TcpListener, (u8, String)> {
    let listener =
        std::net::TcpListener::bind(addr).map_err(|e| (EX_OSERR, format!("bind {addr}: {e}")))?;
    listener.set_nonblocking(true).map_err(oserr("listener"))?;
    Ok(listener)
}

/// The client port, the web port if any, and the TLS they share.
type Listeners = (
    std::net::TcpListener,
    Option<std::net::TcpListener>,
    Option<Arc<rustls::ServerConfig>>,
);

/// The helper threads, to join at the end.
type Threads = Vec<JoinHandle<()>>;

/// Starts the helper threads (gpg, signals) and builds the server.
fn start(
    config: &Arc<Config>,
    (std_listener, web_listener, tls): Listeners,
    log: &ptlog::LogHandle,
) -> Result<(Server, Threads), (u8, String)> {
    let poll = Poll::new().map_err(oserr("poll"))?;
    let waker = Server::waker(&poll).map_err(oserr("waker"))?;
    let (notifier, events) = event::notifier(waker);
    let caches = Caches::new(
        config.session_cache_ttl,
        config.history_cache_ttl,
        config.history_cache_bytes,
    );
    let mut threads = Vec::new();
    let gpg_tx = match (&config.worker_key, config.can_link()) {
        (Some(fpr), true) => {
            let (tx, rx) = crossbeam_channel::bounded(4);
            let home = config.gnupg_home.clone();
            let handle =
                gpg_thread::spawn(home, fpr.clone(), rx, notifier.clone()).map_err(|e| {
                    let home = config.gnupg_home.display();
                    (EX_CONFIG, format!("worker_key {fpr} in {home}: {e}"))
                })?;
            threads.push(handle);
            Some(tx)
        }
        _ => {
            papertrader_common::warn!(
                "uuid, worker_key and master_key are not all set: no master link"
            );
            None
        }
    };
    let tls_reload = tls.is_some().then(|| config.clone());
    papertrader_common::threads::spawn_signals(notifier, move |sig| match &tls_reload {
        // Renewed certificates are read here, on the signals thread.
        Some(config) if sig == signal_hook::consts::SIGHUP => Event::TlsReloaded(
            papertrader_worker::tls::server_config(config)
                .and_then(|tls| tls.ok_or(TlsError::Off("client_tls"))),
        ),
        _ => Event::Signal(sig),
    })
    .map_err(oserr("signal thread"))?;
    let parts = Parts {
        config: config.clone(),
        poll,
        listener: mio::net::TcpListener::from_std(std_listener),
        web_listener: web_listener.map(mio::net::TcpListener::from_std),
        tls,
        caches,
        gpg_tx,
        events,
        log: log.clone(),
    };
    let server = Server::new(parts).map_err(oserr("listener"))?;
    Ok((server, threads))
}
