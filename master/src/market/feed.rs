//! The "asset" thread (seed 3.1.6): every `update_interval` it polls every
//! price provider (`super::routes`) for a price of every listed asset,
//! stores the prices in one transaction, and hands the event loop the
//! `quotes` payload to push to every worker. An asset without stored
//! history is back-filled with daily bars first. A slow or failing
//! provider delays only its own assets (the real ones run on their own
//! threads, `super::live`): the last good prices stay, the failure is
//! logged, the next update tries again.
//!
//! It tells the trade thread ([`FeedMsg`]) each stored price set, which
//! assets are stale (their provider failed: they are left out of the
//! price set, so no order fills at an old price), which market each asset
//! trades in, and the splits and dividends the providers reported.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use papertrader_common::payload::{Line, Quote};
use papertrader_common::value::{Date, Money, Symbol, Timestamp};
use parking_lot::RwLock;
use rusqlite::Connection;

use super::assets::Terms;
use super::calendar::Clock;
use super::feed_config::FeedConfig;
use super::provider::Provider;
use super::routes::{Routes, Staleness, SymbolAction};
use super::{Asset, store};
use crate::db;
use crate::event::{Event, Notifier};

/// What the asset thread tells the trade thread. The trade thread's own
/// message type wraps it (`From<FeedMsg>`), so market never depends on
/// trade.
#[derive(Debug)]
pub enum FeedMsg {
    /// A new price set, stored: run the queue. With each asset's price
    /// the shares traded since the last set (0 when its provider reports
    /// no volume), for the volume cap.
    Prices(HashMap<Symbol, Money>, HashMap<Symbol, u64>, Timestamp),
    /// Each listed asset's terms (market, fractions), and the market
    /// clock (at start and whenever the asset list changes).
    Markets(HashMap<Symbol, Terms>, Clock),
    /// Assets without a good price (their provider failed, or has not
    /// priced them yet): they have no price in the sets that follow until
    /// this changes.
    Stale(HashMap<Symbol, Staleness>),
    /// Splits and dividends the providers reported.
    Actions(Vec<SymbolAction>),
}

