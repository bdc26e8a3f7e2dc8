//! The master port's TLS certificate (`papertrader-protocol(7)` section
//! 11): the configured `tls_cert` and `tls_key`, or, when neither is set,
//! a self-signed pair made on first start in the state directory (mode
//! 0600). Workers do not check it through any authority: the GnuPG
//! signatures over the TLS exporter authenticate the master (section 7),
//! so a self-signed certificate loses nothing. Runs on the main thread
//! before the event loop starts.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

use papertrader_common::tls::{self, CertFiles, TlsError, Versions};
use rustls::ServerConfig;

use crate::config::Config;

/// The server configuration of the master port: TLS 1.3 only. The error
/// is one sentence naming the file at fault.
pub fn server_config(config: &Config) -> Result<Arc<ServerConfig>, TlsError> {
    if config.tls_generate && !config.tls_cert.exists() && !config.tls_key.exists() {
        generate(&config.tls_cert, &config.tls_key)?;
        papertrader_common::info!(
            "made a self-signed TLS certificate for the master port: {}",
            config.tls_cert.display()
        );
    }
    let files = CertFiles::read(&config.tls_cert, &config.tls_key)?;
    tls::server_config(files, Versions::Tls13).map_err(|err| {
        let (cert, key) = (config.tls_cert.clone(), config.tls_key.clone());
        TlsError::Pair(cert, key, Box::new(err))
    })
}

/// A configuration on a self-signed pair that lives in memory only, for a
/// server that is never reached over TLS (the fuzz target's).
pub fn ephemeral() -> Result<Arc<ServerConfig>, TlsError> {
    let (key, cert) = self_signed()?;
    let key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der())
        .map_err(|e| TlsError::Generate("key", e.to_string()))?;
    let files = CertFiles {
        chain: vec![cert.der().clone()],
        key,
    };
    tls::server_config(files, Versions::Tls13)
}

/// A new ECDSA P-256 key and a certificate for `ptmasterd` signed by it.
fn self_signed() -> Result<(rcgen::KeyPair, rcgen::Certificate), TlsError> {
    let key = rcgen::KeyPair::generate().map_err(|e| TlsError::Generate("key", e.to_string()))?;
    let cert = rcgen::CertificateParams::new(vec!["ptmasterd".to_string()])
        .and_then(|params| params.self_signed(&key))
        .map_err(|e| TlsError::Generate("certificate", e.to_string()))?;
    Ok((key, cert))
}

/// Writes a new self-signed certificate and its key (ECDSA P-256), both
/// mode 0600 and never over an existing file.
fn generate(cert_path: &Path, key_path: &Path) -> Result<(), TlsError> {
    let (key, cert) = self_signed()?;
    write_new(key_path, key.serialize_pem().as_bytes())?;
    write_new(cert_path, cert.pem().as_bytes())
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .map_err(|e| TlsError::File(path.to_path_buf(), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_generated_pair_is_private_and_loads() {
        let dir = std::env::temp_dir().join(format!("pt-master-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let conf = format!("state_dir = {}\n", dir.display());
        let conf = papertrader_common::conf::Conf::parse_reader(
            conf.as_bytes(),
            "t.conf",
            crate::config::KEYS,
        )
        .expect("conf");
        let config = Config::from_conf(&conf).expect("config");
        assert!(config.tls_generate);
        server_config(&config).expect("made and loaded");
        for file in [&config.tls_cert, &config.tls_key] {
            let mode = std::fs::metadata(file)
                .expect("written")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{}", file.display());
        }
        // A second start loads the same pair.
        let before = std::fs::read(&config.tls_cert).expect("cert");
        server_config(&config).expect("loaded again");
        assert_eq!(std::fs::read(&config.tls_cert).expect("cert"), before);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
