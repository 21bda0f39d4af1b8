//! `gochat-server`: see `gochat-server --help`.

use gochat_server::error_chain::Chain;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match gochat_server::cli::main().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Every cause once, even those of foreign errors that repeat their source.
            eprintln!("gochat-server: {}", Chain(e.as_ref()));
            std::process::ExitCode::FAILURE
        }
    }
}
