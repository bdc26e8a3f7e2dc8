//! Price sources (DESIGN.md "Price sources"): the simulated market, CSV
//! replay, and the CSV quote-line format that CSV replay shares with the
//! HTTP source (`super::http`). The "asset" thread owns one source and
//! calls it once per update interval; nothing here spawns or locks.
//!
//! All prices are integer `Money`, the simulation included: random-walk
//! steps are drawn in parts per billion and applied with i128 arithmetic.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::time::Duration;

use papertrader_common::value::{Date, Money, SCALE, Symbol, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Asset, Bar, SourceError, Tick};

/// Where each interval's prices come from.
pub trait PriceSource: Send {
    /// Name for logs ("sim", "csv", "http").
    fn name(&self) -> &'static str;

    /// This interval's tick for each asset it has a price for (assets it
    /// has none for are left out). `now` is the update time and becomes
    /// each tick's `bar.time`. Err = nothing usable this time (the caller
    /// keeps the last good prices).
    fn fetch(&mut self, assets: &[Asset], now: Timestamp) -> Result<Vec<Tick>, SourceError>;

    /// Continues `symbol` from its last stored price after a restart.
    /// Sources whose prices come from outside have nothing to continue.
    fn resume(&mut self, _symbol: &Symbol, _last: Money) {}

    /// Daily bars to back-fill `days` days ending the day before `today`
    /// (oldest first), for an asset with no stored history.
    fn history(
        &mut self,
        _asset: &Asset,
        _days: u32,
        _today: Date,
    ) -> Result<Vec<Bar>, SourceError> {
        Ok(Vec::new())
    }
}

// ---------------------------------------------------------------------------
// The CSV quote format (Stooq style), shared with the HTTP source.

/// Header of the quote format, compared case-insensitively.
pub const QUOTE_HEADER: &str = "Symbol,Date,Time,Open,High,Low,Close,Volume";

/// A field value meaning "no data" (the whole line is then skipped).
const NO_DATA: &str = "N/D";

/// One parsed line of the quote format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteLine {
    /// The symbol as the line spells it, upper-cased.
    pub symbol: Symbol,
    /// The trading day the prices belong to.
    pub date: Date,
    /// Seconds after midnight of the last trade, when given (the feed's
    /// local time; informational only).
    pub time_of_day: Option<u32>,
    /// First price of the day.
    pub open: Money,
    /// Highest price of the day.
    pub high: Money,
    /// Lowest price of the day.
    pub low: Money,
    /// Last price.
    pub close: Money,
    /// Shares traded so far (cumulative for the day in a live feed).
    pub volume: u64,
}

impl QuoteLine {
    /// The line's OHLCV as a bar starting at `time`.
    pub fn bar(&self, time: Timestamp) -> Bar {
        Bar {
            time,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: self.volume,
        }
    }
}

/// Parses `Symbol,Date,Time,Open,High,Low,Close,Volume`. Ok(None) when a
/// field other than Symbol is `N/D` (no data, not an error). The error
/// names the bad field but not the line's location: callers add it.
pub fn parse_quote_line(line: &str) -> Result<Option<QuoteLine>, SourceError> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    if fields.len() != 8 {
        return Err(SourceError(format!(
            "expected 8 fields ({QUOTE_HEADER}), found {}",
            fields.len()
        )));
    }
    let symbol = Symbol::parse(fields[0]).map_err(|err| SourceError(err.to_string()))?;
    if fields[1..].iter().any(|f| f.eq_ignore_ascii_case(NO_DATA)) {
        return Ok(None);
    }
    Ok(Some(QuoteLine {
        symbol,
        date: parse_date(fields[1])?,
        time_of_day: parse_time_of_day(fields[2])?,
        open: parse_price(fields[3])?,
        high: parse_price(fields[4])?,
        low: parse_price(fields[5])?,
        close: parse_price(fields[6])?,
        volume: parse_volume(fields[7])?,
    }))
}

/// True if `line` is the header `expected` (case and spaces around
/// commas ignored, a UTF-8 byte order mark allowed).
pub fn header_matches(line: &str, expected: &str) -> bool {
    let line = line.trim_start_matches('\u{feff}');
    let mut got = line.split(',').map(str::trim);
    let mut want = expected.split(',');
    loop {
        match (got.next(), want.next()) {
            (None, None) => return true,
            (Some(g), Some(w)) if g.eq_ignore_ascii_case(w) => {}
            _ => return false,
        }
    }
}

