//! Failed-login rate limiting, keyed by strings such as `user:alice` and
//! `addr:127.0.0.1`.
//!
//! One [`RateLimiter`] is shared by the auth pool threads behind an
//! `Arc<parking_lot::Mutex<_>>`; each call is a hash-map operation, so the
//! lock is held only for a moment and never across SQL or argon2. Memory
//! stays bounded: stale entries are pruned every [`PRUNE_EVERY`] calls, and
//! past [`MAX_KEYS`] keys the least recently failed ones are evicted.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use papertrader_common::value::Username;

/// Most keys kept at once; an address spray cannot grow the map past this.
pub const MAX_KEYS: usize = 100_000;

/// Calls to `check`/`failure` between two sweeps for stale entries.
pub const PRUNE_EVERY: u32 = 1024;

/// The key of a username, ignoring case: `user:alice`.
pub fn user_key(username: &Username) -> String {
    format!("user:{}", username.key())
}

/// The key of a client's IP, without the port: `127.0.0.1:5000` ->
/// `addr:127.0.0.1`, `[::1]:5000` -> `addr:::1`. IPv4-mapped IPv6 addresses
/// count as their IPv4 address, so one client cannot have two keys.
pub fn addr_key(client_addr: &str) -> String {
    let ip = if let Ok(addr) = client_addr.parse::<SocketAddr>() {
        addr.ip().to_canonical().to_string()
    } else if let Ok(ip) = client_addr.parse::<IpAddr>() {
        ip.to_canonical().to_string()
    } else {
        // Not an IP (a host name, an IPv6 zone): the text before the port.
        let host = match client_addr.rsplit_once(':') {
            Some((host, _)) => host,
            None => client_addr,
        };
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase()
    };
    format!("addr:{ip}")
}

/// When failures lock a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// This many failures within `window` lock the key.
    pub failures: u32,
    /// The span over which failures are counted.
    pub window: Duration,
    /// How long a locked key stays locked.
    pub lockout: Duration,
}

impl Default for RateLimitConfig {
    fn default() -> RateLimitConfig {
        RateLimitConfig {
            failures: 10,
            window: Duration::from_secs(10 * 60),
            lockout: Duration::from_secs(10 * 60),
        }
    }
}

/// Failure count of one key. The window is fixed: it starts at the first
/// failure and the count resets once it has passed.
#[derive(Debug, Clone, Copy)]
struct Entry {
    window_start: Instant,
    failures: u32,
    locked_until: Option<Instant>,
    /// Last failure, for choosing whom to evict.
    last: Instant,
}

impl Entry {
    fn locked_at(&self, now: Instant) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }

    /// Neither locked nor counting failures that still matter.
    fn is_stale(&self, now: Instant, window: Duration) -> bool {
        !self.locked_at(now)
            && (self.failures == 0 || now.saturating_duration_since(self.window_start) >= window)
    }
}

/// Counts failed logins per key and locks keys that fail too often.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    max_keys: usize,
    entries: HashMap<String, Entry>,
    calls_since_prune: u32,
}

impl RateLimiter {
    /// An empty limiter holding at most [`MAX_KEYS`] keys.
    pub fn new(config: RateLimitConfig) -> RateLimiter {
        RateLimiter::with_max_keys(config, MAX_KEYS)
    }

    /// An empty limiter holding at most `max_keys` keys (at least 1).
    pub fn with_max_keys(config: RateLimitConfig, max_keys: usize) -> RateLimiter {
        RateLimiter {
            config,
            max_keys: max_keys.max(1),
            entries: HashMap::new(),
            calls_since_prune: 0,
        }
    }

