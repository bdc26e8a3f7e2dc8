//! Bounded log system (seed 3.1.4, 3.2.5): the `log::Log` implementation
//! behind every `error!`..`trace!` of the daemons.
//!
//! `main.rs` of each daemon calls [`init`] once, after reading its config
//! and after detaching (it starts a thread, and detaching forks), before
//! the other threads; every thread then logs through the macros
//! [`crate::error!`], [`crate::warn!`], [`crate::info!`], [`crate::debug!`]
//! and [`crate::trace!`]. Each entry records the date and time (UTC),
//! level, thread name, function, file, line and formatted message. The
//! `log` crate has no field for the function: those macros pass its path
//! as the record's target (see [`function_path`]). For a record from
//! anywhere else (another crate, `log::info!`, a `target:` of its own) the
//! module path stands for the function.
//!
//! Entries stay in a bounded in-memory buffer of at most
//! [`LogConfig::memory_entries`] (config key `log_memory_entries`). A log
//! call never writes a file or waits on one: it pushes the entry, and when
//! the buffer is full it hands the whole buffer to the "log" thread, which
//! [`Logger::new`] starts and which alone writes the log file (and stderr).
//! The event loops ask that thread to write the buffer out on SIGUSR1
//! ([`LogHandle::flush`]) and to reopen the file on SIGHUP
//! ([`LogHandle::set_file`]) without waiting for it. Only threads that may
//! wait on a file wait for it to be written ([`LogHandle::flush_wait`]):
//! the control thread for `ptctl log flush`, the end of `main` at
//! shutdown, and the panic hook [`init`] installs, so that a crash still
//! leaves its last entries on disk. Without a log file, written entries go
//! to stderr.
//!
//! Batches reach the log thread in the order they were taken, so the file
//! keeps the order entries were logged in. If the log thread falls behind
//! by more than [`QUEUED_BUFFERS`] buffers, full buffers are dropped rather
//! than waited for; the log thread then writes how many entries were
//! dropped before the next batch.

use std::any::Any;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::mem;
use std::os::unix::fs::OpenOptionsExt;
use std::panic::{Location, PanicHookInfo};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Duration;

use ::log::{LevelFilter, Log, Metadata, Record};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use writer::{Batch, LogWork, Sink};

mod entry;
mod writer;

pub use entry::{Entry, function_path};

/// Default for `log_memory_entries`: entries kept in memory between writes.
pub const DEFAULT_MEMORY_ENTRIES: usize = 1000;

/// Mode a new log file is created with (before the umask).
pub const FILE_MODE: u32 = 0o640;

/// How many full buffers the log thread may be behind before full buffers
/// are dropped (and counted) instead of handed to it.
pub const QUEUED_BUFFERS: usize = 4;

/// The least number of entries the log thread may be behind, whatever
/// `log_memory_entries` is.
const MIN_QUEUED: usize = 256;

/// How long a caller that waits for the log thread ([`LogHandle::flush_wait`],
/// the panic hook) waits at most.
pub const SYNC_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// Longest message kept, in bytes; a longer one is cut with a marker
    /// saying how much went (config key `log_max_message`).
    pub max_message: usize,
    /// Size at which the log file is rotated to `FILE.1`, replacing the
    /// one before; if that fails, the file stops growing rather than fill
    /// the disk (config key `log_max_bytes`).
    pub max_file_bytes: u64,
}

/// Default of [`LogConfig::max_message`].
pub const DEFAULT_MAX_MESSAGE: usize = 4096;
/// Default of [`LogConfig::max_file_bytes`]: 64 MiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 << 20;

impl Default for LogConfig {
    /// `info` and above, [`DEFAULT_MEMORY_ENTRIES`], no file, no echo.
    fn default() -> Self {
        LogConfig {
            level: LevelFilter::Info,
            memory_entries: DEFAULT_MEMORY_ENTRIES,
            file: None,
            echo_stderr: false,
            max_message: DEFAULT_MAX_MESSAGE,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }
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
    /// Entries dropped since the last batch handed to the log thread.
    dropped: u64,
    /// Entries not printed on stderr since the last one that was.
    unechoed: u64,
}

impl Buffer {
    /// Swaps the entries out as a batch, with the count of dropped ones.
    fn take(&mut self) -> Batch {
        Batch {
            entries: mem::take(&mut self.entries),
            dropped: mem::take(&mut self.dropped),
        }
    }

