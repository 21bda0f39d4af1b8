//! `hooks sub|unsub NAME|all`: server notifications about other users (SUB, UNSUB).

use clap::{Subcommand, ValueEnum};
use gochat_proto::ipc;

use crate::context::Ctx;
use crate::error::Result;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Subscribe (SUB); the notifications show in `watch` and the shell.
    #[command(visible_alias = "subscribe")]
    Sub {
        /// Which hook.
        hook: HookName,
    },
    /// Unsubscribe (UNSUB).
    #[command(visible_alias = "unsubscribe")]
    Unsub {
        /// Which hook.
        hook: HookName,
    },
}

/// The hooks, by their Go client names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HookName {
    /// Every hook.
    All,
    /// Someone logged in.
    #[value(name = "new_login", alias = "new-login")]
    NewLogin,
    /// Someone logged out.
    #[value(name = "new_logout", alias = "new-logout")]
    NewLogout,
    /// Someone logged in twice.
    #[value(name = "duplicated_session", aliases = ["duplicate_session", "duplicate-session"])]
    DuplicateSession,
    /// Someone's permissions changed.
    #[value(name = "permissions_change", aliases = ["permissions_changed", "permissions-change"])]
    PermissionsChange,
}

impl HookName {
    fn api(self) -> ipc::Hook {
        match self {
            HookName::All => ipc::Hook::All,
            HookName::NewLogin => ipc::Hook::NewLogin,
            HookName::NewLogout => ipc::Hook::NewLogout,
            HookName::DuplicateSession => ipc::Hook::DuplicateSession,
            HookName::PermissionsChange => ipc::Hook::PermissionsChanged,
        }
    }
}

pub async fn run(command: Command, ctx: &mut Ctx) -> Result<()> {
    let (hook, sub) = match command {
        Command::Sub { hook } => (hook, true),
        Command::Unsub { hook } => (hook, false),
    };
    let request = ipc::HookRequest {
        account: Some(ctx.account()),
        hook: hook.api() as i32,
    };
    let name = hook
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default();
    if sub {
        ctx.client().await?.subscribe_hook(request).await?;
        ctx.out.done(&format!("subscribed to {name}"))
    } else {
        ctx.client().await?.unsubscribe_hook(request).await?;
        ctx.out.done(&format!("unsubscribed from {name}"))
    }
}
