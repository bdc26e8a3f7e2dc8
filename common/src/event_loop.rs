//! The skeleton both daemons' event loops share: poll, handle a round of
//! events, run the timers, until the daemon stops. A daemon's `Server`
//! implements [`Loop`]; [`run`] drives it, and the fuzz targets drive one
//! [`turn`] at a time with the clock they choose.

use std::io;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use mio::event::Event;
use mio::{Events, Poll, Token};

use crate::framed::{self, Conns, Unread};

/// What an event loop is made of: its framed connections ([`Conns`]) and
/// the rest of what it polls (listeners, its waker, links).
pub trait Loop: Conns {
    /// The token of the waker helper threads wake the poll with.
    const WAKER: Token;

    /// Its poll.
    fn poll(&mut self) -> &mut Poll;

    /// What helper threads send back.
    type Result;

    /// The channel they send it on (before waking the poll).
    fn results(&self) -> &Receiver<Self::Result>;

    /// One result of a helper thread.
    fn on_result(&mut self, result: Self::Result);

    /// An event of another token that is not a framed connection (a
    /// listener, a link); false when it is a connection (the round reads
    /// it).
    fn on_own_event(&mut self, event: &Event) -> bool;

    /// Connections that may have input left unread.
    fn unread(&mut self) -> &mut Unread;

    /// Once the round's input is read (the worker writes its answers);
    /// true when work is left that the next poll must not wait for.
    fn on_round_end(&mut self) -> bool {
        false
    }

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
        busy = round(server, &events);
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
    round(server, events);
    Ok(events.iter().count())
}

/// One round of events: the loop's own tokens, then each ready connection
/// read, helper results, and connections with input left read again.
/// True when a connection still has input it has room for, so the next
/// poll must not wait.
fn round<L: Loop>(server: &mut L, events: &Events) -> bool {
    for ev in events.iter() {
        if ev.token() == L::WAKER {
            drain(server);
        } else if !server.on_own_event(ev) {
            let more = framed::on_event(server, ev);
            server.unread().note(ev.token(), more);
        }
    }
    // A wake may race a poll that returned for sockets: drain anyway.
    drain(server);
    let mut unread = std::mem::take(server.unread());
    let busy = unread.run(server);
    *server.unread() = unread;
    server.on_round_end() | busy
}

/// Hands every result the helper threads sent to the loop.
pub fn drain<L: Loop>(server: &mut L) {
    while let Ok(result) = server.results().try_recv() {
        server.on_result(result);
    }
}
