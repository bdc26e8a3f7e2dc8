//! The client port's TLS (`papertrader-protocol(7)` section 11): the
//! server configuration built from `tls_cert` and `tls_key` when
//! `client_tls` is `optional` or `required`. Read at start on the main
//! thread and, on SIGHUP, on the "signals" thread (so that the loop never
//! waits for a file); the loop swaps the new configuration in, and new
//! handshakes use it while connected clients keep theirs.

use std::sync::Arc;

use papertrader_common::tls::{self, CertFiles, TlsError, Versions};
use rustls::ServerConfig;

use crate::config::{ClientTls, Config};

/// The client port's TLS configuration; `None` when `client_tls` is off.
/// The error is one sentence naming the file at fault.
pub fn server_config(config: &Config) -> Result<Option<Arc<ServerConfig>>, TlsError> {
    let (ClientTls::Optional | ClientTls::Required, Some(cert), Some(key)) =
        (config.client_tls, &config.tls_cert, &config.tls_key)
    else {
        return Ok(None);
    };
    let files = CertFiles::read(cert, key)?;
    tls::server_config(files, Versions::Tls12And13)
        .map(Some)
        .map_err(|err| TlsError::Pair(cert.clone(), key.clone(), Box::new(err)))
}
