//! Private keys at rest: sealed with a passphrase, or plain for unattended use.
//!
//! A [`SealedKey`] is either the PKCS#1 DER of the key (`encrypted == false`, the form the Go
//! client's key file has once its PEM armour is removed) or an encrypted blob in the format
//! below. An empty passphrase means "no passphrase": sealing with `None` or `""` stores the
//! key plain.
//!
//! # Encrypted format, version 1
//!
//! All integers are big-endian.
//!
//! | offset | length | field                                                         |
//! |-------:|-------:|---------------------------------------------------------------|
//! |      0 |      4 | magic and version: ASCII `GCK1`                               |
//! |      4 |      1 | KDF id: `0x01` = Argon2id, version 0x13                       |
//! |      5 |      4 | Argon2id memory cost `m_cost`, in KiB                         |
//! |      9 |      4 | Argon2id passes `t_cost`                                      |
//! |     13 |      4 | Argon2id lanes `p_cost`                                       |
//! |     17 |     16 | random salt                                                   |
//! |     33 |     12 | random AES-GCM nonce                                          |
//! |     45 |    n+16| AES-256-GCM ciphertext of the PKCS#1 DER, then the 16-byte tag |
//!
//! The 32-byte AES key is Argon2id(passphrase as UTF-8, salt, m_cost, t_cost, p_cost). The
//! 45 header bytes (offsets 0–44) are the AEAD's associated data, so the KDF parameters, salt
//! and nonce are authenticated together with the key. Each sealing draws a fresh salt and
//! nonce.
//!
//! New keys use [`KdfParams::DEFAULT`] (64 MiB, 3 passes, 1 lane). When opening a blob,
//! parameters outside [`KdfParams`]' limits (for example more than 1 GiB of memory) are
//! rejected as [`KeyError::Corrupt`] before any work is done, so a damaged or hostile file
//! cannot make the daemon allocate or compute without bound. A failed AEAD check is
//! reported as [`KeyError::WrongPassphrase`]: a wrong passphrase and a damaged salt, nonce or
//! ciphertext are indistinguishable.

use std::process::Stdio;
use std::time::Duration;

use argon2::{Algorithm, Argon2, Block, Params, Version};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use gochat_proto::crypto::{CryptoError, PrivateKey};
use rustix::process::{Pid, Signal, kill_process_group};
use thiserror::Error;
use zeroize::Zeroizing;

/// Magic and format version of an encrypted key.
const MAGIC: &[u8; 4] = b"GCK1";
/// KDF id of Argon2id (version 0x13).
const KDF_ARGON2ID: u8 = 1;
/// Salt length.
const SALT_LEN: usize = 16;
/// Length of the AES-256 key.
const KEY_LEN: usize = 32;
/// Length of the AES-GCM tag.
const TAG_LEN: usize = 16;
/// Length of the header (the AEAD's associated data).
const HEADER_LEN: usize = MAGIC.len() + 1 + 3 * 4 + SALT_LEN + NONCE_LEN;
/// Most bytes a passphrase command may print (on stdout; stderr is cut there too).
pub const MAX_COMMAND_OUTPUT: usize = 4096;
/// How much of a failing passphrase command's stderr goes into the error.
const MAX_STDERR_IN_ERROR: usize = 512;

/// A private key as stored: encrypted with a passphrase, or plain for unattended use.
///
/// `Debug` does not print the blob, which for a plain key is the private key itself.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedKey {
    /// The encrypted blob (see the module documentation), or the key's PKCS#1 DER.
    pub blob: Vec<u8>,
    /// Whether `blob` is encrypted.
    pub encrypted: bool,
}

impl std::fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedKey")
            .field("blob", &format_args!("<{} bytes>", self.blob.len()))
            .field("encrypted", &self.encrypted)
            .finish()
    }
}

impl SealedKey {
    /// The KDF parameters recorded in an encrypted blob; `None` for a plain key or a blob
    /// whose header cannot be read. Lets callers notice keys sealed with weaker settings
    /// than [`KdfParams::DEFAULT`].
    pub fn kdf_params(&self) -> Option<KdfParams> {
        if !self.encrypted {
            return None;
        }
        parse(&self.blob).ok().map(|parsed| parsed.params)
    }
}

