//! RSA keys for tests: the Go-exported vector keys of `proto/tests/vectors/keys/`, and
//! RSA-4096 keys generated once per process.

#![allow(clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::OnceLock;

use gochat_proto::crypto::PrivateKey;

/// The path of a file in `proto/tests/vectors/keys/`.
pub fn vector_key_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../proto/tests/vectors/keys")
        .join(file)
}

/// The text of a vector key file (`alice.pub.reg.pem`, ...).
pub fn vector_file(file: &str) -> Vec<u8> {
    let path = vector_key_path(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The Go-exported keys: 0 alice, 1 bob, 2 carol (RSA-4096), 3 pyclient (RSA-2048).
pub fn vector_keys() -> &'static [PrivateKey] {
    static KEYS: OnceLock<Vec<PrivateKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        ["alice", "bob", "carol", "pyclient"]
            .iter()
            .map(|name| {
                let pem = vector_file(&format!("{name}.priv.pem"));
                PrivateKey::from_pem(&pem).expect("vector key parses")
            })
            .collect()
    })
}

/// Two freshly generated RSA-4096 keys (made once per process, in parallel).
pub fn generated_keys() -> &'static [PrivateKey] {
    static KEYS: OnceLock<Vec<PrivateKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let workers: Vec<_> = (0..2)
            .map(|_| std::thread::spawn(|| PrivateKey::generate().expect("key generation")))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("key thread"))
            .collect()
    })
}

/// Key number `i`: the four vector keys first, then the generated ones.
pub fn key(i: usize) -> &'static PrivateKey {
    let vectors = vector_keys();
    if i < vectors.len() {
        &vectors[i]
    } else {
        &generated_keys()[i - vectors.len()]
    }
}
