//! Bounded log system (seed 3.1.4, 3.2.5): the `log::Log` implementation
//! behind every `error!`..`trace!` of the daemons.
//!
//! `main.rs` of each daemon calls [`init`] once, after reading its config
//! and before spawning threads; every thread then logs through the `log`
//! macros. Each entry records the date and time (UTC), level, thread name,
//! module path, file, line and formatted message. The `log` crate does not
//! expose function names, so the module path stands for the function.
//!
//! Entries stay in a bounded in-memory buffer of at most
//! [`LogConfig::memory_entries`] (config key `log_memory_entries`) and are
//! appended to the log file when the buffer fills, when the daemon asks
//! ([`LogHandle::flush`], on SIGUSR1 and at shutdown) and from the panic
//! hook [`init`] installs, so a crash still leaves its last entries on disk.
//! Without a log file, flushed entries go to stderr.
//!
//! The buffer lock is only held to push an entry or swap the buffer out;
//! file I/O happens after it is released. Each swapped-out batch gets a
//! number and batches are written strictly in that order, so the file keeps
//! the order entries were logged in even when several threads flush at once.

use std::any::Any;
use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::mem;
use std::os::unix::fs::OpenOptionsExt;
use std::panic::{Location, PanicHookInfo};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use ::log::{Level, LevelFilter, Log, Metadata, Record, SetLoggerError};
use time::OffsetDateTime;

/// Default for `log_memory_entries`: entries kept in memory between writes.
pub const DEFAULT_MEMORY_ENTRIES: usize = 1000;

/// Mode a new log file is created with (before the umask).
pub const FILE_MODE: u32 = 0o640;

/// How the log system is set up; a daemon builds it from its config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Entries above this level are dropped.
    pub level: LevelFilter,
    /// Entries kept in memory before they are written; 0 counts as 1.
    pub memory_entries: usize,
    /// The log file, appended to; `None` writes flushed entries to stderr.
    pub file: Option<PathBuf>,
    /// Also print every entry to stderr at once (foreground daemons, `-f`).
    pub echo_stderr: bool,
}

impl Default for LogConfig {
    /// `info` and above, [`DEFAULT_MEMORY_ENTRIES`], no file, no echo.
    fn default() -> Self {
        LogConfig {
            level: LevelFilter::Info,
            memory_entries: DEFAULT_MEMORY_ENTRIES,
            file: None,
            echo_stderr: false,
        }
    }
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When it was logged, UTC.
    pub time: OffsetDateTime,
    /// Its level.
    pub level: Level,
    /// Name of the thread that logged it (`-` for an unnamed thread).
    pub thread: String,
    /// Module path of the call site; it stands for the function, which the
    /// `log` crate does not expose.
    pub module: Cow<'static, str>,
    /// Source file of the call site, as the compiler names it.
    pub file: Cow<'static, str>,
    /// Source line of the call site, when known.
    pub line: Option<u32>,
    /// The formatted message.
    pub message: String,
}

impl Entry {
    /// An entry stamped now, on the current thread.
    fn now(level: Level, module: Cow<'static, str>, file: Cow<'static, str>) -> Entry {
        Entry {
            time: OffsetDateTime::now_utc(),
            level,
            thread: thread_name(),
            module,
            file,
            line: None,
            message: String::new(),
        }
    }

    /// The entry for a `log` record.
    fn from_record(record: &Record<'_>) -> Entry {
        let module = match (record.module_path_static(), record.module_path()) {
            (Some(m), _) => Cow::Borrowed(m),
            (None, Some(m)) => Cow::Owned(m.to_string()),
            (None, None) => Cow::Owned(record.target().to_string()),
        };
        let file = match (record.file_static(), record.file()) {
            (Some(f), _) => Cow::Borrowed(f),
            (None, Some(f)) => Cow::Owned(f.to_string()),
            (None, None) => Cow::Borrowed("?"),
        };
        let mut entry = Entry::now(record.level(), module, file);
        entry.line = record.line();
        entry.message = record.args().to_string();
        entry
    }

