//! A local OpenID Connect provider for the tests: a small HTTP server on
//! 127.0.0.1 port 0 serving the discovery document, the JWKS, and the
//! device authorization and token endpoints of RFC 8628, signing ID
//! tokens with keys the test makes with the openssl command. The test
//! decides which keys the JWKS publishes (rotation) and which token the
//! device flow hands out; the provider counts the JWKS fetches. For the
//! web app there is also an authorization endpoint that approves at once
//! (the browser is sent back with a code and the state) and the
//! authorization code grant at the token endpoint, which checks PKCE's
//! S256 challenge and answers with CORS headers for the page's origin.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The client id the tests register PaperTrader under.
pub const CLIENT_ID: &str = "papertrader-test";
/// The device flow's user code.
pub const USER_CODE: &str = "WDJB-MJHT";

/// A signing key: its private half for signing, its public half as PEM
/// (for the HS256 confusion attack) and as a JWK.
pub struct Key {
    pub kid: String,
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    pub public_pem: Vec<u8>,
    pub jwk: Value,
}

impl Key {
    /// A new RSA 2048 key for RS256.
    pub fn rsa(dir: &Path, kid: &str) -> Key {
        Key::generate(
            dir,
            kid,
            Algorithm::RS256,
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        )
    }

    /// A new P-256 key for ES256.
    pub fn ec(dir: &Path, kid: &str) -> Key {
        Key::generate(
            dir,
            kid,
            Algorithm::ES256,
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        )
    }

    fn generate(dir: &Path, kid: &str, alg: Algorithm, opts: &[&str]) -> Key {
        std::fs::create_dir_all(dir).expect("key dir");
        let private = dir.join(format!("{kid}.pem"));
        let private = private.to_str().expect("utf-8 path");
        let status = Command::new("openssl")
            .arg("genpkey")
            .args(opts)
            .args(["-out", private])
            .output()
            .expect("openssl genpkey");
        assert!(status.status.success(), "openssl genpkey: {status:?}");
        let public = Command::new("openssl")
            .args(["pkey", "-in", private, "-pubout"])
            .output()
            .expect("openssl pkey");
        assert!(public.status.success(), "openssl pkey: {public:?}");
        let pem = std::fs::read(private).expect("key file");
        let encoding = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
            _ => EncodingKey::from_ec_pem(&pem),
        }
        .expect("PEM key");
        let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&encoding, alg).expect("JWK"))
            .expect("JWK as JSON");
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        Key {
            kid: kid.to_string(),
            alg,
            encoding,
            public_pem: public.stdout,
            jwk,
        }
    }
}

#[derive(Default)]
struct State {
    jwks: Vec<Value>,
    jwks_fetches: usize,
    /// The ID token the device flow's token endpoint hands out.
    device_token: Option<String>,
    token_polls: usize,
    device_requests: usize,
    /// Signs the ID tokens of the authorization code grant.
    signer: Option<(String, Algorithm, EncodingKey)>,
    /// The `sub` the authorization endpoint approves.
    user: String,
    /// The state is sent back changed (a tampered answer).
    tamper_state: bool,
    /// Codes handed out, not yet exchanged.
    codes: Vec<Grant>,
    /// The redirect URI of the last authorization request.
    last_redirect: Option<String>,
    /// Code exchanges (accepted, refused).
    exchanges: (usize, usize),
}

/// A code the authorization endpoint handed out.
struct Grant {
    code: String,
    challenge: String,
    redirect: String,
    nonce: String,
    sub: String,
}

/// The running provider.
pub struct Provider {
    pub issuer: String,
    state: Arc<Mutex<State>>,
}

