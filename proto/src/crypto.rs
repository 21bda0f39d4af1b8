//! RSA-4096 with OAEP (SHA-256, MGF1-SHA-256, empty label) on aws-lc-rs: key generation,
//! constant-time decryption, CRLF-free encryption, the Go client's PKCS#1 key files, and
//! splitting long texts into single-block pieces.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey,
};
use pkcs8::der::{Decode, Encode};
use pkcs8::{AlgorithmIdentifierRef, PrivateKeyInfo};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::wire::{CRLF, PublicKey, PublicKeyError, decode_pem_any, encode_pem};

/// Key size used for new accounts.
pub const KEY_BITS: usize = 4096;
/// OAEP-SHA256 overhead: two hashes plus two bytes.
const OAEP_OVERHEAD: usize = 2 * 32 + 2;
/// Largest plaintext one RSA-4096 OAEP-SHA256 block carries.
pub const MAX_PLAINTEXT: usize = KEY_BITS / 8 - OAEP_OVERHEAD;
/// The label of the Go client's private key file.
pub const PRIVATE_KEY_LABEL: &str = "RSA PRIVATE KEY";
/// Attempts at a CRLF-free ciphertext before giving up (each fails with p ≈ 0.8 %).
const MAX_ENCRYPT_ATTEMPTS: usize = 32;

/// Cryptographic failures.
#[derive(Debug, Error)]
pub enum CryptoError {
    /// Key generation failed.
    #[error("RSA key generation failed")]
    KeyGeneration,
    /// The key is not acceptable to the crypto provider (size 2048–8192 bits).
    #[error("RSA key rejected: {0}")]
    KeyRejected(String),
    /// The private key file could not be read.
    #[error("not a PKCS#1 RSA private key in PEM")]
    BadPrivateKey,
    /// The public key could not be parsed.
    #[error(transparent)]
    PublicKey(#[from] PublicKeyError),
    /// The plaintext does not fit in one block.
    #[error("plaintext of {len} bytes exceeds the {max}-byte limit of this key")]
    TooLong {
        /// Plaintext length.
        len: usize,
        /// What the key allows.
        max: usize,
    },
    /// Encryption failed.
    #[error("RSA encryption failed")]
    Encrypt,
    /// Decryption failed (wrong key or corrupted ciphertext).
    #[error("RSA decryption failed")]
    Decrypt,
}

/// A user's RSA private key, usable for constant-time OAEP decryption.
pub struct PrivateKey {
    key: PrivateDecryptingKey,
    inner: OaepPrivateDecryptingKey,
    public: PublicKey,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({:?})", self.public)
    }
}

impl PrivateKey {
    /// Generates a new RSA-4096 key.
    pub fn generate() -> Result<Self, CryptoError> {
        let key = PrivateDecryptingKey::generate(KeySize::Rsa4096)
            .map_err(|_| CryptoError::KeyGeneration)?;
        Self::from_aws(key)
    }

    fn from_aws(key: PrivateDecryptingKey) -> Result<Self, CryptoError> {
        let spki = key
            .public_key()
            .as_der()
            .map_err(|_| CryptoError::KeyGeneration)?;
        let public = PublicKey::from_der(spki.as_ref())?;
        let inner = OaepPrivateDecryptingKey::new(key.clone())
            .map_err(|e| CryptoError::KeyRejected(e.to_string()))?;
        Ok(PrivateKey { key, inner, public })
    }

    /// Reads a private key from PKCS#1 DER (the Go client's format) or PKCS#8 DER.
    pub fn from_der(der: &[u8]) -> Result<Self, CryptoError> {
        let pkcs8 = match PrivateKeyInfo::from_der(der) {
            Ok(_) => Zeroizing::new(der.to_vec()),
            Err(_) => {
                let info = PrivateKeyInfo::new(rsa_algorithm(), der);
                Zeroizing::new(info.to_der().map_err(|_| CryptoError::BadPrivateKey)?)
            }
        };
        let key = PrivateDecryptingKey::from_pkcs8(&pkcs8)
            .map_err(|e| CryptoError::KeyRejected(e.to_string()))?;
        Self::from_aws(key)
    }

    /// Reads a PEM private key of any label with a PKCS#1 (or PKCS#8) body.
    pub fn from_pem(pem: &[u8]) -> Result<Self, CryptoError> {
        let der = Zeroizing::new(decode_pem_any(pem).ok_or(CryptoError::BadPrivateKey)?);
        Self::from_der(&der)
    }

