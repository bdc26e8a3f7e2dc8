//! [`FeedError`], why a price source gave no price or no history: every
//! fallible step of `market` (a request, a provider's answer, a CSV line,
//! starting a provider) returns one. Built on whichever thread failed (the
//! "asset" thread, a "price-NAME" thread, the main thread for `csv_file`)
//! and read as text in logs and in the reason a stale asset is refused
//! with, so the `#[error]` of each variant is the one place those messages
//! are spelled.

use std::fmt;

use papertrader_common::value::{Money, Timestamp, ValueError};

use super::Bar;

/// Why a request, an answer or a source failed.
// No #[source]: the inner error of a wrapping variant is part of its text
// already, so a chain printer would show it twice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// No answer at all: connection, TLS, timeout (the HTTP client's text).
    #[error("{0}")]
    Transport(String),
    /// The body is longer than the limit, in bytes.
    #[error("response exceeds {0} bytes")]
    BodyTooLarge(usize),
    /// The server closed before sending Content-Length bytes.
    #[error("response truncated at {got} of {expected} bytes")]
    Truncated {
        /// Bytes received ...
        got: usize,
        /// ... of the Content-Length.
        expected: usize,
    },
    /// A status other than 200, with the reason phrase where it is shown.
    #[error("HTTP status {status}{}", spaced(.reason.as_deref()))]
    Status {
        /// The HTTP status.
        status: i32,
        /// Its reason phrase.
        reason: Option<String>,
    },
    /// A status not worth retrying, and the provider's own reason.
    #[error("HTTP status {status}: {reason}")]
    Refused {
        /// The HTTP status.
        status: i32,
        /// The provider's message (or the body), shortened.
        reason: String,
    },
    /// The body is not JSON (serde_json's text: what and where).
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// An object lacks a member.
    #[error("{what} has no \"{key}\"")]
    Missing {
        /// The object (`the ticker`).
        what: String,
        /// The member (`price`).
        key: String,
    },
    /// A value that should be a number is not.
    #[error("{0} is not a number")]
    NotANumber(String),
    /// A number that is not a decimal (shortened).
    #[error("{0:?} is not a decimal number")]
    NotDecimal(String),
    /// A number too large for `Money` (as shown).
    #[error("{0} is too large for a price")]
    TooLarge(String),
    /// A price that is zero or negative.
    #[error("{what} {price} is not positive")]
    NotPositive {
        /// Which price.
        what: String,
        /// Its value.
        price: Money,
    },
    /// A bar whose low or high does not bound its open and close.
    #[error(
        "inconsistent bar: open {} high {} low {} close {}, expected low <= open, close <= high",
        .0.open, .0.high, .0.low, .0.close
    )]
    InconsistentBar(Bar),
    /// An answer of the wrong shape, said in a fixed sentence.
    #[error("{0}")]
    Shape(&'static str),
    /// A value that should be an array is not.
    #[error("{0} is not an array")]
    NotArray(String),
    /// Yahoo's price columns end before its timestamps, at this index.
    #[error("the price columns are shorter than timestamp ({0})")]
    ShortColumns(usize),
    /// An answer about another symbol than the one asked for.
    #[error("asked for {asked}, the answer is about {answered}")]
    WrongSymbol {
        /// The symbol asked for.
        asked: String,
        /// The symbol answered, as shown.
        answered: String,
    },
    /// An answer that names no symbol (asked for this one).
    #[error("the answer names no symbol (asked for {0})")]
    NoSymbol(String),
    /// Yahoo's chart has no result for the symbol.
    #[error("Yahoo: no result for {0}")]
    NoResult(String),
    /// The provider's own error message about a symbol.
    #[error("{provider}: {symbol}: {message}")]
    ProviderSays {
        /// As people write it (`Yahoo`, `Alpha Vantage`).
        provider: &'static str,
        /// The symbol asked for.
        symbol: String,
        /// The provider's message, shortened.
        message: String,
    },
    /// Alpha Vantage's "over the limit" message, shortened.
    #[error("Alpha Vantage limit: {0}")]
    OverLimit(String),
    /// Finnhub's answer to an unknown symbol: a quote of zeros.
    #[error("Finnhub knows no symbol {0} (an all-zero quote)")]
    ZeroQuote(String),
    /// Finnhub's candles of this symbol have a status other than "ok".
    #[error("candles of {0}: status is not \"ok\"")]
    CandleStatus(String),
    /// A split ratio part that is not a positive whole number.
    #[error("split {part} {text:?} is not a positive whole number")]
    BadRatio {
        /// `numerator` or `denominator`.
        part: String,
        /// What the answer holds.
        text: String,
    },
    /// A quote timed after now, beyond the clock-skew slack.
    #[error("timestamp {time} is in the future (now {now})")]
    Future {
        /// The quote's time.
        time: Timestamp,
        /// Ours.
        now: Timestamp,
    },
    /// A provider asked for a quote that gives none.
    #[error("{0} gives no live quotes here")]
    NoLiveQuotes(&'static str),
    /// A CSV line with the wrong number of fields.
    #[error("expected {expected} fields ({header}), found {found}")]
    FieldCount {
        /// Fields of `header`.
        expected: usize,
        /// The format's header.
        header: &'static str,
        /// Fields found.
        found: usize,
    },
    /// A CSV price that is not a positive decimal.
    #[error("price {0:?}: expected a positive decimal like 189.12")]
    BadPrice(String),
    /// A CSV volume that is not a whole number.
    #[error("volume {0:?}: expected a whole number of shares")]
    BadVolume(String),
    /// A CSV time of day that is not `HH:MM:SS`.
    #[error("time {0:?}: expected HH:MM:SS or nothing")]
    BadTime(String),
    /// A symbol or a date of the wrong shape.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// A CSV file or answer that does not start with its header.
    #[error("expected the header {expected:?}, found {}", found_line(.found.as_deref()))]
    Header {
        /// The header wanted.
        expected: &'static str,
        /// The first line, or None at the end of the file.
        found: Option<String>,
    },
    /// A CSV file with no bar after its header.
    #[error("{0}: no bars after the header")]
    NoBars(String),
    /// A file that cannot be read.
    #[error("{file}: cannot read: {err}")]
    Read {
        /// The path.
        file: String,
        /// The system's reason.
        err: String,
    },
    /// Another error, and where it happened.
    #[error("{}: {}{}", .0, .1, .0.url_suffix())]
    In(Context, Box<FeedError>),
    /// A rate limit that is not `REQUESTS/DURATION`.
    #[error("{0:?}: expected REQUESTS/DURATION such as 60/1m")]
    BadLimit(String),
    /// A provider no code exists for.
    #[error("unknown provider {0}")]
    UnknownProvider(String),
    /// A provider's key is not configured (the key's name).
    #[error("{0} is not set")]
    NoKey(&'static str),
    /// A provider's thread cannot start.
    #[error("cannot start its thread: {0}")]
    Thread(String),
}

impl FeedError {
    /// `self`, as having happened in `context`.
    pub fn within(self, context: Context) -> FeedError {
        FeedError::In(context, Box::new(self))
    }
}

/// Where an error happened: its message's prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Context {
    /// A line of a CSV file, counted from 1.
    Line {
        /// The file.
        file: String,
        /// The line.
        line: usize,
    },
    /// A named field of an answer (`open`, `price`).
    Field(String),
    /// A GET of the CSV quote service, its URL fit for logs
    /// (`super::api::shown_url`).
    Get(String),
    /// The CSV quote service (`price_source = http`).
    HttpSource,
    /// `csv_file`.
    CsvFile,
    /// A real provider's request for one symbol.
    Request {
        /// The provider (`yahoo`).
        provider: &'static str,
        /// Its symbol.
        remote: String,
        /// The URL, fit for logs; it ends the message.
        url: String,
    },
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Context::Line { file, line } => write!(f, "{file}:{line}"),
            Context::Field(name) => f.write_str(name),
            Context::Get(url) => write!(f, "GET {url}"),
            Context::HttpSource => f.write_str("http source"),
            Context::CsvFile => f.write_str("csv_file"),
            Context::Request {
                provider, remote, ..
            } => write!(f, "{provider} {remote}"),
        }
    }
}

