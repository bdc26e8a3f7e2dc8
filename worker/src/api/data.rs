//! Market data in Alpaca's shapes (`/v2/stocks/...`,
//! `/v1beta3/crypto/us/...`): bars made from the master's history
//! answers (interval bars of a day, daily bars, monthly bars), gathered
//! into the timeframe asked for; latest quotes and trades from the
//! worker's quote cache. There is no order book: a quote's bid and ask
//! are both the last price, with sizes of 0.

use papertrader_common::payload::{Bar, Quote};
use papertrader_common::request::{Range, Request};
use papertrader_common::value::{Date, Money, Symbol, Timestamp, shown};
use serde_json::{Map, Value, json};

use super::Response;
use super::query::{Query, rfc3339};

/// Most history requests one bars call makes (symbols times days or
/// months).
pub const MAX_REQUESTS: usize = 200;

/// Most symbols a call names.
pub const MAX_SYMBOLS: usize = 100;

/// Most bars one page holds.
pub const MAX_LIMIT: usize = 10_000;

/// The span of a bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeframe {
    /// `n` minutes, 1-59.
    Minutes(u32),
    /// `n` hours, 1-23.
    Hours(u32),
    /// A day.
    Day,
    /// A week, from Monday.
    Week,
    /// `n` months (1, 2, 3, 6 or 12).
    Months(u32),
}

impl Timeframe {
    /// `1Min`, `5Min`, `1min`, `1T`, `1Hour`, `1H`, `1Day`, `1D`,
    /// `1Week`, `1W`, `1Month`, `1M`.
    pub fn parse(text: &str) -> Option<Timeframe> {
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        let n: u32 = if digits == 0 {
            1
        } else {
            text[..digits].parse().ok()?
        };
        let unit = &text[digits..];
        let tf = match unit {
            "Min" | "min" | "T" | "Minute" => Timeframe::Minutes(n),
            "Hour" | "H" | "h" => Timeframe::Hours(n),
            "Day" | "D" | "d" if n == 1 => Timeframe::Day,
            "Week" | "W" | "w" if n == 1 => Timeframe::Week,
            "Month" | "M" => Timeframe::Months(n),
            _ => return None,
        };
        let ok = match tf {
            Timeframe::Minutes(n) => (1..=59).contains(&n),
            Timeframe::Hours(n) => (1..=23).contains(&n),
            Timeframe::Months(n) => [1, 2, 3, 6, 12].contains(&n),
            _ => true,
        };
        ok.then_some(tf)
    }

    /// The start of the bar of this span that holds `t`.
    fn bucket(self, t: Timestamp) -> Timestamp {
        match self {
            Timeframe::Minutes(n) => Timestamp(t.0 - t.0.rem_euclid(i64::from(n) * 60)),
            Timeframe::Hours(n) => Timestamp(t.0 - t.0.rem_euclid(i64::from(n) * 3600)),
            Timeframe::Day => Date::of_timestamp(t).start(),
            Timeframe::Week => {
                let day = Date::of_timestamp(t);
                let back = i64::from(day.0.weekday().number_days_from_monday());
                Timestamp(day.start().0 - back * 86_400)
            }
            Timeframe::Months(n) => {
                let d = Date::of_timestamp(t).0;
                let month0 = (d.month() as u8 - 1) as u32 / n * n;
                let month = time::Month::try_from(month0 as u8 + 1).unwrap_or(time::Month::January);
                time::Date::from_calendar_date(d.year(), month, 1)
                    .map(|m| Date(m).start())
                    .unwrap_or(t)
            }
        }
    }
}

/// `/bars` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarsQuery {
    /// API symbols, sorted, each once.
    pub symbols: Vec<String>,
    /// The span of a bar.
    pub timeframe: Timeframe,
    /// From (inclusive).
    pub start: Timestamp,
    /// To (inclusive).
    pub end: Timestamp,
    /// Most bars in the page.
    pub limit: usize,
    /// Where the page starts: (symbol, bar time).
    pub page: Option<(String, i64)>,
    /// Newest first.
    pub descending: bool,
}

