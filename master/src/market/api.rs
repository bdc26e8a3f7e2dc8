//! The web APIs of the real providers (`yahoo`, `finnhub`, `alphavantage`,
//! `coinbase`, `binance`): each module says how to ask for a quote or
//! daily history and how to read the answer ([`Api`]). Nothing here does
//! I/O but [`get`]: the provider threads of `super::live` send the
//! requests, pace them within [`Limit`] and back off; parsing is pure, so
//! each format is tested on fixtures.
//!
//! Answers are read with serde_json one level at a time ([`Json`]): a
//! number keeps the text it was written with, so a price becomes `Money`
//! exactly ([`decimal`]) and never passes through `f64`.

use std::collections::BTreeMap;
use std::time::Duration;

use papertrader_common::value::{Date, Money, Timestamp};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::Bar;
use super::error::{Context, FeedError};
use super::provider::{History, check_bar, sort_bars};

/// A provider's documented request limit: `requests` in any `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests allowed ...
    pub requests: u32,
    /// ... in any window this long.
    pub per: Duration,
}

impl Limit {
    /// `requests` in any `per`.
    pub const fn new(requests: u32, per: Duration) -> Limit {
        Limit { requests, per }
    }

    /// The least time between two requests that keeps within the limit.
    pub fn spacing(&self) -> Duration {
        self.per / self.requests.max(1)
    }

    /// Parses `N/DURATION`, e.g. `60/1m`, `10/1s`, `25/1d`.
    pub fn parse(text: &str) -> Result<Limit, FeedError> {
        let bad = || {
            FeedError::said(format!(
                "{text:?}: expected REQUESTS/DURATION such as 60/1m"
            ))
        };
        let (n, per) = text.split_once('/').ok_or_else(bad)?;
        let requests: u32 = n.trim().parse().map_err(|_| bad())?;
        let per = per.trim();
        let split = per.find(|c: char| !c.is_ascii_digit()).unwrap_or(per.len());
        let count: u64 = per[..split].parse().map_err(|_| bad())?;
        let unit = match &per[split..] {
            "ms" => 1,
            "s" | "" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        if requests == 0 || count == 0 {
            return Err(bad());
        }
        Ok(Limit::new(
            requests,
            Duration::from_millis(count.saturating_mul(unit)),
        ))
    }
}

/// One HTTP GET to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The whole URL (it may carry an API key: log it through
    /// [`shown_url`]).
    pub url: String,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
}

impl Request {
    /// A GET of `url` with no extra headers.
    pub fn get(url: String) -> Request {
        Request {
            url,
            headers: Vec::new(),
        }
    }
}

/// A provider's current price of one symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    /// The last price, positive.
    pub price: Money,
    /// When the provider says it traded (or was quoted).
    pub time: Timestamp,
    /// Shares traded so far in the provider's current day, when it says.
    pub day_volume: Option<u64>,
}

/// Why a request gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another try after a pause: HTTP 429, 5xx, a timeout or a
    /// broken connection. `Some(d)`: the server's Retry-After.
    Retry(FeedError, Option<Duration>),
    /// The answer was wrong for this symbol (malformed, unknown symbol,
    /// a price that is not positive, a time in the future): the asset is
    /// stale until a later answer is good.
    Bad(FeedError),
}

impl Failure {
    /// The error alone.
    pub fn error(self) -> FeedError {
        match self {
            Failure::Retry(err, _) | Failure::Bad(err) => err,
        }
    }
}

/// What every real provider's web API does.
pub trait Api: Send {
    /// Its name in the config and the asset list (`yahoo`, ...).
    fn name(&self) -> &'static str;

    /// Its documented limit (`*_rate_limit` in the config overrides it).
    fn default_limit(&self) -> Limit;

    /// The request for the current price of `symbol` (the provider's own
    /// symbol). None: this provider has no live quotes (Alpha Vantage).
    fn quote_request(&self, symbol: &str) -> Option<Request>;

    /// Reads a 200 answer to [`Api::quote_request`]. Checks that the
    /// answer is about `symbol` where the format says.
    fn parse_quote(&self, symbol: &str, body: &str) -> Result<Quote, FeedError>;

