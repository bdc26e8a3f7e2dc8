//! Which provider serves each asset, and what came from the providers.
//! Owned by the "asset" thread (`super::feed`): it starts a provider
//! thread (`super::live`) the first time an asset needs one, sends each
//! its symbols and history jobs, and each interval collects the quotes,
//! failures, history and corporate actions that came back.

use std::collections::{HashMap, HashSet};

use crossbeam_channel::{Receiver, Sender};
use papertrader_common::value::{Date, Symbol, Timestamp};
use rusqlite::Connection;

use super::alphavantage::AlphaVantage;
use super::assets::{Spec, Specs};
use super::binance::Binance;
use super::calendar::{Clock, Market};
use super::coinbase::Coinbase;
use super::feed::FeedConfig;
use super::finnhub::Finnhub;
use super::live::{self, Job, Pace, Update};
use super::provider::{Action, Provider, Quote};
use super::yahoo::Yahoo;
use super::{Asset, Bar, Tick, store};
use crate::config::Providers;

/// Days of history asked for in a daily top-up.
const TOPUP_DAYS: u32 = 7;

/// One asset's route.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Route {
    /// The provider of quotes.
    provider: String,
    /// The provider of history (Alpha Vantage for Finnhub, with a key).
    history: String,
    /// The provider's symbol.
    remote: String,
}

/// A corporate action of one asset, for the trade thread.
pub type SymbolAction = (Symbol, Action);

/// What came in since the last interval.
#[derive(Default)]
pub struct Collected {
    /// Quotes as ticks at the update time.
    pub ticks: Vec<Tick>,
    /// Assets on a real provider without a good quote, and why.
    pub stale: HashMap<Symbol, String>,
    /// Daily bars to store.
    pub histories: Vec<(Symbol, Vec<Bar>)>,
    /// Splits and dividends reported, already effective.
    pub actions: Vec<SymbolAction>,
}

/// The routes and the provider threads.
pub struct Routes {
    providers: Providers,
    default_provider: Option<String>,
    assets_file: Option<std::path::PathBuf>,
    pace: Pace,
    clock: Clock,
    routes: HashMap<Symbol, Route>,
    /// Job senders of the provider threads started so far.
    threads: HashMap<String, Sender<Job>>,
    /// Providers that cannot run (no key) and why.
    unusable: HashMap<String, String>,
    updates_tx: Sender<Update>,
    updates: Receiver<Update>,
    /// Good quotes since the last interval.
    fresh: HashMap<Symbol, Quote>,
    /// Assets whose latest answer was a failure, and why.
    failing: HashMap<Symbol, String>,
    /// Assets with at least one good quote.
    priced: HashSet<Symbol>,
    /// Each asset's day and cumulative volume last seen.
    volumes: HashMap<Symbol, (Date, u64)>,
    /// History jobs sent and not answered.
    pending: HashSet<Symbol>,
    /// The UTC day of each asset's last top-up (or back-fill).
    topped: HashMap<Symbol, Date>,
    started: bool,
}

impl Routes {
    /// No routes yet; `set_assets` makes them.
    pub fn new(config: &FeedConfig) -> Routes {
        let (updates_tx, updates) = crossbeam_channel::unbounded();
        let offset = config
            .providers
            .market_clock
            .map_or(0, |start| start.0 - Timestamp::now().0);
        if offset != 0 {
            papertrader_common::info!(
                "market_clock: market hours run {offset} s off the real clock"
            );
        }
        Routes {
            pace: Pace {
                interval: config.interval,
                timeout: config.providers.timeout,
                max_bytes: config.providers.max_bytes,
            },
            providers: config.providers.clone(),
            default_provider: config.default_provider.clone(),
            assets_file: config.assets_file.clone(),
            clock: Clock { offset },
            routes: HashMap::new(),
            threads: HashMap::new(),
            unusable: HashMap::new(),
            updates_tx,
            updates,
            fresh: HashMap::new(),
            failing: HashMap::new(),
            priced: HashSet::new(),
            volumes: HashMap::new(),
            pending: HashSet::new(),
            topped: HashMap::new(),
            started: false,
        }
    }

    /// Whether `set_assets` ran once.
    pub fn started(&self) -> bool {
        self.started
    }

    /// The market clock.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Whether `symbol` is on a real provider.
    pub fn is_live(&self, symbol: &Symbol) -> bool {
        self.routes.contains_key(symbol)
    }

