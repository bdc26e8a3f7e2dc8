//! The "log" thread: the only writer of the log file. Runs the loop of
//! [`run`] on the thread [`Logger::new`](super::Logger::new) starts; the
//! logger's front end (any thread that logs) hands it [`LogWork`]s over an
//! unbounded channel whose contents the front end keeps within a bound
//! (`queued`), and never waits for it except where a caller asked to.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ::log::Level;
use crossbeam_channel::{Receiver, Sender};

use super::{Entry, ErrOut, lock, named, open_log_file};

/// Where a caller waiting on a job gets its outcome.
pub(super) type Waiter = Sender<io::Result<()>>;

/// Entries taken out of the buffer, with the count of entries dropped
/// since the previous batch because the log thread was behind.
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub entries: Vec<Entry>,
    pub dropped: u64,
}

/// What the log thread is asked to do, done in the order asked.
pub(super) enum LogWork {
    /// Print one formatted entry on stderr (`echo_stderr`), after a note
    /// of `unechoed` entries that could not be printed before it.
    Echo { line: String, unechoed: u64 },
    /// Write a batch; answer on `reply` if someone waits.
    Write(Batch, Option<Waiter>),
    /// Write a batch to the current destination, then switch to `path`:
    /// `file` when the caller opened it already, else opened here.
    Reopen {
        batch: Batch,
        path: Option<PathBuf>,
        file: Option<File>,
        reply: Option<Waiter>,
    },
    /// Write a batch and end the thread.
    Stop(Batch),
}

impl LogWork {
    /// What the job counts against the bound on queued entries.
    pub(super) fn cost(&self) -> usize {
        match self {
            LogWork::Echo { .. } => 1,
            LogWork::Write(batch, _) | LogWork::Reopen { batch, .. } | LogWork::Stop(batch) => {
                batch.entries.len().max(1)
            }
        }
    }

    /// The entries the job carries, for a job that could not be sent.
    pub(super) fn into_batch(self) -> Option<Batch> {
        match self {
            LogWork::Echo { .. } => None,
            LogWork::Write(batch, _) | LogWork::Reopen { batch, .. } | LogWork::Stop(batch) => {
                Some(batch)
            }
        }
    }
}

/// Where batches go: the log file, or stderr without one.
pub(super) struct Sink {
    pub path: Option<PathBuf>,
    /// Open log file; `None` until opened or after a write error.
    pub file: Option<File>,
    /// A write error was reported and no write has succeeded since.
    pub failing: bool,
    pub stderr: ErrOut,
    /// Bytes in the open file.
    pub size: u64,
    /// Rotate (or stop) past this many bytes.
    pub max_bytes: u64,
    /// The file is at its size and could not be rotated: writes stop.
    pub full: bool,
}

impl Sink {
    /// Takes `file` as the log file, counting what it holds already.
    pub(super) fn opened(&mut self, file: File) {
        self.size = file.metadata().map_or(0, |m| m.len());
        self.file = Some(file);
        self.full = false;
    }

    /// Makes room for `len` more bytes: past `max_bytes` the file moves to
    /// `FILE.1` (replacing the one before) and a new one starts. False when
    /// that failed: the file then stops growing, and stderr says so once.
    fn room_for(&mut self, path: &std::path::Path, len: usize) -> bool {
        if self.size.saturating_add(len as u64) <= self.max_bytes {
            return true;
        }
        if self.full {
            return false;
        }
        let mut old = path.as_os_str().to_owned();
        old.push(".1");
        let rotated = std::fs::rename(path, &old).and_then(|()| open_log_file(path));
        match rotated {
            Ok(file) => {
                self.opened(file);
                let note = Entry::note(
                    Level::Info,
                    format!("log file rotated at {} bytes", self.max_bytes),
                );
                let text = format!("{note}\n");
                if let Some(file) = &mut self.file
                    && file.write_all(text.as_bytes()).is_ok()
                {
                    self.size += text.len() as u64;
                }
                true
            }
            Err(err) => {
                self.full = true;
                let _ = writeln!(
                    lock(&self.stderr),
                    "log file {} is full and cannot be rotated ({err}): entries are dropped",
                    path.display()
                );
                false
            }
        }
    }

