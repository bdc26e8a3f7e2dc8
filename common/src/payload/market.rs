//! Market data lines: the master's `quotes` feed, the answers of
//! `getAssetValueCurrent` and `getAssetInfo`, history bars and the asset
//! list (PROTOCOL.md section 4).

use std::fmt::Write;

use super::{Fields, Line, PayloadError, volume};
use crate::value::{Money, Symbol, Timestamp, ValueError};

/// A `quotes` line: `SYMBOL PRICE TIMESTAMP OPEN HIGH LOW VOLUME`, the last
/// four being the current UTC day so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The asset, upper-case.
    pub symbol: Symbol,
    /// The last price.
    pub price: Money,
    /// When `price` was taken.
    pub time: Timestamp,
    /// The day's first price.
    pub open: Money,
    /// The day's highest price.
    pub high: Money,
    /// The day's lowest price.
    pub low: Money,
    /// Shares traded today.
    pub volume: u64,
}

impl Quote {
    /// The `getAssetValueCurrent` answer this quote gives.
    pub fn current(&self) -> Current {
        Current {
            symbol: self.symbol.clone(),
            price: self.price,
            time: self.time,
        }
    }

    /// The `getAssetInfo` answer this quote gives: CLOSE is the last price.
    pub fn info(&self) -> Info {
        Info {
            symbol: self.symbol.clone(),
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.price,
            volume: self.volume,
            time: self.time,
        }
    }

    /// The whole `getAssetValueCurrent` payload, `\n` included.
    pub fn current_line(&self) -> String {
        self.current().to_line()
    }

    /// The whole `getAssetInfo` payload, `\n` included.
    pub fn info_line(&self) -> String {
        self.info().to_line()
    }
}

impl Line for Quote {
    const KIND: &'static str = "quote";

    fn write(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "{} {} {} {} {} {} {}",
            self.symbol, self.price, self.time, self.open, self.high, self.low, self.volume
        );
    }

    fn parse(line: &str) -> Result<Quote, PayloadError> {
        let mut f = Fields::new(Self::KIND, line);
        let quote = Quote {
            symbol: f.value("symbol", Symbol::parse)?,
            price: f.value("price", Money::parse)?,
            time: f.value("timestamp", Timestamp::parse)?,
            open: f.value("open", Money::parse)?,
            high: f.value("high", Money::parse)?,
            low: f.value("low", Money::parse)?,
            volume: f.value("volume", volume)?,
        };
        f.end("volume", "7 fields")?;
        Ok(quote)
    }
}

/// The `getAssetValueCurrent` line: `SYMBOL PRICE TIMESTAMP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    /// The asset, upper-case.
    pub symbol: Symbol,
    /// The last price.
    pub price: Money,
    /// When it was taken.
    pub time: Timestamp,
}

impl Line for Current {
    const KIND: &'static str = "current price";

    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "{} {} {}", self.symbol, self.price, self.time);
    }

    fn parse(line: &str) -> Result<Current, PayloadError> {
        let mut f = Fields::new(Self::KIND, line);
        let current = Current {
            symbol: f.value("symbol", Symbol::parse)?,
            price: f.value("price", Money::parse)?,
            time: f.value("timestamp", Timestamp::parse)?,
        };
        f.end("timestamp", "3 fields")?;
        Ok(current)
    }
}

/// The `getAssetInfo` line: `SYMBOL OPEN HIGH LOW CLOSE VOLUME TIMESTAMP`,
/// the current UTC day so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// The asset, upper-case.
    pub symbol: Symbol,
    /// The day's first price.
    pub open: Money,
    /// The day's highest price.
    pub high: Money,
    /// The day's lowest price.
    pub low: Money,
    /// The day's last price.
    pub close: Money,
    /// Shares traded today.
    pub volume: u64,
    /// The last update.
    pub time: Timestamp,
}

impl Line for Info {
    const KIND: &'static str = "asset info";

    fn write(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "{} {} {} {} {} {} {}",
            self.symbol, self.open, self.high, self.low, self.close, self.volume, self.time
        );
    }

    fn parse(line: &str) -> Result<Info, PayloadError> {
        let mut f = Fields::new(Self::KIND, line);
        let info = Info {
            symbol: f.value("symbol", Symbol::parse)?,
            open: f.value("open", Money::parse)?,
            high: f.value("high", Money::parse)?,
            low: f.value("low", Money::parse)?,
            close: f.value("close", Money::parse)?,
            volume: f.value("volume", volume)?,
            time: f.value("timestamp", Timestamp::parse)?,
        };
        f.end("timestamp", "7 fields")?;
        Ok(info)
    }
}

