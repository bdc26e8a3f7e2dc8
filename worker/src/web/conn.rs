//! One connection to the web port before (or instead of) a WebSocket:
//! reads request heads into a bounded buffer, answers them in order from
//! the embedded files (pipelined requests included), and hands the stream
//! over when `/ws` is upgraded. Owned by the event loop; `Server` in
//! `web::mod` keeps these beside the framed clients.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::{Interest, Registry, Token};
use papertrader_common::framed::Transport;
use papertrader_common::tls::Stream;

use super::assets;
use super::http::{self, HttpRequest, Method, Refusal, Status};
use super::site::{PROVIDERS_PATH, Site};
use crate::api::ApiRequest;

/// Answers queued before the connection stops reading further requests.
const MAX_QUEUED: usize = 16;

/// What the origin check needs to know.
pub struct Policy<'a> {
    /// Origins allowed besides the port's own.
    pub allowed_origins: &'a [String],
    /// Plain connections are sent to `https://` (`client_tls = required`).
    pub tls_required: bool,
    /// `/providers.json` and the headers of the app's answers.
    pub site: &'a Site,
}

/// What happened on a connection.
pub enum Step {
    /// Keep it.
    Open,
    /// Close it now (the peer left, or failed, or everything is written
    /// after a last answer).
    Close(&'static str),
    /// `/ws` was accepted: the stream, the `101` answer still to write
    /// and the bytes read after the request.
    Upgrade(Box<Upgraded>),
}

/// A stream whose upgrade to WebSocket was accepted.
pub struct Upgraded {
    /// The stream.
    pub io: Stream,
    /// The `101` answer.
    pub preface: Vec<u8>,
    /// Bytes the peer sent after its upgrade request.
    pub early: Vec<u8>,
    /// The trading stream (`/stream`), not the protocol (`/ws`).
    pub stream: bool,
}

/// Part of an answer: owned head bytes, or a file's bytes in the binary,
/// or the place of an API answer still being made (nothing after it is
/// written before it).
enum Chunk {
    Owned(Vec<u8>),
    Static(&'static [u8]),
    Waiting(u64),
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        match self {
            Chunk::Owned(v) => v,
            Chunk::Static(s) => s,
            Chunk::Waiting(_) => &[],
        }
    }
}

/// An HTTP API request read off a connection, with the place of its
/// answer.
pub struct ApiAsk {
    /// The place of its answer ([`WebConn::fill`]).
    pub slot: u64,
    /// The request.
    pub request: ApiRequest,
    /// `HEAD`: the answer without its body.
    pub head_only: bool,
    /// The connection ends after the answer.
    pub close: bool,
}

/// An HTTP connection of the web port.
pub struct WebConn {
    io: Option<Stream>,
    peer: SocketAddr,
    input: Vec<u8>,
    out: VecDeque<Chunk>,
    /// Bytes of the front chunk written.
    written: usize,
    /// Close once everything is written.
    last: bool,
    last_rx: Instant,
    /// The first byte of a request head not yet complete arrived then.
    head_since: Option<Instant>,
    /// Output has waited since then without draining.
    stuck_since: Option<Instant>,
    registered: Option<Interest>,
    /// API requests read and not yet taken by the loop.
    asks: Vec<ApiAsk>,
    /// The last slot given.
    slots: u64,
}

impl WebConn {
    /// A new connection.
    pub fn new(io: Stream, peer: SocketAddr, now: Instant) -> WebConn {
        WebConn {
            io: Some(io),
            peer,
            input: Vec::new(),
            out: VecDeque::new(),
            written: 0,
            last: false,
            last_rx: now,
            head_since: None,
            stuck_since: None,
            registered: None,
            asks: Vec::new(),
            slots: 0,
        }
    }

    /// The API requests read since the last call, for the loop to answer.
    pub fn take_asks(&mut self) -> Vec<ApiAsk> {
        std::mem::take(&mut self.asks)
    }

    /// Puts the answer of `slot` in its place; `close`: the connection
    /// ends after it. `false` if no answer waits there.
    pub fn fill(&mut self, slot: u64, bytes: Vec<u8>, close: bool) -> bool {
        let Some(chunk) = self
            .out
            .iter_mut()
            .find(|c| matches!(c, Chunk::Waiting(s) if *s == slot))
        else {
            return false;
        };
        *chunk = Chunk::Owned(bytes);
        self.last |= close;
        true
    }

