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

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::value::Money;

/// Longest piece of a bad line or value repeated back in a message.
const SHOWN_INPUT: usize = 60;

/// One thing wrong with a config file, at a line of it.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    fn new(file: &str, line: usize, message: String) -> ConfError {
        ConfError {
            file: file.to_string(),
            line,
            message,
        }
    }
}

impl fmt::Display for ConfError {
    /// `FILE:LINE: message`, or `FILE: message` for line 0.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for ConfError {}

/// Every error found in one config file, in line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfErrors(pub Vec<ConfError>);

impl fmt::Display for ConfErrors {
    /// One error per line, without a final newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, err) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{err}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfErrors {}

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
            if let Err(message) = conf.add_line(raw, line, keys) {
                errors.push(ConfError::new(file, line, message));
            }
        }
        if errors.is_empty() {
            Ok(conf)
        } else {
            Err(ConfErrors(errors))
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

    /// Checks one line and records its entry; Err is the message.
    fn add_line(&mut self, raw: &[u8], line: usize, keys: &[&str]) -> Result<(), String> {
        let text = std::str::from_utf8(raw).map_err(|_| "line is not valid UTF-8".to_string())?;
        let text = strip_comment(text).trim();
        if text.is_empty() {
            return Ok(());
        }
        let Some((key, value)) = text.split_once('=') else {
            return Err(format!("expected \"key = value\", found {}", quote(text)));
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            return Err(format!(
                "expected a key before \"=\", found {}",
                quote(text)
            ));
        }
        if !keys.contains(&key) {
            return Err(format!(
                "unknown key {}, expected one of: {}",
                quote(key),
                keys.join(", ")
            ));
        }
        if value.is_empty() {
            return Err(format!("key {} has no value", quote(key)));
        }
        if let Some(first) = self.entry(key) {
            return Err(format!(
                "duplicate key {}, first set on line {}",
                quote(key),
                first.line
            ));
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
        self.get(key, default, expected, |v| {
            if !v.bytes().all(|b| b.is_ascii_digit()) {
                return None; // refuse the `+5` that u64::from_str takes
            }
            let n: u64 = v.parse().ok()?;
            range.contains(&n).then_some(n)
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

    /// A log level (`off`, `error`, `warn`, `info`, `debug`, `trace`).
    pub fn log_level(
        &self,
        key: &str,
        default: log::LevelFilter,
    ) -> Result<log::LevelFilter, ConfError> {
        let Some(text) = self.raw(key) else {
            return Ok(default);
        };
        text.parse().map_err(|_| ConfError {
            file: self.file().to_string(),
            line: self.line(key).unwrap_or(0),
            message: format!("{key} = {text:?}: expected off, error, warn, info, debug or trace"),
        })
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

/// `text` in double quotes with control characters and quotes escaped,
/// shortened when long.
fn quote(text: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[&str] = &["listen", "database", "max_workers", "log_file", "verbose"];
    const FILE: &str = "/etc/papertrader/ptmasterd.conf";

    fn parse(text: &str) -> Result<Conf, ConfErrors> {
        Conf::parse_reader(text.as_bytes(), FILE, KEYS)
    }

    fn conf(text: &str) -> Conf {
        parse(text).expect("valid config")
    }

    fn errors(text: &str) -> Vec<String> {
        let errs = parse(text).expect_err("invalid config");
        errs.0.iter().map(ToString::to_string).collect()
    }

    fn one_error(text: &str) -> String {
        let errs = errors(text);
        assert_eq!(errs.len(), 1, "{errs:?}");
        errs[0].clone()
    }

    #[test]
    fn parses_keys_values_comments_and_blank_lines() {
        let c = conf(
            "# ptmasterd\n\n  listen = 127.0.0.1:2048   # loopback only\n\
             database=/var/db/pt.db\n\tverbose =  yes\r\nlog_file = a b=c#d\n   # end\n",
        );
        assert_eq!(c.raw("listen"), Some("127.0.0.1:2048"));
        assert_eq!(c.raw("database"), Some("/var/db/pt.db"));
        assert_eq!(c.raw("verbose"), Some("yes"));
        assert_eq!(c.raw("log_file"), Some("a b=c#d"));
        assert_eq!(c.raw("max_workers"), None);
        assert_eq!(c.line("listen"), Some(3));
        assert_eq!(c.line("log_file"), Some(6));
        assert_eq!(c.file(), FILE);
    }

    #[test]
    fn empty_file_and_empty_conf_set_nothing() {
        let c = conf("");
        assert_eq!(c.raw("listen"), None);
        let e = Conf::empty("built-in defaults");
        assert_eq!(e.file(), "built-in defaults");
        assert_eq!(e.raw("listen"), None);
        assert_eq!(e.u64("max_workers", 16, 1..=1000), Ok(16));
    }

    #[test]
    fn unknown_key_lists_schema_in_order() {
        assert_eq!(
            one_error("\n\nlisen = 127.0.0.1:2048\n"),
            "/etc/papertrader/ptmasterd.conf:3: unknown key \"lisen\", expected one of: \
             listen, database, max_workers, log_file, verbose"
        );
    }

    #[test]
    fn duplicate_key_names_both_lines() {
        assert_eq!(
            one_error("listen = 127.0.0.1:1\n# again\nlisten = 127.0.0.1:2\n"),
            format!("{FILE}:3: duplicate key \"listen\", first set on line 1")
        );
    }

    #[test]
    fn line_without_equals() {
        assert_eq!(
            one_error("verbose\n"),
            format!("{FILE}:1: expected \"key = value\", found \"verbose\"")
        );
    }

    #[test]
    fn empty_key() {
        assert_eq!(
            one_error("  = 5\n"),
            format!("{FILE}:1: expected a key before \"=\", found \"= 5\"")
        );
    }

    #[test]
    fn empty_value() {
        assert_eq!(
            one_error("verbose =   \n"),
            format!("{FILE}:1: key \"verbose\" has no value")
        );
        assert_eq!(
            one_error("verbose = # nothing\n"),
            format!("{FILE}:1: key \"verbose\" has no value")
        );
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        assert_eq!(conf("\u{feff}verbose = yes\n").raw("verbose"), Some("yes"));
    }

    #[test]
    fn invalid_utf8_line() {
        let text = b"listen = 127.0.0.1:2048\ndatabase = \xff\xfe\n";
        let errs = Conf::parse_reader(&text[..], FILE, KEYS).expect_err("bad UTF-8");
        assert_eq!(
            errs.to_string(),
            format!("{FILE}:2: line is not valid UTF-8")
        );
    }

    #[test]
    fn reports_every_bad_line_together() {
        let errs = errors("lisen = x\nverbose = yes\nnonsense\nverbose = no\ndatabase =\n");
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert!(errs[0].starts_with(&format!("{FILE}:1: unknown key \"lisen\"")));
        assert!(errs[1].starts_with(&format!("{FILE}:3: expected \"key = value\"")));
        assert!(errs[2].starts_with(&format!("{FILE}:4: duplicate key \"verbose\"")));
        assert!(errs[3].starts_with(&format!("{FILE}:5: key \"database\" has no value")));
        let all = parse("lisen = x\nnonsense\n")
            .expect_err("two errors")
            .to_string();
        assert_eq!(all.lines().count(), 2);
        assert!(!all.ends_with('\n'));
    }

    #[test]
    fn long_and_odd_input_is_quoted_and_shortened() {
        let long = "x".repeat(200);
        let err = one_error(&long);
        assert!(
            err.ends_with(&format!("found \"{}...\"", "x".repeat(SHOWN_INPUT))),
            "{err}"
        );
        assert!(one_error("a\"\u{1b}b").ends_with("found \"a\\\"\\u{1b}b\""));
        assert!(one_error("don't\\").ends_with("found \"don't\\\\\""));
    }

    #[test]
    fn unreadable_file_is_an_error_at_line_0() {
        let path = Path::new("/nonexistent/papertrader/x.conf");
        let errs = Conf::parse(path, KEYS).expect_err("missing file");
        assert_eq!(errs.0.len(), 1);
        assert_eq!(errs.0[0].line, 0);
        let text = errs.to_string();
        assert!(
            text.starts_with("/nonexistent/papertrader/x.conf: cannot read: "),
            "{text}"
        );
    }

    #[test]
    fn failing_reader_is_an_error_at_line_0() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk on fire"))
            }
        }
        let errs = Conf::parse_reader(Broken, FILE, KEYS).expect_err("read error");
        assert_eq!(
            errs.to_string(),
            format!("{FILE}: cannot read: disk on fire")
        );
    }

    #[test]
    fn parses_a_real_file() {
        let dir = std::env::temp_dir().join(format!("pt-conf-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("ptmasterd.conf");
        std::fs::write(&path, "database = pt.db\n").expect("write conf");
        let c = Conf::parse(&path, KEYS).expect("valid");
        assert_eq!(c.file(), path.display().to_string());
        assert_eq!(c.path("database", "x"), Ok(dir.join("pt.db")));
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn string_getter() {
        let c = conf("database = my data.db\n");
        assert_eq!(c.string("database", "d"), Ok("my data.db".to_string()));
        assert_eq!(c.string("log_file", "d"), Ok("d".to_string()));
    }

    #[test]
    fn u64_getter() {
        let c = conf("max_workers = 16\nverbose = 0\n");
        assert_eq!(c.u64("max_workers", 4, 1..=1000), Ok(16));
        assert_eq!(c.u64("log_file", 4, 1..=1000), Ok(4));
        assert_eq!(c.u64("verbose", 4, 0..=1), Ok(0));
        for bad in [
            "abc",
            "0",
            "1001",
            "-1",
            "+5",
            "1.5",
            "1e3",
            "99999999999999999999999",
        ] {
            let c = conf(&format!("\nmax_workers = {bad}\n"));
            let err = c.u64("max_workers", 4, 1..=1000).expect_err(bad);
            assert_eq!(err.line, 2);
            assert_eq!(
                err.to_string(),
                format!(
                    "{FILE}:2: max_workers = \"{bad}\": expected a whole number from 1 to 1000"
                )
            );
        }
    }

    #[test]
    fn bool_getter() {
        let get = |text: &str, default| conf(&format!("verbose = {text}")).bool("verbose", default);
        for text in ["yes", "true", "on", "YES", "True"] {
            assert_eq!(get(text, false), Ok(true), "{text}");
        }
        for text in ["no", "false", "off", "Off", "NO"] {
            assert_eq!(get(text, true), Ok(false), "{text}");
        }
        assert_eq!(conf("").bool("verbose", true), Ok(true));
        let err = conf("verbose = 1").bool("verbose", false).expect_err("1");
        assert_eq!(
            err.to_string(),
            format!("{FILE}:1: verbose = \"1\": expected yes, no, true, false, on or off")
        );
    }

    #[test]
    fn duration_getter() {
        let get =
            |text: &str| conf(&format!("log_file = {text}")).duration("log_file", Duration::ZERO);
        assert_eq!(get("30"), Ok(Duration::from_secs(30)));
        assert_eq!(get("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(get("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(get("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(get("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(get("30d"), Ok(Duration::from_secs(30 * 86_400)));
        let default = Duration::from_secs(7);
        assert_eq!(conf("").duration("log_file", default), Ok(default));
        for bad in [
            "0",
            "0ms",
            "s",
            "-5",
            "5 s",
            "5x",
            "1.5h",
            "5S",
            "99999999999999999999d",
        ] {
            let err = get(bad).expect_err(bad);
            assert_eq!(
                err.to_string(),
                format!(
                    "{FILE}:1: log_file = \"{bad}\": expected a duration above zero like 500ms, \
                     30s, 10m, 24h or 30d (a bare number is seconds)"
                )
            );
        }
        assert!(get(&format!("{}d", u64::MAX / 1000)).is_err(), "overflow");
    }

    #[test]
    fn money_getter() {
        let get = |text: &str| conf(&format!("log_file = {text}")).money("log_file", Money(1));
        assert_eq!(get("10000"), Ok(Money(100_000_000)));
        assert_eq!(get("189.5"), Ok(Money(1_895_000)));
        assert_eq!(get("0"), Ok(Money(0)));
        assert_eq!(conf("").money("log_file", Money(1)), Ok(Money(1)));
        for bad in ["-1", "1.23456", "abc", "1,000"] {
            let err = get(bad).expect_err(bad);
            assert_eq!(
                err.to_string(),
                format!(
                    "{FILE}:1: log_file = \"{bad}\": expected an amount of at least 0 with at \
                     most 4 fraction digits, like 10000 or 189.5"
                )
            );
        }
    }

    #[test]
    fn socket_addr_getter() {
        let c = conf("\nlisten = [::1]:2049\ndatabase = localhost:2048\n");
        assert_eq!(
            c.socket_addr("listen", "127.0.0.1:1"),
            Ok("[::1]:2049".parse().expect("ip"))
        );
        assert_eq!(
            c.socket_addr("log_file", "127.0.0.1:2048"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 2048)))
        );
        let err = c
            .socket_addr("database", "127.0.0.1:1")
            .expect_err("host name");
        assert_eq!(
            err.to_string(),
            format!(
                "{FILE}:3: database = \"localhost:2048\": expected an IP address and port, \
                 like 127.0.0.1:2048 or [::1]:2048"
            )
        );
        let err = c.socket_addr("log_file", "nope").expect_err("bad default");
        assert_eq!(err.line, 0);
        assert!(
            err.to_string()
                .starts_with(&format!("{FILE}: built-in default log_file = \"nope\""))
        );
    }

    #[test]
    fn path_getter_resolves_against_the_file_dir() {
        let c = conf("database = pt.db\nlog_file = /var/log/pt.log\nverbose = ../x/y\n");
        assert_eq!(
            c.path("database", "d"),
            Ok(PathBuf::from("/etc/papertrader/pt.db"))
        );
        assert_eq!(
            c.path("log_file", "d"),
            Ok(PathBuf::from("/var/log/pt.log"))
        );
        assert_eq!(
            c.path("verbose", "d"),
            Ok(PathBuf::from("/etc/papertrader/../x/y"))
        );
        assert_eq!(
            c.path("listen", "rel/default"),
            Ok(PathBuf::from("rel/default"))
        );
        let bare = Conf::parse_reader(&b"database = pt.db"[..], "pt.conf", KEYS).expect("valid");
        assert_eq!(bare.path("database", "d"), Ok(PathBuf::from("pt.db")));
    }

    #[test]
    fn collector_gathers_every_error() {
        let c = conf("max_workers = 0\nverbose = maybe\nlisten = nowhere\n");
        let mut col = Collector::new();
        let workers = col.take(c.u64("max_workers", 4, 1..=1000));
        let verbose = col.take(c.bool("verbose", true));
        let database = col.take(c.path("database", "pt.db"));
        let listen = col.take_or(
            c.socket_addr("listen", "127.0.0.1:1"),
            SocketAddr::from(([0; 4], 0)),
        );
        col.push(ConfError::new(
            FILE,
            0,
            "database and listen conflict".to_string(),
        ));
        assert_eq!((workers, verbose), (0, false));
        assert_eq!(database, PathBuf::from("pt.db"));
        assert_eq!(listen.port(), 0);
        let errs = col.finish().expect_err("three bad keys");
        let lines: Vec<usize> = errs.0.iter().map(|e| e.line).collect();
        assert_eq!(lines, [0, 1, 2, 3]);
        assert_eq!(errs.to_string().lines().count(), 4);

        let mut ok = Collector::new();
        assert_eq!(ok.take(c.string("database", "x")), "x");
        assert_eq!(ok.finish(), Ok(()));
    }
}
