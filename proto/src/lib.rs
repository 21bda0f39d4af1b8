//! `gochat-proto`: the gochat v1 wire protocol shared by the server, the daemon and tests.
//!
//! - [`wire`]: header, framing, packets, encodings, typed commands and a tokio codec;
//! - [`crypto`]: RSA-4096 OAEP-SHA256 on aws-lc-rs and the Go client's key files.

pub mod crypto;
#[cfg(feature = "ipc")]
pub mod ipc;
pub mod private_file;
pub mod wire;
