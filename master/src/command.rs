//! The ptctl(8) commands the event loop answers, and `reload`'s files read
//! and parsed off the loop (by the "control" thread) so the loop only puts
//! values in force.

use std::io;

use papertrader_common::conf::ConfErrors;
use papertrader_common::value::Reason;

use crate::config::Config;
use crate::market::Asset;
use crate::registry::Registry;

/// Commands the event loop answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Daemon summary.
    Status,
    /// Registered workers and their links.
    Workers,
    /// Drop the link of the named worker.
    Kick(String),
    /// Put a freshly read worker registry and asset list in force.
    Reload(Box<Reloaded>),
}

/// The files `reload` reads, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// workers.list.
    pub registry: Registry,
    /// The asset list (assets_file, or the built-in one).
    pub assets: Vec<Asset>,
}

impl Reloaded {
    /// Reads workers.list and the asset list named by `config`.
    pub fn load(config: &Config) -> Result<Reloaded, CommandError> {
        let registry = if config.workers_file.exists() || config.workers_file_required {
            Registry::load(&config.workers_file).map_err(CommandError::File)?
        } else {
            Registry::empty()
        };
        let assets = match &config.assets_file {
            Some(path) => crate::market::assets::load(path).map_err(CommandError::File)?,
            None => crate::market::assets::built_in(),
        };
        Ok(Reloaded { registry, assets })
    }
}

/// Why a ptctl command could not run (its answer is `error TEXT`).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// No such command line.
    #[error(
        "unknown command {0:?}; try status, workers, kick NAME, reload, sessions, audit, \
         account NAME, backup FILE, log flush"
    )]
    Unknown(String),
    /// `kick NAME` of a worker with no link.
    #[error("no linked worker is named {0:?}")]
    NoSuchWorker(String),
    /// `reload` found errors in workers.list or the asset list.
    #[error("{0}")]
    File(ConfErrors),
    /// The event loop has stopped.
    #[error("the event loop is gone")]
    LoopGone,
    /// The event loop did not answer in time.
    #[error("the event loop did not answer")]
    LoopSilent,
    /// A table could not be read: which, and why.
    #[error("cannot read {0}: {1}")]
    Database(&'static str, rusqlite::Error),
    /// The books or sessions refused (no such account, a failed read).
    #[error("{0}")]
    Refused(Reason),
    /// The log could not be flushed.
    #[error("{0}")]
    Log(io::Error),
    /// `backup FILE` could not make its copy: the file, and why.
    #[error("cannot back up to {0}: {1}")]
    Backup(String, String),
}
