//! Yahoo's chart API (`/v8/finance/chart/SYMBOL`): quotes, daily history,
//! splits and dividends, no key. Unofficial and undocumented: Yahoo
//! publishes no limit and answers 429 to clients it finds too busy, so the
//! default pace is a conservative 30 requests a minute. It refuses clients
//! without a browser-like User-Agent. Parsing only; see `super::api`.
//!
//! Shapes (from public clients of the API, e.g. yahoo-finance2's chart
//! module and the many scripts that call `query1.finance.yahoo.com`):
//! `{"chart":{"result":[{"meta":{"symbol","regularMarketPrice",
//! "regularMarketTime","regularMarketVolume",...},"timestamp":[...],
//! "events":{"dividends":{"T":{"amount","date"}},"splits":{"T":{"date",
//! "numerator","denominator","splitRatio"}}},"indicators":{"quote":[{"open":
//! [...],"high","low","close","volume"}]}}],"error":null}}`; an unknown
//! symbol: `{"chart":{"result":null,"error":{"code":"Not Found",
//! "description":"No data found, symbol may be delisted"}}}` with 404.

use std::time::Duration;

use papertrader_common::value::Date;

use super::api::{
    Api, Json, Limit, Quote, Request, bar, excerpt, member, price, seconds, volume_of,
};
use super::error::FeedError;
use super::provider::{Action, ActionKind, History, sort_bars};

/// The real host.
pub const DEFAULT_URL: &str = "https://query1.finance.yahoo.com";
/// A browser-like User-Agent: Yahoo answers 429 to library defaults.
pub const USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// Yahoo's chart API.
pub struct Yahoo {
    /// Base URL, no trailing slash.
    pub base: String,
}

impl Yahoo {
    fn request(&self, symbol: &str, query: &str) -> Request {
        let mut request = Request::get(format!(
            "{}/v8/finance/chart/{}?{query}",
            self.base,
            encode(symbol)
        ));
        request.headers.push(("User-Agent", USER_AGENT.to_string()));
        request
    }
}

/// Percent-encodes what a symbol may hold that a path may not.
pub fn encode(symbol: &str) -> String {
    let mut out = String::new();
    for c in symbol.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '.' | '_' => out.push(c),
            other => {
                let mut buf = [0; 4];
                for b in other.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

/// The one result of a chart answer, or the API's own error.
fn result<'a>(json: Json<'a>, symbol: &str) -> Result<Json<'a>, FeedError> {
    let chart = member(json, "chart", "the answer")?;
    if let Some(err) = chart.get("error").filter(|e| !e.is_null()) {
        let text = err.get("description").and_then(Json::str);
        let text = text.as_deref().unwrap_or("an error");
        return Err(FeedError::said(format!(
            "Yahoo: {symbol}: {}",
            excerpt(text)
        )));
    }
    let result = member(chart, "result", "chart")?
        .at(0)
        .ok_or_else(|| FeedError::said(format!("Yahoo: no result for {symbol}")))?;
    let meta = member(result, "meta", "result")?;
    match meta.get("symbol").and_then(Json::str) {
        Some(s) if s.eq_ignore_ascii_case(symbol) => Ok(result),
        Some(s) => Err(FeedError::said(format!(
            "asked for {symbol}, the answer is about {s}"
        ))),
        None => Err(FeedError::said(format!(
            "the answer names no symbol (asked for {symbol})"
        ))),
    }
}

impl Api for Yahoo {
    fn name(&self) -> &'static str {
        "yahoo"
    }

    /// The default pace: no documented limit, so 30 a minute.
    fn default_limit(&self) -> Limit {
        Limit::new(30, Duration::from_secs(60))
    }

    fn quote_request(&self, symbol: &str) -> Option<Request> {
        Some(self.request(symbol, "interval=1d&range=1d"))
    }

    fn parse_quote(&self, symbol: &str, body: &str) -> Result<Quote, FeedError> {
        let json = Json::parse(body)?;
        let meta = member(result(json, symbol)?, "meta", "result")?;
        let price = price(
            member(meta, "regularMarketPrice", "meta")?,
            "regularMarketPrice",
        )?;
        let time = seconds(member(meta, "regularMarketTime", "meta")?)
            .ok_or(FeedError::said("regularMarketTime is not a Unix time"))?;
        Ok(Quote {
            price,
            time,
            day_volume: meta.get("regularMarketVolume").and_then(volume_of),
        })
    }

    fn history_requests(&self, symbol: &str, from: Date, to: Date) -> Vec<Request> {
        let (start, end) = (from.start().0, to.start().0 + 86_400);
        let query = format!("interval=1d&period1={start}&period2={end}&events=div%2Csplits");
        vec![self.request(symbol, &query)]
    }

    fn parse_history(&self, symbol: &str, body: &str) -> Result<History, FeedError> {
        let json = Json::parse(body)?;
        let result = result(json, symbol)?;
        let mut history = History::default();
        // A range with no trading days has no "timestamp" at all.
        if let Some(times) = result.get("timestamp").and_then(Json::items) {
            let indicators = member(result, "indicators", "result")?;
            let quote = member(indicators, "quote", "indicators")?
                .at(0)
                .ok_or(FeedError::said("indicators.quote is empty"))?;
            let column = |k: &str| member(quote, k, "indicators.quote").map(Json::items);
            let (Some(o), Some(h), Some(l), Some(c)) = (
                column("open")?,
                column("high")?,
                column("low")?,
                column("close")?,
            ) else {
                let arrays = "indicators.quote holds something other than arrays";
                return Err(FeedError::said(arrays));
            };
            let v = quote
                .get("volume")
                .and_then(Json::items)
                .unwrap_or_default();
            for (i, t) in times.into_iter().enumerate() {
                let time = seconds(t).ok_or(FeedError::said("a timestamp is not a Unix time"))?;
                let row = [o.get(i), h.get(i), l.get(i), c.get(i)];
                let [Some(&o), Some(&h), Some(&l), Some(&c)] = row else {
                    let short = format!("the price columns are shorter than timestamp ({i})");
                    return Err(FeedError::said(short));
                };
                // Yahoo leaves a day it has no trades for as nulls.
                if [o, h, l, c].iter().any(|j| j.is_null()) {
                    continue;
                }
                let day = Date::of_timestamp(time).start();
                history
                    .bars
                    .push(bar(day, [o, h, l, c], v.get(i).copied())?);
            }
        }
        if let Some(events) = result.get("events") {
            history.actions = actions(events)?;
        }
        sort_bars(&mut history.bars);
        Ok(history)
    }
}

