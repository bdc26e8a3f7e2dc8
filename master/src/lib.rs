//! ptmasterd: the master server, the only holder of critical data.
//!
//! Threads (DESIGN.md, "ptmasterd threads"): the main thread runs the mio
//! event loop (`server`: its connection table, worker list, `link` for
//! handshakes and keepalive, `route` for forwarded requests and `admin` for
//! ptctl's loop commands); the
//! `auth-N` pool (`auth_thread`, hashing with `password`), `gpg` (`gpg_thread`), `data-N`
//! (`data`), `asset` (`market::feed`), `trade`
//! (`trade::queue`), `control` (`control`) and `signals`
//! (`papertrader_common::threads`) do the rest, and hand results back
//! through channels and a `mio::Waker` (`event`).

pub mod auth;
pub mod auth_thread;
pub mod command;
pub mod config;
pub mod control;
pub mod data;
pub mod db;
pub mod event;
pub mod gpg_thread;
pub mod job;
pub mod market;
pub mod oidc;
pub mod password;
pub mod peer;
pub mod ratelimit;
pub mod registry;
pub mod server;
pub mod tls;
pub mod trade;
pub mod watchlist;

/// The User-Agent of the master's own HTTP requests (OpenID Connect, the
/// quote service, the providers that want one).
pub const AGENT: &str = concat!("papertrader/", env!("CARGO_PKG_VERSION"));
