//! The worker's caches (seed 3.2.6), so clients are answered without a round
//! trip to the master: the latest quote of every asset (filled by the
//! `quotes` transfers the master pushes each update interval), whole history
//! answers for a short TTL (filled from the master's `data` answers), and the
//! sessions the master recently vouched for (filled from its `sessionID` and
//! `stateSwitchSuccess` answers).
//!
//! Plain data structures owned and called by the worker's event loop
//! thread, with no lock: nothing else reads them. Time is passed in, so nothing here reads a clock. Every cache is
//! bounded; none of them logs.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};
use std::time::{Duration, Instant};

use papertrader_common::payload::Line;
use papertrader_common::reply::Reply;
use papertrader_common::transfer;
use papertrader_common::value::ReasonCode;
use papertrader_common::{Frame, Instr};

/// One line of `quotes`, which also answers `getAssetValueCurrent` and
/// `getAssetInfo` ([`Quote::current_line`], [`Quote::info_line`]).
pub use papertrader_common::payload::Quote;
use papertrader_common::value::{Date, SessionId, Symbol};

/// Most symbols a [`QuoteCache`] holds; the master's asset list is far
/// smaller, so this only stops a misbehaving master from growing it forever.
pub const MAX_SYMBOLS: usize = 10_000;

/// Bytes a [`HistoryCache`] charges for each entry on top of its payload and
/// key, for the map slots, the age index and the timestamp. It keeps a flood
/// of empty answers bounded too.
pub const ENTRY_OVERHEAD: usize = 128;

/// Default lifetime of a [`SessionCache`] entry: short, because the master
/// may end a session (expiry, logout elsewhere) without telling this worker.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(60);

/// The latest quote of every symbol the master pushed, at most
/// [`MAX_SYMBOLS`] of them, with its two answers encoded in advance: a
/// cached quote costs a copy, not a formatting, per request.
#[derive(Debug, Default)]
pub struct QuoteCache {
    quotes: FastMap<Symbol, Cached>,
    /// The `getAssetInfo` lines of the quotes the last [`QuoteCache::apply`]
    /// stored: what watching clients hear of that price set.
    last_set: Vec<u8>,
    /// The `watchPrices` answer, encoded once per price set that changed
    /// anything (made when first asked for).
    snapshot: Option<Vec<u8>>,
}

/// A quote and the frames that answer for it.
#[derive(Debug)]
struct Cached {
    quote: Quote,
    /// The `data` transfer answering `getAssetValueCurrent`.
    current: Vec<u8>,
    /// The one answering `getAssetInfo`.
    info: Vec<u8>,
}

impl Cached {
    /// The quote with its answers; `info` is its `getAssetInfo` line.
    fn new(quote: Quote, info: &str) -> Cached {
        Cached {
            current: encoded_transfer(quote.current_line().as_bytes()),
            info: encoded_transfer(info.as_bytes()),
            quote,
        }
    }
}

impl QuoteCache {
    /// Applies a whole reassembled `quotes` payload: `\n`-terminated lines,
    /// possibly none. Returns `(applied, skipped)`: `applied` quotes were
    /// stored; `skipped` lines did not parse (or named a new symbol past
    /// [`MAX_SYMBOLS`]). A quote older than the cached one for its symbol is
    /// neither: it is ignored, as the master may deliver an interval late.
    pub fn apply(&mut self, payload: &[u8]) -> (usize, usize) {
        self.last_set.clear();
        let body = payload.strip_suffix(b"\n").unwrap_or(payload);
        if body.is_empty() {
            return (0, 0);
        }
        let (mut applied, mut skipped) = (0, 0);
        for raw in body.split(|&b| b == b'\n') {
            let quote = std::str::from_utf8(raw)
                .ok()
                .and_then(|line| Quote::parse(line).ok());
            match quote.map(|q| self.store(q)) {
                Some(Stored::Yes(line)) => {
                    self.last_set.extend_from_slice(line.as_bytes());
                    self.snapshot = None;
                    applied += 1;
                }
                Some(Stored::Stale) => {}
                Some(Stored::Full) | None => skipped += 1,
            }
        }
        (applied, skipped)
    }

