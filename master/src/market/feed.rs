//! The "asset" thread (seed 3.1.6): every `update_interval` it takes prices
//! for every listed asset from the price source, stores them in one
//! transaction, and hands the event loop the `quotes` payload to push to
//! every worker. On an empty history it back-fills daily bars first. A slow
//! or failing source delays only this thread: the last good prices stay,
//! the failure is logged, the next interval tries again.
//!
//! Assets on a real provider (`super::live`) get their quotes from that
//! provider's own thread: this thread sends each provider thread its
//! symbols and history jobs, collects what came in since the last
//! interval, and tells the trade thread which assets are stale (their
//! provider failed: they are left out of the price set, so no order fills
//! at an old price), which market each asset trades in, and the splits and
//! dividends the providers reported.

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use papertrader_common::payload::{Line, Quote};
use papertrader_common::value::{Date, Money, Symbol, Timestamp};
use parking_lot::RwLock;
use rusqlite::Connection;

use super::calendar::{Clock, Market};
use super::routes::SymbolAction;
use super::source::PriceSource;
use super::{Asset, store};
use crate::event::{Event, Notifier};

pub use super::routes::Routes;

/// What the asset thread tells the trade thread. The trade thread's own
/// message type wraps it (`From<FeedMsg>`), so market never depends on
/// trade.
#[derive(Debug)]
pub enum FeedMsg {
    /// A new price set, stored: run the queue.
    Prices(HashMap<Symbol, Money>, Timestamp),
    /// Each listed asset's market, and the market clock (at start and
    /// whenever the asset list changes).
    Markets(HashMap<Symbol, Market>, Clock),
    /// Assets whose provider failed, and why: they have no price in the
    /// sets that follow until this changes.
    Stale(HashMap<Symbol, String>),
    /// Splits and dividends the providers reported.
    Actions(Vec<SymbolAction>),
}

/// How the feed runs.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// Time between two fetches (seed 2.3.4).
    pub interval: Duration,
    /// Days of daily bars to back-fill for an asset with no history.
    pub history_days: u32,
    /// How long ticks are kept.
    pub tick_retention: Duration,
    /// The asset list file, read again for routes when the list changes.
    pub assets_file: Option<std::path::PathBuf>,
    /// `price_source` when it names a real provider.
    pub default_provider: Option<String>,
    /// The real providers' settings.
    pub providers: crate::config::Providers,
}

/// How long to wait before asking a source for history again.
const RETRY_BACKFILL: Duration = Duration::from_secs(3600);

/// Whether `symbol` already has history; resumes the source from its last
/// stored price.
fn first_sight(
    conn: &Connection,
    source: &mut dyn PriceSource,
    symbol: &Symbol,
) -> rusqlite::Result<bool> {
    if let Some(tick) = store::last_tick(conn, symbol)? {
        source.resume(symbol, tick.close);
    }
    store::has_history(conn, symbol)
}

/// How often old ticks are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Starts the "asset" thread on its own database connection; it tells
/// `trades` what changed. It stops when `stop` is closed.
pub fn spawn<M: From<FeedMsg> + Send + 'static>(
    conn: Connection,
    mut source: Box<dyn PriceSource>,
    assets: Arc<RwLock<Vec<Asset>>>,
    config: FeedConfig,
    notifier: Notifier,
    trades: Sender<M>,
    stop: Receiver<()>,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new().name("asset".into()).spawn(move || {
        let routes = Routes::new(&config);
        let mut feed = Feed {
            conn,
            config,
            saved: Vec::new(),
            backfilled: HashSet::new(),
            seen: HashSet::new(),
            retry_at: HashMap::new(),
            trades,
            routes,
        };
        let mut next = Instant::now();
        let mut last_purge: Option<Instant> = None;
        loop {
            let listed = assets.read().clone();
            feed.update(&mut *source, &listed, &notifier);
            if last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY) {
                feed.purge();
                last_purge = Some(Instant::now());
            }
            next += feed.config.interval;
            let now = Instant::now();
            if next < now {
                next = now + feed.config.interval;
            }
            match stop.recv_timeout(next - now) {
                Err(RecvTimeoutError::Timeout) => continue,
                _ => return,
            }
        }
    })
}

/// The closing price of each tick: what the trade queue fills at.
fn price_set(ticks: &[super::Tick]) -> HashMap<Symbol, Money> {
    ticks
        .iter()
        .map(|t| (t.symbol.clone(), t.bar.close))
        .collect()
}

