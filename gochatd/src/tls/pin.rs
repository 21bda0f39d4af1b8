//! Certificate pins: `sha256:HEX` names a certificate by the SHA-256 of its DER,
//! `spki-sha256:HEX` names a public key by the SHA-256 of its SubjectPublicKeyInfo.

use std::fmt;
use std::io::Read as _;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};

use super::cert::spki_digest;

/// A pinned certificate or public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    /// SHA-256 of the certificate's DER.
    Cert([u8; 32]),
    /// SHA-256 of the certificate's SubjectPublicKeyInfo.
    Spki([u8; 32]),
}

/// Why a pin could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    /// Not `sha256:HEX` or `spki-sha256:HEX` with 64 hex digits.
    #[error("{0:?} is not a pin (sha256:HEX or spki-sha256:HEX, 64 hex digits)")]
    Syntax(String),
    /// The PEM file could not be read.
    #[error("cannot read certificates from {path}")]
    File {
        /// The file.
        path: String,
        /// Cause.
        source: rustls_pki_types::pem::Error,
    },
    /// The PEM file holds no certificate.
    #[error("{0} holds no certificate")]
    Empty(String),
    /// The file could not be opened or read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not a regular file (a FIFO or a device would block or never end), or larger than
    /// [`PEM_FILE_MAX`].
    #[error("{0} is not a regular file of at most 1 MiB")]
    Unfit(String),
}

/// The largest PEM file read for pins or CA certificates (a long CA bundle is ~250 KiB).
pub const PEM_FILE_MAX: u64 = 1 << 20;

impl Pin {
    /// Reads `sha256:HEX`, `spki-sha256:HEX` (colons between hex pairs allowed, any case).
    pub fn parse(text: &str) -> Result<Pin, PinError> {
        let bad = || PinError::Syntax(text.to_owned());
        let (spki, hex_part) = if let Some(rest) = text.strip_prefix("spki-sha256:") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix("sha256:") {
            (false, rest)
        } else {
            return Err(bad());
        };
        let digits: String = hex_part.chars().filter(|c| *c != ':').collect();
        let bytes: [u8; 32] = hex::decode(digits)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(bad)?;
        Ok(if spki {
            Pin::Spki(bytes)
        } else {
            Pin::Cert(bytes)
        })
    }

    /// The pin of a certificate's DER.
    pub fn of_cert(der: &[u8]) -> Pin {
        Pin::Cert(Sha256::digest(der).into())
    }

    /// Whether `der` (an end-entity certificate) is what this pin names.
    pub fn matches(&self, der: &[u8]) -> bool {
        match self {
            Pin::Cert(digest) => Sha256::digest(der).as_slice() == digest,
            Pin::Spki(digest) => spki_digest(der).is_some_and(|d| &d == digest),
        }
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pin::Cert(d) => write!(f, "sha256:{}", hex::encode(d)),
            Pin::Spki(d) => write!(f, "spki-sha256:{}", hex::encode(d)),
        }
    }
}

/// A pin for each certificate in the PEM file at `path`.
pub fn pins_of_pem_file(path: &str) -> Result<Vec<Pin>, PinError> {
    let certs = certs_of_pem_file(path)?;
    if certs.is_empty() {
        return Err(PinError::Empty(path.to_owned()));
    }
    Ok(certs.iter().map(|c| Pin::of_cert(c)).collect())
}

/// Every certificate in the PEM file at `path`.
/// Only a regular file of at most [`PEM_FILE_MAX`] bytes is read.
pub(super) fn certs_of_pem_file(path: &str) -> Result<Vec<CertificateDer<'static>>, PinError> {
    let read = |source| PinError::Read {
        path: path.to_owned(),
        source,
    };
    let unfit = || PinError::Unfit(path.to_owned());
    // Looked at before opening: opening a FIFO blocks until someone writes to it.
    let meta = std::fs::metadata(path).map_err(read)?;
    if !meta.is_file() || meta.len() > PEM_FILE_MAX {
        return Err(unfit());
    }
    let mut text = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(PEM_FILE_MAX + 1).read_to_end(&mut text))
        .map_err(read)?;
    if text.len() as u64 > PEM_FILE_MAX {
        return Err(unfit());
    }
    CertificateDer::pem_slice_iter(&text)
        .map(|c| c.map(CertificateDer::into_owned))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| PinError::File {
            path: path.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_read_back_as_written() {
        let pin = Pin::Cert([0xab; 32]);
        assert_eq!(Pin::parse(&pin.to_string()).expect("a pin"), pin);
        let spki = Pin::Spki([0x01; 32]);
        assert_eq!(Pin::parse(&spki.to_string()).expect("a pin"), spki);
        let colons = format!("sha256:{}", ["AB"; 32].join(":"));
        assert_eq!(Pin::parse(&colons).expect("a pin"), pin);
    }

    #[test]
    fn malformed_pins_are_refused() {
        for text in [
            "",
            "sha256:",
            "sha256:abcd",
            "md5:00",
            &format!("sha256:{}", "g".repeat(64)),
        ] {
            assert!(Pin::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn pem_files_that_are_huge_endless_or_garbage_are_refused() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let huge = dir.path().join("huge.pem");
        std::fs::write(&huge, vec![b'A'; (PEM_FILE_MAX + 1) as usize]).expect("written");
        let huge = huge.to_str().expect("utf-8");
        assert!(matches!(pins_of_pem_file(huge), Err(PinError::Unfit(_))));
        // Endless: read to its end, it would never stop.
        assert!(matches!(
            pins_of_pem_file("/dev/zero"),
            Err(PinError::Unfit(_))
        ));
        assert!(matches!(
            pins_of_pem_file(dir.path().to_str().expect("utf-8")),
            Err(PinError::Unfit(_))
        ));
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\n!!!notbase64\n-----END CERTIFICATE-----\n",
        )
        .expect("written");
        assert!(matches!(
            pins_of_pem_file(broken.to_str().expect("utf-8")),
            Err(PinError::File { .. })
        ));
        let none = dir.path().join("none.pem");
        std::fs::write(&none, "no certificate here\n").expect("written");
        assert!(matches!(
            pins_of_pem_file(none.to_str().expect("utf-8")),
            Err(PinError::Empty(_))
        ));
        assert!(matches!(
            pins_of_pem_file(dir.path().join("missing.pem").to_str().expect("utf-8")),
            Err(PinError::Read { .. })
        ));
    }
}
