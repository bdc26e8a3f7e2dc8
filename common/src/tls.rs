//! TLS as a transport of [`Framed`](crate::framed::Framed) connections
//! (`papertrader-protocol(7)` section 11), and the rustls configurations
//! both daemons build. A [`Stream`] is one TCP connection of an event
//! loop: an accepted one first sniffs its first byte (0x16, a TLS
//! handshake record, starts TLS; anything else is a plain frame stream),
//! an outgoing one to the master is TLS from its first byte.
//!
//! rustls is driven here the way its `tlsserver-mio` example drives it:
//! ciphertext moves between the socket and the rustls connection only when
//! the loop reads or flushes, never blocking, so the code above sees the
//! same `Transport` as for plain TCP. Nothing here starts a thread or
//! opens a socket; the daemons' event loops own their streams.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, Connection, DigitallySignedStruct, ServerConfig};
use rustls::{ServerConnection, SignatureScheme};
use rustls_pki_types::pem::PemObject;

use crate::framed::Transport;

/// The first byte of a TLS handshake record; no valid `message_type` has
/// this value, so it tells TLS from plain frames.
pub const TLS_HANDSHAKE: u8 = 0x16;

/// The label of the master link's keying material (section 7).
pub const EXPORTER_LABEL: &[u8] = b"EXPORTER-papertrader-link";

/// Bytes rustls may hold of unsent plaintext and records per connection;
/// the rest waits in the connection's own output, under its cap, so a peer
/// that does not read costs what `max_output` allows and no more.
const BUFFER_LIMIT: usize = 32 * 1024;

/// The crypto provider of every TLS connection here: ring (no C toolchain
/// beyond a C compiler, no cmake).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// One TCP connection of an event loop, plain or TLS.
pub struct Stream {
    sock: TcpStream,
    kind: Kind,
}

enum Kind {
    /// Accepted, first byte not seen yet; TLS is possible when a server
    /// configuration is given.
    Sniffing(Option<Arc<ServerConfig>>),
    /// Plain frames.
    Plain,
    /// TLS; boxed, since a rustls connection is large and most of a busy
    /// worker's idle connections may be plain.
    Tls(Box<Connection>),
}

impl Stream {
    /// A plain connection.
    pub fn plain(sock: TcpStream) -> Stream {
        Stream {
            sock,
            kind: Kind::Plain,
        }
    }

    /// An accepted connection that becomes TLS (with `tls`) if its first
    /// byte is 0x16, and plain otherwise.
    pub fn accepted(sock: TcpStream, tls: Option<Arc<ServerConfig>>) -> Stream {
        Stream {
            sock,
            kind: Kind::Sniffing(tls),
        }
    }

    /// An outgoing TLS connection to `name`, its handshake under way.
    pub fn client(
        sock: TcpStream,
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> Result<Stream, rustls::Error> {
        let mut conn = ClientConnection::new(config, name)?;
        conn.set_buffer_limit(Some(BUFFER_LIMIT));
        Ok(Stream {
            sock,
            kind: Kind::Tls(Box::new(Connection::Client(conn))),
        })
    }

    /// The TCP socket.
    pub fn socket(&self) -> &TcpStream {
        &self.sock
    }

    fn socket_mut(&mut self) -> &mut TcpStream {
        &mut self.sock
    }

    /// Whether the connection is TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self.kind, Kind::Tls(_))
    }

    /// Whether the connection turned out plain (false while sniffing).
    pub fn is_plain(&self) -> bool {
        matches!(self.kind, Kind::Plain)
    }

    /// EXPORTER of section 7: 32 bytes of keying material exported with
    /// [`EXPORTER_LABEL`] and no context, as 64 lowercase hex digits.
    /// `None` on a plain connection or before the handshake is done.
    pub fn exporter(&self) -> Option<String> {
        let Kind::Tls(conn) = &self.kind else {
            return None;
        };
        if conn.is_handshaking() {
            return None;
        }
        conn.export_keying_material([0u8; 32], EXPORTER_LABEL, None)
            .ok()
            .map(|key| crate::value::hex(&key))
    }

    /// Decides plain or TLS from the first byte, once it is there.
    fn sniff(&mut self) -> io::Result<()> {
        let Kind::Sniffing(tls) = &mut self.kind else {
            return Ok(());
        };
        let mut first = [0u8; 1];
        if self.sock.peek(&mut first)? == 0 {
            // The peer left without a byte: plain, and the read sees the end.
            self.kind = Kind::Plain;
            return Ok(());
        }
        self.kind = match tls.take() {
            Some(config) if first[0] == TLS_HANDSHAKE => {
                let mut conn = ServerConnection::new(config).map_err(io::Error::other)?;
                conn.set_buffer_limit(Some(BUFFER_LIMIT));
                Kind::Tls(Box::new(Connection::Server(conn)))
            }
            _ => Kind::Plain,
        };
        Ok(())
    }
}

impl Transport for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sniff()?;
        match &mut self.kind {
            Kind::Tls(conn) => tls_read(conn, &mut self.sock, buf),
            _ => Read::read(&mut self.sock, buf),
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Kind::Tls(conn) = &mut self.kind else {
            return Write::write(&mut self.sock, buf);
        };
        let n = conn.writer().write(buf)?;
        tls_flush(conn, &mut self.sock)?;
        if n == 0 && !buf.is_empty() {
            // rustls holds BUFFER_LIMIT already: the socket must drain.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.kind {
            Kind::Tls(conn) => tls_flush(conn, &mut self.sock),
            _ => Ok(()),
        }
    }

    fn wants_write(&self) -> bool {
        match &self.kind {
            Kind::Tls(conn) => conn.wants_write(),
            _ => false,
        }
    }

    fn in_handshake(&self) -> bool {
        match &self.kind {
            Kind::Tls(conn) => conn.is_handshaking(),
            _ => false,
        }
    }

    fn short_read_drains(&self) -> bool {
        matches!(self.kind, Kind::Plain)
    }

    fn shutdown(&mut self) {
        if let Kind::Tls(conn) = &mut self.kind {
            conn.send_close_notify();
            let _ = tls_flush(conn, &mut self.sock);
        }
        let _ = self.sock.shutdown(std::net::Shutdown::Write);
    }
}

