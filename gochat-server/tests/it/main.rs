//! gochat-server's integration tests, in one binary (one link instead of one per file).
//! Run one group with a filter, e.g. `cargo test -p gochat-server --test it limits::`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod common;

mod admin_live;
mod catch_up;
mod cluster;
mod durability;
mod hooks_abuse;
mod hostile;
mod import_go;
mod limits;
mod mailbox;
mod mailbox_migration;
mod metrics;
mod packaging_files;
mod probe;
mod protocol;
mod store;
mod tls_reload;
mod user_list;
mod verif_fresh;