/// A positive decimal price. More than 4 fraction digits are rounded half
/// away from zero (real feeds send `189.12345`); no sign, no exponent.
pub fn parse_price(text: &str) -> Result<Money, SourceError> {
    let bad = || {
        SourceError(format!(
            "price {text:?}: expected a positive decimal like 189.12"
        ))
    };
    let (whole, frac) = match text.split_once('.') {
        Some((_, "")) => return Err(bad()),
        Some((whole, frac)) => (whole, frac),
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    // 12 whole digits keep `whole * SCALE` far from i64 overflow.
    if whole.is_empty() || whole.len() > 12 || !digits(whole) || !digits(frac) {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac = frac.as_bytes();
    let mut units = 0i64;
    for i in 0..4 {
        units = units * 10 + frac.get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    if frac.get(4).is_some_and(|d| *d >= b'5') {
        units += 1;
    }
    match whole * SCALE + units {
        0 => Err(bad()),
        raw => Ok(Money(raw)),
    }
}

/// A share count: digits, a fraction is truncated; empty means 0 (feeds
/// leave it empty for indices).
pub fn parse_volume(text: &str) -> Result<u64, SourceError> {
    let bad = || {
        SourceError(format!(
            "volume {text:?}: expected a whole number of shares"
        ))
    };
    if text.is_empty() {
        return Ok(0);
    }
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) {
        return Err(bad());
    }
    whole.parse().map_err(|_| bad())
}

/// A day as `YYYY-MM-DD` or `YYYYMMDD`.
pub fn parse_date(text: &str) -> Result<Date, SourceError> {
    let dashed;
    let text_ok = if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
        dashed = format!("{}-{}-{}", &text[..4], &text[4..6], &text[6..]);
        &dashed
    } else {
        text
    };
    Date::parse(text_ok).map_err(|err| SourceError(err.to_string()))
}

/// Empty, or `HH:MM:SS`, as seconds after midnight.
fn parse_time_of_day(text: &str) -> Result<Option<u32>, SourceError> {
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || SourceError(format!("time {text:?}: expected HH:MM:SS or nothing"));
    let b = text.as_bytes();
    let shape_ok = b.len() == 8
        && b[2] == b':'
        && b[5] == b':'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit());
    if !shape_ok {
        return Err(bad());
    }
    let part = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    let (h, m, s) = (part(0), part(3), part(6));
    if h > 23 || m > 59 || s > 60 {
        return Err(bad());
    }
    Ok(Some(h * 3600 + m * 60 + s))
}

/// Err unless low <= open, close <= high.
pub fn check_bar(bar: &Bar) -> Result<(), SourceError> {
    let (o, h, l, c) = (bar.open, bar.high, bar.low, bar.close);
    if l <= o.min(c) && h >= o.max(c) {
        return Ok(());
    }
    Err(SourceError(format!(
        "inconsistent bar: open {o} high {h} low {l} close {c}, expected low <= open, close <= high"
    )))
}

/// The legacy source when `price_source` names a real provider: every
/// asset is then on a provider, and this is never asked for anything.
pub struct NoSource;

impl PriceSource for NoSource {
    fn name(&self) -> &'static str {
        "none"
    }

    fn fetch(&mut self, _assets: &[Asset], _now: Timestamp) -> Result<Vec<Tick>, SourceError> {
        Ok(Vec::new())
    }
}

// ---------------------------------------------------------------------------
// CSV replay.

/// Replays OHLCV bars from a CSV file, for demos and deterministic tests.
pub struct CsvSource {
    /// Each symbol's bars not yet replayed, in file order (`time` unused).
    bars: HashMap<Symbol, VecDeque<Bar>>,
}

