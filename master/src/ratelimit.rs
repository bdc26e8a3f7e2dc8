//! Login throttling that cannot lock out an account's owner, and the
//! registration limit per address (ptmasterd.conf(5), `rate_limit_*` and
//! `register_limit`).
//!
//! A failed login counts against three keys: its (username, address) pair,
//! its address, and its username. The pair and the address lock after
//! `rate_limit_failures` failures; the username after
//! `rate_limit_user_failures`, and a locked username refuses only addresses
//! that never logged into the account: a stranger hammering an account
//! from many addresses slows strangers, not the owner at home. The limiter
//! remembers the last [`KNOWN_PER_ACCOUNT`] addresses of each account's
//! successful logins; past that (or after a restart) the auth thread asks
//! the sessions table ([`Verdict::UnlessKnown`]) and counts a refusal as a
//! failure of the pair and address. An address is an IPv4 address or an
//! IPv6 /64 ([`Net`]).
//!
//! One [`RateLimiter`] is shared by the auth pool threads behind an
//! `Arc<parking_lot::Mutex<_>>`; each call is a few hash-map operations, so
//! the lock is held only for a moment and never across SQL or argon2.
//! Memory stays bounded: stale entries are pruned every [`PRUNE_EVERY`]
//! calls, past [`MAX_KEYS`] keys the least recently counted ones are
//! evicted, and at most [`MAX_KNOWN_ACCOUNTS`] accounts' addresses are kept.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use papertrader_common::value::Username;

/// Most keys kept at once; an address spray cannot grow the map past this.
pub const MAX_KEYS: usize = 100_000;

/// Calls to the limiter between two sweeps for stale entries.
pub const PRUNE_EVERY: u32 = 1024;

/// Addresses remembered per account, the most recent successful logins.
pub const KNOWN_PER_ACCOUNT: usize = 16;

/// Accounts whose addresses are remembered; the least recently logged in
/// are forgotten first (the sessions table still knows them).
pub const MAX_KNOWN_ACCOUNTS: usize = 4096;

/// The span over which registrations from one address are counted.
pub const REGISTER_WINDOW: Duration = Duration::from_secs(3600);

/// Longest text kept of an address that is not an IP.
const MAX_NAME: usize = 64;

/// A client's address as the limits count it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Net {
    /// One IPv4 address; an IPv4-mapped IPv6 address counts as its IPv4.
    V4(Ipv4Addr),
    /// The /64 network of an IPv6 address (host half zeroed): a client
    /// chooses the host half of its addresses at will.
    V6(Ipv6Addr),
    /// Not an IP (ptworkerd always sends one): the host text in lower case,
    /// cut to 64 bytes.
    Name(Box<str>),
}

impl Net {
    /// The network of `client_addr` (`host:port`, `[v6]:port` or a bare
    /// IP); a zone (`%eth0`) is ignored.
    pub fn of(client_addr: &str) -> Net {
        if let Ok(addr) = client_addr.parse::<SocketAddr>() {
            return Net::from_ip(addr.ip());
        }
        if let Ok(ip) = client_addr.parse::<IpAddr>() {
            return Net::from_ip(ip);
        }
        let host = match client_addr.rsplit_once(':') {
            Some((host, _)) if host.starts_with('[') || !host.contains(':') => host,
            _ => client_addr,
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let without_zone = host.split_once('%').map_or(host, |(ip, _)| ip);
        if let Ok(ip) = without_zone.parse::<IpAddr>() {
            return Net::from_ip(ip);
        }
        let mut end = host.len().min(MAX_NAME);
        while !host.is_char_boundary(end) {
            end -= 1;
        }
        Net::Name(host[..end].to_ascii_lowercase().into())
    }

    fn from_ip(ip: IpAddr) -> Net {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Net::V4(v4),
            IpAddr::V6(v6) => Net::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        }
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Net::V4(ip) => write!(f, "{ip}"),
            Net::V6(net) => write!(f, "{net}/64"),
            Net::Name(name) => f.write_str(name),
        }
    }
}

/// The key of a username, ignoring case: `user:alice`.
pub fn user_key(username: &Username) -> String {
    format!("user:{}", username.key())
}

