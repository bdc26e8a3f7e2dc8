//! The "gpg" thread of ptworkerd: checks the master's challenge and signs
//! the worker's proof (PROTOCOL.md section 7) with the GnuPG context it
//! owns. Jobs come from the master link on the event loop; results go back
//! as events.

use std::io;
use std::path::PathBuf;
use std::thread::JoinHandle;

use crossbeam_channel::Receiver;
use papertrader_common::gpg::{ProofError, Role, Signer, handshake_message};

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
    /// EXPORTER of the link's TLS session, which both signatures cover.
    pub exporter: String,
    /// The master's armored signature.
    pub master_signature: String,
    /// The fingerprint the master's signature must come from.
    pub master_key: String,
}

/// Starts the "gpg" thread with the worker's signing key; fails at once if
/// the key is not in the GnuPG home.
pub fn spawn(
    home: PathBuf,
    worker_key: String,
    jobs: Receiver<ProofJob>,
    notifier: Notifier,
) -> io::Result<JoinHandle<()>> {
    papertrader_common::threads::spawn_gpg(home, worker_key, jobs, notifier, prove)
}

/// Checks the master's challenge and signs the proof.
fn prove(signer: &mut Signer, job: ProofJob) -> Event {
    let signed = handshake_message(Role::Master, &job.uuid, &job.worker_nonce, &job.exporter);
    let result = signer
        .verify(&job.master_signature, &signed, &job.master_key)
        .map_err(ProofError::Refused)
        .and_then(|()| {
            let proof =
                handshake_message(Role::Worker, &job.uuid, &job.master_nonce, &job.exporter);
            signer.sign(&proof).map_err(ProofError::Sign)
        });
    Event::Proof {
        generation: job.generation,
        result,
    }
}
