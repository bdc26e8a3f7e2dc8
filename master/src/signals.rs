//! The "signals" thread of ptmasterd. Detaching and the pid file live in
//! `papertrader_common::daemon`, shared with ptworkerd.

use std::io;
use std::thread::{self, JoinHandle};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;

use crate::event::{Event, Notifier};

/// Starts the "signals" thread: SIGTERM, SIGINT, SIGHUP and SIGUSR1 become
/// events for the loop.
pub fn spawn(notifier: Notifier) -> io::Result<JoinHandle<()>> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP, SIGUSR1])?;
    thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                if !notifier.send(Event::Signal(sig)) {
                    return;
                }
            }
        })
}
