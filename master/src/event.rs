//! What the helper threads hand back to the event loop, and the sender that
//! delivers it: send first, wake second, so a woken loop always finds the
//! data (STYLE.md, "Event loop and threads").

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use mio::{Token, Waker};
use papertrader_common::Frame;
use papertrader_common::gpg::GpgError;

use crate::command::{Command, CommandError};

/// A result or request for the event loop.
pub enum Event {
    /// A reply frame for the connection `token` (REQID already in front).
    Reply {
        /// The connection it answers.
        token: Token,
        /// The whole reply.
        frame: Frame,
    },
    /// Several frames for one connection, in order (a data transfer).
    Replies {
        /// The connection they answer.
        token: Token,
        /// The frames, REQID already in front.
        frames: Vec<Frame>,
    },
    /// The asset thread's new prices: the `quotes` payload for every worker.
    Quotes(Vec<u8>),
    /// The gpg thread signed a handshake challenge.
    Signed {
        /// The connection in its handshake.
        token: Token,
        /// The armored signature, or why signing failed.
        result: Result<String, GpgError>,
    },
    /// The gpg thread checked a worker's proof.
    Verified {
        /// The connection in its handshake.
        token: Token,
        /// Ok, or why the proof is refused.
        result: Result<(), GpgError>,
    },
    /// A signal arrived (SIGTERM, SIGINT, SIGHUP, SIGUSR1).
    Signal(i32),
    /// A ptctl command that needs the loop; the answer goes back on `reply`.
    Control {
        /// The command.
        command: Command,
        /// Where the text answer goes.
        reply: Sender<Result<String, CommandError>>,
    },
}

/// Sends events to the loop and wakes it.
pub type Notifier = papertrader_common::notify::Notifier<Event>;

/// A notifier waking the loop through `waker`, and the loop's receiver.
pub fn notifier(waker: Arc<Waker>) -> (Notifier, Receiver<Event>) {
    Notifier::new(Arc::new(move || waker.wake()))
}
