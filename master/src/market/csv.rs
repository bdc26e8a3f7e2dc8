//! CSV replay (`price_source = csv`), a [`Provider`] that replays the bars
//! of a file, for demonstrations and deterministic tests, and the CSV
//! quote-line format (Stooq style) that it shares with the HTTP quote
//! service (`super::http`). The file is read whole on the main thread
//! before the master starts; the "asset" thread then polls the replay
//! once per update. The daily history format of the HTTP quote service
//! is here too.

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use papertrader_common::value::{Date, Money, SCALE, Symbol, Timestamp};

use super::Bar;
use super::error::{Context, FeedError};
use super::provider::{History, HistoryJob, Provider, Update, check_bar};

/// Header of the quote format, compared case-insensitively.
pub const QUOTE_HEADER: &str = "Symbol,Date,Time,Open,High,Low,Close,Volume";

/// Header of a daily history response.
pub const HISTORY_HEADER: &str = "Date,Open,High,Low,Close,Volume";
/// The same without Volume, as feeds send it for indices.
pub const HISTORY_HEADER_NO_VOLUME: &str = "Date,Open,High,Low,Close";

/// A field value meaning "no data" (the whole line is then skipped).
const NO_DATA: &str = "N/D";

/// One parsed line of the quote format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteLine {
    /// The symbol as the line spells it, upper-cased.
    pub symbol: Symbol,
    /// The trading day the prices belong to.
    pub date: Date,
    /// Seconds after midnight of the last trade, when given (the feed's
    /// local time; informational only).
    pub time_of_day: Option<u32>,
    /// First price of the day.
    pub open: Money,
    /// Highest price of the day.
    pub high: Money,
    /// Lowest price of the day.
    pub low: Money,
    /// Last price.
    pub close: Money,
    /// Shares traded so far (cumulative for the day in a live feed).
    pub volume: u64,
}

impl QuoteLine {
    /// The line's OHLCV as a bar starting at `time`.
    pub fn bar(&self, time: Timestamp) -> Bar {
        Bar {
            time,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: self.volume,
        }
    }
}

/// Parses `Symbol,Date,Time,Open,High,Low,Close,Volume`. Ok(None) when a
/// field other than Symbol is `N/D` (no data, not an error). The error
/// names the bad field but not the line's location: callers add it.
pub fn parse_quote_line(line: &str) -> Result<Option<QuoteLine>, FeedError> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    if fields.len() != 8 {
        return Err(field_count(8, QUOTE_HEADER, fields.len()));
    }
    let symbol = Symbol::parse(fields[0])?;
    if fields[1..].iter().any(|f| f.eq_ignore_ascii_case(NO_DATA)) {
        return Ok(None);
    }
    Ok(Some(QuoteLine {
        symbol,
        date: parse_date(fields[1])?,
        time_of_day: parse_time_of_day(fields[2])?,
        open: parse_price(fields[3])?,
        high: parse_price(fields[4])?,
        low: parse_price(fields[5])?,
        close: parse_price(fields[6])?,
        volume: parse_volume(fields[7])?,
    }))
}

