//! Dialing a server: plain TCP, or TLS with certificate verification by the profile's pins,
//! its CA file or the web PKI roots (see [`crate::tls`]), or (only when the profile says so)
//! no verification.

use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::{self, ClientConfig};

use crate::store::{RejectedCert, ServerRow};
use crate::tls::{Pin, TrustVerifier, Verdict};

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
    /// The server's certificate was refused.
    #[error("{addr} presented a certificate this profile does not trust")]
    Certificate {
        /// host:port
        addr: String,
        /// The certificate and why it was refused.
        rejected: RejectedCert,
    },
    /// The TLS handshake failed.
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
    let tcp = connect_tcp(&addr, timeout).await?;
    if !profile.tls {
        return Ok(Box::new(tcp));
    }
    let (config, verifier) = client_config(profile, false)?;
    match handshake(config, profile, tcp, &addr, timeout).await {
        Ok(s) => Ok(Box::new(s)),
        Err(DialError::Handshake { addr, source }) => match verifier.take_verdict() {
            Some(Verdict {
                der,
                problem: Some(problem),
            }) => Err(DialError::Certificate {
                addr,
                rejected: RejectedCert {
                    der,
                    problem: problem.text,
                    changed: problem.changed,
                },
            }),
            _ => Err(DialError::Handshake { addr, source }),
        },
        Err(other) => Err(other),
    }
}

/// The certificate the TLS server of `profile` presents, judged by the profile's trust
/// settings (verification on, whatever `profile.verify` says). The handshake is abandoned
/// once the certificate is seen.
pub async fn probe(profile: &ServerRow, timeout: Duration) -> Result<Verdict, DialError> {
    let addr = format!("{}:{}", profile.host, profile.port);
    let tcp = connect_tcp(&addr, timeout).await?;
    let verifier = Arc::new(trust_verifier(profile, true)?);
    let config = builder()?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    match handshake(config, profile, tcp, &addr, timeout).await {
        Err(DialError::Handshake { addr, source }) => match verifier.take_verdict() {
            Some(verdict) => Ok(verdict),
            None => Err(DialError::Handshake { addr, source }),
        },
        Err(other) => Err(other),
        Ok(_) => Err(DialError::TlsConfig(
            "the certificate probe completed a handshake".into(),
        )),
    }
}

async fn connect_tcp(addr: &str, timeout: Duration) -> Result<TcpStream, DialError> {
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(source)) => {
            return Err(DialError::Connect {
                addr: addr.to_owned(),
                source,
            });
        }
        Err(_) => return Err(DialError::Timeout(addr.to_owned())),
    };
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

async fn handshake(
    config: ClientConfig,
    profile: &ServerRow,
    tcp: TcpStream,
    addr: &str,
    timeout: Duration,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, DialError> {
    let name = ServerName::try_from(profile.host.clone())
        .map_err(|e| DialError::TlsConfig(e.to_string()))?;
    let connector = TlsConnector::from(Arc::new(config));
    match tokio::time::timeout(timeout, connector.connect(name, tcp)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(source)) => Err(DialError::Handshake {
            addr: addr.to_owned(),
            source,
        }),
        Err(_) => Err(DialError::Timeout(addr.to_owned())),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn builder() -> Result<rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>, DialError> {
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| DialError::TlsConfig(e.to_string()))
}

/// The verifier of `profile`'s trust settings.
fn trust_verifier(profile: &ServerRow, probe: bool) -> Result<TrustVerifier, DialError> {
    let pins = profile
        .pins
        .iter()
        .map(|p| Pin::parse(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| DialError::TlsConfig(e.to_string()))?;
    TrustVerifier::new(provider(), pins, profile.ca_file.as_deref(), probe)
        .map_err(|e| DialError::TlsConfig(crate::report::chain(&e)))
}

/// The client configuration of `profile`, with its verifier.
fn client_config(
    profile: &ServerRow,
    probe: bool,
) -> Result<(ClientConfig, Arc<TrustVerifier>), DialError> {
    let builder = builder()?.dangerous();
    let verifier = if profile.verify {
        Arc::new(trust_verifier(profile, probe)?)
    } else {
        Arc::new(TrustVerifier::accept_any(provider()))
    };
    let config = builder
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    Ok((config, verifier))
}
