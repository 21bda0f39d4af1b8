//! `gochat-server probe`: connect to a server, read its HELLO, report. A health check for
//! containers, monitoring and post-install tests; `check` stays the offline config check.
//!
//! Over TLS the server's certificate is accepted only as the caller says: `--ca FILE`
//! (verify against these roots, for the name in `--server-name` or `--addr`) or `--insecure`
//! (no verification at all, for a health check on the same host). There is no default.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use gochat_proto::wire::{Action, GochatCodec};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::WebPkiSupportedAlgorithms;
use tokio_rustls::rustls::{self, ClientConfig, DigitallySignedStruct, RootCertStore};
use tokio_util::codec::Framed;

/// How the probe treats the server's TLS certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Verify the chain against the certificates in this PEM file.
    Ca(PathBuf),
    /// Accept any certificate (the handshake signature is still checked).
    Insecure,
}

/// What to probe.
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    /// `HOST:PORT`.
    pub addr: String,
    /// Plain TCP when `None`.
    pub tls: Option<TlsTarget>,
    /// The whole probe (connect, handshake, HELLO) must finish within this.
    pub timeout: Duration,
}

/// TLS settings of a probe.
#[derive(Debug, Clone)]
pub struct TlsTarget {
    /// How the certificate is checked.
    pub trust: Trust,
    /// The name the certificate must carry (default: the host in the address).
    pub server_name: Option<String>,
}

/// A HELLO that arrived.
#[derive(Debug, Clone)]
pub struct Greeting {
    /// The message of the day.
    pub motd: Vec<u8>,
    /// Time from the connect to the HELLO.
    pub elapsed: Duration,
}

/// Why a probe failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The address has no port or no host.
    #[error("{0:?} is not HOST:PORT")]
    BadAddress(String),
    /// The server name is not a DNS name or an IP address.
    #[error("{0:?} is not a usable TLS server name")]
    BadServerName(String),
    /// The CA file cannot be read or holds no certificate.
    #[error("CA file {path}: {reason}")]
    Ca {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// TLS client setup failed.
    #[error("TLS setup: {0}")]
    Tls(#[from] rustls::Error),
    /// The TCP connect failed.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The TLS handshake failed (including an untrusted certificate).
    #[error("TLS handshake with {addr} failed: {source}")]
    Handshake {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The server closed the connection before HELLO.
    #[error("{0} closed the connection before HELLO")]
    Closed(String),
    /// The first packet did not decode.
    #[error("{addr} sent no valid gochat packet: {reason}")]
    NotGochat {
        /// The address.
        addr: String,
        /// The decoder's complaint.
        reason: String,
    },
    /// The first packet was not a HELLO with ID 0.
    #[error("{addr} sent {action} (ID {id}) instead of HELLO")]
    NotHello {
        /// The address.
        addr: String,
        /// The action received.
        action: String,
        /// Its ID.
        id: u16,
    },
    /// Nothing within the timeout.
    #[error("no HELLO from {addr} within {secs} s")]
    Timeout {
        /// The address.
        addr: String,
        /// The timeout.
        secs: u64,
    },
}

/// The address to probe when none is given: the configured listener, with an unspecified
/// address (0.0.0.0, ::) replaced by loopback.
pub fn local_addr(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port()).to_string()
}

/// Connects, reads the first packet and checks that it is HELLO.
pub async fn probe(target: &ProbeTarget) -> Result<Greeting, ProbeError> {
    let host = host_of(&target.addr)?;
    let connector = match &target.tls {
        None => None,
        Some(tls) => {
            let name = tls.server_name.clone().unwrap_or_else(|| host.to_owned());
            let name =
                ServerName::try_from(name.clone()).map_err(|_| ProbeError::BadServerName(name))?;
            Some((connector(&tls.trust)?, name))
        }
    };
    let started = Instant::now();
    let secs = target.timeout.as_secs();
    let addr = target.addr.clone();
    tokio::time::timeout(target.timeout, async {
        let tcp = TcpStream::connect(&target.addr)
            .await
            .map_err(|source| ProbeError::Connect {
                addr: addr.clone(),
                source,
            })?;
        let motd =
            match connector {
                None => read_hello(tcp, &addr).await?,
                Some((connector, name)) => {
                    let tls = connector.connect(name, tcp).await.map_err(|source| {
                        ProbeError::Handshake {
                            addr: addr.clone(),
                            source,
                        }
                    })?;
                    read_hello(tls, &addr).await?
                }
            };
        Ok(Greeting {
            motd,
            elapsed: started.elapsed(),
        })
    })
    .await
    .map_err(|_| ProbeError::Timeout {
        addr: target.addr.clone(),
        secs,
    })?
}

/// The host part of `HOST:PORT` (brackets of an IPv6 literal removed).
fn host_of(addr: &str) -> Result<&str, ProbeError> {
    let bad = || ProbeError::BadAddress(addr.to_owned());
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    if port.parse::<u16>().is_err() {
        return Err(bad());
    }
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        return Err(bad());
    }
    Ok(host)
}

