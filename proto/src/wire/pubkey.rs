//! Public keys as they travel in `REG` and `REQ`: PEM text. Parsing accepts any label, skips
//! leading junk and takes an SPKI or PKCS#1 body (or raw DER); output is always the deployed
//! implementation's form: label `RSA PUBLIC KEY` around SPKI DER, 64-column base64, LF endings.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pkcs8::der::asn1::BitStringRef;
use pkcs8::der::{Decode, Encode};
use pkcs8::spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The label the Go implementation writes around a public key.
pub const PUBLIC_KEY_LABEL: &str = "RSA PUBLIC KEY";

/// Why a public key argument is not usable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PublicKeyError {
    /// No PEM block was found and the bytes are not DER either.
    #[error("no PEM block found")]
    NoPem,
    /// The PEM body is not valid base64.
    #[error("PEM body is not valid base64")]
    Base64,
    /// The body is neither an RSA SPKI nor a PKCS#1 public key.
    #[error("not an RSA public key")]
    NotRsa,
}

/// An RSA public key with its canonical SPKI DER encoding.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    spki_der: Vec<u8>,
    bits: usize,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PublicKey({} bits, {})",
            self.bits,
            self.fingerprint_hex()
        )
    }
}

impl PublicKey {
    /// Parses a key argument: PEM of any label (SPKI or PKCS#1 body), or raw DER.
    pub fn parse(bytes: &[u8]) -> Result<Self, PublicKeyError> {
        match pem_body(bytes) {
            Some(body) => {
                let der = decode_base64_lines(body)?;
                Self::from_der(&der)
            }
            None => Self::from_der(bytes).map_err(|_| PublicKeyError::NoPem),
        }
    }

    /// Parses SPKI or PKCS#1 DER.
    pub fn from_der(der: &[u8]) -> Result<Self, PublicKeyError> {
        let pkcs1_der = match SubjectPublicKeyInfoRef::from_der(der) {
            Ok(spki) if spki.algorithm.oid == pkcs1::ALGORITHM_OID => spki
                .subject_public_key
                .as_bytes()
                .ok_or(PublicKeyError::NotRsa)?,
            Ok(_) => return Err(PublicKeyError::NotRsa),
            Err(_) => der,
        };
        let key = pkcs1::RsaPublicKey::from_der(pkcs1_der).map_err(|_| PublicKeyError::NotRsa)?;
        let modulus = key.modulus.as_bytes();
        let bits = match modulus.first() {
            Some(&top) if top != 0 => modulus.len() * 8 - top.leading_zeros() as usize,
            _ => return Err(PublicKeyError::NotRsa),
        };
        let spki = SubjectPublicKeyInfoRef {
            algorithm: AlgorithmIdentifierRef {
                oid: pkcs1::ALGORITHM_OID,
                parameters: Some(pkcs8::der::asn1::AnyRef::NULL),
            },
            subject_public_key: BitStringRef::from_bytes(pkcs1_der)
                .map_err(|_| PublicKeyError::NotRsa)?,
        };
        let spki_der = spki.to_der().map_err(|_| PublicKeyError::NotRsa)?;
        Ok(PublicKey { spki_der, bits })
    }

    /// The SubjectPublicKeyInfo DER encoding.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// PEM text exactly as the Go implementation emits it.
    pub fn to_pem(&self) -> String {
        encode_pem(PUBLIC_KEY_LABEL, &self.spki_der)
    }

    /// SHA-256 over the SPKI DER.
    pub fn fingerprint(&self) -> [u8; 32] {
        Sha256::digest(&self.spki_der).into()
    }

    /// The fingerprint as lower-case hex, colon-free.
    pub fn fingerprint_hex(&self) -> String {
        self.fingerprint()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Finds the base64 body of the first PEM block, whatever its label.
fn pem_body(bytes: &[u8]) -> Option<&[u8]> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    const END: &[u8] = b"-----END ";
    let start = memchr::memmem::find(bytes, BEGIN)?;
    let after_begin = &bytes[start + BEGIN.len()..];
    let label_end = memchr::memmem::find(after_begin, b"-----")?;
    let body_start = &after_begin[label_end + 5..];
    let end = memchr::memmem::find(body_start, END)?;
    Some(&body_start[..end])
}

fn decode_base64_lines(body: &[u8]) -> Result<Vec<u8>, PublicKeyError> {
    let compact: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    STANDARD.decode(compact).map_err(|_| PublicKeyError::Base64)
}

/// Encodes DER as PEM the way Go's `pem.EncodeToMemory` does: 64-column base64, LF endings,
/// a trailing LF.
pub fn encode_pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for line in b64.as_bytes().chunks(64) {
        // base64 output is ASCII.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Decodes the first PEM block of any label into its DER body.
pub fn decode_pem_any(bytes: &[u8]) -> Option<Vec<u8>> {
    pem_body(bytes).and_then(|b| decode_base64_lines(b).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_rejected() {
        assert_eq!(PublicKey::parse(b"hello"), Err(PublicKeyError::NoPem));
        assert_eq!(
            PublicKey::parse(b"-----BEGIN X-----\n!!!\n-----END X-----\n"),
            Err(PublicKeyError::Base64)
        );
        assert_eq!(
            PublicKey::parse(b"-----BEGIN X-----\nAAAA\n-----END X-----\n"),
            Err(PublicKeyError::NotRsa)
        );
    }

    #[test]
    fn pem_layout() {
        let pem = encode_pem("T", &[0u8; 60]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN T-----");
        assert_eq!(lines[1].len(), 64);
        assert!(pem.ends_with("-----END T-----\n"));
    }
}