/// The key of a client's address: `127.0.0.1:5000` -> `addr:127.0.0.1`,
/// `[2001:db8::1]:5000` -> `addr:2001:db8::/64`.
pub fn addr_key(net: &Net) -> String {
    format!("addr:{net}")
}

/// The key of a username tried from an address: `pair:alice@127.0.0.1`.
pub fn pair_key(username: &Username, net: &Net) -> String {
    format!("pair:{}@{net}", username.key())
}

/// The key of registrations from an address: `register:127.0.0.1`.
pub fn register_key(net: &Net) -> String {
    format!("register:{net}")
}

/// The keys one login attempt is counted under.
#[derive(Debug, Clone)]
pub struct LoginKeys {
    account: String,
    net: Net,
    user: String,
    addr: String,
    pair: String,
}

impl LoginKeys {
    /// The keys of `username` trying from `client_addr`.
    pub fn new(username: &Username, client_addr: &str) -> LoginKeys {
        let net = Net::of(client_addr);
        LoginKeys {
            account: username.key(),
            user: user_key(username),
            addr: addr_key(&net),
            pair: pair_key(username, &net),
            net,
        }
    }

    /// The network the attempt comes from.
    pub fn net(&self) -> &Net {
        &self.net
    }
}

/// The limits, from ptmasterd.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// This many failures within `window` lock a (username, address) pair,
    /// and an address.
    pub failures: u32,
    /// The span over which failures are counted.
    pub window: Duration,
    /// How long a locked key stays locked.
    pub lockout: Duration,
    /// This many failures within `window` lock a username against the
    /// addresses that never logged into it.
    pub user_failures: u32,
    /// Registrations per address per [`REGISTER_WINDOW`]; 0: no limit.
    pub register_limit: u32,
}

impl Default for RateLimitConfig {
    fn default() -> RateLimitConfig {
        RateLimitConfig {
            failures: 10,
            window: Duration::from_secs(10 * 60),
            lockout: Duration::from_secs(10 * 60),
            user_failures: 100,
            register_limit: 10,
        }
    }
}

/// What a login attempt may do, before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check the password.
    Allow,
    /// Refuse for this long: the pair or the address is locked.
    Locked(Duration),
    /// The username is locked for this long, and the limiter does not know
    /// the address: allow only if the sessions table shows a login from it
    /// (then [`RateLimiter::remember`] it).
    UnlessKnown(Duration),
}

/// Which keys a failure locked, for the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NewLocks {
    /// The address is now locked.
    pub addr: bool,
    /// The username is now locked against unknown addresses.
    pub user: bool,
}

/// How many events within how long lock a key, and for how long.
#[derive(Debug, Clone, Copy)]
struct Rule {
    limit: u32,
    window: Duration,
    /// `None`: until the window ends.
    lockout: Option<Duration>,
}

/// Event count of one key. The window is fixed: it starts at the first
/// event and the count resets once it has passed.
#[derive(Debug, Clone, Copy)]
struct Entry {
    window_end: Instant,
    count: u32,
    locked_until: Option<Instant>,
    /// Last event, for choosing whom to evict.
    last: Instant,
}

impl Entry {
    fn locked_at(&self, now: Instant) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }

    /// Neither locked nor counting events that still matter.
    fn is_stale(&self, now: Instant) -> bool {
        !self.locked_at(now) && (self.count == 0 || now >= self.window_end)
    }
}

/// The addresses an account logged in from, most recent last.
#[derive(Debug)]
struct Known {
    nets: Vec<Net>,
    last: Instant,
}

