//! The service layer: the operations the API offers, on the daemon's store, event bus and
//! links, in domain types (store rows). The API layer only translates to and from protobuf.
//!
//! Messages, server profiles, contacts and housekeeping (preferences, deletion, live
//! settings) live here; the account operations (register,
//! login, keys) still live in `daemon.rs`.

pub mod contacts;
pub mod go_import;
pub mod housekeeping;
pub mod messages;
pub mod servers;
pub mod trust;
