//! The command line of `gochatd`, in the library so that the packaging can generate its man
//! page and completions (`examples/gochatd-docs.rs`).

use std::path::PathBuf;

use clap::Parser;

/// The end of `--help`: how the daemon makes sure it runs once.
const AFTER_HELP: &str = "\
One daemon per user and per database:
  The socket's directory holds a lock named after the socket (gochatd.sock.lock), and the
  database's directory a lock named after the database (gochatd.db.lock). Each is held while
  the daemon runs. A second gochatd on the same database fails at start, even with another
  socket, and its error names the pid and socket of the daemon that holds the database: point
  frontends at that socket (--socket or GOCHAT_SOCKET) or stop that daemon first.";

/// The per-user gochat daemon: holds the server connections, the local store and the keys,
/// and serves frontends over a Unix socket.
#[derive(Debug, Parser)]
#[command(name = "gochatd", version, about, after_help = AFTER_HELP)]
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
