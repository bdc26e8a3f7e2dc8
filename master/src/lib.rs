//! ptmasterd: the master server, the only holder of critical data.
//!
//! One mio event loop thread (`server`, `link`) owns every socket; the auth
//! pool and the gpg thread (`pool`) do the slow work, the control thread
//! (`control`) serves ptctl, and results come back through channels and a
//! `mio::Waker` (`event`). See DESIGN.md, "ptmasterd threads".

pub mod auth;
pub mod config;
pub mod control;
pub mod db;
pub mod event;
pub mod link;
pub mod market;
pub mod pool;
pub mod queue;
pub mod ratelimit;
pub mod registry;
pub mod server;
pub mod signals;
pub mod trade;
