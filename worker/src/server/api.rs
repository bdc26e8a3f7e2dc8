//! The loop's side of the HTTP API (`crate::api`): takes the requests a
//! web connection read, checks their key (the worker's [`KeyCache`], else
//! `loginApiKey` to the master), counts them against the key's rate, runs
//! each [`Call`], forwarding what it asks like a client's requests, and
//! puts its answer in its place on the connection.

use std::collections::HashMap;
use std::time::Instant;

use mio::Token;
use papertrader_common::reply::Reply;
use papertrader_common::request::Request;
use papertrader_common::value::{ApiKeyId, ApiSecret, ReasonCode, Timestamp};

use crate::api::call::{Answer, Call, Ctx, Step};
use crate::api::keys::{Buckets, KEY_TTL, KeyCache, Who};
use crate::api::route::{self, Route};
use crate::api::{Header, Response};
use crate::cache::history_key;
use crate::forward::{ApiTo, Note, Pending};
use crate::web::conn::ApiAsk;

use super::Server;

/// Largest data transfer an API call reads (an order list is ~50 KB).
const MAX_API_PAYLOAD: usize = 8 << 20;

/// The cache key of `getAssetDetails` answers in the history cache.
pub(super) const DETAILS_KEY: &str = "31";

/// The HTTP API's state on the loop.
pub(super) struct ApiState {
    /// Keys the master vouched for lately (the trading stream's too).
    pub(super) keys: KeyCache,
    per_key: Buckets,
    /// Requests with keys not checked, or without a key, by address.
    pub(super) per_address: Buckets,
    calls: HashMap<(Token, u64), Running>,
}

impl ApiState {
    pub(super) fn new(rate: u32) -> ApiState {
        ApiState {
            keys: KeyCache::new(KEY_TTL),
            per_key: Buckets::new(rate),
            per_address: Buckets::new(rate),
            calls: HashMap::new(),
        }
    }

    /// Drops expired keys and refilled buckets (the one-second sweep).
    pub(super) fn sweep(&mut self, now: Instant) {
        self.keys.purge(now);
        self.per_key.sweep(now);
        self.per_address.sweep(now);
    }
}

/// One call between its request and its answer.
struct Running {
    route: Route,
    head_only: bool,
    close: bool,
    /// The key and its secret; `None` for market data asked without one.
    key: Option<(ApiKeyId, ApiSecret)>,
    /// The key was checked again after the master refused its session.
    reauthed: bool,
    phase: Phase,
}

enum Phase {
    /// `loginApiKey` is out.
    Verifying,
    /// The call's requests of this step are out.
    Calling {
        call: Box<Call>,
        answers: Vec<Option<Answer>>,
    },
}

impl Server {
    /// Starts every API request the web connection `token` has read.
    pub(super) fn api_asks(&mut self, token: Token) {
        let asks = match self.web.get_mut(&token) {
            Some(conn) => conn.take_asks(),
            None => return,
        };
        for ask in asks {
            self.api_start(token, ask);
        }
    }

    fn api_start(&mut self, token: Token, ask: ApiAsk) {
        let ApiAsk {
            slot,
            request,
            head_only,
            close,
        } = ask;
        let done =
            |this: &mut Server, r: Response| this.api_finish(token, slot, head_only, close, r);
        let route = match route::route(&request) {
            Ok(route) => route,
            Err(r) => return done(self, r),
        };
        let now = Instant::now();
        let address = request.peer.to_string();
        let keyless = request.key_id == Header::Missing && request.secret == Header::Missing;
        if route.is_public() && keyless {
            if self.api.per_address.take(&address, now).is_err() {
                let text = "rate limit exceeded: too many requests without a key";
                return done(self, Response::rate_limited(text));
            }
            let running = Running {
                route,
                head_only,
                close,
                key: None,
                reauthed: true,
                phase: Phase::Verifying,
            };
            return self.api_call(token, slot, running, None);
        }
        let (id, secret) = match credentials(&request.key_id, &request.secret) {
            Ok(pair) => pair,
            Err(r) => return done(self, r),
        };
        let cached = self.api.keys.get(&id, &secret, now);
        let running = Running {
            route,
            head_only,
            close,
            key: Some((id.clone(), secret)),
            reauthed: false,
            phase: Phase::Verifying,
        };
        match cached {
            Some(who) => {
                if let Err(r) = self.api_rate(&id, now) {
                    return done(self, r);
                }
                self.api_call(token, slot, running, Some(who));
            }
            None => {
                // A key and secret the master vouched for lately are asked
                // again whatever the address did (no lockout of the owner).
                let known = running
                    .key
                    .as_ref()
                    .is_some_and(|(id, secret)| self.api.keys.known(id, secret, now));
                if !known && self.api.per_address.take(&address, now).is_err() {
                    let text = "rate limit exceeded: too many requests with keys not yet checked";
                    return done(self, Response::rate_limited(text));
                }
                self.api_verify(token, slot, running);
            }
        }
    }

