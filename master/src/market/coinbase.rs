//! Coinbase Exchange's public REST API: crypto quotes from
//! `/products/{id}/ticker` and daily candles from `/products/{id}/candles`,
//! no key. Documented public limit: 10 requests a second per IP (bursts to
//! 15); at most 300 candles per answer, so two years take three requests.
//! Coinbase wants a User-Agent. Parsing only; see `super::api`.
//!
//! Shapes from Coinbase's reference ("Get product ticker": `{"ask","bid",
//! "volume","trade_id","price","size","time"}` with prices as strings and
//! an RFC 3339 time; "Get product candles": `[[time, low, high, open,
//! close, volume], ...]` newest first; errors `{"message": "NotFound"}`).

use std::time::Duration;

use papertrader_common::value::{Date, Timestamp};

use super::api::{
    Api, Json, Limit, Quote, Request, bar, day_spans, member, price, row_bars, seconds,
};
use super::error::FeedError;
use super::provider::History;

/// The real host.
pub const DEFAULT_URL: &str = "https://api.exchange.coinbase.com";
/// Most candles in one answer.
const MAX_CANDLES: i64 = 300;

/// Coinbase Exchange.
pub struct Coinbase {
    /// Base URL, no trailing slash.
    pub base: String,
}

impl Coinbase {
    fn request(&self, url: String) -> Request {
        let mut request = Request::get(url);
        request.headers.push(("User-Agent", crate::AGENT.into()));
        request
    }
}

/// An RFC 3339 time such as `2020-03-20T00:22:57.833897Z`.
pub fn rfc3339(text: &str) -> Option<Timestamp> {
    let t: jiff::Timestamp = text.parse().ok()?;
    Some(Timestamp(t.as_second()))
}

/// A product id as Coinbase spells it: `BTC-USD`.
fn product(symbol: &str) -> String {
    super::yahoo::encode(&symbol.to_ascii_uppercase())
}

impl Api for Coinbase {
    fn name(&self) -> &'static str {
        "coinbase"
    }

    /// The documented public limit.
    fn default_limit(&self) -> Limit {
        Limit::new(10, Duration::from_secs(1))
    }

    fn quote_request(&self, symbol: &str) -> Option<Request> {
        Some(self.request(format!("{}/products/{}/ticker", self.base, product(symbol))))
    }

    /// The ticker names no product, so nothing to check it against.
    fn parse_quote(&self, _symbol: &str, body: &str) -> Result<Quote, FeedError> {
        let json = Json::parse(body)?;
        let price = price(member(json, "price", "the ticker")?, "price")?;
        let time = member(json, "time", "the ticker")?
            .str()
            .and_then(|text| rfc3339(&text))
            .ok_or(FeedError::said("the ticker's time is not an RFC 3339 time"))?;
        // "volume" is a rolling 24 hours, not the day's: not used.
        Ok(Quote {
            price,
            time,
            day_volume: None,
        })
    }

    fn history_requests(&self, symbol: &str, from: Date, to: Date) -> Vec<Request> {
        let iso = |s: i64| {
            jiff::Timestamp::from_second(s)
                .map(|t| t.to_string())
                .unwrap_or_default()
        };
        let span = |(start, last): (i64, i64)| {
            self.request(format!(
                "{}/products/{}/candles?granularity=86400&start={}&end={}",
                self.base,
                product(symbol),
                iso(start),
                iso(last)
            ))
        };
        day_spans(from, to, MAX_CANDLES)
            .into_iter()
            .map(span)
            .collect()
    }

    fn parse_history(&self, _symbol: &str, body: &str) -> Result<History, FeedError> {
        row_bars(
            body,
            "the candles",
            "a candle has fewer than 6 fields",
            |cell| {
                let time = seconds(cell(0)?)
                    .ok_or(FeedError::said("a candle's time is not a Unix time"))?;
                let (low, high, open, close) = (cell(1)?, cell(2)?, cell(3)?, cell(4)?);
                let day = Date::of_timestamp(time).start();
                bar(day, [open, high, low, close], Some(cell(5)?))
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use papertrader_common::value::Money;

    use super::*;

    fn coinbase() -> Coinbase {
        Coinbase {
            base: "http://h".into(),
        }
    }

    #[test]
    fn ticker_fixture() {
        let q = coinbase()
            .parse_quote(
                "BTC-USD",
                include_str!("../../../tests/fixtures/coinbase/ticker.json"),
            )
            .expect("quote");
        assert_eq!(q.price, Money(642_504_300));
        assert_eq!(q.time, Timestamp(1_732_107_777));
        let r = coinbase().quote_request("btc-usd").expect("request");
        assert_eq!(r.url, "http://h/products/BTC-USD/ticker");
    }

    #[test]
    fn candles_fixture_and_paging() {
        let h = coinbase()
            .parse_history(
                "BTC-USD",
                include_str!("../../../tests/fixtures/coinbase/candles.json"),
            )
            .expect("candles");
        assert_eq!(h.bars.len(), 3);
        assert_eq!(
            h.bars[0].time,
            Date::parse("2024-11-18").expect("d").start()
        );
        assert_eq!(h.bars[2].close, Money(942_051_200));
        assert_eq!(h.bars[2].volume, 25_302);
        let day = |d| Date::parse(d).expect("date");
        let reqs = coinbase().history_requests("BTC-USD", day("2023-01-01"), day("2024-12-31"));
        assert_eq!(reqs.len(), 3, "731 days in pages of 300");
        assert!(
            reqs[0]
                .url
                .ends_with("start=2023-01-01T00:00:00Z&end=2023-10-27T00:00:00Z")
        );
    }
}
