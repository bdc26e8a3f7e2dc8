//! The bookkeeping of requests forwarded to the master (PROTOCOL.md section
//! 6): each gets a REQID and a [`Pending`] entry that says which client it
//! answers and what the worker does with the answer besides relaying it
//! ([`Note`]); the entry leaves when the whole answer is in, or when the
//! link breaks ([`InFlight::drain`], answered by [`broken_link`]). A
//! history answer asked for again while it is on its way is not asked
//! twice: the later clients join the request in flight
//! ([`InFlight::joinable`]) and get the same answer. Plain values: the
//! loop (`dispatch`, `link`) does the I/O.

use std::collections::HashMap;

use mio::Token;
use papertrader_common::reply::Reply;
use papertrader_common::value::{ReasonCode, SessionId};
use papertrader_common::{Instr, State};

/// A forwarded request waiting for the master.
pub struct Pending {
    /// The client it came from.
    pub token: Token,
    /// Its instruction.
    pub instr: Instr,
    /// What to do with the answer besides relaying it.
    pub note: Note,
}

/// Where the answer of an HTTP API request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiTo {
    /// The call in `slot` of the web connection, as answer `index` of its
    /// step.
    Call {
        /// The call's place on its connection.
        slot: u64,
        /// Which request of the step.
        index: usize,
    },
    /// The trading stream's key check.
    StreamAuth,
    /// The trading stream's order list.
    StreamOrders,
    /// The asset details the trading stream names symbols with.
    StreamDetails,
}

/// Side effects of an answer.
pub enum Note {
    /// Nothing but relaying.
    None,
    /// A login: an expirable session belongs to this connection.
    Login {
        /// `isExpirable` was `true`.
        expirable: bool,
    },
    /// A switchState the master is checking.
    SwitchState {
        /// The state asked for.
        state: State,
        /// The session given.
        session: SessionId,
    },
    /// A loginSession: a success means the master vouched for it.
    LoginSession,
    /// A loginApiKey of a client: a success is remembered as the HTTP
    /// API's checks are (the key is then known good).
    KeyLogin {
        /// The key.
        id: papertrader_common::value::ApiKeyId,
        /// Its secret.
        secret: papertrader_common::value::ApiSecret,
    },
    /// A logout of this session.
    Logout(SessionId),
    /// A request the master runs on its auth pool, where requests run side
    /// by side: the client's later requests wait for its answer, so that a
    /// login pipelined behind a registration finds the account and a
    /// watchlist change does not overtake the one before it.
    Serial,
    /// The worker's own check that a data-state connection's session
    /// still holds; the client sees no answer of it.
    Revalidate {
        /// The session checked.
        session: SessionId,
    },
    /// A request of the HTTP API (a call, or a trading stream): the whole
    /// answer goes to `to`.
    Api {
        /// What the answer is for.
        to: ApiTo,
        /// The data transfer so far.
        payload: Vec<u8>,
        /// The history cache key to keep the whole answer under.
        cache: Option<String>,
    },
    /// A history answer to cache under `key` once whole.
    History {
        /// The cache key.
        key: String,
        /// Whether the answer is still of the current state, to be cached
        /// (not after new prices made a leaderboard asked before them old).
        cache: bool,
        /// The payload so far.
        payload: Vec<u8>,
        /// Other clients that asked for the same answer meanwhile, each
        /// with a slot for it under the same REQID.
        joined: Vec<Token>,
    },
}

impl Note {
    /// Whether the client's later frames wait for this answer (a
    /// `switchState`, the worker's own check, a registration).
    pub fn switches(&self) -> bool {
        matches!(
            self,
            Note::SwitchState { .. } | Note::Revalidate { .. } | Note::Serial
        )
    }

    /// The other clients waiting for the same answer, each once (the
    /// asker may be among them).
    pub fn joined(&self) -> &[Token] {
        match self {
            Note::History { joined, .. } => joined,
            _ => &[],
        }
    }
}

