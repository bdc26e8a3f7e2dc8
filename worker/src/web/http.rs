//! One HTTP/1.1 request of the web port, parsed by httparse into the few
//! facts the worker acts on, and the answers it gives (section 12: `GET`
//! and `HEAD` of the app's own files, the upgrade of `/ws`, 404 for
//! anything else). No I/O here: `web::conn` reads and writes.

use base64::Engine;
use sha1::{Digest, Sha1};

/// Longest request head taken (request line and headers).
pub const MAX_HEAD: usize = 8 * 1024;
/// Most headers in one request.
const MAX_HEADERS: usize = 32;
/// The WebSocket subprotocol of section 12.
pub const SUBPROTOCOL: &str = "papertrader.v1";
/// Longest path or header value kept.
const MAX_VALUE: usize = 1024;

/// The method, as far as the worker cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`: a `GET` without the body.
    Head,
    /// `POST` (the HTTP API).
    Post,
    /// `PATCH` (the HTTP API).
    Patch,
    /// `DELETE` (the HTTP API).
    Delete,
    /// Anything else: 404 (section 12), 405 on the HTTP API.
    Other,
}

/// What a WebSocket upgrade request asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// `Sec-WebSocket-Key`.
    pub key: String,
    /// `Sec-WebSocket-Version` is 13.
    pub version_ok: bool,
    /// `Sec-WebSocket-Protocol` offers `papertrader.v1`.
    pub subprotocol_ok: bool,
}

/// One parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The path, query string removed.
    pub path: String,
    /// The query string, without its `?` (empty for none).
    pub query: String,
    /// `Content-Length`, when given once and well formed.
    pub content_length: Option<usize>,
    /// A body the API cannot take: `Transfer-Encoding`, or a
    /// `Content-Length` given twice or malformed.
    pub bad_body: bool,
    /// `APCA-API-KEY-ID` (the HTTP API).
    pub key_id: crate::api::Header,
    /// `APCA-API-SECRET-KEY` (the HTTP API).
    pub secret: crate::api::Header,
    /// `Host`.
    pub host: Option<String>,
    /// `Origin`.
    pub origin: Option<String>,
    /// `Accept-Encoding` takes gzip.
    pub gzip: bool,
    /// `If-None-Match`.
    pub if_none_match: Option<String>,
    /// `Upgrade: websocket` with `Connection: upgrade`.
    pub upgrade: Option<Upgrade>,
    /// The connection closes after the answer (HTTP/1.0, `Connection:
    /// close`, or a body the worker does not read).
    pub close: bool,
    /// Bytes of the head.
    pub head_len: usize,
}

/// Why a request head is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Malformed, not UTF-8 where it must be, or not HTTP/1.x: 400.
    Bad,
    /// Over [`MAX_HEAD`] or [`MAX_HEADERS`]: 431.
    TooLarge,
}

/// The first request in `buf`: `Ok(None)` until its head is complete.
pub fn parse(buf: &[u8]) -> Result<Option<HttpRequest>, Refusal> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => return Err(Refusal::TooLarge),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Refusal::TooLarge),
        Err(_) => return Err(Refusal::Bad),
    };
    if head_len > MAX_HEAD {
        return Err(Refusal::TooLarge);
    }
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Err(Refusal::Bad);
    };
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        _ => Method::Other,
    };
    let target = target.split('#').next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path.len() > MAX_VALUE || query.len() > MAX_HEAD {
        return Err(Refusal::TooLarge);
    }
    let mut request = HttpRequest {
        method,
        path: path.to_string(),
        query: query.to_string(),
        content_length: None,
        bad_body: false,
        key_id: crate::api::Header::Missing,
        secret: crate::api::Header::Missing,
        host: None,
        origin: None,
        gzip: false,
        if_none_match: None,
        upgrade: None,
        close: version == 0,
        head_len,
    };
    let mut facts = Facts::default();
    for header in req.headers.iter() {
        let Ok(value) = std::str::from_utf8(header.value) else {
            return Err(Refusal::Bad);
        };
        if value.len() > MAX_VALUE {
            return Err(Refusal::TooLarge);
        }
        facts.take(&mut request, header.name, value.trim())?;
    }
    // The app's files take no body: one that comes cannot be skipped
    // reliably, so the connection ends. The HTTP API reads its bodies.
    if crate::api::is_api_path(&request.path) {
        request.bad_body |= facts.chunked || facts.lengths > 1;
        if facts.lengths == 1 && request.content_length.is_none() {
            request.bad_body = true;
        }
    } else {
        request.close |= facts.body;
    }
    request.upgrade = facts.upgrade();
    Ok(Some(request))
}

