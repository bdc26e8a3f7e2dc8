//! ptmasterd.conf(5): every key, its default, and the typed configuration
//! the daemon runs on. Read once on the main thread before anything starts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use papertrader_common::conf::{Collector, Conf, ConfError, ConfErrors};
use papertrader_common::log::LogConfig;
use papertrader_common::value::{Money, Timestamp};

use crate::auth::AuthConfig;
use crate::market::api::Limit;
use crate::market::http::HttpConfig;
use crate::oidc::OidcConfig;
use crate::ratelimit::RateLimitConfig;
use crate::trade::fees::{Fees, MAX_BPS, MAX_CAP_BPS};
use crate::trade::position::ShortRules;

/// Every key ptmasterd.conf may hold, in the order of the man page.
pub const KEYS: &[&str] = &[
    "listen",
    "state_dir",
    "database",
    "wal_autocheckpoint",
    "control_socket",
    "pid_file",
    "gnupg_home",
    "master_key",
    "tls_cert",
    "tls_key",
    "workers_file",
    "max_workers",
    "log_file",
    "log_level",
    "log_memory_entries",
    "log_max_message",
    "log_max_bytes",
    "starting_cash",
    "session_ttl_short",
    "session_ttl_long",
    "auth_threads",
    "argon2_memory_kib",
    "argon2_iterations",
    "rate_limit_failures",
    "rate_limit_window",
    "rate_limit_lockout",
    "rate_limit_user_failures",
    "register_limit",
    "oidc_providers_file",
    "oidc_clock_skew",
    "oidc_refresh_min",
    "oidc_jwks_max_age",
    "oidc_http_timeout",
    "handshake_timeout",
    "ping_interval",
    "link_timeout",
    "session_link_grace",
    "frame_timeout",
    "max_output",
    "max_conns_per_address",
    "max_waiting_orders",
    "max_waiting_orders_per_account",
    "max_open_orders",
    "short_selling",
    "short_min_equity",
    "short_initial_margin",
    "short_maintenance_margin",
    "fee_per_order",
    "fee_per_share",
    "fee_percent",
    "fee_minimum",
    "slippage_bps",
    "volume_cap",
    "assets_file",
    "price_source",
    "update_interval",
    "sim_seed",
    "history_days",
    "csv_file",
    "http_quote_url",
    "http_history_url",
    "http_timeout",
    "http_max_bytes",
    "tick_retention_days",
    "data_threads",
    // Real price feeds (issue 14); provider_* are the old names.
    "feed_timeout",
    "feed_max_bytes",
    "provider_timeout",
    "provider_max_bytes",
    "yahoo_url",
    "yahoo_rate_limit",
    "finnhub_url",
    "finnhub_key",
    "finnhub_rate_limit",
    "alphavantage_url",
    "alphavantage_key",
    "alphavantage_rate_limit",
    "coinbase_url",
    "coinbase_rate_limit",
    "binance_url",
    "binance_rate_limit",
    "market_clock",
];

/// Where the prices of the assets that name no provider come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceSourceKind {
    /// The offline simulated market, seeded.
    Sim {
        /// The random walk's seed.
        seed: u64,
    },
    /// Bars replayed from a CSV file.
    Csv(PathBuf),
    /// Quotes over HTTP(S) from a CSV quote service.
    Http(HttpConfig),
    /// A real provider (`yahoo`, `finnhub`, `coinbase`, `binance`).
    Provider(String),
}

impl PriceSourceKind {
    /// The provider's name, as the asset thread routes to it.
    pub fn name(&self) -> &str {
        match self {
            PriceSourceKind::Sim { .. } => "sim",
            PriceSourceKind::Csv(_) => "csv",
            PriceSourceKind::Http(_) => "http",
            PriceSourceKind::Provider(name) => name,
        }
    }
}

/// The real price providers' settings (ptmasterd.conf(5) "Real prices").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Providers {
    /// Limit on each request.
    pub timeout: Duration,
    /// Largest answer accepted.
    pub max_bytes: usize,
    /// Base URL and request limit per provider, by name.
    pub sites: Vec<Site>,
    /// Finnhub's key; Finnhub is usable only with one.
    pub finnhub_key: Option<String>,
    /// Alpha Vantage's key; with one, back-fills of Finnhub assets use it.
    pub alphavantage_key: Option<String>,
    /// Where the market-hours clock starts (tests, demonstrations).
    pub market_clock: Option<papertrader_common::value::Timestamp>,
}

