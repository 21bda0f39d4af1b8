//! The service layer: the operations the API offers, on the daemon's store, event bus and
//! links, in domain types (store rows). The API layer only translates to and from protobuf.
//!
//! So far the message operations live here ([`messages`]); accounts, servers and contacts
//! still live in `daemon.rs` and `api.rs`.

pub mod messages;
