//! The list of assets to retrieve (seed 2.3.1): `assets_file` lines
//! `SYMBOL [@PROVIDER[:ITS_SYMBOL]] [market=nyse|always] NAME`, or the
//! built-in list when no file is configured. Read on the main thread at
//! start and on reload; the "asset" thread reads the routes (provider,
//! the provider's symbol, market) again when the list changes.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use papertrader_common::conf::{ConfError, ConfErrors};
use papertrader_common::payload;
use papertrader_common::value::Symbol;

use super::Asset;
use super::calendar::Market;

/// Providers an asset may name (`@NAME`); the others are only defaults.
pub const PROVIDERS: &[&str] = &["yahoo", "finnhub", "coinbase", "binance"];

/// Where one asset's prices come from, as its line says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spec {
    /// `@NAME`; None: the configured `price_source`.
    pub provider: Option<String>,
    /// The provider's own symbol (`@coinbase:BTC-USD`); None: the symbol.
    pub remote: Option<String>,
    /// `market=`; None: the provider's (nyse for yahoo and finnhub).
    pub market: Option<Market>,
    /// `fractional=yes|no`; None: on where the market never closes.
    pub fractional: Option<bool>,
    /// `class=crypto|equity`; None: crypto where the provider is an
    /// exchange of crypto-currencies (coinbase, binance).
    pub crypto: Option<bool>,
}

/// How an asset trades, as the trade thread needs it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Terms {
    /// The market whose hours it fills in.
    pub market: Market,
    /// Whether an order may carry a fraction of a share.
    pub fractional: bool,
    /// A crypto-currency, not a share (what the HTTP API calls its
    /// class).
    pub crypto: bool,
}

impl Terms {
    /// The terms `spec` gives, its market defaulting to `market`.
    pub fn of(spec: &Spec, market: Market) -> Terms {
        let market = spec.market.unwrap_or(market);
        Terms {
            market,
            fractional: spec.fractional.unwrap_or(market == Market::Always),
            crypto: spec.crypto.unwrap_or(false),
        }
    }
}

/// Each listed asset's [`Spec`], by symbol.
pub type Specs = HashMap<Symbol, Spec>;

/// Each listed asset's [`Terms`] as the trade thread last had them from
/// the asset thread, shared with the data threads (`getAssetDetails`).
pub type SharedTerms = std::sync::Arc<parking_lot::RwLock<HashMap<Symbol, Terms>>>;

/// The getAssetDetails payload (protocol 1.2): `SYMBOL MARKET FRACTIONAL
/// CLASS NAME` lines, in the list's order; an asset without terms yet (before
/// the asset thread's first word) as nyse and whole shares.
pub fn details_payload(assets: &[Asset], terms: &HashMap<Symbol, Terms>) -> String {
    let lines: Vec<payload::AssetDetail> = assets
        .iter()
        .map(|asset| {
            let terms = terms.get(&asset.symbol).copied().unwrap_or_default();
            payload::AssetDetail {
                symbol: asset.symbol.clone(),
                market: terms.market.name().to_string(),
                fractional: terms.fractional,
                crypto: terms.crypto,
                name: asset.name.clone(),
            }
        })
        .collect();
    payload::write_lines(&lines)
}

/// The built-in list: well-known US stocks and ETFs.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("AAPL", "Apple Inc."),
    ("AMZN", "Amazon.com Inc."),
    ("BRK.B", "Berkshire Hathaway Inc. Class B"),
    ("DIA", "SPDR Dow Jones Industrial Average ETF"),
    ("GOOGL", "Alphabet Inc. Class A"),
    ("IWM", "iShares Russell 2000 ETF"),
    ("JNJ", "Johnson & Johnson"),
    ("JPM", "JPMorgan Chase & Co."),
    ("KO", "The Coca-Cola Company"),
    ("META", "Meta Platforms Inc."),
    ("MSFT", "Microsoft Corporation"),
    ("NFLX", "Netflix Inc."),
    ("NVDA", "NVIDIA Corporation"),
    ("PG", "The Procter & Gamble Company"),
    ("QQQ", "Invesco QQQ Trust"),
    ("SPY", "SPDR S&P 500 ETF Trust"),
    ("TSLA", "Tesla Inc."),
    ("V", "Visa Inc."),
    ("VTI", "Vanguard Total Stock Market ETF"),
    ("XOM", "Exxon Mobil Corporation"),
];