/// Failures sealing or unsealing a private key.
#[derive(Debug, Error)]
pub enum KeyError {
    /// The passphrase does not open the key (or the encrypted blob was altered).
    #[error("wrong passphrase (or the encrypted key file was altered)")]
    WrongPassphrase,
    /// The key is encrypted and no (or an empty) passphrase was given.
    #[error("the private key is encrypted and no passphrase was given")]
    PassphraseRequired,
    /// The stored key cannot be read.
    #[error("the stored private key is corrupt: {0}")]
    Corrupt(String),
    /// The key could not be encoded or decoded.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// Key derivation, randomness or cipher setup failed, or the KDF parameters are unusable.
    #[error("key derivation failed: {0}")]
    Kdf(String),
    /// The configured passphrase command failed.
    #[error("passphrase command failed: {0}")]
    PassphraseCommand(String),
}

/// Argon2id cost parameters.
///
/// Anything cheaper than [`KdfParams::DEFAULT`] makes a stolen key file easier to
/// brute-force; cheaper settings are meant for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory cost in KiB: at least 8 × `p_cost`, at most [`KdfParams::MAX_M_COST_KIB`].
    pub m_cost_kib: u32,
    /// Number of passes: 1 to [`KdfParams::MAX_T_COST`].
    pub t_cost: u32,
    /// Degree of parallelism (lanes): 1 to [`KdfParams::MAX_P_COST`].
    pub p_cost: u32,
}

impl KdfParams {
    /// The parameters of newly sealed keys: 64 MiB, 3 passes, 1 lane.
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };
    /// Largest accepted memory cost: 1 GiB.
    pub const MAX_M_COST_KIB: u32 = 1024 * 1024;
    /// Largest accepted number of passes.
    pub const MAX_T_COST: u32 = 64;
    /// Largest accepted number of lanes.
    pub const MAX_P_COST: u32 = 16;

    /// Checks the limits and builds the Argon2 parameters.
    fn argon2_params(&self) -> Result<Params, String> {
        if self.m_cost_kib > Self::MAX_M_COST_KIB {
            return Err(format!(
                "Argon2id memory cost of {} KiB exceeds the limit of {} KiB",
                self.m_cost_kib,
                Self::MAX_M_COST_KIB
            ));
        }
        if !(1..=Self::MAX_T_COST).contains(&self.t_cost) {
            return Err(format!(
                "Argon2id pass count {} is outside 1..={}",
                self.t_cost,
                Self::MAX_T_COST
            ));
        }
        if !(1..=Self::MAX_P_COST).contains(&self.p_cost) {
            return Err(format!(
                "Argon2id lane count {} is outside 1..={}",
                self.p_cost,
                Self::MAX_P_COST
            ));
        }
        Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(KEY_LEN)).map_err(|e| {
            format!(
                "Argon2id parameters m={} KiB, t={}, p={} rejected: {e}",
                self.m_cost_kib, self.t_cost, self.p_cost
            )
        })
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Seals `key` with `passphrase` using [`KdfParams::DEFAULT`]; `None` or `""` stores it
/// plain (the blob is then the key's PKCS#1 DER).
pub fn seal(key: &PrivateKey, passphrase: Option<&str>) -> Result<SealedKey, KeyError> {
    seal_with_params(key, passphrase, KdfParams::DEFAULT)
}