/// Plaintext from `conn`, reading and decrypting records from `sock` as
/// needed; `Ok(0)` at the end of the stream (with or without the peer's
/// close_notify), `WouldBlock` when the socket has no more.
fn tls_read(conn: &mut Connection, sock: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match conn.reader().read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
            Err(e) => return Err(e),
        }
        // The plaintext buffer is empty here, so read_tls never refuses
        // for a full one.
        match conn.read_tls(sock) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if let Err(err) = conn.process_new_packets() {
            // The alert rustls queued tells the peer why, if it still listens.
            let _ = tls_flush(conn, sock);
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("TLS: {err}"),
            ));
        }
    }
}

/// Writes what `conn` holds of records until the socket takes no more.
fn tls_flush(conn: &mut Connection, sock: &mut TcpStream) -> io::Result<()> {
    while conn.wants_write() {
        match conn.write_tls(sock) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

crate::delegate_source!(Stream, socket_mut);

/// A certificate chain and its private key, as read from PEM files.
pub struct CertFiles {
    /// The chain, leaf first (certbot's fullchain.pem).
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key (certbot's privkey.pem): PKCS#8, PKCS#1 or SEC1.
    pub key: PrivateKeyDer<'static>,
}

impl CertFiles {
    /// Reads the chain from `cert` and the key from `key`; the error is one
    /// sentence naming the file and what is wrong with it.
    pub fn read(cert: &Path, key: &Path) -> Result<CertFiles, TlsError> {
        let chain = read_certs(cert)?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(|err| pem_error(key, err))?;
        Ok(CertFiles { chain, key })
    }
}

/// Every certificate of a PEM file (at least one).
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|err| pem_error(path, err))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(path.to_path_buf()));
    }
    Ok(chain)
}

fn pem_error(path: &Path, err: rustls_pki_types::pem::Error) -> TlsError {
    use rustls_pki_types::pem::Error;
    let path = path.to_path_buf();
    match err {
        Error::Io(err) => TlsError::File(path, err),
        Error::NoItemsFound => TlsError::NoPemItem(path),
        other => TlsError::NotPem(path, other.to_string()),
    }
}

/// Why a TLS certificate, key or configuration could not be had; each
/// reads as one sentence naming the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{0}: {1}")]
    File(std::path::PathBuf, std::io::Error),
    /// A file holds no PEM item of the kind expected.
    #[error("{0}: no PEM item of the expected kind")]
    NoPemItem(std::path::PathBuf),
    /// A file is not valid PEM: what the parser said.
    #[error("{0}: not valid PEM: {1}")]
    NotPem(std::path::PathBuf, String),
    /// A chain file holds no certificate.
    #[error("{0}: no certificate (expected PEM \"BEGIN CERTIFICATE\" blocks)")]
    NoCertificate(std::path::PathBuf),
    /// rustls refused the protocol versions (no suite of the provider).
    #[error("{0}")]
    Versions(rustls::Error),
    /// The certificate and the key do not go together.
    #[error("certificate and key do not go together: {0}")]
    Mismatch(rustls::Error),
    /// A pair (certificate and key files) was refused: which, and why.
    #[error("{0} and {1}: {2}")]
    Pair(std::path::PathBuf, std::path::PathBuf, Box<TlsError>),
    /// A new certificate or key could not be made.
    #[error("cannot make a TLS {0}: {1}")]
    Generate(&'static str, String),
    /// TLS is not configured where a certificate was asked for.
    #[error("{0} is off")]
    Off(&'static str),
}

/// Which protocol versions a server takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versions {
    /// TLS 1.3 only (the master link).
    Tls13,
    /// TLS 1.3, or 1.2 for older clients (the client link).
    Tls12And13,
}

/// A server configuration presenting `files`; the error names what rustls
/// refused (a key that does not match the certificate, say).
pub fn server_config(files: CertFiles, versions: Versions) -> Result<Arc<ServerConfig>, TlsError> {
    let builder = ServerConfig::builder_with_provider(provider());
    let builder = match versions {
        Versions::Tls13 => builder.with_protocol_versions(&[&rustls::version::TLS13]),
        Versions::Tls12And13 => builder.with_safe_default_protocol_versions(),
    }
    .map_err(TlsError::Versions)?;
    let mut config = builder
        .with_no_client_auth()
        .with_single_cert(files.chain, files.key)
        .map_err(TlsError::Mismatch)?;
    // Clients open long-lived connections: resumption tickets would cost
    // every handshake for little.
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// The worker's configuration for its link to the master: TLS 1.3, and
/// any certificate, since the GnuPG signatures over EXPORTER authenticate
/// the master (section 7), not an authority.
pub fn link_client_config() -> Arc<ClientConfig> {
    let provider = provider();
    let verifier = Arc::new(AnyCertificate(provider.signature_verification_algorithms));
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("the ring provider has TLS 1.3 suites")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Arc::new(config)
}

/// Accepts any certificate, but still checks that the peer holds its key:
/// the handshake signature is verified with the provider's algorithms.
#[derive(Debug)]
struct AnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests;
