//! Dialing a server: plain TCP, or TLS with certificate verification against the web PKI
//! roots, a pinned CA file, or (only when the profile says so) no verification.

use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{
    CryptoProvider, verify_tls12_signature, verify_tls13_signature,
};
use tokio_rustls::rustls::{
    self, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::store::ServerRow;

/// A byte stream to a server.
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// Why a server could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    /// TCP connect failed.
    #[error("cannot connect to {addr}")]
    Connect {
        /// host:port
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Took too long.
    #[error("connecting to {0} timed out")]
    Timeout(String),
    /// The TLS configuration could not be built.
    #[error("TLS setup failed: {0}")]
    TlsConfig(String),
    /// The TLS handshake failed (e.g. certificate not trusted).
    #[error("TLS handshake with {addr} failed")]
    Handshake {
        /// host:port
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// Connects to the server of `profile`.
pub async fn dial(profile: &ServerRow, timeout: Duration) -> Result<Box<dyn Stream>, DialError> {
    let addr = format!("{}:{}", profile.host, profile.port);
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect(&addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(source)) => return Err(DialError::Connect { addr, source }),
        Err(_) => return Err(DialError::Timeout(addr)),
    };
    let _ = tcp.set_nodelay(true);
    if !profile.tls {
        return Ok(Box::new(tcp));
    }
    let config = client_config(profile)?;
    let name = ServerName::try_from(profile.host.clone())
        .map_err(|e| DialError::TlsConfig(e.to_string()))?;
    let connector = TlsConnector::from(Arc::new(config));
    match tokio::time::timeout(timeout, connector.connect(name, tcp)).await {
        Ok(Ok(s)) => Ok(Box::new(s)),
        Ok(Err(source)) => Err(DialError::Handshake { addr, source }),
        Err(_) => Err(DialError::Timeout(addr)),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn client_config(profile: &ServerRow) -> Result<ClientConfig, DialError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| DialError::TlsConfig(e.to_string()))?;
    if !profile.verify {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
            .with_no_client_auth());
    }
    let mut roots = RootCertStore::empty();
    match &profile.ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| DialError::TlsConfig(format!("cannot read CA file {path}: {e}")))?;
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| DialError::TlsConfig(format!("bad certificate in {path}: {e}")))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// Accepts any certificate (signatures are still checked). Only used when a profile turns
/// verification off explicitly.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
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
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
