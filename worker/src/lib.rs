//! ptworkerd: the worker server, the clients' gateway to the master.
//!
//! One mio event loop thread (`server`, `dispatch`, `link`) owns the client
//! listener, every client connection (`client`) and the master link; the
//! gpg, signals and cache threads (`threads`) hand their results back
//! through a channel and a `mio::Waker` (`event`). Workers hold no critical
//! data: losing one loses only its connections.

pub mod cache;
pub mod client;
pub mod config;
pub mod dispatch;
pub mod event;
pub mod link;
pub mod server;
pub mod threads;
