//! The loop's side of the trading stream (`/stream`, papertrader-api(7)):
//! a bot authenticates with its key (the worker's key cache, else
//! `loginApiKey`), listens to `trade_updates`, and gets the events a
//! [`Tracker`] draws from the account's orders, read with `getOrders` at
//! each price set, after each order call made through this worker's API
//! for the account, and every [`POLL_EVERY`] otherwise.

use std::time::{Duration, Instant};

use mio::Token;
use papertrader_common::payload::{self, AssetDetail, OrderLine};
use papertrader_common::reply::Reply;
use papertrader_common::request::Request;
use papertrader_common::value::{ApiKeyId, ApiSecret};
use serde_json::Value;

use crate::api::call::Answer;
use crate::api::json::Book;
use crate::api::keys::Who;
use crate::api::stream::{self as msg, Inbound, Tracker};
use crate::forward::ApiTo;
use crate::web::conn::Upgraded;
use crate::web::stream::StreamConn;

use super::Server;

/// How often a listening stream's orders are read when nothing else
/// brings them.
pub const POLL_EVERY: Duration = Duration::from_secs(2);

/// One trading stream connection and where it stands.
pub(super) struct Streamer {
    conn: StreamConn,
    /// The key being checked, or checked.
    key: Option<(ApiKeyId, ApiSecret)>,
    who: Option<Who>,
    listening: bool,
    tracker: Tracker,
    /// A `getOrders` is out.
    polling: bool,
    /// Another was asked for while it was out.
    again: bool,
    last_poll: Instant,
}

impl Streamer {
    /// A key checked out: a stream that changes accounts starts over (its
    /// orders are another account's).
    fn authorized(&mut self, who: Who) {
        if self
            .who
            .as_ref()
            .is_some_and(|w| w.username != who.username)
        {
            self.tracker = Tracker::default();
            self.listening = false;
        }
        self.who = Some(who);
    }
}

impl Server {
    /// `/stream` was accepted: the connection becomes a trading stream
    /// under the same token.
    pub(super) fn add_stream(
        &mut self,
        token: Token,
        upgraded: Upgraded,
        peer: std::net::SocketAddr,
    ) {
        let now = Instant::now();
        let Upgraded {
            mut io,
            preface,
            early,
            ..
        } = upgraded;
        let _ = self.poll.registry().deregister(&mut io);
        let mut conn = StreamConn::new(io, preface, early, peer, now);
        if let Err(err) = conn.register(self.poll.registry(), token) {
            papertrader_common::error!("{peer}: cannot register a stream: {err}");
            self.doors.release(peer);
            return;
        }
        papertrader_common::debug!("{peer}: trading stream open");
        self.streams.insert(
            token,
            Streamer {
                conn,
                key: None,
                who: None,
                listening: false,
                tracker: Tracker::default(),
                polling: false,
                again: false,
                last_poll: now,
            },
        );
        self.stream_ready(token);
    }

    /// Readiness of a stream: its messages, in order.
    pub(super) fn stream_ready(&mut self, token: Token) {
        let now = Instant::now();
        let Some(s) = self.streams.get_mut(&token) else {
            return;
        };
        let messages = match s.conn.ready(now) {
            Ok(messages) => messages,
            Err(why) => return self.close_stream(token, why),
        };
        for message in messages {
            self.stream_message(token, &message);
        }
        self.stream_interest(token);
    }

    fn stream_interest(&mut self, token: Token) {
        let registry = self.poll.registry();
        if let Some(s) = self.streams.get_mut(&token)
            && let Err(why) = s.conn.update_interest(registry, token)
        {
            self.close_stream(token, why);
        }
    }

    fn stream_send(&mut self, token: Token, value: &Value) {
        let Some(s) = self.streams.get_mut(&token) else {
            return;
        };
        if let Err(why) = s.conn.send(value.to_string(), Instant::now()) {
            return self.close_stream(token, why);
        }
        self.stream_interest(token);
    }

    fn stream_message(&mut self, token: Token, bytes: &[u8]) {
        match msg::inbound(bytes) {
            Inbound::Auth(Err(())) => self.stream_send(token, &msg::authorization(false)),
            Inbound::Auth(Ok((id, secret))) => {
                let now = Instant::now();
                let cached = self.api.keys.get(&id, &secret, now);
                let known = self.api.keys.known(&id, &secret, now);
                let Some(s) = self.streams.get_mut(&token) else {
                    return;
                };
                s.key = Some((id.clone(), secret.clone()));
                match cached {
                    Some(who) => {
                        s.authorized(who);
                        self.stream_send(token, &msg::authorization(true));
                    }
                    None => {
                        let peer = s.conn.peer();
                        let address = peer.ip().to_string();
                        if !known && self.api.per_address.take(&address, now).is_err() {
                            return self.stream_send(token, &msg::error("rate limit exceeded"));
                        }
                        let request = Request::LoginKey { id, secret };
                        let peer = peer.to_string();
                        if let Some(answer) =
                            self.api_forward(token, Some(&peer), ApiTo::StreamAuth, &request)
                        {
                            self.stream_answer(token, ApiTo::StreamAuth, answer);
                        }
                    }
                }
            }
            Inbound::Listen(streams) => {
                let Some(s) = self.streams.get_mut(&token) else {
                    return;
                };
                if s.who.is_none() {
                    return self.stream_send(token, &msg::error("authenticate first"));
                }
                s.listening = streams.iter().any(|n| n == "trade_updates");
                // Orders placed from now on are announced even if the
                // first read finds them.
                s.tracker.since(papertrader_common::value::Timestamp::now());
                self.stream_send(token, &msg::listening(&streams));
                self.stream_poll(token);
            }
            Inbound::Bad(text) => self.stream_send(token, &msg::error(&text)),
        }
    }