    /// The error entry for a panic with `payload` at `location`.
    fn from_panic(payload: &(dyn Any + Send), location: Option<&Location<'_>>) -> Entry {
        let what = if let Some(s) = payload.downcast_ref::<&str>() {
            *s
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.as_str()
        } else {
            "(payload is not a string)"
        };
        let file = location.map_or(Cow::Borrowed("?"), |l| Cow::Owned(l.file().to_string()));
        let mut entry = Entry::now(Level::Error, Cow::Borrowed("panic"), file);
        entry.line = location.map(Location::line);
        entry.message = format!("panicked: {what}");
        entry
    }
}

impl fmt::Display for Entry {
    /// One line without its newline:
    /// `2026-11-21 23:15:02.123 INFO  [main] master::server server.rs:120 listening on ...`;
    /// newlines, backslashes and other control characters in the message
    /// are escaped (`\n`, `\\`, `\u{1b}`) so an entry is always one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.time;
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} {:<5} [{}] {} {}:",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond(),
            self.level.as_str(),
            self.thread,
            self.module,
            self.file.rsplit('/').next().unwrap_or(&self.file),
        )?;
        match self.line {
            Some(line) => write!(f, "{line} ")?,
            None => f.write_str("? ")?,
        }
        for c in self.message.chars() {
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                '\\' => f.write_str("\\\\")?,
                c if c.is_control() => write!(f, "{}", c.escape_unicode())?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// The current thread's name, cached per thread.
fn thread_name() -> String {
    thread_local! {
        static NAME: String = thread::current().name().unwrap_or("-").to_string();
    }
    // A thread tearing down its locals can still log: name it `-`.
    NAME.try_with(String::clone)
        .unwrap_or_else(|_| "-".to_string())
}

/// Opens (creating with [`FILE_MODE`]) `path` for appending; the error
/// names the path. Daemons may call it to check a log file at start.
pub fn open_log_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .open(path)
        .map_err(|err| named(path, err))
}

/// `err` with `path` in front of its message, unless it has it already.
fn named(path: &Path, err: io::Error) -> io::Error {
    let message = err.to_string();
    let path = path.display().to_string();
    if message.starts_with(&path) {
        return err;
    }
    io::Error::new(err.kind(), format!("{path}: {message}"))
}

/// The in-memory entries, guarded by the buffer lock.
#[derive(Debug, Default)]
struct Buffer {
    entries: Vec<Entry>,
    /// Number the next swapped-out batch gets.
    next_batch: u64,
}

impl Buffer {
    /// Swaps the entries out as the next numbered batch.
    fn take(&mut self) -> (u64, Vec<Entry>) {
        let batch = self.next_batch;
        self.next_batch += 1;
        (batch, mem::take(&mut self.entries))
    }
}

/// Where entries go when there is no log file, when they are echoed, and
/// where write errors are reported: stderr, except in tests.
type ErrOut = Arc<Mutex<dyn Write + Send>>;

/// Where batches go, guarded by the sink lock.
struct Sink {
    path: Option<PathBuf>,
    /// Open log file; `None` until opened or after a write error.
    file: Option<File>,
    /// Number of the batch whose turn it is to be written.
    turn: u64,
    /// A write error was reported and no write has succeeded since.
    failing: bool,
    stderr: ErrOut,
}