async fn read_hello<S>(io: S, addr: &str) -> Result<Vec<u8>, ProbeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut framed = Framed::new(io, GochatCodec::client());
    let packet = match framed.next().await {
        None => return Err(ProbeError::Closed(addr.to_owned())),
        Some(Err(e)) => {
            return Err(ProbeError::NotGochat {
                addr: addr.to_owned(),
                reason: e.to_string(),
            });
        }
        Some(Ok(p)) => p,
    };
    if packet.action != Action::Hello || packet.id != 0 {
        return Err(ProbeError::NotHello {
            addr: addr.to_owned(),
            action: format!("{:?}", packet.action),
            id: packet.id,
        });
    }
    Ok(packet.arg(0).map(|m| m.to_vec()).unwrap_or_default())
}

fn connector(trust: &Trust) -> Result<TlsConnector, ProbeError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let config = match trust {
        Trust::Ca(path) => builder
            .with_root_certificates(roots(path)?)
            .with_no_client_auth(),
        Trust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(
                provider.signature_verification_algorithms,
            )))
            .with_no_client_auth(),
    };
    Ok(TlsConnector::from(Arc::new(config)))
}

fn roots(path: &Path) -> Result<RootCertStore, ProbeError> {
    let ca = |reason: String| ProbeError::Ca {
        path: path.to_owned(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| ca(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| ca(e.to_string()))?;
    if certs.is_empty() {
        return Err(ca("no certificate in it".into()));
    }
    let mut store = RootCertStore::empty();
    for cert in certs {
        store.add(cert).map_err(|e| ca(e.to_string()))?;
    }
    Ok(store)
}

/// `--insecure`: any certificate is accepted; the handshake signatures are still verified,
/// so the probe does talk to the holder of the key it was shown.
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

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::{host_of, local_addr};

    #[test]
    fn hosts_and_ports() {
        assert_eq!(host_of("127.0.0.1:9037").ok(), Some("127.0.0.1"));
        assert_eq!(host_of("[::1]:9037").ok(), Some("::1"));
        assert_eq!(
            host_of("chat.example.org:8037").ok(),
            Some("chat.example.org")
        );
        assert!(host_of("127.0.0.1").is_err());
        assert!(host_of(":9037").is_err());
        assert!(host_of("host:99999").is_err());
    }

    #[test]
    fn unspecified_listeners_are_probed_on_loopback() {
        assert_eq!(
            local_addr("0.0.0.0:9037".parse().expect("addr")),
            "127.0.0.1:9037"
        );
        assert_eq!(local_addr("[::]:8037".parse().expect("addr")), "[::1]:8037");
        assert_eq!(
            local_addr("10.0.0.5:1".parse().expect("addr")),
            "10.0.0.5:1"
        );
    }
}