/// One provider's base URL and limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// `yahoo`, `finnhub`, `alphavantage`, `coinbase` or `binance`.
    pub name: &'static str,
    /// Base URL without a trailing slash.
    pub url: String,
    /// `N/DURATION`, checked; None: the provider's documented default.
    pub rate_limit: Option<crate::market::api::Limit>,
}

impl Providers {
    /// The settings of provider `name`.
    pub fn site(&self, name: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.name == name)
    }
}

/// The real providers' keys.
fn providers(conf: &Conf, c: &mut Collector) -> Providers {
    use crate::market::{alphavantage, binance, coinbase, finnhub, yahoo};
    let defaults = [
        ("yahoo", yahoo::DEFAULT_URL),
        ("finnhub", finnhub::DEFAULT_URL),
        ("alphavantage", alphavantage::DEFAULT_URL),
        ("coinbase", coinbase::DEFAULT_URL),
        ("binance", binance::DEFAULT_URL),
    ];
    let mut sites = Vec::new();
    for (name, default) in defaults {
        let url_key = format!("{name}_url");
        let url = c.take(conf.string(&url_key, default));
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            let message = format!("{url_key} = {url:?}: expected an http:// or https:// URL");
            c.push(refusal(conf, &url_key, message));
        }
        let limit_key = format!("{name}_rate_limit");
        let rate_limit = conf.raw(&limit_key).map(Limit::parse).transpose();
        let rate_limit =
            rate_limit.map_err(|e| refusal(conf, &limit_key, format!("{limit_key} = {e}")));
        sites.push(Site {
            name,
            url: url.trim_end_matches('/').to_string(),
            rate_limit: c.take(rate_limit),
        });
    }
    let key = |c: &mut Collector, k: &str| {
        let v = c.take(conf.string(k, ""));
        (!v.is_empty()).then_some(v)
    };
    let market_clock = conf.raw("market_clock").map(|text| {
        let expected =
            format!("market_clock = {text:?}: expected a time like 2026-03-07T15:00:00Z");
        let t: jiff::Timestamp = text
            .parse()
            .map_err(|_| refusal(conf, "market_clock", expected))?;
        Ok(Timestamp(t.as_second()))
    });
    let timeout = renamed(conf, c, "feed_timeout", "provider_timeout");
    let max_bytes = renamed(conf, c, "feed_max_bytes", "provider_max_bytes");
    Providers {
        timeout: c.take(conf.duration(timeout, secs(10))),
        max_bytes: c.take(conf.u64(max_bytes, 4 << 20, 1024..=1 << 30)) as usize,
        sites,
        finnhub_key: key(c, "finnhub_key"),
        alphavantage_key: key(c, "alphavantage_key"),
        market_clock: c.take(market_clock.transpose()),
    }
}

/// The key to read of one renamed: `new`, or `old` when only the old name
/// is set (documented as an alias); both set is an error.
fn renamed<'k>(conf: &Conf, c: &mut Collector, new: &'k str, old: &'k str) -> &'k str {
    match (conf.line(new), conf.line(old)) {
        (Some(_), Some(_)) => {
            let message = format!("{old} is the old name of {new}; set only {new}");
            c.push(refusal(conf, old, message));
            new
        }
        (None, Some(_)) => old,
        _ => new,
    }
}

/// Default config file, used when it exists and `-c` is not given.
pub const DEFAULT_FILE: &str = "/etc/papertrader/ptmasterd.conf";

