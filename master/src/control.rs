//! The local admin socket used by ptctl(8). Runs on the "control" thread:
//! accepts one connection at a time on a Unix socket created mode 0600,
//! reads one command line, answers, closes. Commands that need the event
//! loop's state travel there as an [`Event::Control`] and wait for it.
//! `reload` (from ptctl, or from the loop on SIGHUP) reads workers.list and
//! the asset list here and hands the loop parsed values, so the loop never
//! touches a file.

use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use mio::{Events, Interest, Poll, Token, Waker};
use papertrader_common::log::LogHandle;
use papertrader_common::value::Timestamp;

use crate::auth::Auth;
use crate::command::{Command, CommandError, Reloaded};
use crate::config::Config;
use crate::event::{Event, Notifier};

/// Work the event loop hands the control thread.
#[derive(Debug)]
pub enum ControlJob {
    /// SIGHUP arrived: reload and log the outcome.
    Reload,
}

/// Sends [`ControlJob`]s to the control thread and wakes it.
pub type ControlTx = papertrader_common::notify::Notifier<ControlJob>;

/// What `audit` and `account` read: the trade tables on their own
/// connection.
pub struct Books {
    /// A read connection to the database.
    pub conn: rusqlite::Connection,
}

/// How long a ptctl client may take to send its line.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the loop may take to answer.
const LOOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Binds `path` (replacing a stale socket) with mode 0600.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Ok(meta) = fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        let shown = path.display();
        if !meta.file_type().is_socket() {
            return Err(io::Error::other(format!(
                "{shown} exists and is not a socket"
            )));
        }
        if UnixStream::connect(path).is_ok() {
            let running = format!("{shown} is in use: is ptmasterd already running?");
            return Err(io::Error::other(running));
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

/// What the control thread works with besides its socket.
pub struct Context {
    /// Answers `sessions` from its own database connection.
    pub auth: Auth,
    /// Answers `audit` and `account`.
    pub books: Books,
    /// Where `reload` finds its files.
    pub config: Arc<Config>,
    /// The way to the event loop.
    pub notifier: Notifier,
    /// For `log flush`.
    pub log: LogHandle,
}

const SOCKET: Token = Token(0);
const WAKER: Token = Token(1);

/// Starts the "control" thread; the returned sender hands it jobs.
pub fn spawn(listener: UnixListener, ctx: Context) -> io::Result<(JoinHandle<()>, ControlTx)> {
    listener.set_nonblocking(true)?;
    let mut listener = mio::net::UnixListener::from_std(listener);
    let poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, SOCKET, Interest::READABLE)?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    let (tx, jobs) = ControlTx::new(Arc::new(move || waker.wake()));
    let handle = thread::Builder::new()
        .name("control".into())
        .spawn(move || run(poll, listener, jobs, ctx))?;
    Ok((handle, tx))
}

fn run(
    mut poll: Poll,
    listener: mio::net::UnixListener,
    jobs: crossbeam_channel::Receiver<ControlJob>,
    ctx: Context,
) {
    let mut events = Events::with_capacity(8);
    loop {
        if let Err(err) = poll.poll(&mut events, None) {
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return papertrader_common::error!("control thread: poll: {err}");
        }
        for job in jobs.try_iter() {
            match job {
                ControlJob::Reload => match reload(&ctx) {
                    Ok(text) => papertrader_common::info!("SIGHUP: {}", text.trim_end()),
                    Err(text) => papertrader_common::error!("SIGHUP: reload failed: {text}"),
                },
            }
        }
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    let stream = UnixStream::from(std::os::fd::OwnedFd::from(stream));
                    if let Err(err) = stream
                        .set_nonblocking(false)
                        .and_then(|()| serve(stream, &ctx))
                    {
                        papertrader_common::warn!("control client: {err}");
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    papertrader_common::error!("control socket accept: {err}");
                    break;
                }
            }
        }
    }
}

/// Reads the files and asks the loop to put them in force.
fn reload(ctx: &Context) -> Result<String, CommandError> {
    let reloaded = Reloaded::load(&ctx.config)?;
    ask(&ctx.notifier, Command::Reload(Box::new(reloaded)))
}

/// How a command ended: done (`ok`), ran but found problems (`fail`, for
/// an audit that disagrees), or could not run (`error`).
enum Answer {
    Ok(String),
    Fail(String),
    Error(String),
}

impl From<Result<String, CommandError>> for Answer {
    fn from(result: Result<String, CommandError>) -> Answer {
        result.map_or_else(|err| Answer::Error(err.to_string()), Answer::Ok)
    }
}

