//! The "cache" thread of ptworkerd: drops expired history answers and
//! sessions from the shared caches once a second.

use std::io;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use parking_lot::Mutex;

use crate::cache::Caches;

/// How often the "cache" thread drops expired entries.
const PURGE_EVERY: Duration = Duration::from_secs(1);

/// Starts the "cache" thread, which drops expired history answers and
/// sessions so that memory follows the load; it stops when `stop` closes.
pub fn spawn(caches: Arc<Mutex<Caches>>, stop: Receiver<()>) -> io::Result<JoinHandle<()>> {
    thread::Builder::new().name("cache".into()).spawn(move || {
        while let Err(crossbeam_channel::RecvTimeoutError::Timeout) = stop.recv_timeout(PURGE_EVERY)
        {
            caches.lock().purge(Instant::now());
        }
    })
}
