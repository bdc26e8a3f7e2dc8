//! The providers' public keys, cached, and the "oidc" thread that fetches
//! them. Auth threads read the [`KeyCache`] under a read lock held only to
//! clone a key out; when a key is missing or stale they send a
//! [`Refresh`] and wait for its answer. The thread fetches a provider at
//! most once per `oidc_refresh_min`, whatever the number of requests (a
//! flood of tokens with made-up `kid`s costs one fetch a minute), and
//! holds no lock while it fetches. Memory is bounded: one key set of at
//! most [`fetch::MAX_KEYS`] keys per configured provider.

use std::io;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use jsonwebtoken::{Algorithm, DecodingKey};
use parking_lot::RwLock;

use super::OidcConfig;
use super::fetch::{self, PublicKey};

/// Requests waiting for the "oidc" thread before more get `unavailable`.
const REFRESH_QUEUE: usize = 256;

/// Asks the "oidc" thread to refresh provider `.0`; it answers on `.1`
/// once the cache holds what it could get.
pub struct Refresh(pub usize, pub Sender<()>);

/// The sending end the auth threads share.
pub type RefreshTx = Sender<Refresh>;

/// What is known of one provider.
#[derive(Default)]
struct Slot {
    keys: Vec<PublicKey>,
    /// When `keys` were fetched.
    fetched: Option<Instant>,
    /// The last fetch attempt, successful or not.
    attempted: Option<Instant>,
    /// From discovery; forgotten when a JWKS fetch fails, so the next
    /// attempt discovers again.
    jwks_uri: Option<String>,
}

/// What a lookup found.
pub enum Lookup {
    /// The key to check the token with.
    Found(DecodingKey),
    /// Nothing fits (or the keys are stale): ask for a refresh.
    Missing,
}

/// Every provider's keys, by the provider's index in the config.
pub struct KeyCache {
    slots: RwLock<Vec<Slot>>,
    max_age: Duration,
}

impl KeyCache {
    /// An empty cache for `config`'s providers.
    pub fn new(config: &OidcConfig) -> KeyCache {
        let slots = config.providers.iter().map(|_| Slot::default()).collect();
        KeyCache {
            slots: RwLock::new(slots),
            max_age: config.jwks_max_age,
        }
    }

    /// The key of provider `index` for a token with `kid` and `alg`: the
    /// key with that `kid` (a token without one: the only key that fits
    /// `alg`), whose type and `alg` fit the token's. Unless `allow_stale`,
    /// `Missing` also when the keys are older than `oidc_jwks_max_age`
    /// (after a refresh that failed, the old keys still serve).
    pub fn lookup(
        &self,
        index: usize,
        kid: Option<&str>,
        alg: Algorithm,
        allow_stale: bool,
    ) -> Lookup {
        let slots = self.slots.read();
        let Some(slot) = slots.get(index) else {
            return Lookup::Missing;
        };
        let stale = slot.fetched.is_none_or(|at| at.elapsed() > self.max_age);
        if stale && !allow_stale {
            return Lookup::Missing;
        }
        let fits =
            |k: &&PublicKey| k.alg.is_none_or(|a| a == alg) && k.key.family() == alg.family();
        let mut candidates = slot.keys.iter().filter(fits);
        let found = match kid {
            Some(kid) => candidates.find(|k| k.kid.as_deref() == Some(kid)),
            None => {
                let first = candidates.next();
                if candidates.next().is_some() {
                    None
                } else {
                    first
                }
            }
        };
        match found {
            Some(k) => Lookup::Found(k.key.clone()),
            None => Lookup::Missing,
        }
    }

    /// Whether provider `index` has any keys at all (fetched once).
    pub fn has_keys(&self, index: usize) -> bool {
        self.slots
            .read()
            .get(index)
            .is_some_and(|s| !s.keys.is_empty())
    }
}

/// Starts the "oidc" thread over `cache`; it first fetches every
/// provider's keys once, then serves refreshes until every sender is gone.
pub fn spawn(
    config: Arc<OidcConfig>,
    cache: Arc<KeyCache>,
) -> io::Result<(RefreshTx, JoinHandle<()>)> {
    let (tx, rx) = crossbeam_channel::bounded(REFRESH_QUEUE);
    let handle = thread::Builder::new()
        .name("oidc".into())
        .spawn(move || run(&config, &cache, &rx))?;
    Ok((tx, handle))
}

fn run(config: &OidcConfig, cache: &KeyCache, rx: &Receiver<Refresh>) {
    for index in 0..config.providers.len() {
        refresh(config, cache, index);
    }
    for Refresh(index, reply) in rx.iter() {
        refresh(config, cache, index);
        let _ = reply.send(());
    }
}

/// Fetches provider `index`'s keys unless it was tried within
/// `refresh_min`; keeps the old keys when the fetch fails.
fn refresh(config: &OidcConfig, cache: &KeyCache, index: usize) {
    let Some(provider) = config.providers.get(index) else {
        return;
    };
    let jwks_uri = {
        let mut slots = cache.slots.write();
        let Some(slot) = slots.get_mut(index) else {
            return;
        };
        if slot
            .attempted
            .is_some_and(|at| at.elapsed() < config.refresh_min)
        {
            return;
        }
        slot.attempted = Some(Instant::now());
        slot.jwks_uri.clone()
    };
    let fetched = match jwks_uri {
        Some(uri) => fetch::jwks(&uri, config.http_timeout).map(|keys| (uri, keys)),
        None => fetch::discover(&provider.issuer, config.http_timeout)
            .and_then(|uri| fetch::jwks(&uri, config.http_timeout).map(|keys| (uri, keys))),
    };
    let mut slots = cache.slots.write();
    let Some(slot) = slots.get_mut(index) else {
        return;
    };
    match fetched {
        Ok((uri, keys)) => {
            papertrader_common::info!(
                "provider {}: {} signing keys from {uri}",
                provider.name,
                keys.len()
            );
            slot.keys = keys;
            slot.fetched = Some(Instant::now());
            slot.jwks_uri = Some(uri);
        }
        Err(err) => {
            papertrader_common::warn!("provider {}: cannot fetch its keys: {err}", provider.name);
            slot.jwks_uri = None;
        }
    }
}
