//! TLS for the blocking client (`papertrader-protocol(7)` section 11):
//! which addresses use it (`tls://host:port`, or every address when asked),
//! the trust roots (the system's, through rustls-native-certs, or a CA
//! file), and a sentence for each way a certificate can be refused.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{CertificateError, ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::Error;

/// The scheme that asks for TLS in an address.
pub const SCHEME: &str = "tls://";

/// How the client uses TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// Use TLS even for an address without `tls://`.
    pub always: bool,
    /// Trust only the CA certificates in this PEM file, not the system's.
    pub ca_file: Option<PathBuf>,
}

impl TlsSettings {
    /// Whether `addr` is to be dialled with TLS, and the `host:port` to dial.
    pub fn split<'a>(&self, addr: &'a str) -> (bool, &'a str) {
        match addr.strip_prefix(SCHEME) {
            Some(rest) => (true, rest),
            None => (self.always, addr),
        }
    }

    /// A client configuration trusting the CA file or the system's roots.
    fn config(&self) -> Result<Arc<ClientConfig>, Error> {
        let mut roots = RootCertStore::empty();
        match &self.ca_file {
            Some(path) => {
                let certs = papertrader_common::tls::read_certs(path)
                    .map_err(|e| Error::CaFile(e.to_string()))?;
                for cert in certs {
                    roots.add(cert).map_err(|e| {
                        Error::CaFile(format!(
                            "{}: not a usable CA certificate: {e}",
                            path.display()
                        ))
                    })?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                let (added, _) = roots.add_parsable_certificates(found.certs);
                if added == 0 {
                    return Err(Error::CaFile(
                        "no trusted CA certificates on this system (install ca-certificates, \
                         or give one with --ca FILE)"
                            .to_string(),
                    ));
                }
            }
        }
        let config = ClientConfig::builder_with_provider(papertrader_common::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::CaFile(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

/// A client's connection: plain TCP or TLS over it.
pub(crate) enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Conn {
    /// TLS over `sock` to `host` (the name or address dialled), handshake
    /// done: a refused certificate is an error here, not at the first call.
    pub(crate) fn tls(
        sock: TcpStream,
        host: &str,
        addr: &str,
        settings: &TlsSettings,
    ) -> Result<Conn, Error> {
        let config = settings.config()?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(bare.to_string())
            .map_err(|_| Error::Tls(addr.to_string(), format!("{host:?} is not a host name")))?;
        let conn = ClientConnection::new(config, name)
            .map_err(|e| Error::Tls(addr.to_string(), e.to_string()))?;
        let mut stream = StreamOwned::new(conn, sock);
        while stream.conn.is_handshaking() {
            if let Err(err) = stream.conn.complete_io(&mut stream.sock) {
                return Err(handshake_error(addr, host, err));
            }
        }
        Ok(Conn::Tls(Box::new(stream)))
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            // A server that closes without close_notify has still closed.
            Conn::Tls(s) => match s.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// One sentence for a failed handshake with `addr`, dialled as `host`.
fn handshake_error(addr: &str, host: &str, err: io::Error) -> Error {
    let Some(tls) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    else {
        return Error::Io(addr.to_string(), err);
    };
    let text = match tls {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("the server's certificate is not valid for {host}")
            }
            CertificateError::UnknownIssuer => "the server's certificate is signed by an \
                                                 unknown authority (give its CA with --ca FILE)"
                .to_string(),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the server's certificate has expired".to_string()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet".to_string()
            }
            CertificateError::Revoked => "the server's certificate is revoked".to_string(),
            other => format!("bad server certificate: {other:?}"),
        },
        rustls::Error::AlertReceived(alert) => {
            format!("the server refused the TLS handshake ({alert:?})")
        }
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the server did not answer in TLS (no TLS on this port, or it refused the \
             connection: try the address without tls://)"
                .to_string()
        }
        other => format!("TLS handshake failed: {other}"),
    };
    Error::Tls(addr.to_string(), text)
}