    /// The requests for daily bars of `symbol` from `from` to `to`
    /// (inclusive), more than one where the provider caps the bars of one
    /// answer. Empty: no history from this provider.
    fn history_requests(&self, symbol: &str, from: Date, to: Date) -> Vec<Request>;

    /// Reads a 200 answer to one of [`Api::history_requests`].
    fn parse_history(&self, symbol: &str, body: &str) -> Result<History, FeedError>;

    /// The error of a non-200 answer that is not worth retrying (404,
    /// 400...): most providers put a reason in a JSON body.
    fn refusal(&self, status: i32, body: &str) -> FeedError {
        let reason = Json::parse(body).ok().and_then(|json| {
            ["message", "msg", "error", "description"]
                .iter()
                .find_map(|k| json.get(k)?.str())
                .or_else(|| json.get("chart")?.get("error")?.get("description")?.str())
        });
        let reason = reason.as_deref().unwrap_or(body.trim());
        FeedError::said(format!("HTTP status {status}: {}", excerpt(reason)))
    }
}

/// A JSON value, read one level at a time: parsing an object or an array
/// leaves its members as text until they are asked for, so a number is
/// always the text the provider wrote. Every error is a value: a
/// provider's bytes can never panic the daemon.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(transparent)]
pub struct Json<'a>(#[serde(borrow)] &'a RawValue);

impl<'a> Json<'a> {
    /// Checks a whole document; the error says what is wrong and where.
    pub fn parse(text: &'a str) -> Result<Json<'a>, FeedError> {
        serde_json::from_str(text).map_err(|err| FeedError::said(format!("malformed JSON: {err}")))
    }

    /// The value's text, as the provider wrote it.
    fn text(self) -> &'a str {
        self.0.get()
    }

    /// The members of an object, by name.
    pub fn members(self) -> Option<BTreeMap<String, Json<'a>>> {
        serde_json::from_str(self.text()).ok()
    }

    /// Member `key` of an object.
    pub fn get(self, key: &str) -> Option<Json<'a>> {
        self.members()?.remove(key)
    }

    /// The elements of an array.
    pub fn items(self) -> Option<Vec<Json<'a>>> {
        serde_json::from_str(self.text()).ok()
    }

    /// Element `i` of an array.
    pub fn at(self, i: usize) -> Option<Json<'a>> {
        self.items()?.get(i).copied()
    }

    /// Whether it is `null`.
    pub fn is_null(self) -> bool {
        self.text() == "null"
    }

    /// A string's text, unescaped.
    pub fn str(self) -> Option<String> {
        serde_json::from_str(self.text()).ok()
    }

    /// The text of a number, or of a string holding one (Coinbase and
    /// Binance quote prices as strings).
    pub fn num_text(self) -> Option<String> {
        let text = self.text();
        if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            return Some(text.to_string());
        }
        self.str()
    }

    /// A whole number (seconds, counts); fractions are refused.
    pub fn int(self) -> Option<i64> {
        self.num_text()?.parse().ok()
    }
}

/// A short excerpt of `text` for messages.
pub fn excerpt(text: &str) -> String {
    let shown: String = text
        .chars()
        .take(80)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > 80 {
        format!("{shown}...")
    } else {
        shown
    }
}