/// Every request in flight on the master link, by REQID.
#[derive(Default)]
pub struct InFlight {
    pending: HashMap<u64, Pending>,
    /// The REQID given last; the first is 1.
    last_reqid: u64,
    /// The history requests in flight, by cache key.
    by_key: HashMap<String, u64>,
}

/// Most clients that join one history request in flight; later ones send
/// their own.
pub const MAX_JOINED: usize = 1024;

impl InFlight {
    /// Records a request about to be forwarded; its REQID.
    pub fn start(&mut self, pending: Pending) -> u64 {
        self.last_reqid += 1;
        if let Note::History { key, .. } = &pending.note {
            self.by_key.insert(key.clone(), self.last_reqid);
        }
        self.pending.insert(self.last_reqid, pending);
        self.last_reqid
    }

    /// The REQID of the history request for `key` in flight that `token`
    /// can join (the asker too, asking again), having recorded it among
    /// those it answers; `None` when there is none, it has [`MAX_JOINED`]
    /// joins already, or a packet of its answer has gone out already (a
    /// slot opened now would miss it).
    pub fn joinable(&mut self, key: &str, token: Token) -> Option<u64> {
        let reqid = *self.by_key.get(key)?;
        match self.pending.get_mut(&reqid).map(|p| &mut p.note) {
            Some(Note::History {
                joined, payload, ..
            }) if joined.len() < MAX_JOINED && payload.is_empty() => {
                if !joined.contains(&token) {
                    joined.push(token);
                }
                Some(reqid)
            }
            _ => None,
        }
    }

    /// Lets later requests for `key` go to the master, the one in flight
    /// being about an older state (the leaderboard, after new prices):
    /// its answer still reaches those who asked, but is not cached.
    pub fn forget_key(&mut self, key: &str) {
        let Some(reqid) = self.by_key.remove(key) else {
            return;
        };
        if let Some(Note::History { cache, .. }) = self.pending.get_mut(&reqid).map(|p| &mut p.note)
        {
            *cache = false;
        }
    }

    /// The request `reqid`, while its answer is coming in.
    pub fn get_mut(&mut self, reqid: u64) -> Option<&mut Pending> {
        self.pending.get_mut(&reqid)
    }

    /// The request `reqid`, whose answer is whole.
    pub fn finish(&mut self, reqid: u64) -> Option<Pending> {
        let pending = self.pending.remove(&reqid)?;
        if let Note::History { key, .. } = &pending.note
            && self.by_key.get(key) == Some(&reqid)
        {
            self.by_key.remove(key);
        }
        Some(pending)
    }

    /// Every request in flight, taken out (the link broke).
    pub fn drain(&mut self) -> Vec<(u64, Pending)> {
        self.by_key.clear();
        self.pending.drain().collect()
    }

