//! The command line: global options and one subcommand per operation (each defined in its own
//! file under `commands/`).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::commands::{
    account, admin, completions, contacts, conversations, daemon, history, hooks, import, inbox,
    key, man, read, request, search, send, server, shell, users, version, watch,
};

const EXIT_CODES: &str = "\
Exit codes:
  0  success (also when the reader of stdout went away)
  1  other failure
  2  usage error
  3  gochatd is not reachable
  4  not found (server profile, account, user)
  5  authentication failed or the key is locked
  6  the server refused
  7  the account is offline
  130  interrupted (Ctrl-C)
See docs/CLI.md for the --json formats.";

/// Command-line client of gochatd, the gochat daemon.
///
/// Every command is one request to the daemon (started on demand). Data goes to stdout,
/// diagnostics to stderr; --json gives machine-readable output.
#[derive(Debug, Parser)]
#[command(name = "gochat-cli", version, propagate_version = true, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

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

/// The operations.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage server profiles (REGSERVER, DELSERVER, SERVERS, SERVERCONFIG, SETSERVER).
    #[command(subcommand)]
    Server(server::Command),
    /// Manage accounts (REG, LOGIN, LOGOUT, DEREG, RECOVER).
    #[command(subcommand)]
    Account(account::Command),
    /// List the users of the server (USRS).
    Users(users::Args),
    /// Fetch and pin a user's public key; shows their permission level (REQ, PERMS).
    Request(request::Args),
    /// Send a message (MSG).
    Send(send::Args),
    /// Show the messages exchanged with a user.
    History(history::Args),
    /// List conversations with unread counts.
    Conversations(conversations::Args),
    /// List the users whose keys are pinned, with their state (the Go client's requested users).
    Contacts(contacts::Args),
    /// Show unread messages (RECIV).
    Inbox(inbox::Args),
    /// Mark a conversation as read.
    Read(read::Args),
    /// Search messages.
    Search(search::Args),
    /// Print events as they happen until interrupted.
    Watch(watch::Args),
    /// Subscribe to or unsubscribe from server hooks (SUB, UNSUB).
    #[command(subcommand, visible_alias = "hook")]
    Hooks(hooks::Command),
    /// Server administration (ADMIN); asks for confirmation unless --yes.
    #[command(subcommand)]
    Admin(admin::Command),
    /// Keys: show, fingerprint, export, import, accept a changed key (EXPORT, IMPORT).
    #[command(subcommand)]
    Key(key::Command),
    /// Import another client's data: `import go-client --db client.db` (the Go client).
    #[command(subcommand)]
    Import(import::Command),
    /// Start, stop or inspect the daemon.
    #[command(subcommand)]
    Daemon(daemon::Command),
    /// Interactive prompt with history and completion.
    Shell(shell::Args),
    /// Print a shell completion script.
    Completions(completions::Args),
    /// Write man pages.
    Man(man::Args),
    /// Show client, protocol and daemon versions (VER).
    Version(version::Args),
}

impl Command {
    /// Whether the command runs background tasks beside its own (needs a threaded runtime).
    pub fn needs_background_tasks(&self) -> bool {
        matches!(self, Command::Shell(_))
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