/// A JSON number (or numeric string) as `Money`, exactly: digits with an
/// optional sign, fraction and exponent. More than 4 fraction digits are
/// rounded half away from zero (providers send `189.91000366210938`).
/// Zero and negative values are returned as they are: the caller decides.
pub fn decimal(text: &str) -> Result<Money, FeedError> {
    let bad = || FeedError::said(format!("{:?} is not a decimal number", excerpt(text)));
    let too_large = |shown: String| FeedError::said(format!("{shown} is too large for a price"));
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(at) => {
            let exp: i32 = rest[at + 1..].parse().map_err(|_| bad())?;
            (&rest[..at], exp)
        }
        None => (rest, 0),
    };
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || !digits(whole) || !digits(frac) {
        return Err(bad());
    }
    // All the digits, and where the decimal point goes after the exponent.
    let all: Vec<u8> = whole
        .bytes()
        .chain(frac.bytes())
        .map(|c| c - b'0')
        .collect();
    let point = i64::try_from(whole.len()).map_err(|_| bad())? + i64::from(exp);
    // Units of 1/10 000: the digits before point + 4, the next one rounds.
    let keep = point + 4;
    if keep > 19 + all.iter().take_while(|d| **d == 0).count() as i64 {
        return Err(too_large(excerpt(text)));
    }
    let mut units: i128 = 0;
    for i in 0..keep.max(0) {
        let d = usize::try_from(i).ok().and_then(|i| all.get(i)).copied();
        units = units * 10 + i128::from(d.unwrap_or(0));
    }
    let next = usize::try_from(keep).ok().and_then(|i| all.get(i)).copied();
    if keep >= 0 && next.is_some_and(|d| d >= 5) {
        units += 1;
    }
    let units = i64::try_from(units).map_err(|_| too_large(text.to_string()))?;
    Ok(Money(if negative { -units } else { units }))
}

/// A Unix time in seconds from JSON, within the wire's range.
pub fn seconds(json: Json) -> Option<Timestamp> {
    let s = json.int()?;
    (0..=253_402_300_799).contains(&s).then_some(Timestamp(s))
}

/// Finds member `key` or says which is missing.
pub fn member<'a>(json: Json<'a>, key: &str, what: &str) -> Result<Json<'a>, FeedError> {
    json.get(key)
        .ok_or_else(|| FeedError::said(format!("{what} has no \"{key}\"")))
}

/// A positive price from JSON, or why not.
pub fn price(json: Json, what: &str) -> Result<Money, FeedError> {
    let text = json
        .num_text()
        .ok_or_else(|| FeedError::said(format!("{what} is not a number")))?;
    let money = decimal(&text).map_err(|e| e.within(Context::Field(what.to_string())))?;
    if money.raw() <= 0 {
        return Err(FeedError::said(format!("{what} {money} is not positive")));
    }
    Ok(money)
}

/// A bar from four JSON prices and a volume, checked like CSV bars.
pub fn bar(time: Timestamp, ohlc: [Json; 4], volume: Option<Json>) -> Result<Bar, FeedError> {
    let bar = Bar {
        time,
        open: price(ohlc[0], "open")?,
        high: price(ohlc[1], "high")?,
        low: price(ohlc[2], "low")?,
        close: price(ohlc[3], "close")?,
        volume: volume.and_then(volume_of).unwrap_or(0),
    };
    check_bar(&bar)?;
    Ok(bar)
}

/// Daily bars from an array of rows of cells (Binance's klines,
/// Coinbase's candles): `row` makes a bar of one row, reading cell `i`
/// with its argument (which fails with `short` when the row has fewer);
/// oldest first, one a day. `what` names the array in errors.
pub fn row_bars<'a>(
    body: &'a str,
    what: &str,
    short: &'static str,
    mut row: impl FnMut(&dyn Fn(usize) -> Result<Json<'a>, FeedError>) -> Result<Bar, FeedError>,
) -> Result<History, FeedError> {
    let rows = Json::parse(body)?
        .items()
        .ok_or_else(|| FeedError::said(format!("{what} is not an array")))?;
    let mut history = History::default();
    for cells in rows {
        let cells = cells.items().unwrap_or_default();
        let cell = |i: usize| cells.get(i).copied().ok_or(FeedError::said(short));
        history.bars.push(row(&cell)?);
    }
    sort_bars(&mut history.bars);
    Ok(history)
}

/// The days `from` to `to` in spans of at most `days` days, as the Unix
/// times of each span's first and last day.
pub fn day_spans(from: Date, to: Date, days: i64) -> Vec<(i64, i64)> {
    let (mut start, end) = (from.start().0, to.start().0);
    let mut spans = Vec::new();
    while start <= end {
        let last = (start + (days - 1) * 86_400).min(end);
        spans.push((start, last));
        start = last + 86_400;
    }
    spans
}

/// A volume: a whole or decimal non-negative number, fraction dropped.
pub fn volume_of(json: Json) -> Option<u64> {
    let text = json.num_text()?;
    if text.contains(['e', 'E']) {
        return None;
    }
    text.split('.').next()?.parse().ok()
}

