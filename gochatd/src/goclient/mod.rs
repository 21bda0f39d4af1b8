//! Reading the Go gochat client's local data: its SQLite `client.db` ([`source`]) and the
//! password-encrypted private keys in it ([`key`]). The import itself (what becomes a server
//! profile, an account, a pinned key, a message) is `service::go_import`.

pub mod key;
pub mod source;