    /// `Ok` if `key` may try now, else `Err` with the lockout time left.
    pub fn check(&mut self, key: &str, now: Instant) -> Result<(), Duration> {
        self.tick(now);
        match self.entries.get(key).and_then(|e| e.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Records a failure; the `failures`-th one within `window` locks `key`
    /// for `lockout`. Failures while already locked change nothing.
    pub fn failure(&mut self, key: &str, now: Instant) {
        self.tick(now);
        if !self.entries.contains_key(key) {
            self.make_room(now);
        }
        let config = &self.config;
        let entry = self.entries.entry(key.to_string()).or_insert(Entry {
            window_start: now,
            failures: 0,
            locked_until: None,
            last: now,
        });
        entry.last = now;
        if entry.locked_at(now) {
            return;
        }
        if entry.failures == 0 || now.saturating_duration_since(entry.window_start) >= config.window
        {
            entry.window_start = now;
            entry.failures = 0;
        }
        entry.locked_until = None;
        entry.failures += 1;
        if entry.failures >= config.failures.max(1) {
            // A lockout too long for Instant (a silly config) locks for a year.
            let until = now
                .checked_add(config.lockout)
                .or_else(|| now.checked_add(Duration::from_secs(365 * 86_400)));
            entry.locked_until = Some(until.unwrap_or(now));
            entry.failures = 0;
        }
    }

    /// Forgets `key`'s failures (and any lock): a correct password proves
    /// the person behind the user key.
    pub fn success(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// Keys currently tracked.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No key tracked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn tick(&mut self, now: Instant) {
        self.calls_since_prune += 1;
        if self.calls_since_prune >= PRUNE_EVERY {
            self.prune(now);
        }
    }

    /// Drops every entry that no longer affects any decision.
    fn prune(&mut self, now: Instant) {
        self.calls_since_prune = 0;
        let window = self.config.window;
        self.entries.retain(|_, e| !e.is_stale(now, window));
    }

    /// Before a new key goes in at the limit: prune, and if that is not
    /// enough evict down to 90 % of the limit so the O(n) work is rare.
    /// Unlocked keys go first, oldest first, so a flood of new keys cannot
    /// cheaply lift a lock.
    fn make_room(&mut self, now: Instant) {
        if self.entries.len() < self.max_keys {
            return;
        }
        self.prune(now);
        if self.entries.len() < self.max_keys {
            return;
        }
        let keep = self.max_keys - self.max_keys.div_ceil(10);
        let evict = self.entries.len() - keep;
        let mut order: Vec<(bool, Instant, &String)> = self
            .entries
            .iter()
            .map(|(k, e)| (e.locked_at(now), e.last, k))
            .collect();
        order.select_nth_unstable(evict - 1);
        let victims: Vec<String> = order[..evict]
            .iter()
            .map(|(_, _, k)| (*k).clone())
            .collect();
        for key in victims {
            self.entries.remove(&key);
        }
        papertrader_common::warn!("rate limiter full: evicted {evict} keys");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn limiter() -> RateLimiter {
        RateLimiter::new(RateLimitConfig::default())
    }

    #[test]
    fn keys() {
        let alice = Username::parse("AliCe").expect("valid");
        assert_eq!(user_key(&alice), "user:alice");
        assert_eq!(addr_key("127.0.0.1:5000"), "addr:127.0.0.1");
        assert_eq!(addr_key("[::1]:5000"), "addr:::1");
        assert_eq!(addr_key("[::ffff:10.0.0.1]:5000"), "addr:10.0.0.1");
        assert_eq!(addr_key("[fe80::1%eth0]:5000"), "addr:fe80::1%eth0");
        assert_eq!(addr_key("Host.Example:80"), "addr:host.example");
        assert_eq!(addr_key("10.0.0.7"), "addr:10.0.0.7");
    }

    #[test]
    fn ten_failures_lock_nine_do_not() {
        let t0 = Instant::now();
        let mut rl = limiter();
        for i in 0..9 {
            rl.failure("user:alice", t0 + Duration::from_secs(i));
        }
        assert_eq!(rl.check("user:alice", t0 + MIN), Ok(()));
        rl.failure("user:alice", t0 + MIN);
        assert_eq!(rl.check("user:alice", t0 + MIN), Err(10 * MIN));
        assert_eq!(rl.check("user:alice", t0 + 3 * MIN), Err(8 * MIN));
    }

    #[test]
    fn lock_lifts_after_lockout() {
        let t0 = Instant::now();
        let mut rl = limiter();
        for _ in 0..10 {
            rl.failure("addr:10.0.0.1", t0);
        }
        assert!(
            rl.check("addr:10.0.0.1", t0 + 10 * MIN - Duration::from_secs(1))
                .is_err()
        );
        assert_eq!(rl.check("addr:10.0.0.1", t0 + 10 * MIN), Ok(()));
        // A fresh count starts: one more failure does not lock again.
        rl.failure("addr:10.0.0.1", t0 + 11 * MIN);
        assert_eq!(rl.check("addr:10.0.0.1", t0 + 11 * MIN), Ok(()));
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let t0 = Instant::now();
        let mut rl = limiter();
        for _ in 0..9 {
            rl.failure("user:bob", t0);
        }
        for _ in 0..9 {
            rl.failure("user:bob", t0 + 10 * MIN);
        }
        assert_eq!(rl.check("user:bob", t0 + 10 * MIN), Ok(()));
    }

    #[test]
    fn success_clears_and_keys_are_independent() {
        let t0 = Instant::now();
        let mut rl = limiter();
        for _ in 0..9 {
            rl.failure("user:carol", t0);
            rl.failure("addr:::1", t0);
        }
        rl.success("user:carol");
        rl.failure("user:carol", t0);
        rl.failure("addr:::1", t0);
        assert_eq!(rl.check("user:carol", t0), Ok(()));
        assert!(rl.check("addr:::1", t0).is_err());
        assert_eq!(rl.check("user:dave", t0), Ok(()));
    }

    #[test]
    fn stale_entries_are_pruned() {
        let t0 = Instant::now();
        let mut rl = limiter();
        for i in 0..500 {
            rl.failure(&format!("addr:10.0.{}.{}", i / 256, i % 256), t0);
        }
        for _ in 0..10 {
            rl.failure("user:locked", t0);
        }
        assert_eq!(rl.len(), 501);
        let later = t0 + 10 * MIN + Duration::from_secs(1);
        for _ in 0..PRUNE_EVERY {
            let _ = rl.check("user:nobody", later);
        }
        assert_eq!(rl.len(), 0, "window and lockout both over");
    }

    #[test]
    fn map_is_capped_and_locks_survive_eviction() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::with_max_keys(RateLimitConfig::default(), 100);
        for _ in 0..10 {
            rl.failure("user:victim", t0);
        }
        for i in 0..1000u64 {
            rl.failure(&format!("addr:{i}"), t0 + Duration::from_millis(i + 1));
            assert!(rl.len() <= 100);
        }
        assert!(rl.check("user:victim", t0 + MIN).is_err(), "lock kept");
        assert!(rl.entries.contains_key("addr:999"), "newest kept");
        assert!(!rl.entries.contains_key("addr:0"), "oldest evicted");
    }
}