    /// How many are in flight.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// The answer to a request whose master link broke before it answered:
/// `unknown-outcome` for what may have happened (trades, orders, cancels,
/// resets), `unavailable` for the rest.
pub fn broken_link(instr: Instr) -> Reply {
    let (code, text) = match instr {
        Instr::PurchaseAsset | Instr::SellAsset | Instr::PurchaseNotional | Instr::SellNotional => {
            (
                ReasonCode::UnknownOutcome,
                "the master link broke; the trade may have filled, see the transaction history",
            )
        }
        Instr::PlaceOrder | Instr::ReplaceOrder | Instr::PlaceOrderClass | Instr::CancelOrder => (
            ReasonCode::UnknownOutcome,
            "the master link broke; the order may have been changed, see getOrders",
        ),
        Instr::ResetAccount => (
            ReasonCode::UnknownOutcome,
            "the master link broke; the account may have been reset, see the history",
        ),
        _ => (
            ReasonCode::Unavailable,
            "the master link broke before it answered",
        ),
    };
    Reply::fail(instr, code, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(token: usize, key: &str) -> Pending {
        Pending {
            token: Token(token),
            instr: Instr::GetLeaderboard,
            note: Note::History {
                key: key.to_string(),
                cache: true,
                payload: Vec::new(),
                joined: Vec::new(),
            },
        }
    }

    #[test]
    fn later_askers_join_the_history_request_in_flight() {
        let mut in_flight = InFlight::default();
        assert_eq!(
            in_flight.joinable("leaderboard", Token(2)),
            None,
            "none yet"
        );
        let first = in_flight.start(history(1, "leaderboard"));
        assert_eq!(in_flight.joinable("leaderboard", Token(2)), Some(first));
        assert_eq!(in_flight.joinable("leaderboard", Token(3)), Some(first));
        assert_eq!(in_flight.joinable("leaderboard", Token(2)), Some(first));
        assert_eq!(in_flight.joinable("leaderboard", Token(1)), Some(first));
        assert_eq!(in_flight.joinable("19 AAPL", Token(2)), None, "another key");
        let done = in_flight.finish(first).expect("pending");
        assert_eq!(
            done.note.joined(),
            [Token(2), Token(3), Token(1)],
            "each once"
        );
        assert_eq!(
            in_flight.joinable("leaderboard", Token(4)),
            None,
            "answered"
        );
        // Bounded, and forgotten when the state it answers is gone.
        let next = in_flight.start(history(1, "leaderboard"));
        for t in 0..MAX_JOINED {
            assert_eq!(
                in_flight.joinable("leaderboard", Token(100 + t)),
                Some(next)
            );
        }
        assert_eq!(in_flight.joinable("leaderboard", Token(99)), None, "full");
        let again = in_flight.start(history(5, "leaderboard"));
        in_flight.forget_key("leaderboard");
        assert_eq!(in_flight.joinable("leaderboard", Token(6)), None);
        let old = in_flight.finish(again).expect("pending");
        assert!(
            matches!(old.note, Note::History { cache: false, .. }),
            "an answer of before new prices is not cached"
        );
        assert_eq!(in_flight.drain().len(), 1);
        // A packet out already: a new slot would miss it.
        let long = in_flight.start(history(1, "16 AAPL"));
        if let Some(Note::History { payload, .. }) = in_flight.get_mut(long).map(|p| &mut p.note) {
            payload.extend_from_slice(b"first packet");
        }
        assert_eq!(in_flight.joinable("16 AAPL", Token(2)), None);
    }

    fn pending(instr: Instr) -> Pending {
        Pending {
            token: Token(9),
            instr,
            note: Note::None,
        }
    }

    #[test]
    fn reqids_count_up_and_entries_leave_once() {
        let mut in_flight = InFlight::default();
        let a = in_flight.start(pending(Instr::Login));
        let b = in_flight.start(pending(Instr::GetOrders));
        assert_eq!((a, b, in_flight.len()), (1, 2, 2));
        assert!(in_flight.get_mut(a).is_some());
        assert_eq!(in_flight.finish(a).map(|p| p.instr), Some(Instr::Login));
        assert!(in_flight.finish(a).is_none(), "answered once");
        assert_eq!(in_flight.drain().len(), 1);
        assert!(in_flight.is_empty());
        assert_eq!(in_flight.start(pending(Instr::Logout)), 3, "never reused");
    }

    #[test]
    fn a_broken_link_answers_what_may_have_happened_as_unknown() {
        let code = |i| broken_link(i).reason().map(|r| r.code);
        assert_eq!(code(Instr::PurchaseAsset), Some(ReasonCode::UnknownOutcome));
        assert_eq!(code(Instr::SellNotional), Some(ReasonCode::UnknownOutcome));
        assert_eq!(code(Instr::CancelOrder), Some(ReasonCode::UnknownOutcome));
        assert_eq!(code(Instr::ResetAccount), Some(ReasonCode::UnknownOutcome));
        assert_eq!(code(Instr::GetOrders), Some(ReasonCode::Unavailable));
        assert_eq!(broken_link(Instr::Login).instr(), Instr::LoginFail);
        let session = SessionId::parse("0f1e2d3c4b5a69788796a5b4c3d2e1f0").expect("id");
        assert!(Note::Revalidate { session }.switches());
        assert!(!Note::LoginSession.switches());
    }
}