struct Feed<M> {
    conn: Connection,
    config: FeedConfig,
    saved: Vec<Asset>,
    /// Assets whose history is settled for this run.
    backfilled: HashSet<Symbol>,
    /// Assets looked at once already.
    seen: HashSet<Symbol>,
    /// When a failed back-fill may be tried again.
    retry_at: HashMap<Symbol, Instant>,
    trades: Sender<M>,
    /// Which assets are on real providers, and what came from them.
    routes: Routes,
}

impl<M: From<FeedMsg>> Feed<M> {
    /// Sends `msg` to the trade thread; a trade thread that is gone is
    /// taking the daemon down, so there is nothing to do about it here.
    fn tell(&self, msg: FeedMsg) {
        let _ = self.trades.send(msg.into());
    }

    fn update(&mut self, source: &mut dyn PriceSource, assets: &[Asset], notifier: &Notifier) {
        if self.saved != assets || !self.routes.started() {
            match store::save_assets(&self.conn, assets) {
                Ok(()) => self.saved = assets.to_vec(),
                Err(err) => papertrader_common::error!("cannot save the asset list: {err}"),
            }
            let markets = self.routes.set_assets(assets);
            self.tell(FeedMsg::Markets(markets, self.routes.clock()));
        }
        let now = Timestamp::now();
        let live = self.routes.collect(now);
        self.store_histories(live.histories);
        if !live.actions.is_empty() {
            self.tell(FeedMsg::Actions(live.actions));
        }
        let legacy: Vec<Asset> = assets
            .iter()
            .filter(|a| !self.routes.is_live(&a.symbol))
            .cloned()
            .collect();
        self.backfill(source, &legacy);
        self.routes
            .request_histories(&self.conn, self.config.history_days, now);
        let started = Instant::now();
        let mut stale = live.stale;
        let mut ticks = live.ticks;
        if !legacy.is_empty() {
            match source.fetch(&legacy, now) {
                Ok(more) => ticks.extend(more),
                Err(err) => {
                    papertrader_common::warn!(
                        "{} source: {err}; keeping the last prices",
                        source.name()
                    );
                    for asset in &legacy {
                        let reason = format!("{} source: {err}", source.name());
                        stale.insert(asset.symbol.clone(), reason);
                    }
                }
            }
        }
        // The new price set runs the trade queue (PROTOCOL.md section 9),
        // but only once it is stored: no order ever fills at a price the
        // history does not hold, nor at a stale one (stale assets have no
        // tick in the set).
        self.tell(FeedMsg::Stale(stale));
        if self.store(&ticks) {
            self.tell(FeedMsg::Prices(price_set(&ticks), now));
        } else {
            papertrader_common::warn!("prices not stored: no trades run at them");
        }
        if started.elapsed() > self.config.interval {
            papertrader_common::warn!(
                "{} source took {:?}, longer than update_interval",
                source.name(),
                started.elapsed()
            );
        }
        match quotes_payload(&self.conn, assets, now) {
            Ok(payload) => {
                notifier.send(Event::Quotes(payload));
            }
            Err(err) => papertrader_common::error!("cannot read back the quotes: {err}"),
        }
    }

    /// Stores one price set in one transaction; false if it failed.
    fn store(&mut self, ticks: &[super::Tick]) -> bool {
        let result = self.conn.unchecked_transaction().and_then(|tx| {
            let stored = store::store_ticks(&tx, ticks)?;
            tx.commit()?;
            Ok(stored)
        });
        match result {
            Ok(n) => {
                papertrader_common::debug!("stored {n} ticks");
                true
            }
            Err(err) => {
                papertrader_common::error!("cannot store ticks: {err}");
                false
            }
        }
    }

    /// Daily history for assets that had none when first seen, from the
    /// source; a failed back-fill is tried again every hour. An asset seen
    /// for the first time also resumes the source from its last price.
    fn backfill(&mut self, source: &mut dyn PriceSource, assets: &[Asset]) {
        let today = Date::of_timestamp(Timestamp::now());
        for asset in assets {
            let symbol = &asset.symbol;
            if self.backfilled.contains(symbol) {
                continue;
            }
            if self.seen.insert(symbol.clone()) {
                match first_sight(&self.conn, source, symbol) {
                    Ok(true) => {
                        self.backfilled.insert(symbol.clone());
                        continue;
                    }
                    Ok(false) => {}
                    Err(err) => {
                        papertrader_common::error!("cannot read the history of {symbol}: {err}");
                        self.seen.remove(symbol);
                        continue;
                    }
                }
            }
            if self
                .retry_at
                .get(symbol)
                .is_some_and(|t| Instant::now() < *t)
            {
                continue;
            }
            match self.fetch_history(source, asset, today) {
                Ok(n) => {
                    if n > 0 {
                        papertrader_common::info!("{symbol}: back-filled {n} daily bars");
                    }
                    self.backfilled.insert(symbol.clone());
                    self.retry_at.remove(symbol);
                }
                Err(err) => {
                    papertrader_common::warn!(
                        "{symbol}: no history from the {} source: {err}; retrying in an hour",
                        source.name()
                    );
                    self.retry_at
                        .insert(symbol.clone(), Instant::now() + RETRY_BACKFILL);
                }
            }
        }
    }

