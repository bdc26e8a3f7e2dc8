//! Who is at the other end of a master-port connection: nothing yet, a
//! worker in the handshake of PROTOCOL.md section 7, or an accepted link.
//! Plain values with their transitions; `link` drives them from the loop.

use std::time::Instant;

use papertrader_common::value::Timestamp;

/// Where a connection stands.
pub enum Role {
    /// Nothing received yet.
    New,
    /// In the handshake of section 7.
    Handshake(Handshake),
    /// An accepted worker link.
    Link(Link),
}

/// A handshake in progress.
pub struct Handshake {
    uuid: String,
    name: String,
    client_addr: String,
    master_nonce: String,
    /// EXPORTER of the link's TLS session, which both signatures cover.
    exporter: String,
    stage: Stage,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The gpg thread is signing the challenge.
    Signing,
    /// `masterChallenge` sent; waiting for `workerProof`.
    AwaitProof,
    /// The gpg thread is checking the proof.
    Verifying,
}

impl Handshake {
    /// A registered worker's `workerHello` taken; the challenge is being
    /// signed.
    pub fn new(
        uuid: String,
        name: String,
        client_addr: String,
        master_nonce: String,
        exporter: String,
    ) -> Handshake {
        Handshake {
            uuid,
            name,
            client_addr,
            master_nonce,
            exporter,
            stage: Stage::Signing,
        }
    }

    /// The worker's UUID (lowercase).
    pub fn uuid(&self) -> &str {
        &self.uuid
    }

    /// The registered name of the worker.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The master's nonce, hex.
    pub fn master_nonce(&self) -> &str {
        &self.master_nonce
    }

    /// The TLS exporter both signatures cover.
    pub fn exporter(&self) -> &str {
        &self.exporter
    }

    /// `masterChallenge` went out.
    pub fn challenge_sent(&mut self) {
        self.stage = Stage::AwaitProof;
    }

    /// Whether a `workerProof` is expected now.
    pub fn awaits_proof(&self) -> bool {
        self.stage == Stage::AwaitProof
    }

    /// The proof went to the gpg thread.
    pub fn verifying(&mut self) {
        self.stage = Stage::Verifying;
    }

    /// Where it stopped, for the log.
    pub fn stage_name(&self) -> &'static str {
        match self.stage {
            Stage::Signing => "the master was signing its challenge",
            Stage::AwaitProof => "the worker did not answer the challenge",
            Stage::Verifying => "the master was checking the proof",
        }
    }

    /// The proof checked out: the accepted link, from `since`.
    pub fn linked(&self, since: Timestamp) -> Link {
        Link {
            uuid: self.uuid.clone(),
            name: self.name.clone(),
            client_addr: self.client_addr.clone(),
            since,
            served: 0,
            ping_out: None,
        }
    }
}

/// An accepted worker link.
pub struct Link {
    /// The worker's UUID (lowercase).
    pub uuid: String,
    /// Its registered name.
    pub name: String,
    /// The address clients should use.
    pub client_addr: String,
    /// When it was accepted.
    pub since: Timestamp,
    served: u64,
    /// A ping sent and not yet answered.
    ping_out: Option<Instant>,
}

impl Link {
    /// Forwarded requests taken from it.
    pub fn served(&self) -> u64 {
        self.served
    }

    /// One more forwarded request taken.
    pub fn count_served(&mut self) {
        self.served += 1;
    }

    /// Whether to ping it now (none is out); if so, the ping counts as
    /// sent at `now`.
    pub fn ping_due(&mut self, now: Instant) -> bool {
        let due = self.ping_out.is_none();
        if due {
            self.ping_out = Some(now);
        }
        due
    }

    /// It answered the ping.
    pub fn ponged(&mut self) {
        self.ping_out = None;
    }
}
