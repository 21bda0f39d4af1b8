//! What a user needs to decide whether to trust a certificate: its fingerprints, subject,
//! issuer and validity, read from the DER the server presented.

use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};

/// A presented certificate, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// SHA-256 of the DER.
    pub sha256: [u8; 32],
    /// SHA-256 of the SubjectPublicKeyInfo (`None` when the certificate does not parse).
    pub spki_sha256: Option<[u8; 32]>,
    /// RFC 4514 subject (empty when the certificate does not parse).
    pub subject: String,
    /// RFC 4514 issuer.
    pub issuer: String,
    /// Start of validity, unix seconds.
    pub not_before: i64,
    /// End of validity, unix seconds.
    pub not_after: i64,
}

impl CertInfo {
    /// Describes the certificate `der`. A certificate that does not parse still gets its
    /// fingerprint (that is what a pin needs); the rest stays empty.
    pub fn of(der: &[u8]) -> CertInfo {
        let sha256 = Sha256::digest(der).into();
        let mut info = CertInfo {
            sha256,
            spki_sha256: None,
            subject: String::new(),
            issuer: String::new(),
            not_before: 0,
            not_after: 0,
        };
        if let Ok(cert) = Certificate::from_der(der) {
            let tbs = &cert.tbs_certificate;
            info.spki_sha256 = spki_of(&cert);
            info.subject = tbs.subject.to_string();
            info.issuer = tbs.issuer.to_string();
            info.not_before = secs(tbs.validity.not_before.to_unix_duration());
            info.not_after = secs(tbs.validity.not_after.to_unix_duration());
        }
        info
    }

    /// The pin of this certificate (`sha256:HEX`).
    pub fn pin(&self) -> super::Pin {
        super::Pin::Cert(self.sha256)
    }

    /// Whether it names itself as its issuer.
    pub fn self_issued(&self) -> bool {
        !self.subject.is_empty() && self.subject == self.issuer
    }
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn spki_of(cert: &Certificate) -> Option<[u8; 32]> {
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().ok()?;
    Some(Sha256::digest(&spki).into())
}

/// SHA-256 of the SubjectPublicKeyInfo of certificate `der`.
pub(super) fn spki_digest(der: &[u8]) -> Option<[u8; 32]> {
    spki_of(&Certificate::from_der(der).ok()?)
}
