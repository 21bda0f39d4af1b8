//! The gochat v1 server: listeners, sessions, the hub, hooks and the persistent store.
//!
//! [`server::Server`] is the running server; [`store`] its database layer (MariaDB or
//! SQLite); [`session`] serves one connection; [`hub`] holds who is online.

pub mod admission;
pub mod broadcast;
pub mod challenge;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod conn;
pub mod control;
pub mod error_chain;
pub mod go_config;
pub mod hub;
pub mod import_go;
pub mod live_admin;
pub mod metrics;
pub mod probe;
pub mod rate;
pub mod recipients;
pub mod server;
pub mod session;
pub mod shutdown;
pub mod sink;
pub mod store;
pub mod subscribers;
pub mod tls;