impl CsvSource {
    /// Reads the whole file (format of [`CsvSource::parse`]).
    pub fn load(path: &Path) -> Result<CsvSource, SourceError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|err| SourceError(format!("{file}: cannot read: {err}")))?;
        CsvSource::parse(&text, &file)
    }

    /// Header [`QUOTE_HEADER`], one bar per line; blank and `N/D` lines are
    /// skipped. Errors name `file`:LINE.
    pub fn parse(text: &str, file: &str) -> Result<CsvSource, SourceError> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, line)) if header_matches(line, QUOTE_HEADER) => {}
            found => {
                let found = found.map_or("end of file".to_string(), |(_, l)| format!("{l:?}"));
                return Err(SourceError(format!(
                    "{file}:1: expected the header {QUOTE_HEADER:?}, found {found}"
                )));
            }
        }
        let mut bars: HashMap<Symbol, VecDeque<Bar>> = HashMap::new();
        for (index, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let at = |err: SourceError| SourceError(format!("{file}:{}: {err}", index + 1));
            let Some(quote) = parse_quote_line(line).map_err(at)? else {
                continue;
            };
            let bar = quote.bar(quote.date.start());
            check_bar(&bar).map_err(at)?;
            bars.entry(quote.symbol).or_default().push_back(bar);
        }
        if bars.is_empty() {
            return Err(SourceError(format!("{file}: no bars after the header")));
        }
        Ok(CsvSource { bars })
    }
}

impl PriceSource for CsvSource {
    fn name(&self) -> &'static str {
        "csv"
    }

    fn fetch(&mut self, assets: &[Asset], now: Timestamp) -> Result<Vec<Tick>, SourceError> {
        let ticks = assets.iter().filter_map(|asset| {
            let bar = self.bars.get_mut(&asset.symbol)?.pop_front()?;
            let bar = Bar { time: now, ..bar };
            Some(Tick {
                symbol: asset.symbol.clone(),
                bar,
            })
        });
        Ok(ticks.collect())
    }
}

// ---------------------------------------------------------------------------
// The simulated market.

const DAY_MS: u128 = 86_400_000;
/// Parts per billion in one.
const PPB: i128 = 1_000_000_000;
/// The walk never goes below 1.0000 ...
const MIN_PRICE: i64 = SCALE;
/// ... nor above 1 000 000.0000.
const MAX_PRICE: i64 = 1_000_000 * SCALE;
/// Uniform terms summed for one approximately normal draw.
const NORMAL_TERMS: usize = 12;
/// Random streams per symbol: the live walk and the back-filled history
/// are independent, so calling one never changes the other.
const STREAM_PARAMS: u64 = 1;
const STREAM_TICKS: u64 = 2;
const STREAM_HISTORY: u64 = 3;

/// Rough recent prices (whole units) of well-known symbols, so the
/// simulated market looks familiar; others get a price from a hash.
const KNOWN_PRICES: &[(&str, i64)] = &[
    ("AAPL", 190),
    ("AMZN", 185),
    ("BRK.B", 410),
    ("DIA", 420),
    ("GOOGL", 170),
    ("IWM", 220),
    ("JNJ", 155),
    ("JPM", 200),
    ("KO", 62),
    ("META", 500),
    ("MSFT", 420),
    ("NFLX", 650),
    ("NVDA", 120),
    ("PG", 165),
    ("QQQ", 480),
    ("SPY", 560),
    ("TSLA", 250),
    ("V", 270),
    ("VTI", 270),
    ("XOM", 115),
];

/// Offline simulated market: a seeded random walk per symbol with a daily
/// volatility of 1-2.5%, scaled to the interval by the square root of time.
pub struct SimSource {
    seed: u64,
    interval_ms: u128,
    /// sqrt(interval / 1 day), in parts per million.
    scale_ppm: i64,
    walks: HashMap<Symbol, Walk>,
}

/// One symbol's walk.
struct Walk {
    /// The current price (raw Money).
    price: i64,
    /// Daily volatility, parts per million.
    sigma_ppm: i64,
    /// Typical daily volume.
    daily_volume: u64,
    rng: StdRng,
}

impl SimSource {
    /// A market that is the same for the same `seed`; `interval` is the
    /// time between two `fetch` calls.
    pub fn new(seed: u64, interval: Duration) -> SimSource {
        let interval_ms = interval.as_millis();
        let scale = (interval_ms * 1_000_000_000_000 / DAY_MS).isqrt();
        SimSource {
            seed,
            interval_ms,
            scale_ppm: i64::try_from(scale).unwrap_or(i64::MAX),
            walks: HashMap::new(),
        }
    }

