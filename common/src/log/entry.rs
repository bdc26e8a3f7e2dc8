//! One log entry and its line in the log file: date and time (UTC),
//! level, thread, function, file, line and message. Built on the logging
//! thread (from a `log::Record` or a panic), written by the "log" thread.

use std::any::Any;
use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::panic::Location;
use std::thread;

use ::log::{Level, Record};
use time::OffsetDateTime;

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When it was logged, UTC.
    pub time: OffsetDateTime,
    /// Its level.
    pub level: Level,
    /// Name of the thread that logged it (`-` for an unnamed thread).
    pub thread: String,
    /// Module path of the call site.
    pub module: Cow<'static, str>,
    /// Path of the function of the call site
    /// (`papertrader_master::server::Server::on_signal`), when the entry
    /// came through this crate's logging macros; the line shows it in
    /// place of the module path, which it starts with.
    pub function: Option<Cow<'static, str>>,
    /// Source file of the call site, as the compiler names it.
    pub file: Cow<'static, str>,
    /// Source line of the call site, when known.
    pub line: Option<u32>,
    /// The formatted message.
    pub message: String,
}

impl Entry {
    /// An entry stamped now, on the current thread.
    pub(super) fn now(level: Level, module: Cow<'static, str>, file: Cow<'static, str>) -> Entry {
        Entry {
            time: OffsetDateTime::now_utc(),
            level,
            thread: thread_name(),
            module,
            function: None,
            file,
            line: None,
            message: String::new(),
        }
    }

    /// An entry the log system makes itself, from its call site.
    #[track_caller]
    pub(super) fn note(level: Level, message: String) -> Entry {
        let location = Location::caller();
        let mut entry = Entry::now(level, Cow::Borrowed(module_path!()), location.file().into());
        entry.line = Some(location.line());
        entry.message = message;
        entry
    }

    /// The entry for a `log` record.
    pub(super) fn from_record(record: &Record<'_>) -> Entry {
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
        entry.function = function_path(record.target()).map(Cow::Owned);
        entry.line = record.line();
        entry.message = record.args().to_string();
        entry
    }

    /// Cuts the message to at most `max` bytes (at a character boundary)
    /// and says how many went: a peer's input logged whole cannot make one
    /// entry the size of a frame, or of many.
    pub(super) fn cut_message(&mut self, max: usize) {
        if self.message.len() <= max {
            return;
        }
        let mut end = max;
        while !self.message.is_char_boundary(end) {
            end -= 1;
        }
        let cut = self.message.len() - end;
        self.message.truncate(end);
        let _ = write!(self.message, " [{cut} more bytes cut]");
    }

    /// The error entry for a panic with `payload` at `location`.
    pub(super) fn from_panic(payload: &(dyn Any + Send), location: Option<&Location<'_>>) -> Entry {
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(payload is not a string)");
        let file = location.map_or(Cow::Borrowed("?"), |l| Cow::Owned(l.file().to_string()));
        let mut entry = Entry::now(Level::Error, Cow::Borrowed("panic"), file);
        entry.line = location.map(Location::line);
        entry.message = format!("panicked: {what}");
        entry
    }
}

impl fmt::Display for Entry {
    /// One line without its newline, with the function where known, else
    /// the module path:
    /// `2026-11-21 23:15:02.123 INFO  [main] master::server::run server.rs:120 listening on ...`;
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
            self.function.as_deref().unwrap_or(&self.module),
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

/// The path of the function a record comes from, from its target: the
/// logging macros of this crate pass the type name of an item nested in
/// the function (`papertrader_master::server::Server::run::{{closure}}::
/// __papertrader_log_fn`), and this takes the item's name and any closure
/// off it (`papertrader_master::server::Server::run`). `None` for any other
/// target, such as the module path the `log` macros pass.
pub fn function_path(target: &str) -> Option<String> {
    let path = target.strip_suffix("::__papertrader_log_fn")?;
    Some(path.replace("::{{closure}}", ""))
}

/// The current thread's name, cached per thread.
pub(super) fn thread_name() -> String {
    thread_local! {
        static NAME: String = thread::current().name().unwrap_or("-").to_string();
    }
    // A thread tearing down its locals can still log: name it `-`.
    NAME.try_with(String::clone)
        .unwrap_or_else(|_| "-".to_string())
}
