//! What the worker does with each client request (PROTOCOL.md sections 4
//! and 5): the state check, answers from the caches, `switchState`, and
//! forwarding the rest to the master. Runs on the event loop thread as part
//! of [`Server`].

use mio::Token;
use papertrader_common::message;
use papertrader_common::reply::Reply;
use papertrader_common::request::{Forwarded, Request};
use papertrader_common::value::{ReasonCode, SessionId, Symbol};
use papertrader_common::{Frame, Instr, MessageType, State};

use super::Server;
use crate::cache::transfer_frames;
use crate::forward::{Note, Pending};

impl Server {
    pub(super) fn on_client_frame(&mut self, token: Token, frame: Frame) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        if client.is_switching() {
            if !client.hold(frame) {
                papertrader_common::warn!(
                    "{}: too many frames while a switchState or a registration waits",
                    client.peer()
                );
                self.close_client(token);
            }
            return;
        }
        let checked = match message::check(&frame, 0) {
            Ok(checked) => checked,
            Err(err) => {
                client.answer(&Reply::checked(&err).encode(None));
                if err.closes() {
                    client.framed.close_when_flushed();
                }
                return;
            }
        };
        let instr = checked.instr;
        if matches!(instr.kind(), MessageType::Return | MessageType::Control) {
            let text = format!("{} is not a request", instr.name());
            client.answer(
                &Reply::fail(Instr::ProtocolError, ReasonCode::Protocol, text).encode(None),
            );
            return;
        }
        if let Some(state) = instr.state()
            && state != client.state()
        {
            let text = format!(
                "{} is not allowed in {} state",
                instr.name(),
                client.state().name()
            );
            client.answer(&Reply::fail(instr, ReasonCode::WrongState, text).encode(None));
            return;
        }
        let request = match Request::parse(instr, &checked.args) {
            Ok(request) => request,
            Err(reason) => return client.answer(&Reply::failure(instr, reason).encode(None)),
        };
        if instr.state() == Some(State::Data) {
            match self.check_session(token, &frame) {
                SessionCheck::Valid => {}
                SessionCheck::Waiting => return,
                SessionCheck::Ended => {
                    let text = "the session of this connection ended (logged out or expired); \
                                log in and switchState again";
                    if let Some(client) = self.clients.get_mut(&token) {
                        client
                            .answer(&Reply::fail(instr, ReasonCode::BadSession, text).encode(None));
                    }
                    return;
                }
            }
        }
        self.dispatch(token, &frame, request);
    }

    /// Whether a data-state connection's session still holds. One the
    /// worker vouched for lately does; otherwise the master is asked (a
    /// switchState the client does not see) while this frame and later
    /// ones wait. With the master out of reach the worker serves what it
    /// has rather than refuse everyone.
    fn check_session(&mut self, token: Token, frame: &Frame) -> SessionCheck {
        let Some(session) = self.clients.get(&token).and_then(|c| c.session()) else {
            return SessionCheck::Ended;
        };
        let now = std::time::Instant::now();
        if !self.link.is_up() || self.caches.sessions.is_valid(session, now) {
            return SessionCheck::Valid;
        }
        let session = session.clone();
        let check = Request::SwitchState {
            session: session.clone(),
            state: State::Data,
        }
        .encode();
        let note = Note::Revalidate { session };
        if self
            .forward_with(token, &check, Instr::SwitchState, note, false)
            .is_none()
        {
            return SessionCheck::Valid;
        }
        if let Some(client) = self.clients.get_mut(&token) {
            client.begin_switch();
            if !client.hold(frame.clone()) {
                self.close_client(token);
            }
        }
        SessionCheck::Waiting
    }

    /// Answers a parsed request from the caches, or forwards it.
    fn dispatch(&mut self, token: Token, frame: &Frame, request: Request) {
        let instr = request.instr();
        match request {
            Request::WorkerList => {
                let list = Reply::WorkerList(self.worker_list.clone()).encode(None);
                if let Some(client) = self.clients.get_mut(&token) {
                    client.answer(&list);
                }
            }
            Request::SwitchState { session, state } => {
                self.switch_state(token, frame, session, state);
            }
            Request::AssetCurrent { symbol } | Request::AssetInfo { symbol } => {
                self.quote(token, frame, instr, &symbol);
            }
            Request::History { symbol, date, .. } => {
                let key = match date {
                    Some(date) => format!("{} {symbol} {date}", instr.code()),
                    None => format!("{} {symbol}", instr.code()),
                };
                self.history(token, frame, instr, key);
            }
            Request::AssetList => self.history(token, frame, instr, instr.code().to_string()),
            // Every cached quote now, then each price set as it comes. A
            // client whose unread answers would pass max_output with it
            // gets a short refusal instead (each request costs at most
            // that much, however many are pipelined).
            Request::WatchPrices => {
                let max = self.config.max_output;
                let snapshot = self.caches.quotes.snapshot();
                if let Some(client) = self.clients.get_mut(&token) {
                    client.watch();
                    if client.unsent() + snapshot.len() > max {
                        let text =
                            "read the answers owed first: they fill this connection's output";
                        let fail = Reply::fail(instr, ReasonCode::RateLimited, text);
                        client.answer(&fail.encode(None));
                    } else {
                        client.answer_encoded(snapshot);
                    }
                }
            }
            // Rankings move only with prices: one answer per price set.
            Request::Leaderboard => {
                let key = crate::cache::LEADERBOARD_KEY.to_string();
                self.history(token, frame, instr, key);
            }
            Request::Login { expirable, .. } | Request::LoginExternal { expirable, .. } => {
                self.forward(token, frame, instr, Note::Login { expirable });
            }
            // Key logins count against the address as the HTTP API's
            // unchecked keys do, unless the master accepted this key and
            // secret lately (no lockout of the owner).
            Request::LoginKey { id, secret } => {
                let now = std::time::Instant::now();
                let known = self.api_key_known(&id, &secret, now);
                let limited = !known && self.api_address_limited(token, now);
                match (limited, self.clients.get_mut(&token)) {
                    (true, Some(client)) => {
                        let text =
                            "too many API key logins from this address; try again in a minute";
                        client.answer(
                            &Reply::fail(instr, ReasonCode::RateLimited, text).encode(None),
                        );
                    }
                    (true, None) => {}
                    (false, _) => {
                        self.forward(token, frame, instr, Note::KeyLogin { id, secret });
                    }
                }
            }
            Request::LoginSession { .. } => {
                self.forward(token, frame, instr, Note::LoginSession);
            }
            Request::Logout { session } => {
                self.forward(token, frame, instr, Note::Logout(session));
            }
            // The master's auth threads run requests side by side: a login
            // pipelined behind a registration must not overtake it.
            // Likewise watchlist changes, which must take effect in the
            // order they were sent, and portfolio and competition
            // commands: an order or a read sent after `usePortfolio` acts
            // on the portfolio it chose, and a reset or a new API key sent
            // before it on the one in use when sent.
            Request::Register { .. }
            | Request::RegisterExternal { .. }
            | Request::Watch { .. }
            | Request::Unwatch { .. }
            | Request::Portfolio { .. }
            | Request::Game { .. }
            | Request::ResetAccount { .. }
            | Request::CreateKey { .. } => {
                if self.forward(token, frame, instr, Note::Serial)
                    && let Some(client) = self.clients.get_mut(&token)
                {
                    client.begin_switch();
                }
            }
            _ => {
                self.forward(token, frame, instr, Note::None);
            }
        }
    }

    /// `switchState`: answered here when the session was vouched for
    /// lately, else checked by the master while later frames wait.
    fn switch_state(&mut self, token: Token, frame: &Frame, session: SessionId, state: State) {
        let now = std::time::Instant::now();
        if self.caches.sessions.is_valid(&session, now) {
            if let Some(client) = self.clients.get_mut(&token) {
                client.switch_now(state, session);
                client.answer(&Reply::StateSwitched(state).encode(None));
            }
            return;
        }
        if self.forward(
            token,
            frame,
            Instr::SwitchState,
            Note::SwitchState { state, session },
        ) && let Some(client) = self.clients.get_mut(&token)
        {
            client.begin_switch();
        }
    }

    /// `getAssetValueCurrent` and `getAssetInfo` from the quote cache.
    fn quote(&mut self, token: Token, frame: &Frame, instr: Instr, symbol: &Symbol) {
        match self
            .caches
            .quotes
            .answer(symbol, instr == Instr::GetAssetInfo)
        {
            Some(bytes) => {
                if let Some(client) = self.clients.get_mut(&token) {
                    client.answer_encoded(bytes);
                }
            }
            None => {
                self.forward(token, frame, instr, Note::None);
            }
        }
    }

    /// History and the asset list: from the history cache under `key`,
    /// else from the master, whose answer is then cached.
    fn history(&mut self, token: Token, frame: &Frame, instr: Instr, key: String) {
        let now = std::time::Instant::now();
        let cached = self.caches.history.get(&key, now).map(transfer_frames);
        match cached {
            Some(frames) => {
                if let Some(client) = self.clients.get_mut(&token) {
                    client.answer_all(frames);
                }
            }
            None => {
                // The same answer on its way already: wait for it too.
                if self.link.is_up()
                    && let Some(reqid) = self.in_flight.joinable(&key, token)
                {
                    if let Some(client) = self.clients.get_mut(&token) {
                        client.expect(reqid);
                    }
                    return;
                }
                let note = Note::History {
                    key,
                    cache: true,
                    payload: Vec::new(),
                    joined: Vec::new(),
                };
                self.forward(token, frame, instr, note);
            }
        }
    }

    /// Sends a client request to the master with the section 6 prefix and
    /// reserves its answer's place; `unavailable` at once when the link is
    /// down. Returns whether it went out.
    pub(super) fn forward(
        &mut self,
        token: Token,
        frame: &Frame,
        instr: Instr,
        note: Note,
    ) -> bool {
        self.forward_with(token, frame, instr, note, true).is_some()
    }

    /// [`Server::forward`], giving the REQID; `answered` false for a
    /// request of the worker's own, whose answer takes no place among the
    /// client's.
    fn forward_with(
        &mut self,
        token: Token,
        frame: &Frame,
        instr: Instr,
        note: Note,
        answered: bool,
    ) -> Option<u64> {
        let client = self.clients.get_mut(&token)?;
        if !self.link.is_up() {
            let text = "the master cannot be reached; nothing was changed";
            client.answer(&Reply::fail(instr, ReasonCode::Unavailable, text).encode(None));
            return None;
        }
        let reqid = self.in_flight.start(Pending { token, instr, note });
        let prefix = prefix(&self.config.uuid, reqid, client.peer().to_string());
        let Some(forwarded) = prefix.wrap(frame) else {
            self.in_flight.finish(reqid);
            let text = "request too long to forward";
            client.answer(&Reply::fail(instr, ReasonCode::BadArguments, text).encode(None));
            return None;
        };
        if answered {
            client.expect(reqid);
        }
        self.link_send(&forwarded);
        Some(reqid)
    }
}

/// What [`Server::check_session`] found.
enum SessionCheck {
    /// Serve the request.
    Valid,
    /// The session ended: `bad-session`.
    Ended,
    /// The master is asked; the frame waits.
    Waiting,
}

/// The section 6 prefix of request `reqid` of `client`, from this worker
/// (`uuid`, `-` without one), stamped now.
pub(super) fn prefix(uuid: &Option<String>, reqid: u64, client: String) -> Forwarded {
    Forwarded {
        uuid: uuid.clone().unwrap_or_else(|| "-".into()),
        reqid: reqid.to_string(),
        ts_ms: now_ms(),
        client,
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
