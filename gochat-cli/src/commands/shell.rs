//! `shell`: an interactive prompt offering every command (and the Go client's shell command
//! names), printing messages and events as they arrive. See `crate::shell`.

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not print incoming messages and events.
    #[arg(long)]
    pub quiet: bool,
    /// History file [default: $XDG_STATE_HOME/gochat/cli_history].
    #[arg(long, value_name = "FILE")]
    pub history_file: Option<std::path::PathBuf>,
}