/// The whole configuration of a running master.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the config came from (`(built-in defaults)` without a file).
    pub source: String,
    /// Address of the master port (workers and getWorkerList clients).
    pub listen: SocketAddr,
    /// Directory for the database, keys and sockets by default.
    pub state_dir: PathBuf,
    /// SQLite database file.
    pub database: PathBuf,
    /// WAL pages after which a commit checkpoints (SQLite's
    /// `wal_autocheckpoint`); 0 leaves checkpoints to a replicator.
    pub wal_autocheckpoint: u32,
    /// Unix socket for ptctl.
    pub control_socket: PathBuf,
    /// Pid file written when detaching.
    pub pid_file: PathBuf,
    /// GnuPG home with the master's secret key and the workers' public keys.
    pub gnupg_home: PathBuf,
    /// Fingerprint of the master's signing key; no key, no worker links.
    pub master_key: Option<String>,
    /// The master port's TLS certificate chain (PEM).
    pub tls_cert: PathBuf,
    /// Its private key (PEM).
    pub tls_key: PathBuf,
    /// Neither was configured: a self-signed pair in `state_dir` is made
    /// on first start.
    pub tls_generate: bool,
    /// The workers.list registry.
    pub workers_file: PathBuf,
    /// Whether `workers_file` was named explicitly (then it must exist).
    pub workers_file_required: bool,
    /// Most worker links up at once (seed 2.3.2).
    pub max_workers: usize,
    /// The log system's settings (`log_*` keys).
    pub log: LogConfig,
    /// Account and session settings for the auth pool.
    pub auth: AuthConfig,
    /// Threads hashing passwords.
    pub auth_threads: usize,
    /// Failed-login and registration limits.
    pub rate_limit: RateLimitConfig,
    /// Time a worker has from connecting to `linkAccepted`.
    pub handshake_timeout: Duration,
    /// Silence on a link after which the master pings.
    pub ping_interval: Duration,
    /// Silence on a link after which it is dropped.
    pub link_timeout: Duration,
    /// Time a peer may sit in the middle of a frame.
    pub frame_timeout: Duration,
    /// How long a lost worker link may take to come back before the
    /// expirable sessions made through it end.
    pub session_link_grace: Duration,
    /// Bytes queued for one peer before it is dropped as not reading.
    pub max_output: usize,
    /// Connections one address (IPv6: one /64) may hold on the master port.
    pub max_conns_per_address: usize,
    /// Market orders waiting for a price set, in all.
    pub max_waiting_orders: usize,
    /// Market orders waiting for a price set, per account.
    pub max_waiting_orders_per_account: usize,
    /// Open orders (placeOrder) per account.
    pub max_open_orders: usize,
    /// Short selling and its margin rules.
    pub shorts: ShortRules,
    /// Commissions and slippage.
    pub fees: Fees,
    /// The assets list; `None`: the built-in list.
    pub assets_file: Option<PathBuf>,
    /// The price source.
    pub price_source: PriceSourceKind,
    /// Time between two price updates (seed 2.3.4).
    pub update_interval: Duration,
    /// Days of daily history to back-fill for a new asset.
    pub history_days: u32,
    /// How long interval ticks are kept.
    pub tick_retention: Duration,
    /// Threads answering history requests.
    pub data_threads: usize,
    /// Real price providers.
    pub providers: Providers,
}

