//! [`FeedConfig`], how the "asset" thread runs, built by `main` from the
//! config. Read by `super::feed` (the update loop) and by `super::routes`
//! (which provider serves each asset): it lives with neither, so that
//! `feed` may use `routes` without `routes` using `feed`.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::Providers;

/// How the "asset" thread runs.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// Time between two updates (seed 2.3.4).
    pub interval: Duration,
    /// Days of daily bars to back-fill for an asset with no history.
    pub history_days: u32,
    /// How long ticks are kept.
    pub tick_retention: Duration,
    /// The asset list file, read again for routes when the list changes.
    pub assets_file: Option<PathBuf>,
    /// The provider of the assets that name none: `price_source`.
    pub default_provider: String,
    /// The real providers' settings.
    pub providers: Providers,
}
