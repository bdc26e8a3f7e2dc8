//! Config file parser for the `key = value` files of every daemon
//! (`ptmasterd.conf`, `ptworkerd.conf`).
//!
//! `main.rs` of each daemon calls [`Conf::parse`] (or [`Conf::empty`] when
//! it runs on its built-in defaults) once at start, before any thread
//! exists, then reads each key with a typed getter and a [`Collector`], so
//! that one run reports every bad line and every bad value before exiting
//! 78. The parser knows nothing about what a key means: the daemon passes
//! its schema, the list of keys it accepts, in the order its man page
//! documents them.
//!
//! The format: UTF-8 lines; blank lines are ignored; `#` starts a comment
//! when it begins a line or follows whitespace; every other line is
//! `key = value`, split at the first `=`, with the whitespace around both
//! parts trimmed. The value may contain spaces and `=`. A key may appear
//! once.

use std::fs::File;
use std::io::Read;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use log::LevelFilter;

use crate::log::LogConfig;
use crate::value::Money;

/// Longest piece of a bad line or value repeated back in a message.
/// Characters of bad input repeated back by [`quote`].
pub const SHOWN_INPUT: usize = 60;

/// One thing wrong with a config file, at a line of it: `FILE:LINE:
/// message`, or `FILE: message` for line 0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", at_line(*.line))]
pub struct ConfError {
    /// The config file, as given to the parser.
    pub file: String,
    /// The line, counted from 1; 0 when the error is about the whole file
    /// (or about a built-in default).
    pub line: usize,
    /// What is wrong, naming the bad input and what was expected.
    pub message: String,
}

impl ConfError {
    /// An error at `line` of `file` (0: about the whole file).
    pub fn new(file: &str, line: usize, message: String) -> ConfError {
        ConfError {
            file: file.to_string(),
            line,
            message,
        }
    }
}

/// `:LINE` after a file name, or nothing for line 0.
fn at_line(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}

/// Every error found in one config file, in line order; shown one per
/// line, without a final newline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ConfError::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ConfErrors(pub Vec<ConfError>);

impl From<ConfError> for ConfErrors {
    fn from(err: ConfError) -> ConfErrors {
        ConfErrors(vec![err])
    }
}

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    key: String,
    value: String,
    line: usize,
}

/// A parsed config file: the keys it sets, each with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conf {
    file: String,
    /// Directory relative paths are resolved against; `None` for
    /// [`Conf::empty`].
    dir: Option<PathBuf>,
    entries: Vec<Entry>,
}

impl Conf {
    /// Reads and parses the file at `path`, accepting only `keys`.
    pub fn parse(path: &Path, keys: &[&str]) -> Result<Conf, ConfErrors> {
        let name = path.display().to_string();
        let file = File::open(path)
            .map_err(|err| ConfError::new(&name, 0, format!("cannot read: {err}")))?;
        Conf::parse_reader(file, &name, keys)
    }