    fn walk(&mut self, symbol: &Symbol) -> &mut Walk {
        let seed = self.seed;
        self.walks
            .entry(symbol.clone())
            .or_insert_with(|| Walk::new(seed, symbol))
    }
}

impl Walk {
    fn new(seed: u64, symbol: &Symbol) -> Walk {
        let mut params = StdRng::seed_from_u64(stream_seed(seed, symbol, STREAM_PARAMS));
        let known = KNOWN_PRICES.iter().find(|(s, _)| *s == symbol.as_str());
        let base = match known {
            Some((_, units)) => units * SCALE,
            None => params.random_range(20 * SCALE..=500 * SCALE) / 100 * 100,
        };
        // Within 10% of the base, so each seed is its own market.
        let adjust_ppm: i64 = params.random_range(-100_000..=100_000);
        let price = base + base * adjust_ppm / 1_000_000;
        Walk {
            price: price.clamp(MIN_PRICE, MAX_PRICE),
            sigma_ppm: params.random_range(10_000..=25_000),
            daily_volume: params.random_range(1_000_000..=80_000_000),
            rng: StdRng::seed_from_u64(stream_seed(seed, symbol, STREAM_TICKS)),
        }
    }
}

impl PriceSource for SimSource {
    fn name(&self) -> &'static str {
        "sim"
    }

    /// The walk goes on from the stored price, so a restart does not make
    /// prices jump back to the seed's.
    fn resume(&mut self, symbol: &Symbol, last: Money) {
        self.walk(symbol).price = last.0.clamp(MIN_PRICE, MAX_PRICE);
    }

    fn fetch(&mut self, assets: &[Asset], now: Timestamp) -> Result<Vec<Tick>, SourceError> {
        let (scale_ppm, interval_ms) = (self.scale_ppm, self.interval_ms);
        let mut ticks = Vec::with_capacity(assets.len());
        for asset in assets {
            let walk = self.walk(&asset.symbol);
            let sigma_ppb = walk.sigma_ppm.saturating_mul(scale_ppm) / 1000;
            let daily = day_volume(&mut walk.rng, walk.daily_volume);
            let volume = (u128::from(daily) * interval_ms / DAY_MS).max(1);
            let volume = u64::try_from(volume).unwrap_or(u64::MAX);
            let open = walk.price;
            let close = step(&mut walk.rng, open, sigma_ppb);
            let bar = make_bar(&mut walk.rng, now, open, close, sigma_ppb, volume);
            walk.price = close;
            ticks.push(Tick {
                symbol: asset.symbol.clone(),
                bar,
            });
        }
        Ok(ticks)
    }

    /// Walks backwards from the current price, so the last bar's close is
    /// exactly where the live walk continues. One bar per calendar day (the
    /// simulated market never closes).
    fn history(&mut self, asset: &Asset, days: u32, today: Date) -> Result<Vec<Bar>, SourceError> {
        let mut rng = StdRng::seed_from_u64(stream_seed(self.seed, &asset.symbol, STREAM_HISTORY));
        let walk = self.walk(&asset.symbol);
        let (sigma_ppb, daily_volume) = (walk.sigma_ppm * 1000, walk.daily_volume);
        let mut close = walk.price;
        let mut day = today.0;
        let mut bars = Vec::with_capacity(days as usize);
        for _ in 0..days {
            let Some(previous) = day.previous_day() else {
                break;
            };
            day = previous;
            let open = step(&mut rng, close, sigma_ppb);
            let volume = day_volume(&mut rng, daily_volume);
            let bar = make_bar(&mut rng, Date(day).start(), open, close, sigma_ppb, volume);
            bars.push(bar);
            close = open;
        }
        bars.reverse();
        Ok(bars)
    }
}

/// FNV-1a: a hash that stays the same across Rust releases, unlike std's.
fn symbol_hash(symbol: &Symbol) -> u64 {
    symbol.as_str().bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// splitmix64's finaliser: spreads every input bit over the output.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn stream_seed(seed: u64, symbol: &Symbol, stream: u64) -> u64 {
    mix(mix(seed) ^ mix(symbol_hash(symbol) ^ mix(stream)))
}