/// Crypto-currencies of the built-in list (with [`BUILT_IN`], when no
/// `assets_file` is set): simulated like the rest, never closed, in
/// fractions.
pub const BUILT_IN_CRYPTO: &[(&str, &str)] = &[("BTC", "Bitcoin"), ("ETH", "Ether")];

/// The specs of the built-in list: its crypto-currencies are crypto and
/// always open.
pub fn built_in_specs() -> Specs {
    BUILT_IN_CRYPTO
        .iter()
        .map(|(symbol, _)| {
            let spec = Spec {
                market: Some(Market::Always),
                crypto: Some(true),
                ..Spec::default()
            };
            (
                Symbol::parse(symbol).expect("built-in symbols are valid"),
                spec,
            )
        })
        .collect()
}

/// The built-in list as assets, sorted by symbol.
pub fn built_in() -> Vec<Asset> {
    let assets = BUILT_IN
        .iter()
        .chain(BUILT_IN_CRYPTO)
        .map(|(symbol, name)| Asset {
            symbol: Symbol::parse(symbol).expect("built-in symbols are valid"),
            name: name.to_string(),
        });
    sorted(assets.collect())
}

/// Reads an assets file; every bad line is reported as FILE:LINE.
pub fn load(path: &Path) -> Result<Vec<Asset>, ConfErrors> {
    load_specs_and_assets(path).map(|(assets, _)| assets)
}

/// Parses `SYMBOL NAME` lines; `#` comments and blank lines are skipped.
pub fn parse_reader(reader: impl Read, file: &str) -> Result<Vec<Asset>, ConfErrors> {
    parse_specs(reader, file).map(|(assets, _)| assets)
}

/// Reads an assets file's routes (see [`parse_specs`]).
pub fn load_specs(path: &Path) -> Result<Specs, ConfErrors> {
    load_specs_and_assets(path).map(|(_, specs)| specs)
}

fn load_specs_and_assets(path: &Path) -> Result<(Vec<Asset>, Specs), ConfErrors> {
    let file = path.display().to_string();
    let text = std::fs::read(path).map_err(|e| {
        ConfErrors(vec![ConfError {
            file: file.clone(),
            line: 0,
            message: format!("cannot read: {e}"),
        }])
    })?;
    parse_specs(&text[..], &file)
}

/// A bad word in front of an asset's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// `@NAME` names no provider an asset may name.
    #[error("unknown provider @{}; expected one of @{}", .0, PROVIDERS.join(", @"))]
    UnknownProvider(String),
    /// `@NAME:SYMBOL` with an empty, long or non-ASCII symbol.
    #[error("@{0}: the provider's symbol must be 1 to 64 ASCII characters")]
    BadRemote(String),
    /// `market=M` names no market.
    #[error("market={0}: expected market=nyse or market=always")]
    BadMarket(String),
    /// `fractional=X` is neither yes nor no.
    #[error("fractional={0}: expected fractional=yes or fractional=no")]
    BadFractional(String),
    /// `class=X` is neither crypto nor equity.
    #[error("class={0}: expected class=crypto or class=equity")]
    BadClass(String),
}