    fn store(&mut self, quote: Quote) -> Stored {
        if let Some(cached) = self.quotes.get_mut(&quote.symbol) {
            if quote.time < cached.quote.time {
                return Stored::Stale;
            }
            let line = quote.info_line();
            *cached = Cached::new(quote, &line);
            return Stored::Yes(line);
        }
        if self.quotes.len() >= MAX_SYMBOLS {
            return Stored::Full;
        }
        let line = quote.info_line();
        self.quotes
            .insert(quote.symbol.clone(), Cached::new(quote, &line));
        Stored::Yes(line)
    }

    /// The `getAssetInfo` lines of the quotes the last `quotes` transfer
    /// brought (older ones it repeated are not in it), in its order.
    pub fn last_set(&self) -> &[u8] {
        &self.last_set
    }

    /// The encoded `watchPrices` answer: a data transfer of the
    /// `getAssetInfo` line of every cached quote, by symbol. Made once per
    /// price set, however many clients ask.
    pub fn snapshot(&mut self) -> &[u8] {
        self.snapshot.get_or_insert_with(|| {
            let mut quotes: Vec<&Quote> = self.quotes.values().map(|c| &c.quote).collect();
            quotes.sort_unstable_by(|a, b| a.symbol.as_str().cmp(b.symbol.as_str()));
            let mut lines = Vec::new();
            for quote in quotes {
                lines.extend_from_slice(quote.info_line().as_bytes());
            }
            encoded_transfer(&lines)
        })
    }

    /// The latest quote of `symbol`.
    pub fn get(&self, symbol: &Symbol) -> Option<&Quote> {
        self.quotes.get(symbol).map(|c| &c.quote)
    }

    /// The encoded answer to `getAssetValueCurrent` (or, with `info`,
    /// `getAssetInfo`) for `symbol`.
    pub fn answer(&self, symbol: &Symbol, info: bool) -> Option<&[u8]> {
        let cached = self.quotes.get(symbol)?;
        Some(if info { &cached.info } else { &cached.current })
    }

    /// Number of symbols cached.
    pub fn len(&self) -> usize {
        self.quotes.len()
    }

    /// True before the first quote arrives.
    pub fn is_empty(&self) -> bool {
        self.quotes.is_empty()
    }
}

/// What [`QuoteCache::store`] did with one quote.
enum Stored {
    /// Stored, with its `getAssetInfo` line.
    Yes(String),
    Stale,
    Full,
}

/// The [`HistoryCache`] key of a history request: the instruction code and
/// its arguments as sent, the symbol upper-cased (`18 AAPL 2024-11-21`).
pub fn history_key(instr: Instr, symbol: &Symbol, date: Option<Date>) -> String {
    match date {
        Some(date) => format!("{} {symbol} {date}", instr.code()),
        None => format!("{} {symbol}", instr.code()),
    }
}

/// The [`HistoryCache`] key of the `getLeaderboard` answer, which holds
/// for one update interval: it is dropped when the next `quotes` transfer
/// (the next price set) arrives.
pub const LEADERBOARD_KEY: &str = "leaderboard";

/// Whole data-transfer payloads of history answers, keyed by the request
/// (see [`history_key`]), each kept for `ttl`. Bounded to `max_bytes` in
/// total, evicting the oldest; each entry is charged its payload, its key
/// twice (map and age index) and [`ENTRY_OVERHEAD`].
#[derive(Debug)]
pub struct HistoryCache {
    ttl: Duration,
    max_bytes: usize,
    bytes: usize,
    entries: Aged<String, Vec<u8>>,
}

impl HistoryCache {
    /// An empty cache.
    pub fn new(ttl: Duration, max_bytes: usize) -> Self {
        HistoryCache {
            ttl,
            max_bytes,
            bytes: 0,
            entries: Aged::default(),
        }
    }

    /// The payload stored under `key`; None if absent or expired (an expired
    /// entry is removed).
    pub fn get(&mut self, key: &str, now: Instant) -> Option<&[u8]> {
        let at = self.entries.get(key)?.at;
        if expired(at, now, self.ttl) {
            self.remove(key);
            return None;
        }
        self.entries.get(key).map(|slot| slot.value.as_slice())
    }

