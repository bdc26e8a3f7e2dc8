//! The CSV quote service (`price_source = http`), a [`Provider`] of real
//! quotes over HTTP(S): one batched request per update for all of its
//! assets, in the CSV quote format of `super::csv` (Stooq style), and one
//! request per asset for a back-fill. The "asset" thread polls it and
//! waits for the answer; every request is bounded by a timeout and a body
//! limit (`super::api::get`), so a slow or hostile server costs one
//! update, never the daemon.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use papertrader_common::value::{Date, Symbol, Timestamp};

use super::Bar;
use super::api::{self, Request, shown_url};
use super::csv::{
    HISTORY_HEADER, HISTORY_HEADER_NO_VOLUME, QUOTE_HEADER, QuoteLine, header_matches,
    parse_daily_line, parse_quote_line,
};
use super::error::{Context, FeedError};
use super::provider::{History, HistoryJob, Provider, Update, price_bar, sort_bars};

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
pub struct HttpQuotes {
    config: HttpConfig,
    /// The assets it prices.
    symbols: Vec<Symbol>,
    /// Each symbol's newest day seen and its cumulative volume that day,
    /// to turn the feed's daily volume into per-update volume.
    seen: HashMap<Symbol, (Date, u64)>,
    /// History answers for the next poll.
    answers: Vec<Update>,
}

impl HttpQuotes {
    /// A source that asks `config.quote_url` once per poll.
    pub fn new(config: HttpConfig) -> HttpQuotes {
        HttpQuotes {
            config,
            symbols: Vec::new(),
            seen: HashMap::new(),
            answers: Vec::new(),
        }
    }

    /// Volume traded since the previous poll: 0 the first time and when
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

    /// One GET for every asset: open = high = low = close = the line's
    /// Close, since the feed's OHLC are the day's, not the update's.
    fn quotes(&mut self, now: Timestamp) -> Result<Vec<(Symbol, Bar)>, FeedError> {
        let symbols: Vec<String> = self.symbols.iter().map(url_symbol).collect();
        let url = self
            .config
            .quote_url
            .replace("{symbols}", &symbols.join(","));
        let body = get(&url, &self.config)?;
        let wanted: HashSet<Symbol> = self.symbols.iter().cloned().collect();
        let mut done = HashSet::new();
        let mut bad = BadLines::default();
        let mut prices = Vec::new();
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
            prices.push((quote.symbol, price_bar(now, quote.close, volume)));
        }
        bad.warn(&body.shown_url);
        Ok(prices)
    }

    /// Bars dated within the job's days, oldest first. A truncated
    /// response is an error: a back-fill is stored for good, so it must be
    /// whole.
    fn history(&self, job: &HistoryJob) -> Result<Vec<Bar>, FeedError> {
        let Some(template) = &self.config.history_url else {
            return Ok(Vec::new());
        };
        let url = template.replace("{symbol}", &url_symbol(&job.symbol));
        let body = get(&url, &self.config)?;
        if let Some((got, expected)) = body.truncated {
            let truncated = FeedError::Truncated { got, expected };
            return Err(truncated.within(Context::Get(body.shown_url)));
        }
        let days = job.from.0..=job.to.0;
        let mut bad = BadLines::default();
        let mut bars = Vec::new();
        for (number, line, partial) in
            body.data_lines(&[HISTORY_HEADER, HISTORY_HEADER_NO_VOLUME])?
        {
            match parse_daily_line(line) {
                Ok(Some((date, bar))) if days.contains(&date.0) => bars.push(bar),
                Ok(_) => {}
                Err(_) if partial => {}
                Err(err) => bad.add(number, err),
            }
        }
        bad.warn(&body.shown_url);
        sort_bars(&mut bars);
        Ok(bars)
    }
}

impl Provider for HttpQuotes {
    fn name(&self) -> &'static str {
        "http"
    }

    fn set_symbols(&mut self, symbols: Vec<(Symbol, String)>) {
        self.symbols = symbols.into_iter().map(|(symbol, _)| symbol).collect();
    }

    fn ask_history(&mut self, job: HistoryJob) {
        let result = self.history(&job).map(History::of_bars);
        let result = result.map_err(|err| err.within(Context::HttpSource));
        self.answers.push(Update::History(job.symbol, result));
    }

    /// A failed request fails every asset: they keep their last prices.
    fn poll(&mut self, now: Timestamp) -> Vec<Update> {
        let mut out = std::mem::take(&mut self.answers);
        if self.symbols.is_empty() {
            return out;
        }
        match self.quotes(now) {
            Ok(prices) => out.extend(prices.into_iter().map(|(s, bar)| Update::Price(s, bar))),
            Err(err) => {
                let err = err.within(Context::HttpSource);
                papertrader_common::warn!("{err}; keeping the last prices");
                let failed = |s: &Symbol| Update::Failed(s.clone(), err.clone());
                out.extend(self.symbols.iter().map(failed));
            }
        }
        out
    }
}

/// Malformed lines of one response, reported in one log line.
#[derive(Default)]
struct BadLines {
    count: usize,
    first: Option<(usize, FeedError)>,
}