impl Sink {
    /// Writes `entries`; `echoed` says they were printed to stderr already.
    fn write(&mut self, entries: &[Entry], echoed: bool) -> io::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for entry in entries {
            // Writing to a String cannot fail.
            let _ = writeln!(text, "{entry}");
        }
        let Some(path) = &self.path else {
            if !echoed {
                // Nowhere else to report a failure of stderr itself.
                let _ = lock(&self.stderr).write_all(text.as_bytes());
            }
            return Ok(());
        };
        let written = match &mut self.file {
            Some(file) => file.write_all(text.as_bytes()),
            None => open_log_file(path)
                .and_then(|file| self.file.insert(file).write_all(text.as_bytes())),
        };
        let Err(err) = written else {
            self.failing = false;
            return Ok(());
        };
        let err = named(path, err);
        // Reopen on the next write: the file may have been removed.
        self.file = None;
        let mut stderr = lock(&self.stderr);
        if !self.failing {
            self.failing = true;
            let _ = writeln!(stderr, "cannot write log: {err}");
        }
        if !echoed {
            let _ = stderr.write_all(text.as_bytes());
        }
        Err(err)
    }
}

/// The log system: a `log::Log` that buffers entries and writes them in
/// batches. Usable on its own, without [`init`], in tests. Dropping it
/// writes what is left in memory.
pub struct Logger {
    level: LevelFilter,
    memory_entries: usize,
    echo_stderr: bool,
    buffer: Mutex<Buffer>,
    sink: Mutex<Sink>,
    /// Signalled whenever a batch has been written and `Sink::turn` moved.
    turn_done: Condvar,
    stderr: ErrOut,
}

/// Locks `mutex`, ignoring poisoning: the buffer and sink stay consistent
/// because nothing panics while holding them, and a log system that stops
/// after a panic would lose exactly the entries that matter.
fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Logger {
    /// A logger for `config`. Opens the log file now (creating it) so that
    /// it exists from the start; if that fails, the error is printed on
    /// stderr and opening is tried again at each write.
    pub fn new(config: LogConfig) -> Logger {
        Logger::with_stderr(config, Arc::new(Mutex::new(io::stderr())))
    }

    /// [`Logger::new`] with `stderr` standing in for the process's stderr.
    fn with_stderr(config: LogConfig, stderr: ErrOut) -> Logger {
        let mut sink = Sink {
            path: config.file,
            file: None,
            turn: 0,
            failing: false,
            stderr: Arc::clone(&stderr),
        };
        if let Some(path) = &sink.path {
            match open_log_file(path) {
                Ok(file) => sink.file = Some(file),
                Err(err) => {
                    sink.failing = true;
                    let _ = writeln!(lock(&stderr), "cannot open log: {err}");
                }
            }
        }
        Logger {
            level: config.level,
            memory_entries: config.memory_entries.max(1),
            echo_stderr: config.echo_stderr,
            buffer: Mutex::new(Buffer::default()),
            sink: Mutex::new(sink),
            turn_done: Condvar::new(),
            stderr,
        }
    }

    /// Adds `entry`, echoing it and writing the buffer out when it is full.
    fn push(&self, entry: Entry) {
        if self.echo_stderr {
            let _ = writeln!(lock(&self.stderr), "{entry}");
        }
        let full = {
            let mut buf = lock(&self.buffer);
            buf.entries.push(entry);
            (buf.entries.len() >= self.memory_entries).then(|| buf.take())
        };
        if let Some((batch, entries)) = full {
            // A failure was reported on stderr; a log call has no caller to tell.
            let _ = self.write_batch(batch, &entries, |_| {});
        }
    }

    /// Waits for the turn of `batch`, writes it, applies `then` to the sink
    /// and hands the turn on.
    fn write_batch(
        &self,
        batch: u64,
        entries: &[Entry],
        then: impl FnOnce(&mut Sink),
    ) -> io::Result<()> {
        let mut sink = lock(&self.sink);
        while sink.turn != batch {
            sink = self
                .turn_done
                .wait(sink)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let result = sink.write(entries, self.echo_stderr);
        then(&mut sink);
        sink.turn += 1;
        drop(sink);
        self.turn_done.notify_all();
        result
    }

    /// Writes every entry in memory, after any batch other threads are
    /// writing, and empties the buffer.
    pub fn flush_entries(&self) -> io::Result<()> {
        let (batch, entries) = lock(&self.buffer).take();
        self.write_batch(batch, &entries, |_| {})
    }

    /// Writes the entries in memory to the current destination, then
    /// switches to `file` (`None`: stderr). The new file is opened first;
    /// if that fails, nothing changes and the error names the path. Giving
    /// the same path again reopens it, for log rotation.
    pub fn set_file(&self, file: Option<PathBuf>) -> io::Result<()> {
        let opened = file.as_deref().map(open_log_file).transpose()?;
        let (batch, entries) = lock(&self.buffer).take();
        self.write_batch(batch, &entries, |sink| {
            sink.path = file;
            sink.file = opened;
            sink.failing = false;
        })
    }

    /// Number of entries in memory.
    pub fn len(&self) -> usize {
        lock(&self.buffer).entries.len()
    }

    /// True when no entry is in memory.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the entries in memory, oldest first.
    pub fn entries_snapshot(&self) -> Vec<Entry> {
        lock(&self.buffer).entries.clone()
    }

    /// Records a panic as an error entry (whatever the level) and writes
    /// out the buffer. The hook [`init`] installs calls it.
    pub fn record_panic(&self, info: &PanicHookInfo<'_>) {
        self.record_panic_parts(info.payload(), info.location());
    }

    /// [`Logger::record_panic`] from the parts of a `PanicHookInfo`, so that
    /// tests can call it with a payload from `catch_unwind`.
    fn record_panic_parts(&self, payload: &(dyn Any + Send), location: Option<&Location<'_>>) {
        self.push(Entry::from_panic(payload, location));
        // The previous hook prints the panic; a failure was reported already.
        let _ = self.flush_entries();
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            // Formatting runs outside the lock: a panicking Display impl
            // must not leave the panic hook waiting for the buffer.
            self.push(Entry::from_record(record));
        }
    }

    fn flush(&self) {
        let _ = self.flush_entries();
    }
}

