//! What the worker's fuzz targets (client_requests, web_requests) share:
//! the worker under test, built as `main` builds it, on loopback ports.
//! Included by path (`#[path]`) next to common/fuzz/harness.rs, which it
//! uses as `crate::harness`.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use mio::Poll;
use papertrader_worker::cache::Caches;
use papertrader_worker::config::Config;
use papertrader_worker::event;
use papertrader_worker::server::{Parts, Server};

use crate::harness::log;


/// A listener on a free loopback port, non-blocking, as mio wants it.
fn bind() -> (mio::net::TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("addr");
    (mio::net::TcpListener::from_std(listener), addr)
}

/// The worker `main` builds from `config`, without TLS or a GPG thread:
/// its client port on loopback and, with `web`, its web port too. The
/// server and the two ports' addresses.
pub fn worker(mut config: Config, web: bool) -> (Server, SocketAddr, Option<SocketAddr>) {
    let log = log().clone();
    config.listen = "127.0.0.1:0".parse().expect("addr");
    let (listener, listen) = bind();
    let (web_listener, web) = match web {
        true => {
            let (listener, addr) = bind();
            config.web_listen = Some(addr);
            (Some(listener), Some(addr))
        }
        false => (None, None),
    };
    let config = Arc::new(config);
    let poll = Poll::new().expect("poll");
    let waker = Server::waker(&poll).expect("waker");
    let (_notifier, events) = event::notifier(waker);
    let caches = Caches::new(
        config.session_cache_ttl,
        config.history_cache_ttl,
        config.history_cache_bytes,
    );
    let parts = Parts {
        config,
        poll,
        listener,
        web_listener,
        tls: None,
        caches,
        gpg_tx: None,
        events,
        log,
    };
    (Server::new(parts).expect("server"), listen, web)
}
