//! Writes the man pages and the bash, zsh and fish completions of `gochatd`, generated from
//! its clap definitions, into DIR: `DIR/man/*.1` and `DIR/completions/{bash,zsh,fish}/`.
//! Run by packaging/deb/build.sh before cargo-deb packs them.

use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::Shell;
use gochatd::cli::Cli;

const NAME: &str = "gochatd";

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or_else(|| std::io::Error::other("usage: gochatd-docs DIR"))?;
    let man = dir.join("man");
    std::fs::create_dir_all(&man)?;
    clap_mangen::generate_to(Cli::command(), &man)?;
    let shells = [
        (Shell::Bash, "bash", NAME.to_owned()),
        (Shell::Zsh, "zsh", format!("_{NAME}")),
        (Shell::Fish, "fish", format!("{NAME}.fish")),
    ];
    for (shell, sub, file) in shells {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), NAME, &mut script);
        // clap_complete spells the bash states of a hyphenated name two ways
        // (clap-rs/clap#6421); use the word loop's spelling everywhere.
        let script = String::from_utf8_lossy(&script)
            .replace(&NAME.replace('-', "__subcmd__"), &NAME.replace('-', "__"));
        let out = dir.join("completions").join(sub);
        std::fs::create_dir_all(&out)?;
        std::fs::write(out.join(file), script)?;
    }
    Ok(())
}