/// Like [`seal`] with explicit KDF parameters (ignored for a plain key). Parameters that
/// [`unseal`] would refuse are rejected here as [`KeyError::Kdf`].
pub fn seal_with_params(
    key: &PrivateKey,
    passphrase: Option<&str>,
    params: KdfParams,
) -> Result<SealedKey, KeyError> {
    let mut der = key.to_pkcs1_der()?;
    let Some(passphrase) = non_empty(passphrase) else {
        return Ok(SealedKey {
            // Moves the allocation out; the emptied `Zeroizing` has nothing left to wipe.
            blob: std::mem::take(&mut *der),
            encrypted: false,
        });
    };
    let argon2_params = params.argon2_params().map_err(KeyError::Kdf)?;

    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut salt)
        .and_then(|()| aws_lc_rs::rand::fill(&mut nonce))
        .map_err(|_| KeyError::Kdf("the system random number generator failed".into()))?;

    let mut blob = Vec::with_capacity(HEADER_LEN + der.len() + TAG_LEN);
    blob.extend_from_slice(MAGIC);
    blob.push(KDF_ARGON2ID);
    blob.extend_from_slice(&params.m_cost_kib.to_be_bytes());
    blob.extend_from_slice(&params.t_cost.to_be_bytes());
    blob.extend_from_slice(&params.p_cost.to_be_bytes());
    blob.extend_from_slice(&salt);
    blob.extend_from_slice(&nonce);
    debug_assert_eq!(blob.len(), HEADER_LEN);

    let aead = aead_key(passphrase, argon2_params, &salt)?;
    // Room for the tag up front, so that sealing never reallocates and leaves a stray copy
    // of the plaintext behind.
    let mut in_out = Zeroizing::new(Vec::with_capacity(der.len() + TAG_LEN));
    in_out.extend_from_slice(&der);
    aead.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(&blob[..HEADER_LEN]),
        &mut *in_out,
    )
    .map_err(|_| KeyError::Kdf("AES-256-GCM encryption failed".into()))?;
    blob.extend_from_slice(&in_out);
    Ok(SealedKey {
        blob,
        encrypted: true,
    })
}

/// Opens a sealed key. A plain key needs no passphrase (one given is ignored); an encrypted
/// one fails with [`KeyError::PassphraseRequired`] without one (or with `""`).
pub fn unseal(sealed: &SealedKey, passphrase: Option<&str>) -> Result<PrivateKey, KeyError> {
    if !sealed.encrypted {
        if sealed.blob.starts_with(MAGIC) {
            return Err(KeyError::Corrupt(
                "the key is marked plain but holds an encrypted key".into(),
            ));
        }
        return parse_der(&sealed.blob, "the plain key");
    }
    let parsed = parse(&sealed.blob)?;
    let passphrase = non_empty(passphrase).ok_or(KeyError::PassphraseRequired)?;
    let aead = aead_key(passphrase, parsed.argon2_params, &parsed.salt)?;
    let mut in_out = Zeroizing::new(parsed.ciphertext.to_vec());
    let der = aead
        .open_in_place(
            Nonce::assume_unique_for_key(parsed.nonce),
            Aad::from(parsed.header),
            &mut in_out[..],
        )
        .map_err(|_| KeyError::WrongPassphrase)?;
    parse_der(der, "the decrypted key")
}

/// Re-seals a key under a new passphrase with [`KdfParams::DEFAULT`] (so it also brings old
/// blobs up to the current parameters). `old` opens the key (ignored if it is plain);
/// `new` of `None` or `""` stores it plain.
pub fn change_passphrase(
    sealed: &SealedKey,
    old: Option<&str>,
    new: Option<&str>,
) -> Result<SealedKey, KeyError> {
    change_passphrase_with_params(sealed, old, new, KdfParams::DEFAULT)
}

/// Like [`change_passphrase`] with explicit KDF parameters for the new blob.
pub fn change_passphrase_with_params(
    sealed: &SealedKey,
    old: Option<&str>,
    new: Option<&str>,
    params: KdfParams,
) -> Result<SealedKey, KeyError> {
    let key = unseal(sealed, old)?;
    seal_with_params(&key, new, params)
}

