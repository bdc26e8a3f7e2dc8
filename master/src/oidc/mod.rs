//! Third-party sign-in with OpenID Connect (PROTOCOL.md section 4,
//! "Third-party accounts"): the configured providers, and the check of an
//! ID token against its provider's published keys.
//!
//! [`Oidc`] is shared by the "auth-N" threads, which call
//! [`Oidc::verify`]; the keys live in a [`keys::KeyCache`] they read
//! directly. Nothing here fetches on an auth thread: a key the cache lacks
//! is asked of the "oidc" thread ([`keys::spawn`]), which alone does HTTP
//! (discovery and JWKS, with minreq, bounded in time and size) and
//! refreshes a provider at most once per `oidc_refresh_min`. The event
//! loop never waits on any of it.

pub mod fetch;
pub mod keys;
pub use papertrader_common::providers;
mod verify;

use std::sync::Arc;
use std::time::Duration;

use papertrader_common::value::{IdToken, Provider, Reason, ReasonCode};

pub use keys::{KeyCache, RefreshTx};
pub use providers::ProviderConfig;

/// How long a token may be old to prove the owner is present now
/// (`resetAccount` of an account without a password).
pub const FRESH_SECS: i64 = 600;

/// The OpenID Connect settings of ptmasterd.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The providers, from `oidc_providers_file`.
    pub providers: Vec<ProviderConfig>,
    /// Clock difference allowed on `exp`, `iat` and `nbf`.
    pub clock_skew: Duration,
    /// Shortest time between two fetches of a provider's keys.
    pub refresh_min: Duration,
    /// Age after which cached keys are fetched again on their next use.
    pub jwks_max_age: Duration,
    /// Limit on each HTTP request.
    pub http_timeout: Duration,
}

impl Default for OidcConfig {
    /// No providers; 60 s skew, 60 s between refreshes, keys kept an
    /// hour, 10 s per request.
    fn default() -> OidcConfig {
        OidcConfig {
            providers: Vec::new(),
            clock_skew: Duration::from_secs(60),
            refresh_min: Duration::from_secs(60),
            jwks_max_age: Duration::from_secs(3600),
            http_timeout: Duration::from_secs(10),
        }
    }
}

/// A person as an ID token names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The configured provider name.
    pub provider: Provider,
    /// The issuer (`iss`), as configured.
    pub issuer: String,
    /// The subject (`sub`).
    pub subject: String,
    /// `email` when `email_verified` is true.
    pub email: Option<String>,
    /// When the token was issued (`iat`, Unix seconds).
    pub issued_at: i64,
}

/// The providers and their keys, shared by the auth threads.
pub struct Oidc {
    config: Arc<OidcConfig>,
    keys: Arc<KeyCache>,
    refresh: RefreshTx,
}

impl Oidc {
    /// A verifier over `keys`, asking `refresh` for keys it lacks.
    pub fn new(config: Arc<OidcConfig>, keys: Arc<KeyCache>, refresh: RefreshTx) -> Oidc {
        Oidc {
            config,
            keys,
            refresh,
        }
    }

    /// The identity `token` proves, if `provider` is configured and the
    /// token's signature, `iss`, `aud`, `exp` and `iat` check out at `now`
    /// (Unix seconds). Errors are the wire reasons: `unknown-provider`,
    /// `bad-token`, or `unavailable` when the keys cannot be fetched.
    pub fn verify(
        &self,
        provider: &Provider,
        token: &IdToken,
        now: i64,
    ) -> Result<Identity, Reason> {
        let Some(index) = self
            .config
            .providers
            .iter()
            .position(|p| p.name == *provider)
        else {
            return Err(Reason::new(
                ReasonCode::UnknownProvider,
                format!("provider {provider} is not configured on this server"),
            ));
        };
        let found = verify::verify(self, index, token, now);
        if let Err(reason) = &found {
            papertrader_common::debug!("ID token of {provider} refused: {reason}");
        }
        found
    }
}
