//! The Alpaca-compatible HTTP API of the web port (papertrader-api(7)):
//! bots written for Alpaca's Trading API v2 reach this worker by changing
//! one base URL. Every call becomes protocol requests to the master, as a
//! client's would ([`call`]), under the session of the API key the request
//! carries ([`keys`]). Pure values, no I/O: `server::api` reads requests
//! off `web::conn`, forwards what a [`call::Call`] asks, and writes its
//! [`Response`].

pub mod call;
pub mod data;
pub mod history;
pub mod ids;
pub mod json;
pub mod keys;
pub mod query;
pub mod route;
pub mod stream;

use std::net::IpAddr;

use serde_json::{Value, json};

/// Longest body a request may carry (an order is a few hundred bytes).
pub const MAX_BODY: usize = 16 * 1024;

/// An HTTP method of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET` (and `HEAD`, answered without its body).
    Get,
    /// `POST`.
    Post,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
    /// Anything else: 405.
    Other,
}

/// A header the API reads, as the request carried it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Header {
    /// Not there.
    #[default]
    Missing,
    /// Once.
    One(String),
    /// More than once: refused, since the two might disagree.
    Doubled,
}

impl Header {
    /// Records one occurrence of the header.
    pub fn add(&mut self, value: &str) {
        *self = match self {
            Header::Missing => Header::One(value.to_string()),
            _ => Header::Doubled,
        };
    }
}

/// One API request, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// Its method.
    pub method: Method,
    /// The path, without the query (`/v2/orders`).
    pub path: String,
    /// The query string, undecoded, without its `?`.
    pub query: String,
    /// The body (empty for none).
    pub body: Vec<u8>,
    /// `APCA-API-KEY-ID`.
    pub key_id: Header,
    /// `APCA-API-SECRET-KEY`.
    pub secret: Header,
    /// The client's address.
    pub peer: IpAddr,
}

/// Whether `path` belongs to the API (anything else is the web app's).
pub fn is_api_path(path: &str) -> bool {
    path.starts_with("/v2/") || path == "/v2" || path.starts_with("/v1beta3/")
}

/// An answer: a status and a JSON body (none for 204).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// `value` as the body.
    pub fn json(status: u16, value: &Value) -> Response {
        Response {
            status,
            body: serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()),
        }
    }

    /// 204, no body.
    pub fn no_content() -> Response {
        Response {
            status: 204,
            body: Vec::new(),
        }
    }

    /// An error in Alpaca's shape: `{"code": CODE, "message": TEXT}`.
    pub fn error(status: u16, code: u32, message: &str) -> Response {
        Response::json(status, &json!({"code": code, "message": message}))
    }

    /// 400: the request cannot be read.
    pub fn bad_request(message: &str) -> Response {
        Response::error(400, 40010000, message)
    }

    /// 422: a value the request holds is refused.
    pub fn unprocessable(message: &str) -> Response {
        Response::error(422, 42210000, message)
    }

    /// 404: no such thing.
    pub fn not_found(message: &str) -> Response {
        Response::error(404, 40410000, message)
    }

    /// 401: no key, or a key that does not check out.
    pub fn unauthorized(message: &str) -> Response {
        Response::error(401, 40110000, message)
    }

    /// 403: the account may not do this (not enough buying power...).
    pub fn forbidden(message: &str) -> Response {
        Response::error(403, 40310000, message)
    }

    /// 429: too many requests.
    pub fn rate_limited(message: &str) -> Response {
        Response::error(429, 42910000, message)
    }

    /// 503: the master cannot be reached, or is busy.
    pub fn unavailable(message: &str) -> Response {
        Response::error(503, 50300000, message)
    }

    /// 500: the server failed.
    pub fn internal(message: &str) -> Response {
        Response::error(500, 50010000, message)
    }

    /// The reason phrase of the status line.
    pub fn reason_phrase(&self) -> &'static str {
        match self.status {
            200 => "OK",
            204 => "No Content",
            207 => "Multi-Status",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            411 => "Length Required",
            413 => "Content Too Large",
            422 => "Unprocessable Content",
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Unknown",
        }
    }

    /// The whole HTTP/1.1 answer; `head_only` for `HEAD`, `close` when the
    /// connection ends after it.
    pub fn to_http(&self, head_only: bool, close: bool) -> Vec<u8> {
        let connection = if close { "close" } else { "keep-alive" };
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: application/json; charset=utf-8\r\n\
             Content-Length: {}\r\nCache-Control: no-store\r\nConnection: {connection}\r\n\r\n",
            self.status,
            self.reason_phrase(),
            self.body.len()
        )
        .into_bytes();
        if !head_only {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_alpacas_shape() {
        let r = Response::not_found("order not found");
        assert_eq!(r.status, 404);
        let v: Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(v, json!({"code": 40410000, "message": "order not found"}));
        let http = String::from_utf8(r.to_http(false, false)).expect("utf-8");
        assert!(http.starts_with("HTTP/1.1 404 Not Found\r\n"), "{http}");
        assert!(http.contains(&format!("Content-Length: {}\r\n", r.body.len())));
        assert!(http.ends_with("\"order not found\"}"));
        let head = Response::no_content().to_http(false, true);
        assert!(
            String::from_utf8_lossy(&head)
                .contains("Content-Length: 0\r\nCache-Control: no-store\r\nConnection: close")
        );
    }

    #[test]
    fn a_header_given_twice_is_doubled() {
        let mut h = Header::default();
        h.add("a");
        assert_eq!(h, Header::One("a".into()));
        h.add("a");
        assert_eq!(h, Header::Doubled);
        h.add("b");
        assert_eq!(h, Header::Doubled);
    }

    #[test]
    fn api_paths() {
        assert!(is_api_path("/v2/account"));
        assert!(is_api_path("/v1beta3/crypto/us/bars"));
        assert!(!is_api_path("/"));
        assert!(!is_api_path("/v2x"));
        assert!(!is_api_path("/js/app.js"));
    }
}