impl Provider {
    /// Starts serving; the JWKS publishes `keys`.
    pub fn start(keys: &[&Key]) -> Provider {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind provider");
        let issuer = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State::default()));
        let provider = Provider {
            issuer: issuer.clone(),
            state: state.clone(),
        };
        provider.publish(keys);
        std::thread::spawn(move || {
            // A thread a connection: a browser opens sockets it may not
            // use at once, which must not hold up the next request.
            for stream in listener.incoming().flatten() {
                let (issuer, state) = (issuer.clone(), state.clone());
                std::thread::spawn(move || serve(stream, &issuer, &state));
            }
        });
        provider
    }

    /// Replaces the published keys (a rotation).
    pub fn publish(&self, keys: &[&Key]) {
        self.state.lock().expect("state").jwks = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.state.lock().expect("state").jwks_fetches
    }

    /// The device flow's token endpoint will hand out `token`.
    pub fn set_device_token(&self, token: &str) {
        let mut state = self.state.lock().expect("state");
        state.device_token = Some(token.to_string());
        state.token_polls = 0;
    }

    /// (device authorization requests, token polls) so far.
    pub fn device_counts(&self) -> (usize, usize) {
        let state = self.state.lock().expect("state");
        (state.device_requests, state.token_polls)
    }

    /// The authorization code grant signs with `key` and approves `sub`.
    pub fn approve(&self, key: &Key, sub: &str) {
        let mut state = self.state.lock().expect("state");
        state.signer = Some((key.kid.clone(), key.alg, key.encoding.clone()));
        state.user = sub.to_string();
    }

    /// The authorization endpoint sends back a changed state from now on.
    pub fn tamper_state(&self, on: bool) {
        self.state.lock().expect("state").tamper_state = on;
    }

    /// The redirect URI of the last authorization request.
    pub fn last_redirect(&self) -> Option<String> {
        self.state.lock().expect("state").last_redirect.clone()
    }

    /// Code exchanges so far: (accepted, refused).
    pub fn exchanges(&self) -> (usize, usize) {
        self.state.lock().expect("state").exchanges
    }

    /// Claims of a good token for `sub`, issued now.
    pub fn claims(&self, sub: &str) -> Value {
        let now = now();
        json!({
            "iss": self.issuer,
            "sub": sub,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 600,
            "email": format!("{sub}@example.org"),
            "email_verified": true,
        })
    }

    /// A token for `sub` signed by `key`.
    pub fn token(&self, key: &Key, sub: &str) -> String {
        sign(key, &self.claims(sub))
    }
}

/// `claims` signed by `key`, its kid in the header.
pub fn sign(key: &Key, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).expect("sign")
}

/// Base64url without padding, for hand-made tokens.
pub fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn serve(stream: TcpStream, issuer: &str, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0;
    let mut origin = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("origin") {
                origin = Some(value.trim().to_string());
            }
        }
    }
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).into_owned();
    let target = request_line.split_whitespace().nth(1).unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (status, doc, location) = if path == "/authorize" {
        authorize(query, state)
    } else if path == "/token" && body.contains("grant_type=authorization_code") {
        let (status, doc) = exchange(&body, issuer, state);
        (status, doc, None)
    } else {
        let (status, doc) = route(path, &body, issuer, state);
        (status, doc, None)
    };
    let text = doc.to_string();
    // CORS for the page that fetches discovery and exchanges the code.
    let cors = origin
        .map(|o| format!("Access-Control-Allow-Origin: {o}\r\nVary: Origin\r\n"))
        .unwrap_or_default();
    let location = location
        .map(|l| format!("Location: {l}\r\n"))
        .unwrap_or_default();
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         {cors}{location}Cache-Control: no-store\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    stream.flush()
}

