//! Which provider serves each asset, and what came from the providers.
//! Owned by the "asset" thread (`super::feed`): it holds every provider
//! (`super::provider`), the one `price_source` names from the start and
//! each real one from the first time an asset needs it; it hands each
//! its symbols and history jobs, and at every update polls them all for
//! prices, failures, history and corporate actions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use papertrader_common::value::{Date, Symbol, Timestamp};
use rusqlite::Connection;

use super::alphavantage::AlphaVantage;
use super::api::Api;
use super::assets::{Spec, Specs, Terms};
use super::binance::Binance;
use super::calendar::{Clock, Market};
use super::coinbase::Coinbase;
use super::csv::Replay;
use super::error::{Context, FeedError};
use super::feed_config::FeedConfig;
use super::finnhub::Finnhub;
use super::http::HttpQuotes;
use super::live::{Live, Pace};
use super::provider::{Action, HistoryJob, Provider, Update};
use super::sim::Sim;
use super::yahoo::Yahoo;
use super::{Asset, Bar, Tick, store};
use crate::config::{PriceSourceKind, Providers};

/// Days of history asked for in a daily top-up.
const TOPUP_DAYS: u32 = 7;
/// How long a failed back-fill waits, from a provider that does not top
/// up, before it is asked for again.
const RETRY_BACKFILL_S: i64 = 3600;

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

/// Why an asset has no price in a set. What failed stays in the log (it
/// may name the provider's address): clients hear only which of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staleness {
    /// Its provider has not priced it yet (starting, or back-filling).
    NotYet,
    /// Its provider failed on it, or cannot run.
    Failing,
}

/// What came in since the last update.
#[derive(Default)]
pub struct Collected {
    /// This update's prices, by symbol.
    pub ticks: Vec<Tick>,
    /// Assets without a good price, and why.
    pub stale: HashMap<Symbol, Staleness>,
    /// Daily bars to store.
    pub histories: Vec<(Symbol, Vec<Bar>)>,
    /// Splits and dividends reported, already effective.
    pub actions: Vec<SymbolAction>,
}

/// The routes and the providers.
pub struct Routes {
    config: Providers,
    default_provider: String,
    assets_file: Option<std::path::PathBuf>,
    pace: Pace,
    clock: Clock,
    routes: HashMap<Symbol, Route>,
    /// The providers started so far, by name.
    providers: HashMap<String, Box<dyn Provider>>,
    /// Providers that cannot run (no key) and why.
    unusable: HashMap<String, FeedError>,
    /// Assets whose latest answer was a failure, and why.
    failing: HashMap<Symbol, FeedError>,
    /// Assets with at least one good price.
    priced: HashSet<Symbol>,
    /// Assets looked at once already (their provider resumed).
    seen: HashSet<Symbol>,
    /// History jobs sent and not answered.
    pending: HashSet<Symbol>,
    /// When each asset's history is next asked for.
    history_due: HashMap<Symbol, Timestamp>,
    started: bool,
}

