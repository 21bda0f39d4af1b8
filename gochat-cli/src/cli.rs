//! The command line: global options and one subcommand per operation (each defined in its own
//! file under `commands/`).

use clap::{Parser, Subcommand};

use crate::commands::{
    account, admin, completions, config, contact, contacts, conversations, daemon, delete, history,
    hooks, import, inbox, key, man, read, request, search, send, server, shell, users, version,
    watch,
};
use crate::global::Global;

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
    /// A contact's local preferences: alias, mute, block, notifications.
    #[command(subcommand)]
    Contact(contact::Command),
    /// Delete a conversation's local history and read markers (asks unless --yes).
    Delete(delete::Args),
    /// Show or change the daemon's notification and hook settings (live).
    Config(config::Args),
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
