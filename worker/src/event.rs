//! What helper threads hand back to the worker's event loop, and the
//! sender that delivers it: send first, wake second.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use mio::Waker;

/// A result or request for the event loop.
pub enum Event {
    /// The gpg thread checked the master's challenge and signed the proof;
    /// the generation says which connection attempt it belongs to.
    Proof {
        /// The master-link attempt the proof is for.
        generation: u64,
        /// The armored proof, or why the challenge was refused.
        result: Result<String, String>,
    },
    /// A signal arrived (SIGTERM, SIGINT, SIGHUP, SIGUSR1).
    Signal(i32),
}

/// Sends events to the loop and wakes it.
#[derive(Clone)]
pub struct Notifier {
    tx: Sender<Event>,
    waker: Arc<Waker>,
}

impl Notifier {
    /// A notifier and the receiving end the loop drains.
    pub fn new(waker: Arc<Waker>) -> (Notifier, Receiver<Event>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        (Notifier { tx, waker }, rx)
    }

    /// Delivers `event`; false once the loop has gone away.
    pub fn send(&self, event: Event) -> bool {
        if self.tx.send(event).is_err() {
            return false;
        }
        if let Err(err) = self.waker.wake() {
            log::error!("cannot wake the event loop: {err}");
        }
        true
    }
}
