//! The provider trait (DESIGN.md "Price sources"): one module per real
//! price provider (`yahoo`, `finnhub`, `alphavantage`, `coinbase`,
//! `binance`) says how to ask for a quote or daily history and how to read
//! the answer. Providers do no I/O: the provider threads of `super::live`
//! send the requests (with [`get`]), pace them within [`Limit`] and back
//! off; parsing is pure, so each format is tested on fixtures.

use std::time::Duration;

use papertrader_common::value::{Date, Money, Timestamp};

use super::Bar;
use super::json::Json;

/// A provider's documented request limit: `requests` in any `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests allowed ...
    pub requests: u32,
    /// ... in any window this long.
    pub per: Duration,
}

impl Limit {
    /// The least time between two requests that keeps within the limit.
    pub fn spacing(&self) -> Duration {
        self.per / self.requests.max(1)
    }

    /// Parses `N/DURATION`, e.g. `60/1m`, `10/1s`, `25/1d`.
    pub fn parse(text: &str) -> Result<Limit, String> {
        let bad = || format!("{text:?}: expected REQUESTS/DURATION such as 60/1m");
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
        Ok(Limit {
            requests,
            per: Duration::from_millis(count.saturating_mul(unit)),
        })
    }
}

/// One HTTP GET to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The whole URL (it may carry an API key: log it through
    /// `super::http::shown_url`).
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

/// A corporate action a provider reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// `to` new shares for every `from` held (2-for-1: to 2, from 1).
    Split {
        /// New shares ...
        to: u32,
        /// ... for this many old ones.
        from: u32,
    },
    /// Cash per share.
    Dividend(Money),
}

/// A split or dividend and when it takes effect (the ex-date; Yahoo's
/// event time is the ex-date's market open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Action {
    /// Shares held before this instant take part.
    pub effective: Timestamp,
    /// What happens.
    pub kind: ActionKind,
}

/// Daily history: bars oldest first, and the actions in that span.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Daily bars, each at 00:00 UTC of its day.
    pub bars: Vec<Bar>,
    /// Splits and dividends, when the provider reports them.
    pub actions: Vec<Action>,
}

/// Why a request gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another try after a pause: HTTP 429, 5xx, a timeout or a
    /// broken connection. `Some(d)`: the server's Retry-After.
    Retry(String, Option<Duration>),
    /// The answer was wrong for this symbol (malformed, unknown symbol,
    /// a price that is not positive, a time in the future): the asset is
    /// stale until a later answer is good.
    Bad(String),
}

impl Failure {
    /// The message alone.
    pub fn text(&self) -> &str {
        match self {
            Failure::Retry(text, _) | Failure::Bad(text) => text,
        }
    }
}

/// What every provider does.
pub trait Provider: Send {
    /// Its name in the config and the asset list (`yahoo`, ...).
    fn name(&self) -> &'static str;

    /// Its documented limit, or the configured one.
    fn limit(&self) -> Limit;

    /// The request for the current price of `symbol` (the provider's own
    /// symbol). None: this provider has no live quotes (Alpha Vantage).
    fn quote_request(&self, symbol: &str) -> Option<Request>;

    /// Reads a 200 answer to [`Provider::quote_request`]. Checks that
    /// the answer is about `symbol` where the format says.
    fn parse_quote(&self, symbol: &str, body: &str) -> Result<Quote, String>;

    /// The requests for daily bars of `symbol` from `from` to `to`
    /// (inclusive), more than one where the provider caps the bars of one
    /// answer. Empty: no history from this provider.
    fn history_requests(&self, symbol: &str, from: Date, to: Date) -> Vec<Request>;

    /// Reads a 200 answer to one of [`Provider::history_requests`].
    fn parse_history(&self, symbol: &str, body: &str) -> Result<History, String>;

    /// The message of a non-200 answer that is not worth retrying (404,
    /// 400...): most providers put a reason in a JSON body.
    fn error_message(&self, status: i32, body: &str) -> String {
        let reason = Json::parse(body).ok().and_then(|json| {
            ["message", "msg", "error", "description"]
                .iter()
                .find_map(|k| json.get(k).and_then(Json::str).map(str::to_string))
                .or_else(|| {
                    let chart = json.get("chart")?.get("error")?;
                    chart.get("description")?.str().map(str::to_string)
                })
        });
        match reason {
            Some(reason) => format!("HTTP status {status}: {}", Json::excerpt(&reason)),
            None => format!("HTTP status {status}: {}", Json::excerpt(body.trim())),
        }
    }
}