/// A history bar: `TIMESTAMP OPEN HIGH LOW CLOSE VOLUME`, TIMESTAMP being
/// the start of its span (the update time for an interval bar, 00:00 UTC
/// for a daily bar, the 1st at 00:00 UTC for a monthly bar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bar {
    /// Start of the span.
    pub time: Timestamp,
    /// First price.
    pub open: Money,
    /// Highest price.
    pub high: Money,
    /// Lowest price.
    pub low: Money,
    /// Last price.
    pub close: Money,
    /// Shares traded in the span.
    pub volume: u64,
}

impl Line for Bar {
    const KIND: &'static str = "bar";

    fn write(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "{} {} {} {} {} {}",
            self.time, self.open, self.high, self.low, self.close, self.volume
        );
    }

    fn parse(line: &str) -> Result<Bar, PayloadError> {
        let mut f = Fields::new(Self::KIND, line);
        let bar = Bar {
            time: f.value("timestamp", Timestamp::parse)?,
            open: f.value("open", Money::parse)?,
            high: f.value("high", Money::parse)?,
            low: f.value("low", Money::parse)?,
            close: f.value("close", Money::parse)?,
            volume: f.value("volume", volume)?,
        };
        f.end("volume", "6 fields")?;
        Ok(bar)
    }
}

/// A `getAssetList` line: `SYMBOL NAME`, NAME taking the rest of the line
/// (it may hold spaces, never a newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// Its symbol, upper-case.
    pub symbol: Symbol,
    /// Its display name; may hold spaces.
    pub name: String,
}

impl Line for Asset {
    const KIND: &'static str = "asset";

    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "{} {}", self.symbol, self.name);
    }

    fn parse(line: &str) -> Result<Asset, PayloadError> {
        let mut f = Fields::new(Self::KIND, line);
        let symbol = f.value("symbol", Symbol::parse)?;
        let name = f.remainder("name")?.to_string();
        Ok(Asset { symbol, name })
    }
}

/// A `getAssetDetails` line (protocol 1.2): `SYMBOL MARKET FRACTIONAL
/// CLASS NAME`, where MARKET is the market whose hours the asset trades
/// in (`nyse`, or `always` for one that never closes), FRACTIONAL `yes`
/// or `no`, and CLASS `equity` or `crypto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetDetail {
    /// Its symbol, upper-case.
    pub symbol: Symbol,
    /// Its market's name: 1-16 of `a-z`.
    pub market: String,
    /// Whether orders may hold a fraction of a share.
    pub fractional: bool,
    /// A crypto-currency (`crypto`), not a share (`equity`).
    pub crypto: bool,
    /// Its display name; may hold spaces.
    pub name: String,
}

impl Line for AssetDetail {
    const KIND: &'static str = "asset detail";

    fn write(&self, out: &mut String) {
        let fractional = if self.fractional { "yes" } else { "no" };
        let class = if self.crypto { "crypto" } else { "equity" };
        let _ = writeln!(
            out,
            "{} {} {fractional} {class} {}",
            self.symbol, self.market, self.name
        );
    }

    fn parse(line: &str) -> Result<AssetDetail, PayloadError> {
        let mut f = Fields::new(Self::KIND, line);
        let symbol = f.value("symbol", Symbol::parse)?;
        let market = f.value("market", |t| {
            let ok = (1..=16).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_lowercase());
            ok.then(|| t.to_string())
                .ok_or_else(|| ValueError::new("market", t, "a market name such as nyse"))
        })?;
        let fractional = f.value("fractional", |t| match t {
            "yes" => Ok(true),
            "no" => Ok(false),
            _ => Err(ValueError::new("fractional", t, "yes or no")),
        })?;
        let crypto = f.value("class", |t| match t {
            "crypto" => Ok(true),
            "equity" => Ok(false),
            _ => Err(ValueError::new("class", t, "equity or crypto")),
        })?;
        let name = f.remainder("name")?.to_string();
        Ok(AssetDetail {
            symbol,
            market,
            fractional,
            crypto,
            name,
        })
    }
}
