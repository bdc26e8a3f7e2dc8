//! A forwarded request as the master's threads take it: where its answer
//! goes ([`ReplyTo`]), where it came from ([`Origin`]) and what it asks
//! ([`Request`], parsed once by `route`). Every thread that answers a
//! client does so through [`ReplyTo::send`] with a typed [`Reply`].

use mio::Token;
use papertrader_common::Frame;
use papertrader_common::reply::Reply;
use papertrader_common::request::Request;

use crate::event::{Event, Notifier};

/// The return address of one forwarded request: the worker link it came
/// on and the worker's REQID, which goes in front of the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    /// The worker link.
    pub link: Token,
    /// The worker's request id (decimal, at most 20 digits).
    pub reqid: String,
}

impl ReplyTo {
    /// The frame of `reply` for this address.
    pub fn frame(&self, reply: &Reply) -> Frame {
        reply.encode(Some(&self.reqid))
    }

    /// Hands `reply` to the event loop for the link; false once the loop
    /// has gone (the thread should stop).
    pub fn send(&self, notifier: &Notifier, reply: Reply) -> bool {
        notifier.send(Event::Reply {
            token: self.link,
            frame: self.frame(&reply),
        })
    }
}

/// Where a forwarded request came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The client's address as the worker saw it (`host:port`).
    pub client: String,
    /// The worker's registered name.
    pub worker: String,
    /// When the worker received it (ms since the epoch): orders run in
    /// this order.
    pub arrival_ms: u64,
}

/// One forwarded request on its way to the thread that owns it.
#[derive(Debug)]
pub struct Job {
    /// Where the answer goes.
    pub to: ReplyTo,
    /// Where it came from.
    pub origin: Origin,
    /// What it asks.
    pub request: Request,
}

impl Job {
    /// Answers this job.
    pub fn answer(&self, notifier: &Notifier, reply: Reply) -> bool {
        self.to.send(notifier, reply)
    }
}
