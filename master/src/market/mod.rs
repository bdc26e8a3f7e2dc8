//! Market data (seed 2.3.1, 2.3.4, 3.1.6): the asset list, the price
//! providers, stored history and the "asset" thread that ties them
//! together.
//!
//! Prices are `Money` (i64 in 1/10 000) everywhere; a bar's time is its
//! start (the update time for a tick, 00:00 UTC for a daily bar, the 1st at
//! 00:00 UTC for a monthly bar).

pub mod alphavantage;
pub mod api;
pub mod assets;
pub mod binance;
pub use papertrader_common::calendar;
pub mod coinbase;
pub mod csv;
pub mod error;
pub mod feed;
pub mod feed_config;
pub mod finnhub;
pub mod http;
pub mod live;
pub mod provider;
pub mod routes;
pub mod sim;
pub mod store;
pub mod yahoo;

use papertrader_common::value::Symbol;

/// One listed asset, as `getAssetList` sends it (`SYMBOL NAME`).
pub use papertrader_common::payload::Asset;
/// Open, high, low, close and volume over a span starting at `time`, as
/// the history instructions send it.
pub use papertrader_common::payload::Bar;

/// One update's prices for one symbol, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick {
    /// The asset.
    pub symbol: Symbol,
    /// The update's bar; `time` is the update time.
    pub bar: Bar,
}
