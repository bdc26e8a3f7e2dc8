//! The checks of an ID token (OpenID Connect Core 3.1.3.7): an asymmetric
//! algorithm only (never `none`, never HMAC), the signature by a key of
//! the provider's JWKS, `iss` the configured issuer, `aud` (and `azp`, if
//! present) the client id, `exp` in the future and `iat` not in it, both
//! within the clock skew, and a `sub`. Runs on the calling auth thread;
//! asks the "oidc" thread for keys it lacks.

use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use papertrader_common::value::{IdToken, Reason, ReasonCode};
use serde::Deserialize;

use super::keys::{Lookup, Refresh};
use super::{Identity, Oidc};

/// Algorithms accepted: RSA (PKCS#1 v1.5 and PSS), ECDSA, EdDSA.
const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Longest `sub` accepted (OpenID Connect Core 2: at most 255 ASCII).
const MAX_SUBJECT: usize = 255;

/// The claims read beyond those jsonwebtoken checks.
#[derive(Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
}

pub(super) fn verify(
    oidc: &Oidc,
    index: usize,
    token: &IdToken,
    now: i64,
) -> Result<Identity, Reason> {
    let provider = &oidc.config.providers[index];
    let header = jsonwebtoken::decode_header(token.as_str()).map_err(|_| {
        bad("its header is malformed or names an unknown algorithm (none is refused)")
    })?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(bad(&format!(
            "algorithm {:?} is refused: only RS*, PS*, ES256, ES384 and EdDSA are accepted",
            header.alg
        )));
    }
    let key = find_key(oidc, index, header.kid.as_deref(), header.alg)?;
    let mut validation = Validation::new(header.alg);
    validation.leeway = oidc.config.clock_skew.as_secs();
    validation.set_issuer(&[&provider.issuer]);
    validation.set_audience(&[&provider.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    let data = jsonwebtoken::decode::<Claims>(token.as_str(), &key, &validation)
        .map_err(|err| bad(why(err.kind())))?;
    let claims = data.claims;
    let skew = i64::try_from(oidc.config.clock_skew.as_secs()).unwrap_or(i64::MAX);
    if claims.iat > now.saturating_add(skew) {
        return Err(bad("it was issued in the future (iat)"));
    }
    if claims
        .azp
        .as_ref()
        .is_some_and(|azp| *azp != provider.client_id)
    {
        return Err(bad("it was issued to another client (azp)"));
    }
    let sub = &claims.sub;
    if sub.is_empty() || sub.len() > MAX_SUBJECT || !sub.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad("its sub is empty, too long or not printable ASCII"));
    }
    let verified = matches!(&claims.email_verified, Some(serde_json::Value::Bool(true)))
        || matches!(&claims.email_verified, Some(serde_json::Value::String(s)) if s == "true");
    Ok(Identity {
        provider: provider.name.clone(),
        issuer: provider.issuer.clone(),
        subject: claims.sub,
        email: claims.email.filter(|_| verified),
        issued_at: claims.iat,
    })
}

/// The key for `kid`/`alg` from the cache, refreshed once through the
/// "oidc" thread when it is missing or stale.
fn find_key(
    oidc: &Oidc,
    index: usize,
    kid: Option<&str>,
    alg: Algorithm,
) -> Result<jsonwebtoken::DecodingKey, Reason> {
    if let Lookup::Found(key) = oidc.keys.lookup(index, kid, alg, false) {
        return Ok(key);
    }
    let (tx, rx) = crossbeam_channel::bounded(1);
    let unavailable = || {
        Reason::new(
            ReasonCode::Unavailable,
            "the provider's keys cannot be fetched now; try again",
        )
    };
    oidc.refresh
        .try_send(Refresh(index, tx))
        .map_err(|_| unavailable())?;
    // Enough for a discovery and a JWKS fetch, each within its timeout,
    // behind another provider's.
    let wait = oidc.config.http_timeout * 4 + Duration::from_secs(1);
    rx.recv_timeout(wait).map_err(|_| unavailable())?;
    match oidc.keys.lookup(index, kid, alg, true) {
        Lookup::Found(key) => Ok(key),
        Lookup::Missing if !oidc.keys.has_keys(index) => Err(unavailable()),
        Lookup::Missing => Err(bad(&match kid {
            Some(kid) => format!(
                "its key id {:?} is not among the provider's keys",
                papertrader_common::value::shown(kid)
            ),
            None => "it names no key id and no single key of the provider fits".to_string(),
        })),
    }
}

fn why(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidSignature => "its signature does not verify",
        ErrorKind::ExpiredSignature => "it has expired (exp)",
        ErrorKind::ImmatureSignature => "it is not valid yet (nbf)",
        ErrorKind::InvalidIssuer => "it was issued by another issuer (iss)",
        ErrorKind::InvalidAudience => "it was issued to another client (aud)",
        ErrorKind::MissingRequiredClaim(_) => "it lacks a required claim (exp, iss, aud, sub)",
        ErrorKind::InvalidAlgorithm => "its algorithm does not fit the key",
        _ => "it is malformed",
    }
}

fn bad(text: &str) -> Reason {
    Reason::new(
        ReasonCode::BadToken,
        format!("the ID token is refused: {text}"),
    )
}