    /// The master vouched for a key a client logged in with.
    pub(super) fn api_key_vouched(
        &mut self,
        id: &ApiKeyId,
        secret: &ApiSecret,
        session: &papertrader_common::value::SessionId,
        username: &papertrader_common::value::Username,
        now: Instant,
    ) {
        let who = Who {
            session: session.clone(),
            username: username.clone(),
        };
        self.api.keys.put(id, secret, who, now);
    }

    /// Whether the master accepted this key and secret lately.
    pub(super) fn api_key_known(&self, id: &ApiKeyId, secret: &ApiSecret, now: Instant) -> bool {
        self.api.keys.known(id, secret, now)
    }

    /// Counts a key check from client `token`'s address; true when the
    /// address is over its rate.
    pub(super) fn api_address_limited(&mut self, token: Token, now: Instant) -> bool {
        let Some(peer) = self.clients.get(&token).map(|c| c.peer()) else {
            return false;
        };
        self.api
            .per_address
            .take(&peer.ip().to_string(), now)
            .is_err()
    }

    fn api_rate(&mut self, id: &ApiKeyId, now: Instant) -> Result<(), Response> {
        self.api.per_key.take(id.as_str(), now).map_err(|wait| {
            let text = format!(
                "rate limit exceeded: at most {} requests a minute per key; retry in {} ms",
                self.config.api_rate_limit,
                wait.0.as_millis()
            );
            Response::rate_limited(&text)
        })
    }

    /// Asks the master whose key `running.id` is.
    fn api_verify(&mut self, token: Token, slot: u64, mut running: Running) {
        running.phase = Phase::Verifying;
        let Some((id, secret)) = running.key.clone() else {
            let r = Response::unauthorized("request is not authorized");
            return self.api_finish(token, slot, running.head_only, running.close, r);
        };
        self.api.calls.insert((token, slot), running);
        self.api_send(token, slot, vec![Request::LoginKey { id, secret }]);
    }

    /// Starts the call of `running` under `who`.
    fn api_call(&mut self, token: Token, slot: u64, mut running: Running, who: Option<Who>) {
        let mut call = Box::new(Call::new(running.route.clone(), who));
        let step = self.with_ctx(|ctx| call.start(ctx));
        running.phase = Phase::Calling {
            call,
            answers: Vec::new(),
        };
        self.api.calls.insert((token, slot), running);
        self.api_step(token, slot, step);
    }