impl Drop for Logger {
    fn drop(&mut self) {
        let _ = self.flush_entries();
    }
}

impl fmt::Debug for Logger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logger")
            .field("level", &self.level)
            .field("memory_entries", &self.memory_entries)
            .field("file", &lock(&self.sink).path)
            .field("echo_stderr", &self.echo_stderr)
            .field("len", &self.len())
            .finish()
    }
}

/// The installed logger, for flushing at shutdown or on SIGUSR1 and for
/// reopening the file; clones are cheap and share it.
#[derive(Debug, Clone)]
pub struct LogHandle(Arc<Logger>);

impl LogHandle {
    /// Writes every entry in memory to the log file (stderr without one).
    pub fn flush(&self) -> io::Result<()> {
        self.0.flush_entries()
    }

    /// Number of entries in memory.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when no entry is in memory.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A copy of the entries in memory, oldest first.
    pub fn entries_snapshot(&self) -> Vec<Entry> {
        self.0.entries_snapshot()
    }

    /// See [`Logger::set_file`].
    pub fn set_file(&self, file: Option<PathBuf>) -> io::Result<()> {
        self.0.set_file(file)
    }
}

/// Installs a [`Logger`] for `config` as the global logger, sets the `log`
/// max level, and installs a panic hook that records the panic, writes the
/// buffer out, then runs the previous hook. Fails if a global logger is set
/// already (the panic hook is then left alone).
pub fn init(config: LogConfig) -> Result<LogHandle, SetLoggerError> {
    let level = config.level;
    let logger = Arc::new(Logger::new(config));
    ::log::set_boxed_logger(Box::new(Arc::clone(&logger)))?;
    ::log::set_max_level(level);
    let previous = std::panic::take_hook();
    let hooked = Arc::clone(&logger);
    std::panic::set_hook(Box::new(move |info| {
        hooked.record_panic(info);
        previous(info);
    }));
    Ok(LogHandle(logger))
}

#[cfg(test)]
mod tests;
