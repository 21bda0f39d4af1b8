//! `gochat-server`: see `gochat-server --help`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match gochat_server::cli::main().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gochat-server: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
