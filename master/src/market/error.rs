//! [`FeedError`], why a price source gave no price or no history: every
//! fallible step of `market` (a request, a provider's answer, a CSV line,
//! starting a provider) returns one. Built on whichever thread failed (the
//! "asset" thread, a "price-NAME" thread, the main thread for `csv_file`)
//! and read as text in logs and in the reason a stale asset is refused
//! with, so `Display` is the one place those messages are spelled.

use std::fmt;

use papertrader_common::value::{Money, Timestamp, ValueError};

use super::Bar;

/// Why a request, an answer or a source failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedError {
    /// No answer at all: connection, TLS, timeout (the HTTP client's text).
    Transport(String),
    /// The body is longer than the limit, in bytes.
    BodyTooLarge(usize),
    /// The server closed before sending Content-Length bytes.
    Truncated {
        /// Bytes received ...
        got: usize,
        /// ... of the Content-Length.
        expected: usize,
    },
    /// A status other than 200, with the reason phrase where it is shown.
    Status {
        /// The HTTP status.
        status: i32,
        /// Its reason phrase.
        reason: Option<String>,
    },
    /// A status not worth retrying, and the provider's own reason.
    Refused {
        /// The HTTP status.
        status: i32,
        /// The provider's message (or the body), shortened.
        reason: String,
    },
    /// The body is not JSON (serde_json's text: what and where).
    MalformedJson(String),
    /// An object lacks a member.
    Missing {
        /// The object (`the ticker`).
        what: String,
        /// The member (`price`).
        key: String,
    },
    /// A value that should be a number is not.
    NotANumber(String),
    /// A number that is not a decimal (shortened).
    NotDecimal(String),
    /// A number too large for `Money` (as shown).
    TooLarge(String),
    /// A price that is zero or negative.
    NotPositive {
        /// Which price.
        what: String,
        /// Its value.
        price: Money,
    },
    /// A bar whose low or high does not bound its open and close.
    InconsistentBar(Bar),
    /// An answer of the wrong shape, said in a fixed sentence.
    Shape(&'static str),
    /// A value that should be an array is not.
    NotArray(String),
    /// Yahoo's price columns end before its timestamps, at this index.
    ShortColumns(usize),
    /// An answer about another symbol than the one asked for.
    WrongSymbol {
        /// The symbol asked for.
        asked: String,
        /// The symbol answered, as shown.
        answered: String,
    },
    /// An answer that names no symbol (asked for this one).
    NoSymbol(String),
    /// Yahoo's chart has no result for the symbol.
    NoResult(String),
    /// The provider's own error message about a symbol.
    ProviderSays {
        /// As people write it (`Yahoo`, `Alpha Vantage`).
        provider: &'static str,
        /// The symbol asked for.
        symbol: String,
        /// The provider's message, shortened.
        message: String,
    },
    /// Alpha Vantage's "over the limit" message, shortened.
    OverLimit(String),
    /// Finnhub's answer to an unknown symbol: a quote of zeros.
    ZeroQuote(String),
    /// Finnhub's candles of this symbol have a status other than "ok".
    CandleStatus(String),
    /// A split ratio part that is not a positive whole number.
    BadRatio {
        /// `numerator` or `denominator`.
        part: String,
        /// What the answer holds.
        text: String,
    },
    /// A quote timed after now, beyond the clock-skew slack.
    Future {
        /// The quote's time.
        time: Timestamp,
        /// Ours.
        now: Timestamp,
    },
    /// A provider asked for a quote that gives none.
    NoLiveQuotes(&'static str),
    /// A CSV line with the wrong number of fields.
    FieldCount {
        /// Fields of `header`.
        expected: usize,
        /// The format's header.
        header: &'static str,
        /// Fields found.
        found: usize,
    },
    /// A CSV price that is not a positive decimal.
    BadPrice(String),
    /// A CSV volume that is not a whole number.
    BadVolume(String),
    /// A CSV time of day that is not `HH:MM:SS`.
    BadTime(String),
    /// A symbol or a date of the wrong shape.
    Value(ValueError),
    /// A CSV file or answer that does not start with its header.
    Header {
        /// The header wanted.
        expected: &'static str,
        /// The first line, or None at the end of the file.
        found: Option<String>,
    },
    /// A CSV file with no bar after its header.
    NoBars(String),
    /// A file that cannot be read.
    Read {
        /// The path.
        file: String,
        /// The system's reason.
        err: String,
    },
    /// Another error, and where it happened.
    In(Context, Box<FeedError>),
    /// A rate limit that is not `REQUESTS/DURATION`.
    BadLimit(String),
    /// A provider no code exists for.
    UnknownProvider(String),
    /// A provider's key is not configured (the key's name).
    NoKey(&'static str),
    /// A provider's thread cannot start.
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

impl From<ValueError> for FeedError {
    fn from(err: ValueError) -> FeedError {
        FeedError::Value(err)
    }
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use FeedError as E;
        match self {
            E::Transport(text) => f.write_str(text),
            E::BodyTooLarge(max) => write!(f, "response exceeds {max} bytes"),
            E::Truncated { got, expected } => {
                write!(f, "response truncated at {got} of {expected} bytes")
            }
            E::Status {
                status,
                reason: Some(reason),
            } => write!(f, "HTTP status {status} {reason}"),
            E::Status { status, .. } => write!(f, "HTTP status {status}"),
            E::Refused { status, reason } => write!(f, "HTTP status {status}: {reason}"),
            E::MalformedJson(err) => write!(f, "malformed JSON: {err}"),
            E::Missing { what, key } => write!(f, "{what} has no \"{key}\""),
            E::NotANumber(what) => write!(f, "{what} is not a number"),
            E::NotDecimal(shown) => write!(f, "{shown:?} is not a decimal number"),
            E::TooLarge(shown) => write!(f, "{shown} is too large for a price"),
            E::NotPositive { what, price } => write!(f, "{what} {price} is not positive"),
            E::InconsistentBar(bar) => {
                let (o, h, l, c) = (bar.open, bar.high, bar.low, bar.close);
                write!(
                    f,
                    "inconsistent bar: open {o} high {h} low {l} close {c}, \
                     expected low <= open, close <= high"
                )
            }
            E::Shape(text) => f.write_str(text),
            E::NotArray(what) => write!(f, "{what} is not an array"),
            E::ShortColumns(i) => write!(f, "the price columns are shorter than timestamp ({i})"),
            E::WrongSymbol { asked, answered } => {
                write!(f, "asked for {asked}, the answer is about {answered}")
            }
            E::NoSymbol(asked) => write!(f, "the answer names no symbol (asked for {asked})"),
            E::NoResult(symbol) => write!(f, "Yahoo: no result for {symbol}"),
            E::ProviderSays {
                provider,
                symbol,
                message,
            } => write!(f, "{provider}: {symbol}: {message}"),
            E::OverLimit(message) => write!(f, "Alpha Vantage limit: {message}"),
            E::ZeroQuote(s) => write!(f, "Finnhub knows no symbol {s} (an all-zero quote)"),
            E::CandleStatus(symbol) => write!(f, "candles of {symbol}: status is not \"ok\""),
            E::BadRatio { part, text: t } => {
                write!(f, "split {part} {t:?} is not a positive whole number")
            }
            E::Future { time, now } => write!(f, "timestamp {time} is in the future (now {now})"),
            E::NoLiveQuotes(provider) => write!(f, "{provider} gives no live quotes here"),
            E::FieldCount {
                expected,
                header,
                found,
            } => write!(f, "expected {expected} fields ({header}), found {found}"),
            E::BadPrice(t) => write!(f, "price {t:?}: expected a positive decimal like 189.12"),
            E::BadVolume(t) => write!(f, "volume {t:?}: expected a whole number of shares"),
            E::BadTime(text) => write!(f, "time {text:?}: expected HH:MM:SS or nothing"),
            E::Value(err) => write!(f, "{err}"),
            E::Header { expected, found } => {
                let found = found
                    .as_ref()
                    .map_or("end of file".into(), |l| format!("{l:?}"));
                write!(f, "expected the header {expected:?}, found {found}")
            }
            E::NoBars(file) => write!(f, "{file}: no bars after the header"),
            E::Read { file, err } => write!(f, "{file}: cannot read: {err}"),
            E::In(context, err) => {
                write!(f, "{context}: {err}")?;
                match context {
                    Context::Request { url, .. } => write!(f, " (GET {url})"),
                    _ => Ok(()),
                }
            }
            E::BadLimit(t) => write!(f, "{t:?}: expected REQUESTS/DURATION such as 60/1m"),
            E::UnknownProvider(name) => write!(f, "unknown provider {name}"),
            E::NoKey(key) => write!(f, "{key} is not set"),
            E::Thread(err) => write!(f, "cannot start its thread: {err}"),
        }
    }
}

// The inner error of a wrapping variant is part of its text already, so
// `source` stays None: a chain printer would show it twice.
impl std::error::Error for FeedError {}

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
