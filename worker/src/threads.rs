//! ptworkerd's helper threads: "gpg" (the master link handshake's
//! signature work), "signals", and "cache" (expiry of the caches). Each
//! hands its results to the event loop through a [`Notifier`].

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use papertrader_common::gpg::{Role, Signer, handshake_message};
use parking_lot::Mutex;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;

use crate::cache::Caches;
use crate::event::{Event, Notifier};

/// The worker's half of the handshake: check the master's challenge, sign
/// the proof.
#[derive(Debug)]
pub struct ProofJob {
    /// The master-link attempt it belongs to.
    pub generation: u64,
    /// This worker's UUID.
    pub uuid: String,
    /// The nonce the worker sent in `workerHello`.
    pub worker_nonce: String,
    /// The master's nonce from `masterChallenge`.
    pub master_nonce: String,
    /// The master's armored signature.
    pub master_signature: String,
    /// The fingerprint the master's signature must come from.
    pub master_key: String,
}

/// Starts the "gpg" thread with the worker's signing key; fails at once if
/// the key is not in the GnuPG home.
pub fn spawn_gpg(
    home: PathBuf,
    worker_key: String,
    jobs: Receiver<ProofJob>,
    notifier: Notifier,
) -> io::Result<JoinHandle<()>> {
    let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
    let handle = thread::Builder::new().name("gpg".into()).spawn(move || {
        let mut signer = match Signer::new(Some(&home), &worker_key) {
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
            let signed = handshake_message(Role::Master, &job.uuid, &job.worker_nonce);
            let result = signer
                .verify(&job.master_signature, &signed, &job.master_key)
                .map_err(|e| format!("master signature refused: {e}"))
                .and_then(|()| {
                    let proof = handshake_message(Role::Worker, &job.uuid, &job.master_nonce);
                    signer
                        .sign(&proof)
                        .map_err(|e| format!("cannot sign the proof: {e}"))
                });
            if !notifier.send(Event::Proof {
                generation: job.generation,
                result,
            }) {
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

/// Starts the "signals" thread.
pub fn spawn_signals(notifier: Notifier) -> io::Result<JoinHandle<()>> {
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

/// How often the "cache" thread drops expired entries.
const PURGE_EVERY: Duration = Duration::from_secs(1);

/// Starts the "cache" thread, which drops expired history answers and
/// sessions so that memory follows the load; it stops when `stop` closes.
pub fn spawn_cache(caches: Arc<Mutex<Caches>>, stop: Receiver<()>) -> io::Result<JoinHandle<()>> {
    thread::Builder::new().name("cache".into()).spawn(move || {
        while let Err(crossbeam_channel::RecvTimeoutError::Timeout) = stop.recv_timeout(PURGE_EVERY)
        {
            caches.lock().purge(Instant::now());
        }
    })
}
