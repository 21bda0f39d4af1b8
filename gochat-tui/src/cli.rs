//! The command line of `gochat-tui`, in the library so that the packaging can generate its
//! man page and completions (`examples/gochat-tui-docs.rs`).

use std::path::PathBuf;

use clap::Parser;

/// The gochat terminal chat interface. It attaches to gochatd (starting it when no daemon
/// answers) and shows your servers, conversations and who is online.
#[derive(Debug, Parser)]
#[command(name = "gochat-tui", version, about)]
pub struct Cli {
    /// The daemon's socket (default: $XDG_RUNTIME_DIR/gochat/gochatd.sock).
    #[arg(long, env = "GOCHAT_SOCKET")]
    pub socket: Option<PathBuf>,
    /// Config file (default: $XDG_CONFIG_HOME/gochat/tui.toml).
    #[arg(long, env = "GOCHAT_TUI_CONFIG")]
    pub config: Option<PathBuf>,
    /// Never start gochatd; wait for one to appear.
    #[arg(long)]
    pub no_autostart: bool,
    /// The gochatd binary to start (default: next to gochat-tui, then PATH).
    #[arg(long, env = "GOCHATD")]
    pub gochatd: Option<PathBuf>,
}
