//! Trusting a chat server's TLS certificate: pins (of a certificate or its public key), a CA
//! file, the web PKI roots, and what a refused certificate looks like (issue 17, docs/IPC.md
//! "Server certificates").

mod cert;
mod pin;
mod verifier;

pub use cert::CertInfo;
pub use pin::{Pin, PinError, pins_of_pem_file};
pub use verifier::{Problem, TrustVerifier, Verdict};