/// `application/x-www-form-urlencoded` (a query or a form body) as pairs.
fn form(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let bytes = s.replace('+', " ").into_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
                (b'%', Some(b)) => {
                    out.push(b);
                    i += 3;
                }
                (b, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Minimal percent-encoding for a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// The authorization endpoint: approves at once and sends the browser
/// back to `redirect_uri` with a code and the state.
fn authorize(query: &str, state: &Mutex<State>) -> (&'static str, Value, Option<String>) {
    let q = form(query);
    let mut state = state.lock().expect("state");
    let redirect = param(&q, "redirect_uri").to_string();
    state.last_redirect = Some(redirect.clone());
    let ok = param(&q, "response_type") == "code"
        && param(&q, "client_id") == CLIENT_ID
        && param(&q, "code_challenge_method") == "S256"
        && param(&q, "code_challenge").len() == 43
        && param(&q, "scope").split(' ').any(|s| s == "openid")
        && redirect.starts_with("http://127.0.0.1:");
    if !ok {
        return (
            "400 Bad Request",
            json!({ "error": "invalid_request" }),
            None,
        );
    }
    let code = format!("code-{}", state.codes.len() + state.exchanges.0 + 1);
    let mut back = param(&q, "state").to_string();
    if state.tamper_state {
        back.push('x');
    }
    let grant = Grant {
        code: code.clone(),
        challenge: param(&q, "code_challenge").to_string(),
        redirect: redirect.clone(),
        nonce: param(&q, "nonce").to_string(),
        sub: state.user.clone(),
    };
    state.codes.push(grant);
    let location = format!("{redirect}?code={code}&state={}", encode(&back));
    ("302 Found", json!({}), Some(location))
}

/// The authorization code grant: the code once, its redirect URI, and the
/// verifier whose S256 is the challenge.
fn exchange(body: &str, issuer: &str, state: &Mutex<State>) -> (&'static str, Value) {
    let f = form(body);
    let mut state = state.lock().expect("state");
    let Some(at) = state.codes.iter().position(|g| g.code == param(&f, "code")) else {
        state.exchanges.1 += 1;
        return ("400 Bad Request", json!({ "error": "invalid_grant" }));
    };
    let grant = state.codes.remove(at);
    let verifier = param(&f, "code_verifier");
    let s256 = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let ok = s256 == grant.challenge
        && (43..=128).contains(&verifier.len())
        && param(&f, "redirect_uri") == grant.redirect
        && param(&f, "client_id") == CLIENT_ID;
    let Some((kid, alg, key)) = state.signer.clone().filter(|_| ok) else {
        state.exchanges.1 += 1;
        return ("400 Bad Request", json!({ "error": "invalid_grant" }));
    };
    state.exchanges.0 += 1;
    let now = now();
    let claims = json!({
        "iss": issuer,
        "sub": grant.sub,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 600,
        "nonce": grant.nonce,
        "email": format!("{}@example.org", grant.sub),
        "email_verified": true,
    });
    let mut header = Header::new(alg);
    header.kid = Some(kid);
    let token = jsonwebtoken::encode(&header, &claims, &key).expect("sign");
    (
        "200 OK",
        json!({ "access_token": "at", "token_type": "Bearer", "id_token": token }),
    )
}

fn route(path: &str, body: &str, issuer: &str, state: &Mutex<State>) -> (&'static str, Value) {
    let mut state = state.lock().expect("state");
    match path {
        "/.well-known/openid-configuration" => (
            "200 OK",
            json!({
                "issuer": issuer,
                "jwks_uri": format!("{issuer}/jwks"),
                "device_authorization_endpoint": format!("{issuer}/device"),
                "authorization_endpoint": format!("{issuer}/authorize"),
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint": format!("{issuer}/token"),
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            }),
        ),
        "/jwks" => {
            state.jwks_fetches += 1;
            ("200 OK", json!({ "keys": state.jwks }))
        }
        "/device" if body.contains(&format!("client_id={CLIENT_ID}")) => {
            state.device_requests += 1;
            (
                "200 OK",
                json!({
                    "device_code": "device-code-1",
                    "user_code": USER_CODE,
                    "verification_uri": format!("{issuer}/activate"),
                    "verification_uri_complete": format!("{issuer}/activate?user_code={USER_CODE}"),
                    "expires_in": 600,
                    "interval": 1,
                }),
            )
        }
        "/token" if body.contains("device_code=device-code-1") => {
            state.token_polls += 1;
            match (&state.device_token, state.token_polls) {
                // The first poll finds the user not done yet.
                (_, 1) => (
                    "400 Bad Request",
                    json!({ "error": "authorization_pending" }),
                ),
                (Some(token), _) => (
                    "200 OK",
                    json!({ "access_token": "at", "token_type": "Bearer", "id_token": token }),
                ),
                (None, _) => ("400 Bad Request", json!({ "error": "access_denied" })),
            }
        }
        _ => ("404 Not Found", json!({ "error": "not_found" })),
    }
}
