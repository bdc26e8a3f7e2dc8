//! The simulated market (`price_source = sim`), a [`Provider`] that needs
//! no network: a seeded random walk per symbol with a daily volatility of
//! 1-2.5%, scaled to the update interval by the square root of time. The
//! "asset" thread owns it and polls it once per update; nothing here
//! spawns, locks or waits.
//!
//! All prices are integer `Money`: random-walk steps are drawn in parts
//! per billion and applied with i128 arithmetic.

use std::collections::HashMap;
use std::time::Duration;

use papertrader_common::value::{Date, Money, SCALE, Symbol, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::Bar;
use super::provider::{History, HistoryJob, Provider, Update};

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

/// The offline simulated market: the same for the same seed and interval.
pub struct Sim {
    seed: u64,
    interval_ms: u128,
    /// sqrt(interval / 1 day), in parts per million.
    scale_ppm: i64,
    walks: HashMap<Symbol, Walk>,
    /// The assets it prices.
    symbols: Vec<Symbol>,
    /// History answers for the next poll.
    answers: Vec<Update>,
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

impl Sim {
    /// A market that is the same for the same `seed`; `interval` is the
    /// time between two polls.
    pub fn new(seed: u64, interval: Duration) -> Sim {
        let interval_ms = interval.as_millis();
        let scale = (interval_ms * 1_000_000_000_000 / DAY_MS).isqrt();
        Sim {
            seed,
            interval_ms,
            scale_ppm: i64::try_from(scale).unwrap_or(i64::MAX),
            walks: HashMap::new(),
            symbols: Vec::new(),
            answers: Vec::new(),
        }
    }

    fn walk(&mut self, symbol: &Symbol) -> &mut Walk {
        let seed = self.seed;
        self.walks
            .entry(symbol.clone())
            .or_insert_with(|| Walk::new(seed, symbol))
    }

    /// One bar per calendar day from `to` back to `from` (the simulated
    /// market never closes), walking backwards from the current price so
    /// that the last bar's close is exactly where the live walk goes on.
    fn history(&mut self, symbol: &Symbol, from: Date, to: Date) -> Vec<Bar> {
        let mut rng = StdRng::seed_from_u64(stream_seed(self.seed, symbol, STREAM_HISTORY));
        let walk = self.walk(symbol);
        let (sigma_ppb, daily_volume) = (walk.sigma_ppm * 1000, walk.daily_volume);
        let mut close = walk.price;
        let mut bars = Vec::new();
        let mut day = Some(to.0);
        while let Some(date) = day.filter(|d| *d >= from.0) {
            let open = step(&mut rng, close, sigma_ppb);
            let volume = day_volume(&mut rng, daily_volume);
            let time = Date(date).start();
            bars.push(make_bar(&mut rng, time, open, close, sigma_ppb, volume));
            close = open;
            day = date.previous_day();
        }
        bars.reverse();
        bars
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

    /// The walk's next step, as the bar of the update at `now`.
    fn next_bar(&mut self, now: Timestamp, scale_ppm: i64, interval_ms: u128) -> Bar {
        let sigma_ppb = self.sigma_ppm.saturating_mul(scale_ppm) / 1000;
        let daily = day_volume(&mut self.rng, self.daily_volume);
        let volume = (u128::from(daily) * interval_ms / DAY_MS).max(1);
        let volume = u64::try_from(volume).unwrap_or(u64::MAX);
        let open = self.price;
        let close = step(&mut self.rng, open, sigma_ppb);
        let bar = make_bar(&mut self.rng, now, open, close, sigma_ppb, volume);
        self.price = close;
        bar
    }
}

impl Provider for Sim {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn set_symbols(&mut self, symbols: Vec<(Symbol, String)>) {
        self.symbols = symbols.into_iter().map(|(symbol, _)| symbol).collect();
    }

    /// The walk goes on from the stored price, so a restart does not make
    /// prices jump back to the seed's.
    fn resume(&mut self, symbol: &Symbol, last: Money) {
        self.walk(symbol).price = last.0.clamp(MIN_PRICE, MAX_PRICE);
    }

    fn ask_history(&mut self, job: HistoryJob) {
        let bars = self.history(&job.symbol, job.from, job.to);
        let history = History::of_bars(bars);
        self.answers.push(Update::History(job.symbol, Ok(history)));
    }

    /// A bar for every asset, every time.
    fn poll(&mut self, now: Timestamp) -> Vec<Update> {
        let mut out = std::mem::take(&mut self.answers);
        let (scale_ppm, interval_ms) = (self.scale_ppm, self.interval_ms);
        for symbol in self.symbols.clone() {
            let bar = self.walk(&symbol).next_bar(now, scale_ppm, interval_ms);
            out.push(Update::Price(symbol, bar));
        }
        out
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

    fn symbol(text: &str) -> Symbol {
        Symbol::parse(text).expect("symbol")
    }

    fn day(text: &str) -> Date {
        Date::parse(text).expect("date")
    }

    /// A market pricing `symbols`.
    fn sim(seed: u64, interval_s: u64, symbols: &[&str]) -> Sim {
        let mut sim = Sim::new(seed, Duration::from_secs(interval_s));
        let pairs = symbols.iter().map(|s| (symbol(s), s.to_string()));
        sim.set_symbols(pairs.collect());
        sim
    }

    /// The prices of one poll, checking that nothing else came.
    fn prices(sim: &mut Sim, now: i64) -> Vec<(Symbol, Bar)> {
        let price = |update| match update {
            Update::Price(symbol, bar) => (symbol, bar),
            other => panic!("not a price: {other:?}"),
        };
        sim.poll(Timestamp(now)).into_iter().map(price).collect()
    }

    /// `days` daily bars to the day before `today`, through a history job.
    fn backfill(sim: &mut Sim, text: &str, days: i64, today: Date) -> Vec<Bar> {
        let to = today.0.previous_day().map(Date).expect("yesterday");
        let from = Date(today.0 - time::Duration::days(days));
        let job = HistoryJob {
            symbol: symbol(text),
            remote: text.to_string(),
            from,
            to,
        };
        sim.ask_history(job.clone());
        match sim.answers.pop() {
            Some(Update::History(s, Ok(history))) if s == job.symbol => history.bars,
            other => panic!("no history answer: {other:?}"),
        }
    }

    /// A seed gives the market it always gave: these are the simulator's
    /// prices from before it became a provider.
    #[test]
    fn seed_7_gives_the_same_market_as_ever() {
        let mut sim = sim(7, 2, &["MSFT", "ZZZZ"]);
        let bar = |t, [o, h, l, c]: [i64; 4], volume| Bar {
            time: Timestamp(t),
            open: Money(o),
            high: Money(h),
            low: Money(l),
            close: Money(c),
            volume,
        };
        assert_eq!(
            backfill(&mut sim, "MSFT", 3, day("2026-03-02")),
            [
                bar(
                    1_772_150_400,
                    [4000499, 4064331, 3985311, 4039838],
                    21113900
                ),
                bar(
                    1_772_236_800,
                    [4039838, 4082432, 3919434, 3952850],
                    18157954
                ),
                bar(
                    1_772_323_200,
                    [3952850, 3976941, 3807317, 3827759],
                    15835425
                ),
            ]
        );
        let mut ticks = prices(&mut sim, 1_772_409_600);
        ticks.extend(prices(&mut sim, 1_772_409_602));
        let ticks: Vec<Bar> = ticks.into_iter().map(|(_, bar)| bar).collect();
        assert_eq!(
            ticks,
            [
                bar(1_772_409_600, [3827759, 3827911, 3827628, 3827763], 268),
                bar(1_772_409_600, [3828753, 3828790, 3828569, 3828587], 257),
                bar(1_772_409_602, [3827763, 3828262, 3827759, 3828246], 674),
                bar(1_772_409_602, [3828587, 3829275, 3828531, 3829155], 236),
            ]
        );
        let mut seed_8 = Sim::new(8, Duration::from_secs(2));
        let other = backfill(&mut seed_8, "MSFT", 3, day("2026-03-02"));
        assert_ne!(
            other[2].close,
            Money(3827759),
            "each seed is its own market"
        );
    }

    fn assert_sane(bar: &Bar, what: &str) {
        assert!(bar.low >= Money(MIN_PRICE), "{what}: low {bar:?}");
        assert!(bar.low <= bar.open.min(bar.close), "{what}: {bar:?}");
        assert!(bar.high >= bar.open.max(bar.close), "{what}: {bar:?}");
        assert!(bar.volume > 0, "{what}: volume {bar:?}");
    }

    #[test]
    fn sim_bars_are_sane_and_continuous() {
        let symbols = ["MSFT", "PENNY", "SPY"];
        let mut sim = sim(7, 2, &symbols);
        let today = day("2026-03-02");
        let mut last_closes = Vec::new();
        for s in symbols {
            let bars = backfill(&mut sim, s, 730, today);
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
        let mut previous: Option<Vec<(Symbol, Bar)>> = None;
        for i in 0..1000 {
            let ticks = prices(&mut sim, 1_772_409_600 + 2 * i);
            assert_eq!(ticks.len(), symbols.len());
            for (n, (s, bar)) in ticks.iter().enumerate() {
                assert_eq!(s.as_str(), symbols[n]);
                assert_eq!(bar.time, Timestamp(1_772_409_600 + 2 * i));
                assert_sane(bar, "tick");
                let open = match &previous {
                    None => last_closes[n],
                    Some(p) => p[n].1.close,
                };
                assert_eq!(bar.open, open, "tick {i} of {s}");
            }
            previous = Some(ticks);
        }
    }

    #[test]
    fn sim_step_size_follows_the_interval() {
        // Over a 2 s interval a 1-2.5% daily sigma is 0.005-0.012%: the
        // largest of 1000 moves stays well under 0.1%.
        let mut sim = sim(1, 2, &["AAPL"]);
        for i in 0..1000 {
            let bar = prices(&mut sim, i)[0].1;
            let diff = (bar.close.0 - bar.open.0).abs();
            assert!(diff * 1000 < bar.open.0, "{bar:?}");
        }
    }

    #[test]
    fn known_symbols_start_near_their_price() {
        let mut sim = sim(5, 60, &["AAPL"]);
        let bar = prices(&mut sim, 0)[0].1;
        assert!((171 * SCALE..=209 * SCALE).contains(&bar.open.0), "{bar:?}");
    }

    #[test]
    fn sim_resumes_from_the_stored_price() {
        let mut sim = sim(3, 2, &["AAPL"]);
        sim.resume(&symbol("AAPL"), Money(12_345_678));
        let bar = prices(&mut sim, 1_700_000_000)[0].1;
        assert_eq!(
            bar.open,
            Money(12_345_678),
            "the walk goes on from the stored price"
        );
    }
}