impl Config {
    /// Reads `path`, or the built-in defaults (plus `DEFAULT_FILE` if it
    /// exists) when `path` is `None`. Reports every bad key at once.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfErrors> {
        Config::from_conf(&Conf::load(path, DEFAULT_FILE, KEYS)?)
    }

    /// Typed configuration from parsed keys.
    pub fn from_conf(conf: &Conf) -> Result<Config, ConfErrors> {
        let mut c = Collector::new();
        let state_dir = c.take(conf.path("state_dir", "/var/lib/papertrader"));
        let in_state = |name: &str| state_dir.join(name).to_string_lossy().into_owned();
        let workers_default = "/etc/papertrader/workers.list";
        let config = Config {
            source: conf.file().to_string(),
            listen: c.take_or(conf.socket_addr("listen", "127.0.0.1:2048"), loopback()),
            database: c.take(conf.path("database", &in_state("papertrader.db"))),
            wal_autocheckpoint: c.take(conf.u64("wal_autocheckpoint", 1000, 0..=1_000_000)) as u32,
            control_socket: c.take(conf.path("control_socket", &in_state("ptmasterd.sock"))),
            pid_file: c.take(conf.path("pid_file", "/run/ptmasterd.pid")),
            gnupg_home: c.take(conf.path("gnupg_home", &in_state("gnupg"))),
            master_key: c.take(master_key(conf)),
            tls_cert: c.take(conf.path("tls_cert", &in_state("tls-cert.pem"))),
            tls_key: c.take(conf.path("tls_key", &in_state("tls-key.pem"))),
            tls_generate: conf.raw("tls_cert").is_none() && conf.raw("tls_key").is_none(),
            workers_file: c.take(conf.path("workers_file", workers_default)),
            workers_file_required: conf.raw("workers_file").is_some(),
            max_workers: c.take(conf.u64("max_workers", 16, 1..=10_000)) as usize,
            log: conf.log(&mut c),
            auth: AuthConfig {
                starting_cash: c.take(conf.money("starting_cash", Money(1_000_000_000))),
                session_ttl_short: c.take(conf.duration("session_ttl_short", hours(24))),
                session_ttl_long: c.take(conf.duration("session_ttl_long", hours(24 * 30))),
                argon2_memory_kib: c.take(conf.u64("argon2_memory_kib", 19_456, 8..=4_194_304))
                    as u32,
                argon2_iterations: c.take(conf.u64("argon2_iterations", 2, 1..=100)) as u32,
                oidc: oidc_config(conf, &mut c),
                ..AuthConfig::default()
            },
            auth_threads: c.take(conf.u64("auth_threads", 2, 1..=64)) as usize,
            rate_limit: RateLimitConfig {
                failures: c.take(conf.u64("rate_limit_failures", 10, 1..=1_000_000)) as u32,
                window: c.take(conf.duration("rate_limit_window", mins(10))),
                lockout: c.take(conf.duration("rate_limit_lockout", mins(10))),
                user_failures: c.take(conf.u64("rate_limit_user_failures", 100, 1..=1_000_000))
                    as u32,
                register_limit: c.take(conf.u64("register_limit", 10, 0..=1_000_000)) as u32,
            },
            handshake_timeout: c.take(conf.duration("handshake_timeout", secs(10))),
            ping_interval: c.take(conf.duration("ping_interval", secs(10))),
            link_timeout: c.take(conf.duration("link_timeout", secs(30))),
            session_link_grace: c.take(conf.duration("session_link_grace", secs(60))),
            frame_timeout: c.take(conf.duration("frame_timeout", secs(30))),
            max_output: c.take(conf.u64("max_output", 64 << 20, 65_552..=1 << 31)) as usize,
            max_conns_per_address: c.take(conf.u64("max_conns_per_address", 32, 1..=100_000))
                as usize,
            max_waiting_orders: c.take(conf.u64("max_waiting_orders", 100_000, 1..=10_000_000))
                as usize,
            max_waiting_orders_per_account: c.take(conf.u64(
                "max_waiting_orders_per_account",
                1000,
                1..=10_000_000,
            )) as usize,
            max_open_orders: c.take(conf.u64("max_open_orders", 100, 1..=100_000)) as usize,
            shorts: ShortRules {
                enabled: c.take(conf.bool("short_selling", true)),
                min_equity: c.take(conf.money("short_min_equity", Money(2_000 * 10_000))),
                initial_pct: c.take(conf.u64("short_initial_margin", 150, 100..=1_000)) as u32,
                maintenance_pct: c.take(conf.u64("short_maintenance_margin", 30, 0..=100)) as u32,
            },
            fees: Fees {
                per_order: c.take(conf.money("fee_per_order", Money(0))),
                per_share: c.take(conf.money("fee_per_share", Money(0))),
                percent_bps: c.take(percent_bps(conf, "fee_percent", MAX_BPS)),
                minimum: c.take(conf.money("fee_minimum", Money(0))),
                slippage_bps: c.take(conf.u64("slippage_bps", 0, 0..=u64::from(MAX_BPS))) as u32,
                volume_cap_bps: c.take(percent_bps(conf, "volume_cap", MAX_CAP_BPS)),
            },
            assets_file: c.take(optional_path(conf, "assets_file")),
            price_source: c.take_or(price_source(conf), PriceSourceKind::Sim { seed: 1 }),
            update_interval: c.take(conf.duration("update_interval", secs(60))),
            // At most back to 1971: timestamps before 1970 have no wire form.
            history_days: c.take(conf.u64("history_days", 730, 0..=20_000)) as u32,
            tick_retention: secs(86_400 * c.take(conf.u64("tick_retention_days", 7, 1..=3650))),
            data_threads: c.take(conf.u64("data_threads", 2, 1..=64)) as usize,
            providers: providers(conf, &mut c),
            state_dir,
        };
        check(&config, conf, &mut c);
        c.finish()?;
        Ok(config)
    }
}

