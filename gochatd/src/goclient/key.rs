//! The Go client's encrypted private key (`local_users.prv_key`, `cdb/password.go`).
//!
//! The blob is `nonce(12) ‖ AES-256-GCM(PKCS#1 PEM) ‖ tag(16) ‖ salt(32)`; the AES key is
//! scrypt(password, salt, N = 32768, r = 8, p = 1, 32 bytes), with no associated data.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use gochat_proto::crypto::PrivateKey;
use zeroize::Zeroizing;

/// Length of the salt at the end of the blob.
const SALT_LEN: usize = 32;
/// Length of the AES-GCM tag.
const TAG_LEN: usize = 16;
/// log₂ of scrypt's N (32768).
const SCRYPT_LOG_N: u8 = 15;
/// scrypt's block size r.
const SCRYPT_R: u32 = 8;
/// scrypt's parallelism p.
const SCRYPT_P: u32 = 1;
/// Length of the AES-256 key.
const KEY_LEN: usize = 32;

/// Why a Go client key could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum GoKeyError {
    /// The AEAD check failed: a wrong password (or a damaged blob: they look the same).
    #[error("wrong password (or a damaged key)")]
    WrongPassword,
    /// The blob is too short to hold a nonce, a tag and a salt.
    #[error("the stored key is {0} bytes, too short to be an encrypted key")]
    TooShort(usize),
    /// The plaintext is not a usable PKCS#1 private key.
    #[error("the decrypted key is not a usable private key: {0}")]
    NotAKey(String),
    /// The key derivation or cipher could not be set up.
    #[error("cannot derive the key: {0}")]
    Kdf(String),
}

/// Decrypts `blob` with the Go client password `password` and parses the PEM inside.
/// CPU-heavy (scrypt with 32 MiB): run it on a blocking thread.
pub fn open(blob: &[u8], password: &str) -> Result<PrivateKey, GoKeyError> {
    let pem = decrypt(blob, password)?;
    PrivateKey::from_pem(&pem).map_err(|e| GoKeyError::NotAKey(e.to_string()))
}

/// Decrypts `blob` with `password`, returning the plaintext (the PKCS#1 PEM).
pub fn decrypt(blob: &[u8], password: &str) -> Result<Zeroizing<Vec<u8>>, GoKeyError> {
    if blob.len() < NONCE_LEN + TAG_LEN + SALT_LEN {
        return Err(GoKeyError::TooShort(blob.len()));
    }
    let (nonce, rest) = blob.split_at(NONCE_LEN);
    let (sealed, salt) = rest.split_at(rest.len() - SALT_LEN);
    let params = scrypt::Params::new(SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, KEY_LEN)
        .map_err(|e| GoKeyError::Kdf(e.to_string()))?;
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    scrypt::scrypt(password.as_bytes(), salt, &params, key.as_mut())
        .map_err(|e| GoKeyError::Kdf(e.to_string()))?;
    let cipher = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key.as_ref()).map_err(|e| GoKeyError::Kdf(e.to_string()))?,
    );
    let nonce =
        Nonce::try_assume_unique_for_key(nonce).map_err(|e| GoKeyError::Kdf(e.to_string()))?;
    let mut buf = Zeroizing::new(sealed.to_vec());
    let len = cipher
        .open_in_place(nonce, Aad::empty(), buf.as_mut_slice())
        .map_err(|_| GoKeyError::WrongPassword)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_blobs_are_rejected_before_any_work() {
        assert!(matches!(
            decrypt(&[0u8; 59], "x"),
            Err(GoKeyError::TooShort(59))
        ));
    }
}