    /// Puts back a batch [`Buffer::take`] took, when it could not be sent.
    fn restore(&mut self, batch: Batch) {
        debug_assert!(self.entries.is_empty(), "restored under the same lock");
        self.entries = batch.entries;
        self.dropped += batch.dropped;
    }
}

/// Where entries go when there is no log file, when they are echoed, and
/// where write errors are reported: stderr, except in tests.
type ErrOut = Arc<Mutex<dyn Write + Send>>;

/// The log system: a `log::Log` that buffers entries and hands them in
/// batches to its "log" thread, which writes them. Usable on its own,
/// without [`init`], in tests. Dropping it writes what is left in memory
/// and ends the thread.
pub struct Logger {
    level: LevelFilter,
    memory_entries: usize,
    /// Most entries handed to the log thread and not yet written.
    max_queued: usize,
    echo_stderr: bool,
    max_message: usize,
    /// Every send happens under this lock, so jobs reach the log thread
    /// in the order entries were logged.
    buffer: Mutex<Buffer>,
    jobs: Sender<LogWork>,
    /// Cost of the jobs sent and not yet done; the log thread counts down.
    queued: Arc<AtomicUsize>,
    writer: Option<JoinHandle<()>>,
    writer_id: ThreadId,
    stderr: ErrOut,
}

/// Locks `mutex`, ignoring poisoning: the buffer and sink stay consistent
/// because nothing panics while holding them, and a log system that stops
/// after a panic would lose exactly the entries that matter.
fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why a job could not be handed to the log thread.
fn stopped() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the log thread has stopped")
}

impl Logger {
    /// A logger for `config`, and its "log" thread. Opens the log file now
    /// (creating it) so that it exists from the start; if that fails, the
    /// error is printed on stderr and opening is tried again at each
    /// write. Fails only if the thread cannot be started.
    pub fn new(config: LogConfig) -> io::Result<Logger> {
        Logger::with_stderr(config, Arc::new(Mutex::new(io::stderr())))
    }

    /// [`Logger::new`] with `stderr` standing in for the process's stderr.
    fn with_stderr(config: LogConfig, stderr: ErrOut) -> io::Result<Logger> {
        let mut sink = Sink {
            path: config.file,
            file: None,
            failing: false,
            stderr: Arc::clone(&stderr),
            size: 0,
            max_bytes: config.max_file_bytes,
            full: false,
        };
        if let Some(path) = &sink.path {
            match open_log_file(path) {
                Ok(file) => sink.opened(file),
                Err(err) => {
                    sink.failing = true;
                    let _ = writeln!(lock(&stderr), "cannot open log: {err}");
                }
            }
        }
        let queued = Arc::new(AtomicUsize::new(0));
        let state = writer::Writer {
            sink,
            echo: config.echo_stderr,
            queued: Arc::clone(&queued),
        };
        let (jobs, rx) = crossbeam_channel::unbounded();
        let writer = thread::Builder::new()
            .name("log".into())
            .spawn(move || writer::run(state, rx))?;
        let memory_entries = config.memory_entries.max(1);
        Ok(Logger {
            level: config.level,
            memory_entries,
            max_queued: memory_entries
                .saturating_mul(QUEUED_BUFFERS)
                .max(MIN_QUEUED),
            echo_stderr: config.echo_stderr,
            max_message: config.max_message,
            buffer: Mutex::new(Buffer::default()),
            jobs,
            queued,
            writer_id: writer.thread().id(),
            writer: Some(writer),
            stderr,
        })
    }

    /// True when jobs costing `cost` more stay within the bound.
    fn has_room(&self, cost: usize) -> bool {
        self.queued.load(Ordering::Relaxed) + cost <= self.max_queued
    }

    /// Sends `job` to the log thread, never waiting; gives it back if the
    /// thread has stopped. Callers hold the buffer lock.
    fn hand_over(&self, job: LogWork) -> Result<(), LogWork> {
        let cost = job.cost();
        self.queued.fetch_add(cost, Ordering::Relaxed);
        self.jobs.send(job).map_err(|err| {
            self.queued.fetch_sub(cost, Ordering::Relaxed);
            err.into_inner()
        })
    }

