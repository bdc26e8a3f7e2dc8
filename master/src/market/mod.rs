//! Market data (seed 2.3.1, 2.3.4, 3.1.6): the asset list, price sources,
//! stored history and the "asset" thread that ties them together.
//!
//! Prices are `Money` (i64 in 1/10 000) everywhere; a bar's time is its
//! start (the update time for a tick, 00:00 UTC for a daily bar, the 1st at
//! 00:00 UTC for a monthly bar).

pub mod alphavantage;
pub mod assets;
pub mod binance;
pub use papertrader_common::calendar;
pub mod coinbase;
pub mod feed;
pub mod finnhub;
pub mod http;
pub mod live;
pub mod provider;
pub mod routes;
pub mod source;
pub mod store;
pub mod yahoo;

use std::fmt;

use papertrader_common::value::Symbol;

/// One listed asset, as `getAssetList` sends it (`SYMBOL NAME`).
pub use papertrader_common::payload::Asset;
/// Open, high, low, close and volume over a span starting at `time`, as
/// the history instructions send it.
pub use papertrader_common::payload::Bar;

/// One update interval's prices for one symbol, as a source reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick {
    /// The asset.
    pub symbol: Symbol,
    /// The interval's bar; `time` is the update time.
    pub bar: Bar,
}

/// Why a source produced nothing this time. The last good prices stay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError(pub String);

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SourceError {}
