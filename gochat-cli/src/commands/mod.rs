//! One module per subcommand; each has its clap arguments and an async `run`.

pub mod account;
pub mod admin;
pub mod completions;
pub mod contacts;
pub mod conversations;
pub mod daemon;
pub mod history;
pub mod hooks;
pub mod import;
pub mod inbox;
pub mod key;
pub mod man;
pub mod read;
pub mod request;
pub mod search;
pub mod send;
pub mod server;
pub mod shell;
pub mod users;
pub mod version;
pub mod watch;

use crate::cli::Command;
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
        Command::Inbox(a) => inbox::run(a, ctx).await,
        Command::Read(a) => read::run(a, ctx).await,
        Command::Search(a) => search::run(a, ctx).await,
        Command::Watch(a) => watch::run(a, ctx).await,
        Command::Hooks(c) => hooks::run(c, ctx).await,
        Command::Admin(c) => admin::run(c, ctx).await,
        Command::Key(c) => key::run(c, ctx).await,
        Command::Import(c) => import::run(c, ctx).await,
        Command::Daemon(c) => daemon::run(c, ctx).await,
        Command::Completions(a) => completions::run(a, ctx),
        Command::Man(a) => man::run(a, ctx),
        Command::Version(a) => version::run(a, ctx).await,
        Command::Shell(_) => Err(CliError::usage("the shell is already running")),
    }
}
