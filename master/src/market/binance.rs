//! Binance's Spot API (`/api/v3/ticker/price`, `/api/v3/klines`): crypto
//! quotes and daily klines, no key. Limits are weights: 6000 a minute per
//! IP; a one-symbol ticker/price weighs 2 and klines 2, so 3000 requests a
//! minute would be allowed; the default pace is a modest 600 a minute.
//! Over the limit Binance answers 429, and 418 (an IP ban) to clients that
//! go on. The main host answers 451 in some countries: `binance_url` can
//! name another (e.g. https://api.binance.us). Parsing only; see
//! `super::api`.
//!
//! Shapes from Binance's Spot API docs (Market Data endpoints): ticker
//! `{"symbol":"BTCUSDT","price":"64250.12000000"}`; klines `[[open time ms,
//! "open","high","low","close","volume", close time ms, ...], ...]`, oldest
//! first, at most 1000; errors `{"code":-1121,"msg":"Invalid symbol."}`.

use std::time::Duration;

use papertrader_common::value::{Date, Timestamp};

use super::api::{Api, Json, Limit, Quote, Request, bar, day_spans, member, price, row_bars};
use super::error::FeedError;
use super::provider::History;

/// The real host.
pub const DEFAULT_URL: &str = "https://api.binance.com";

/// Binance.
pub struct Binance {
    /// Base URL, no trailing slash.
    pub base: String,
}

impl Api for Binance {
    fn name(&self) -> &'static str {
        "binance"
    }

    /// A tenth of the documented weight limit: room for other clients.
    fn default_limit(&self) -> Limit {
        Limit::new(600, Duration::from_secs(60))
    }

    fn quote_request(&self, symbol: &str) -> Option<Request> {
        let symbol = super::yahoo::encode(&symbol.to_ascii_uppercase());
        Some(Request::get(format!(
            "{}/api/v3/ticker/price?symbol={symbol}",
            self.base
        )))
    }

    /// The ticker carries no time: the quote is as of its arrival.
    fn parse_quote(&self, symbol: &str, body: &str) -> Result<Quote, FeedError> {
        let json = Json::parse(body)?;
        let named = member(json, "symbol", "the ticker")?
            .str()
            .unwrap_or_default();
        if !named.eq_ignore_ascii_case(symbol) {
            // Quoted: Binance may name no symbol at all ("").
            let wrong = format!("asked for {symbol}, the answer is about {named:?}");
            return Err(FeedError::said(wrong));
        }
        Ok(Quote {
            price: price(member(json, "price", "the ticker")?, "price")?,
            time: Timestamp::now(),
            day_volume: None,
        })
    }

    fn history_requests(&self, symbol: &str, from: Date, to: Date) -> Vec<Request> {
        let symbol = super::yahoo::encode(&symbol.to_ascii_uppercase());
        let span = |(start, last): (i64, i64)| {
            Request::get(format!(
                "{}/api/v3/klines?symbol={symbol}&interval=1d&startTime={}&endTime={}&limit=1000",
                self.base,
                start * 1000,
                last * 1000 + 86_399_999
            ))
        };
        day_spans(from, to, 1000).into_iter().map(span).collect()
    }

    fn parse_history(&self, _symbol: &str, body: &str) -> Result<History, FeedError> {
        row_bars(
            body,
            "the klines",
            "a kline has fewer than 6 fields",
            |cell| {
                let ms = cell(0)?
                    .int()
                    .ok_or(FeedError::said("a kline's open time is not a number"))?;
                if !(0..=253_402_300_799_000).contains(&ms) {
                    return Err(FeedError::said("a kline's open time is out of range"));
                }
                let day = Date::of_timestamp(Timestamp(ms / 1000)).start();
                bar(
                    day,
                    [cell(1)?, cell(2)?, cell(3)?, cell(4)?],
                    Some(cell(5)?),
                )
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use papertrader_common::value::Money;

    use super::*;

    fn binance() -> Binance {
        Binance {
            base: "http://h".into(),
        }
    }

    #[test]
    fn ticker_and_klines_fixtures() {
        let b = binance();
        let q = b
            .parse_quote(
                "BTCUSDT",
                include_str!("../../../tests/fixtures/binance/ticker.json"),
            )
            .expect("quote");
        assert_eq!(q.price, Money(642_501_200));
        let err = b
            .parse_quote(
                "ETHUSDT",
                include_str!("../../../tests/fixtures/binance/ticker.json"),
            )
            .expect_err("other")
            .to_string();
        assert!(err.contains("about \"BTCUSDT\""), "{err}");
        let h = b
            .parse_history(
                "BTCUSDT",
                include_str!("../../../tests/fixtures/binance/klines.json"),
            )
            .expect("klines");
        assert_eq!(h.bars.len(), 2);
        assert_eq!(
            h.bars[0].time,
            Date::parse("2024-11-19").expect("d").start()
        );
        assert_eq!(h.bars[1].volume, 30_112);
        let day = |d| Date::parse(d).expect("date");
        assert_eq!(
            b.history_requests("btcusdt", day("2023-01-01"), day("2024-12-31"))
                .len(),
            1
        );
    }
}
