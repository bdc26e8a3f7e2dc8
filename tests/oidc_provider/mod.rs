//! A local OpenID Connect provider for the tests: a small HTTP server on
//! 127.0.0.1 port 0 serving the discovery document, the JWKS, and the
//! device authorization and token endpoints of RFC 8628, signing ID
//! tokens with keys the test makes with the openssl command. The test
//! decides which keys the JWKS publishes (rotation) and which token the
//! device flow hands out; the provider counts the JWKS fetches.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

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
            for stream in listener.incoming().flatten() {
                let _ = serve(stream, &issuer, &state);
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
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).into_owned();
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    let (status, doc) = route(path, &body, issuer, state);
    let text = doc.to_string();
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{text}",
        text.len()
    )?;
    stream.flush()
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
