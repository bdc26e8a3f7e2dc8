//! The skeleton both daemons' event loops share: poll, handle a round of
//! events, run the timers, until the daemon stops. A daemon's `Server`
//! implements [`Loop`]; [`run`] drives it, and the fuzz targets drive one
//! [`turn`] at a time with the clock they choose.

use std::io;
use std::time::{Duration, Instant};

use mio::{Events, Poll};

/// What an event loop is made of.
pub trait Loop {
    /// Its poll.
    fn poll(&mut self) -> &mut Poll;

    /// Handles one round of events (and what helper threads sent back);
    /// true when a connection still has input it has room for, so the
    /// next poll must not wait.
    fn on_events(&mut self, events: &Events) -> bool;

    /// The timers, run at most once a tick.
    fn on_tick(&mut self, now: Instant);

    /// Whether the loop is to stop (SIGTERM, SIGINT).
    fn stopping(&self) -> bool;
}

/// Runs `server` until it stops: each poll waits at most `tick` (not at
/// all while input waits), and the timers run once a `tick`. A signal
/// that interrupts a poll is no error.
pub fn run<L: Loop>(server: &mut L, tick: Duration, capacity: usize) -> io::Result<()> {
    let mut events = Events::with_capacity(capacity);
    let mut last_tick = Instant::now();
    server.on_tick(last_tick);
    let mut busy = false;
    while !server.stopping() {
        let timeout = if busy { Duration::ZERO } else { tick };
        if let Err(err) = server.poll().poll(&mut events, Some(timeout)) {
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        busy = server.on_events(&events);
        let now = Instant::now();
        if now.duration_since(last_tick) >= tick {
            last_tick = now;
            server.on_tick(now);
        }
    }
    Ok(())
}

/// One turn of [`run`] without its timers: poll for at most `timeout`,
/// then handle what came. Returns the events handled.
pub fn turn<L: Loop>(server: &mut L, events: &mut Events, timeout: Duration) -> io::Result<usize> {
    server.poll().poll(events, Some(timeout))?;
    server.on_events(events);
    Ok(events.iter().count())
}