/// Headers that only mean something together.
#[derive(Default)]
struct Facts {
    upgrade_websocket: bool,
    connection_upgrade: bool,
    key: Option<String>,
    version_ok: bool,
    subprotocol_ok: bool,
    body: bool,
    chunked: bool,
    lengths: usize,
}

impl Facts {
    fn take(&mut self, request: &mut HttpRequest, name: &str, value: &str) -> Result<(), Refusal> {
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        let tokens = || value.split(',').map(str::trim);
        if is("host") {
            if request.host.is_some() {
                return Err(Refusal::Bad); // RFC 9112 section 3.2
            }
            request.host = Some(value.to_ascii_lowercase());
        } else if is("origin") {
            request.origin = Some(value.to_ascii_lowercase());
        } else if is("accept-encoding") {
            request.gzip |= tokens().any(accepts_gzip);
        } else if is("if-none-match") {
            request.if_none_match = Some(value.to_string());
        } else if is("connection") {
            self.connection_upgrade |= tokens().any(|t| t.eq_ignore_ascii_case("upgrade"));
            request.close |= tokens().any(|t| t.eq_ignore_ascii_case("close"));
        } else if is("upgrade") {
            self.upgrade_websocket |= tokens().any(|t| t.eq_ignore_ascii_case("websocket"));
        } else if is("sec-websocket-key") {
            self.key = Some(value.to_string());
        } else if is("sec-websocket-version") {
            self.version_ok = value == "13";
        } else if is("sec-websocket-protocol") {
            self.subprotocol_ok |= tokens().any(|t| t == SUBPROTOCOL);
        } else if is("transfer-encoding") {
            self.body = true;
            self.chunked = true;
        } else if is("content-length") {
            self.body |= value != "0";
            self.lengths += 1;
            request.content_length = value
                .parse::<usize>()
                .ok()
                .filter(|_| !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()));
        } else if is("apca-api-key-id") {
            request.key_id.add(value);
        } else if is("apca-api-secret-key") {
            request.secret.add(value);
        }
        Ok(())
    }

    fn upgrade(self) -> Option<Upgrade> {
        if !(self.upgrade_websocket && self.connection_upgrade) {
            return None;
        }
        Some(Upgrade {
            key: self.key.unwrap_or_default(),
            version_ok: self.version_ok,
            subprotocol_ok: self.subprotocol_ok,
        })
    }
}

/// `gzip` or `gzip;q=...` with a q above 0.
fn accepts_gzip(token: &str) -> bool {
    let mut parts = token.split(';').map(str::trim);
    let name = parts.next().unwrap_or_default();
    if !name.eq_ignore_ascii_case("gzip") && name != "*" {
        return false;
    }
    parts.all(|p| {
        let Some(q) = p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")) else {
            return true;
        };
        q.parse::<f32>().is_ok_and(|q| q > 0.0)
    })
}

/// `Sec-WebSocket-Accept` for `key` (RFC 6455 section 4.2.2); `None` when
/// the key is not 16 bytes in base64.
pub fn accept_key(key: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD.decode(key).ok()?;
    if raw.len() != 16 {
        return None;
    }
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    Some(base64::engine::general_purpose::STANDARD.encode(sha.finalize()))
}

/// Status lines the web port answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 200.
    Ok,
    /// 304.
    NotModified,
    /// 308, to the `https://` of the same address (`client_tls = required`).
    Redirect,
    /// 400.
    BadRequest,
    /// 403 (a foreign `Origin`).
    Forbidden,
    /// 404.
    NotFound,
    /// 426 (a WebSocket version other than 13).
    UpgradeRequired,
    /// 431.
    TooLarge,
    /// 503 (the worker is full).
    Unavailable,
}

impl Status {
    /// The status line's code and phrase.
    pub fn line(self) -> &'static str {
        match self {
            Status::Ok => "200 OK",
            Status::NotModified => "304 Not Modified",
            Status::Redirect => "308 Permanent Redirect",
            Status::BadRequest => "400 Bad Request",
            Status::Forbidden => "403 Forbidden",
            Status::NotFound => "404 Not Found",
            Status::UpgradeRequired => "426 Upgrade Required",
            Status::TooLarge => "431 Request Header Fields Too Large",
            Status::Unavailable => "503 Service Unavailable",
        }
    }
}

/// Headers every answer carries but the Content-Security-Policy, which
/// `site::csp` makes for the app's files (it names the sign-in providers).
pub const BASE_HEADERS: &str = "Server: ptworkerd\r\n\
X-Content-Type-Options: nosniff\r\n\
Referrer-Policy: no-referrer\r\n\
X-Frame-Options: DENY\r\n";

