//! The HTTP price source: real quotes over HTTP(S) with minreq, one
//! batched request per interval for the whole asset list, in the CSV quote
//! format of `super::source` (Stooq style). Runs on the "asset" thread,
//! which owns it; every request is bounded by a timeout and a body limit,
//! so a slow or hostile server costs one interval, never the daemon.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use papertrader_common::value::{Date, Symbol, Timestamp};

use super::source::{
    PriceSource, QUOTE_HEADER, QuoteLine, check_bar, header_matches, parse_date, parse_price,
    parse_quote_line, parse_volume,
};
use super::{Asset, Bar, SourceError, Tick};

/// Header of a daily history response.
pub const HISTORY_HEADER: &str = "Date,Open,High,Low,Close,Volume";
/// The same without Volume, as feeds send it for indices.
const HISTORY_HEADER_NO_VOLUME: &str = "Date,Open,High,Low,Close";

const MAX_REDIRECTS: usize = 5;
const MAX_HEADERS_BYTES: usize = 64 * 1024;
const MAX_STATUS_LINE: usize = 1024;
/// Longest URL repeated in a message or log line.
const SHOWN_URL: usize = 160;

/// Where and how to ask for quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Quote URL; `{symbols}` becomes the comma-joined lower-case symbols.
    pub quote_url: String,
    /// Daily history URL; `{symbol}` becomes the lower-case symbol. None:
    /// no back-fill.
    pub history_url: Option<String>,
    /// Limit on each whole request (rounded up to seconds).
    pub timeout: Duration,
    /// Largest response body accepted.
    pub max_bytes: usize,
}

/// Real quotes over HTTP(S).
pub struct HttpSource {
    config: HttpConfig,
    /// Each symbol's newest day seen and its cumulative volume that day,
    /// to turn the feed's daily volume into per-interval volume.
    seen: HashMap<Symbol, (Date, u64)>,
}

impl HttpSource {
    /// A source that asks `config.quote_url` once per `fetch`.
    pub fn new(config: HttpConfig) -> HttpSource {
        HttpSource {
            config,
            seen: HashMap::new(),
        }
    }

    /// Volume traded since the previous fetch: 0 the first time and when
    /// the cumulative count went down; on a newer day, all of that day's
    /// count. None for a line older than one already seen (a stale answer).
    fn volume_since(&mut self, quote: &QuoteLine) -> Option<u64> {
        let (delta, seen) = match self.seen.get(&quote.symbol) {
            None => (0, (quote.date, quote.volume)),
            Some(&(date, _)) if quote.date > date => (quote.volume, (quote.date, quote.volume)),
            Some(&(date, volume)) if quote.date == date => (
                quote.volume.saturating_sub(volume),
                (date, volume.max(quote.volume)),
            ),
            Some(_) => return None,
        };
        self.seen.insert(quote.symbol.clone(), seen);
        Some(delta)
    }
}

