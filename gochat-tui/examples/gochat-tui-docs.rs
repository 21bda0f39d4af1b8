//! Writes the man pages and the bash, zsh and fish completions of `gochat-tui` into DIR
//! (packaging/clap_docs.rs says where); run by packaging/deb/build.sh.

#[path = "../../packaging/clap_docs.rs"]
mod clap_docs;

use clap::CommandFactory;
use gochat_tui::cli::Cli;

fn main() -> std::io::Result<()> {
    clap_docs::write("gochat-tui", Cli::command)
}
