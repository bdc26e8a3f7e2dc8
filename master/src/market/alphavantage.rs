//! Alpha Vantage TIME_SERIES_DAILY: daily history back-fill only. A free
//! key has 25 requests a day, far too few for live quotes, so this
//! provider gives no quotes; with `alphavantage_key` set it back-fills the
//! assets of providers that have no free history (Finnhub). The free tier
//! answers `outputsize=compact`: the latest 100 trading days. Over the
//! limit it answers 200 with an "Information" (or older "Note") message.
//! Parsing only; see `super::api`.
//!
//! Shape from alphavantage.co/documentation (TIME_SERIES_DAILY):
//! `{"Meta Data":{"2. Symbol":"IBM",...},"Time Series (Daily)":{"2024-06-07":
//! {"1. open":"168.18","2. high":..,"3. low":..,"4. close":..,"5. volume":..}}}`;
//! `{"Error Message": "Invalid API call..."}` for an unknown symbol.

use std::time::Duration;

use papertrader_common::value::Date;

use super::api::{Api, Json, Limit, Quote, Request, bar, excerpt, member};
use super::error::FeedError;
use super::provider::{History, sort_bars};

/// The real host.
pub const DEFAULT_URL: &str = "https://www.alphavantage.co";

/// Alpha Vantage.
pub struct AlphaVantage {
    /// Base URL, no trailing slash.
    pub base: String,
    /// The API key (it can only go in the query string).
    pub key: String,
}

impl Api for AlphaVantage {
    fn name(&self) -> &'static str {
        "alphavantage"
    }

    /// The free key's limit.
    fn default_limit(&self) -> Limit {
        Limit::new(25, Duration::from_secs(86_400))
    }

    fn quote_request(&self, _symbol: &str) -> Option<Request> {
        None
    }

    fn parse_quote(&self, _symbol: &str, _body: &str) -> Result<Quote, FeedError> {
        Err(FeedError::said("Alpha Vantage gives no live quotes here"))
    }

    fn history_requests(&self, symbol: &str, _from: Date, _to: Date) -> Vec<Request> {
        let symbol = super::yahoo::encode(symbol);
        vec![Request::get(format!(
            "{}/query?function=TIME_SERIES_DAILY&symbol={symbol}&outputsize=compact&apikey={}",
            self.base, self.key
        ))]
    }

    fn parse_history(&self, symbol: &str, body: &str) -> Result<History, FeedError> {
        let json = Json::parse(body)?;
        if let Some(text) = json.get("Error Message").and_then(Json::str) {
            let says = format!("Alpha Vantage: {symbol}: {}", excerpt(&text));
            return Err(FeedError::said(says));
        }
        for key in ["Information", "Note"] {
            if let Some(text) = json.get(key).and_then(Json::str) {
                return Err(FeedError::said(format!(
                    "Alpha Vantage limit: {}",
                    excerpt(&text)
                )));
            }
        }
        let series = member(json, "Time Series (Daily)", "the answer")?
            .members()
            .ok_or(FeedError::said("the time series is not an object"))?;
        let mut history = History::default();
        for (date, row) in series {
            let day = Date::parse(&date)?.start();
            let f = |k: &str| member(row, k, &date);
            let ohlc = [f("1. open")?, f("2. high")?, f("3. low")?, f("4. close")?];
            history.bars.push(bar(day, ohlc, row.get("5. volume"))?);
        }
        sort_bars(&mut history.bars);
        Ok(history)
    }
}

#[cfg(test)]
mod tests {
    use papertrader_common::value::Money;

    use super::*;

    #[test]
    fn daily_fixture_and_messages() {
        let av = AlphaVantage {
            base: "http://h".into(),
            key: "demo".into(),
        };
        let h = av
            .parse_history(
                "IBM",
                include_str!("../../../tests/fixtures/alphavantage/daily.json"),
            )
            .expect("daily");
        assert_eq!(h.bars.len(), 3);
        assert_eq!(
            h.bars[0].time,
            Date::parse("2024-06-05").expect("d").start()
        );
        assert_eq!(h.bars[2].close, Money(1_700_100));
        let err = av
            .parse_history("IBM", "{\"Information\": \"25 requests per day\"}")
            .expect_err("limit");
        assert_eq!(err.to_string(), "Alpha Vantage limit: 25 requests per day");
        let err = av
            .parse_history("NOPE", "{\"Error Message\": \"Invalid API call.\"}")
            .expect_err("unknown");
        assert_eq!(err.to_string(), "Alpha Vantage: NOPE: Invalid API call.");
        assert!(av.quote_request("IBM").is_none());
    }
}
