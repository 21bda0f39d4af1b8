//! The certificate verifier of every TLS link: pins first, then a CA file or the web PKI
//! roots. It remembers the certificate it refused, so that the caller can show it, and in
//! probe mode it refuses every certificate after judging it (trust on first use needs the
//! certificate without completing the handshake).

use std::sync::{Arc, Mutex};

use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{
    CryptoProvider, verify_tls12_signature, verify_tls13_signature,
};
use tokio_rustls::rustls::{
    self, CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use super::cert::CertInfo;
use super::pin::{Pin, PinError, certs_of_pem_file};

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// For humans.
    pub text: String,
    /// The profile pins other certificates (rather than: it does not verify).
    pub changed: bool,
}

/// The certificate a server presented and what the profile makes of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The end-entity certificate (DER).
    pub der: Vec<u8>,
    /// `None`: the profile trusts it.
    pub problem: Option<Problem>,
}

/// Trusts a server's certificate the way its profile says.
#[derive(Debug)]
pub struct TrustVerifier {
    provider: Arc<CryptoProvider>,
    /// Explicit pins: when there are any, nothing else is trusted.
    pins: Vec<Pin>,
    /// The single self-issued certificate of the CA file, trusted as it stands.
    file_pin: Option<Pin>,
    /// Chain validation by name and date (absent when pins decide alone).
    chain: Option<Arc<WebPkiServerVerifier>>,
    /// Refuse every certificate once judged.
    probe: bool,
    /// Accept any certificate (the profile turned verification off; signatures are still
    /// checked).
    any: bool,
    /// The last certificate judged.
    seen: Mutex<Option<Verdict>>,
}

/// Why a verifier could not be built.
#[derive(Debug, thiserror::Error)]
pub enum VerifierError {
    /// The CA file is unusable.
    #[error(transparent)]
    CaFile(#[from] PinError),
    /// The CA file holds no certificate usable as a root, or rustls refused the roots.
    #[error("no usable trust anchor in {0}")]
    Roots(String),
}

impl TrustVerifier {
    /// A verifier for a profile with `pins`, trusting `ca_file` (PEM) or else the web PKI
    /// roots. `probe`: refuse every certificate after judging it.
    pub fn new(
        provider: Arc<CryptoProvider>,
        pins: Vec<Pin>,
        ca_file: Option<&str>,
        probe: bool,
    ) -> Result<TrustVerifier, VerifierError> {
        let mut file_pin = None;
        let chain = if pins.is_empty() {
            let mut roots = RootCertStore::empty();
            match ca_file {
                Some(path) => {
                    let certs = certs_of_pem_file(path)?;
                    if let [only] = certs.as_slice()
                        && CertInfo::of(only).self_issued()
                    {
                        file_pin = Some(Pin::of_cert(only));
                    }
                    roots.add_parsable_certificates(certs);
                    if roots.is_empty() && file_pin.is_none() {
                        return Err(VerifierError::Roots(path.to_owned()));
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            if roots.is_empty() {
                None
            } else {
                let built =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|_| VerifierError::Roots(ca_file.unwrap_or("").to_owned()))?;
                Some(built)
            }
        } else {
            None
        };
        Ok(TrustVerifier {
            provider,
            pins,
            file_pin,
            chain,
            probe,
            any: false,
            seen: Mutex::new(None),
        })
    }

    /// A verifier that accepts any certificate, for a profile that turned verification off
    /// explicitly. Handshake signatures are still checked.
    pub fn accept_any(provider: Arc<CryptoProvider>) -> TrustVerifier {
        TrustVerifier {
            provider,
            pins: Vec::new(),
            file_pin: None,
            chain: None,
            probe: false,
            any: true,
            seen: Mutex::new(None),
        }
    }

    /// The last certificate judged, with its verdict.
    pub fn take_verdict(&self) -> Option<Verdict> {
        self.seen.lock().ok().and_then(|mut s| s.take())
    }

    fn judge(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<(), (Problem, rustls::Error)> {
        if self.any {
            return Ok(());
        }
        if !self.pins.is_empty() {
            if self.pins.iter().any(|p| p.matches(end_entity)) {
                return Ok(());
            }
            let problem = Problem {
                text: "the certificate differs from the pinned one".into(),
                changed: true,
            };
            let error =
                rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure);
            return Err((problem, error));
        }
        if self.file_pin.is_some_and(|p| p.matches(end_entity)) {
            return Ok(());
        }
        let Some(chain) = &self.chain else {
            let problem = Problem {
                text: "the certificate differs from the one in the CA file".into(),
                changed: false,
            };
            let error = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
            return Err((problem, error));
        };
        chain
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .map(|_| ())
            .map_err(|error| {
                let problem = Problem {
                    text: describe(&error),
                    changed: false,
                };
                (problem, error)
            })
    }
}

/// A rustls certificate error in words a self-hoster understands.
fn describe(error: &rustls::Error) -> String {
    let what = match error {
        rustls::Error::InvalidCertificate(e) => match e {
            CertificateError::UnknownIssuer => "it is not signed by a trusted CA".to_owned(),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "it has expired".to_owned()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "it is not valid yet".to_owned()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "it is not valid for this host name".to_owned()
            }
            CertificateError::BadSignature => "its signature is invalid".to_owned(),
            // webpki's CaUsedAsEndEntity: what `openssl req -x509` makes by default.
            other if format!("{other:?}").contains("CaUsedAsEndEntity") => {
                "it is a CA certificate (CA:TRUE) presented as the server's own".to_owned()
            }
            other => format!("{other:?}"),
        },
        other => other.to_string(),
    };
    format!("the certificate does not verify: {what}")
}

impl ServerCertVerifier for TrustVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let judged = self.judge(end_entity, intermediates, server_name, ocsp, now);
        let verdict = Verdict {
            der: end_entity.to_vec(),
            problem: judged.as_ref().err().map(|(p, _)| p.clone()),
        };
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(verdict);
        }
        if self.probe {
            return Err(rustls::Error::General(
                "certificate probe: not connecting".into(),
            ));
        }
        judged
            .map(|()| ServerCertVerified::assertion())
            .map_err(|(_, e)| e)
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
            &self.provider.signature_verification_algorithms,
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
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