    /// Parses a config file from `reader`; `file` names it in errors and
    /// its directory anchors relative paths. Reports every bad line.
    pub fn parse_reader(
        mut reader: impl Read,
        file: &str,
        keys: &[&str],
    ) -> Result<Conf, ConfErrors> {
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|err| ConfError::new(file, 0, format!("cannot read: {err}")))?;
        // Some editors start UTF-8 files with a byte order mark.
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
        let dir = Path::new(file).parent().map(Path::to_path_buf);
        let mut conf = Conf {
            file: file.to_string(),
            dir,
            entries: Vec::new(),
        };
        let mut errors = Vec::new();
        for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let line = i + 1;
            if let Err(err) = conf.add_line(raw, line, keys) {
                errors.push(ConfError::new(file, line, err.to_string()));
            }
        }
        if errors.is_empty() {
            Ok(conf)
        } else {
            Err(ConfErrors(errors))
        }
    }

    /// The daemon's config: `path` when given, else `default_file` if it
    /// exists, else no keys at all (the built-in defaults).
    pub fn load(
        path: Option<&Path>,
        default_file: &str,
        keys: &[&str],
    ) -> Result<Conf, ConfErrors> {
        match path {
            Some(p) => Conf::parse(p, keys),
            None if Path::new(default_file).exists() => Conf::parse(Path::new(default_file), keys),
            None => Ok(Conf::empty("(built-in defaults)")),
        }
    }

    /// A config with no keys set, so every getter returns its default: the
    /// daemon's built-in defaults. `file` names it in errors; relative
    /// paths stay as given.
    pub fn empty(file: &str) -> Conf {
        Conf {
            file: file.to_string(),
            dir: None,
            entries: Vec::new(),
        }
    }

    /// Checks one line and records its entry.
    fn add_line(&mut self, raw: &[u8], line: usize, keys: &[&str]) -> Result<(), LineError> {
        let text = std::str::from_utf8(raw).map_err(|_| LineError::NotUtf8)?;
        let text = strip_comment(text).trim();
        if text.is_empty() {
            return Ok(());
        }
        let Some((key, value)) = text.split_once('=') else {
            return Err(LineError::NoEquals(text.to_string()));
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            return Err(LineError::NoKey(text.to_string()));
        }
        if !keys.contains(&key) {
            let expected = keys.join(", ");
            return Err(LineError::UnknownKey(key.to_string(), expected));
        }
        if value.is_empty() {
            return Err(LineError::NoValue(key.to_string()));
        }
        if let Some(first) = self.entry(key) {
            return Err(LineError::Duplicate(key.to_string(), first.line));
        }
        self.entries.push(Entry {
            key: key.to_string(),
            value: value.to_string(),
            line,
        });
        Ok(())
    }

    fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// The file name given to the parser.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The value of `key` as written, `None` when the file does not set it.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.entry(key).map(|e| e.value.as_str())
    }

    /// The line that sets `key`, `None` when the file does not set it.
    pub fn line(&self, key: &str) -> Option<usize> {
        self.entry(key).map(|e| e.line)
    }

    /// An error about `key`, at the line that sets it (0 when none does),
    /// for checks a getter cannot make.
    pub fn error(&self, key: &str, message: String) -> ConfError {
        ConfError::new(&self.file, self.line(key).unwrap_or(0), message)
    }

    /// Looks `key` up and converts its value with `convert`; a `None` from
    /// `convert` becomes an error saying `expected`.
    fn get<T>(
        &self,
        key: &str,
        default: T,
        expected: impl FnOnce() -> String,
        convert: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, ConfError> {
        let Some(entry) = self.entry(key) else {
            return Ok(default);
        };
        convert(&entry.value).ok_or_else(|| {
            let message = format!("{key} = {}: expected {}", quote(&entry.value), expected());
            ConfError::new(&self.file, entry.line, message)
        })
    }

    /// The value of `key`, or `default`.
    pub fn string(&self, key: &str, default: &str) -> Result<String, ConfError> {
        self.get(key, default.to_string(), String::new, |v| {
            Some(v.to_string())
        })
    }

    /// A whole number within `range` (decimal digits only), or `default`.
    pub fn u64(
        &self,
        key: &str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<u64, ConfError> {
        let expected = || format!("a whole number from {} to {}", range.start(), range.end());
        // Digits only: refuse the `+5` that u64::from_str takes.
        self.get(key, default, expected, |v| {
            crate::value::decimal(v, usize::MAX).filter(|n| range.contains(n))
        })
    }

    /// `yes`, `true`, `on` or `no`, `false`, `off` (any case), or `default`.
    pub fn bool(&self, key: &str, default: bool) -> Result<bool, ConfError> {
        let expected = || "yes, no, true, false, on or off".to_string();
        self.get(key, default, expected, |v| {
            match v.to_ascii_lowercase().as_str() {
                "yes" | "true" | "on" => Some(true),
                "no" | "false" | "off" => Some(false),
                _ => None,
            }
        })
    }

    /// A duration above zero: a whole number with an optional unit `ms`,
    /// `s`, `m`, `h` or `d` (`500ms`, `30s`, `10m`, `24h`, `30d`); a bare
    /// number is seconds. `default` when absent.
    pub fn duration(&self, key: &str, default: Duration) -> Result<Duration, ConfError> {
        let expected = || {
            "a duration above zero like 500ms, 30s, 10m, 24h or 30d (a bare number is seconds)"
                .to_string()
        };
        self.get(key, default, expected, parse_duration)
    }

    /// An amount of money of at least 0 in the syntax of [`Money::parse`],
    /// or `default`.
    pub fn money(&self, key: &str, default: Money) -> Result<Money, ConfError> {
        let expected = || {
            "an amount of at least 0 with at most 4 fraction digits, like 10000 or 189.5"
                .to_string()
        };
        self.get(key, default, expected, |v| {
            Money::parse(v).ok().filter(|m| m.raw() >= 0)
        })
    }

    /// An IP address and port like `127.0.0.1:2048` or `[::1]:2048` (no
    /// host names), or `default` parsed the same way. A malformed
    /// `default` is reported as an error at line 0.
    pub fn socket_addr(&self, key: &str, default: &str) -> Result<SocketAddr, ConfError> {
        let expected = || "an IP address and port, like 127.0.0.1:2048 or [::1]:2048".to_string();
        if self.entry(key).is_none() {
            return default.parse().map_err(|_| {
                let message = format!(
                    "built-in default {key} = {}: expected {}",
                    quote(default),
                    expected()
                );
                ConfError::new(&self.file, 0, message)
            });
        }
        // The key is set, so `get` never returns this placeholder.
        let placeholder = SocketAddr::from(([0, 0, 0, 0], 0));
        self.get(key, placeholder, expected, |v| v.parse().ok())
    }

    /// The log keys every daemon has (`log_file`, `log_level`,
    /// `log_memory_entries`, `log_max_message`, `log_max_bytes`) as the log
    /// system takes them; errors go to `c`. `echo_stderr` is the caller's.
    pub fn log(&self, c: &mut Collector) -> LogConfig {
        let file = c.take(self.string("log_file", ""));
        let level = self.raw("log_level").map_or(Ok(LevelFilter::Info), |text| {
            text.parse().map_err(|_| {
                let message = format!(
                    "log_level = {text:?}: expected off, error, warn, info, debug or trace"
                );
                self.error("log_level", message)
            })
        });
        LogConfig {
            level: c.take_or(level, LevelFilter::Info),
            file: (!file.is_empty()).then(|| c.take(self.path("log_file", ""))),
            memory_entries: c.take(self.u64("log_memory_entries", 1000, 1..=1_000_000)) as usize,
            max_message: c.take(self.u64("log_max_message", 4096, 256..=65_536)) as usize,
            max_file_bytes: c.take(self.u64("log_max_bytes", 64 << 20, 65_536..=1 << 40)),
            echo_stderr: false,
        }
    }

    /// A path. A relative path in the file is taken relative to the
    /// directory of the config file (as-is for [`Conf::empty`]); `default`
    /// is returned as given, relative to the working directory.
    pub fn path(&self, key: &str, default: &str) -> Result<PathBuf, ConfError> {
        self.get(key, PathBuf::from(default), String::new, |v| {
            Some(match &self.dir {
                Some(dir) if Path::new(v).is_relative() => dir.join(v),
                _ => PathBuf::from(v),
            })
        })
    }
}

/// The line without its comment: `#` at the start or after whitespace.
fn strip_comment(line: &str) -> &str {
    let mut after_space = true;
    for (i, c) in line.char_indices() {
        if c == '#' && after_space {
            return &line[..i];
        }
        after_space = c.is_whitespace();
    }
    line
}

/// Parses the duration syntax of [`Conf::duration`]; `None` when malformed,
/// zero or too large.
fn parse_duration(text: &str) -> Option<Duration> {
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    if number.is_empty() {
        return None;
    }
    let n: u64 = number.parse().ok()?;
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60)?),
        "h" => Duration::from_secs(n.checked_mul(60 * 60)?),
        "d" => Duration::from_secs(n.checked_mul(24 * 60 * 60)?),
        _ => return None,
    };
    (!duration.is_zero()).then_some(duration)
}

