//! The one kind of price source (DESIGN.md "Price sources"): every
//! provider, the simulator (`super::sim`), the CSV replay (`super::csv`)
//! and the CSV quote service (`super::http`) as much as the real
//! providers' web APIs (`super::api`, run on their own threads by
//! `super::live`), is a [`Provider`]. The "asset" thread (`super::feed`)
//! owns them all through `super::routes`: it hands each provider its
//! assets and history jobs, and polls every provider once per update.

use papertrader_common::value::{Date, Money, Symbol, Timestamp};

use super::Bar;
use super::error::FeedError;

/// A corporate action a provider reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// `to` new shares for every `from` held (2-for-1: to 2, from 1).
    Split {
        /// New shares ...
        to: u32,
        /// ... for this many old ones.
        from: u32,
    },
    /// Cash per share.
    Dividend(Money),
}

/// A split or dividend and when it takes effect (the ex-date; Yahoo's
/// event time is the ex-date's market open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Action {
    /// Shares held before this instant take part.
    pub effective: Timestamp,
    /// What happens.
    pub kind: ActionKind,
}

/// Daily history: bars oldest first, and the actions in that span.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Daily bars, each at 00:00 UTC of its day.
    pub bars: Vec<Bar>,
    /// Splits and dividends, when the provider reports them.
    pub actions: Vec<Action>,
}

impl History {
    /// Daily bars without splits or dividends.
    pub fn of_bars(bars: Vec<Bar>) -> History {
        History {
            bars,
            actions: Vec::new(),
        }
    }
}

/// The daily bars of one asset to ask a provider for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryJob {
    /// Our symbol.
    pub symbol: Symbol,
    /// The provider's.
    pub remote: String,
    /// First day.
    pub from: Date,
    /// Last day (inclusive).
    pub to: Date,
}

/// What a provider reports when polled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// The asset's bar for this update, timed at the update, with the
    /// volume traded since the last one.
    Price(Symbol, Bar),
    /// No price this time, and why (already logged).
    Failed(Symbol, FeedError),
    /// The answer to a [`HistoryJob`].
    History(Symbol, Result<History, FeedError>),
}

/// What every price source does. Calls come from the "asset" thread, so
/// a provider that does I/O there (`super::http`) bounds every request.
pub trait Provider: Send {
    /// Its name in the config, the asset list and logs (`sim`, `yahoo`...).
    fn name(&self) -> &'static str;

    /// The assets it prices from now on: (our symbol, the provider's).
    fn set_symbols(&mut self, symbols: Vec<(Symbol, String)>);

    /// Continues `symbol` from its last stored price after a restart.
    /// Only the simulator makes its prices up, so only it has anything
    /// to continue.
    fn resume(&mut self, _symbol: &Symbol, _last: Money) {}

    /// Whether its history is asked for again every UTC day, which brings
    /// the days missed and new splits and dividends (a failed request then
    /// waits for the next day). Otherwise an asset is back-filled once,
    /// and a failure is tried again an hour later.
    fn tops_up(&self) -> bool {
        false
    }

    /// Asks for daily bars; the answer comes with a later [`poll`] (the
    /// next one, from a provider that has the bars at hand).
    ///
    /// [`poll`]: Provider::poll
    fn ask_history(&mut self, job: HistoryJob);

    /// Everything since the last poll: a price (or a failure) for the
    /// update at `now`, and the history answers ready.
    fn poll(&mut self, now: Timestamp) -> Vec<Update>;
}

/// The bar of one price (a quote): open, high, low and close all `price`.
pub fn price_bar(time: Timestamp, price: Money, volume: u64) -> Bar {
    Bar {
        time,
        open: price,
        high: price,
        low: price,
        close: price,
        volume,
    }
}

/// Puts `bars` oldest first, one per time.
pub fn sort_bars(bars: &mut Vec<Bar>) {
    bars.sort_by_key(|b| b.time);
    bars.dedup_by_key(|b| b.time);
}

/// Err unless low <= open, close <= high.
pub fn check_bar(bar: &Bar) -> Result<(), FeedError> {
    let (o, h, l, c) = (bar.open, bar.high, bar.low, bar.close);
    if l <= o.min(c) && h >= o.max(c) {
        return Ok(());
    }
    Err(FeedError::said(format!(
        "inconsistent bar: open {o} high {h} low {l} close {c}, expected low <= open, close <= high"
    )))
}