/// An approximately normal draw with standard deviation `sigma`: the sum of
/// 12 uniforms on [-a, a] has variance 12 a^2 / 3, so a = sigma / 2.
fn normal(rng: &mut StdRng, sigma: i64) -> i64 {
    let half = sigma / 2;
    (0..NORMAL_TERMS)
        .map(|_| rng.random_range(-half..=half))
        .sum()
}

/// `price` moved by `step_ppb` parts per billion, rounded, within bounds.
fn moved(price: i64, step_ppb: i64) -> i64 {
    let delta = i128::from(price) * i128::from(step_ppb);
    let half = if delta < 0 { -PPB / 2 } else { PPB / 2 };
    let next = i128::from(price) + (delta + half) / PPB;
    next.clamp(i128::from(MIN_PRICE), i128::from(MAX_PRICE)) as i64
}

/// One random step away from `from` (forwards or, the draw being
/// symmetric, backwards in time).
fn step(rng: &mut StdRng, from: i64, sigma_ppb: i64) -> i64 {
    moved(from, normal(rng, sigma_ppb))
}

/// A bar from `open` to `close` with a small excursion beyond both.
fn make_bar(
    rng: &mut StdRng,
    time: Timestamp,
    open: i64,
    close: i64,
    sigma_ppb: i64,
    volume: u64,
) -> Bar {
    let top = open.max(close);
    let bottom = open.min(close);
    let up: i64 = rng.random_range(0..=sigma_ppb / 2);
    let down: i64 = rng.random_range(0..=sigma_ppb / 2);
    Bar {
        time,
        open: Money(open),
        high: Money(moved(top, up).max(top)),
        low: Money(moved(bottom, -down).min(bottom)),
        close: Money(close),
        volume,
    }
}