    /// Reads the account's orders, unless a read is out already (then one
    /// more follows it).
    fn stream_poll(&mut self, token: Token) {
        let Some(s) = self.streams.get_mut(&token) else {
            return;
        };
        let (Some(who), true) = (s.who.clone(), s.listening) else {
            return;
        };
        if s.polling {
            s.again = true;
            return;
        }
        s.polling = true;
        s.again = false;
        s.last_poll = Instant::now();
        let peer = s.conn.peer().to_string();
        if self
            .caches
            .history
            .get(super::api::DETAILS_KEY, Instant::now())
            .is_none()
        {
            let details = Request::AssetDetails;
            if let Some(answer) =
                self.api_forward(token, Some(&peer), ApiTo::StreamDetails, &details)
            {
                self.stream_answer(token, ApiTo::StreamDetails, answer);
            }
        }
        let orders = Request::Orders {
            session: who.session,
        };
        if let Some(answer) = self.api_forward(token, Some(&peer), ApiTo::StreamOrders, &orders) {
            self.stream_answer(token, ApiTo::StreamOrders, answer);
        }
    }

    /// A whole answer to a stream's request.
    pub(super) fn stream_answer(&mut self, token: Token, to: ApiTo, answer: Answer) {
        let Some(s) = self.streams.get_mut(&token) else {
            return;
        };
        match (to, answer) {
            (ApiTo::StreamAuth, Answer::Reply(Reply::KeySession { session, username })) => {
                let who = Who { session, username };
                if let Some((id, secret)) = &s.key {
                    self.api.keys.put(id, secret, who.clone(), Instant::now());
                }
                s.authorized(who);
                self.stream_send(token, &msg::authorization(true));
            }
            (ApiTo::StreamAuth, _) => {
                s.key = None;
                self.stream_send(token, &msg::authorization(false));
            }
            (ApiTo::StreamOrders, Answer::Payload(text)) => {
                s.polling = false;
                let book = self.stream_book();
                let Some(s) = self.streams.get_mut(&token) else {
                    return;
                };
                let events = match payload::parse_lines::<OrderLine>(&text) {
                    Ok(lines) => s.tracker.update(&lines, &book),
                    Err(err) => {
                        papertrader_common::warn!("orders for a stream not read: {err}");
                        Vec::new()
                    }
                };
                let again = s.again;
                for event in &events {
                    self.stream_send(token, event);
                }
                if again {
                    self.stream_poll(token);
                }
            }
            (ApiTo::StreamOrders, Answer::Reply(reply)) => {
                s.polling = false;
                let ended = reply
                    .reason()
                    .is_some_and(|r| r.code == papertrader_common::value::ReasonCode::BadSession);
                if ended {
                    // The key was revoked: the stream ends with its session.
                    if let Some((id, _)) = &s.key {
                        self.api.keys.forget(id);
                    }
                    self.stream_send(token, &msg::error("the key is no longer valid"));
                    self.close_stream(token, "its key was revoked");
                }
            }
            (_, _) => {}
        }
    }

    /// The book the API calls cached, or an empty one.
    fn stream_book(&mut self) -> Book {
        let cached = self
            .caches
            .history
            .get(super::api::DETAILS_KEY, Instant::now());
        cached
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .and_then(|text| payload::parse_lines::<AssetDetail>(text).ok())
            .map(Book::new)
            .unwrap_or_default()
    }

    /// Reads the orders of every listening stream (a price set came), or
    /// of those of `username` (an order call went through).
    pub(super) fn poll_streams(&mut self, username: Option<&str>) {
        let tokens: Vec<Token> = self
            .streams
            .iter()
            .filter(|(_, s)| s.listening)
            .filter(|(_, s)| {
                username.is_none_or(|u| s.who.as_ref().is_some_and(|w| w.username.as_str() == u))
            })
            .map(|(t, _)| *t)
            .collect();
        for token in tokens {
            self.stream_poll(token);
        }
    }

    /// The one-second sweep: streams that stopped reading or went silent
    /// close; listening ones not read for [`POLL_EVERY`] are read.
    pub(super) fn sweep_streams(&mut self, now: Instant) {
        let (idle, stall) = (self.config.idle_timeout, self.config.frame_timeout);
        let expired: Vec<(Token, &'static str)> = self
            .streams
            .iter()
            .filter_map(|(t, s)| {
                s.conn
                    .expired(now, idle, stall, s.listening)
                    .map(|why| (*t, why))
            })
            .collect();
        for (token, why) in expired {
            self.close_stream(token, why);
        }
        let due: Vec<Token> = self
            .streams
            .iter()
            .filter(|(_, s)| s.listening && now.duration_since(s.last_poll) >= POLL_EVERY)
            .map(|(t, _)| *t)
            .collect();
        for token in due {
            self.stream_poll(token);
        }
    }

    /// Drops a stream.
    pub(super) fn close_stream(&mut self, token: Token, why: &str) {
        let Some(mut s) = self.streams.remove(&token) else {
            return;
        };
        s.conn.shutdown();
        s.conn.deregister(self.poll.registry());
        self.doors.release(s.conn.peer());
        if why == "closed by peer" {
            papertrader_common::debug!("{}: stream {why}", s.conn.peer());
        } else {
            papertrader_common::info!("{}: stream {why}, disconnected", s.conn.peer());
        }
        self.resume_listeners(true);
    }
}
