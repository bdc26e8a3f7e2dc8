//! Who gets in: the client port's and the web port's listeners, the
//! client TLS configuration (replaced on SIGHUP), the connection limits
//! (`max_clients`, per address) and the tokens new connections get.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use mio::net::{TcpListener, TcpStream};
use mio::{Registry, Token};
use papertrader_common::listen::{Listener, PerAddress};
use papertrader_common::tls::Stream;
use papertrader_common::value::ReasonCode;
use rustls::ServerConfig;

use super::{FIRST_CLIENT, LISTENER, WEB_LISTENER};
use crate::config::Config;

/// Why a connection was turned away, and the text it hears.
pub type Refusal = (ReasonCode, String);

/// The listeners and the limits on what they let in.
pub struct Doors {
    listener: Listener,
    web: Option<Listener>,
    tls: Option<Arc<ServerConfig>>,
    per_address: PerAddress,
    max_clients: usize,
    next_token: usize,
    /// `max_clients` was logged and no connection came in since.
    full_warned: bool,
}

impl Doors {
    /// Registers the client port and the web port (if any) under their
    /// tokens; the limits are the config's.
    pub fn new(
        registry: &Registry,
        (listener, web): (TcpListener, Option<TcpListener>),
        tls: Option<Arc<ServerConfig>>,
        config: &Config,
    ) -> io::Result<Doors> {
        Ok(Doors {
            listener: Listener::new(listener, registry, LISTENER)?,
            web: web
                .map(|l| Listener::new(l, registry, WEB_LISTENER))
                .transpose()?,
            tls,
            per_address: PerAddress::new(config.max_clients_per_address),
            max_clients: config.max_clients,
            next_token: FIRST_CLIENT,
            full_warned: false,
        })
    }

    /// The client port's bound address.
    pub fn local(&self) -> SocketAddr {
        self.listener.local()
    }

    /// The next connection waiting on the client port (`web` false) or
    /// the web port.
    pub fn accept(&mut self, registry: &Registry, web: bool) -> Option<(TcpStream, SocketAddr)> {
        match web {
            false => self.listener.accept(registry),
            true => self.web.as_mut()?.accept(registry),
        }
    }

    /// Lets `peer` in while `open` connections are up, and counts it; or
    /// why not.
    pub fn admit(&mut self, peer: SocketAddr, open: usize) -> Result<(), Refusal> {
        if open >= self.max_clients {
            let text = format!("the worker is full ({} clients)", self.max_clients);
            if !self.full_warned {
                self.full_warned = true;
                papertrader_common::warn!("{peer}: refused, max_clients reached");
            }
            return Err((ReasonCode::Unavailable, text));
        }
        self.full_warned = false;
        if !self.per_address.admit(peer.ip()) {
            let text = format!(
                "too many connections from your address (max_clients_per_address {})",
                self.per_address.limit()
            );
            return Err((ReasonCode::RateLimited, text));
        }
        Ok(())
    }

    /// An admitted connection is gone (or could not be registered).
    pub fn release(&mut self, peer: SocketAddr) {
        self.per_address.release(peer.ip());
    }

    /// The token of the next connection.
    pub fn token(&mut self) -> Token {
        self.next_token += 1;
        Token(self.next_token - 1)
    }

    /// An accepted socket as a stream, TLS when client TLS is on.
    pub fn stream(&self, stream: TcpStream) -> Stream {
        let _ = stream.set_nodelay(true);
        Stream::accepted(stream, self.tls.clone())
    }

    /// The certificate reloaded on SIGHUP, for connections to come.
    pub fn set_tls(&mut self, tls: Arc<ServerConfig>) {
        self.tls = Some(tls);
    }

    /// Puts paused listeners back (`force`, or after their retry delay);
    /// which of (client port, web port) resumed, so the loop accepts.
    pub fn resume(&mut self, registry: &Registry, force: bool) -> (bool, bool) {
        let web = self.web.as_mut();
        (
            self.listener.resume(registry, force),
            web.is_some_and(|l| l.resume(registry, force)),
        )
    }
}