/// A Unix time in seconds from JSON, within the wire's range.
pub fn seconds(json: &Json) -> Option<Timestamp> {
    let s = json.int()?;
    (0..=253_402_300_799).contains(&s).then_some(Timestamp(s))
}

/// Finds member `key` or says which is missing.
pub fn member<'j>(json: &'j Json, key: &str, what: &str) -> Result<&'j Json, String> {
    json.get(key)
        .ok_or_else(|| format!("{what} has no \"{key}\""))
}

/// A positive price from JSON, or why not.
pub fn price(json: &Json, what: &str) -> Result<Money, String> {
    let money = json
        .money()
        .ok_or_else(|| format!("{what} is not a number"))?
        .map_err(|e| format!("{what}: {e}"))?;
    if money.raw() <= 0 {
        return Err(format!("{what} {money} is not positive"));
    }
    Ok(money)
}

/// A bar from four JSON prices and a volume, checked like CSV bars.
pub fn bar(time: Timestamp, ohlc: [&Json; 4], volume: Option<&Json>) -> Result<Bar, String> {
    let bar = Bar {
        time,
        open: price(ohlc[0], "open")?,
        high: price(ohlc[1], "high")?,
        low: price(ohlc[2], "low")?,
        close: price(ohlc[3], "close")?,
        volume: volume.and_then(volume_of).unwrap_or(0),
    };
    super::source::check_bar(&bar).map_err(|e| e.0)?;
    Ok(bar)
}

/// A volume: a whole or decimal non-negative number, fraction dropped.
pub fn volume_of(json: &Json) -> Option<u64> {
    let text = json.num_text()?;
    let whole = text.split(['.', 'e', 'E']).next()?;
    if text.contains(['e', 'E']) {
        return None;
    }
    whole.parse().ok()
}

/// What one GET gave.
pub struct Answer {
    /// The HTTP status.
    pub status: i32,
    /// Retry-After in seconds, when sent.
    pub retry_after: Option<Duration>,
    /// The body as text.
    pub body: String,
}

/// Sends `request` within `timeout` and reading at most `max_bytes`. An
/// error here is a transport failure (worth retrying).
pub fn get(request: &Request, timeout: Duration, max_bytes: usize) -> Result<Answer, String> {
    let timeout_secs = (timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0)).max(1);
    let mut req = minreq::get(&request.url)
        .with_timeout(timeout_secs)
        .with_max_redirects(5)
        .with_max_headers_size(64 * 1024)
        .with_max_status_line_length(1024);
    for (name, value) in &request.headers {
        req = req.with_header(*name, value);
    }
    let response = req.send_lazy().map_err(|err| err.to_string())?;
    let status = response.status_code;
    let retry_after = response
        .headers
        .get("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(3600)));
    let length = response
        .headers
        .get("content-length")
        .and_then(|v| v.trim().parse::<usize>().ok());
    if length.is_some_and(|n| n > max_bytes) {
        return Err(format!("response exceeds {max_bytes} bytes"));
    }
    let mut bytes = Vec::with_capacity(length.unwrap_or(0).min(max_bytes));
    for item in response {
        let (byte, _) = item.map_err(|err| err.to_string())?;
        if bytes.len() == max_bytes {
            return Err(format!("response exceeds {max_bytes} bytes"));
        }
        bytes.push(byte);
    }
    if length.is_some_and(|n| bytes.len() < n) {
        return Err(format!(
            "response truncated at {} of {} bytes",
            bytes.len(),
            length.unwrap_or(0)
        ));
    }
    let body = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    };
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let j = |s: &str| Json::parse(s).expect("json");
        assert_eq!(price(&j("\"1.5\""), "p"), Ok(Money(15_000)));
        assert_eq!(price(&j("0"), "p"), Err("p 0.0000 is not positive".into()));
        assert!(price(&j("-3.2"), "p").is_err());
        assert!(price(&j("null"), "p").is_err());
        assert_eq!(volume_of(&j("12.9")), Some(12));
        assert_eq!(volume_of(&j("-1")), None);
    }
}