/// How often old ticks are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Starts the "asset" thread on its own database connection; it tells
/// `trades` what changed. `source` is the provider `price_source` names,
/// when it is built before start (`super::routes::local_source`). It
/// stops when `stop` is closed.
pub fn spawn<M: From<FeedMsg> + Send + 'static>(
    conn: Connection,
    source: Option<Box<dyn Provider>>,
    assets: Arc<RwLock<Vec<Asset>>>,
    config: FeedConfig,
    notifier: Notifier,
    trades: Sender<M>,
    stop: Receiver<()>,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new().name("asset".into()).spawn(move || {
        let routes = Routes::new(&config, source);
        let mut feed = Feed {
            conn,
            config,
            saved: Vec::new(),
            trades,
            routes,
        };
        let mut next = Instant::now();
        let mut last_purge: Option<Instant> = None;
        loop {
            let listed = assets.read().clone();
            feed.update(&listed, &notifier);
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
    trades: Sender<M>,
    /// Which provider serves each asset, and what came from them.
    routes: Routes,
}

impl<M: From<FeedMsg>> Feed<M> {
    /// Sends `msg` to the trade thread; a trade thread that is gone is
    /// taking the daemon down, so there is nothing to do about it here.
    fn tell(&self, msg: FeedMsg) {
        let _ = self.trades.send(msg.into());
    }

    fn update(&mut self, assets: &[Asset], notifier: &Notifier) {
        if self.saved != assets || !self.routes.started() {
            match db::assets::replace(&self.conn, assets) {
                Ok(()) => self.saved = assets.to_vec(),
                Err(err) => papertrader_common::error!("cannot save the asset list: {err}"),
            }
            let markets = self.routes.set_assets(assets);
            self.tell(FeedMsg::Markets(markets, self.routes.clock()));
        }
        let started = Instant::now();
        let now = Timestamp::now();
        // Back-fills are asked for first: the simulator's history ends at
        // the price its walk goes on from in this very update.
        self.routes
            .request_histories(&self.conn, self.config.history_days, now);
        let collected = self.routes.collect(now);
        self.store_histories(collected.histories);
        if !collected.actions.is_empty() {
            self.tell(FeedMsg::Actions(collected.actions));
        }
        // The new price set runs the trade queue (PROTOCOL.md section 9),
        // but only once it is stored: no order ever fills at a price the
        // history does not hold, nor at a stale one (stale assets have no
        // tick in the set).
        self.tell(FeedMsg::Stale(collected.stale));
        let ticks = collected.ticks;
        if self.store(&ticks) {
            let volumes = ticks
                .iter()
                .map(|t| (t.symbol.clone(), t.bar.volume))
                .collect();
            self.tell(FeedMsg::Prices(price_set(&ticks), volumes, now));
        } else {
            papertrader_common::warn!("prices not stored: no trades run at them");
        }
        if started.elapsed() > self.config.interval {
            papertrader_common::warn!(
                "the update took {:?}, longer than update_interval",
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

    /// Stores the daily bars that providers sent back.
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
    use crate::market::sim::Sim;

    fn config(history_days: u32) -> FeedConfig {
        let defaults = papertrader_common::conf::Conf::empty("test");
        FeedConfig {
            interval: Duration::from_secs(60),
            history_days,
            tick_retention: Duration::from_secs(86_400),
            assets_file: None,
            default_provider: "sim".into(),
            providers: crate::config::Config::from_conf(&defaults)
                .expect("defaults")
                .providers,
        }
    }

    /// A feed on `conn` with the simulator of seed 1 as `price_source`.
    fn feed(conn: Connection, history_days: u32) -> (Feed<FeedMsg>, Receiver<FeedMsg>) {
        let (trades, trade_rx) = crossbeam_channel::unbounded();
        let config = config(history_days);
        let sim = Sim::new(1, config.interval);
        let feed = Feed {
            conn,
            routes: Routes::new(&config, Some(Box::new(sim))),
            config,
            saved: Vec::new(),
            trades,
        };
        (feed, trade_rx)
    }

    /// The regression: a price set whose store failed still reached the
    /// trade thread, which could fill orders at it.
    #[test]
    fn prices_that_failed_to_store_run_no_trades() {
        let dir = crate::db::TempDir::new("feed-nostore");
        let conn = crate::db::open(&dir.join("pt.db")).expect("db");
        let (notifier, _events) = Notifier::new(Arc::new(|| Ok(())));
        let assets = crate::market::assets::built_in();
        let (mut feed, trade_rx) = feed(conn, 0);
        feed.update(&assets, &notifier);
        let prices = trade_rx
            .try_iter()
            .filter(|m| matches!(m, FeedMsg::Prices(..)))
            .count();
        assert_eq!(prices, 1, "a stored price set runs the queue");
        feed.conn
            .execute_batch("PRAGMA query_only = ON")
            .expect("read-only from now on");
        feed.update(&assets, &notifier);
        assert!(
            !trade_rx
                .try_iter()
                .any(|m| matches!(m, FeedMsg::Prices(..))),
            "an unstored price set does not"
        );
    }

    /// The simulator back-fills an asset once, before its first price,
    /// and after a restart goes on from the last stored price.
    #[test]
    fn sim_backfills_once_and_resumes_after_a_restart() {
        let dir = crate::db::TempDir::new("feed-sim");
        let path = dir.join("pt.db");
        let (notifier, _events) = Notifier::new(Arc::new(|| Ok(())));
        let assets = &crate::market::assets::built_in()[..1];
        let symbol = &assets[0].symbol;
        let (mut first, _rx) = feed(crate::db::open(&path).expect("db"), 30);
        first.update(assets, &notifier);
        let months = store::all_time(&first.conn, symbol).expect("history");
        assert!(!months.is_empty(), "back-filled before the first price");
        let last = store::last_tick(&first.conn, symbol).expect("tick");
        let last = last.expect("a price");
        drop(first);

        let (mut second, _rx) = feed(crate::db::open(&path).expect("db"), 30);
        let routes = &mut second.routes;
        routes.set_assets(assets);
        let later = Timestamp(last.time.0 + 60);
        routes.request_histories(&second.conn, 30, later);
        let collected = routes.collect(later);
        assert!(collected.histories.is_empty(), "no second back-fill");
        let tick = &collected.ticks[0];
        assert_eq!((&tick.symbol, tick.bar.time), (symbol, later));
        assert_eq!(tick.bar.open, last.close, "the walk goes on from there");
    }
}