/// What one GET gave.
pub struct Answer {
    /// The HTTP status ...
    pub status: i32,
    /// ... and its reason phrase.
    pub reason: String,
    /// Retry-After in seconds, when sent.
    pub retry_after: Option<Duration>,
    /// The body as text.
    pub body: String,
    /// (bytes received, Content-Length) when the server closed early.
    pub truncated: Option<(usize, usize)>,
}

/// Sends `request` within `timeout`, reading at most `max_bytes` of body
/// (more is an error). An error here is a transport failure (worth
/// retrying); a body cut short is the caller's to judge.
pub fn get(request: &Request, timeout: Duration, max_bytes: usize) -> Result<Answer, FeedError> {
    let timeout_secs = (timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0)).max(1);
    let mut req = minreq::get(&request.url)
        .with_timeout(timeout_secs)
        .with_max_redirects(5)
        .with_max_headers_size(64 * 1024)
        .with_max_status_line_length(1024);
    for (name, value) in &request.headers {
        req = req.with_header(*name, value);
    }
    let transport = |err: minreq::Error| FeedError::said(err.to_string());
    let response = req.send_lazy().map_err(transport)?;
    let status = response.status_code;
    let reason: String = response.reason_phrase.trim().chars().take(60).collect();
    let header = |name| response.headers.get(name).map(|v: &String| v.trim());
    let retry_after = header("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(3600)));
    let length = header("content-length").and_then(|v| v.parse::<usize>().ok());
    if length.is_some_and(|n| n > max_bytes) {
        return Err(FeedError::BodyTooLarge(max_bytes));
    }
    let mut bytes = Vec::with_capacity(length.unwrap_or(0).min(max_bytes));
    for item in response {
        let (byte, _) = item.map_err(transport)?;
        if bytes.len() == max_bytes {
            return Err(FeedError::BodyTooLarge(max_bytes));
        }
        bytes.push(byte);
    }
    let truncated = length
        .filter(|n| bytes.len() < *n)
        .map(|n| (bytes.len(), n));
    let body = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    };
    Ok(Answer {
        status,
        reason,
        retry_after,
        body,
        truncated,
    })
}

/// Longest URL repeated in a message or log line.
const SHOWN_URL: usize = 160;

/// `url` fit for logs: credentials and key-like query values hidden (quote
/// services take API keys in the query), shortened.
pub fn shown_url(url: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut shown = base.to_string();
    if let Some((scheme, rest)) = base.split_once("://") {
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if let Some((_, host)) = authority.rsplit_once('@') {
            shown = format!("{scheme}://REDACTED@{host}{path}");
        }
    }
    if url.contains('?') {
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((name, _)) if is_secret(name) => format!("{name}=REDACTED"),
                _ => param.to_string(),
            })
            .collect();
        shown = format!("{shown}?{}", params.join("&"));
    }
    if shown.chars().count() > SHOWN_URL {
        shown = format!("{}...", shown.chars().take(SHOWN_URL).collect::<String>());
    }
    shown
}

fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["key", "token", "secret", "pass", "auth", "sig"]
        .iter()
        .any(|w| name.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(text: &str) -> Json<'_> {
        Json::parse(text).expect("json")
    }

    #[test]
    fn limits_parse_and_space_requests() {
        let l = Limit::parse("60/1m").expect("ok");
        assert_eq!(l.spacing(), Duration::from_secs(1));
        assert_eq!(
            Limit::parse("10/1s").expect("ok").spacing(),
            Duration::from_millis(100)
        );
        assert_eq!(
            Limit::parse("25/1d").expect("ok").per,
            Duration::from_secs(86_400)
        );
        for bad in ["", "60", "0/1m", "60/0s", "x/1m", "60/1w"] {
            assert!(Limit::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn prices_must_be_positive() {
        assert_eq!(price(j("\"1.5\""), "p"), Ok(Money(15_000)));
        let zero = price(j("0"), "p").map_err(|e| e.to_string());
        assert_eq!(zero, Err("p 0.0000 is not positive".into()));
        let bad = price(j("\"1,5\""), "open").map_err(|e| e.to_string());
        assert_eq!(bad, Err("open: \"1,5\" is not a decimal number".into()));
        let missing = member(j("{}"), "price", "the ticker").map(|_| ());
        let missing = missing.map_err(|e| e.to_string());
        assert_eq!(missing, Err("the ticker has no \"price\"".into()));
        assert!(price(j("-3.2"), "p").is_err());
        assert!(price(j("null"), "p").is_err());
        assert_eq!(volume_of(j("12.9")), Some(12));
        assert_eq!(volume_of(j("-1")), None);
    }

    #[test]
    fn nested_documents_keep_numbers_as_written() {
        let doc = r#" {"a": [1, -2.50, 3e2, "x\"\u00e9"], "b": {"c": null, "d": true}} "#;
        let json = j(doc);
        let a = json.get("a").expect("a");
        assert_eq!(a.at(1).and_then(Json::num_text).as_deref(), Some("-2.50"));
        assert_eq!(a.at(2).and_then(Json::num_text).as_deref(), Some("3e2"));
        assert_eq!(a.at(3).and_then(Json::str).as_deref(), Some("x\"é"));
        let b = json.get("b").expect("b");
        assert!(b.get("c").is_some_and(Json::is_null));
        assert_eq!(b.get("d").and_then(Json::str), None);
        assert!(json.get("z").is_none() && a.get("a").is_none() && json.at(0).is_none());
        let ids = j("[123456789012345678901234567890]").at(0);
        assert_eq!(ids.and_then(Json::int), None, "out of range, not wrapped");
    }

    #[test]
    fn malformed_documents_are_errors_not_panics() {
        for bad in [
            "",
            "{",
            "[1,",
            "{\"a\" 1}",
            "tru",
            "\"\\u12\"",
            "[1]x",
            "{\"a\":}",
            "\"\\q\"",
        ] {
            let err = Json::parse(bad).expect_err(bad).to_string();
            assert!(err.starts_with("malformed JSON: "), "{err}");
        }
        // Nesting costs no stack: each level is read only when asked for.
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let mut json = Json::parse(&deep).expect("deep but well formed");
        for _ in 0..3 {
            json = json.at(0).expect("one level down");
        }
    }

    #[test]
    fn decimals_are_exact_and_round_half_away_from_zero() {
        let m = |s| decimal(s).map(|m| m.raw());
        assert_eq!(m("189.91000366210938"), Ok(1_899_100));
        assert_eq!(m("189.12345"), Ok(1_891_235));
        assert_eq!(m("189.12344999"), Ok(1_891_234));
        assert_eq!(m("-0.00005"), Ok(-1));
        assert_eq!(m("42"), Ok(420_000));
        assert_eq!(m("0"), Ok(0));
        assert_eq!(m("1.5e3"), Ok(15_000_000));
        assert_eq!(m("2.5E-4"), Ok(3));
        assert_eq!(m("1e-9"), Ok(0));
        assert_eq!(m("0.0000000000000000000000012"), Ok(0));
        assert_eq!(m("64250.12000000"), Ok(642_501_200));
        for bad in [
            "",
            "-",
            ".",
            "1.2.3",
            "abc",
            "1e",
            "1,5",
            "NaN",
            "1e99999999999",
        ] {
            assert!(decimal(bad).is_err(), "{bad:?} accepted");
        }
        assert!(decimal("1e30").is_err());
        assert!(decimal("99999999999999999999").is_err());
    }

    #[test]
    fn logged_urls_hide_secrets() {
        assert_eq!(
            shown_url("https://u:p@quotes.example/q?s=aapl&apikey=abc&Token=x"),
            "https://REDACTED@quotes.example/q?s=aapl&apikey=REDACTED&Token=REDACTED"
        );
        assert_eq!(
            shown_url("http://h/q/l/?s=a&h&e=csv"),
            "http://h/q/l/?s=a&h&e=csv"
        );
        assert_eq!(
            shown_url(&format!("http://h/{}", "a".repeat(300))).len(),
            SHOWN_URL + 3
        );
    }
}
