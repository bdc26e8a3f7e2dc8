//! The worker's side of API keys: keys the master vouched for lately
//! ([`KeyCache`], one second by default, so that a revoke takes effect on
//! every worker within it), and the requests each key, and each address
//! failing to give a good key, may make ([`Buckets`]). Plain data owned by
//! the event loop; time is passed in.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use papertrader_common::value::{ApiKeyId, ApiSecret, SessionId, Username};
use sha2::{Digest, Sha256};

/// Whose a key is: the session it works under and the owner's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    /// The key's session.
    pub session: SessionId,
    /// The owner, as registered.
    pub username: Username,
}

/// Most keys held; the oldest go first.
pub const MAX_KEYS: usize = 10_000;

/// How long a key the master vouched for is taken on its word.
pub const KEY_TTL: Duration = Duration::from_secs(1);

/// How long a key and secret the master vouched for are known to be good:
/// asking again for them is never refused for the address's sake, so that
/// wrong secrets from the owner's address cannot lock the owner out.
pub const KNOWN_FOR: Duration = Duration::from_secs(600);

struct Entry {
    digest: [u8; 32],
    who: Who,
    at: Instant,
}

/// Keys the master vouched for, with a digest of the secret it vouched
/// for (never the secret).
pub struct KeyCache {
    ttl: Duration,
    entries: HashMap<ApiKeyId, Entry>,
    order: VecDeque<(ApiKeyId, Instant)>,
}

fn digest(secret: &ApiSecret) -> [u8; 32] {
    Sha256::digest(secret.as_str().as_bytes()).into()
}