/// A day's volume: the typical volume give or take half.
fn day_volume(rng: &mut StdRng, typical: u64) -> u64 {
    let percent: u64 = rng.random_range(50..=150);
    (typical / 100 * percent).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(symbol: &str) -> Asset {
        Asset {
            symbol: Symbol::parse(symbol).expect("symbol"),
            name: symbol.to_string(),
        }
    }

    fn day(text: &str) -> Date {
        Date::parse(text).expect("date")
    }

    fn run(seed: u64) -> (Vec<Vec<Bar>>, Vec<Vec<Tick>>) {
        let assets = [asset("AAPL"), asset("ZZZZ"), asset("^SPX")];
        let mut sim = SimSource::new(seed, Duration::from_secs(2));
        let today = day("2026-03-02");
        let history = assets
            .iter()
            .map(|a| sim.history(a, 30, today).expect("history"))
            .collect();
        let ticks = (0..50)
            .map(|i| {
                sim.fetch(&assets, Timestamp(1_772_409_600 + 2 * i))
                    .expect("ticks")
            })
            .collect();
        (history, ticks)
    }

    #[test]
    fn sim_is_deterministic_per_seed() {
        assert_eq!(run(42), run(42));
        let (history, ticks) = run(43);
        let (history42, ticks42) = run(42);
        assert_ne!(history, history42);
        assert_ne!(ticks, ticks42);
    }

    fn assert_sane(bar: &Bar, what: &str) {
        assert!(bar.low >= Money(MIN_PRICE), "{what}: low {bar:?}");
        assert!(bar.low <= bar.open.min(bar.close), "{what}: {bar:?}");
        assert!(bar.high >= bar.open.max(bar.close), "{what}: {bar:?}");
        assert!(bar.volume > 0, "{what}: volume {bar:?}");
    }

    #[test]
    fn sim_bars_are_sane_and_continuous() {
        let assets = [asset("MSFT"), asset("PENNY"), asset("SPY")];
        let mut sim = SimSource::new(7, Duration::from_secs(2));
        let today = day("2026-03-02");
        let mut last_closes = Vec::new();
        for a in &assets {
            let bars = sim.history(a, 730, today).expect("history");
            assert_eq!(bars.len(), 730);
            assert_eq!(bars[0].time, day("2024-03-02").start());
            assert_eq!(bars[729].time, day("2026-03-01").start());
            assert!(bars.windows(2).all(|w| w[0].time.0 + 86_400 == w[1].time.0));
            assert!(bars.windows(2).all(|w| w[0].close == w[1].open));
            for bar in &bars {
                assert_sane(bar, "history");
                assert!(
                    (1_000_000 / 2..=80_000_000 * 3 / 2).contains(&bar.volume),
                    "{bar:?}"
                );
            }
            last_closes.push(bars[729].close);
        }
        let mut previous: Option<Vec<Tick>> = None;
        for i in 0..1000 {
            let ticks = sim
                .fetch(&assets, Timestamp(1_772_409_600 + 2 * i))
                .expect("ticks");
            assert_eq!(ticks.len(), assets.len());
            for (n, tick) in ticks.iter().enumerate() {
                assert_eq!(tick.symbol, assets[n].symbol);
                assert_eq!(tick.bar.time, Timestamp(1_772_409_600 + 2 * i));
                assert_sane(&tick.bar, "tick");
                let open = match &previous {
                    None => last_closes[n],
                    Some(p) => p[n].bar.close,
                };
                assert_eq!(tick.bar.open, open, "tick {i} of {}", tick.symbol);
            }
            previous = Some(ticks);
        }
    }

    #[test]
    fn sim_step_size_follows_the_interval() {
        // Over a 2 s interval a 1-2.5% daily sigma is 0.005-0.012%: the
        // largest of 1000 moves stays well under 0.1%.
        let mut sim = SimSource::new(1, Duration::from_secs(2));
        let assets = [asset("AAPL")];
        for i in 0..1000 {
            let bar = &sim.fetch(&assets, Timestamp(i)).expect("tick")[0].bar;
            let diff = (bar.close.0 - bar.open.0).abs();
            assert!(diff * 1000 < bar.open.0, "{bar:?}");
        }
    }

    #[test]
    fn known_symbols_start_near_their_price() {
        let mut sim = SimSource::new(5, Duration::from_secs(60));
        let tick = &sim.fetch(&[asset("AAPL")], Timestamp(0)).expect("tick")[0];
        assert!(
            (171 * SCALE..=209 * SCALE).contains(&tick.bar.open.0),
            "{tick:?}"
        );
    }

    #[test]
    fn prices_round_half_away_from_zero() {
        let price = |s| parse_price(s).map(|m| m.to_string());
        assert_eq!(price("189.12345"), Ok("189.1235".to_string()));
        assert_eq!(price("189.12344999"), Ok("189.1234".to_string()));
        assert_eq!(price("189.99995"), Ok("190.0000".to_string()));
        assert_eq!(price("0.00005"), Ok("0.0001".to_string()));
        assert_eq!(price("189.5"), Ok("189.5000".to_string()));
        assert_eq!(price("42"), Ok("42.0000".to_string()));
        for bad in [
            "", "+1", "-1", ".5", "5.", "1e3", "1,5", "0", "0.00004", "1.2.3",
        ] {
            assert!(parse_price(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(parse_volume("53200000"), Ok(53_200_000));
        assert_eq!(parse_volume("53200000.75"), Ok(53_200_000));
        assert!(parse_volume("-1").is_err());
    }

    #[test]
    fn quote_lines() {
        let line = "AAPL.US,2024-11-21,22:00:09,189.5,191.2,188.1,190.12345,53200000";
        let quote = parse_quote_line(line).expect("ok").expect("data");
        assert_eq!(quote.symbol.as_str(), "AAPL.US");
        assert_eq!(quote.date, day("2024-11-21"));
        assert_eq!(quote.time_of_day, Some(79_209));
        assert_eq!(quote.close, Money(1_901_235));
        assert_eq!(quote.volume, 53_200_000);
        let nd = "AAPL.US,N/D,N/D,N/D,N/D,N/D,N/D,N/D";
        assert_eq!(parse_quote_line(nd), Ok(None));
        assert_eq!(parse_quote_line("X,20241121,,1,1,1,1,n/d"), Ok(None));
        let err = parse_quote_line("AAPL,2024-11-21,,1,2,1,x,5").expect_err("bad close");
        assert_eq!(
            err.0,
            "price \"x\": expected a positive decimal like 189.12"
        );
    }

    const CSV: &str = "\
Symbol,Date,Time,Open,High,Low,Close,Volume
AAPL,2024-11-20,,188.0,190.0,187.5,189.5,1000
msft,2024-11-20,16:00:00,410,415,409,414.25,2000
AAPL,2024-11-21,,189.5,191.0,189.0,190.0,1500
AAPL,N/D,N/D,N/D,N/D,N/D,N/D,N/D

AAPL,2024-11-22,,190.0,190.0,185.0,186.0,900
";

    #[test]
    fn csv_replays_the_file_then_nothing() {
        let mut csv = CsvSource::parse(CSV, "demo.csv").expect("parses");
        let assets = [asset("AAPL"), asset("MSFT"), asset("AAPL.US")];
        let bar = |t, o, h, l, c, v| Bar {
            time: Timestamp(t),
            open: Money::parse(o).expect("o"),
            high: Money::parse(h).expect("h"),
            low: Money::parse(l).expect("l"),
            close: Money::parse(c).expect("c"),
            volume: v,
        };
        let first = csv.fetch(&assets, Timestamp(100)).expect("fetch");
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].symbol.as_str(), "AAPL");
        assert_eq!(first[0].bar, bar(100, "188", "190", "187.5", "189.5", 1000));
        assert_eq!(first[1].symbol.as_str(), "MSFT");
        assert_eq!(first[1].bar, bar(100, "410", "415", "409", "414.25", 2000));
        let second = csv.fetch(&assets, Timestamp(102)).expect("fetch");
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].bar, bar(102, "189.5", "191", "189", "190", 1500));
        let third = csv.fetch(&assets, Timestamp(104)).expect("fetch");
        assert_eq!(third.len(), 1);
        assert_eq!(third[0].bar, bar(104, "190", "190", "185", "186", 900));
        assert_eq!(csv.fetch(&assets, Timestamp(106)), Ok(Vec::new()));
        let today = day("2024-11-25");
        assert_eq!(csv.history(&assets[0], 10, today), Ok(Vec::new()));
    }

    #[test]
    fn csv_errors_name_file_and_line() {
        let err = |text: &str| CsvSource::parse(text, "demo.csv").err().map(|e| e.0);
        let found = "\"Date,Open,High,Low,Close\"";
        assert_eq!(
            err("Date,Open,High,Low,Close\n"),
            Some(format!(
                "demo.csv:1: expected the header {QUOTE_HEADER:?}, found {found}"
            ))
        );
        assert_eq!(
            err(""),
            Some(format!(
                "demo.csv:1: expected the header {QUOTE_HEADER:?}, found end of file"
            ))
        );
        let bad_volume =
            format!("{QUOTE_HEADER}\nA,2024-11-20,,1,1,1,1,5\nA,2024-11-21,,1,1,1,1,x\n");
        assert_eq!(
            err(&bad_volume),
            Some("demo.csv:3: volume \"x\": expected a whole number of shares".to_string())
        );
        let short = format!("{QUOTE_HEADER}\r\nA,2024-11-20,,1,1,1\r\n");
        assert_eq!(
            err(&short),
            Some(format!(
                "demo.csv:2: expected 8 fields ({QUOTE_HEADER}), found 6"
            ))
        );
        let inconsistent = format!("{QUOTE_HEADER}\nA,2024-11-20,,1,2,1,3,5\n");
        let message = err(&inconsistent).expect("error");
        assert!(message.starts_with("demo.csv:2: inconsistent bar: open 1.0000 high 2.0000"));
        let only_nd = format!("{QUOTE_HEADER}\nA,N/D,N/D,N/D,N/D,N/D,N/D,N/D\n");
        assert_eq!(
            err(&only_nd),
            Some("demo.csv: no bars after the header".to_string())
        );
    }

    #[test]
    fn csv_load_names_the_missing_file() {
        let err = CsvSource::load(Path::new("/nonexistent/bars.csv"))
            .err()
            .expect("no file");
        assert!(
            err.0.starts_with("/nonexistent/bars.csv: cannot read: "),
            "{err}"
        );
    }

    #[test]
    fn sim_resumes_from_the_stored_price() {
        let asset = Asset {
            symbol: Symbol::parse("AAPL").expect("symbol"),
            name: "Apple".into(),
        };
        let mut sim = SimSource::new(3, Duration::from_secs(2));
        sim.resume(&asset.symbol, Money(12_345_678));
        let ticks = sim
            .fetch(std::slice::from_ref(&asset), Timestamp(1_700_000_000))
            .expect("tick");
        assert_eq!(
            ticks[0].bar.open,
            Money(12_345_678),
            "the walk goes on from the stored price"
        );
    }
}