/// Parses `Date,Open,High,Low,Close[,Volume]`; Ok(None) for `N/D`.
pub fn parse_daily_line(line: &str) -> Result<Option<(Date, Bar)>, FeedError> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    if !(5..=6).contains(&fields.len()) {
        return Err(field_count(6, HISTORY_HEADER, fields.len()));
    }
    if fields.iter().any(|f| f.eq_ignore_ascii_case(NO_DATA)) {
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

/// A line with `found` fields where `expected` were, as in `header`.
fn field_count(expected: usize, header: &str, found: usize) -> FeedError {
    FeedError::said(format!(
        "expected {expected} fields ({header}), found {found}"
    ))
}

/// True if `line` is the header `expected` (case and spaces around
/// commas ignored, a UTF-8 byte order mark allowed).
pub fn header_matches(line: &str, expected: &str) -> bool {
    let line = line.trim_start_matches('\u{feff}');
    let mut got = line.split(',').map(str::trim);
    let mut want = expected.split(',');
    loop {
        match (got.next(), want.next()) {
            (None, None) => return true,
            (Some(g), Some(w)) if g.eq_ignore_ascii_case(w) => {}
            _ => return false,
        }
    }
}

/// A positive decimal price. More than 4 fraction digits are rounded half
/// away from zero (real feeds send `189.12345`); no sign, no exponent.
pub fn parse_price(text: &str) -> Result<Money, FeedError> {
    let bad = || {
        FeedError::said(format!(
            "price {text:?}: expected a positive decimal like 189.12"
        ))
    };
    let (whole, frac) = match text.split_once('.') {
        Some((_, "")) => return Err(bad()),
        Some((whole, frac)) => (whole, frac),
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    // 12 whole digits keep `whole * SCALE` far from i64 overflow.
    if whole.is_empty() || whole.len() > 12 || !digits(whole) || !digits(frac) {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac = frac.as_bytes();
    let mut units = 0i64;
    for i in 0..4 {
        units = units * 10 + frac.get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    if frac.get(4).is_some_and(|d| *d >= b'5') {
        units += 1;
    }
    match whole * SCALE + units {
        0 => Err(bad()),
        raw => Ok(Money(raw)),
    }
}

/// A share count: digits, a fraction is truncated; empty means 0 (feeds
/// leave it empty for indices).
pub fn parse_volume(text: &str) -> Result<u64, FeedError> {
    let bad = || {
        FeedError::said(format!(
            "volume {text:?}: expected a whole number of shares"
        ))
    };
    if text.is_empty() {
        return Ok(0);
    }
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) {
        return Err(bad());
    }
    whole.parse().map_err(|_| bad())
}

/// A day as `YYYY-MM-DD` or `YYYYMMDD`.
pub fn parse_date(text: &str) -> Result<Date, FeedError> {
    let dashed;
    let text_ok = if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
        dashed = format!("{}-{}-{}", &text[..4], &text[4..6], &text[6..]);
        &dashed
    } else {
        text
    };
    Ok(Date::parse(text_ok)?)
}

/// Empty, or `HH:MM:SS`, as seconds after midnight.
fn parse_time_of_day(text: &str) -> Result<Option<u32>, FeedError> {
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || FeedError::said(format!("time {text:?}: expected HH:MM:SS or nothing"));
    let b = text.as_bytes();
    let shape_ok = b.len() == 8
        && b[2] == b':'
        && b[5] == b':'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit());
    if !shape_ok {
        return Err(bad());
    }
    let part = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    let (h, m, s) = (part(0), part(3), part(6));
    if h > 23 || m > 59 || s > 60 {
        return Err(bad());
    }
    Ok(Some(h * 3600 + m * 60 + s))
}

/// Replays OHLCV bars from a CSV file: at every poll, each of its assets
/// takes its next bar, timed at the update. It has no history.
pub struct Replay {
    /// Each symbol's bars not yet replayed, in file order (`time` unused).
    bars: HashMap<Symbol, VecDeque<Bar>>,
    /// The assets it prices.
    symbols: Vec<Symbol>,
    /// History answers for the next poll.
    answers: Vec<Update>,
}

impl Replay {
    /// Reads the whole file (format of [`Replay::parse`]).
    pub fn load(path: &Path) -> Result<Replay, FeedError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|err| FeedError::said(format!("{file}: cannot read: {err}")))?;
        Replay::parse(&text, &file)
    }

    /// Header [`QUOTE_HEADER`], one bar per line; blank and `N/D` lines are
    /// skipped. Errors name `file`:LINE.
    pub fn parse(text: &str, file: &str) -> Result<Replay, FeedError> {
        let mut lines = text.lines().enumerate();
        let at = |line: usize| Context::Line {
            file: file.to_string(),
            line,
        };
        match lines.next() {
            Some((_, line)) if header_matches(line, QUOTE_HEADER) => {}
            found => {
                let found = found.map(|(_, line)| line.to_string());
                let header = FeedError::Header {
                    expected: QUOTE_HEADER,
                    found,
                };
                return Err(header.within(at(1)));
            }
        }
        let mut bars: HashMap<Symbol, VecDeque<Bar>> = HashMap::new();
        for (index, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let bad = |err: FeedError| err.within(at(index + 1));
            let Some(quote) = parse_quote_line(line).map_err(bad)? else {
                continue;
            };
            let bar = quote.bar(quote.date.start());
            check_bar(&bar).map_err(bad)?;
            bars.entry(quote.symbol).or_default().push_back(bar);
        }
        if bars.is_empty() {
            return Err(FeedError::said(format!("{file}: no bars after the header")));
        }
        Ok(Replay {
            bars,
            symbols: Vec::new(),
            answers: Vec::new(),
        })
    }
}