/// Reads a `/bars` query; `single` is the symbol of the path form.
pub fn bars_query(q: &Query, single: Option<&str>, now: Timestamp) -> Result<BarsQuery, Response> {
    let bad = |e: String| Response::error(400, 40010001, &e);
    let mut symbols: Vec<String> = match single {
        Some(s) => vec![s.to_string()],
        None => q.list("symbols").iter().map(|s| s.to_string()).collect(),
    };
    symbols.sort();
    symbols.dedup();
    if symbols.is_empty() {
        return Err(bad("symbols is required".into()));
    }
    if symbols.len() > MAX_SYMBOLS {
        return Err(bad(format!("at most {MAX_SYMBOLS} symbols")));
    }
    let tf_text = q
        .get("timeframe")
        .ok_or_else(|| bad("timeframe is required".into()))?;
    let timeframe = Timeframe::parse(tf_text)
        .ok_or_else(|| bad(format!("invalid timeframe {}", shown(tf_text))))?;
    let end = q.time("end").map_err(bad)?.unwrap_or(now).min(now);
    let start = q
        .time("start")
        .map_err(bad)?
        .unwrap_or_else(|| Date::of_timestamp(now).start());
    if start > end {
        return Err(bad("start is after end".into()));
    }
    let limit = q
        .number("limit", 1, MAX_LIMIT as u64)
        .map_err(bad)?
        .unwrap_or(1000) as usize;
    let page = match q.get("page_token") {
        None => None,
        Some(token) => Some(parse_token(token).ok_or_else(|| bad("invalid page_token".into()))?),
    };
    let descending = match q.get("sort") {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(bad(format!(
                "sort must be asc or desc, not {}",
                shown(other)
            )));
        }
    };
    // The history reads it would take, counted before any is made.
    let days = u64::try_from((end.0 - start.0) / 86_400 + 2).unwrap_or(u64::MAX);
    let per_symbol = match timeframe {
        Timeframe::Minutes(_) | Timeframe::Hours(_) => days,
        Timeframe::Day | Timeframe::Week => days / 27 + 1,
        Timeframe::Months(_) => 1,
    };
    if per_symbol.saturating_mul(symbols.len() as u64) > MAX_REQUESTS as u64 {
        return Err(Response::unprocessable(
            "ask for fewer symbols or a shorter span: it needs too many history reads",
        ));
    }
    Ok(BarsQuery {
        symbols,
        timeframe,
        start,
        end,
        limit,
        page,
        descending,
    })
}

fn parse_token(token: &str) -> Option<(String, i64)> {
    let (symbol, time) = token.rsplit_once('~')?;
    Some((symbol.to_string(), time.parse().ok()?))
}

/// The history requests that hold the bars of `symbol` for `q`.
pub fn bar_requests(symbol: &Symbol, q: &BarsQuery) -> Vec<Request> {
    let first = Date::of_timestamp(q.start);
    let last = Date::of_timestamp(q.end);
    let mut asks = Vec::new();
    match q.timeframe {
        Timeframe::Minutes(_) | Timeframe::Hours(_) => {
            let mut d = first;
            while d <= last {
                asks.push(history(Range::Day, symbol, Some(d)));
                match d.0.next_day() {
                    Some(next) => d = Date(next),
                    None => break,
                }
            }
        }
        Timeframe::Day | Timeframe::Week => {
            // getAssetValueMonth: a month of daily bars ending with a day.
            let mut d = last;
            loop {
                asks.push(history(Range::Month, symbol, Some(d)));
                let back = d.0.checked_sub(time::Duration::days(27));
                match back {
                    Some(b) if Date(b) > first => d = Date(b),
                    _ => break,
                }
            }
        }
        Timeframe::Months(_) => asks.push(history(Range::AllTime, symbol, None)),
    }
    asks
}

fn history(range: Range, symbol: &Symbol, date: Option<Date>) -> Request {
    Request::History {
        range,
        symbol: symbol.clone(),
        date,
    }
}