    /// Stores `payload` under `key`, replacing any older answer, evicting
    /// expired then oldest entries to make room. An entry whose charge
    /// exceeds `max_bytes` is not stored (the older answer for `key` is
    /// still dropped: it is no fresher than the one refused).
    pub fn put(&mut self, key: String, mut payload: Vec<u8>, now: Instant) {
        self.remove(&key);
        let cost = charge(&key, payload.len());
        if cost > self.max_bytes {
            return;
        }
        while let Some((old_key, old)) =
            self.entries
                .pop_stale(now, self.ttl, self.bytes + cost > self.max_bytes)
        {
            self.bytes -= charge(&old_key, old.len());
        }
        // A reassembled payload may carry spare capacity that would escape the bound.
        payload.shrink_to_fit();
        self.bytes += cost;
        self.entries.insert(key, payload, now);
    }

    /// Drops the answer under `key`, if any.
    pub fn remove(&mut self, key: &str) {
        if let Some(old) = self.entries.remove(key) {
            self.bytes -= charge(key, old.len());
        }
    }

    /// Number of entries (expired ones included until they are found).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }

    /// Bytes charged for the entries held, at most `max_bytes`.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Drops every expired answer.
    pub fn purge(&mut self, now: Instant) {
        while let Some((key, old)) = self.entries.pop_stale(now, self.ttl, false) {
            self.bytes -= charge(&key, old.len());
        }
    }
}

/// What one history entry costs against `max_bytes`.
fn charge(key: &str, payload_len: usize) -> usize {
    payload_len + 2 * key.len() + ENTRY_OVERHEAD
}

/// Sessions the master recently vouched for (login, loginSession,
/// switchState success), so a switchState can be answered without the
/// master. At most `max_entries`, evicting the oldest; `ttl` short
/// ([`DEFAULT_SESSION_TTL`]).
#[derive(Debug)]
pub struct SessionCache {
    ttl: Duration,
    max_entries: usize,
    sessions: Aged<SessionId, (), foldhash::fast::RandomState>,
}

impl SessionCache {
    /// An empty cache.
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        SessionCache {
            ttl,
            max_entries,
            sessions: Aged::default(),
        }
    }

    /// Records that the master vouched for `id` at `now` (refreshing it if
    /// already known), evicting expired then oldest sessions to make room.
    pub fn remember(&mut self, id: &SessionId, now: Instant) {
        if self.max_entries == 0 {
            return;
        }
        self.sessions.remove(id);
        while self
            .sessions
            .pop_stale(now, self.ttl, self.sessions.len() >= self.max_entries)
            .is_some()
        {}
        self.sessions.insert(id.clone(), (), now);
    }

    /// True if the master vouched for `id` less than `ttl` ago; an expired
    /// entry is removed. Asking does not refresh it.
    pub fn is_valid(&mut self, id: &SessionId, now: Instant) -> bool {
        let Some(slot) = self.sessions.get(id) else {
            return false;
        };
        if expired(slot.at, now, self.ttl) {
            self.sessions.remove(id);
            return false;
        }
        true
    }

    /// Drops `id` (logout, sessionClosed).
    pub fn forget(&mut self, id: &SessionId) {
        self.sessions.remove(id);
    }

    /// Number of sessions held (expired ones included until they are found).
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// True when no session is held.
    pub fn is_empty(&self) -> bool {
        self.sessions.len() == 0
    }

    /// Drops every expired session.
    pub fn purge(&mut self, now: Instant) {
        while self.sessions.pop_stale(now, self.ttl, false).is_some() {}
    }
}

/// True once `at` is `ttl` or more before `now`.
fn expired(at: Instant, now: Instant, ttl: Duration) -> bool {
    now.saturating_duration_since(at) >= ttl
}

/// A map that also indexes its entries by insertion order, so the oldest is
/// found and evicted in O(log n). With one TTL per cache and `now` never
/// going back (the event loop's monotonic clock), the oldest inserted is
/// also the first to expire.
///
/// `S` hashes the keys: std's SipHash by default, for keys a peer may
/// choose (history requests); foldhash for session ids, which only the
/// master makes.
#[derive(Debug)]
struct Aged<K, V, S = std::hash::RandomState> {
    map: HashMap<K, Slot<V>, S>,
    order: BTreeMap<u64, K>,
    next_seq: u64,
}