/// Runs a configured `passphrase_command` (via `sh -c`) and returns its stdout without the
/// trailing newline; errors say what failed.
///
/// The command's stdin is closed (`/dev/null`) and its stderr is captured for the error
/// message. One trailing `\n` (or `\r\n`) is removed and nothing else, so passphrases may
/// start or end with spaces. A command that fails, prints nothing, prints more than
/// [`MAX_COMMAND_OUTPUT`] bytes, or prints something that is not UTF-8 is an error.
///
/// The command runs in its own process group. If it has not finished within `timeout`, the
/// whole group is killed (SIGKILL) and the command reaped before this returns; so is it when
/// the returned future is dropped.
pub async fn passphrase_from_command(
    command: &str,
    timeout: Duration,
) -> Result<Zeroizing<String>, KeyError> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| KeyError::PassphraseCommand(format!("could not run `sh -c`: {e}")))?;
    let group = child
        .id()
        .and_then(|pid| Pid::from_raw(pid.try_into().ok()?));
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let run = async {
        let (stdout, stderr) = tokio::join!(read_limited(stdout), read_limited(stderr));
        let status = child.wait().await;
        (stdout, stderr, status)
    };
    let (stdout, stderr, status) = match tokio::time::timeout(timeout, run).await {
        Ok(done) => done,
        Err(_) => {
            kill_group(group);
            // Kills the shell if it still runs and waits for it: no zombie is left.
            let _ = child.kill().await;
            return Err(KeyError::PassphraseCommand(format!(
                "it did not finish within {timeout:?} and was killed"
            )));
        }
    };
    let read_failed =
        |e: std::io::Error| KeyError::PassphraseCommand(format!("cannot read its output: {e}"));
    let (stdout, stderr) = (stdout.map_err(read_failed)?, stderr.map_err(read_failed)?);
    let status =
        status.map_err(|e| KeyError::PassphraseCommand(format!("cannot wait for it: {e}")))?;
    if !status.success() {
        let stderr = String::from_utf8_lossy(&stderr);
        let stderr = stderr.trim();
        let mut message = format!("it exited unsuccessfully ({status})");
        if !stderr.is_empty() {
            message.push_str(": ");
            message.push_str(truncate_at_char(stderr, MAX_STDERR_IN_ERROR));
        }
        return Err(KeyError::PassphraseCommand(message));
    }
    if stdout.len() > MAX_COMMAND_OUTPUT {
        return Err(KeyError::PassphraseCommand(format!(
            "it printed more than {MAX_COMMAND_OUTPUT} bytes"
        )));
    }
    let mut passphrase = Zeroizing::new(match std::str::from_utf8(&stdout) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            return Err(KeyError::PassphraseCommand(
                "its output is not valid UTF-8".into(),
            ));
        }
    });
    if passphrase.ends_with('\n') {
        passphrase.pop();
        if passphrase.ends_with('\r') {
            passphrase.pop();
        }
    }
    if passphrase.is_empty() {
        return Err(KeyError::PassphraseCommand(
            "it printed an empty passphrase".into(),
        ));
    }
    Ok(passphrase)
}

/// Reads a pipe to its end, keeping at most [`MAX_COMMAND_OUTPUT`] + 1 bytes in a buffer that never reallocates (so no
/// stray copy of a passphrase is left behind) and is wiped when dropped.
async fn read_limited(
    pipe: Option<impl tokio::io::AsyncRead + Unpin>,
) -> std::io::Result<Zeroizing<Vec<u8>>> {
    use tokio::io::AsyncReadExt;
    let mut buffer = Zeroizing::new(Vec::with_capacity(MAX_COMMAND_OUTPUT + 64));
    if let Some(pipe) = pipe {
        let mut pipe = pipe;
        let mut chunk = Zeroizing::new([0u8; 1024]);
        // Reads to the end (a command blocked on a full pipe would never exit), keeping only
        // what fits.
        loop {
            let n = pipe.read(&mut chunk[..]).await?;
            if n == 0 {
                break;
            }
            let room = (MAX_COMMAND_OUTPUT + 1).saturating_sub(buffer.len());
            buffer.extend_from_slice(&chunk[..n.min(room)]);
        }
    }
    Ok(buffer)
}

/// Sends SIGKILL to a command's process group (what it started in the background too).
fn kill_group(group: Option<Pid>) {
    if let Some(group) = group
        && let Err(e) = kill_process_group(group, Signal::KILL)
    {
        tracing::debug!(error = %e, "cannot kill the passphrase command's process group");
    }
}

/// The fields of an encrypted blob.
struct Parsed<'a> {
    header: &'a [u8],
    params: KdfParams,
    argon2_params: Params,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
    ciphertext: &'a [u8],
}

