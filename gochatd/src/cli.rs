//! The command line of `gochatd`, in the library so that the packaging can generate its man
//! page and completions (`examples/gochatd-docs.rs`).

use std::path::PathBuf;

use clap::Parser;

/// The per-user gochat daemon: holds the server connections, the local store and the keys,
/// and serves frontends over a Unix socket.
#[derive(Debug, Parser)]
#[command(name = "gochatd", version, about)]
pub struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/gochat/gochatd.toml).
    #[arg(long, env = "GOCHAT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Socket path (default: $XDG_RUNTIME_DIR/gochat/gochatd.sock).
    #[arg(long, env = "GOCHAT_SOCKET")]
    pub socket: Option<PathBuf>,
    /// Database file (default: $XDG_DATA_HOME/gochat/gochatd.db).
    #[arg(long, env = "GOCHAT_DATABASE")]
    pub database: Option<PathBuf>,
    /// Log filter (e.g. info, debug).
    #[arg(long, env = "GOCHAT_LOG")]
    pub log: Option<String>,
}
