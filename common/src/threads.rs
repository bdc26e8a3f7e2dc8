//! The helper threads both daemons run the same way: "signals", which turns
//! SIGTERM, SIGINT, SIGHUP and SIGUSR1 into events for the loop, and "gpg",
//! which owns the GnuPG context of the master link's handshake. Each daemon
//! asks for them from `main`; what a thread hands the loop is the daemon's
//! own event type, through its [`Notifier`].

use std::io;
use std::thread::{self, JoinHandle};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;

use crate::notify::Notifier;

/// Starts the "signals" thread: each of SIGTERM, SIGINT, SIGHUP and SIGUSR1
/// becomes `event(signal)` on the loop's channel. `event` runs on this
/// thread, so work a signal asks for that must not block the loop (reading
/// renewed certificates on SIGHUP) can be done in it.
pub fn spawn_signals<E: Send + 'static>(
    notifier: Notifier<E>,
    event: impl Fn(i32) -> E + Send + 'static,
) -> io::Result<JoinHandle<()>> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP, SIGUSR1])?;
    thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                if !notifier.send(event(sig)) {
                    return;
                }
            }
        })
}

/// Starts the "gpg" thread with the signing key `fingerprint` of the
/// GnuPG home `home`. Each job becomes `work(signer, job)`, sent to the
/// loop. Fails at once, from the caller's thread, if the key cannot be
/// used, so a bad setup stops the daemon at start.
#[cfg(feature = "gpg")]
pub fn spawn_gpg<J, E>(
    home: std::path::PathBuf,
    fingerprint: String,
    jobs: crossbeam_channel::Receiver<J>,
    notifier: Notifier<E>,
    work: impl Fn(&mut crate::gpg::Signer, J) -> E + Send + 'static,
) -> io::Result<JoinHandle<()>>
where
    J: Send + 'static,
    E: Send + 'static,
{
    let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
    let handle = thread::Builder::new().name("gpg".into()).spawn(move || {
        let mut signer = match crate::gpg::Signer::new(Some(&home), &fingerprint) {
            Ok(signer) => {
                let _ = ready_tx.send(Ok(()));
                signer
            }
            Err(err) => {
                let _ = ready_tx.send(Err(err.to_string()));
                return;
            }
        };
        for job in jobs.iter() {
            if !notifier.send(work(&mut signer, job)) {
                return;
            }
        }
    })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(message)) => Err(io::Error::other(message)),
        Err(_) => Err(io::Error::other("gpg thread died while starting")),
    }
}