fn serve(stream: UnixStream, ctx: &Context) -> io::Result<()> {
    let (auth, books, notifier, log) = (&ctx.auth, &ctx.books, &ctx.notifier, &ctx.log);
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut line = String::new();
    BufReader::new(io::Read::take(&stream, 1024)).read_line(&mut line)?;
    let words: Vec<&str> = line.split_whitespace().collect();
    papertrader_common::info!("ptctl: {}", words.join(" "));
    let answer = match words.as_slice() {
        ["status"] => ask(notifier, Command::Status).into(),
        ["workers"] => ask(notifier, Command::Workers).into(),
        ["kick", name] => ask(notifier, Command::Kick(name.to_string())).into(),
        ["reload"] => reload(ctx).into(),
        ["sessions"] => sessions(auth).into(),
        ["audit"] => audit(books),
        ["account", name] => account(books, name).into(),
        // The file name is the rest of the line: it may hold spaces.
        ["backup", ..] => {
            let path = line.trim_end_matches('\n').trim_start()["backup".len()..].trim_start();
            backup(books, Path::new(path)).into()
        }
        // This thread may wait for the log thread; the event loop never does.
        ["log", "flush"] => log
            .flush_wait()
            .map(|()| "log flushed\n".to_string())
            .map_err(CommandError::Log)
            .into(),
        _ => Err(CommandError::Unknown(line.trim().to_string())).into(),
    };
    let mut out = &stream;
    match answer {
        Answer::Ok(text) => write!(out, "ok\n{text}"),
        Answer::Fail(text) => write!(out, "fail\n{text}"),
        Answer::Error(text) => writeln!(out, "error {text}"),
    }
}

/// `account NAME`: the account's books, then whether it has a password
/// and each identity linked to it (`identity PROVIDER ISSUER SUBJECT
/// LINKED`).
fn account(books: &Books, name: &str) -> Result<String, CommandError> {
    let mut out = crate::trade::account_text(&books.conn, name).map_err(CommandError::Refused)?;
    let key = name.to_ascii_lowercase();
    let found = crate::db::accounts::credentials(&books.conn, &key)
        .map_err(|e| CommandError::Database("the account", e))?;
    let Some((id, phc)) = found else {
        return Ok(out);
    };
    let password = if phc.is_some() { "yes" } else { "no" };
    out.push_str(&format!("password {password}\n"));
    let identities = crate::db::identities::of_account(&books.conn, id)
        .map_err(|e| CommandError::Database("the account's identities", e))?;
    for i in identities {
        out.push_str(&format!(
            "identity {} {} {} {}\n",
            i.provider, i.issuer, i.subject, i.created.0
        ));
    }
    Ok(out)
}

/// `backup FILE`: a consistent copy of the whole database in a new file
/// (mode 0600; an existing one is refused), made with SQLite's online
/// backup in one step over a read transaction, so trading goes on (WAL
/// readers do not block the writer) and the copy is of one moment. The
/// copy is opened and its schema version checked before `ok`.
fn backup(books: &Books, path: &Path) -> Result<String, CommandError> {
    let shown = path.display().to_string();
    let fail = |why: String| CommandError::Backup(shown.clone(), why);
    if !path.is_absolute() {
        return Err(fail("the file name must be absolute".into()));
    }
    let started = std::time::Instant::now();
    // Created here, not by SQLite, which would use the umask.
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| fail(e.to_string()))?;
    let copied = (|| -> rusqlite::Result<Result<(i32, i64), String>> {
        use rusqlite::backup::StepResult;
        let mut to = rusqlite::Connection::open(path)?;
        let pages = {
            let copy = rusqlite::backup::Backup::new(&books.conn, &mut to)?;
            match copy.step(-1)? {
                StepResult::Done => copy.progress().pagecount,
                // Busy or locked come back as results, not errors.
                other => {
                    let why = format!("the database was busy ({other:?}); try again");
                    return Ok(Err(why));
                }
            }
        };
        let version: i64 = to.pragma_query_value(None, "user_version", |r| r.get(0))?;
        Ok(Ok((pages, version)))
    })();
    let (pages, version) = match copied {
        Ok(Ok(done)) => done,
        Ok(Err(why)) => {
            let _ = fs::remove_file(path);
            return Err(fail(why));
        }
        Err(err) => {
            let _ = fs::remove_file(path);
            return Err(fail(err.to_string()));
        }
    };
    if version != crate::db::schema_version() {
        let _ = fs::remove_file(path);
        return Err(fail(format!("the copy reads as schema version {version}")));
    }
    let bytes = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    papertrader_common::info!(
        "ptctl backup: {pages} pages ({bytes} bytes) to {shown} in {:?}",
        started.elapsed()
    );
    Ok(format!(
        "backed up {pages} pages ({bytes} bytes) to {shown} in {:.1} s\n",
        started.elapsed().as_secs_f64()
    ))
}

/// Recomputes every account from its history; `fail` lists disagreements.
fn audit(books: &Books) -> Answer {
    match crate::trade::audit(&books.conn) {
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

fn ask(notifier: &Notifier, command: Command) -> Result<String, CommandError> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    if !notifier.send(Event::Control { command, reply: tx }) {
        return Err(CommandError::LoopGone);
    }
    rx.recv_timeout(LOOP_TIMEOUT)
        .map_err(|_| CommandError::LoopSilent)?
}

fn sessions(auth: &Auth) -> Result<String, CommandError> {
    let rows = auth
        .sessions(Timestamp::now())
        .map_err(CommandError::Refused)?;
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