/// The rules that tie keys together, each refusal on the line of the
/// first key it names that the file sets.
fn check(config: &Config, conf: &Conf, c: &mut Collector) {
    let mut refuse = |keys: &[&str], message: &str| {
        let set = keys.iter().find(|k| conf.line(k).is_some());
        c.push(refusal(conf, set.unwrap_or(&keys[0]), message));
    };
    if config.ping_interval >= config.link_timeout {
        let message = "ping_interval must be shorter than link_timeout";
        refuse(&["ping_interval", "link_timeout"], message);
    }
    if conf.raw("tls_cert").is_some() != conf.raw("tls_key").is_some() {
        let message = "tls_cert and tls_key go together: set both or neither";
        refuse(&["tls_cert", "tls_key"], message);
    }
    if let PriceSourceKind::Provider(name) = &config.price_source
        && name == "finnhub"
        && config.providers.finnhub_key.is_none()
    {
        refuse(
            &["price_source"],
            "price_source = finnhub needs finnhub_key",
        );
    }
    if config.update_interval < secs(1) {
        refuse(&["update_interval"], "update_interval must be at least 1s");
    }
    if config.shorts.maintenance_pct >= config.shorts.initial_pct {
        let message = "short_maintenance_margin must be below short_initial_margin";
        refuse(
            &["short_maintenance_margin", "short_initial_margin"],
            message,
        );
    }
}

/// A percent from 0 to `max` basis points with at most 2 decimals
/// (`0.25`), in basis points.
fn percent_bps(conf: &Conf, key: &str, max: u32) -> Result<u32, ConfError> {
    let Some(text) = conf.raw(key) else {
        return Ok(0);
    };
    let bps = Money::parse(text)
        .ok()
        .filter(|m| m.raw() >= 0 && m.raw() % 100 == 0)
        .and_then(|m| u32::try_from(m.raw() / 100).ok())
        .filter(|&bps| bps <= max);
    bps.ok_or_else(|| {
        let message = format!(
            "{key} = {}: expected a percent from 0 to {} with at most 2 decimals, like 0.25",
            papertrader_common::conf::quote(text),
            max / 100
        );
        conf.error(key, message)
    })
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 2048))
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn mins(n: u64) -> Duration {
    secs(60 * n)
}

fn hours(n: u64) -> Duration {
    secs(3600 * n)
}

fn optional_path(conf: &Conf, key: &str) -> Result<Option<PathBuf>, ConfError> {
    match conf.raw(key) {
        Some(_) => conf.path(key, "").map(Some),
        None => Ok(None),
    }
}

fn price_source(conf: &Conf) -> Result<PriceSourceKind, ConfError> {
    match conf.string("price_source", "sim")?.as_str() {
        "sim" => Ok(PriceSourceKind::Sim {
            seed: conf.u64("sim_seed", 1, 0..=u64::MAX)?,
        }),
        "csv" => match optional_path(conf, "csv_file")? {
            Some(path) => Ok(PriceSourceKind::Csv(path)),
            None => Err(refusal(
                conf,
                "price_source",
                "price_source = csv needs csv_file",
            )),
        },
        "http" => {
            let quote_url = conf.string("http_quote_url", "")?;
            if !quote_url.contains("{symbols}") {
                let text = "price_source = http needs http_quote_url with {symbols} in it";
                return Err(refusal(conf, "http_quote_url", text));
            }
            let history_url = conf.string("http_history_url", "")?;
            if !history_url.is_empty() && !history_url.contains("{symbol}") {
                let text = "http_history_url needs {symbol} in it";
                return Err(refusal(conf, "http_history_url", text));
            }
            Ok(PriceSourceKind::Http(HttpConfig {
                quote_url,
                history_url: (!history_url.is_empty()).then_some(history_url),
                timeout: conf.duration("http_timeout", secs(10))?,
                max_bytes: conf.u64("http_max_bytes", 1 << 20, 1024..=1 << 30)? as usize,
            }))
        }
        name @ ("yahoo" | "finnhub" | "coinbase" | "binance") => {
            Ok(PriceSourceKind::Provider(name.to_string()))
        }
        other => Err(refusal(
            conf,
            "price_source",
            format!(
                "price_source = {other:?}: expected sim, csv, http, yahoo, finnhub, coinbase or binance"
            ),
        )),
    }
}

