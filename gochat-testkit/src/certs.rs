//! Certificates made at test time with rcgen (no private key is ever committed): a
//! self-signed certificate, or a CA and leaves it issued, written as PEM files, and a rustls
//! connector that trusts a given certificate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls_pki_types::CertificateDer;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// Why a certificate could not be made, written or trusted.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// rcgen refused the parameters or could not sign.
    #[error("cannot generate the certificate")]
    Generate(#[from] rcgen::Error),
    /// A PEM file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// rustls refused the certificate as a root.
    #[error("cannot trust the certificate")]
    Trust(#[from] rustls::Error),
}

/// A certificate and its private key.
pub struct CertKey {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// Where [`CertKey::write_pem`] put the two files.
#[derive(Debug, Clone)]
pub struct PemFiles {
    /// The certificate (PEM).
    pub cert: PathBuf,
    /// The private key (PEM, PKCS#8).
    pub key: PathBuf,
}

impl CertKey {
    /// A self-signed leaf for `names` (DNS names or IP addresses), as a server presents it
    /// and a client pins it.
    pub fn self_signed(names: &[&str]) -> Result<CertKey, CertError> {
        let certified = rcgen::generate_simple_self_signed(owned(names))?;
        Ok(CertKey {
            cert: certified.cert,
            key: certified.key_pair,
        })
    }

    /// The certificate in PEM.
    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    /// The private key in PEM (PKCS#8).
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// The certificate in DER.
    pub fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    /// Writes `<stem>.pem` and `<stem>-key.pem` into `dir`; the key file is 0600.
    pub fn write_pem(&self, dir: &Path, stem: &str) -> Result<PemFiles, CertError> {
        self.write_pem_as(
            dir.join(format!("{stem}.pem")),
            dir.join(format!("{stem}-key.pem")),
        )
    }

    /// Writes the certificate to `cert` and the key (0600) to `key`.
    pub fn write_pem_as(&self, cert: PathBuf, key: PathBuf) -> Result<PemFiles, CertError> {
        write(&cert, self.cert_pem().as_bytes(), 0o644)?;
        write(&key, self.key_pem().as_bytes(), 0o600)?;
        Ok(PemFiles { cert, key })
    }

    /// A TLS connector that trusts this certificate only.
    pub fn connector(&self) -> Result<TlsConnector, CertError> {
        connector_trusting(&[self.der()])
    }
}

/// A certificate authority that issues leaves.
pub struct Authority {
    ca: CertKey,
    params: CertificateParams,
}

impl Authority {
    /// A new self-signed CA called `name`.
    pub fn new(name: &str) -> Result<Authority, CertError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate()?;
        let cert = params.clone().self_signed(&key)?;
        Ok(Authority {
            ca: CertKey { cert, key },
            params,
        })
    }

    /// The CA's own certificate and key (its certificate is what clients pin).
    pub fn ca(&self) -> &CertKey {
        &self.ca
    }

    /// A leaf for `names`, signed by this CA.
    pub fn issue(&self, names: &[&str]) -> Result<CertKey, CertError> {
        let params = CertificateParams::new(owned(names))?;
        let key = KeyPair::generate()?;
        // rcgen signs with the issuer's parameters as they were when it was made.
        let issuer = self.params.clone().self_signed(&self.ca.key)?;
        let cert = params.signed_by(&key, &issuer, &self.ca.key)?;
        Ok(CertKey { cert, key })
    }
}

/// A TLS connector (aws-lc-rs, safe default versions) trusting exactly `roots`.
pub fn connector_trusting(roots: &[CertificateDer<'static>]) -> Result<TlsConnector, CertError> {
    let mut store = RootCertStore::empty();
    for root in roots {
        store.add(root.clone())?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CertError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .and_then(|mut f| f.write_all(bytes));
    result.map_err(|source| CertError::Write {
        path: path.to_owned(),
        source,
    })
}
