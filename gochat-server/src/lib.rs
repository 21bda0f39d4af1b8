//! The gochat v1 server: listeners, sessions, the hub, hooks and the persistent store.
//!
//! [`server::Server`] is the running server; [`store`] its database layer (MariaDB or
//! SQLite); [`session`] serves one connection; [`hub`] holds who is online.

pub mod challenge;
pub mod cli;
pub mod config;
pub mod conn;
pub mod go_config;
pub mod hub;
pub mod import_go;
pub mod metrics;
pub mod server;
pub mod session;
pub mod sink;
pub mod store;
pub mod tls;
