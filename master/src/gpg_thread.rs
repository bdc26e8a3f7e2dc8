//! The "gpg" thread of ptmasterd: signs the master's side of each worker
//! handshake and checks the worker's proof (PROTOCOL.md section 7), both
//! over the link's TLS exporter, with
//! the GnuPG context it owns. Jobs come from the event loop's `link`;
//! results go back as events.

use std::io;
use std::path::PathBuf;
use std::thread::JoinHandle;

use crossbeam_channel::Receiver;
use mio::Token;
use papertrader_common::gpg::{Role, Signer, handshake_message};

use crate::event::{Event, Notifier};

/// A handshake signature job for the gpg thread.
#[derive(Debug)]
pub enum GpgJob {
    /// Sign the master's side of the handshake for a worker's nonce.
    Sign {
        /// The connection in its handshake.
        token: Token,
        /// The worker's UUID.
        uuid: String,
        /// The worker's nonce from `workerHello`.
        worker_nonce: String,
        /// EXPORTER of the link's TLS session.
        exporter: String,
    },
    /// Check a worker's proof over the master's nonce.
    Verify {
        /// The connection in its handshake.
        token: Token,
        /// The worker's UUID.
        uuid: String,
        /// The nonce the master sent.
        master_nonce: String,
        /// EXPORTER of the link's TLS session.
        exporter: String,
        /// The worker's armored signature.
        signature: String,
        /// The fingerprint registered for the worker.
        fingerprint: String,
    },
}

/// Starts the "gpg" thread with the master's signing key. Fails at once if
/// the key is not in the GnuPG home, so a bad setup stops the daemon.
pub fn spawn(
    home: PathBuf,
    fingerprint: String,
    jobs: Receiver<GpgJob>,
    notifier: Notifier,
) -> io::Result<JoinHandle<()>> {
    papertrader_common::threads::spawn_gpg(home, fingerprint, jobs, notifier, run)
}

/// One job: a signature, or the check of one.
fn run(signer: &mut Signer, job: GpgJob) -> Event {
    match job {
        GpgJob::Sign {
            token,
            uuid,
            worker_nonce,
            exporter,
        } => {
            let data = handshake_message(Role::Master, &uuid, &worker_nonce, &exporter);
            let result = signer.sign(&data);
            Event::Signed { token, result }
        }
        GpgJob::Verify {
            token,
            uuid,
            master_nonce,
            exporter,
            signature,
            fingerprint,
        } => {
            let data = handshake_message(Role::Worker, &uuid, &master_nonce, &exporter);
            let result = signer.verify(&signature, &data, &fingerprint);
            Event::Verified { token, result }
        }
    }
}