    /// [`Logger::hand_over`] under the buffer lock `buf`: the entries of a
    /// job the log thread cannot take go back into the buffer.
    fn hand_over_or_restore(&self, buf: &mut Buffer, job: LogWork) -> io::Result<()> {
        self.hand_over(job).map_err(|job| {
            if let Some(batch) = job.into_batch() {
                buf.restore(batch);
            }
            stopped()
        })
    }

    /// Adds `entry`, handing it to the log thread to echo, and the buffer
    /// to write when it is full. Never waits for the log thread: when it
    /// is too far behind, the full buffer is dropped and counted, and the
    /// count written with the next batch.
    fn push(&self, entry: Entry) {
        let line = self.echo_stderr.then(|| entry.to_string());
        let mut buf = lock(&self.buffer);
        if let Some(line) = line {
            let unechoed = buf.unechoed;
            let sent = self.has_room(1) && self.hand_over(LogWork::Echo { line, unechoed }).is_ok();
            buf.unechoed = if sent { 0 } else { unechoed + 1 };
        }
        buf.entries.push(entry);
        if buf.entries.len() < self.memory_entries {
            return;
        }
        let batch = buf.take();
        let job = LogWork::Write(batch, None);
        let result = if self.has_room(job.cost()) {
            self.hand_over(job)
        } else {
            Err(job)
        };
        if let Err(LogWork::Write(batch, _)) = result {
            buf.dropped = batch.dropped + batch.entries.len() as u64;
        }
    }

    /// Asks the log thread to write every entry in memory, and returns at
    /// once. Fails, keeping the entries in memory, when the log thread is
    /// too far behind or has stopped.
    pub fn request_flush(&self) -> io::Result<()> {
        let mut buf = lock(&self.buffer);
        if !self.has_room(buf.entries.len().max(1)) {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "the log thread is behind; the entries stay in memory",
            ));
        }
        let job = LogWork::Write(buf.take(), None);
        self.hand_over_or_restore(&mut buf, job)
    }

    /// Asks the log thread to write the entries in memory to the current
    /// destination and then switch to `file` (`None`: stderr), and returns
    /// at once. The log thread opens the file and logs the outcome; if it
    /// cannot open it, nothing changes. Fails only when the log thread has
    /// stopped.
    pub fn request_reopen(&self, file: Option<PathBuf>) -> io::Result<()> {
        let mut buf = lock(&self.buffer);
        // Too far behind: the entries stay in memory and go to the new file.
        let batch = if self.has_room(buf.entries.len()) {
            buf.take()
        } else {
            Batch::default()
        };
        let job = LogWork::Reopen {
            batch,
            path: file,
            file: None,
            reply: None,
        };
        self.hand_over_or_restore(&mut buf, job)
    }

    /// Writes every entry in memory, after the batches handed over before
    /// them, empties the buffer, and waits (up to [`SYNC_TIMEOUT`]) for
    /// the outcome. For threads that may wait on a file: the control
    /// thread, the end of `main`, the panic hook.
    pub fn flush_entries(&self) -> io::Result<()> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let mut buf = lock(&self.buffer);
        let batch = buf.take();
        if thread::current().id() == self.writer_id {
            // The log thread itself (its panic hook) cannot wait for itself.
            drop(buf);
            return self.spill(batch);
        }
        let sent = self.hand_over(LogWork::Write(batch, Some(tx)));
        drop(buf);
        match sent {
            Ok(()) => wait(&rx),
            Err(job) => self.spill(job.into_batch().unwrap_or_default()),
        }
    }

    /// Last resort when the log thread cannot write: the entries go to
    /// stderr, unless they were printed there already.
    fn spill(&self, batch: Batch) -> io::Result<()> {
        if !self.echo_stderr {
            // `try_lock`: the log thread may have panicked holding it.
            if let Ok(mut stderr) = self.stderr.try_lock() {
                for entry in &batch.entries {
                    let _ = writeln!(stderr, "{entry}");
                }
            }
        }
        Err(stopped())
    }

    /// Writes the entries in memory to the current destination, then
    /// switches to `file` (`None`: stderr), and waits for the outcome. The
    /// new file is opened first, on the caller's thread; if that fails,
    /// nothing changes and the error names the path. Giving the same path
    /// again reopens it, for log rotation.
    pub fn set_file(&self, file: Option<PathBuf>) -> io::Result<()> {
        let opened = file.as_deref().map(open_log_file).transpose()?;
        let (tx, rx) = crossbeam_channel::bounded(1);
        let mut buf = lock(&self.buffer);
        let job = LogWork::Reopen {
            batch: buf.take(),
            path: file,
            file: opened,
            reply: Some(tx),
        };
        self.hand_over_or_restore(&mut buf, job)?;
        drop(buf);
        wait(&rx)
    }

    /// Number of entries in memory.
    fn len(&self) -> usize {
        lock(&self.buffer).entries.len()
    }

    /// Records a panic as an error entry (whatever the level) and writes
    /// out the buffer, waiting for the log thread (the process is likely
    /// to end next). The hook [`init`] installs calls it.
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

