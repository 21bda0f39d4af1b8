//! Runs a parsed command: the one place that maps the command line onto the commands (the
//! shell runs its lines through it too).

use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::commands::{
    account, admin, completions, config, contact, contacts, conversations, daemon, delete, history,
    hooks, import, inbox, key, man, read, request, search, send, server, users, version, watch,
};
use crate::context::Ctx;
use crate::error::{CliError, Result};

/// Runs one command.
pub async fn dispatch(command: Command, ctx: &mut Ctx) -> Result<()> {
    match command {
        Command::Server(c) => server::run(c, ctx).await,
        Command::Account(c) => account::run(c, ctx).await,
        Command::Users(a) => users::run(a, ctx).await,
        Command::Request(a) => request::run(a, ctx).await,
        Command::Send(a) => send::run(a, ctx).await,
        Command::History(a) => history::run(a, ctx).await,
        Command::Conversations(a) => conversations::run(a, ctx).await,
        Command::Contacts(a) => contacts::run(a, ctx).await,
        Command::Contact(c) => contact::run(c, ctx).await,
        Command::Delete(a) => delete::run(a, ctx).await,
        Command::Config(a) => config::run(a, ctx).await,
        Command::Inbox(a) => inbox::run(a, ctx).await,
        Command::Read(a) => read::run(a, ctx).await,
        Command::Search(a) => search::run(a, ctx).await,
        Command::Watch(a) => watch::run(a, ctx).await,
        Command::Hooks(c) => hooks::run(c, ctx).await,
        Command::Admin(c) => admin::run(c, ctx).await,
        Command::Key(c) => key::run(c, ctx).await,
        Command::Import(c) => import::run(c, ctx).await,
        Command::Daemon(c) => daemon::run(c, ctx).await,
        Command::Completions(a) => completions::run(a, Cli::command(), ctx),
        Command::Man(a) => man::run(a, Cli::command(), ctx),
        Command::Version(a) => version::run(a, ctx).await,
        Command::Shell(_) => Err(CliError::usage("the shell is already running")),
    }
}
