//! The lines of data payloads (PROTOCOL.md sections 4 and 6): one typed
//! struct per line kind, each with the only writer and the only parser of
//! its format. The master's data threads and asset feed write them, the
//! worker's quote cache parses the `quotes` feed and writes the quote
//! answers, the client library parses them all; a wire change touches this
//! module and its tests only.
//!
//! A writer appends one line and its `\n` to the caller's `String`; a
//! parser takes one line without its `\n` and answers a [`PayloadError`]
//! that names the bad field and what was expected. Payloads arrive as
//! bytes: turning them into `&str` (and refusing non-UTF-8) is the caller's
//! business. Input may be lenient where the value types are (a lower-case
//! symbol, a price with fewer than 4 fraction digits); output is always the
//! canonical form. Order, leaderboard and equity lines live in `orders`.
//!
//! Pure functions: no I/O, no logging, no threads.

mod account;
mod games;
mod market;
mod orders;

use std::fmt;

use crate::value::ValueError;

pub use account::{
    KeyLine, Position, PrivateInfo, Trade, TradeSide, UserInfo, Valuation, WatchLine,
};
pub use games::{GameDetail, GameLine, GameRole, GameState, PortfolioLine, PortfolioStatus};
pub use market::{Asset, AssetDetail, Bar, Current, Info, Quote};
pub use orders::{EquityPoint, Filled, OrderLine, Standing};

/// Longest piece of a bad line repeated back in an error.
const SHOWN_LINE: usize = 80;

/// One kind of payload line: its writer and its parser.
pub trait Line: Sized {
    /// What the line is called in errors: `quote`, `bar`, `position`...
    const KIND: &'static str;

    /// Appends the line and its terminating `\n` to `out`.
    fn write(&self, out: &mut String);

    /// Parses one line, without its `\n`.
    fn parse(line: &str) -> Result<Self, PayloadError>;

    /// The line and its `\n` as a new string.
    fn to_line(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

/// A payload of one line per item, in the order given.
pub fn write_lines<T: Line>(items: &[T]) -> String {
    let mut out = String::new();
    for item in items {
        item.write(&mut out);
    }
    out
}

/// Every line of `payload`: `\n`-terminated lines, possibly none. An empty
/// line in between, or a last line without its `\n`, is parsed like any
/// other (and so an empty one is refused).
pub fn parse_lines<T: Line>(payload: &str) -> Result<Vec<T>, PayloadError> {
    let body = payload.strip_suffix('\n').unwrap_or(payload);
    if body.is_empty() {
        return Ok(Vec::new());
    }
    body.split('\n').map(T::parse).collect()
}

/// The one line of a single-line payload (`getAssetValueCurrent`,
/// `getAssetInfo`); its `\n` may be missing.
pub fn parse_one<T: Line>(payload: &str) -> Result<T, PayloadError> {
    let line = payload.strip_suffix('\n').unwrap_or(payload);
    match line.split_once('\n') {
        Some((_, rest)) => Err(PayloadError::new(T::KIND, rest, Problem::ExtraLine)),
        None => T::parse(line),
    }
}

/// A payload line that does not have the shape PROTOCOL.md gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError {
    /// The kind of line ([`Line::KIND`], or `user info`).
    pub kind: &'static str,
    /// The offending line, cut to its first 80 characters.
    pub line: String,
    /// Whether `line` was cut.
    pub cut: bool,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with a payload line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The line ends before this field.
    Missing(&'static str),
    /// A field does not hold the value it should.
    Bad {
        /// The field's name.
        field: &'static str,
        /// What it held, shortened.
        input: String,
        /// What was expected instead.
        expected: &'static str,
    },
    /// The line goes on after its last field.
    Extra {
        /// The first field too many, shortened.
        input: String,
        /// The last field the line should end with.
        after: &'static str,
        /// How many fields the line takes.
        fields: &'static str,
    },
    /// The payload ends before a line it must hold.
    MissingLine(&'static str),
    /// A payload of a fixed number of lines goes on after its last one.
    ExtraLine,
}

impl PayloadError {
    /// An error about `line`, which is cut for display here.
    pub fn new(kind: &'static str, line: &str, problem: Problem) -> PayloadError {
        let cut = line.chars().count() > SHOWN_LINE;
        let line = if cut {
            line.chars().take(SHOWN_LINE).collect()
        } else {
            line.to_string()
        };
        PayloadError {
            kind,
            line,
            cut,
            problem,
        }
    }

    /// The field the error is about, if it is about one.
    pub fn field(&self) -> Option<&'static str> {
        match self.problem {
            Problem::Missing(field) | Problem::Bad { field, .. } => Some(field),
            _ => None,
        }
    }

    fn bad(kind: &'static str, line: &str, field: &'static str, err: ValueError) -> PayloadError {
        let problem = Problem::Bad {
            field,
            input: err.input,
            expected: err.expected,
        };
        PayloadError::new(kind, line, problem)
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind;
        if let Problem::MissingLine(key) = self.problem {
            return write!(f, "{kind} payload ends before its {key} line");
        }
        let dots = if self.cut { "..." } else { "" };
        write!(f, "{kind} line {:?}{dots}: ", self.line)?;
        match &self.problem {
            Problem::Missing(field) => write!(f, "missing field {field}"),
            Problem::Bad {
                field,
                input,
                expected,
            } => write!(f, "{field} {input:?}: expected {expected}"),
            Problem::Extra {
                input,
                after,
                fields,
            } => write!(f, "extra field {input:?} after {after}, expected {fields}"),
            Problem::ExtraLine => write!(f, "a line after the last one"),
            Problem::MissingLine(_) => Ok(()),
        }
    }
}

impl std::error::Error for PayloadError {}

/// The space-separated fields of one line, taken in order by name.
struct Fields<'a> {
    kind: &'static str,
    line: &'a str,
    /// Where the next field starts; `None` once the line is used up.
    next: Option<usize>,
}

impl<'a> Fields<'a> {
    fn new(kind: &'static str, line: &'a str) -> Fields<'a> {
        Fields {
            kind,
            line,
            next: Some(0),
        }
    }

