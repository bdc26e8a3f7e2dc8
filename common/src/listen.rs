//! Accepting on a listening socket the daemon bound, with the descriptor
//! limit in mind: when `accept` fails with EMFILE or ENFILE the listener
//! leaves the poll, so the loop does not spin on a connection it cannot
//! take, and comes back when a connection closes (OpenSMTPD's
//! `control_accept` does the same). [`PerAddress`] caps the connections
//! one source address may hold. Runs on the event loop that owns them.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};

/// How long a paused listener waits before trying again on its own, in
/// case descriptors are freed by something other than a closed connection.
const RETRY: Duration = Duration::from_secs(1);

/// A registered listener that pauses while the process is out of
/// descriptors.
pub struct Listener {
    inner: TcpListener,
    token: Token,
    local: SocketAddr,
    paused_since: Option<Instant>,
}

impl Listener {
    /// Registers `inner` for READABLE under `token`.
    pub fn new(mut inner: TcpListener, registry: &Registry, token: Token) -> io::Result<Listener> {
        registry.register(&mut inner, token, Interest::READABLE)?;
        let local = inner.local_addr()?;
        Ok(Listener {
            inner,
            token,
            local,
            paused_since: None,
        })
    }

    /// The bound address.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The next waiting connection, or `None` when there is none (or the
    /// process is out of descriptors: then the listener pauses).
    pub fn accept(&mut self, registry: &Registry) -> Option<(TcpStream, SocketAddr)> {
        if self.paused_since.is_some() {
            return None;
        }
        loop {
            match self.inner.accept() {
                Ok(conn) => return Some(conn),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return None,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) if matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    warn!(
                        "accept on {}: {err}; pausing until a connection closes",
                        self.local
                    );
                    let _ = registry.deregister(&mut self.inner);
                    self.paused_since = Some(Instant::now());
                    return None;
                }
                // ECONNABORTED and the like concern one connection only.
                Err(err) if err.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(err) => {
                    error!("accept on {}: {err}", self.local);
                    return None;
                }
            }
        }
    }

    /// Puts a paused listener back on the poll: call when a connection has
    /// closed, or from a timer (`force` is false: only after [`RETRY`]).
    /// Returns whether it resumed, so the caller can accept at once.
    pub fn resume(&mut self, registry: &Registry, force: bool) -> bool {
        let Some(since) = self.paused_since else {
            return false;
        };
        if !force && since.elapsed() < RETRY {
            return false;
        }
        match registry.register(&mut self.inner, self.token, Interest::READABLE) {
            Ok(()) => {
                self.paused_since = None;
                info!("accepting on {} again", self.local);
                true
            }
            Err(err) => {
                error!("listener {}: cannot register again: {err}", self.local);
                false
            }
        }
    }
}

/// The key under which connections from `ip` are counted: an IPv4 address
/// (IPv4-mapped IPv6 included) as itself, an IPv6 address by its /64, the
/// block one subscriber usually holds.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

/// Connections open per source address, with a cap: a flood from one
/// address cannot take every slot. Refusals are logged once per address
/// until its connections have all closed, not once per attempt.
#[derive(Debug)]
pub struct PerAddress {
    limit: usize,
    open: HashMap<IpAddr, usize>,
    warned: HashSet<IpAddr>,
}

impl PerAddress {
    /// At most `limit` connections per address key.
    pub fn new(limit: usize) -> PerAddress {
        PerAddress {
            limit,
            open: HashMap::new(),
            warned: HashSet::new(),
        }
    }

    /// The most connections one address key may hold.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Counts a new connection from `ip`; false (and a warning, the first
    /// time) when its address already has `limit` open.
    pub fn admit(&mut self, ip: IpAddr) -> bool {
        let key = address_key(ip);
        let open = self.open.entry(key).or_insert(0);
        if *open >= self.limit {
            if self.warned.insert(key) {
                warn!("{key}: {} connections open, refusing more", self.limit);
            }
            return false;
        }
        *open += 1;
        true
    }

    /// A connection from `ip` closed.
    pub fn release(&mut self, ip: IpAddr) {
        let key = address_key(ip);
        if let Some(open) = self.open.get_mut(&key) {
            *open -= 1;
            if *open == 0 {
                self.open.remove(&key);
                self.warned.remove(&key);
            }
        }
    }

    /// Connections open from `ip`'s address key.
    pub fn open(&self, ip: IpAddr) -> usize {
        self.open.get(&address_key(ip)).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(
            address_key(mapped),
            "192.0.2.7".parse::<IpAddr>().expect("ip")
        );
    }

    #[test]
    fn the_cap_holds_per_address_and_frees_on_release() {
        let mut per = PerAddress::new(2);
        let one: IpAddr = "192.0.2.1".parse().expect("ip");
        let two: IpAddr = "192.0.2.2".parse().expect("ip");
        assert!(per.admit(one) && per.admit(one));
        assert!(!per.admit(one), "a third from the same address");
        assert!(per.admit(two), "another address is not affected");
        per.release(one);
        assert!(per.admit(one));
        per.release(one);
        per.release(one);
        assert_eq!(per.open(one), 0);
    }
}
