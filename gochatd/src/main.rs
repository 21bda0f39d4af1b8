//! `gochatd`: the per-user gochat daemon. See `gochatd --help`.
#![forbid(unsafe_code)]

use clap::Parser;
use gochatd::cli::Cli;

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
