//! The options every command accepts (`--json`, `--socket`, `--color`, …), apart from the
//! command line itself so that the output, the config and the context can use them without
//! depending on the commands.

use std::path::PathBuf;

use clap::ValueEnum;

/// Options every command accepts.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Global {
    /// The daemon's socket [default: $XDG_RUNTIME_DIR/gochat/gochatd.sock].
    #[arg(long, global = true, env = "GOCHAT_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// The server profile to act on [default: the default or only one].
    #[arg(
        long,
        short = 's',
        global = true,
        env = "GOCHAT_SERVER",
        value_name = "NAME"
    )]
    pub server: Option<String>,
    /// The account to act as [default: the only one on the server].
    #[arg(
        long,
        short = 'a',
        global = true,
        env = "GOCHAT_ACCOUNT",
        value_name = "NAME"
    )]
    pub account: Option<String>,
    /// Print machine-readable JSON (see docs/CLI.md).
    #[arg(long, global = true)]
    pub json: bool,
    /// Never start gochatd; fail with exit code 3 when it is not running.
    #[arg(long, global = true, env = "GOCHAT_NO_AUTOSTART", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_autostart: bool,
    /// Read passphrases from this file ("-": stdin) instead of the terminal.
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
    /// When to use colors.
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub color: Option<ColorWhen>,
    /// Say more (in the shell and watch: show every event).
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
}

impl Global {
    /// These options, with the unset ones taken from `base` (the shell's session).
    pub fn or(&self, base: &Global) -> Global {
        Global {
            socket: self.socket.clone().or_else(|| base.socket.clone()),
            server: self.server.clone().or_else(|| base.server.clone()),
            account: self.account.clone().or_else(|| base.account.clone()),
            json: self.json || base.json,
            no_autostart: self.no_autostart || base.no_autostart,
            passphrase_file: self
                .passphrase_file
                .clone()
                .or_else(|| base.passphrase_file.clone()),
            yes: self.yes || base.yes,
            color: self.color.or(base.color),
            verbose: self.verbose || base.verbose,
        }
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    Always,
    Never,
}
