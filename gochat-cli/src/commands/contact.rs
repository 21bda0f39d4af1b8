//! `contact alias|mute|unmute|block|unblock|notify USER`: a contact's local preferences,
//! which the server never learns.

use clap::Subcommand;
use gochat_proto::ipc;

use crate::context::Ctx;
use crate::error::Result;
use crate::views::{ContactJson, user};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show NAME instead of USER's name (no NAME: remove the alias).
    Alias {
        /// The user.
        user: String,
        /// The alias.
        name: Option<String>,
    },
    /// No notification and no hook for USER's messages (they are still stored and counted).
    Mute {
        /// The user.
        user: String,
    },
    /// Undo `mute`.
    Unmute {
        /// The user.
        user: String,
    },
    /// Drop USER's messages on arrival (they are counted).
    Block {
        /// The user.
        user: String,
    },
    /// Undo `block`: USER's next messages are delivered again.
    Unblock {
        /// The user.
        user: String,
    },
    /// Desktop notifications for USER: on, off, mentions (only when your name is in the text)
    /// or default (the account's setting).
    Notify {
        /// The user.
        user: String,
        /// on, off, mentions or default.
        #[arg(value_parser = ["on", "off", "mentions", "default"])]
        mode: String,
    },
}

pub async fn run(command: Command, ctx: &mut Ctx) -> Result<()> {
    let mut request = ipc::ContactPrefsRequest {
        account: Some(ctx.account()),
        ..Default::default()
    };
    let done = match command {
        Command::Alias { user: u, name } => {
            let done = match &name {
                Some(n) => format!("{} is shown as {}", user(&u), gochat_client::term::line(n)),
                None => format!("{} has no alias", user(&u)),
            };
            request.user = u;
            request.alias = Some(name.unwrap_or_default());
            done
        }
        Command::Mute { user: u } => {
            let done = format!("muted {}: no notification or hook", user(&u));
            request.user = u;
            request.muted = Some(true);
            done
        }
        Command::Unmute { user: u } => {
            let done = format!("unmuted {}", user(&u));
            request.user = u;
            request.muted = Some(false);
            done
        }
        Command::Block { user: u } => {
            let done = format!("blocked {}: their messages are dropped", user(&u));
            request.user = u;
            request.blocked = Some(true);
            done
        }
        Command::Unblock { user: u } => {
            let done = format!("unblocked {}", user(&u));
            request.user = u;
            request.blocked = Some(false);
            done
        }
        Command::Notify { user: u, mode } => {
            let done = format!("notifications for {}: {mode}", user(&u));
            request.user = u;
            request.notify = Some(match mode.as_str() {
                "on" => ipc::NotifyMode::On,
                "off" => ipc::NotifyMode::Off,
                "mentions" => ipc::NotifyMode::Mentions,
                _ => ipc::NotifyMode::Unspecified,
            } as i32);
            done
        }
    };
    let contact = ctx
        .client()
        .await?
        .set_contact_prefs(request)
        .await?
        .into_inner();
    ctx.out.emit(
        &serde_json::json!({ "contact": ContactJson::from(&contact) }),
        |w| writeln!(w, "{done}"),
    )
}
