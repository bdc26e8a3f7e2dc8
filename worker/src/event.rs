//! What helper threads hand back to the worker's event loop, and the
//! sender that delivers it: send first, wake second.

use std::sync::Arc;

use crossbeam_channel::Receiver;
use mio::Waker;
use papertrader_common::gpg::ProofError;
use papertrader_common::tls::TlsError;

/// A result or request for the event loop.
pub enum Event {
    /// The gpg thread checked the master's challenge and signed the proof;
    /// the generation says which connection attempt it belongs to.
    Proof {
        /// The master-link attempt the proof is for.
        generation: u64,
        /// The armored proof, or why the challenge was refused.
        result: Result<String, ProofError>,
    },
    /// A signal arrived (SIGTERM, SIGINT, SIGHUP, SIGUSR1).
    Signal(i32),
    /// SIGHUP with client TLS on: the certificate files read anew by the
    /// signals thread (a configuration to swap in, or why not).
    TlsReloaded(Result<Arc<rustls::ServerConfig>, TlsError>),
}

/// Sends events to the loop and wakes it.
pub type Notifier = papertrader_common::notify::Notifier<Event>;

/// A notifier waking the loop through `waker`, and the loop's receiver.
pub fn notifier(waker: Arc<Waker>) -> (Notifier, Receiver<Event>) {
    Notifier::new(Arc::new(move || waker.wake()))
}
