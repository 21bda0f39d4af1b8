//! `gochatd`: the per-user gochat daemon. See `gochatd --help`.
#![forbid(unsafe_code)]

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
struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/gochat/gochatd.toml).
    #[arg(long, env = "GOCHAT_CONFIG")]
    config: Option<PathBuf>,
    /// Socket path (default: $XDG_RUNTIME_DIR/gochat/gochatd.sock).
    #[arg(long, env = "GOCHAT_SOCKET")]
    socket: Option<PathBuf>,
    /// Database file (default: $XDG_DATA_HOME/gochat/gochatd.db).
    #[arg(long, env = "GOCHAT_DATABASE")]
    database: Option<PathBuf>,
    /// Log filter (e.g. info, debug).
    #[arg(long, env = "GOCHAT_LOG")]
    log: Option<String>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let path = cli
        .config
        .clone()
        .unwrap_or_else(gochatd::config::DaemonConfig::default_path);
    let mut config = match gochatd::config::DaemonConfig::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gochatd: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if cli.socket.is_some() {
        config.socket = cli.socket;
    }
    if cli.database.is_some() {
        config.database = cli.database;
    }
    if cli.log.is_some() {
        config.log = cli.log;
    }
    gochatd::run::init_logging(config.log.as_deref().unwrap_or("info"));
    match gochatd::run::run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gochatd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
