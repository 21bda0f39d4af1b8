//! Test fixtures shared by gochat's test suites (server, gochatd, CLI, TUI) and the server's
//! load tools (`loadgen`, `soak`). Dev-only: no shipped crate depends on it.
//!
//! - [`server`]: a real `gochat-server` in this process, on SQLite or on a fresh MariaDB
//!   database, with plain TCP, TLS or both;
//! - [`certs`]: rcgen certificates (self-signed, or a CA and leaves it issued), written as
//!   PEM files;
//! - [`wire`]: the one gochat v1 client of the tests and tools, with typed errors;
//! - [`session`]: that client with assertions, for tests that check the server packet by
//!   packet;
//! - [`keys`]: the Go-exported vector keys and keys generated once per process;
//! - [`wait`]: waits on state (a port that accepts, a process that exits, a predicate)
//!   instead of sleeps;
//! - [`tools`]: external tools a test needs (tmux, systemd's), which must be there in CI;
//! - [`bins`]: workspace binaries that the package under test does not build itself.

pub mod bins;
pub mod certs;
pub mod keys;
pub mod mariadb;
pub mod server;
pub mod session;
pub mod tools;
pub mod wait;
pub mod wire;

pub use server::{Backend, Listeners, ServerOptions, TestServer};
pub use session::TestClient;
pub use wire::{WireClient, WireError};
