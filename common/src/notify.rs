//! How helper threads hand results to a daemon's event loop: send the
//! result on a channel first, wake the loop second, so a woken loop always
//! finds the data (STYLE.md, "Event loop and threads"). The wake-up is a
//! function the daemon supplies (a `mio::Waker`), so this crate stays free
//! of any event loop.

use std::io;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

/// Wakes the event loop.
pub type Wake = Arc<dyn Fn() -> io::Result<()> + Send + Sync>;

/// Sends events of type `E` to the loop and wakes it.
pub struct Notifier<E> {
    tx: Sender<E>,
    wake: Wake,
}

impl<E> Clone for Notifier<E> {
    fn clone(&self) -> Self {
        Notifier {
            tx: self.tx.clone(),
            wake: self.wake.clone(),
        }
    }
}

impl<E> Notifier<E> {
    /// A notifier and the receiving end the loop drains.
    pub fn new(wake: Wake) -> (Notifier<E>, Receiver<E>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        (Notifier { tx, wake }, rx)
    }

    /// Delivers `event`; false once the loop has gone away.
    pub fn send(&self, event: E) -> bool {
        if self.tx.send(event).is_err() {
            return false;
        }
        if let Err(err) = (self.wake)() {
            error!("cannot wake the event loop: {err}");
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn sends_then_wakes_and_reports_a_gone_loop() {
        let woken = Arc::new(AtomicUsize::new(0));
        let seen = woken.clone();
        let (notifier, rx) = Notifier::new(Arc::new(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }));
        assert!(notifier.send(7));
        assert_eq!(rx.try_recv(), Ok(7), "the data is there before the wake-up");
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        drop(rx);
        assert!(!notifier.send(8), "the loop has gone away");
        assert_eq!(woken.load(Ordering::SeqCst), 1, "no wake-up for nothing");
    }
}