    fn with_ctx<T>(&self, f: impl FnOnce(&Ctx<'_>) -> T) -> T {
        let quotes = &self.caches.quotes;
        let quote = |s: &papertrader_common::value::Symbol| quotes.get(s).cloned();
        let ctx = Ctx {
            now: Timestamp::now(),
            quote: &quote,
        };
        f(&ctx)
    }

    fn api_step(&mut self, token: Token, slot: u64, step: Step) {
        match step {
            Step::Ask(requests) if requests.is_empty() => {
                // Nothing to ask: the call goes on at once.
                let Some(mut running) = self.api.calls.remove(&(token, slot)) else {
                    return;
                };
                let Phase::Calling { call, .. } = &mut running.phase else {
                    return;
                };
                let step = self.with_ctx(|ctx| call.on_answers(Vec::new(), ctx));
                self.api.calls.insert((token, slot), running);
                self.api_step(token, slot, step);
            }
            Step::Ask(requests) => {
                if let Some(Running {
                    phase: Phase::Calling { answers, .. },
                    ..
                }) = self.api.calls.get_mut(&(token, slot))
                {
                    *answers = vec![None; requests.len()];
                }
                self.api_send(token, slot, requests);
            }
            Step::Done(response) => self.api_done(token, slot, response),
            Step::Reauth => {
                let Some(mut running) = self.api.calls.remove(&(token, slot)) else {
                    return;
                };
                if let Some((id, _)) = &running.key {
                    self.api.keys.forget(id);
                }
                if running.reauthed {
                    let r = Response::unauthorized("request is not authorized");
                    return self.api_finish(token, slot, running.head_only, running.close, r);
                }
                running.reauthed = true;
                self.api_verify(token, slot, running);
            }
        }
    }

    /// Forwards the requests of a step; answers to those that cannot go
    /// (the link is down) come back at once.
    fn api_send(&mut self, token: Token, slot: u64, requests: Vec<Request>) {
        let mut at_once = Vec::new();
        let peer = self.web.get(&token).map(|c| c.peer().to_string());
        for (index, request) in requests.into_iter().enumerate() {
            let to = ApiTo::Call { slot, index };
            if let Some(answer) = self.api_forward(token, peer.as_deref(), to, &request) {
                at_once.push((index, answer));
            }
        }
        for (index, answer) in at_once {
            self.api_answer(token, slot, index, answer);
        }
    }

    /// Forwards one API request for `to`; its answer at once when it is
    /// cached or cannot go (the link is down).
    pub(super) fn api_forward(
        &mut self,
        token: Token,
        peer: Option<&str>,
        to: ApiTo,
        request: &Request,
    ) -> Option<Answer> {
        let now = Instant::now();
        let cache = cache_key(request);
        if let Some(key) = &cache
            && let Some(cached) = self.caches.history.get(key, now)
        {
            return Some(Answer::Payload(
                String::from_utf8_lossy(cached).into_owned(),
            ));
        }
        let instr = request.instr();
        let (Some(peer), true) = (peer, self.link.is_up()) else {
            let text = "the master cannot be reached; nothing was changed";
            return Some(Answer::Reply(Reply::fail(
                instr,
                ReasonCode::Unavailable,
                text,
            )));
        };
        let note = Note::Api {
            to,
            payload: Vec::new(),
            cache,
        };
        let reqid = self.in_flight.start(Pending { token, instr, note });
        let prefix = super::dispatch::prefix(&self.config.uuid, reqid, peer.to_string());
        match prefix.wrap(&request.encode()) {
            Some(frame) => {
                self.link_send(&frame);
                None
            }
            None => {
                self.in_flight.finish(reqid);
                let text = "request too long to forward";
                Some(Answer::Reply(Reply::fail(
                    instr,
                    ReasonCode::BadArguments,
                    text,
                )))
            }
        }
    }

    /// A whole answer of the master to the API request `pending`.
    pub(super) fn api_reply(&mut self, pending: Pending, reply: Reply) {
        let Note::Api { to, payload, cache } = pending.note else {
            return;
        };
        let answer = match reply {
            Reply::Data(_) => {
                let text = String::from_utf8_lossy(&payload).into_owned();
                if let Some(key) = cache {
                    self.caches.history.put(key, payload, Instant::now());
                }
                Answer::Payload(text)
            }
            other => Answer::Reply(other),
        };
        match to {
            ApiTo::Call { slot, index } => self.api_answer(pending.token, slot, index, answer),
            stream => self.stream_answer(pending.token, stream, answer),
        }
    }

    /// Adds one packet of a transfer to an API request's payload; `false`
    /// when it is over [`MAX_API_PAYLOAD`].
    pub(super) fn api_packet(note: &mut Note, chunk: &[u8]) -> bool {
        if let Note::Api { payload, .. } = note {
            if payload.len() + chunk.len() > MAX_API_PAYLOAD {
                return false;
            }
            payload.extend_from_slice(chunk);
        }
        true
    }

    fn api_answer(&mut self, token: Token, slot: u64, index: usize, answer: Answer) {
        let Some(running) = self.api.calls.get_mut(&(token, slot)) else {
            return; // the connection went away
        };
        match &mut running.phase {
            Phase::Verifying => {
                let now = Instant::now();
                let Some(running) = self.api.calls.remove(&(token, slot)) else {
                    return;
                };
                let (head_only, close) = (running.head_only, running.close);
                match answer {
                    Answer::Reply(Reply::KeySession { session, username }) => {
                        let who = Who { session, username };
                        let Some((id, secret)) = running.key.clone() else {
                            return;
                        };
                        self.api.keys.put(&id, &secret, who.clone(), now);
                        if let Err(r) = self.api_rate(&id, now) {
                            return self.api_finish(token, slot, head_only, close, r);
                        }
                        self.api_call(token, slot, running, Some(who));
                    }
                    Answer::Reply(reply)
                        if reply.reason().is_some_and(|r| {
                            r.code == ReasonCode::BadCredentials
                                || r.code == ReasonCode::BadArguments
                        }) =>
                    {
                        // The secret it knew as good is refused now: the
                        // key was revoked. Another secret changes nothing.
                        if let Some((id, secret)) = &running.key
                            && self.api.keys.known(id, secret, now)
                        {
                            self.api.keys.forget(id);
                        }
                        let r = Response::unauthorized("request is not authorized");
                        self.api_finish(token, slot, head_only, close, r);
                    }
                    Answer::Reply(reply) => {
                        let text = reply.reason().map_or_else(String::new, |r| r.to_string());
                        let r =
                            Response::unavailable(&format!("the key could not be checked: {text}"));
                        self.api_finish(token, slot, head_only, close, r);
                    }
                    Answer::Payload(_) => {
                        let r = Response::internal("the master answered a key check with data");
                        self.api_finish(token, slot, head_only, close, r);
                    }
                }
            }
            Phase::Calling { answers, .. } => {
                if let Some(place) = answers.get_mut(index) {
                    *place = Some(answer);
                }
                if answers.iter().any(Option::is_none) {
                    return;
                }
                let Some(mut running) = self.api.calls.remove(&(token, slot)) else {
                    return;
                };
                let Phase::Calling { call, answers } = &mut running.phase else {
                    return;
                };
                let answers: Vec<Answer> = std::mem::take(answers).into_iter().flatten().collect();
                let step = self.with_ctx(|ctx| call.on_answers(answers, ctx));
                self.api.calls.insert((token, slot), running);
                self.api_step(token, slot, step);
            }
        }
    }

    fn api_done(&mut self, token: Token, slot: u64, response: Response) {
        let Some(running) = self.api.calls.remove(&(token, slot)) else {
            return;
        };
        // An order changed: the account's streams say so now, not at the
        // next price set.
        if running.route.changes_orders()
            && let Phase::Calling { call, .. } = &running.phase
            && let Some(name) = call.owner().cloned()
        {
            self.poll_streams(Some(name.as_str()));
        }
        self.api_finish(token, slot, running.head_only, running.close, response);
    }

    /// Puts `response` in its place on the connection, to be written at
    /// the end of the round.
    fn api_finish(
        &mut self,
        token: Token,
        slot: u64,
        head_only: bool,
        close: bool,
        response: Response,
    ) {
        if let Some(conn) = self.web.get_mut(&token)
            && conn.fill(slot, response.to_http(head_only, close), close)
            && !self.web_to_flush.contains(&token)
        {
            self.web_to_flush.push(token);
        }
    }

    /// Forgets the calls of a connection that closed (their answers, when
    /// they come, find no call).
    pub(super) fn api_forget(&mut self, token: Token) {
        self.api.calls.retain(|(t, _), _| *t != token);
    }
}

/// The history cache key of a request whose answer is kept a while (the
/// asset details, history ranges), as client requests' are.
fn cache_key(request: &Request) -> Option<String> {
    match request {
        Request::AssetDetails => Some(DETAILS_KEY.to_string()),
        Request::History {
            range,
            symbol,
            date,
        } => Some(history_key(range.instr(), symbol, *date)),
        _ => None,
    }
}

/// The key id and secret of a request, or the answer refusing it.
fn credentials(id: &Header, secret: &Header) -> Result<(ApiKeyId, ApiSecret), Response> {
    let unauthorized = || Response::unauthorized("request is not authorized");
    match (id, secret) {
        (Header::Doubled, _) => Err(Response::bad_request(
            "APCA-API-KEY-ID is given more than once",
        )),
        (_, Header::Doubled) => Err(Response::bad_request(
            "APCA-API-SECRET-KEY is given more than once",
        )),
        (Header::One(id), Header::One(secret)) => {
            let id = ApiKeyId::parse(id.trim()).map_err(|_| unauthorized())?;
            let secret = ApiSecret::parse(secret.trim()).map_err(|_| unauthorized())?;
            Ok((id, secret))
        }
        _ => Err(unauthorized()),
    }
}