/// Headers of the worker's own text answers (errors, redirects): the
/// strict policy of `site::csp` with no providers, which the app's files
/// also get when none is configured (a test checks they agree).
pub const COMMON_HEADERS: &str = "Server: ptworkerd\r\n\
X-Content-Type-Options: nosniff\r\n\
Referrer-Policy: no-referrer\r\n\
X-Frame-Options: DENY\r\n\
Content-Security-Policy: default-src 'self'; connect-src 'self'; img-src 'self' data:; \
style-src 'self' 'sha256-3pRED1tOXas1FXFoPb9TGCjmYe9XQsmO9OV23khV2nY='; script-src 'self'; \
frame-ancestors 'none'; base-uri 'none'; form-action 'none'\r\n";

/// The head of an answer with a short text body (errors), and the body.
pub fn text_answer(status: Status, text: &str, extra: &str, close: bool) -> Vec<u8> {
    let body = format!("{text}\n");
    let connection = if close { "close" } else { "keep-alive" };
    format!(
        "HTTP/1.1 {}\r\n{COMMON_HEADERS}Content-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nConnection: {connection}\r\n{extra}\r\n{body}",
        status.line(),
        body.len()
    )
    .into_bytes()
}

/// The `101 Switching Protocols` answer to an upgrade with `accept`.
/// The `101` of the trading stream (`/stream`): no subprotocol.
pub fn switching_plain(accept: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nServer: ptworkerd\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    )
    .into_bytes()
}

pub fn switching(accept: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nServer: ptworkerd\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\
         Sec-WebSocket-Protocol: {SUBPROTOCOL}\r\n\r\n"
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_get_with_its_headers() {
        let head = b"GET /js/app.js?v=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\
            Accept-Encoding: br, gzip;q=0.8\r\nIf-None-Match: \"abc\"\r\n\r\nGET / HTTP/1.1\r\n";
        let req = parse(head).expect("valid").expect("complete");
        assert_eq!(req.method, Method::Get);
        assert_eq!(req.path, "/js/app.js");
        assert_eq!(req.host.as_deref(), Some("127.0.0.1:8080"));
        assert!(req.gzip);
        assert_eq!(req.if_none_match.as_deref(), Some("\"abc\""));
        assert!(!req.close && req.upgrade.is_none());
        assert_eq!(&head[req.head_len..], b"GET / HTTP/1.1\r\n");
    }

    #[test]
    fn gzip_at_q_zero_is_refused() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("GZIP; q=0.5"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("deflate"));
    }

    #[test]
    fn hostile_heads_are_refused() {
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            Err(Refusal::Bad)
        );
        assert_eq!(parse(b"GET /\xff\xfe HTTP/1.1\r\n\r\n"), Err(Refusal::Bad));
        assert_eq!(parse(b"G\x01T / HTTP/1.1\r\n\r\n"), Err(Refusal::Bad));
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Ok(None));
        let big = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; MAX_HEAD]].concat();
        assert_eq!(parse(&big), Err(Refusal::TooLarge));
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..40 {
            many.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(parse(&many), Err(Refusal::TooLarge));
        let post = parse(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello").expect("ok");
        let post = post.expect("complete");
        assert_eq!(post.method, Method::Post);
        assert!(
            post.close,
            "a body the worker does not read ends the connection"
        );
        let api = parse(
            b"POST /v2/orders?x=1 HTTP/1.1\r\nContent-Length: 5\r\nAPCA-API-KEY-ID: a\r\n\r\nhello",
        )
        .expect("ok")
        .expect("complete");
        assert!(!api.close && !api.bad_body, "the HTTP API reads its bodies");
        assert_eq!((api.content_length, api.query.as_str()), (Some(5), "x=1"));
        assert_eq!(api.key_id, crate::api::Header::One("a".into()));
        for bad in [
            &b"POST /v2/orders HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            b"POST /v2/orders HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
            b"POST /v2/orders HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
            b"POST /v2/orders HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        ] {
            let req = parse(bad).expect("ok").expect("complete");
            assert!(req.bad_body, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn an_upgrade_and_its_accept_key() {
        let head = b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n\
            Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
            Sec-WebSocket-Protocol: chat, papertrader.v1\r\nOrigin: http://H\r\n\r\n";
        let req = parse(head).expect("valid").expect("complete");
        let up = req.upgrade.expect("an upgrade");
        assert!(up.version_ok && up.subprotocol_ok);
        assert_eq!(req.origin.as_deref(), Some("http://h"));
        // RFC 6455 section 1.3's example.
        assert_eq!(
            accept_key(&up.key).as_deref(),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
        assert_eq!(accept_key("c2hvcnQ="), None);
    }
}
