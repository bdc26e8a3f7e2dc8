//! HTTP for OpenID Connect: the discovery document and the JWKS, with
//! minreq, each request bounded in time and size. Runs on the "oidc"
//! thread only.

use std::time::Duration;

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use serde_json::Value;

use super::providers::check_url;

/// Largest discovery document or JWKS accepted.
pub const MAX_BODY: usize = 256 * 1024;
/// Most keys kept of one JWKS; providers publish two or three.
pub const MAX_KEYS: usize = 32;
const MAX_REDIRECTS: usize = 3;

/// One usable public key of a JWKS.
#[derive(Clone)]
pub struct PublicKey {
    /// Its `kid`, if it has one.
    pub kid: Option<String>,
    /// Its `alg`, if it names one: then only tokens of that algorithm use it.
    pub alg: Option<jsonwebtoken::Algorithm>,
    /// The key.
    pub key: DecodingKey,
}

/// `jwks_uri` from `ISSUER/.well-known/openid-configuration`, whose
/// `issuer` must be `issuer` exactly (OpenID Connect Discovery 4.3).
pub fn discover(issuer: &str, timeout: Duration) -> Result<String, FetchError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let doc = get_json(&url, timeout)?;
    let found = doc.get("issuer").and_then(Value::as_str).unwrap_or("");
    if found != issuer {
        let found = papertrader_common::value::shown(found).to_string();
        return Err(FetchError::OtherIssuer {
            url,
            found,
            issuer: issuer.to_string(),
        });
    }
    let Some(jwks_uri) = doc.get("jwks_uri").and_then(Value::as_str) else {
        return Err(FetchError::NoJwksUri(url));
    };
    check_url(jwks_uri).map_err(|why| FetchError::BadJwksUri(url.clone(), why))?;
    Ok(jwks_uri.to_string())
}

/// The signing keys of the JWKS at `url`: RSA, EC and OKP keys not marked
/// for encryption, at most [`MAX_KEYS`]. Symmetric (`oct`) keys are never
/// taken, so no token can be checked with a shared secret.
pub fn jwks(url: &str, timeout: Duration) -> Result<Vec<PublicKey>, FetchError> {
    let doc = get_json(url, timeout)?;
    let Some(list) = doc.get("keys").and_then(Value::as_array) else {
        return Err(FetchError::NotJwks(url.to_string()));
    };
    let keys: Vec<PublicKey> = list
        .iter()
        .filter_map(|value| serde_json::from_value::<Jwk>(value.clone()).ok())
        .filter_map(|jwk| public_key(&jwk))
        .take(MAX_KEYS)
        .collect();
    if keys.is_empty() {
        return Err(FetchError::NoKey(url.to_string()));
    }
    Ok(keys)
}

fn public_key(jwk: &Jwk) -> Option<PublicKey> {
    if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
        return None;
    }
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    let alg = match jwk.common.key_algorithm {
        Some(alg) => Some(jsonwebtoken::Algorithm::try_from(alg).ok()?),
        None => None,
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(PublicKey {
        kid: jwk.common.key_id.clone(),
        alg,
        key,
    })
}

/// GETs `url` and parses its body as JSON, within `timeout` and
/// [`MAX_BODY`].
fn get_json(url: &str, timeout: Duration) -> Result<Value, FetchError> {
    let secs = (timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0)).max(1);
    let shown = papertrader_common::value::shown(url).to_string();
    let fail = |what: String| FetchError::Get(shown.clone(), what);
    let response = minreq::get(url)
        .with_header("Accept", "application/json")
        .with_header("User-Agent", crate::AGENT)
        .with_timeout(secs)
        .with_max_redirects(MAX_REDIRECTS)
        .with_max_headers_size(64 * 1024)
        .with_max_status_line_length(1024)
        .send_lazy()
        .map_err(|err| fail(err.to_string()))?;
    if response.status_code != 200 {
        return Err(fail(format!("HTTP status {}", response.status_code)));
    }
    let mut body = Vec::new();
    for item in response {
        let (byte, _) = item.map_err(|err| fail(err.to_string()))?;
        if body.len() == MAX_BODY {
            return Err(fail(format!("response exceeds {MAX_BODY} bytes")));
        }
        body.push(byte);
    }
    serde_json::from_slice(&body).map_err(|err| fail(format!("not JSON: {err}")))
}

/// Why a provider's discovery document or keys could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The GET of a URL (as shown) failed: how.
    #[error("GET {0}: {1}")]
    Get(String, String),
    /// The discovery document at a URL names another issuer.
    #[error("{url}: its issuer {found:?} is not the configured {issuer:?}")]
    OtherIssuer {
        /// The document's URL.
        url: String,
        /// The issuer it names (as shown).
        found: String,
        /// The configured issuer.
        issuer: String,
    },
    /// The discovery document at a URL has no `jwks_uri`.
    #[error("{0}: no jwks_uri")]
    NoJwksUri(String),
    /// Its `jwks_uri` is not an https URL (or loopback http): why.
    #[error("{0}: jwks_uri: {1}")]
    BadJwksUri(String, &'static str),
    /// The document at a URL is not a JWKS.
    #[error("{0}: not a JWKS (no \"keys\" array)")]
    NotJwks(String),
    /// The JWKS at a URL has no key that can check a signature.
    #[error("{0}: no usable signing key")]
    NoKey(String),
}
