//! `gochat-proto`: the gochat v1 wire protocol shared by the server, the daemon and tests,
//! and the daemon's local API.
//!
//! - [`wire`] (feature `wire`, on by default): header, framing, packets, encodings, typed
//!   commands and a tokio codec;
//! - [`crypto`] (feature `wire`): RSA-4096 OAEP-SHA256 on aws-lc-rs and the Go client's key
//!   files;
//! - `ipc` (feature `ipc`): gochatd's gRPC API, its typed errors and the frontends'
//!   `connect`. Frontends enable only this feature: they never speak the wire protocol;
//! - [`error_chain`] and [`private_file`] (always): an error with each cause once, and files
//!   only their owner may read, for every crate.

#[cfg(feature = "wire")]
pub mod crypto;
pub mod error_chain;
#[cfg(feature = "ipc")]
pub mod ipc;
pub mod private_file;
#[cfg(feature = "wire")]
pub mod wire;
