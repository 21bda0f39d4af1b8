//! Shared by the `*-docs` examples of gochat-server, gochatd and gochat-tui (included with
//! `#[path]`): writes a program's man pages and its bash, zsh and fish completions, generated
//! from its clap definition, into DIR: `DIR/man/*.1` and `DIR/completions/{bash,zsh,fish}/`.
//! Run by packaging/deb/build.sh before cargo-deb packs them.

use std::path::PathBuf;

use clap_complete::Shell;

/// Writes the pages and completions of `name` into the directory given as the first
/// argument; `command` makes its clap definition.
pub fn write(name: &str, command: impl Fn() -> clap::Command) -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or_else(|| std::io::Error::other(format!("usage: {name}-docs DIR")))?;
    let man = dir.join("man");
    std::fs::create_dir_all(&man)?;
    clap_mangen::generate_to(command(), &man)?;
    let shells = [
        (Shell::Bash, "bash", name.to_owned()),
        (Shell::Zsh, "zsh", format!("_{name}")),
        (Shell::Fish, "fish", format!("{name}.fish")),
    ];
    for (shell, sub, file) in shells {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut command(), name, &mut script);
        // clap_complete spells the bash states of a hyphenated name two ways
        // (clap-rs/clap#6421); use the word loop's spelling everywhere.
        let script = String::from_utf8_lossy(&script)
            .replace(&name.replace('-', "__subcmd__"), &name.replace('-', "__"));
        let out = dir.join("completions").join(sub);
        std::fs::create_dir_all(&out)?;
        std::fs::write(out.join(file), script)?;
    }
    Ok(())
}
