//! The gochat command-line client: clap subcommands mapped onto the daemon's gRPC API, with
//! human or `--json` output, documented exit codes and an interactive `shell`.
//!
//! Everything lives in this library so that `main.rs` stays a one-liner; the integration tests
//! drive the real binary.

mod certificate;
mod cli;
mod commands;
mod config;
mod connection;
mod context;
mod dispatch;
mod error;
mod global;
mod output;
mod prompt;
mod shell;
mod time;
mod views;

use std::process::ExitCode;

use clap::Parser;

pub use error::exit;

/// Parses the command line, runs the command and maps the outcome onto an exit code.
pub fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let code = match run(cli) {
        Ok(()) => exit::SUCCESS,
        Err(e) => e.report(),
    };
    ExitCode::from(code)
}

fn run(cli: cli::Cli) -> Result<(), error::CliError> {
    let interactive = cli.command.needs_background_tasks();
    let runtime = if interactive {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .map_err(|e| error::CliError::other(format!("cannot start the async runtime: {e}")))?;
    let mut ctx = context::Ctx::new(cli.global, runtime.handle().clone())?;
    match cli.command {
        // The shell blocks on line editing, so it drives the runtime itself.
        cli::Command::Shell(args) => shell::run(&args, &mut ctx),
        command => runtime.block_on(dispatch::dispatch(command, &mut ctx)),
    }
}