    fn fetch_history(
        &mut self,
        source: &mut dyn PriceSource,
        asset: &Asset,
        today: Date,
    ) -> Result<usize, String> {
        let bars = source
            .history(asset, self.config.history_days, today)
            .map_err(|e| e.to_string())?;
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| e.to_string())?;
        let n = store::store_daily(&tx, &asset.symbol, &bars).map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
        Ok(n)
    }

    /// Stores the daily bars that provider threads sent back.
    fn store_histories(&mut self, histories: Vec<(Symbol, Vec<super::Bar>)>) {
        for (symbol, bars) in histories {
            let result = self.conn.unchecked_transaction().and_then(|tx| {
                let n = store::store_daily(&tx, &symbol, &bars)?;
                tx.commit()?;
                Ok(n)
            });
            match result {
                Ok(0) => {}
                Ok(n) => papertrader_common::info!("{symbol}: stored {n} daily bars"),
                Err(err) => papertrader_common::error!("cannot store history of {symbol}: {err}"),
            }
        }
    }

    fn purge(&mut self) {
        let retention = i64::try_from(self.config.tick_retention.as_secs()).unwrap_or(i64::MAX);
        let before = Timestamp(Timestamp::now().0.saturating_sub(retention));
        match store::purge_ticks(&self.conn, before) {
            Ok(0) => {}
            Ok(n) => papertrader_common::info!("purged {n} ticks older than the retention"),
            Err(err) => papertrader_common::error!("cannot purge old ticks: {err}"),
        }
    }
}

/// The `quotes` payload: a quote line per asset with a price, OPEN HIGH
/// LOW VOLUME being the current UTC day so far.
pub fn quotes_payload(
    conn: &Connection,
    assets: &[Asset],
    now: Timestamp,
) -> rusqlite::Result<Vec<u8>> {
    let today = Date::of_timestamp(now);
    let mut out = String::new();
    for asset in assets {
        let (Some(tick), Some(day)) = (
            store::last_tick(conn, &asset.symbol)?,
            store::daily_bar(conn, &asset.symbol, today)?,
        ) else {
            continue;
        };
        let quote = Quote {
            symbol: asset.symbol.clone(),
            price: tick.close,
            time: tick.time,
            open: day.open,
            high: day.high,
            low: day.low,
            volume: day.volume,
        };
        quote.write(&mut out);
    }
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::source::SimSource;

    /// The regression: a price set whose store failed still reached the
    /// trade thread, which could fill orders at it.
    #[test]
    fn prices_that_failed_to_store_run_no_trades() {
        let dir = crate::db::TempDir::new("feed-nostore");
        let conn = crate::db::open(&dir.join("pt.db")).expect("db");
        let (trades, trade_rx) = crossbeam_channel::unbounded::<FeedMsg>();
        let (notifier, _events) = Notifier::new(Arc::new(|| Ok(())));
        let assets = crate::market::assets::built_in();
        let config = FeedConfig {
            interval: Duration::from_secs(60),
            history_days: 0,
            tick_retention: Duration::from_secs(86_400),
            assets_file: None,
            default_provider: None,
            providers: crate::config::Config::from_conf(&papertrader_common::conf::Conf::empty(
                "test",
            ))
            .expect("defaults")
            .providers,
        };
        let mut feed = Feed {
            conn,
            routes: Routes::new(&config),
            config,
            saved: Vec::new(),
            backfilled: assets.iter().map(|a| a.symbol.clone()).collect(),
            seen: assets.iter().map(|a| a.symbol.clone()).collect(),
            retry_at: HashMap::new(),
            trades,
        };
        let mut source = SimSource::new(1, Duration::from_secs(60));
        feed.update(&mut source, &assets, &notifier);
        let prices = trade_rx
            .try_iter()
            .filter(|m| matches!(m, FeedMsg::Prices(..)))
            .count();
        assert_eq!(prices, 1, "a stored price set runs the queue");
        feed.conn
            .execute_batch("PRAGMA query_only = ON")
            .expect("read-only from now on");
        feed.update(&mut source, &assets, &notifier);
        assert!(
            !trade_rx
                .try_iter()
                .any(|m| matches!(m, FeedMsg::Prices(..))),
            "an unstored price set does not"
        );
    }
}