/// The keys an example configuration shows, set or commented out: every
/// line `key = value` or `# key = value` (a key being lower-case letters,
/// digits and `_`). The example files in `etc/` are checked against each
/// daemon's table of keys with it.
pub fn shown_keys(text: &str) -> std::collections::BTreeSet<&str> {
    text.lines()
        .map(|line| line.strip_prefix("# ").unwrap_or(line))
        .filter_map(|line| line.split_once(" = "))
        .map(|(key, _)| key)
        .filter(|key| {
            !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
        .collect()
}

/// `text` in double quotes with control characters and quotes escaped,
/// shortened when long: how config-style files name bad input.
pub fn quote(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars().take(SHOWN_INPUT) {
        match c {
            '"' | '\\' => quoted.extend(['\\', c]),
            c if c.is_control() => quoted.extend(c.escape_debug()),
            c => quoted.push(c),
        }
    }
    if text.chars().nth(SHOWN_INPUT).is_some() {
        quoted.push_str("...");
    }
    quoted.push('"');
    quoted
}

/// Collects several getter results so a daemon can report every bad key at
/// once:
///
/// ```
/// use papertrader_common::conf::{Collector, Conf};
/// let conf = Conf::empty("built-in defaults");
/// let mut c = Collector::new();
/// let workers = c.take(conf.u64("max_workers", 16, 1..=1000));
/// let verbose = c.take(conf.bool("verbose", false));
/// c.finish().expect("defaults are valid");
/// assert_eq!((workers, verbose), (16, false));
/// ```
#[derive(Debug, Default)]
pub struct Collector {
    errors: Vec<ConfError>,
}

impl Collector {
    /// No errors yet.
    pub fn new() -> Self {
        Collector::default()
    }

    /// The value, or `T::default()` after recording the error; the
    /// placeholder is never used when [`Collector::finish`] fails.
    pub fn take<T: Default>(&mut self, r: Result<T, ConfError>) -> T {
        self.take_or(r, T::default())
    }

    /// Like [`Collector::take`] for types without `Default` (such as
    /// `SocketAddr`): `placeholder` stands in for the value on error.
    pub fn take_or<T>(&mut self, r: Result<T, ConfError>, placeholder: T) -> T {
        match r {
            Ok(value) => value,
            Err(err) => {
                self.errors.push(err);
                placeholder
            }
        }
    }

    /// Records an error the daemon found itself, such as two keys that
    /// contradict each other.
    pub fn push(&mut self, err: ConfError) {
        self.errors.push(err);
    }

    /// Ok when nothing was wrong, else every error in line order.
    pub fn finish(mut self) -> Result<(), ConfErrors> {
        if self.errors.is_empty() {
            return Ok(());
        }
        self.errors.sort_by_key(|e| e.line);
        Err(ConfErrors(self.errors))
    }
}

/// What is wrong with one line of a config file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum LineError {
    #[error("line is not valid UTF-8")]
    NotUtf8,
    /// No `=`: the line.
    #[error("expected \"key = value\", found {}", quote(.0))]
    NoEquals(String),
    /// Nothing before `=`: the line.
    #[error("expected a key before \"=\", found {}", quote(.0))]
    NoKey(String),
    /// A key the file does not take, and the keys it does.
    #[error("unknown key {}, expected one of: {}", quote(.0), .1)]
    UnknownKey(String, String),
    /// A key with nothing after `=`.
    #[error("key {} has no value", quote(.0))]
    NoValue(String),
    /// A key set twice, and the line that set it first.
    #[error("duplicate key {}, first set on line {}", quote(.0), .1)]
    Duplicate(String, usize),
}

#[cfg(test)]
mod tests;