/// The `oidc_*` keys, and the providers list they name (read now, so
/// `-n` checks it too).
fn oidc_config(conf: &Conf, c: &mut Collector) -> OidcConfig {
    let defaults = OidcConfig::default();
    let providers = match c.take(optional_path(conf, "oidc_providers_file")) {
        Some(path) => match crate::oidc::providers::load(&path) {
            Ok(list) => list,
            Err(errors) => {
                for err in errors.0 {
                    c.push(err);
                }
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    OidcConfig {
        providers,
        clock_skew: c.take(conf.duration("oidc_clock_skew", defaults.clock_skew)),
        refresh_min: c.take(conf.duration("oidc_refresh_min", defaults.refresh_min)),
        jwks_max_age: c.take(conf.duration("oidc_jwks_max_age", defaults.jwks_max_age)),
        http_timeout: c.take(conf.duration("oidc_http_timeout", defaults.http_timeout)),
    }
}

fn master_key(conf: &Conf) -> Result<Option<String>, ConfError> {
    let text = conf.string("master_key", "")?;
    if text.is_empty() {
        return Ok(None);
    }
    let expected = "expected a 40 or 64 hex digit key fingerprint";
    let message = format!("master_key = {text:?}: {expected}");
    papertrader_common::gpg::normalize_fingerprint(&text)
        .map(Some)
        .ok_or_else(|| refusal(conf, "master_key", message))
}

/// An error about `key`, on the line that sets it (0 when none does).
fn refusal(conf: &Conf, key: &str, message: impl Into<String>) -> ConfError {
    ConfError {
        file: conf.file().to_string(),
        line: conf.line(key).unwrap_or(0),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    /// etc/ptmasterd.conf shows every key, and only keys that exist (the
    /// old names of renamed keys are named in its comments).
    #[test]
    fn the_example_file_shows_every_key() {
        let text = include_str!("../../etc/ptmasterd.conf");
        let shown = papertrader_common::conf::shown_keys(text);
        let aliases = ["provider_timeout", "provider_max_bytes"];
        for key in KEYS {
            if aliases.contains(key) {
                assert!(
                    text.contains(key),
                    "{key} is not named in etc/ptmasterd.conf"
                );
            } else {
                assert!(
                    shown.contains(key),
                    "{key} is missing from etc/ptmasterd.conf"
                );
            }
        }
        for key in &shown {
            assert!(
                KEYS.contains(key),
                "etc/ptmasterd.conf shows {key}, no such key"
            );
        }
    }

    use super::*;

    fn parse(text: &str) -> Result<Config, ConfErrors> {
        let conf = Conf::parse_reader(text.as_bytes(), "test.conf", KEYS)?;
        Config::from_conf(&conf)
    }

    #[test]
    fn built_in_defaults() {
        let c = Config::from_conf(&Conf::empty("(built-in defaults)")).expect("defaults");
        assert_eq!(c.listen.to_string(), "127.0.0.1:2048");
        assert_eq!(c.auth.starting_cash.to_string(), "100000.0000");
        assert_eq!(c.database, Path::new("/var/lib/papertrader/papertrader.db"));
        assert_eq!(c.max_workers, 16);
        assert_eq!(c.handshake_timeout, secs(10));
        assert!(c.master_key.is_none());
        assert!(!c.workers_file_required);
        assert_eq!(c.rate_limit, RateLimitConfig::default());
    }

    #[test]
    fn rate_limits() {
        let c =
            parse("rate_limit_failures = 5\nrate_limit_user_failures = 50\nregister_limit = 0\n")
                .expect("ok");
        assert_eq!(
            c.rate_limit,
            RateLimitConfig {
                failures: 5,
                user_failures: 50,
                register_limit: 0,
                ..RateLimitConfig::default()
            }
        );
        let err = parse("rate_limit_user_failures = 0\n").expect_err("at least 1");
        assert!(err.to_string().contains("test.conf:1:"), "{err}");
    }

    #[test]
    fn short_selling_and_its_margins() {
        let d = Config::from_conf(&Conf::empty("d")).expect("defaults");
        assert_eq!(d.shorts, ShortRules::default());
        assert!(d.shorts.enabled);
        let c = parse(
            "short_selling = no\nshort_min_equity = 0\nshort_initial_margin = 200\n\
             short_maintenance_margin = 0\n",
        )
        .expect("ok");
        assert_eq!(
            c.shorts,
            ShortRules {
                enabled: false,
                min_equity: Money(0),
                initial_pct: 200,
                maintenance_pct: 0,
            }
        );
        for bad in [
            "short_selling = maybe\n",
            "short_selling = \n",
            "short_min_equity = -1\n",
            "short_min_equity = 1.00001\n",
            "short_initial_margin = 99\n",
            "short_initial_margin = 1001\n",
            "short_maintenance_margin = 101\n",
            "short_maintenance_margin = 150\n",
            "short_initial_margin = 100\nshort_maintenance_margin = 100\n",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.to_string().starts_with("test.conf:"), "{bad}: {err}");
        }
    }

    #[test]
    fn commissions_and_slippage() {
        let d = Config::from_conf(&Conf::empty("d")).expect("defaults");
        assert!(d.fees.is_free());
        let c = parse(
            "fee_per_order = 1\nfee_per_share = 0.005\nfee_percent = 0.25\nfee_minimum = 1.5\n\
             slippage_bps = 1000\n",
        )
        .expect("ok");
        assert_eq!(
            c.fees,
            Fees {
                per_order: Money(10_000),
                per_share: Money(50),
                percent_bps: 25,
                minimum: Money(15_000),
                slippage_bps: 1000,
                volume_cap_bps: 0,
            }
        );
        let cap = |text: &str| parse(text).map(|c| c.fees.volume_cap_bps);
        assert_eq!(cap("volume_cap = 2.5\n").expect("ok"), 250);
        assert_eq!(cap("volume_cap = 100\n").expect("ok"), 10_000);
        assert_eq!(cap("volume_cap = 0\n").expect("ok"), 0);
        for bad in [
            "fee_per_order = -1\n",
            "fee_per_share = 0.00001\n",
            "fee_percent = 10.01\n",
            "fee_percent = 0.001\n",
            "fee_percent = 1%\n",
            "fee_percent = \n",
            "slippage_bps = 1001\n",
            "slippage_bps = -1\n",
            "volume_cap = 100.01\n",
            "volume_cap = 0.001\n",
            "volume_cap = -1\n",
            "volume_cap = \n",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.to_string().starts_with("test.conf:1: "), "{bad}: {err}");
        }
    }

    #[test]
    fn wal_autocheckpoint_is_pages_and_zero_is_off() {
        let pages = |text: &str| parse(text).map(|c| c.wal_autocheckpoint);
        assert_eq!(pages("").expect("default"), 1000);
        assert_eq!(pages("wal_autocheckpoint = 0\n").expect("off"), 0);
        assert_eq!(
            pages("wal_autocheckpoint = 1000000\n").expect("max"),
            1_000_000
        );
        for bad in [
            "wal_autocheckpoint = 1000001\n",
            "wal_autocheckpoint = -1\n",
        ] {
            let err = pages(bad).expect_err(bad);
            assert!(err.to_string().starts_with("test.conf:1: "), "{bad}: {err}");
        }
    }

    #[test]
    fn the_open_order_cap() {
        assert_eq!(
            Config::from_conf(&Conf::empty("d"))
                .expect("defaults")
                .max_open_orders,
            100
        );
        assert_eq!(
            parse("max_open_orders = 100000\n")
                .expect("max")
                .max_open_orders,
            100_000
        );
        for bad in ["0", "100001", "-1", "ten", "", "1e3", "\u{fffd}"] {
            let err = parse(&format!("max_open_orders = {bad}\n")).expect_err(bad);
            assert!(err.to_string().starts_with("test.conf:1: "), "{bad}: {err}");
        }
    }

    #[test]
    fn unknown_keys_are_reported_with_their_lines() {
        let err = parse("listen = 127.0.0.1:1\nlisen = 1\n").expect_err("unknown key");
        assert!(
            err.to_string()
                .starts_with("test.conf:2: unknown key \"lisen\""),
            "{err}"
        );
    }

    #[test]
    fn every_bad_value_is_reported() {
        let err = parse("max_workers = 0\nmaster_key = xyz\nlog_level = loud\n").expect_err("bad");
        let text = err.to_string();
        assert!(text.contains("test.conf:1: max_workers"), "{text}");
        assert!(text.contains("test.conf:2: master_key"), "{text}");
        assert!(text.contains("test.conf:3: log_level"), "{text}");
    }

    #[test]
    fn price_sources() {
        assert_eq!(
            parse("").expect("ok").price_source,
            PriceSourceKind::Sim { seed: 1 }
        );
        let c =
            parse("price_source = http\nhttp_quote_url = http://h/q?s={symbols}\n").expect("ok");
        assert!(matches!(c.price_source, PriceSourceKind::Http(_)));
        assert_eq!(c.price_source.name(), "http");
        let err = parse("price_source = csv\n").expect_err("no file");
        assert!(err.to_string().contains("needs csv_file"), "{err}");
        let err =
            parse("price_source = http\nhttp_quote_url = http://h/q\n").expect_err("no {symbols}");
        assert!(err.to_string().contains("test.conf:2:"), "{err}");
        let err = parse("price_source = magic\n").expect_err("unknown");
        assert!(
            err.to_string().contains("expected sim, csv, http, yahoo"),
            "{err}"
        );
    }

    #[test]
    fn real_providers() {
        let c = parse(
            "price_source = yahoo\ncoinbase_url = http://127.0.0.1:9/\n\
             coinbase_rate_limit = 5/1s\nmarket_clock = 2026-03-07T15:00:00Z\n",
        )
        .expect("ok");
        assert_eq!(c.price_source, PriceSourceKind::Provider("yahoo".into()));
        let site = c.providers.site("coinbase").expect("coinbase");
        assert_eq!(site.url, "http://127.0.0.1:9");
        assert_eq!(site.rate_limit.map(|l| l.requests), Some(5));
        assert_eq!(
            c.providers.site("yahoo").map(|s| s.url.as_str()),
            Some("https://query1.finance.yahoo.com")
        );
        assert_eq!(c.providers.market_clock.map(|t| t.0), Some(1_772_895_600));
        let err = parse("price_source = finnhub\nbinance_url = ftp://x\nyahoo_rate_limit = 1\n")
            .expect_err("bad");
        let text = err.to_string();
        assert!(text.contains("needs finnhub_key"), "{text}");
        assert!(text.contains("test.conf:2: binance_url"), "{text}");
        assert!(text.contains("test.conf:3: yahoo_rate_limit"), "{text}");
    }

    #[test]
    fn feed_keys_and_their_old_provider_names() {
        let c = parse(
            "feed_timeout = 3s
feed_max_bytes = 2048
",
        )
        .expect("new names");
        assert_eq!(c.providers.timeout, Duration::from_secs(3));
        assert_eq!(c.providers.max_bytes, 2048);
        let c = parse(
            "provider_timeout = 4s
provider_max_bytes = 4096
",
        )
        .expect("old names");
        assert_eq!(c.providers.timeout, Duration::from_secs(4));
        assert_eq!(c.providers.max_bytes, 4096);
        let err = parse(
            "feed_timeout = 3s
provider_timeout = 4s
",
        )
        .expect_err("both");
        let text = err.to_string();
        assert!(
            text.contains("test.conf:2: provider_timeout is the old name of feed_timeout"),
            "{text}"
        );
        let err = parse(
            "provider_max_bytes = 12
",
        )
        .expect_err("range under the old name");
        assert!(err.to_string().contains("provider_max_bytes"), "{err}");
    }

    #[test]
    fn ping_interval_must_be_shorter_than_link_timeout() {
        let err = parse("ping_interval = 30s\nlink_timeout = 30s\n").expect_err("equal");
        assert!(
            err.to_string()
                .contains("test.conf:1: ping_interval must be shorter"),
            "{err}"
        );
    }

    #[test]
    fn oidc_keys_and_providers_file() {
        let c = parse("").expect("defaults");
        assert!(c.auth.oidc.providers.is_empty());
        assert_eq!(c.auth.oidc.refresh_min, secs(60));
        let dir = std::env::temp_dir().join(format!("pt-oidc-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let list = dir.join("providers");
        std::fs::write(&list, "dex http://127.0.0.1:5556/dex papertrader\n").expect("write");
        let text = format!(
            "oidc_providers_file = {}\noidc_clock_skew = 5s\n",
            list.display()
        );
        let c = parse(&text).expect("ok");
        assert_eq!(c.auth.oidc.providers.len(), 1);
        assert_eq!(c.auth.oidc.clock_skew, secs(5));
        std::fs::write(&list, "dex ftp://x papertrader\n").expect("write");
        let err = parse(&text).expect_err("bad list");
        assert!(err.to_string().contains("providers:1: issuer"), "{err}");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn values_are_typed() {
        let c = parse("listen = 127.0.0.1:0\nstarting_cash = 500.5\nsession_ttl_short = 2s\n")
            .expect("ok");
        assert_eq!(c.listen.port(), 0);
        assert_eq!(c.auth.starting_cash, Money(5_005_000));
        assert_eq!(c.auth.session_ttl_short, secs(2));
    }
}