    /// Writes `entries`; `echoed` says they were printed to stderr already.
    pub(super) fn write(&mut self, entries: &[Entry], echoed: bool) -> io::Result<()> {
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
        let path = path.clone();
        if self.file.is_none() {
            match open_log_file(&path) {
                Ok(file) => self.opened(file),
                Err(err) => return self.failed(&path, err, &text, echoed),
            }
        }
        if !self.room_for(&path, text.len()) {
            return Ok(());
        }
        let written = match &mut self.file {
            Some(file) => file.write_all(text.as_bytes()),
            None => Ok(()),
        };
        match written {
            Ok(()) => {
                self.size += text.len() as u64;
                self.failing = false;
                Ok(())
            }
            Err(err) => self.failed(&path, err, &text, echoed),
        }
    }

    /// Reports a failed write once on stderr (with the entries, unless they
    /// were printed there already) and reopens on the next write.
    fn failed(
        &mut self,
        path: &std::path::Path,
        err: io::Error,
        text: &str,
        echoed: bool,
    ) -> io::Result<()> {
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

/// The state the log thread owns.
pub(super) struct Writer {
    pub sink: Sink,
    /// Every entry was printed on stderr when it was logged.
    pub echo: bool,
    /// Cost of the jobs sent and not yet done, shared with the front end.
    pub queued: Arc<AtomicUsize>,
}

/// The log thread's loop: does each job in turn until [`LogWork::Stop`] or
/// until the logger is gone.
pub(super) fn run(mut writer: Writer, jobs: Receiver<LogWork>) {
    for job in jobs {
        let cost = job.cost();
        let stop = matches!(job, LogWork::Stop(_));
        writer.handle(job);
        writer.queued.fetch_sub(cost, Ordering::Relaxed);
        if stop {
            return;
        }
    }
}

impl Writer {
    fn handle(&mut self, job: LogWork) {
        match job {
            LogWork::Echo { line, unechoed } => {
                let mut stderr = lock(&self.sink.stderr);
                if unechoed > 0 {
                    let note = Entry::note(
                        Level::Warn,
                        format!("{unechoed} entries not printed here: the log thread fell behind"),
                    );
                    let _ = writeln!(stderr, "{note}");
                }
                let _ = writeln!(stderr, "{line}");
            }
            LogWork::Write(batch, reply) => {
                let result = self.write(batch);
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
            LogWork::Reopen {
                batch,
                path,
                file,
                reply,
            } => self.reopen(batch, path, file, reply),
            LogWork::Stop(batch) => {
                // A failure was reported on stderr; nobody is left to tell.
                let _ = self.write(batch);
            }
        }
    }

    /// Writes a batch, after a note of the entries dropped before it.
    fn write(&mut self, batch: Batch) -> io::Result<()> {
        if batch.dropped > 0 {
            let text = format!(
                "{} entries dropped: the log thread fell behind",
                batch.dropped
            );
            let _ = self.note(Entry::note(Level::Warn, text));
        }
        self.sink.write(&batch.entries, self.echo)
    }

    /// Writes an entry the log thread makes itself, printing it on stderr
    /// too when every entry is.
    fn note(&mut self, entry: Entry) -> io::Result<()> {
        if self.echo {
            let _ = writeln!(lock(&self.sink.stderr), "{entry}");
        }
        self.sink.write(&[entry], self.echo)
    }

    /// Writes `batch` where entries went so far, then switches to `path`.
    /// If the new file cannot be opened, nothing changes. With nobody
    /// waiting for the outcome, it is logged instead.
    fn reopen(
        &mut self,
        batch: Batch,
        path: Option<PathBuf>,
        file: Option<File>,
        reply: Option<Waiter>,
    ) {
        let written = self.write(batch);
        let opened = match (file, &path) {
            (Some(file), _) => Ok(Some(file)),
            (None, Some(path)) => open_log_file(path).map(Some),
            (None, None) => Ok(None),
        };
        let switched = opened.map(|file| {
            self.sink.path = path;
            self.sink.file = None;
            if let Some(file) = file {
                self.sink.opened(file);
            }
            self.sink.failing = false;
        });
        match reply {
            Some(reply) => {
                let _ = reply.send(switched.and(written));
            }
            None => {
                let (level, text) = match switched {
                    Ok(()) if self.sink.path.is_none() => {
                        (Level::Info, "log goes to standard error now".to_string())
                    }
                    Ok(()) => (Level::Info, "log file reopened".to_string()),
                    Err(err) => (Level::Error, format!("cannot reopen the log file: {err}")),
                };
                let _ = self.note(Entry::note(level, text));
            }
        }
    }
}