impl Routes {
    /// No routes yet; `set_assets` makes them. `source` is the provider
    /// `price_source` names when it was built before start (sim, csv,
    /// http); a real one starts when an asset needs it.
    pub fn new(config: &FeedConfig, source: Option<Box<dyn Provider>>) -> Routes {
        let offset = config
            .providers
            .market_clock
            .map_or(0, |start| start.0 - Timestamp::now().0);
        if offset != 0 {
            papertrader_common::info!(
                "market_clock: market hours run {offset} s off the real clock"
            );
        }
        let providers = source.map(|p| (p.name().to_string(), p));
        Routes {
            pace: Pace {
                interval: config.interval,
                timeout: config.providers.timeout,
                max_bytes: config.providers.max_bytes,
            },
            config: config.providers.clone(),
            default_provider: config.default_provider.clone(),
            assets_file: config.assets_file.clone(),
            clock: Clock { offset },
            routes: HashMap::new(),
            providers: providers.into_iter().collect(),
            unusable: HashMap::new(),
            failing: HashMap::new(),
            priced: HashSet::new(),
            seen: HashSet::new(),
            pending: HashSet::new(),
            history_due: HashMap::new(),
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

    /// Routes the listed assets (reading the asset file's `@provider`
    /// words), hands each provider its symbols, and returns each asset's
    /// market.
    pub fn set_assets(&mut self, assets: &[Asset]) -> HashMap<Symbol, Terms> {
        self.started = true;
        let specs: Specs = match &self.assets_file {
            Some(path) => super::assets::load_specs(path).unwrap_or_else(|err| {
                papertrader_common::error!("asset routes: {err}; using price_source for all");
                Specs::new()
            }),
            None => super::assets::built_in_specs(),
        };
        let mut markets = HashMap::new();
        self.routes.clear();
        for asset in assets {
            let spec = specs.get(&asset.symbol).cloned().unwrap_or_default();
            let provider = spec
                .provider
                .clone()
                .unwrap_or_else(|| self.default_provider.clone());
            let market = match provider.as_str() {
                "yahoo" | "finnhub" => Market::Nyse,
                _ => Market::Always,
            };
            let mut terms = Terms::of(&spec, market);
            terms.crypto = spec
                .crypto
                .unwrap_or(matches!(provider.as_str(), "coinbase" | "binance"));
            markets.insert(asset.symbol.clone(), terms);
            let route = self.route(&asset.symbol, &spec, provider);
            self.routes.insert(asset.symbol.clone(), route);
        }
        let mut by_provider: HashMap<String, Vec<(Symbol, String)>> = HashMap::new();
        for name in self.providers.keys() {
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
            if let Some(provider) = self.provider(&name) {
                provider.set_symbols(symbols);
            }
        }
        markets
    }

    fn route(&self, symbol: &Symbol, spec: &Spec, provider: String) -> Route {
        let history = if provider == "finnhub" && self.config.alphavantage_key.is_some() {
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

    /// Provider `name`, a real one started on first use.
    fn provider(&mut self, name: &str) -> Option<&mut dyn Provider> {
        if !self.providers.contains_key(name) && !self.unusable.contains_key(name) {
            match start(name, &self.config, self.pace) {
                Ok(provider) => {
                    papertrader_common::info!("provider {name} started");
                    self.providers.insert(name.to_string(), provider);
                }
                Err(why) => {
                    papertrader_common::error!("provider {name}: {why}");
                    self.unusable.insert(name.to_string(), why);
                }
            }
        }
        Some(self.providers.get_mut(name)?.as_mut())
    }

    /// Asks for the history that is due: a back-fill of `history_days`
    /// for assets with none stored and, from providers that top up, the
    /// last days again every UTC day (the first top-up comes at start).
    /// An asset seen for the first time also resumes its provider from
    /// its last stored price.
    pub fn request_histories(&mut self, conn: &Connection, history_days: u32, now: Timestamp) {
        let due: Vec<(Symbol, Route)> = self
            .routes
            .iter()
            .filter(|(s, _)| !self.pending.contains(*s))
            .filter(|(s, _)| self.history_due.get(*s).is_none_or(|t| *t <= now))
            .map(|(s, r)| (s.clone(), r.clone()))
            .collect();
        for (symbol, route) in due {
            if let Err(err) = self.request_history(conn, &symbol, &route, history_days, now) {
                papertrader_common::error!("cannot read the history of {symbol}: {err}");
            }
        }
    }

    fn request_history(
        &mut self,
        conn: &Connection,
        symbol: &Symbol,
        route: &Route,
        history_days: u32,
        now: Timestamp,
    ) -> rusqlite::Result<()> {
        if !self.seen.contains(symbol) {
            let last = store::last_tick(conn, symbol)?;
            if let (Some(tick), Some(provider)) = (last, self.provider(&route.provider)) {
                provider.resume(symbol, tick.close);
            }
            self.seen.insert(symbol.clone());
        }
        let stored = store::has_history(conn, symbol)?;
        let today = Date::of_timestamp(now);
        let tomorrow = Timestamp(today.start().0 + 86_400);
        let Some(tops_up) = self.provider(&route.history).map(|p| p.tops_up()) else {
            self.history_due.insert(symbol.clone(), tomorrow);
            return Ok(());
        };
        let (days, next) = match (stored, tops_up) {
            (false, true) => (history_days, tomorrow),
            (true, true) => (TOPUP_DAYS, tomorrow),
            (false, false) => (history_days, Timestamp(i64::MAX)),
            (true, false) => (0, Timestamp(i64::MAX)),
        };
        self.history_due.insert(symbol.clone(), next);
        let Some(to) = today.0.previous_day().map(Date) else {
            return Ok(());
        };
        if days == 0 {
            return Ok(());
        }
        let from = today
            .0
            .checked_sub(time::Duration::days(days.into()))
            .map_or(to, Date);
        let job = HistoryJob {
            symbol: symbol.clone(),
            remote: route.remote.clone(),
            from,
            to,
        };
        if let Some(provider) = self.provider(&route.history) {
            provider.ask_history(job);
            self.pending.insert(symbol.clone());
        }
        Ok(())
    }

    /// Polls every provider for the update at `now`.
    pub fn collect(&mut self, now: Timestamp) -> Collected {
        let mut out = Collected::default();
        let mut prices = BTreeMap::new();
        let updates: Vec<Update> = self
            .providers
            .values_mut()
            .flat_map(|provider| provider.poll(now))
            .collect();
        for update in updates {
            match update {
                Update::Price(symbol, bar) => {
                    self.failing.remove(&symbol);
                    self.priced.insert(symbol.clone());
                    prices.insert(symbol, bar);
                }
                Update::Failed(symbol, reason) => {
                    prices.remove(&symbol);
                    self.failing.insert(symbol, reason);
                }
                Update::History(symbol, Ok(history)) => {
                    self.pending.remove(&symbol);
                    for action in history.actions {
                        if action.effective <= now {
                            out.actions.push((symbol.clone(), action));
                        }
                    }
                    out.histories.push((symbol, history.bars));
                }
                Update::History(symbol, Err(reason)) => {
                    self.pending.remove(&symbol);
                    self.history_failed(symbol, &reason, now);
                }
            }
        }
        out.stale = self.stale();
        out.ticks = prices
            .into_iter()
            .filter(|(symbol, _)| self.routes.contains_key(symbol))
            .map(|(symbol, bar)| Tick { symbol, bar })
            .collect();
        out
    }

    /// A provider that tops up asks again the next day anyway; the others
    /// are asked again an hour later.
    fn history_failed(&mut self, symbol: Symbol, reason: &FeedError, now: Timestamp) {
        let tops_up = self
            .routes
            .get(&symbol)
            .and_then(|route| self.providers.get(&route.history))
            .is_none_or(|provider| provider.tops_up());
        if tops_up {
            papertrader_common::warn!("{symbol}: no history: {reason}");
        } else {
            papertrader_common::warn!("{symbol}: no history: {reason}; retrying in an hour");
            let retry = Timestamp(now.0 + RETRY_BACKFILL_S);
            self.history_due.insert(symbol, retry);
        }
    }

    /// The assets without a good price, and why (the failures themselves
    /// are logged where they happen).
    fn stale(&self) -> HashMap<Symbol, Staleness> {
        let why = |symbol: &Symbol, route: &Route| {
            if self.unusable.contains_key(&route.provider) || self.failing.contains_key(symbol) {
                Some(Staleness::Failing)
            } else if !self.priced.contains(symbol) {
                Some(Staleness::NotYet)
            } else {
                None
            }
        };
        self.routes
            .iter()
            .filter_map(|(symbol, route)| Some((symbol.clone(), why(symbol, route)?)))
            .collect()
    }
}

/// The provider `price_source` names when it is not a real provider
/// (sim, csv, http): built before the master starts, so that `-n` and a
/// start read `csv_file` and stop at its first bad line. None for a real
/// provider, which starts when an asset needs it.
pub fn local_source(
    kind: &PriceSourceKind,
    interval: Duration,
) -> Result<Option<Box<dyn Provider>>, FeedError> {
    Ok(Some(match kind {
        PriceSourceKind::Sim { seed } => Box::new(Sim::new(*seed, interval)),
        PriceSourceKind::Csv(path) => {
            Box::new(Replay::load(path).map_err(|e| e.within(Context::CsvFile))?)
        }
        PriceSourceKind::Http(config) => Box::new(HttpQuotes::new(config.clone())),
        PriceSourceKind::Provider(_) => return Ok(None),
    }))
}

/// Starts real provider `name` on its own thread, within its configured
/// limit or else its documented one.
fn start(name: &str, config: &Providers, pace: Pace) -> Result<Box<dyn Provider>, FeedError> {
    let api = api(name, config)?;
    let configured = config.site(name).and_then(|site| site.rate_limit);
    let limit = configured.unwrap_or_else(|| api.default_limit());
    let thread = |e| FeedError::said(format!("cannot start its thread: {e}"));
    let live = Live::spawn(api, limit, pace).map_err(thread)?;
    Ok(Box::new(live))
}

/// Builds the web API of real provider `name` from the config.
fn api(name: &str, p: &Providers) -> Result<Box<dyn Api>, FeedError> {
    let unknown = || FeedError::said(format!("unknown provider {name}"));
    let base = p.site(name).ok_or_else(unknown)?.url.clone();
    let key = |value: &Option<String>, setting: &str| {
        let unset = || FeedError::said(format!("{setting} is not set"));
        value.clone().ok_or_else(unset)
    };
    Ok(match name {
        "yahoo" => Box::new(Yahoo { base }),
        "coinbase" => Box::new(Coinbase { base }),
        "binance" => Box::new(Binance { base }),
        "finnhub" => Box::new(Finnhub {
            base,
            key: key(&p.finnhub_key, "finnhub_key")?,
        }),
        "alphavantage" => Box::new(AlphaVantage {
            base,
            key: key(&p.alphavantage_key, "alphavantage_key")?,
        }),
        _ => return Err(unknown()),
    })
}