/// Splits `@PROVIDER[:SYMBOL]`, `market=M` and `fractional=X` words off the front of the
/// rest of a line; returns the spec and the name that follows.
fn spec_words(mut rest: &str) -> Result<(Spec, &str), SpecError> {
    let mut spec = Spec::default();
    loop {
        let (word, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        if let Some(route) = word.strip_prefix('@') {
            let (name, remote) = match route.split_once(':') {
                Some((name, remote)) => (name, Some(remote)),
                None => (route, None),
            };
            if !PROVIDERS.contains(&name) {
                return Err(SpecError::UnknownProvider(name.to_string()));
            }
            if remote.is_some_and(|r| r.is_empty() || r.len() > 64 || !r.is_ascii()) {
                return Err(SpecError::BadRemote(name.to_string()));
            }
            spec.provider = Some(name.to_string());
            spec.remote = remote.map(str::to_string);
        } else if let Some(market) = word.strip_prefix("market=") {
            let bad = || SpecError::BadMarket(market.to_string());
            spec.market = Some(Market::parse(market).ok_or_else(bad)?);
        } else if let Some(word) = word.strip_prefix("fractional=") {
            spec.fractional = Some(match word {
                "yes" => true,
                "no" => false,
                _ => return Err(SpecError::BadFractional(word.to_string())),
            });
        } else if let Some(word) = word.strip_prefix("class=") {
            spec.crypto = Some(match word {
                "crypto" => true,
                "equity" => false,
                _ => return Err(SpecError::BadClass(word.to_string())),
            });
        } else {
            return Ok((spec, rest));
        }
        rest = after.trim_start();
    }
}

/// Parses the asset list with each asset's route.
pub fn parse_specs(mut reader: impl Read, file: &str) -> Result<(Vec<Asset>, Specs), ConfErrors> {
    let mut specs = Specs::new();
    let mut bytes = Vec::new();
    let error = |line: usize, message: String| ConfError {
        file: file.to_string(),
        line,
        message,
    };
    if let Err(e) = reader.read_to_end(&mut bytes) {
        return Err(ConfErrors(vec![error(0, format!("cannot read: {e}"))]));
    }
    let mut assets: Vec<Asset> = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        let Ok(line) = std::str::from_utf8(raw) else {
            errors.push(error(n, "line is not valid UTF-8".into()));
            continue;
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (symbol, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let (spec, name) = match spec_words(rest.trim()) {
            Ok(found) => found,
            Err(err) => {
                errors.push(error(n, format!("{symbol}: {err}")));
                continue;
            }
        };
        let name = name.trim();
        match Symbol::parse(symbol) {
            Err(e) => errors.push(error(n, e.to_string())),
            Ok(_) if name.is_empty() => errors.push(error(
                n,
                format!("{symbol} has no name; expected SYMBOL NAME"),
            )),
            Ok(symbol) if assets.iter().any(|a| a.symbol == symbol) => {
                errors.push(error(n, format!("{symbol} is listed twice")))
            }
            Ok(symbol) => {
                specs.insert(symbol.clone(), spec);
                assets.push(Asset {
                    symbol,
                    name: name.to_string(),
                })
            }
        }
    }
    if !errors.is_empty() {
        return Err(ConfErrors(errors));
    }
    if assets.is_empty() {
        return Err(ConfErrors(vec![error(0, "no assets listed".into())]));
    }
    Ok((sorted(assets), specs))
}

/// Sorted by the byte order of the upper-case symbol (PROTOCOL.md).
fn sorted(mut assets: Vec<Asset>) -> Vec<Asset> {
    assets.sort_by(|a, b| a.symbol.as_str().cmp(b.symbol.as_str()));
    assets
}

/// The getAssetList payload: `SYMBOL NAME` lines.
pub fn list_payload(assets: &[Asset]) -> String {
    payload::write_lines(assets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_list_is_sorted_and_about_twenty() {
        let list = built_in();
        assert_eq!(list.len(), 22);
        let specs = built_in_specs();
        let crypto: Vec<&str> = list
            .iter()
            .filter(|a| specs.get(&a.symbol).is_some_and(|s| s.crypto == Some(true)))
            .map(|a| a.symbol.as_str())
            .collect();
        assert_eq!(crypto, ["BTC", "ETH"]);
        assert!(
            list.windows(2)
                .all(|w| w[0].symbol.as_str() < w[1].symbol.as_str())
        );
        assert_eq!(list[0].symbol.as_str(), "AAPL");
    }

    #[test]
    fn parses_names_with_spaces_and_sorts() {
        let text = "# comment\nmsft Microsoft Corporation\n\nAAPL   Apple Inc.\n";
        let assets = parse_reader(text.as_bytes(), "a.list").expect("ok");
        assert_eq!(
            list_payload(&assets),
            "AAPL Apple Inc.\nMSFT Microsoft Corporation\n"
        );
    }

    #[test]
    fn every_bad_line_is_reported() {
        let text = "AAPL Apple\nBAD$ Bad\nNONAME\nAAPL Again\n";
        let err = parse_reader(text.as_bytes(), "a.list").expect_err("bad");
        let text = err.to_string();
        assert!(text.contains("a.list:2: symbol \"BAD$\""), "{text}");
        assert!(text.contains("a.list:3: NONAME has no name"), "{text}");
        assert!(text.contains("a.list:4: AAPL is listed twice"), "{text}");
    }

    #[test]
    fn fractions_follow_the_market_unless_the_line_says() {
        let text = "AAPL @yahoo Apple\nSPY @yahoo fractional=yes S&P\nBTC @coinbase Bitcoin\n\
                    DOGE @binance fractional=no Doge\nSIM A simulated one\n";
        let (_, specs) = parse_specs(text.as_bytes(), "a.list").expect("ok");
        let terms = |s: &str, market| Terms::of(&specs[&Symbol::parse(s).expect("s")], market);
        assert!(!terms("AAPL", Market::Nyse).fractional);
        assert!(terms("SPY", Market::Nyse).fractional);
        assert_eq!(terms("SPY", Market::Nyse).market, Market::Nyse);
        assert!(terms("BTC", Market::Always).fractional);
        assert!(!terms("DOGE", Market::Always).fractional);
        assert!(terms("SIM", Market::Always).fractional);
        let err = parse_reader(
            "X fractional=maybe X\nY fractional= Y\n".as_bytes(),
            "a.list",
        )
        .expect_err("bad");
        let text = err.to_string();
        assert!(
            text.contains(
                "a.list:1: X: fractional=maybe: expected fractional=yes or fractional=no"
            ),
            "{text}"
        );
        assert!(
            text.contains("a.list:2: Y: fractional=: expected"),
            "{text}"
        );
    }

    #[test]
    fn providers_symbols_and_markets() {
        let text = "AAPL @yahoo Apple Inc.\nBTC @coinbase:BTC-USD market=always Bitcoin\n\
                    ETH @binance:ETHUSDT Ether\nKO Coca-Cola\nSPY market=nyse @finnhub S&P\n";
        let (assets, specs) = parse_specs(text.as_bytes(), "a.list").expect("ok");
        assert_eq!(assets.len(), 5);
        assert_eq!(assets[0].name, "Apple Inc.");
        let spec = |s: &str| specs[&Symbol::parse(s).expect("symbol")].clone();
        assert_eq!(spec("AAPL").provider.as_deref(), Some("yahoo"));
        assert_eq!(spec("BTC").remote.as_deref(), Some("BTC-USD"));
        assert_eq!(spec("BTC").market, Some(Market::Always));
        assert_eq!(spec("KO"), Spec::default());
        assert_eq!(spec("SPY").market, Some(Market::Nyse));
        assert_eq!(assets[4].name, "S&P");
        let err = parse_reader(
            "X @stooq X\nY market=moon Y\nZ @yahoo:\n".as_bytes(),
            "a.list",
        )
        .expect_err("bad");
        let text = err.to_string();
        assert!(
            text.contains("a.list:1: X: unknown provider @stooq"),
            "{text}"
        );
        assert!(text.contains("a.list:2: Y: market=moon"), "{text}");
        assert!(
            text.contains("a.list:3: Z: @yahoo: the provider's symbol"),
            "{text}"
        );
    }

    #[test]
    fn an_empty_list_is_an_error() {
        let err = parse_reader("# nothing\n".as_bytes(), "a.list").expect_err("empty");
        assert_eq!(err.to_string(), "a.list: no assets listed");
    }
}
