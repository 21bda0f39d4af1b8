//! `gochat-cli`: the command-line client of the gochat daemon. See `gochat-cli --help`.

fn main() -> std::process::ExitCode {
    gochat_cli::main()
}
