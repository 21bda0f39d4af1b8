//! gochatd's integration tests, in one binary (one link instead of one per file).

mod certs;
mod common;

mod catch_up;
mod daemon;
mod database_lock;
mod errors;
mod go_client;
mod go_server_import;
mod hostile_server;
mod keys;
mod keys_and_links;
mod notify;
mod packaging;
mod process;
mod sent_once;
mod server_trust;
mod store;
mod store_imports;