    /// Whether the front of the output can be written now.
    fn can_write(&self) -> bool {
        self.out
            .front()
            .is_some_and(|c| !matches!(c, Chunk::Waiting(_)))
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Registers the stream under `token`.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let interest = self.interest();
        if let Some(io) = self.io.as_mut() {
            registry.register(io, token, interest)?;
            self.registered = Some(interest);
        }
        Ok(())
    }

    /// Takes the stream off the poll.
    pub fn deregister(&mut self, registry: &Registry) {
        if let (Some(io), Some(_)) = (self.io.as_mut(), self.registered.take()) {
            let _ = registry.deregister(io);
        }
    }

    fn interest(&self) -> Interest {
        let writing = self.can_write() || self.io.as_ref().is_some_and(|io| io.wants_write());
        if writing {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        }
    }

    /// Why the connection should close at `now`, if it should: silent for
    /// `idle`, in the middle of a request head for `stall` (slowloris), or
    /// with answers that have not drained for `stall`.
    pub fn expired(&self, now: Instant, idle: Duration, stall: Duration) -> Option<&'static str> {
        let over = |since: Option<Instant>| since.is_some_and(|t| now.duration_since(t) >= stall);
        // Answers that do not drain come first: requests then wait in the
        // input because their answers have no room, not because they are
        // unfinished.
        if over(self.stuck_since) {
            Some("not reading its answers")
        } else if over(self.head_since) {
            Some("stopped in the middle of a request")
        } else if self.out.is_empty() && now.duration_since(self.last_rx) >= idle {
            Some("idle")
        } else {
            None
        }
    }

    /// Readiness: writes what waits, reads and answers requests.
    pub fn ready(
        &mut self,
        registry: &Registry,
        token: Token,
        policy: &Policy,
        buf: &mut [u8],
    ) -> Step {
        let now = Instant::now();
        let step = match self.write(now) {
            Err(why) => Step::Close(why),
            Ok(()) => self.read_and_answer(now, policy, buf),
        };
        if !matches!(step, Step::Open) {
            return step;
        }
        let interest = self.interest();
        if let (Some(io), Some(was)) = (self.io.as_mut(), self.registered)
            && was != interest
        {
            if registry.reregister(io, token, interest).is_err() {
                return Step::Close("cannot register");
            }
            self.registered = Some(interest);
        }
        step
    }