impl BadLines {
    fn add(&mut self, number: usize, err: FeedError) {
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
    fn data_lines(&self, headers: &[&'static str]) -> Result<Vec<(usize, &str, bool)>, FeedError> {
        let mut lines = self.text.lines();
        let header = lines.next().unwrap_or("");
        if !headers.iter().any(|h| header_matches(header, h)) {
            let err = FeedError::Header {
                expected: headers[0],
                found: Some(header.chars().take(60).collect()),
            };
            return Err(err.within(Context::Get(self.shown_url.clone())));
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

/// GETs `url` within the configured time and size limits; anything but
/// status 200 is an error.
fn get(url: &str, config: &HttpConfig) -> Result<Body, FeedError> {
    let shown_url = shown_url(url);
    let mut request = Request::get(url.to_string());
    request.headers.push(("User-Agent", crate::AGENT.into()));
    let in_get = |err: FeedError| err.within(Context::Get(shown_url.clone()));
    let answer = api::get(&request, config.timeout, config.max_bytes).map_err(in_get)?;
    if answer.status != 200 {
        let status = FeedError::Status {
            status: answer.status,
            reason: Some(answer.reason),
        };
        return Err(in_get(status));
    }
    Ok(Body {
        text: answer.body,
        truncated: answer.truncated,
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

    /// A 200 answer whose Content-Length announces `missing` bytes more
    /// than it sends.
    fn cut(body: &str, missing: usize) -> Reply {
        let length = body.len() + missing;
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n");
        Reply::Bytes(format!("{head}{body}").into_bytes())
    }

    fn ok(body: &str) -> Reply {
        cut(body, 0)
    }

    fn request_line(rx: &mpsc::Receiver<String>) -> String {
        rx.recv_timeout(Duration::from_secs(5)).expect("a request")
    }

    /// A source for `symbols` on the test server at `base`.
    fn source(base: &str, symbols: &[&str]) -> HttpQuotes {
        let mut http = HttpQuotes::new(HttpConfig {
            quote_url: format!("{base}/q/l/?s={{symbols}}&f=sd2t2ohlcv&h&e=csv"),
            history_url: Some(format!("{base}/q/d/l/?s={{symbol}}&i=d")),
            timeout: Duration::from_secs(2),
            max_bytes: 64 * 1024,
        });
        let pairs = symbols.iter().map(|s| (symbol(s), s.to_string()));
        http.set_symbols(pairs.collect());
        http
    }

    fn symbol(text: &str) -> Symbol {
        Symbol::parse(text).expect("symbol")
    }

    fn money(text: &str) -> Money {
        Money::parse(text).expect("money")
    }

    fn job(text: &str, days: i64, today: &str) -> HistoryJob {
        let today = Date::parse(today).expect("date").0;
        HistoryJob {
            symbol: symbol(text),
            remote: text.to_string(),
            from: Date(today - time::Duration::days(days)),
            to: Date(today - time::Duration::days(1)),
        }
    }

    /// (symbol, close, volume) of each price, checking the rest of the bar.
    fn summary(prices: &[(Symbol, Bar)], now: Timestamp) -> Vec<(String, Money, u64)> {
        let summary = |(s, b): &(Symbol, Bar)| {
            assert_eq!(
                (b.time, b.open, b.high, b.low),
                (now, b.close, b.close, b.close)
            );
            (s.to_string(), b.close, b.volume)
        };
        prices.iter().map(summary).collect()
    }

    const HEADER: &str = "Symbol,Date,Time,Open,High,Low,Close,Volume\r\n";

    #[test]
    fn quotes_map_symbols_and_count_volume_since_last_poll() {
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
        let mut http = source(&base, &["AAPL", "MSFT", "^SPX", "BRK.B"]);

        let prices = http.quotes(Timestamp(100)).expect("first poll");
        let line = request_line(&rx);
        assert_eq!(
            line,
            "GET /q/l/?s=aapl,msft,%5Espx,brk.b&f=sd2t2ohlcv&h&e=csv HTTP/1.1"
        );
        assert_eq!(
            summary(&prices, Timestamp(100)),
            [
                ("AAPL".to_string(), money("190.1235"), 0),
                ("MSFT".to_string(), money("414.25"), 0),
                ("^SPX".to_string(), money("5948.71"), 0),
            ]
        );
        let prices = http.quotes(Timestamp(160)).expect("second poll");
        assert_eq!(
            summary(&prices, Timestamp(160)),
            [
                ("AAPL".to_string(), money("190.2"), 100_000),
                ("MSFT".to_string(), money("415"), 1_500_000),
            ],
            "a new day's volume is all new; an older day's line is stale"
        );
        let prices = http.quotes(Timestamp(220)).expect("third poll");
        assert_eq!(
            summary(&prices, Timestamp(220)),
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
        let mut http = source(&base, &["AAPL.US", "KO", "MSFT"]);
        let prices = http.quotes(Timestamp(5)).expect("poll");
        assert_eq!(
            summary(&prices, Timestamp(5)),
            [("MSFT".to_string(), money("414.25"), 0)]
        );
    }

    #[test]
    fn wrong_header_is_an_error() {
        let (base, _rx) = serve(vec![ok("<html>rate limited</html>\n")]);
        let err = source(&base, &["AAPL"])
            .quotes(Timestamp(5))
            .expect_err("no header")
            .to_string();
        let expected =
            format!("expected the header {QUOTE_HEADER:?}, found \"<html>rate limited</html>\"");
        assert!(err.ends_with(&expected), "{err}");
    }

    #[test]
    fn status_500_fails_every_asset() {
        let reply = Reply::Bytes(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".to_vec(),
        );
        let (base, _rx) = serve(vec![reply]);
        let mut http = source(&base, &["AAPL", "MSFT"]);
        let url = format!("{base}/q/l/?s=aapl,msft&f=sd2t2ohlcv&h&e=csv");
        let why = format!("http source: GET {url}: HTTP status 500 Internal Server Error");
        let failed = http.poll(Timestamp(5));
        let failed: Vec<(Symbol, String)> = failed
            .into_iter()
            .map(|update| match update {
                Update::Failed(symbol, err) => (symbol, err.to_string()),
                other => panic!("not a failure: {other:?}"),
            })
            .collect();
        assert_eq!(
            failed,
            [(symbol("AAPL"), why.clone()), (symbol("MSFT"), why)]
        );
    }

    #[test]
    fn silent_server_times_out() {
        let (base, _rx) = serve(vec![Reply::Silence]);
        let mut http = source(&base, &["AAPL"]);
        http.config.timeout = Duration::from_secs(1);
        let start = Instant::now();
        let err = http.quotes(Timestamp(5)).expect_err("timeout");
        let elapsed = start.elapsed();
        assert!(
            elapsed < Duration::from_millis(2500),
            "took {elapsed:?}: {err}"
        );
        assert!(matches!(&err, FeedError::In(Context::Get(_), _)), "{err:?}");
        let err = err.to_string();
        assert!(err.starts_with(&format!("GET {base}/q/l/")), "{err}");
    }

    #[test]
    fn truncated_body_keeps_complete_lines_only() {
        let body = format!(
            "{HEADER}AAPL,2024-11-21,,1,2,1,1.5,100\r\nMSFT,2024-11-21,,410,415,409,414.25,20"
        );
        let history = "Date,Open,High,Low,Close,Volume\n2024-11-20,1,2,1,1.5,100\n2024-11";
        let (base, _rx) = serve(vec![cut(&body, 500), cut(history, 500)]);
        let mut http = source(&base, &["AAPL", "MSFT"]);
        let prices = http.quotes(Timestamp(5)).expect("complete lines");
        assert_eq!(
            summary(&prices, Timestamp(5)),
            [("AAPL".to_string(), money("1.5"), 0)]
        );
        http.ask_history(job("AAPL", 30, "2024-11-25"));
        let Update::History(_, Err(err)) = &http.answers[0] else {
            panic!("truncated history accepted: {:?}", http.answers);
        };
        assert!(
            err.to_string().ends_with(&format!(
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
        let prices = source(&base, &["AAPL", "MSFT"])
            .quotes(Timestamp(5))
            .expect("poll");
        assert_eq!(
            summary(&prices, Timestamp(5)),
            [("AAPL".to_string(), money("1.5"), 0)]
        );
    }

    #[test]
    fn huge_body_is_refused() {
        let line = "AAPL,2024-11-21,22:00:09,189.5,191.2,188.1,190.12,53200000\n";
        let body = format!("{HEADER}{}", line.repeat(2 * 1024 * 1024 / line.len()));
        let streamed = Reply::Bytes(format!("HTTP/1.1 200 OK\r\n\r\n{body}").into_bytes());
        let (base, _rx) = serve(vec![streamed, ok(&body)]);
        let mut http = source(&base, &["AAPL"]);
        for _ in 0..2 {
            let start = Instant::now();
            let err = http.quotes(Timestamp(5)).expect_err("too big").to_string();
            assert!(err.ends_with(": response exceeds 65536 bytes"), "{err}");
            assert!(start.elapsed() < Duration::from_secs(3));
        }
    }

    #[test]
    fn history_keeps_the_days_of_the_job() {
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
        let http = source(&base, &[]);
        let bars = http
            .history(&job("BRK.B", 5, "2024-11-25"))
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
        let bars = http.history(&job("^SPX", 5, "2024-11-25")).expect("index");
        assert_eq!(request_line(&rx), "GET /q/d/l/?s=%5Espx&i=d HTTP/1.1");
        assert_eq!(
            bars,
            [bar("2024-11-22", "5900", "5950", "5890", "5948.71", 0)]
        );
    }

    #[test]
    fn no_request_without_url_or_assets() {
        let mut http = source("http://127.0.0.1:1", &[]);
        http.config.history_url = None;
        http.ask_history(job("AAPL", 5, "2024-11-25"));
        let none = Update::History(symbol("AAPL"), Ok(History::default()));
        assert_eq!(http.poll(Timestamp(5)), [none]);
        assert_eq!(http.poll(Timestamp(6)), []);
    }
}