    fn error(&self, problem: Problem) -> PayloadError {
        PayloadError::new(self.kind, self.line, problem)
    }

    /// The next field as text; it may be empty (two spaces in a row).
    fn text(&mut self, name: &'static str) -> Result<&'a str, PayloadError> {
        let Some(start) = self.next else {
            return Err(self.error(Problem::Missing(name)));
        };
        let rest = &self.line[start..];
        match rest.find(' ') {
            Some(end) => {
                self.next = Some(start + end + 1);
                Ok(&rest[..end])
            }
            None => {
                self.next = None;
                Ok(rest)
            }
        }
    }

    /// The next field through a value parser.
    fn value<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, ValueError>,
    ) -> Result<T, PayloadError> {
        let text = self.text(name)?;
        parse(text).map_err(|err| PayloadError::bad(self.kind, self.line, name, err))
    }

    /// Whether another field follows.
    fn more(&self) -> bool {
        self.next.is_some()
    }

    /// Refuses anything after the field `after`; `fields` says how many
    /// the line takes.
    fn end(mut self, after: &'static str, fields: &'static str) -> Result<(), PayloadError> {
        if !self.more() {
            return Ok(());
        }
        let extra = self.text(after)?;
        let input = ValueError::new(after, extra, fields).input;
        Err(self.error(Problem::Extra {
            input,
            after,
            fields,
        }))
    }

    /// Everything after the fields taken so far (a name with spaces); it
    /// must not be empty.
    fn remainder(self, name: &'static str) -> Result<&'a str, PayloadError> {
        match self.next {
            Some(start) if start < self.line.len() => Ok(&self.line[start..]),
            _ => Err(self.error(Problem::Missing(name))),
        }
    }
}

/// A volume: a whole count of shares, digits only, within u64.
fn volume(text: &str) -> Result<u64, ValueError> {
    digits(text, "shares", "a whole number of shares (digits only)")
}

/// A decimal of digits only, within `T`.
fn digits<T: std::str::FromStr>(
    text: &str,
    what: &'static str,
    expected: &'static str,
) -> Result<T, ValueError> {
    crate::value::decimal(text, usize::MAX).ok_or_else(|| ValueError::new(what, text, expected))
}

#[cfg(test)]
mod tests;
