//! One module per subcommand; each has its clap arguments and an async `run`.

pub mod account;
pub mod admin;
pub mod completions;
pub mod config;
pub mod contact;
pub mod contacts;
pub mod conversations;
pub mod daemon;
pub mod delete;
pub mod history;
pub mod hooks;
pub mod import;
pub mod inbox;
pub mod key;
pub mod man;
pub mod read;
pub mod request;
pub mod search;
pub mod send;
pub mod server;
pub mod shell;
pub mod users;
pub mod version;
pub mod watch;
