//! The local admin socket used by ptctl(8). Runs on the "control" thread:
//! accepts one connection at a time on a Unix socket created mode 0600,
//! reads one command line, answers, closes. Commands that need the event
//! loop's state travel there as an [`Event::Control`] and wait for it.

use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use papertrader_common::log::LogHandle;
use papertrader_common::value::Timestamp;

use crate::auth::Auth;
use crate::event::{Event, Notifier};

/// Commands the event loop answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Daemon summary.
    Status,
    /// Registered workers and their links.
    Workers,
    /// Drop the link of the named worker.
    Kick(String),
    /// Re-read workers.list.
    Reload,
}

/// What `audit` and `account` read: the trade tables on their own
/// connection, and the cash every account started with.
pub struct Books {
    /// A read connection to the database.
    pub conn: rusqlite::Connection,
    /// The configured starting_cash.
    pub starting_cash: papertrader_common::value::Money,
}

/// How long a ptctl client may take to send its line.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the loop may take to answer.
const LOOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Binds `path` (replacing a stale socket) with mode 0600.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Ok(meta) = fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if !meta.file_type().is_socket() {
            return Err(io::Error::other(format!(
                "{} exists and is not a socket",
                path.display()
            )));
        }
        if UnixStream::connect(path).is_ok() {
            return Err(io::Error::other(format!(
                "{} is in use: is ptmasterd already running?",
                path.display()
            )));
        }
        fs::remove_file(path)?;
    }
    // Created under a tight umask, then fixed to 0600 whatever the umask was.
    let old = unsafe { libc::umask(0o177) };
    let listener = UnixListener::bind(path);
    unsafe { libc::umask(old) };
    let listener = listener?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Starts the "control" thread. `auth` answers `sessions` from its own
/// database connection.
pub fn spawn(
    listener: UnixListener,
    auth: Auth,
    books: Books,
    notifier: Notifier,
    log: LogHandle,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("control".into())
        .spawn(move || {
            for stream in listener.incoming() {
                match stream {
                    Ok(stream) => {
                        if let Err(err) = serve(stream, &auth, &books, &notifier, &log) {
                            log::warn!("control client: {err}");
                        }
                    }
                    Err(err) => log::error!("control socket accept: {err}"),
                }
            }
        })
}

/// How a command ended: done (`ok`), ran but found problems (`fail`, for
/// an audit that disagrees), or could not run (`error`).
enum Answer {
    Ok(String),
    Fail(String),
    Error(String),
}

impl From<Result<String, String>> for Answer {
    fn from(result: Result<String, String>) -> Answer {
        result.map_or_else(Answer::Error, Answer::Ok)
    }
}

fn serve(
    stream: UnixStream,
    auth: &Auth,
    books: &Books,
    notifier: &Notifier,
    log: &LogHandle,
) -> io::Result<()> {
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut line = String::new();
    BufReader::new(io::Read::take(&stream, 1024)).read_line(&mut line)?;
    let words: Vec<&str> = line.split_whitespace().collect();
    log::info!("ptctl: {}", words.join(" "));
    let answer = match words.as_slice() {
        ["status"] => ask(notifier, Command::Status).into(),
        ["workers"] => ask(notifier, Command::Workers).into(),
        ["kick", name] => ask(notifier, Command::Kick(name.to_string())).into(),
        ["reload"] => ask(notifier, Command::Reload).into(),
        ["sessions"] => sessions(auth).into(),
        ["audit"] => audit(books),
        ["account", name] => crate::trade::account_text(&books.conn, name)
            .map_err(|r| r.to_string())
            .into(),
        // This thread may wait for the log thread; the event loop never does.
        ["log", "flush"] => log
            .flush_wait()
            .map(|()| "log flushed\n".to_string())
            .map_err(|e| e.to_string())
            .into(),
        _ => Answer::Error(format!(
            "unknown command {:?}; try status, workers, kick NAME, reload, sessions, \
             audit, account NAME, log flush",
            line.trim()
        )),
    };
    let mut out = &stream;
    match answer {
        Answer::Ok(text) => write!(out, "ok\n{text}"),
        Answer::Fail(text) => write!(out, "fail\n{text}"),
        Answer::Error(text) => writeln!(out, "error {text}"),
    }
}

/// Recomputes every account from its history; `fail` lists disagreements.
fn audit(books: &Books) -> Answer {
    match crate::trade::audit(&books.conn, books.starting_cash) {
        Ok(problems) if problems.is_empty() => {
            Answer::Ok("audit clean: every account agrees with its history\n".into())
        }
        Ok(problems) => {
            let n = problems.len();
            let mut text = format!("{n} disagreement{}:\n", if n == 1 { "" } else { "s" });
            for p in problems {
                text.push_str(&p);
                text.push('\n');
            }
            Answer::Fail(text)
        }
        Err(err) => Answer::Error(format!("audit could not read the database: {err}")),
    }
}

fn ask(notifier: &Notifier, command: Command) -> Result<String, String> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    if !notifier.send(Event::Control { command, reply: tx }) {
        return Err("the event loop is gone".into());
    }
    rx.recv_timeout(LOOP_TIMEOUT)
        .map_err(|_| "the event loop did not answer".to_string())?
}

fn sessions(auth: &Auth) -> Result<String, String> {
    let rows = auth.sessions(Timestamp::now()).map_err(|r| r.to_string())?;
    let mut out = String::from("USERNAME CREATED EXPIRES CLIENT KIND WORKER\n");
    for r in rows {
        let kind = if r.expirable {
            "expirable"
        } else {
            "remembered"
        };
        out.push_str(&format!(
            "{} {} {} {} {kind} {}\n",
            r.username, r.created, r.expires, r.client_addr, r.worker
        ));
    }
    Ok(out)
}