/// The splits and dividends of `events`.
fn actions(events: Json) -> Result<Vec<Action>, FeedError> {
    let mut out = Vec::new();
    let list = |key| events.get(key).and_then(Json::members).unwrap_or_default();
    for (_, split) in list("splits") {
        let date = member(split, "date", "a split")?;
        let effective = seconds(date).ok_or(FeedError::said("split date"))?;
        let part = |k: &str| -> Result<u32, FeedError> {
            let text = member(split, k, "a split")?
                .num_text()
                .ok_or_else(|| FeedError::said(format!("split {k} is not a number")))?;
            // Yahoo writes 2 or 2.0; ratios are whole numbers.
            let whole = text.strip_suffix(".0").unwrap_or(&text);
            match whole.parse() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(FeedError::said(format!(
                    "split {k} {text:?} is not a positive whole number"
                ))),
            }
        };
        let (to, from) = (part("numerator")?, part("denominator")?);
        if to != from {
            out.push(Action {
                effective,
                kind: ActionKind::Split { to, from },
            });
        }
    }
    for (_, dividend) in list("dividends") {
        let date = member(dividend, "date", "a dividend")?;
        let effective = seconds(date).ok_or(FeedError::said("dividend date"))?;
        let amount = price(member(dividend, "amount", "a dividend")?, "dividend amount")?;
        out.push(Action {
            effective,
            kind: ActionKind::Dividend(amount),
        });
    }
    out.sort_by_key(|a| a.effective);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use papertrader_common::value::{Money, Timestamp};

    use super::*;

    fn yahoo() -> Yahoo {
        Yahoo {
            base: "http://h".into(),
        }
    }

    #[test]
    fn requests_carry_a_browser_user_agent() {
        let r = yahoo().quote_request("^GSPC").expect("request");
        assert_eq!(
            r.url,
            "http://h/v8/finance/chart/%5EGSPC?interval=1d&range=1d"
        );
        assert!(r.headers[0].1.starts_with("Mozilla/5.0"));
        let day = |d| Date::parse(d).expect("date");
        let h = yahoo().history_requests("BRK-B", day("2024-01-02"), day("2024-01-03"));
        assert_eq!(
            h[0].url,
            "http://h/v8/finance/chart/BRK-B?interval=1d&period1=1704153600&period2=1704326400\
             &events=div%2Csplits"
        );
    }

    #[test]
    fn quote_fixture() {
        let q = yahoo()
            .parse_quote(
                "AAPL",
                include_str!("../../../tests/fixtures/yahoo/quote-aapl.json"),
            )
            .expect("quote");
        assert_eq!(q.price, Money(1_899_100));
        assert_eq!(q.time, Timestamp(1_700_255_999));
        assert_eq!(q.day_volume, Some(50_922_700));
        let err = yahoo()
            .parse_quote(
                "MSFT",
                include_str!("../../../tests/fixtures/yahoo/quote-aapl.json"),
            )
            .expect_err("other symbol");
        assert_eq!(err.to_string(), "asked for MSFT, the answer is about AAPL");
        let err = yahoo()
            .parse_quote(
                "NOPE",
                include_str!("../../../tests/fixtures/yahoo/not-found.json"),
            )
            .expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "Yahoo: NOPE: No data found, symbol may be delisted"
        );
    }

    #[test]
    fn history_fixture_with_split_and_dividend() {
        let h = yahoo()
            .parse_history(
                "AAPL",
                include_str!("../../../tests/fixtures/yahoo/history-aapl.json"),
            )
            .expect("history");
        assert_eq!(h.bars.len(), 3, "the null day is skipped");
        assert_eq!(
            h.bars[0].time,
            Date::parse("2020-08-27").expect("d").start()
        );
        assert_eq!(h.bars[0].close, Money(5_003_000));
        assert_eq!(h.bars[0].volume, 155_552_400);
        assert_eq!(
            h.actions,
            [
                Action {
                    effective: Timestamp(1_596_807_000),
                    kind: ActionKind::Dividend(Money(2_050)),
                },
                Action {
                    effective: Timestamp(1_598_880_600),
                    kind: ActionKind::Split { to: 4, from: 1 },
                },
            ]
        );
    }
}