impl PriceSource for HttpSource {
    fn name(&self) -> &'static str {
        "http"
    }

    /// open = high = low = close = the line's Close: the feed's OHLC are
    /// the day's, not the interval's.
    fn fetch(&mut self, assets: &[Asset], now: Timestamp) -> Result<Vec<Tick>, SourceError> {
        if assets.is_empty() {
            return Ok(Vec::new());
        }
        let symbols: Vec<String> = assets.iter().map(|a| url_symbol(&a.symbol)).collect();
        let url = self
            .config
            .quote_url
            .replace("{symbols}", &symbols.join(","));
        let body = get(&url, &self.config)?;
        let wanted: HashSet<&Symbol> = assets.iter().map(|a| &a.symbol).collect();
        let mut done = HashSet::new();
        let mut bad = BadLines::default();
        let mut ticks = Vec::new();
        for (number, line, partial) in body.data_lines(&[QUOTE_HEADER])? {
            let quote = match parse_quote_line(line) {
                Ok(Some(quote)) => quote,
                Ok(None) => continue,
                Err(_) if partial => continue,
                Err(err) => {
                    bad.add(number, err);
                    continue;
                }
            };
            if !wanted.contains(&quote.symbol) || !done.insert(quote.symbol.clone()) {
                continue;
            }
            let Some(volume) = self.volume_since(&quote) else {
                continue;
            };
            let close = quote.close;
            let bar = Bar {
                time: now,
                open: close,
                high: close,
                low: close,
                close,
                volume,
            };
            ticks.push(Tick {
                symbol: quote.symbol,
                bar,
            });
        }
        bad.warn(&body.shown_url);
        Ok(ticks)
    }

    /// Bars dated from `today - days` to the day before `today`, oldest
    /// first. A truncated response is an error: a back-fill is stored for
    /// good, so it must be whole.
    fn history(&mut self, asset: &Asset, days: u32, today: Date) -> Result<Vec<Bar>, SourceError> {
        let Some(template) = &self.config.history_url else {
            return Ok(Vec::new());
        };
        let url = template.replace("{symbol}", &url_symbol(&asset.symbol));
        let body = get(&url, &self.config)?;
        if let Some((got, expected)) = body.truncated {
            let shown = &body.shown_url;
            return Err(SourceError(format!(
                "GET {shown}: response truncated at {got} of {expected} bytes"
            )));
        }
        let first = today
            .0
            .checked_sub(time::Duration::days(days.into()))
            .unwrap_or(time::Date::MIN);
        let mut bad = BadLines::default();
        let mut bars = Vec::new();
        for (number, line, partial) in
            body.data_lines(&[HISTORY_HEADER, HISTORY_HEADER_NO_VOLUME])?
        {
            match parse_daily_line(line) {
                Ok(Some((date, bar))) if (first..today.0).contains(&date.0) => bars.push(bar),
                Ok(_) => {}
                Err(_) if partial => {}
                Err(err) => bad.add(number, err),
            }
        }
        bad.warn(&body.shown_url);
        bars.sort_by_key(|bar| bar.time);
        bars.dedup_by_key(|bar| bar.time);
        Ok(bars)
    }
}

/// Parses `Date,Open,High,Low,Close[,Volume]`; Ok(None) for `N/D`.
fn parse_daily_line(line: &str) -> Result<Option<(Date, Bar)>, SourceError> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    if !(5..=6).contains(&fields.len()) {
        return Err(SourceError(format!(
            "expected 6 fields ({HISTORY_HEADER}), found {}",
            fields.len()
        )));
    }
    if fields.iter().any(|f| f.eq_ignore_ascii_case("N/D")) {
        return Ok(None);
    }
    let date = parse_date(fields[0])?;
    let bar = Bar {
        time: date.start(),
        open: parse_price(fields[1])?,
        high: parse_price(fields[2])?,
        low: parse_price(fields[3])?,
        close: parse_price(fields[4])?,
        volume: fields.get(5).map_or(Ok(0), |v| parse_volume(v))?,
    };
    check_bar(&bar)?;
    Ok(Some((date, bar)))
}

/// Malformed lines of one response, reported in one log line.
#[derive(Default)]
struct BadLines {
    count: usize,
    first: Option<(usize, SourceError)>,
}

impl BadLines {
    fn add(&mut self, number: usize, err: SourceError) {
        self.count += 1;
        self.first.get_or_insert((number, err));
    }

    fn warn(&self, shown_url: &str) {
        if let Some((number, err)) = &self.first {
            let count = self.count;
            papertrader_common::warn!(
                "GET {shown_url}: skipped {count} malformed lines; line {number}: {err}"
            );
        }
    }
}

/// A response body.
struct Body {
    text: String,
    /// (bytes received, Content-Length) when the server closed early.
    truncated: Option<(usize, usize)>,
    shown_url: String,
}