/// Equal in a time that does not depend on where they differ.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl KeyCache {
    /// An empty cache whose entries last `ttl`.
    pub fn new(ttl: Duration) -> KeyCache {
        KeyCache {
            ttl,
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Whose `id` is, if the master vouched for it with this `secret` less
    /// than the lifetime ago.
    pub fn get(&self, id: &ApiKeyId, secret: &ApiSecret, now: Instant) -> Option<Who> {
        let entry = self.entries.get(id)?;
        let fresh = now.saturating_duration_since(entry.at) < self.ttl;
        (fresh && same(&entry.digest, &digest(secret))).then(|| entry.who.clone())
    }

    /// Whether the master vouched for `id` with this `secret` in the last
    /// [`KNOWN_FOR`] (it is asked again all the same).
    pub fn known(&self, id: &ApiKeyId, secret: &ApiSecret, now: Instant) -> bool {
        self.entries.get(id).is_some_and(|entry| {
            now.saturating_duration_since(entry.at) < KNOWN_FOR
                && same(&entry.digest, &digest(secret))
        })
    }

    /// Records the master's word for `id` and `secret`.
    pub fn put(&mut self, id: &ApiKeyId, secret: &ApiSecret, who: Who, now: Instant) {
        self.purge(now);
        while self.entries.len() >= MAX_KEYS {
            match self.order.pop_front() {
                Some((old, _)) => {
                    self.entries.remove(&old);
                }
                None => break,
            }
        }
        let entry = Entry {
            digest: digest(secret),
            who,
            at: now,
        };
        self.entries.insert(id.clone(), entry);
        self.order.push_back((id.clone(), now));
        // A key asked about every second leaves an old place in the queue
        // each time: drop those when they pile up.
        if self.order.len() > 2 * MAX_KEYS.max(self.entries.len()) {
            let entries = &self.entries;
            self.order
                .retain(|(id, at)| entries.get(id).is_some_and(|e| e.at == *at));
        }
    }

    /// Forgets `id` (the master no longer takes its session).
    pub fn forget(&mut self, id: &ApiKeyId) {
        self.entries.remove(id);
    }

    /// Drops what is no longer known good.
    pub fn purge(&mut self, now: Instant) {
        while let Some((id, at)) = self.order.front() {
            if now.saturating_duration_since(*at) < KNOWN_FOR.max(self.ttl) {
                break;
            }
            if self.entries.get(id).is_some_and(|e| e.at == *at) {
                self.entries.remove(id);
            }
            self.order.pop_front();
        }
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Most buckets kept; full ones are dropped first when over.
pub const MAX_BUCKETS: usize = 100_000;

/// Token buckets by name: each holds `per_minute` requests and refills at
/// that rate, so a steady `per_minute` a minute always passes and a burst
/// of `per_minute` too.
pub struct Buckets {
    per_minute: u64,
    /// Units of 1/60 000 request, and when last refilled.
    buckets: HashMap<String, (u64, Instant)>,
}

/// A refusal: how long until one more request passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait(pub Duration);

impl Buckets {
    /// Buckets of `per_minute` (0: no limit).
    pub fn new(per_minute: u32) -> Buckets {
        Buckets {
            per_minute: u64::from(per_minute),
            buckets: HashMap::new(),
        }
    }

    fn capacity(&self) -> u64 {
        self.per_minute * 60_000
    }

    /// Takes one request from `name`'s bucket.
    pub fn take(&mut self, name: &str, now: Instant) -> Result<(), Wait> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let (capacity, rate) = (self.capacity(), self.per_minute);
        if !self.buckets.contains_key(name) && self.buckets.len() >= MAX_BUCKETS {
            self.sweep(now);
        }
        let (units, at) = self
            .buckets
            .entry(name.to_string())
            .or_insert((capacity, now));
        let elapsed =
            u64::try_from(now.saturating_duration_since(*at).as_millis()).unwrap_or(u64::MAX);
        *units = units
            .saturating_add(elapsed.saturating_mul(rate))
            .min(capacity);
        *at = now;
        if *units >= 60_000 {
            *units -= 60_000;
            return Ok(());
        }
        let missing = 60_000 - *units;
        Err(Wait(Duration::from_millis(missing.div_ceil(rate))))
    }

    /// Drops buckets that have refilled (and, past the cap, the oldest).
    pub fn sweep(&mut self, now: Instant) {
        let (capacity, rate) = (self.capacity(), self.per_minute.max(1));
        self.buckets.retain(|_, (units, at)| {
            let elapsed =
                u64::try_from(now.saturating_duration_since(*at).as_millis()).unwrap_or(u64::MAX);
            units.saturating_add(elapsed.saturating_mul(rate)) < capacity
        });
        while self.buckets.len() >= MAX_BUCKETS {
            let Some(oldest) = self
                .buckets
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.buckets.remove(&oldest);
        }
    }

    /// Buckets held.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(n: u8) -> Who {
        Who {
            session: SessionId::from_bytes([n; 16]),
            username: Username::parse("alice").expect("name"),
        }
    }

    #[test]
    fn a_key_is_taken_for_a_second_with_its_own_secret_only() {
        let t0 = Instant::now();
        let mut cache = KeyCache::new(KEY_TTL);
        let id = ApiKeyId::from_bytes([1; 12]);
        let (secret, wrong) = (
            ApiSecret::from_bytes([2; 32]),
            ApiSecret::from_bytes([3; 32]),
        );
        assert_eq!(cache.get(&id, &secret, t0), None);
        cache.put(&id, &secret, who(1), t0);
        assert_eq!(
            cache.get(&id, &secret, t0 + Duration::from_millis(999)),
            Some(who(1))
        );
        assert_eq!(
            cache.get(&id, &wrong, t0),
            None,
            "a wrong secret is not vouched for"
        );
        assert_eq!(
            cache.get(&id, &secret, t0 + KEY_TTL),
            None,
            "a revoke shows within a second"
        );
        assert!(
            cache.known(&id, &secret, t0 + KEY_TTL),
            "still known good, asked again"
        );
        assert!(!cache.known(&id, &wrong, t0 + KEY_TTL));
        cache.purge(t0 + KEY_TTL);
        assert_eq!(cache.len(), 1);
        cache.purge(t0 + KNOWN_FOR);
        assert!(cache.is_empty());
        cache.put(&id, &secret, who(1), t0);
        cache.forget(&id);
        assert_eq!(cache.get(&id, &secret, t0), None);
    }

    #[test]
    fn a_key_asked_again_and_again_keeps_the_queue_bounded() {
        let t0 = Instant::now();
        let mut cache = KeyCache::new(KEY_TTL);
        let (id, secret) = (
            ApiKeyId::from_bytes([1; 12]),
            ApiSecret::from_bytes([2; 32]),
        );
        for i in 0..(3 * MAX_KEYS as u64) {
            cache.put(&id, &secret, who(1), t0 + Duration::from_millis(i));
        }
        assert!(cache.order.len() <= 2 * MAX_KEYS, "{}", cache.order.len());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn the_cache_is_bounded() {
        let t0 = Instant::now();
        let mut cache = KeyCache::new(Duration::from_secs(3600));
        let secret = ApiSecret::from_bytes([2; 32]);
        for i in 0..(MAX_KEYS + 5) as u32 {
            let mut bytes = [0u8; 12];
            bytes[..4].copy_from_slice(&i.to_be_bytes());
            cache.put(&ApiKeyId::from_bytes(bytes), &secret, who(1), t0);
        }
        assert_eq!(cache.len(), MAX_KEYS);
    }

    #[test]
    fn buckets_pass_the_rate_and_say_how_long_to_wait() {
        let t0 = Instant::now();
        let mut b = Buckets::new(200);
        for _ in 0..200 {
            assert_eq!(b.take("k", t0), Ok(()));
        }
        let Err(Wait(wait)) = b.take("k", t0) else {
            panic!("over the limit")
        };
        assert_eq!(wait, Duration::from_millis(300), "one request every 300 ms");
        assert_eq!(b.take("other", t0), Ok(()), "each name has its own");
        assert_eq!(b.take("k", t0 + Duration::from_millis(300)), Ok(()));
        assert!(b.take("k", t0 + Duration::from_millis(300)).is_err());
        b.sweep(t0 + Duration::from_secs(120));
        assert!(b.is_empty(), "full buckets are dropped");
        let mut free = Buckets::new(0);
        for _ in 0..10_000 {
            assert_eq!(free.take("k", t0), Ok(()));
        }
    }
}
