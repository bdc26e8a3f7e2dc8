//! ptworkerd: the worker server, the clients' gateway to the master.
//!
//! Threads (DESIGN.md, "ptworkerd threads"): the main thread runs the mio
//! event loop, which owns the client listener, every client connection
//! (`server`, `client`, `dispatch`), the caches (`cache`, expired in the
//! loop's one-second sweep) and the master link (`link`); `gpg`
//! (`gpg_thread`) and `signals`
//! (`papertrader_common::threads`, which also rereads the client port's
//! TLS certificate on SIGHUP, see `tls`) hand their results back through a
//! channel and a `mio::Waker` (`event`). The loop also serves the web app
//! and its WebSocket clients on the web port (`web`, `transport`). Workers hold no critical data:
//! losing one loses only its connections.

pub mod cache;
pub mod client;
pub mod config;
pub mod dispatch;
pub mod event;
pub mod forward;
pub mod gpg_thread;
pub mod link;
pub mod master_link;
pub mod server;
pub mod tls;
pub mod transport;
pub mod web;