impl Body {
    /// After checking the header against `headers`: each non-blank line
    /// with its line number and whether it may be cut short (the last line
    /// without a newline; callers drop it rather than count it as bad).
    fn data_lines(&self, headers: &[&str]) -> Result<Vec<(usize, &str, bool)>, SourceError> {
        let mut lines = self.text.lines();
        let header = lines.next().unwrap_or("");
        if !headers.iter().any(|h| header_matches(header, h)) {
            let shown: String = header.chars().take(60).collect();
            return Err(SourceError(format!(
                "GET {}: expected the header {:?}, found {shown:?}",
                self.shown_url, headers[0]
            )));
        }
        let last_cut = !self.text.ends_with('\n');
        let mut data: Vec<(usize, &str, bool)> = lines
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| (index + 2, line, false))
            .collect();
        if let Some(last) = data.last_mut() {
            last.2 = last_cut;
            if last_cut && self.truncated.is_some() {
                // Known to be cut: it may even parse, with wrong numbers.
                data.pop();
            }
        }
        Ok(data)
    }
}

/// GETs `url` within the configured time and size limits.
fn get(url: &str, config: &HttpConfig) -> Result<Body, SourceError> {
    let shown_url = shown_url(url);
    let fail = |what: String| SourceError(format!("GET {shown_url}: {what}"));
    let timeout = config.timeout;
    let timeout_secs = (timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0)).max(1);
    let response = minreq::get(url)
        .with_header(
            "User-Agent",
            concat!("papertrader/", env!("CARGO_PKG_VERSION")),
        )
        .with_timeout(timeout_secs)
        .with_max_redirects(MAX_REDIRECTS)
        .with_max_headers_size(MAX_HEADERS_BYTES)
        .with_max_status_line_length(MAX_STATUS_LINE)
        .send_lazy()
        .map_err(|err| fail(err.to_string()))?;
    if response.status_code != 200 {
        let reason: String = response.reason_phrase.trim().chars().take(60).collect();
        return Err(fail(format!(
            "HTTP status {} {reason}",
            response.status_code
        )));
    }
    let max = config.max_bytes;
    let exceeds = || fail(format!("response exceeds {max} bytes"));
    let length = response
        .headers
        .get("content-length")
        .and_then(|v| v.trim().parse().ok());
    if length.is_some_and(|n: usize| n > max) {
        return Err(exceeds());
    }
    let mut bytes = Vec::with_capacity(length.unwrap_or(0).min(max));
    for item in response {
        let (byte, _) = item.map_err(|err| fail(err.to_string()))?;
        if bytes.len() == max {
            return Err(exceeds());
        }
        bytes.push(byte);
    }
    let truncated = length
        .filter(|n| bytes.len() < *n)
        .map(|n| (bytes.len(), n));
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    };
    Ok(Body {
        text,
        truncated,
        shown_url,
    })
}

/// The symbol for a URL: lower-case, `^` and `=` percent-encoded (the
/// other symbol characters are URL-safe).
fn url_symbol(symbol: &Symbol) -> String {
    symbol
        .as_str()
        .to_ascii_lowercase()
        .replace('^', "%5E")
        .replace('=', "%3D")
}

