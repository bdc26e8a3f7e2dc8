//! ptworkerd: the PaperTrader worker server. Parses flags, reads the
//! config, starts the log system, binds, spawns the helper threads and runs
//! the event loop. See ptworkerd(8).

use std::process::ExitCode;
use std::sync::Arc;

use mio::Poll;
use papertrader_common::daemon;
use papertrader_common::log::{self as ptlog, LogConfig};
use papertrader_worker::cache::Caches;
use papertrader_worker::config::Config;
use papertrader_worker::event::{self, Event};
use papertrader_worker::server::{Parts, Server};
use papertrader_worker::{cache_thread, gpg_thread};
use parking_lot::Mutex;

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
    if flags.check_only {
        println!("configuration OK");
        return Ok(());
    }
    if flags.verbose {
        config.log_level = config.log_level.max(log::LevelFilter::Debug);
    }
    let config = Arc::new(config);
    let oserr = |what: String| move |e: std::io::Error| (EX_OSERR, format!("{what}: {e}"));
    if !flags.foreground {
        // Before any thread; this command then waits for daemon::ready or
        // for the error of any step below.
        daemon::detach("ptworkerd", &config.pid_file).map_err(oserr("detach".into()))?;
    }
    let std_listener = std::net::TcpListener::bind(config.listen)
        .map_err(oserr(format!("bind {}", config.listen)))?;
    std_listener
        .set_nonblocking(true)
        .map_err(oserr("listener".into()))?;
    let local = std_listener
        .local_addr()
        .map_err(oserr("listener".into()))?;
    // Checked before the threads start, so that a bad key stops the start.
    if let (Some(fpr), true) = (&config.worker_key, config.can_link()) {
        papertrader_common::gpg::Signer::new(Some(&config.gnupg_home), fpr)
            .map_err(|e| (EX_CONFIG, format!("worker_key: {e}")))?;
    }
    // Starts the "log" thread.
    let log = ptlog::init(LogConfig {
        level: config.log_level,
        memory_entries: config.log_memory_entries,
        file: config.log_file.clone(),
        echo_stderr: flags.foreground,
    })
    .map_err(|e| (daemon::EX_SOFTWARE, format!("logger: {e}")))?;
    daemon::exit_on_thread_panic();
    papertrader_common::info!(
        "ptworkerd {} starting with {}",
        env!("CARGO_PKG_VERSION"),
        config.source
    );

    let poll = Poll::new().map_err(oserr("poll".into()))?;
    let waker = Server::waker(&poll).map_err(oserr("waker".into()))?;
    let (notifier, events) = event::notifier(waker);
    let caches = Arc::new(Mutex::new(Caches::new(
        config.session_cache_ttl,
        config.history_cache_ttl,
        config.history_cache_bytes,
    )));
    let mut handles = Vec::new();
    let gpg_tx = match (&config.worker_key, config.can_link()) {
        (Some(fpr), true) => {
            let (tx, rx) = crossbeam_channel::bounded(4);
            let home = config.gnupg_home.clone();
            let handle =
                gpg_thread::spawn(home, fpr.clone(), rx, notifier.clone()).map_err(|e| {
                    (
                        EX_CONFIG,
                        format!("worker_key {fpr} in {}: {e}", config.gnupg_home.display()),
                    )
                })?;
            handles.push(handle);
            Some(tx)
        }
        _ => {
            papertrader_common::warn!(
                "uuid, worker_key and master_key are not all set: no master link"
            );
            None
        }
    };
    let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
    handles.push(cache_thread::spawn(caches.clone(), stop_rx).map_err(oserr("cache".into()))?);
    papertrader_common::threads::spawn_signals(notifier, Event::Signal)
        .map_err(oserr("signal thread".into()))?;

    let listener = mio::net::TcpListener::from_std(std_listener);
    let parts = Parts {
        config: config.clone(),
        poll,
        listener,
        caches,
        gpg_tx,
        events,
        log: log.clone(),
    };
    let mut server = Server::new(parts).map_err(oserr("listener".into()))?;
    papertrader_common::info!("listening on {local}, master {}", config.master);
    println!("listening on {local}");
    daemon::ready();
    let result = server.run();
    drop(server);
    drop(stop_tx);
    for handle in handles {
        let _ = handle.join();
    }
    if !flags.foreground {
        let _ = std::fs::remove_file(&config.pid_file);
    }
    papertrader_common::info!("stopped");
    // Waits for the log thread: the process ends next.
    let _ = log.flush_wait();
    result.map_err(oserr("event loop".into()))
}