/// Splits an encrypted blob into its fields, checking everything that can be checked
/// without the passphrase.
fn parse(blob: &[u8]) -> Result<Parsed<'_>, KeyError> {
    let corrupt = |what: &str| KeyError::Corrupt(what.to_owned());
    if !blob.starts_with(MAGIC) {
        return Err(if blob.len() >= MAGIC.len() && blob.starts_with(b"GCK") {
            corrupt("unsupported encrypted key format version")
        } else {
            corrupt("not an encrypted gochat key (bad magic)")
        });
    }
    if blob.len() < HEADER_LEN + TAG_LEN {
        return Err(corrupt("the encrypted key is truncated"));
    }
    let (header, ciphertext) = blob.split_at(HEADER_LEN);
    let rest = &header[MAGIC.len()..];
    let (&kdf, rest) = rest.split_first().ok_or_else(|| corrupt("short header"))?;
    if kdf != KDF_ARGON2ID {
        return Err(KeyError::Corrupt(format!("unknown KDF id {kdf}")));
    }
    let (m_cost, rest) = read_u32(rest).ok_or_else(|| corrupt("short header"))?;
    let (t_cost, rest) = read_u32(rest).ok_or_else(|| corrupt("short header"))?;
    let (p_cost, rest) = read_u32(rest).ok_or_else(|| corrupt("short header"))?;
    let (salt, rest) = rest
        .split_first_chunk::<SALT_LEN>()
        .ok_or_else(|| corrupt("short header"))?;
    let (nonce, _) = rest
        .split_first_chunk::<NONCE_LEN>()
        .ok_or_else(|| corrupt("short header"))?;
    let params = KdfParams {
        m_cost_kib: m_cost,
        t_cost,
        p_cost,
    };
    let argon2_params = params.argon2_params().map_err(KeyError::Corrupt)?;
    Ok(Parsed {
        header,
        params,
        argon2_params,
        salt: *salt,
        nonce: *nonce,
        ciphertext,
    })
}

fn read_u32(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (word, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_be_bytes(*word), rest))
}

/// Derives the AES-256-GCM key from the passphrase with Argon2id.
fn aead_key(passphrase: &str, params: Params, salt: &[u8]) -> Result<LessSafeKey, KeyError> {
    let blocks = params.block_count();
    let m_cost = params.m_cost();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    // Allocate the working memory ourselves: a failed allocation is an error rather than an
    // abort, and the memory (derived from the passphrase) is wiped afterwards.
    let mut memory: Vec<Block> = Vec::new();
    memory
        .try_reserve_exact(blocks)
        .map_err(|_| KeyError::Kdf(format!("cannot allocate {m_cost} KiB for Argon2id")))?;
    memory.resize(blocks, Block::new());
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    let result = argon2.hash_password_into_with_memory(
        passphrase.as_bytes(),
        salt,
        &mut key[..],
        &mut memory,
    );
    memory.fill(Block::new());
    std::hint::black_box(&mut memory);
    result.map_err(|e| KeyError::Kdf(e.to_string()))?;
    let unbound = UnboundKey::new(&AES_256_GCM, &key[..])
        .map_err(|_| KeyError::Kdf("AES-256-GCM key setup failed".into()))?;
    Ok(LessSafeKey::new(unbound))
}

fn parse_der(der: &[u8], what: &str) -> Result<PrivateKey, KeyError> {
    PrivateKey::from_der(der)
        .map_err(|e| KeyError::Corrupt(format!("{what} is not a usable RSA private key: {e}")))
}

fn non_empty(passphrase: Option<&str>) -> Option<&str> {
    passphrase.filter(|p| !p.is_empty())
}

fn truncate_at_char(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_length() {
        assert_eq!(HEADER_LEN, 45);
    }

    #[test]
    fn default_params_are_valid() {
        let params = KdfParams::DEFAULT.argon2_params().expect("valid");
        assert_eq!(params.m_cost(), 65536);
    }

    #[test]
    fn absurd_params_are_rejected() {
        for params in [
            KdfParams {
                m_cost_kib: KdfParams::MAX_M_COST_KIB + 1,
                ..KdfParams::DEFAULT
            },
            KdfParams {
                t_cost: 0,
                ..KdfParams::DEFAULT
            },
            KdfParams {
                t_cost: u32::MAX,
                ..KdfParams::DEFAULT
            },
            KdfParams {
                p_cost: 0,
                ..KdfParams::DEFAULT
            },
            KdfParams {
                m_cost_kib: 8,
                t_cost: 1,
                p_cost: 2,
            },
        ] {
            assert!(params.argon2_params().is_err(), "{params:?}");
        }
    }
}
