//! ptworkerd: the worker server, the clients' gateway to the master.
//!
//! Threads (DESIGN.md, "ptworkerd threads"): the main thread runs the mio
//! event loop (`server`: its doors, every client connection with
//! `server::dispatch` and `client`, the web port with `server::web` and
//! `web`, `transport`, and the master link, `master_link` driven by
//! `server::link`), which also owns the caches (`cache`, expired in its
//! one-second sweep); `gpg` (`gpg_thread`) and `signals`
//! (`papertrader_common::threads`, which also rereads the client port's
//! TLS certificate on SIGHUP, see `tls`) hand their results back through a
//! channel and a `mio::Waker` (`event`). Workers hold no critical data:
//! losing one loses only its connections.

pub mod api;
pub mod cache;
pub mod client;
pub mod config;
pub mod event;
pub mod forward;
pub mod gpg_thread;
pub mod master_link;
pub mod server;
pub mod tls;
pub mod transport;
pub mod web;