    fn read_and_answer(&mut self, now: Instant, policy: &Policy, buf: &mut [u8]) -> Step {
        loop {
            match self.answer_buffered(policy) {
                Some(Ok((upgrade, stream))) => return self.upgrade(upgrade, stream),
                Some(Err(())) => break,
                None => {}
            }
            if self.last {
                break;
            }
            if self.out.len() >= MAX_QUEUED {
                // Read on only if the socket takes the answers: WRITABLE
                // brings the connection back here otherwise.
                if let Err(why) = self.write(now) {
                    return Step::Close(why);
                }
                if self.out.len() >= MAX_QUEUED {
                    break;
                }
                continue;
            }
            let Some(io) = self.io.as_mut() else {
                return Step::Close("gone");
            };
            match io.read(buf) {
                Ok(0) => return Step::Close("closed by peer"),
                Ok(n) => {
                    self.last_rx = now;
                    self.input.extend_from_slice(&buf[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Step::Close("read failed"),
            }
        }
        // The slowloris clock runs from the first byte of an unfinished head.
        self.head_since = match (self.input.is_empty() || self.last, self.head_since) {
            (true, _) => None,
            (false, None) => Some(now),
            (false, since) => since,
        };
        if self.input.is_empty() {
            self.input = Vec::new();
        }
        match self.write(now) {
            Err(why) => Step::Close(why),
            Ok(()) if self.last && self.out.is_empty() => Step::Close("answered"),
            Ok(()) => Step::Open,
        }
    }

    /// Answers every whole request buffered, up to the queue's limit.
    /// `Some(Ok(..))`: an upgrade was accepted; `Some(Err(()))`: stop
    /// reading (the connection ends after its answers).
    fn answer_buffered(&mut self, policy: &Policy) -> Option<Result<(Vec<u8>, bool), ()>> {
        while !self.last && self.out.len() < MAX_QUEUED && !self.input.is_empty() {
            let request = match http::parse(&self.input) {
                Ok(Some(request)) if crate::api::is_api_path(&request.path) => {
                    if self.plain_refused(policy) {
                        let text = "this worker requires TLS: use https://";
                        let refusal = crate::api::Response::forbidden(text);
                        self.queue(refusal.to_http(false, true), true);
                        return Some(Err(()));
                    }
                    match self.read_api(request) {
                        Ok(true) => continue,
                        Ok(false) => return None,
                        Err(()) => return Some(Err(())),
                    }
                }
                Ok(Some(request)) => request,
                Ok(None) => return None,
                Err(refusal) => {
                    let (status, text) = match refusal {
                        Refusal::Bad => (Status::BadRequest, "malformed request"),
                        Refusal::TooLarge => (Status::TooLarge, "request head too large"),
                    };
                    self.queue(http::text_answer(status, text, "", true), true);
                    return Some(Err(()));
                }
            };
            self.input.drain(..request.head_len);
            self.head_since = None;
            if request.path == "/ws" && request.method == Method::Get {
                if let Some(preface) = self.upgrade_answer(&request, policy) {
                    return Some(Ok((preface, false)));
                }
                continue;
            }
            if request.path == "/stream" && request.method == Method::Get {
                if let Some(preface) = self.stream_answer(&request, policy) {
                    return Some(Ok((preface, true)));
                }
                continue;
            }
            self.answer(&request, policy);
        }
        self.last.then_some(Err(()))
    }

    /// An HTTP API request: `Ok(true)` when it is read whole (its body
    /// too) and its answer's place is queued, `Ok(false)` while its body
    /// is still coming, `Err` when it is refused and the connection ends.
    fn read_api(&mut self, request: HttpRequest) -> Result<bool, ()> {
        use crate::api::{self, MAX_BODY, Response};
        let refuse = |this: &mut WebConn, r: Response| {
            this.input.clear();
            this.queue(r.to_http(false, true), true);
            Err(())
        };
        if request.bad_body {
            let text = "send a body with one Content-Length, not chunked";
            return refuse(self, Response::error(411, 41110000, text));
        }
        let length = request.content_length.unwrap_or(0);
        if length > MAX_BODY {
            let text = format!("the body is over {MAX_BODY} bytes");
            return refuse(self, Response::error(413, 41310000, &text));
        }
        let end = request.head_len + length;
        if self.input.len() < end {
            return Ok(false);
        }
        let body = self.input[request.head_len..end].to_vec();
        self.input.drain(..end);
        self.head_since = None;
        let method = match request.method {
            Method::Get | Method::Head => api::Method::Get,
            Method::Post => api::Method::Post,
            Method::Patch => api::Method::Patch,
            Method::Delete => api::Method::Delete,
            Method::Other => api::Method::Other,
        };
        self.slots += 1;
        self.out.push_back(Chunk::Waiting(self.slots));
        self.asks.push(ApiAsk {
            slot: self.slots,
            request: ApiRequest {
                method,
                path: request.path,
                query: request.query,
                body,
                key_id: request.key_id,
                secret: request.secret,
                peer: self.peer.ip(),
            },
            head_only: request.method == Method::Head,
            close: request.close,
        });
        self.last |= request.close;
        Ok(true)
    }

    fn upgrade(&mut self, preface: Vec<u8>, stream: bool) -> Step {
        let Some(io) = self.io.take() else {
            return Step::Close("gone");
        };
        Step::Upgrade(Box::new(Upgraded {
            io,
            preface,
            early: std::mem::take(&mut self.input),
            stream,
        }))
    }

    /// The `101` of the trading stream: any WebSocket client (bots send
    /// no Origin and no subprotocol); otherwise queues the refusal.
    fn stream_answer(&mut self, request: &HttpRequest, policy: &Policy) -> Option<Vec<u8>> {
        let refuse = |status, text: &str| http::text_answer(status, text, "", true);
        if self.plain_refused(policy) {
            self.queue(
                refuse(Status::Forbidden, "this worker requires TLS: use wss://"),
                true,
            );
            return None;
        }
        let answer = match &request.upgrade {
            None => Err(refuse(Status::BadRequest, "expected a WebSocket upgrade")),
            Some(up) if !up.version_ok => Err(http::text_answer(
                Status::UpgradeRequired,
                "WebSocket version 13 only",
                "Sec-WebSocket-Version: 13\r\n",
                true,
            )),
            Some(up) => http::accept_key(&up.key)
                .map(|accept| http::switching_plain(&accept))
                .ok_or_else(|| refuse(Status::BadRequest, "bad Sec-WebSocket-Key")),
        };
        match answer {
            Ok(preface) => Some(preface),
            Err(refusal) => {
                self.queue(refusal, true);
                None
            }
        }
    }

    /// The `101` for an acceptable upgrade; otherwise queues the refusal
    /// and returns `None`.
    fn upgrade_answer(&mut self, request: &HttpRequest, policy: &Policy) -> Option<Vec<u8>> {
        let refuse = |status, text: &str| http::text_answer(status, text, "", true);
        let answer = match (&request.upgrade, self.own_origin(request)) {
            (_, None) => Err(refuse(Status::BadRequest, "no Host header")),
            (None, _) => Err(refuse(Status::BadRequest, "expected a WebSocket upgrade")),
            (Some(up), _) if !up.version_ok => Err(http::text_answer(
                Status::UpgradeRequired,
                "WebSocket version 13 only",
                "Sec-WebSocket-Version: 13\r\n",
                true,
            )),
            (Some(up), _) if !up.subprotocol_ok => Err(refuse(
                Status::BadRequest,
                "ask for the WebSocket subprotocol papertrader.v1",
            )),
            (Some(_), Some(own)) if !origin_ok(request.origin.as_deref(), &own, policy) => {
                papertrader_common::warn!(
                    "{}: WebSocket from a foreign origin {:?} refused",
                    self.peer,
                    request.origin.as_deref().unwrap_or_default()
                );
                Err(refuse(
                    Status::Forbidden,
                    "this origin may not use this worker",
                ))
            }
            (Some(up), Some(_)) => match http::accept_key(&up.key) {
                Some(accept) => Ok(http::switching(&accept)),
                None => Err(refuse(Status::BadRequest, "bad Sec-WebSocket-Key")),
            },
        };
        match answer {
            Ok(preface) if self.plain_refused(policy) => {
                drop(preface);
                self.redirect(request);
                None
            }
            Ok(preface) => Some(preface),
            Err(refusal) => {
                self.queue(refusal, true);
                None
            }
        }
    }

    /// Whether the connection is TLS.
    fn is_tls(&self) -> bool {
        self.io.as_ref().is_some_and(Stream::is_tls)
    }

    /// `scheme://host` of this port as the request reached it.
    fn own_origin(&self, request: &HttpRequest) -> Option<String> {
        let scheme = if self.is_tls() { "https" } else { "http" };
        Some(format!("{scheme}://{}", request.host.as_deref()?))
    }

    fn plain_refused(&self, policy: &Policy) -> bool {
        policy.tls_required && !self.is_tls()
    }

    /// 308 to the same address over TLS, for a plain request when TLS is
    /// required (both share the port: the first byte tells them apart).
    fn redirect(&mut self, request: &HttpRequest) {
        let Some(host) = request
            .host
            .as_deref()
            .filter(|h| h.bytes().all(|b| b.is_ascii_graphic()))
        else {
            let answer = http::text_answer(Status::BadRequest, "no Host header", "", true);
            return self.queue(answer, true);
        };
        let location = format!("Location: https://{host}{}\r\n", request.path);
        let text = "this worker requires TLS: use https://";
        self.queue(
            http::text_answer(Status::Redirect, text, &location, true),
            true,
        );
    }

    /// Queues the answer to a request that is not an upgrade.
    fn answer(&mut self, request: &HttpRequest, policy: &Policy) {
        if self.plain_refused(policy) {
            return self.redirect(request);
        }
        let close = request.close;
        let asset = match request.method {
            Method::Get | Method::Head if request.path == PROVIDERS_PATH => {
                return self.answer_providers(request, policy.site);
            }
            Method::Get | Method::Head => assets::find(&request.path),
            _ => None,
        };
        let Some(asset) = asset else {
            let mut answer = http::text_answer(Status::NotFound, "not found", "", close);
            if request.method == Method::Head {
                let end = answer
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map_or(0, |p| p + 4);
                answer.truncate(end);
            }
            return self.queue(answer, close);
        };
        let fresh = fresh(request, asset.etag);
        let body = match (asset.gzip, request.gzip) {
            (Some(gz), true) => gz,
            _ => asset.body,
        };
        let head = file_head(
            &policy.site.headers,
            FileMeta {
                content_type: asset.content_type,
                etag: asset.etag,
                cache: asset.cache,
            },
            fresh,
            body.len(),
            body.as_ptr() != asset.body.as_ptr(),
            close,
        );
        self.queue(head, close);
        if !fresh && request.method == Method::Get {
            self.out.push_back(Chunk::Static(body));
        }
    }

    /// `/providers.json`, made from the configuration at start.
    fn answer_providers(&mut self, request: &HttpRequest, site: &Site) {
        let fresh = fresh(request, &site.providers_etag);
        let meta = FileMeta {
            content_type: "application/json",
            etag: &site.providers_etag,
            cache: "no-cache",
        };
        let len = site.providers_json.len();
        let mut answer = file_head(&site.headers, meta, fresh, len, false, request.close);
        if !fresh && request.method == Method::Get {
            answer.extend_from_slice(&site.providers_json);
        }
        self.queue(answer, request.close);
    }

    /// Queues an answer; `last`: the connection ends once it is written.
    fn queue(&mut self, bytes: Vec<u8>, last: bool) {
        self.out.push_back(Chunk::Owned(bytes));
        self.last |= last;
    }

    /// Writes what the socket takes.
    fn write(&mut self, now: Instant) -> Result<(), &'static str> {
        let Some(io) = self.io.as_mut() else {
            return Err("gone");
        };
        while let Some(front) = self.out.front() {
            if matches!(front, Chunk::Waiting(_)) {
                break;
            }
            let bytes = &front.bytes()[self.written..];
            match io.write(bytes) {
                Ok(0) => return Err("write failed"),
                Ok(n) => {
                    self.written += n;
                    if self.written == front.bytes().len() {
                        self.out.pop_front();
                        self.written = 0;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err("write failed"),
            }
        }
        if io.flush().is_err() {
            return Err("write failed");
        }
        // The clock runs from when answers began to wait until they have
        // all gone out: a client that reads a little now and then, or
        // pipelines without reading, is not kept for ever. An answer
        // still being made is not the client's to read.
        let wants = io.wants_write();
        let waiting = self.can_write() || wants;
        self.stuck_since = match (waiting, self.stuck_since) {
            (false, _) => None,
            (true, None) => Some(now),
            (true, since) => since,
        };
        Ok(())
    }

    /// Ends the stream once everything is written (best effort).
    pub fn shutdown(&mut self) {
        if let Some(io) = self.io.as_mut() {
            io.shutdown();
        }
    }
}

/// Whether a page of `origin` may open `/ws` here: no `Origin` (not a
/// browser, which could send anything anyway), the port's own, or one
/// configured.
fn origin_ok(origin: Option<&str>, own: &str, policy: &Policy) -> bool {
    match origin {
        None => true,
        Some(origin) => origin == own || policy.allowed_origins.iter().any(|o| o == origin),
    }
}

/// Whether the browser's copy, by its `If-None-Match`, is the file tagged
/// `etag`.
fn fresh(request: &HttpRequest, etag: &str) -> bool {
    let tag = request.if_none_match.as_deref();
    tag.is_some_and(|tag| assets::matches(tag, etag))
}

/// What the head of a file's answer says about the file.
struct FileMeta<'a> {
    content_type: &'a str,
    etag: &'a str,
    cache: &'a str,
}

/// The head of a file's answer: 304 when the browser's copy is current.
fn file_head(
    headers: &str,
    file: FileMeta,
    fresh: bool,
    len: usize,
    gzip: bool,
    close: bool,
) -> Vec<u8> {
    let status = if fresh {
        Status::NotModified
    } else {
        Status::Ok
    };
    let encoding = if gzip && !fresh {
        "Content-Encoding: gzip\r\n"
    } else {
        ""
    };
    let length = if fresh {
        String::new()
    } else {
        format!("Content-Length: {len}\r\n")
    };
    let connection = if close { "close" } else { "keep-alive" };
    format!(
        "HTTP/1.1 {}\r\n{}Content-Type: {}\r\n{length}{encoding}ETag: {}\r\n\
         Cache-Control: {}\r\nVary: Accept-Encoding\r\nConnection: {connection}\r\n\r\n",
        status.line(),
        headers,
        file.content_type,
        file.etag,
        file.cache,
    )
    .into_bytes()
}