/// Counts failed logins and registrations per key, locks keys that go
/// over their limit, and remembers where accounts logged in from.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    max_keys: usize,
    entries: HashMap<String, Entry>,
    known: HashMap<String, Known>,
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
            known: HashMap::new(),
            calls_since_prune: 0,
        }
    }

    /// Whether a login under `keys` may check its password now.
    pub fn check_login(&mut self, keys: &LoginKeys, now: Instant) -> Verdict {
        let pair = self.check(&keys.pair, now).err();
        let addr = self.check(&keys.addr, now).err();
        if let Some(left) = pair.max(addr) {
            return Verdict::Locked(left);
        }
        match self.check(&keys.user, now) {
            Ok(()) => Verdict::Allow,
            Err(_) if self.is_known(keys) => Verdict::Allow,
            Err(left) => Verdict::UnlessKnown(left),
        }
    }

    /// Counts a wrong password (or unknown username) under all three keys.
    pub fn login_failed(&mut self, keys: &LoginKeys, now: Instant) -> NewLocks {
        let rule = |limit| Rule {
            limit,
            window: self.config.window,
            lockout: Some(self.config.lockout),
        };
        let (near, far) = (rule(self.config.failures), rule(self.config.user_failures));
        self.count(&keys.pair, near, now);
        NewLocks {
            addr: self.count(&keys.addr, near, now),
            user: self.count(&keys.user, far, now),
        }
    }

    /// A correct password: forgets the pair's failures (not the address's,
    /// which other users behind it may have made, nor the username's, which
    /// strangers made) and remembers the address for the account.
    pub fn login_succeeded(&mut self, keys: &LoginKeys, now: Instant) {
        self.entries.remove(&keys.pair);
        self.remember(keys, now);
    }

    /// Remembers that the account of `keys` logged in from its address.
    pub fn remember(&mut self, keys: &LoginKeys, now: Instant) {
        if !self.known.contains_key(&keys.account) {
            self.make_room_known();
        }
        let known = self
            .known
            .entry(keys.account.clone())
            .or_insert_with(|| Known {
                nets: Vec::new(),
                last: now,
            });
        known.last = now;
        known.nets.retain(|net| net != &keys.net);
        if known.nets.len() >= KNOWN_PER_ACCOUNT {
            known.nets.remove(0);
        }
        known.nets.push(keys.net.clone());
    }

    /// A refused ID token (`loginExternal`, `registerExternal`): counts
    /// against the address alone, as there is no username to count it
    /// under; `true` when this locked the address. [`RateLimiter::check`]
    /// of [`addr_key`] then refuses its sign-ins like its logins.
    pub fn external_failed(&mut self, net: &Net, now: Instant) -> bool {
        let rule = Rule {
            limit: self.config.failures,
            window: self.config.window,
            lockout: Some(self.config.lockout),
        };
        self.count(&addr_key(net), rule, now)
    }

    /// Counts a registration from `net`; `Err` with the time left when the
    /// address already made `register_limit` within the hour. `Ok(true)`:
    /// this one was the last allowed.
    pub fn register_attempt(&mut self, net: &Net, now: Instant) -> Result<bool, Duration> {
        if self.config.register_limit == 0 {
            return Ok(false);
        }
        let key = register_key(net);
        self.check(&key, now)?;
        let rule = Rule {
            limit: self.config.register_limit,
            window: REGISTER_WINDOW,
            lockout: None,
        };
        Ok(self.count(&key, rule, now))
    }

    /// `Ok` if `key` is not locked now, else `Err` with the time left.
    pub fn check(&mut self, key: &str, now: Instant) -> Result<(), Duration> {
        self.tick(now);
        match self.entries.get(key).and_then(|e| e.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// The limits it applies.
    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// Keys currently counted.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No key counted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn is_known(&self, keys: &LoginKeys) -> bool {
        self.known
            .get(&keys.account)
            .is_some_and(|known| known.nets.contains(&keys.net))
    }

    /// Records an event; the `limit`-th within the window locks `key`.
    /// Events while already locked change nothing. `true`: this one locked.
    fn count(&mut self, key: &str, rule: Rule, now: Instant) -> bool {
        self.tick(now);
        if !self.entries.contains_key(key) {
            self.make_room(now);
        }
        let entry = self.entries.entry(key.to_string()).or_insert(Entry {
            window_end: now,
            count: 0,
            locked_until: None,
            last: now,
        });
        entry.last = now;
        if entry.locked_at(now) {
            return false;
        }
        if entry.count == 0 || now >= entry.window_end {
            entry.window_end = later(now, rule.window);
            entry.count = 0;
        }
        entry.locked_until = None;
        entry.count += 1;
        if entry.count < rule.limit.max(1) {
            return false;
        }
        entry.locked_until = Some(match rule.lockout {
            Some(lockout) => later(now, lockout),
            None => entry.window_end,
        });
        entry.count = 0;
        true
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
        self.entries.retain(|_, e| !e.is_stale(now));
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
        evict_first(&mut self.entries, evict, |e| (e.locked_at(now), e.last));
        papertrader_common::warn!("rate limiter full: evicted {evict} keys");
    }

    /// Before a new account goes into `known` at its limit: forget the
    /// tenth least recently logged in. Only successful logins add
    /// accounts, each after an argon2 hash, so this is rare and cannot be
    /// forced cheaply.
    fn make_room_known(&mut self) {
        if self.known.len() < MAX_KNOWN_ACCOUNTS {
            return;
        }
        let evict = MAX_KNOWN_ACCOUNTS.div_ceil(10);
        evict_first(&mut self.known, evict, |known| known.last);
    }
}