impl Provider for Replay {
    fn name(&self) -> &'static str {
        "csv"
    }

    fn set_symbols(&mut self, symbols: Vec<(Symbol, String)>) {
        self.symbols = symbols.into_iter().map(|(symbol, _)| symbol).collect();
    }

    /// The file's dates are not used, so there is no history to give.
    fn ask_history(&mut self, job: HistoryJob) {
        let none = Ok(History::default());
        self.answers.push(Update::History(job.symbol, none));
    }

    /// A symbol whose lines are used up (or that has none) gets nothing.
    fn poll(&mut self, now: Timestamp) -> Vec<Update> {
        let mut out = std::mem::take(&mut self.answers);
        for symbol in &self.symbols {
            if let Some(bar) = self.bars.get_mut(symbol).and_then(VecDeque::pop_front) {
                out.push(Update::Price(symbol.clone(), Bar { time: now, ..bar }));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Date {
        Date::parse(text).expect("date")
    }

    #[test]
    fn prices_round_half_away_from_zero() {
        let price = |s| {
            parse_price(s)
                .map(|m| m.to_string())
                .map_err(|e| e.to_string())
        };
        assert_eq!(price("189.12345"), Ok("189.1235".to_string()));
        assert_eq!(price("189.12344999"), Ok("189.1234".to_string()));
        assert_eq!(price("189.99995"), Ok("190.0000".to_string()));
        assert_eq!(price("0.00005"), Ok("0.0001".to_string()));
        assert_eq!(price("189.5"), Ok("189.5000".to_string()));
        assert_eq!(price("42"), Ok("42.0000".to_string()));
        for bad in [
            "", "+1", "-1", ".5", "5.", "1e3", "1,5", "0", "0.00004", "1.2.3",
        ] {
            assert!(parse_price(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(parse_volume("53200000"), Ok(53_200_000));
        assert_eq!(parse_volume("53200000.75"), Ok(53_200_000));
        assert!(parse_volume("-1").is_err());
    }

    #[test]
    fn quote_lines() {
        let line = "AAPL.US,2024-11-21,22:00:09,189.5,191.2,188.1,190.12345,53200000";
        let quote = parse_quote_line(line).expect("ok").expect("data");
        assert_eq!(quote.symbol.as_str(), "AAPL.US");
        assert_eq!(quote.date, day("2024-11-21"));
        assert_eq!(quote.time_of_day, Some(79_209));
        assert_eq!(quote.close, Money(1_901_235));
        assert_eq!(quote.volume, 53_200_000);
        let nd = "AAPL.US,N/D,N/D,N/D,N/D,N/D,N/D,N/D";
        assert_eq!(parse_quote_line(nd), Ok(None));
        assert_eq!(parse_quote_line("X,20241121,,1,1,1,1,n/d"), Ok(None));
        let err = parse_quote_line("AAPL,2024-11-21,,1,2,1,x,5").expect_err("bad close");
        assert_eq!(
            err.to_string(),
            "price \"x\": expected a positive decimal like 189.12"
        );
        let err = parse_quote_line("BAD$,2024-11-21,,1,1,1,1,5").expect_err("bad symbol");
        assert!(matches!(err, FeedError::Value(_)), "{err:?}");
    }

    const CSV: &str = "\
Symbol,Date,Time,Open,High,Low,Close,Volume
AAPL,2024-11-20,,188.0,190.0,187.5,189.5,1000
msft,2024-11-20,16:00:00,410,415,409,414.25,2000
AAPL,2024-11-21,,189.5,191.0,189.0,190.0,1500
AAPL,N/D,N/D,N/D,N/D,N/D,N/D,N/D

AAPL,2024-11-22,,190.0,190.0,185.0,186.0,900
";

    #[test]
    fn csv_replays_the_file_then_nothing() {
        let mut csv = Replay::parse(CSV, "demo.csv").expect("parses");
        let symbols = ["AAPL", "MSFT", "AAPL.US"];
        let pairs = symbols.map(|s| (Symbol::parse(s).expect("symbol"), s.to_string()));
        csv.set_symbols(pairs.into());
        let price = |symbol: &str, t, o, h, l, c, v| {
            let bar = Bar {
                time: Timestamp(t),
                open: Money::parse(o).expect("o"),
                high: Money::parse(h).expect("h"),
                low: Money::parse(l).expect("l"),
                close: Money::parse(c).expect("c"),
                volume: v,
            };
            Update::Price(Symbol::parse(symbol).expect("symbol"), bar)
        };
        assert_eq!(
            csv.poll(Timestamp(100)),
            [
                price("AAPL", 100, "188", "190", "187.5", "189.5", 1000),
                price("MSFT", 100, "410", "415", "409", "414.25", 2000),
            ]
        );
        let second = price("AAPL", 102, "189.5", "191", "189", "190", 1500);
        assert_eq!(csv.poll(Timestamp(102)), [second]);
        let third = price("AAPL", 104, "190", "190", "185", "186", 900);
        assert_eq!(csv.poll(Timestamp(104)), [third]);
        assert_eq!(csv.poll(Timestamp(106)), []);
        let aapl = Symbol::parse("AAPL").expect("symbol");
        csv.ask_history(HistoryJob {
            symbol: aapl.clone(),
            remote: "AAPL".into(),
            from: day("2024-11-15"),
            to: day("2024-11-24"),
        });
        let none = Update::History(aapl, Ok(History::default()));
        assert_eq!(csv.poll(Timestamp(108)), [none]);
    }

    #[test]
    fn csv_errors_name_file_and_line() {
        let err = |text: &str| Replay::parse(text, "demo.csv").err().map(|e| e.to_string());
        let found = "\"Date,Open,High,Low,Close\"";
        assert_eq!(
            err("Date,Open,High,Low,Close\n"),
            Some(format!(
                "demo.csv:1: expected the header {QUOTE_HEADER:?}, found {found}"
            ))
        );
        assert_eq!(
            err(""),
            Some(format!(
                "demo.csv:1: expected the header {QUOTE_HEADER:?}, found end of file"
            ))
        );
        let bad_volume =
            format!("{QUOTE_HEADER}\nA,2024-11-20,,1,1,1,1,5\nA,2024-11-21,,1,1,1,1,x\n");
        assert_eq!(
            err(&bad_volume),
            Some("demo.csv:3: volume \"x\": expected a whole number of shares".to_string())
        );
        let short = format!("{QUOTE_HEADER}\r\nA,2024-11-20,,1,1,1\r\n");
        assert_eq!(
            err(&short),
            Some(format!(
                "demo.csv:2: expected 8 fields ({QUOTE_HEADER}), found 6"
            ))
        );
        let inconsistent = format!("{QUOTE_HEADER}\nA,2024-11-20,,1,2,1,3,5\n");
        let message = err(&inconsistent).expect("error");
        assert!(message.starts_with("demo.csv:2: inconsistent bar: open 1.0000 high 2.0000"));
        let only_nd = format!("{QUOTE_HEADER}\nA,N/D,N/D,N/D,N/D,N/D,N/D,N/D\n");
        assert_eq!(
            err(&only_nd),
            Some("demo.csv: no bars after the header".to_string())
        );
    }

    #[test]
    fn csv_load_names_the_missing_file() {
        let err = Replay::load(Path::new("/nonexistent/bars.csv"))
            .err()
            .expect("no file")
            .to_string();
        assert!(
            err.starts_with("/nonexistent/bars.csv: cannot read: "),
            "{err}"
        );
    }
}