/// `url` fit for logs: credentials and key-like query values hidden (quote
/// services take API keys in the query), shortened.
pub(crate) fn shown_url(url: &str) -> String {
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
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::thread;
    use std::time::Instant;

    use papertrader_common::value::Money;

    use super::*;

    /// What the test server does with one connection.
    enum Reply {
        /// Writes these bytes, then closes.
        Bytes(Vec<u8>),
        /// Never answers; waits (at most 5 s) for the client to give up.
        Silence,
    }

    /// Serves one reply per connection, in order, on 127.0.0.1:0. Returns
    /// the base URL and a receiver of each request's first line.
    fn serve(replies: Vec<Reply>) -> (String, mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for reply in replies {
                let Ok((mut conn, _)) = listener.accept() else {
                    return;
                };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut request = Vec::new();
                let mut buf = [0; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request);
                let _ = tx.send(text.lines().next().unwrap_or("").to_string());
                match reply {
                    // Errors are the client hanging up early, as it should
                    // on a huge body.
                    Reply::Bytes(bytes) => drop(conn.write_all(&bytes)),
                    Reply::Silence => drop(conn.read(&mut buf)),
                }
            }
        });
        (base, rx)
    }

    fn ok(body: &str) -> Reply {
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
        Reply::Bytes(format!("{head}{body}").into_bytes())
    }

    fn request_line(rx: &mpsc::Receiver<String>) -> String {
        rx.recv_timeout(Duration::from_secs(5)).expect("a request")
    }

    fn source(base: &str) -> HttpSource {
        HttpSource::new(HttpConfig {
            quote_url: format!("{base}/q/l/?s={{symbols}}&f=sd2t2ohlcv&h&e=csv"),
            history_url: Some(format!("{base}/q/d/l/?s={{symbol}}&i=d")),
            timeout: Duration::from_secs(2),
            max_bytes: 64 * 1024,
        })
    }

    fn assets(symbols: &[&str]) -> Vec<Asset> {
        let asset = |s: &&str| Asset {
            symbol: Symbol::parse(s).expect("symbol"),
            name: s.to_string(),
        };
        symbols.iter().map(asset).collect()
    }

    fn money(text: &str) -> Money {
        Money::parse(text).expect("money")
    }

    /// (symbol, close, volume) of each tick, checking the rest of the bar.
    fn summary(ticks: &[Tick], now: Timestamp) -> Vec<(String, Money, u64)> {
        let summary = |t: &Tick| {
            let b = t.bar;
            assert_eq!(
                (b.time, b.open, b.high, b.low),
                (now, b.close, b.close, b.close)
            );
            (t.symbol.to_string(), b.close, b.volume)
        };
        ticks.iter().map(summary).collect()
    }

    const HEADER: &str = "Symbol,Date,Time,Open,High,Low,Close,Volume\r\n";

    #[test]
    fn quotes_map_symbols_and_count_volume_since_last_fetch() {
        let first = "AAPL,2024-11-21,22:00:09,189.5,191.2,188.1,190.12345,53200000\r\n\
                     msft,2024-11-21,22:00:09,410,415,409,414.25,20000000\r\n\
                     ^SPX,2024-11-21,22:00:09,5900,5950,5890,5948.71,\r\n\
                     XYZ,2024-11-21,22:00:09,1,1,1,1,1\r\n";
        let second = "AAPL,2024-11-21,22:01:09,189.5,191.2,188.1,190.2,53300000\r\n\
                      MSFT,2024-11-22,15:30:00,414,416,413,415,1500000\r\n\
                      ^SPX,2024-11-20,22:00:09,5900,5950,5890,5000,9\r\n";
        let third = "AAPL,2024-11-21,22:02:09,189.5,191.2,188.1,190.3,53000000\r\n";
        let replies = [first, second, third].map(|b| ok(&format!("{HEADER}{b}")));
        let (base, rx) = serve(replies.into());
        let mut http = source(&base);
        let list = assets(&["AAPL", "MSFT", "^SPX", "BRK.B"]);

        let ticks = http.fetch(&list, Timestamp(100)).expect("first fetch");
        let line = request_line(&rx);
        assert_eq!(
            line,
            "GET /q/l/?s=aapl,msft,%5Espx,brk.b&f=sd2t2ohlcv&h&e=csv HTTP/1.1"
        );
        assert_eq!(
            summary(&ticks, Timestamp(100)),
            [
                ("AAPL".to_string(), money("190.1235"), 0),
                ("MSFT".to_string(), money("414.25"), 0),
                ("^SPX".to_string(), money("5948.71"), 0),
            ]
        );
        let ticks = http.fetch(&list, Timestamp(160)).expect("second fetch");
        assert_eq!(
            summary(&ticks, Timestamp(160)),
            [
                ("AAPL".to_string(), money("190.2"), 100_000),
                ("MSFT".to_string(), money("415"), 1_500_000),
            ],
            "a new day's volume is all new; an older day's line is stale"
        );
        let ticks = http.fetch(&list, Timestamp(220)).expect("third fetch");
        assert_eq!(
            summary(&ticks, Timestamp(220)),
            [("AAPL".to_string(), money("190.3"), 0)]
        );
    }

    #[test]
    fn no_data_and_malformed_lines_leave_only_their_asset_out() {
        let body = "AAPL.US,N/D,N/D,N/D,N/D,N/D,N/D,N/D\n\
                    KO,2024-11-21,,62,63,61,x,100\n\
                    MSFT,2024-11-21,,410,415,409,414.25,2000\n\
                    short,line\n";
        let (base, _rx) = serve(vec![ok(&format!("{HEADER}{body}"))]);
        let ticks = source(&base).fetch(&assets(&["AAPL.US", "KO", "MSFT"]), Timestamp(5));
        let ticks = ticks.expect("fetch");
        assert_eq!(
            summary(&ticks, Timestamp(5)),
            [("MSFT".to_string(), money("414.25"), 0)]
        );
    }

    #[test]
    fn wrong_header_is_an_error() {
        let (base, _rx) = serve(vec![ok("<html>rate limited</html>\n")]);
        let err = source(&base)
            .fetch(&assets(&["AAPL"]), Timestamp(5))
            .expect_err("no header");
        let expected =
            format!("expected the header {QUOTE_HEADER:?}, found \"<html>rate limited</html>\"");
        assert!(err.0.ends_with(&expected), "{err}");
    }

    #[test]
    fn status_500_is_an_error() {
        let reply = Reply::Bytes(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".to_vec(),
        );
        let (base, _rx) = serve(vec![reply]);
        let err = source(&base)
            .fetch(&assets(&["AAPL"]), Timestamp(5))
            .expect_err("500");
        let url = format!("{base}/q/l/?s=aapl&f=sd2t2ohlcv&h&e=csv");
        assert_eq!(
            err.0,
            format!("GET {url}: HTTP status 500 Internal Server Error")
        );
    }

    #[test]
    fn silent_server_times_out() {
        let (base, _rx) = serve(vec![Reply::Silence]);
        let mut http = source(&base);
        http.config.timeout = Duration::from_secs(1);
        let start = Instant::now();
        let err = http
            .fetch(&assets(&["AAPL"]), Timestamp(5))
            .expect_err("timeout");
        let elapsed = start.elapsed();
        assert!(
            elapsed < Duration::from_millis(2500),
            "took {elapsed:?}: {err}"
        );
        assert!(err.0.starts_with(&format!("GET {base}/q/l/")), "{err}");
    }

    #[test]
    fn truncated_body_keeps_complete_lines_only() {
        let body = format!(
            "{HEADER}AAPL,2024-11-21,,1,2,1,1.5,100\r\nMSFT,2024-11-21,,410,415,409,414.25,20"
        );
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            body.len() + 500
        );
        let cut = Reply::Bytes(format!("{head}{body}").into_bytes());
        let history = "Date,Open,High,Low,Close,Volume\n2024-11-20,1,2,1,1.5,100\n2024-11";
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            history.len() + 500
        );
        let cut_history = Reply::Bytes(format!("{head}{history}").into_bytes());
        let (base, _rx) = serve(vec![cut, cut_history]);
        let mut http = source(&base);
        let list = assets(&["AAPL", "MSFT"]);
        let ticks = http.fetch(&list, Timestamp(5)).expect("complete lines");
        assert_eq!(
            summary(&ticks, Timestamp(5)),
            [("AAPL".to_string(), money("1.5"), 0)]
        );
        let today = Date::parse("2024-11-25").expect("date");
        let err = http
            .history(&list[0], 30, today)
            .expect_err("truncated history");
        assert!(
            err.0.ends_with(&format!(
                "response truncated at {} of {} bytes",
                history.len(),
                history.len() + 500
            )),
            "{err}"
        );
    }

    #[test]
    fn cut_last_line_without_length_is_dropped() {
        let body = format!("{HEADER}AAPL,2024-11-21,,1,2,1,1.5,100\nMSFT,2024-11-21,,410,41");
        let (base, _rx) = serve(vec![Reply::Bytes(
            format!("HTTP/1.1 200 OK\r\n\r\n{body}").into_bytes(),
        )]);
        let ticks = source(&base)
            .fetch(&assets(&["AAPL", "MSFT"]), Timestamp(5))
            .expect("fetch");
        assert_eq!(
            summary(&ticks, Timestamp(5)),
            [("AAPL".to_string(), money("1.5"), 0)]
        );
    }

    #[test]
    fn huge_body_is_refused() {
        let line = "AAPL,2024-11-21,22:00:09,189.5,191.2,188.1,190.12,53200000\n";
        let body = format!("{HEADER}{}", line.repeat(2 * 1024 * 1024 / line.len()));
        let streamed = Reply::Bytes(format!("HTTP/1.1 200 OK\r\n\r\n{body}").into_bytes());
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
        let announced = Reply::Bytes(format!("{head}{body}").into_bytes());
        let (base, _rx) = serve(vec![streamed, announced]);
        let mut http = source(&base);
        for _ in 0..2 {
            let start = Instant::now();
            let err = http
                .fetch(&assets(&["AAPL"]), Timestamp(5))
                .expect_err("too big");
            assert!(err.0.ends_with(": response exceeds 65536 bytes"), "{err}");
            assert!(start.elapsed() < Duration::from_secs(3));
        }
    }

    #[test]
    fn history_keeps_the_days_before_today() {
        let body = "Date,Open,High,Low,Close,Volume\r\n\
                    2024-11-19,1,2,1,1.5,100\r\n\
                    2024-11-20,1.5,2,1,1.75,200\r\n\
                    2024-11-21,N/D,N/D,N/D,N/D,N/D\r\n\
                    2024-11-22,1.75,3,1.5,2.12345,300.0\r\n\
                    2024-11-23,1,x,1,1,1\r\n\
                    2024-11-24,2,3,1,9,1\r\n\
                    2024-11-25,2,3,1,2.5,400\r\n";
        let index = "Date,Open,High,Low,Close\n2024-11-22,5900,5950,5890,5948.71\n";
        let (base, rx) = serve(vec![ok(body), ok(index)]);
        let mut http = source(&base);
        let today = Date::parse("2024-11-25").expect("date");
        let bars = http
            .history(&assets(&["BRK.B"])[0], 5, today)
            .expect("history");
        assert_eq!(request_line(&rx), "GET /q/d/l/?s=brk.b&i=d HTTP/1.1");
        let day = |d: &str| Date::parse(d).expect("date").start();
        let bar = |d, o, h, l, c, volume| Bar {
            time: day(d),
            open: money(o),
            high: money(h),
            low: money(l),
            close: money(c),
            volume,
        };
        assert_eq!(
            bars,
            [
                bar("2024-11-20", "1.5", "2", "1", "1.75", 200),
                bar("2024-11-22", "1.75", "3", "1.5", "2.1235", 300),
            ]
        );
        let bars = http
            .history(&assets(&["^SPX"])[0], 5, today)
            .expect("index history");
        assert_eq!(request_line(&rx), "GET /q/d/l/?s=%5Espx&i=d HTTP/1.1");
        assert_eq!(
            bars,
            [bar("2024-11-22", "5900", "5950", "5890", "5948.71", 0)]
        );
    }

    #[test]
    fn no_request_without_url_or_assets() {
        let mut http = source("http://127.0.0.1:1");
        http.config.history_url = None;
        let today = Date::parse("2024-11-25").expect("date");
        assert_eq!(
            http.history(&assets(&["AAPL"])[0], 5, today),
            Ok(Vec::new())
        );
        assert_eq!(http.fetch(&[], Timestamp(5)), Ok(Vec::new()));
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