/// Removes the `n` (at least 1, at most all) entries of `map` that come
/// first by `rank`.
fn evict_first<V, R: Ord>(map: &mut HashMap<String, V>, n: usize, rank: impl Fn(&V) -> R) {
    let mut order: Vec<(R, &String)> = map.iter().map(|(k, v)| (rank(v), k)).collect();
    order.select_nth_unstable(n - 1);
    let victims: Vec<String> = order.drain(..n).map(|(_, k)| k.clone()).collect();
    for key in victims {
        map.remove(&key);
    }
}

/// `now + span`, or a year from now for a span too long for `Instant` (a
/// silly config).
fn later(now: Instant, span: Duration) -> Instant {
    now.checked_add(span)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 86_400)))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn limiter() -> RateLimiter {
        RateLimiter::new(RateLimitConfig::default())
    }

    fn keys(user: &str, addr: &str) -> LoginKeys {
        LoginKeys::new(&Username::parse(user).expect("valid"), addr)
    }

    fn locked(left: Duration) -> Verdict {
        Verdict::Locked(left)
    }

    #[test]
    fn keys_and_networks() {
        let alice = Username::parse("AliCe").expect("valid");
        let net = |a: &str| Net::of(a).to_string();
        assert_eq!(user_key(&alice), "user:alice");
        assert_eq!(net("127.0.0.1:5000"), "127.0.0.1");
        assert_eq!(net("10.0.0.7"), "10.0.0.7");
        assert_eq!(net("[::ffff:10.0.0.1]:5000"), "10.0.0.1");
        assert_eq!(net("[::1]:5000"), "::/64");
        assert_eq!(net("[2001:db8:1:2:3:4:5:6]:5000"), "2001:db8:1:2::/64");
        assert_eq!(net("2001:db8:1:2::9"), "2001:db8:1:2::/64");
        assert_eq!(net("[fe80::1%eth0]:5000"), "fe80::/64", "zone ignored");
        assert_eq!(net("fe80::1%eth0"), "fe80::/64");
        assert_eq!(net("Host.Example:80"), "host.example");
        assert_eq!(net(&"h".repeat(70_000)).len(), 64, "bounded");
        assert_eq!(net("é".repeat(40).as_str()).len(), 64);
        let v6 = Net::of("[2001:db8::1]:1");
        assert_eq!(addr_key(&v6), "addr:2001:db8::/64");
        assert_eq!(pair_key(&alice, &v6), "pair:alice@2001:db8::/64");
        assert_eq!(register_key(&v6), "register:2001:db8::/64");
    }

    #[test]
    fn an_ipv6_64_is_one_address() {
        let t0 = Instant::now();
        let mut rl = limiter();
        for i in 1..=10 {
            let k = keys(&format!("user{i}"), &format!("[2001:db8:0:7::{i:x}]:4000"));
            assert_eq!(rl.check_login(&k, t0), Verdict::Allow);
            rl.login_failed(&k, t0);
        }
        let other_host = keys("alice", "[2001:db8:0:7:ffff::1]:4000");
        assert_eq!(rl.check_login(&other_host, t0), locked(10 * MIN));
        let other_net = keys("alice", "[2001:db8:0:8::1]:4000");
        assert_eq!(rl.check_login(&other_net, t0), Verdict::Allow);
    }

    #[test]
    fn ten_failures_lock_the_pair_and_the_address_nine_do_not() {
        let t0 = Instant::now();
        let mut rl = limiter();
        let k = keys("alice", "10.0.0.1:1000");
        for i in 0..9 {
            rl.login_failed(&k, t0 + Duration::from_secs(i));
        }
        assert_eq!(rl.check_login(&k, t0 + MIN), Verdict::Allow);
        let locks = rl.login_failed(&k, t0 + MIN);
        assert_eq!(
            locks,
            NewLocks {
                addr: true,
                user: false
            }
        );
        assert_eq!(rl.check_login(&k, t0 + MIN), locked(10 * MIN));
        assert_eq!(rl.check_login(&k, t0 + 3 * MIN), locked(8 * MIN));
        let bob_there = keys("bob", "10.0.0.1:2000");
        assert_eq!(rl.check_login(&bob_there, t0 + MIN), locked(10 * MIN));
        let alice_elsewhere = keys("alice", "10.0.0.2:1000");
        assert_eq!(rl.check_login(&alice_elsewhere, t0 + MIN), Verdict::Allow);
    }

    #[test]
    fn success_clears_only_the_pair() {
        let t0 = Instant::now();
        let mut rl = limiter();
        let home = keys("alice", "10.0.0.1:1");
        for _ in 0..9 {
            rl.login_failed(&home, t0);
        }
        rl.login_succeeded(&home, t0);
        assert!(!rl.entries.contains_key("pair:alice@10.0.0.1"));
        assert_eq!(rl.entries["addr:10.0.0.1"].count, 9, "others behind it");
        assert_eq!(rl.entries["user:alice"].count, 9, "strangers made them");
        rl.login_failed(&home, t0);
        assert_eq!(rl.check_login(&home, t0), locked(10 * MIN), "address");
    }

    #[test]
    fn a_locked_username_refuses_only_strangers() {
        let t0 = Instant::now();
        let mut rl = limiter();
        let home = keys("Victim", "192.0.2.7:5000");
        rl.login_succeeded(&home, t0);
        // A stranger with 100 addresses, 1 failure each: no address or pair
        // is locked, the username is.
        let mut locks = NewLocks::default();
        for i in 0..100 {
            let k = keys("victim", &format!("198.51.100.{i}:1"));
            assert_eq!(rl.check_login(&k, t0), Verdict::Allow, "attempt {i}");
            locks = rl.login_failed(&k, t0);
        }
        assert!(locks.user, "the 100th failure locked the username");
        let stranger = keys("victim", "203.0.113.1:1");
        assert_eq!(
            rl.check_login(&stranger, t0 + MIN),
            Verdict::UnlessKnown(9 * MIN)
        );
        let owner = keys("VICTIM", "192.0.2.7:6000");
        assert_eq!(
            rl.check_login(&owner, t0 + MIN),
            Verdict::Allow,
            "other port"
        );
        // Its failures at home count, but only the pair and address lock it.
        for _ in 0..9 {
            rl.login_failed(&owner, t0 + MIN);
        }
        assert_eq!(rl.check_login(&owner, t0 + MIN), Verdict::Allow);
        // The lock lifts after the lockout.
        assert_eq!(rl.check_login(&stranger, t0 + 10 * MIN), Verdict::Allow);
    }

    #[test]
    fn remembered_from_the_sessions_table() {
        let t0 = Instant::now();
        let mut rl = limiter();
        for i in 0..100 {
            rl.login_failed(&keys("victim", &format!("198.51.100.{i}:1")), t0);
        }
        let owner = keys("victim", "192.0.2.7:1");
        assert!(matches!(
            rl.check_login(&owner, t0),
            Verdict::UnlessKnown(_)
        ));
        rl.remember(&owner, t0);
        assert_eq!(rl.check_login(&owner, t0), Verdict::Allow);
    }

    #[test]
    fn known_addresses_are_bounded() {
        let t0 = Instant::now();
        let mut rl = limiter();
        for i in 0..20 {
            rl.login_succeeded(&keys("alice", &format!("10.0.0.{i}:1")), t0);
        }
        rl.login_succeeded(&keys("alice", "10.0.0.5:2"), t0);
        let nets = &rl.known["alice"].nets;
        assert_eq!(nets.len(), KNOWN_PER_ACCOUNT);
        assert_eq!(nets[0], Net::of("10.0.0.4"), "10.0.0.0 to 3 forgotten");
        assert_eq!(nets[15], Net::of("10.0.0.5"), "a repeat moves to the end");
        for i in 0..MAX_KNOWN_ACCOUNTS + 10 {
            let at = t0 + Duration::from_millis(i as u64 + 1);
            rl.login_succeeded(&keys(&format!("u{i}"), "10.1.1.1:1"), at);
            assert!(rl.known.len() <= MAX_KNOWN_ACCOUNTS);
        }
        assert!(!rl.known.contains_key("alice"), "least recent forgotten");
        assert!(
            rl.known
                .contains_key(&format!("u{}", MAX_KNOWN_ACCOUNTS + 9))
        );
    }

    #[test]
    fn lock_lifts_after_lockout() {
        let t0 = Instant::now();
        let mut rl = limiter();
        let k = keys("alice", "10.0.0.1:1");
        for _ in 0..10 {
            rl.login_failed(&k, t0);
        }
        let just_before = t0 + 10 * MIN - Duration::from_secs(1);
        assert!(matches!(
            rl.check_login(&k, just_before),
            Verdict::Locked(_)
        ));
        assert_eq!(rl.check_login(&k, t0 + 10 * MIN), Verdict::Allow);
        // A fresh count starts: one more failure does not lock again.
        rl.login_failed(&k, t0 + 11 * MIN);
        assert_eq!(rl.check_login(&k, t0 + 11 * MIN), Verdict::Allow);
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let t0 = Instant::now();
        let mut rl = limiter();
        let k = keys("bob", "10.0.0.1:1");
        for _ in 0..9 {
            rl.login_failed(&k, t0);
        }
        for _ in 0..9 {
            rl.login_failed(&k, t0 + 10 * MIN);
        }
        assert_eq!(rl.check_login(&k, t0 + 10 * MIN), Verdict::Allow);
    }

    #[test]
    fn registrations_per_address_per_hour() {
        let t0 = Instant::now();
        let mut rl = limiter();
        let net = Net::of("10.0.0.1:1");
        for i in 0..10 {
            let at = t0 + Duration::from_secs(60 * i);
            let last = i == 9;
            assert_eq!(rl.register_attempt(&net, at), Ok(last), "registration {i}");
        }
        let left = rl.register_attempt(&net, t0 + 20 * MIN);
        assert_eq!(left, Err(40 * MIN), "until the hour from the first ends");
        let other = Net::of("10.0.0.2:1");
        assert_eq!(rl.register_attempt(&other, t0 + 20 * MIN), Ok(false));
        let new_hour = rl.register_attempt(&net, t0 + 60 * MIN);
        assert_eq!(new_hour, Ok(false));
        let mut unlimited = RateLimiter::new(RateLimitConfig {
            register_limit: 0,
            ..RateLimitConfig::default()
        });
        for _ in 0..1000 {
            assert_eq!(unlimited.register_attempt(&net, t0), Ok(false));
        }
        assert!(unlimited.is_empty(), "nothing counted");
    }

    #[test]
    fn stale_entries_are_pruned() {
        let t0 = Instant::now();
        let mut rl = limiter();
        for i in 0..500 {
            rl.login_failed(&keys("x", &format!("10.0.{}.{}:1", i / 256, i % 256)), t0);
        }
        for _ in 0..10 {
            rl.login_failed(&keys("locked", "10.9.9.9:1"), t0);
        }
        assert_eq!(
            rl.len(),
            1004,
            "500 pairs, 500 addresses, user:x and 3 keys"
        );
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
        let victim = keys("victim", "10.0.0.1:1");
        for _ in 0..10 {
            rl.login_failed(&victim, t0);
        }
        for i in 0..1000u32 {
            let at = t0 + Duration::from_millis(u64::from(i) + 1);
            let spray = keys("spray", &Ipv4Addr::from_bits(i).to_string());
            rl.login_failed(&spray, at);
            assert!(rl.len() <= 100);
        }
        assert!(matches!(
            rl.check_login(&victim, t0 + MIN),
            Verdict::Locked(_)
        ));
        assert!(rl.entries.contains_key("addr:0.0.3.231"), "newest kept");
        assert!(!rl.entries.contains_key("addr:0.0.0.0"), "oldest evicted");
    }
}