/// Waits for the outcome of a job, up to [`SYNC_TIMEOUT`].
fn wait(reply: &Receiver<io::Result<()>>) -> io::Result<()> {
    match reply.recv_timeout(SYNC_TIMEOUT) {
        Ok(result) => result,
        Err(RecvTimeoutError::Timeout) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "the log thread did not write within {} s",
                SYNC_TIMEOUT.as_secs()
            ),
        )),
        Err(RecvTimeoutError::Disconnected) => Err(stopped()),
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
            let mut entry = Entry::from_record(record);
            entry.cut_message(self.max_message);
            self.push(entry);
        }
    }

    /// Waits for the entries to be written: see [`Logger::flush_entries`].
    fn flush(&self) {
        let _ = self.flush_entries();
    }
}

impl Drop for Logger {
    fn drop(&mut self) {
        let batch = lock(&self.buffer).take();
        if self.hand_over(LogWork::Stop(batch)).is_err() {
            return;
        }
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl fmt::Debug for Logger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logger")
            .field("level", &self.level)
            .field("memory_entries", &self.memory_entries)
            .field("echo_stderr", &self.echo_stderr)
            .field("len", &self.len())
            .field("queued", &self.queued.load(Ordering::Relaxed))
            .finish()
    }
}

/// The installed logger, for flushing at shutdown or on SIGUSR1 and for
/// reopening the file; clones are cheap and share it. [`LogHandle::flush`]
/// and [`LogHandle::set_file`] only ask the log thread, so an event loop
/// may call them; [`LogHandle::flush_wait`] waits for the file.
#[derive(Debug, Clone)]
pub struct LogHandle(Arc<Logger>);

impl LogHandle {
    /// Asks the log thread to write every entry in memory to the log file
    /// (stderr without one), and returns at once; see
    /// [`Logger::request_flush`].
    pub fn flush(&self) -> io::Result<()> {
        self.0.request_flush()
    }

    /// Writes every entry in memory and waits until the log thread has
    /// done so (up to [`SYNC_TIMEOUT`]), with its outcome. Never call it
    /// from an event loop: it is for the control thread and for the final
    /// flush at the end of `main`.
    pub fn flush_wait(&self) -> io::Result<()> {
        self.0.flush_entries()
    }

    /// Asks the log thread to reopen the log file as `file`, and returns at
    /// once; the log thread logs the outcome. See [`Logger::request_reopen`].
    pub fn set_file(&self, file: Option<PathBuf>) -> io::Result<()> {
        self.0.request_reopen(file)
    }
}

/// Installs a [`Logger`] for `config` as the global logger, which starts
/// the "log" thread, sets the `log` max level, and installs a panic hook
/// that records the panic, waits until the buffer is written out, then
/// runs the previous hook. Call it after detaching: it starts a thread.
/// Fails if the thread cannot start or a global logger is set already
/// (the panic hook is then left alone).
pub fn init(config: LogConfig) -> io::Result<LogHandle> {
    let level = config.level;
    let logger = Arc::new(Logger::new(config)?);
    ::log::set_boxed_logger(Box::new(Arc::clone(&logger))).map_err(io::Error::other)?;
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