/// Gathers the bars of one symbol's history answers into `q`'s timeframe,
/// oldest first, within `q`'s span (each source bar counted once).
pub fn gather(sources: &[Bar], q: &BarsQuery) -> Vec<Bar> {
    let mut bars: Vec<Bar> = sources
        .iter()
        .filter(|b| b.time >= q.timeframe.bucket(q.start) && b.time <= q.end)
        .cloned()
        .collect();
    bars.sort_by_key(|b| b.time);
    bars.dedup_by_key(|b| b.time);
    let mut out: Vec<Bar> = Vec::new();
    for bar in bars {
        let start = q.timeframe.bucket(bar.time);
        match out.last_mut() {
            Some(last) if last.time == start => {
                last.high = last.high.max(bar.high);
                last.low = last.low.min(bar.low);
                last.close = bar.close;
                last.volume = last.volume.saturating_add(bar.volume);
            }
            _ => out.push(Bar { time: start, ..bar }),
        }
    }
    out
}

/// A price as market data writes it: a JSON number.
pub fn number(m: Money) -> Value {
    m.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// A bar object.
pub fn bar(b: &Bar) -> Value {
    json!({
        "t": rfc3339(b.time),
        "o": number(b.open),
        "h": number(b.high),
        "l": number(b.low),
        "c": number(b.close),
        "v": b.volume,
        "n": Value::Null,
        "vw": Value::Null,
    })
}

/// One page of bars, by API symbol, and the token of the next.
pub fn page(
    mut by_symbol: Vec<(String, Vec<Bar>)>,
    q: &BarsQuery,
) -> (Map<String, Value>, Option<String>) {
    by_symbol.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Map::new();
    let mut left = q.limit;
    let mut next = None;
    let token = |symbol: &str, b: &Bar| format!("{symbol}~{}", b.time.0);
    for (symbol, mut bars) in by_symbol {
        if q.descending {
            bars.reverse();
        }
        let skip = match &q.page {
            Some((s, _)) if symbol < *s => continue,
            Some((s, t)) if symbol == *s => bars
                .iter()
                .position(|b| {
                    if q.descending {
                        b.time.0 <= *t
                    } else {
                        b.time.0 >= *t
                    }
                })
                .unwrap_or(bars.len()),
            _ => 0,
        };
        let bars = &bars[skip..];
        if bars.is_empty() {
            continue;
        }
        if left == 0 {
            next = Some(token(&symbol, &bars[0]));
            break;
        }
        let n = bars.len().min(left);
        left -= n;
        let more = bars.get(n).map(|b| token(&symbol, b));
        out.insert(symbol, Value::Array(bars[..n].iter().map(bar).collect()));
        if more.is_some() {
            next = more;
            break;
        }
    }
    (out, next)
}

/// A latest quote object (bid and ask are the last price).
pub fn quote(q: &Quote) -> Value {
    json!({
        "t": rfc3339(q.time),
        "ap": number(q.price),
        "as": 0,
        "bp": number(q.price),
        "bs": 0,
        "ax": "",
        "bx": "",
        "c": [],
        "z": "",
    })
}

/// A latest trade object (the last price; the size is the day's volume
/// since the previous price set is not known).
pub fn trade(q: &Quote) -> Value {
    json!({
        "t": rfc3339(q.time),
        "p": number(q.price),
        "s": 0,
        "x": "",
        "i": 0,
        "c": [],
        "z": "",
    })
}

/// A snapshot object: the latest trade and quote, today's bar as the
/// minute and daily bars, and the day before's bar when known.
pub fn snapshot(q: &Quote, previous: Option<&Bar>) -> Value {
    let today = Bar {
        time: Date::of_timestamp(q.time).start(),
        open: q.open,
        high: q.high,
        low: q.low,
        close: q.price,
        volume: q.volume,
    };
    let minute = Bar {
        time: Timeframe::Minutes(1).bucket(q.time),
        open: q.price,
        high: q.price,
        low: q.price,
        close: q.price,
        volume: 0,
    };
    json!({
        "latestTrade": trade(q),
        "latestQuote": quote(q),
        "minuteBar": bar(&minute),
        "dailyBar": bar(&today),
        "prevDailyBar": previous.map_or(Value::Null, bar),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Query {
        Query::parse(text).expect("query")
    }

    fn b(t: i64, price: i64, volume: u64) -> Bar {
        Bar {
            time: Timestamp(t),
            open: Money(price),
            high: Money(price + 1),
            low: Money(price - 1),
            close: Money(price),
            volume,
        }
    }

    #[test]
    fn timeframes_as_every_sdk_writes_them() {
        for (text, tf) in [
            ("1Min", Timeframe::Minutes(1)),
            ("5Min", Timeframe::Minutes(5)),
            ("1min", Timeframe::Minutes(1)),
            ("15T", Timeframe::Minutes(15)),
            ("1Hour", Timeframe::Hours(1)),
            ("4H", Timeframe::Hours(4)),
            ("1Day", Timeframe::Day),
            ("1D", Timeframe::Day),
            ("1Week", Timeframe::Week),
            ("1W", Timeframe::Week),
            ("1Month", Timeframe::Months(1)),
            ("3M", Timeframe::Months(3)),
        ] {
            assert_eq!(Timeframe::parse(text), Some(tf), "{text}");
        }
        for bad in [
            "",
            "0Min",
            "60Min",
            "24Hour",
            "2Day",
            "5M",
            "1Year",
            "Min1",
            "99999999999Min",
        ] {
            assert_eq!(Timeframe::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn bars_gather_into_their_span_and_page() {
        let now = Timestamp(1_704_067_200 + 3 * 86_400);
        let query = bars_query(
            &q("symbols=B,A&timeframe=2Min&start=2024-01-01&limit=3"),
            None,
            now,
        )
        .expect("q");
        assert_eq!(query.symbols, ["A", "B"]);
        let t0 = 1_704_067_200;
        let src = [
            b(t0, 100, 1),
            b(t0 + 60, 105, 2),
            b(t0 + 120, 110, 3),
            b(t0 + 60, 105, 2),
        ];
        let bars = gather(&src, &query);
        assert_eq!(bars.len(), 2, "{bars:?}");
        assert_eq!(
            (
                bars[0].open,
                bars[0].high,
                bars[0].low,
                bars[0].close,
                bars[0].volume
            ),
            (Money(100), Money(106), Money(99), Money(105), 3)
        );
        let (page1, next) = page(
            vec![("A".into(), bars.clone()), ("B".into(), bars.clone())],
            &query,
        );
        assert_eq!(page1["A"].as_array().map(Vec::len), Some(2));
        assert_eq!(page1["B"].as_array().map(Vec::len), Some(1));
        let token = next.expect("a next page");
        let query2 = bars_query(
            &q(&format!(
                "symbols=A,B&timeframe=2Min&start=2024-01-01&limit=3&page_token={token}"
            )),
            None,
            now,
        )
        .expect("q");
        let (page2, next2) = page(
            vec![("A".into(), bars.clone()), ("B".into(), bars)],
            &query2,
        );
        assert_eq!(page2.len(), 1);
        assert_eq!(page2["B"][0]["t"], "2024-01-01T00:02:00Z");
        assert_eq!(next2, None);
        assert_eq!(page2["B"][0]["o"], 0.011);
    }

    #[test]
    fn bars_need_a_bounded_query() {
        let now = Timestamp(1_704_067_200);
        for bad in [
            "timeframe=1Min",
            "symbols=A",
            "symbols=A&timeframe=1Min&start=2025-01-01",
            "symbols=A&timeframe=1Min&page_token=x",
            "symbols=A&timeframe=1Min&limit=10001",
            "symbols=A&timeframe=1Min&sort=up",
        ] {
            assert!(bars_query(&q(bad), None, now).is_err(), "{bad}");
        }
        let far = q("symbols=A,B&timeframe=1Min&start=0001-01-01");
        assert!(
            bars_query(&far, None, now).is_err(),
            "counted before any read is made"
        );
        assert!(bars_query(&q("symbols=A&timeframe=1Month&start=0001-01-01"), None, now).is_ok());
        let many: String = (0..101).map(|i| format!("S{i},")).collect();
        assert!(bars_query(&q(&format!("symbols={many}&timeframe=1Day")), None, now).is_err());
    }

    #[test]
    fn week_and_month_buckets() {
        // 2024-01-03 is a Wednesday: its week starts Monday 2024-01-01.
        assert_eq!(
            Timeframe::Week.bucket(Timestamp(1_704_240_000)),
            Timestamp(1_704_067_200)
        );
        // 2024-05-17 in 3-month spans starts 2024-04-01.
        assert_eq!(
            Timeframe::Months(3).bucket(Timestamp(1_715_904_000)),
            Timestamp(1_711_929_600)
        );
    }
}
