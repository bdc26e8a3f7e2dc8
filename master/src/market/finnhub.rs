//! Finnhub (`/api/v1/quote`, `/api/v1/stock/candle`): US stock quotes with
//! a free key, one symbol a call, 60 calls a minute on the free plan (and
//! at most 30 a second on any plan); over it, 429. Daily candles are a paid
//! feature today: a free key gets 403 there, and `alphavantage_key` makes
//! back-fills of Finnhub assets come from Alpha Vantage instead. The key
//! goes in the `X-Finnhub-Token` header, never in a URL that could be
//! logged. Parsing only; see `super::api`.
//!
//! Shapes from finnhub.io/docs/api: quote `{"c","d","dp","h","l","o",
//! "pc","t"}` (an unknown symbol is all zeros with `t` 0); candles
//! `{"c":[],"h":[],"l":[],"o":[],"s":"ok","t":[],"v":[]}` or
//! `{"s":"no_data"}`.

use std::time::Duration;

use papertrader_common::value::{Date, Timestamp};

use super::api::{Api, Json, Limit, Quote, Request, bar, member, price, seconds};
use super::error::FeedError;
use super::provider::{History, sort_bars};

/// The real host.
pub const DEFAULT_URL: &str = "https://finnhub.io";

/// Finnhub.
pub struct Finnhub {
    /// Base URL, no trailing slash.
    pub base: String,
    /// The API key.
    pub key: String,
}

impl Finnhub {
    fn request(&self, url: String) -> Request {
        let mut request = Request::get(url);
        request.headers.push(("X-Finnhub-Token", self.key.clone()));
        request
    }
}

impl Api for Finnhub {
    fn name(&self) -> &'static str {
        "finnhub"
    }

    /// The free plan's limit.
    fn default_limit(&self) -> Limit {
        Limit::new(60, Duration::from_secs(60))
    }

    fn quote_request(&self, symbol: &str) -> Option<Request> {
        let symbol = super::yahoo::encode(symbol);
        Some(self.request(format!("{}/api/v1/quote?symbol={symbol}", self.base)))
    }

    fn parse_quote(&self, symbol: &str, body: &str) -> Result<Quote, FeedError> {
        let json = Json::parse(body)?;
        let t = member(json, "t", "the quote")?;
        // Finnhub answers an unknown symbol with 200 and zeros.
        if t.int() == Some(0) {
            let zeros = format!("Finnhub knows no symbol {symbol} (an all-zero quote)");
            return Err(FeedError::said(zeros));
        }
        let time = seconds(t).ok_or(FeedError::said("the quote's t is not a Unix time"))?;
        Ok(Quote {
            price: price(member(json, "c", "the quote")?, "c (current price)")?,
            time,
            day_volume: None,
        })
    }

    fn history_requests(&self, symbol: &str, from: Date, to: Date) -> Vec<Request> {
        let symbol = super::yahoo::encode(symbol);
        let (start, end) = (from.start().0, to.start().0 + 86_399);
        vec![self.request(format!(
            "{}/api/v1/stock/candle?symbol={symbol}&resolution=D&from={start}&to={end}",
            self.base
        ))]
    }

    fn parse_history(&self, symbol: &str, body: &str) -> Result<History, FeedError> {
        let json = Json::parse(body)?;
        let mut history = History::default();
        match member(json, "s", "the candles")?.str().as_deref() {
            Some("ok") => {}
            Some("no_data") => return Ok(history),
            _ => {
                let status = format!("candles of {symbol}: status is not \"ok\"");
                return Err(FeedError::said(status));
            }
        }
        let col = |k: &str| {
            member(json, k, "the candles")?
                .items()
                .ok_or_else(|| FeedError::said(format!("candles {k} is not an array")))
        };
        let (t, o, h, l, c) = (col("t")?, col("o")?, col("h")?, col("l")?, col("c")?);
        let v = json.get("v").and_then(Json::items).unwrap_or_default();
        for (i, time) in t.into_iter().enumerate() {
            let time: Timestamp =
                seconds(time).ok_or(FeedError::said("a candle time is not a Unix time"))?;
            let (Some(&o), Some(&h), Some(&l), Some(&c)) = (o.get(i), h.get(i), l.get(i), c.get(i))
            else {
                return Err(FeedError::said("candle columns of different lengths"));
            };
            let day = Date::of_timestamp(time).start();
            history
                .bars
                .push(bar(day, [o, h, l, c], v.get(i).copied())?);
        }
        sort_bars(&mut history.bars);
        Ok(history)
    }
}

#[cfg(test)]
mod tests {
    use papertrader_common::value::Money;

    use super::*;

    fn finnhub() -> Finnhub {
        Finnhub {
            base: "http://h".into(),
            key: "k".into(),
        }
    }

    #[test]
    fn quote_fixtures() {
        let f = finnhub();
        let q = f
            .parse_quote(
                "AAPL",
                include_str!("../../../tests/fixtures/finnhub/quote.json"),
            )
            .expect("quote");
        assert_eq!(
            (q.price, q.time),
            (Money(2_617_400), Timestamp(1_582_641_000))
        );
        let err = f
            .parse_quote(
                "NOPE",
                include_str!("../../../tests/fixtures/finnhub/unknown.json"),
            )
            .expect_err("zeros");
        let zeros = "Finnhub knows no symbol NOPE (an all-zero quote)";
        assert_eq!(err.to_string(), zeros);
        let r = f.quote_request("AAPL").expect("request");
        assert_eq!(r.url, "http://h/api/v1/quote?symbol=AAPL");
        assert_eq!(r.headers, [("X-Finnhub-Token", "k".to_string())]);
    }

    #[test]
    fn candle_fixture() {
        let h = finnhub()
            .parse_history(
                "AAPL",
                include_str!("../../../tests/fixtures/finnhub/candle.json"),
            )
            .expect("candles");
        assert_eq!(h.bars.len(), 2);
        assert_eq!(h.bars[1].close, Money(2_617_400));
        let none = finnhub()
            .parse_history("AAPL", "{\"s\":\"no_data\"}")
            .expect("ok");
        assert!(none.bars.is_empty());
    }
}