    /// Routes the listed assets (reading the asset file's `@provider`
    /// words), hands each provider thread its symbols, and returns each
    /// asset's market.
    pub fn set_assets(&mut self, assets: &[Asset]) -> HashMap<Symbol, Market> {
        self.started = true;
        let specs: Specs = match &self.assets_file {
            Some(path) => super::assets::load_specs(path).unwrap_or_else(|err| {
                papertrader_common::error!("asset routes: {err}; using price_source for all");
                Specs::new()
            }),
            None => Specs::new(),
        };
        let mut markets = HashMap::new();
        self.routes.clear();
        for asset in assets {
            let spec = specs.get(&asset.symbol).cloned().unwrap_or_default();
            let provider = spec
                .provider
                .clone()
                .or_else(|| self.default_provider.clone());
            let market = spec.market.unwrap_or(match provider.as_deref() {
                Some("yahoo" | "finnhub") => Market::Nyse,
                _ => Market::Always,
            });
            markets.insert(asset.symbol.clone(), market);
            if let Some(provider) = provider {
                self.routes.insert(
                    asset.symbol.clone(),
                    self.route(&asset.symbol, &spec, provider),
                );
            }
        }
        let mut by_provider: HashMap<String, Vec<(Symbol, String)>> = HashMap::new();
        for name in self.threads.keys() {
            by_provider.insert(name.clone(), Vec::new());
        }
        for (symbol, route) in &self.routes {
            by_provider
                .entry(route.provider.clone())
                .or_default()
                .push((symbol.clone(), route.remote.clone()));
        }
        for (name, mut symbols) in by_provider {
            symbols.sort();
            if let Some(jobs) = self.thread(&name) {
                let _ = jobs.send(Job::Symbols(symbols));
            }
        }
        markets
    }

    fn route(&self, symbol: &Symbol, spec: &Spec, provider: String) -> Route {
        let history = if provider == "finnhub" && self.providers.alphavantage_key.is_some() {
            "alphavantage".to_string()
        } else {
            provider.clone()
        };
        Route {
            remote: spec.remote.clone().unwrap_or_else(|| symbol.to_string()),
            provider,
            history,
        }
    }

    /// The job sender of provider `name`'s thread, started on first use.
    fn thread(&mut self, name: &str) -> Option<Sender<Job>> {
        if let Some(tx) = self.threads.get(name) {
            return Some(tx.clone());
        }
        if self.unusable.contains_key(name) {
            return None;
        }
        let provider = match make(name, &self.providers) {
            Ok(provider) => provider,
            Err(why) => {
                papertrader_common::error!("provider {name}: {why}");
                self.unusable.insert(name.to_string(), why);
                return None;
            }
        };
        let (tx, rx) = crossbeam_channel::unbounded();
        match live::spawn(provider, self.pace, rx, self.updates_tx.clone()) {
            Ok(_) => {
                papertrader_common::info!("provider {name} started");
                self.threads.insert(name.to_string(), tx.clone());
                Some(tx)
            }
            Err(err) => {
                papertrader_common::error!("cannot start the {name} provider thread: {err}");
                self.unusable.insert(name.to_string(), err.to_string());
                None
            }
        }
    }

    /// Back-fill for assets with no history, and a daily top-up of the
    /// last days (which also brings new splits and dividends); the first
    /// top-up of each asset comes at start.
    pub fn request_histories(&mut self, conn: &Connection, history_days: u32, now: Timestamp) {
        let today = Date::of_timestamp(now);
        let Some(yesterday) = today.0.previous_day().map(Date) else {
            return;
        };
        let due: Vec<(Symbol, Route)> = self
            .routes
            .iter()
            .filter(|(s, _)| !self.pending.contains(*s) && self.topped.get(*s) != Some(&today))
            .map(|(s, r)| (s.clone(), r.clone()))
            .collect();
        for (symbol, route) in due {
            let days = match store::has_history(conn, &symbol) {
                Ok(true) => TOPUP_DAYS,
                Ok(false) => history_days,
                Err(err) => {
                    papertrader_common::error!("cannot read the history of {symbol}: {err}");
                    continue;
                }
            };
            self.topped.insert(symbol.clone(), today);
            if days == 0 {
                continue;
            }
            let from = today
                .0
                .checked_sub(time::Duration::days(days.into()))
                .map_or(yesterday, Date);
            let Some(jobs) = self.thread(&route.history) else {
                continue;
            };
            let job = Job::History {
                symbol: symbol.clone(),
                remote: route.remote.clone(),
                from,
                to: yesterday,
            };
            if jobs.send(job).is_ok() {
                self.pending.insert(symbol);
            }
        }
    }

