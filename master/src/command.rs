//! The ptctl(8) commands the event loop answers, and `reload`'s files read
//! and parsed off the loop (by the "control" thread) so the loop only puts
//! values in force.

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
    pub fn load(config: &Config) -> Result<Reloaded, String> {
        let registry = if config.workers_file.exists() || config.workers_file_required {
            Registry::load(&config.workers_file).map_err(|e| e.to_string())?
        } else {
            Registry::empty()
        };
        let assets = match &config.assets_file {
            Some(path) => crate::market::assets::load(path).map_err(|e| e.to_string())?,
            None => crate::market::assets::built_in(),
        };
        Ok(Reloaded { registry, assets })
    }
}
