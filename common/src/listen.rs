//! Accepting on a listening socket the daemon bound, with the descriptor
//! limit in mind: when `accept` fails with EMFILE or ENFILE the listener
//! leaves the poll, so the loop does not spin on a connection it cannot
//! take, and comes back when a connection closes (OpenSMTPD's
//! `control_accept` does the same). Runs on the event loop that owns it.

use std::io;
use std::net::SocketAddr;
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

    /// Whether accepting is paused for want of descriptors.
    pub fn is_paused(&self) -> bool {
        self.paused_since.is_some()
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