    /// Everything that came in since the last call.
    pub fn collect(&mut self, now: Timestamp) -> Collected {
        let mut out = Collected::default();
        for update in self.updates.try_iter().collect::<Vec<_>>() {
            match update {
                Update::Quote(symbol, quote) => {
                    self.failing.remove(&symbol);
                    self.priced.insert(symbol.clone());
                    self.fresh.insert(symbol, quote);
                }
                Update::Failed(symbol, reason) => {
                    self.fresh.remove(&symbol);
                    self.failing.insert(symbol, reason);
                }
                Update::History(symbol, result) => {
                    self.pending.remove(&symbol);
                    match result {
                        Ok(history) => {
                            for action in history.actions {
                                if action.effective <= now {
                                    out.actions.push((symbol.clone(), action));
                                }
                            }
                            out.histories.push((symbol, history.bars));
                        }
                        Err(reason) => {
                            papertrader_common::warn!("{symbol}: no history: {reason}");
                        }
                    }
                }
            }
        }
        for (symbol, route) in &self.routes {
            if let Some(why) = self.unusable.get(&route.provider) {
                let why = format!("provider {} cannot run: {why}", route.provider);
                out.stale.insert(symbol.clone(), why);
            } else if let Some(why) = self.failing.get(symbol) {
                out.stale.insert(symbol.clone(), why.clone());
            } else if !self.priced.contains(symbol) {
                let why = format!("no price from {} yet", route.provider);
                out.stale.insert(symbol.clone(), why);
            }
        }
        let fresh = std::mem::take(&mut self.fresh);
        for (symbol, quote) in fresh {
            if !self.routes.contains_key(&symbol) {
                continue;
            }
            let volume = self.volume_since(&symbol, &quote);
            let price = quote.price;
            out.ticks.push(Tick {
                symbol,
                bar: Bar {
                    time: now,
                    open: price,
                    high: price,
                    low: price,
                    close: price,
                    volume,
                },
            });
        }
        out.ticks
            .sort_by(|a, b| a.symbol.as_str().cmp(b.symbol.as_str()));
        out
    }

    /// Shares traded since the last quote, from the day's cumulative
    /// volume where the provider gives it; else 0.
    fn volume_since(&mut self, symbol: &Symbol, quote: &Quote) -> u64 {
        let Some(volume) = quote.day_volume else {
            return 0;
        };
        let day = Date::of_timestamp(quote.time);
        let delta = match self.volumes.get(symbol) {
            Some(&(seen, before)) if seen == day => volume.saturating_sub(before),
            _ => 0,
        };
        self.volumes.insert(symbol.clone(), (day, volume));
        delta
    }
}

/// Builds provider `name` from the config.
fn make(name: &str, p: &Providers) -> Result<Box<dyn Provider>, String> {
    let site = p
        .site(name)
        .ok_or_else(|| format!("unknown provider {name}"))?;
    let base = site.url.clone();
    Ok(match name {
        "yahoo" => Box::new(Yahoo {
            base,
            limit: site.rate_limit.unwrap_or_else(Yahoo::default_limit),
        }),
        "coinbase" => Box::new(Coinbase {
            base,
            limit: site.rate_limit.unwrap_or_else(Coinbase::default_limit),
        }),
        "binance" => Box::new(Binance {
            base,
            limit: site.rate_limit.unwrap_or_else(Binance::default_limit),
        }),
        "finnhub" => Box::new(Finnhub {
            base,
            key: p.finnhub_key.clone().ok_or("finnhub_key is not set")?,
            limit: site.rate_limit.unwrap_or_else(Finnhub::default_limit),
        }),
        "alphavantage" => Box::new(AlphaVantage {
            base,
            key: p
                .alphavantage_key
                .clone()
                .ok_or("alphavantage_key is not set")?,
            limit: site.rate_limit.unwrap_or_else(AlphaVantage::default_limit),
        }),
        other => return Err(format!("unknown provider {other}")),
    })
}