    /// The PKCS#1 DER encoding.
    pub fn to_pkcs1_der(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let pkcs8 = self.key.as_der().map_err(|_| CryptoError::BadPrivateKey)?;
        let info =
            PrivateKeyInfo::from_der(pkcs8.as_ref()).map_err(|_| CryptoError::BadPrivateKey)?;
        Ok(Zeroizing::new(info.private_key.to_vec()))
    }

    /// The key file exactly as the Go client exports it (`RSA PRIVATE KEY`, PKCS#1).
    pub fn to_pkcs1_pem(&self) -> Result<Zeroizing<String>, CryptoError> {
        let der = self.to_pkcs1_der()?;
        Ok(Zeroizing::new(encode_pem(PRIVATE_KEY_LABEL, &der)))
    }

    /// The matching public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Decrypts one OAEP-SHA256 block (constant time in the key).
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let mut out = Zeroizing::new(vec![0u8; self.inner.min_output_size()]);
        let len = self
            .inner
            .decrypt(&OAEP_SHA256_MGF1SHA256, ciphertext, &mut out, None)
            .map_err(|_| CryptoError::Decrypt)?
            .len();
        out.truncate(len);
        Ok(out)
    }
}

fn rsa_algorithm() -> AlgorithmIdentifierRef<'static> {
    AlgorithmIdentifierRef {
        oid: pkcs1::ALGORITHM_OID,
        parameters: Some(pkcs8::der::asn1::AnyRef::NULL),
    }
}

/// A public key prepared for OAEP encryption.
pub struct EncryptingKey {
    inner: OaepPublicEncryptingKey,
}

impl std::fmt::Debug for EncryptingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptingKey({} bits)", self.inner.key_size_bits())
    }
}

impl EncryptingKey {
    /// Prepares `key` for encryption.
    pub fn new(key: &PublicKey) -> Result<Self, CryptoError> {
        let public = PublicEncryptingKey::from_der(key.spki_der())
            .map_err(|e| CryptoError::KeyRejected(e.to_string()))?;
        let inner = OaepPublicEncryptingKey::new(public)
            .map_err(|e| CryptoError::KeyRejected(e.to_string()))?;
        Ok(EncryptingKey { inner })
    }

    /// Largest plaintext this key encrypts in one block.
    pub fn max_plaintext(&self) -> usize {
        self.inner.max_plaintext_size(&OAEP_SHA256_MGF1SHA256)
    }

    /// Encrypts one block, once. The ciphertext may contain CRLF.
    pub fn encrypt_once(&self, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let max = self.max_plaintext();
        if plaintext.len() > max {
            return Err(CryptoError::TooLong {
                len: plaintext.len(),
                max,
            });
        }
        let mut out = vec![0u8; self.inner.ciphertext_size()];
        let len = self
            .inner
            .encrypt(&OAEP_SHA256_MGF1SHA256, plaintext, &mut out, None)
            .map_err(|_| CryptoError::Encrypt)?
            .len();
        out.truncate(len);
        Ok(out)
    }

    /// Encrypts one block, re-encrypting until the ciphertext holds no CRLF, so that peers
    /// which split every argument on CRLF (the deployed Go implementation) can read it.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        for _ in 0..MAX_ENCRYPT_ATTEMPTS {
            let ct = self.encrypt_once(plaintext)?;
            if memchr::memmem::find(&ct, CRLF).is_none() {
                return Ok(ct);
            }
        }
        Err(CryptoError::Encrypt)
    }
}

/// Splits `text` into pieces of at most `max` bytes, never inside a UTF-8 character.
/// An empty text gives one empty piece (an empty message is still a message).
pub fn split_text(text: &str, max: usize) -> Vec<&str> {
    let max = max.max(4);
    let mut pieces = Vec::with_capacity(text.len() / max + 1);
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        pieces.push(head);
        rest = tail;
    }
    pieces.push(rest);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_respects_utf8_and_limit() {
        let text = "é".repeat(300); // 600 bytes
        let parts = split_text(&text, MAX_PLAINTEXT);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].len(), 446);
        assert_eq!(parts.concat(), text);
        assert_eq!(split_text("", MAX_PLAINTEXT), vec![""]);
        let cjk = "語".repeat(200);
        for p in split_text(&cjk, MAX_PLAINTEXT) {
            assert!(p.len() <= 446);
        }
    }

    #[test]
    fn max_plaintext_is_446() {
        assert_eq!(MAX_PLAINTEXT, 446);
    }
}
