//! [`FeedError`], why a price source gave no price or no history: every
//! fallible step of `market` (a request, a provider's answer, a CSV line,
//! starting a provider) returns one. Built on whichever thread failed (the
//! "asset" thread, a "price-NAME" thread, the main thread for `csv_file`)
//! and read as text in logs and in the reason a stale asset is refused
//! with. A failure made in one place is said there ([`FeedError::said`]);
//! those that several parts of `market` make or wrap have a variant whose
//! `#[error]` spells the message.

use std::borrow::Cow;
use std::fmt;

use papertrader_common::value::ValueError;

/// Why a request, an answer or a source failed.
// No #[source]: the inner error of a wrapping variant is part of its text
// already, so a chain printer would show it twice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// Any other failure, said in one sentence: no answer at all (the
    /// HTTP client's text), an answer of the wrong shape, a provider's own
    /// refusal, a bad CSV field, a provider that cannot start.
    #[error("{0}")]
    Said(Cow<'static, str>),
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
    /// Another error, and where it happened.
    #[error("{}: {}{}", .0, .1, .0.url_suffix())]
    In(Context, Box<FeedError>),
}

impl FeedError {
    /// The failure `text` says.
    pub fn said(text: impl Into<Cow<'static, str>>) -> FeedError {
        FeedError::Said(text.into())
    }

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
        let bad = FeedError::said("\"1,5\" is not a decimal number")
            .within(Context::Field("open".into()));
        assert_eq!(bad.to_string(), "open: \"1,5\" is not a decimal number");
        let line = FeedError::said("volume \"x\": expected a whole number of shares").within(
            Context::Line {
                file: "demo.csv".into(),
                line: 3,
            },
        );
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
