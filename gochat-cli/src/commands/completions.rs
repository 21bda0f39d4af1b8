//! `completions SHELL`: print a completion script for bash, zsh, fish, elvish or PowerShell.

use clap_complete::Shell;

use crate::context::Ctx;
use crate::error::Result;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Install, e.g.:\n  gochat-cli completions bash > ~/.local/share/bash-completion/completions/gochat-cli\n  gochat-cli completions zsh > ~/.zfunc/_gochat-cli\n  gochat-cli completions fish > ~/.config/fish/completions/gochat-cli.fish"
)]
pub struct Args {
    /// The shell.
    pub shell: Shell,
}

/// `command` is the whole command line's definition (`Cli::command()`).
pub fn run(args: Args, mut command: clap::Command, ctx: &mut Ctx) -> Result<()> {
    // Generated into memory first: clap_complete panics when a write fails (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "gochat-cli", &mut script);
    if args.shell == Shell::Bash {
        script = fix_bash(&script);
    }
    ctx.out.raw(&script)
}

/// clap_complete (up to at least 4.6.11) spells the bash states of a hyphenated program name
/// two ways: the word loop arrives at `gochat__cli__subcmd__server` while the case arms are
/// labelled `gochat__subcmd__cli__subcmd__server`, so nothing after the first subcommand
/// completes (clap-rs/clap#6421). Use the loop's spelling everywhere.
fn fix_bash(script: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(script)
        .replace("gochat__subcmd__cli", "gochat__cli")
        .into_bytes()
}
