//! Certificates for the TLS tests, made with rcgen: a throwaway CA and
//! leaves it signs, written as certbot writes them (fullchain.pem,
//! privkey.pem), and rustls client configurations that trust a CA.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};

/// A certificate authority of a test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = KeyPair::generate().expect("CA key");
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// Writes the CA certificate to `path`.
    pub fn write(&self, path: &Path) -> PathBuf {
        std::fs::write(path, self.pem()).expect("write CA");
        path.to_path_buf()
    }

    /// A leaf for `names` (IP addresses or DNS names) valid until
    /// `not_after` (year, month, day): (fullchain PEM, key PEM, leaf DER).
    pub fn leaf_until(
        &self,
        names: &[&str],
        not_after: Option<(i32, u8, u8)>,
    ) -> (String, String, CertificateDer<'static>) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        if let Some((y, m, d)) = not_after {
            params.not_before = rcgen::date_time_ymd(y - 1, m, d);
            params.not_after = rcgen::date_time_ymd(y, m, d);
        }
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("leaf");
        let chain = format!("{}{}", cert.pem(), self.pem());
        (chain, key.serialize_pem(), cert.der().clone())
    }

    /// Writes a leaf for `names` as `DIR/TAG-fullchain.pem` and
    /// `DIR/TAG-privkey.pem`; returns both paths and the leaf.
    pub fn write_leaf(
        &self,
        dir: &Path,
        tag: &str,
        names: &[&str],
    ) -> (PathBuf, PathBuf, CertificateDer<'static>) {
        self.write_leaf_until(dir, tag, names, None)
    }

    pub fn write_leaf_until(
        &self,
        dir: &Path,
        tag: &str,
        names: &[&str],
        not_after: Option<(i32, u8, u8)>,
    ) -> (PathBuf, PathBuf, CertificateDer<'static>) {
        let (chain, key, der) = self.leaf_until(names, not_after);
        let cert_path = dir.join(format!("{tag}-fullchain.pem"));
        let key_path = dir.join(format!("{tag}-privkey.pem"));
        std::fs::write(&cert_path, chain).expect("write chain");
        std::fs::write(&key_path, key).expect("write key");
        (cert_path, key_path, der)
    }

    /// A client configuration that trusts this CA only.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.der()).expect("CA as a root");
        let provider = papertrader_common::tls::provider();
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }
}

/// The server name of a loopback address.
pub fn loopback_name(addr: std::net::SocketAddr) -> ServerName<'static> {
    ServerName::IpAddress(addr.ip().into())
}