impl Context {
    /// ` (GET URL)` after the message of a request, else nothing.
    fn url_suffix(&self) -> String {
        match self {
            Context::Request { url, .. } => format!(" (GET {url})"),
            _ => String::new(),
        }
    }
}

/// ` TEXT` after a status, or nothing.
fn spaced(text: Option<&str>) -> String {
    text.map_or(String::new(), |t| format!(" {t}"))
}

/// The first line of a file, quoted, or `end of file`.
fn found_line(line: Option<&str>) -> String {
    line.map_or("end of file".into(), |l| format!("{l:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_errors_read_outside_in() {
        let bad = FeedError::NotDecimal("1,5".into()).within(Context::Field("open".into()));
        assert_eq!(bad.to_string(), "open: \"1,5\" is not a decimal number");
        let line = FeedError::BadVolume("x".into()).within(Context::Line {
            file: "demo.csv".into(),
            line: 3,
        });
        assert_eq!(
            line.to_string(),
            "demo.csv:3: volume \"x\": expected a whole number of shares"
        );
        let got = FeedError::Status {
            status: 500,
            reason: Some("Internal Server Error".into()),
        };
        let http = got
            .within(Context::Get("http://h/q".into()))
            .within(Context::HttpSource);
        assert_eq!(
            http.to_string(),
            "http source: GET http://h/q: HTTP status 500 Internal Server Error"
        );
        let status = FeedError::Status {
            status: 503,
            reason: None,
        };
        let request = status.within(Context::Request {
            provider: "yahoo",
            remote: "AAPL".into(),
            url: "http://h/v8".into(),
        });
        assert_eq!(
            request.to_string(),
            "yahoo AAPL: HTTP status 503 (GET http://h/v8)"
        );
    }

    #[test]
    fn headers_name_what_was_found() {
        let header = |found: Option<&str>| FeedError::Header {
            expected: "A,B",
            found: found.map(str::to_string),
        };
        assert_eq!(
            header(Some("x")).to_string(),
            "expected the header \"A,B\", found \"x\""
        );
        assert_eq!(
            header(None).to_string(),
            "expected the header \"A,B\", found end of file"
        );
    }
}