/// A value with its insertion time and its place in [`Aged::order`].
#[derive(Debug)]
struct Slot<V> {
    value: V,
    at: Instant,
    seq: u64,
}

impl<K, V, S: Default> Default for Aged<K, V, S> {
    fn default() -> Self {
        Aged {
            map: HashMap::default(),
            order: BTreeMap::new(),
            next_seq: 0,
        }
    }
}

impl<K: Clone + Eq + Hash, V, S: BuildHasher> Aged<K, V, S> {
    /// Inserts `key` as the newest entry, replacing any previous value.
    fn insert(&mut self, key: K, value: V, at: Instant) {
        self.remove(&key);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, key.clone());
        self.map.insert(key, Slot { value, at, seq });
    }

    fn get<Q>(&self, key: &Q) -> Option<&Slot<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key)
    }

    fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = self.map.remove(key)?;
        self.order.remove(&slot.seq);
        Some(slot.value)
    }

    /// Takes out the oldest entry if it has expired at `now`, or if
    /// `over` (the cache is over its bound).
    fn pop_stale(&mut self, now: Instant, ttl: Duration, over: bool) -> Option<(K, V)> {
        let (_, key) = self.order.first_key_value()?;
        if !over && !expired(self.map.get(key)?.at, now, ttl) {
            return None;
        }
        let (_, key) = self.order.pop_first()?;
        let slot = self.map.remove(&key)?;
        Some((key, slot.value))
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

/// The worker's three caches, owned by the event loop: lookups and fills as
/// requests and answers pass, expiry in its one-second sweep. No lock: no
/// other thread reads them.
#[derive(Debug)]
pub struct Caches {
    /// Quotes pushed by the master.
    pub quotes: QuoteCache,
    /// History answers.
    pub history: HistoryCache,
    /// Sessions the master vouched for.
    pub sessions: SessionCache,
}

/// Most sessions remembered at once.
pub const MAX_SESSIONS: usize = 100_000;

impl Caches {
    /// Empty caches with the given lifetimes and history budget.
    pub fn new(session_ttl: Duration, history_ttl: Duration, history_bytes: usize) -> Caches {
        Caches {
            quotes: QuoteCache::default(),
            history: HistoryCache::new(history_ttl, history_bytes),
            sessions: SessionCache::new(session_ttl, MAX_SESSIONS),
        }
    }

    /// Drops expired history answers and sessions.
    pub fn purge(&mut self, now: Instant) {
        self.history.purge(now);
        self.sessions.purge(now);
    }
}

/// A hash map on foldhash, for keys no peer chooses (see Cargo.toml).
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The frames of a data transfer carrying `payload`, or a `dataFail`
/// `internal` for one too large to send.
pub fn transfer_frames(payload: &[u8]) -> Vec<Frame> {
    transfer::packets(Instr::Data, payload, None).unwrap_or_else(|err| {
        papertrader_common::error!("cannot send a data answer: {err}");
        let text = "the answer is too large to send; nothing was changed";
        vec![Reply::fail(Instr::DataFail, ReasonCode::Internal, text).encode(None)]
    })
}

/// The bytes of a `prices` transfer carrying `lines`, the push that
/// follows a price set to each watching client; `None` (logged) when the
/// lines are too many for one transfer.
pub fn encoded_prices(lines: &[u8]) -> Option<Vec<u8>> {
    let frames = transfer::packets(Instr::Prices, lines, None)
        .map_err(|err| papertrader_common::error!("cannot push prices: {err}"))
        .ok()?;
    let mut bytes = Vec::new();
    for frame in frames {
        frame.encode(&mut bytes);
    }
    Some(bytes)
}

/// The bytes of [`transfer_frames`]: an answer encoded in advance.
pub fn encoded_transfer(payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for frame in transfer_frames(payload) {
        frame.encode(&mut bytes);
    }
    bytes
}

#[cfg(test)]
mod tests;
