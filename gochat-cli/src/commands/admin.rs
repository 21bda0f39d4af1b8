//! `admin shutdown|broadcast|deregister|perms|kick|motd`: server administration (ADMIN).
//! Every operation asks for confirmation unless `--yes`.

use clap::Subcommand;
use gochat_proto::ipc::{self, admin_request::Op};

use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::{prompt, time};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Shut the server down in MINUTES minutes (0: now); every client is told.
    Shutdown {
        /// Minutes from now.
        minutes: u32,
    },
    /// Send a message to everyone online.
    #[command(visible_alias = "brdcast")]
    Broadcast {
        /// The text (words are joined by spaces).
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
    },
    /// Delete a user's account on the server (Go: ban).
    #[command(visible_aliases = ["ban", "dereg"])]
    Deregister {
        /// The user.
        user: String,
    },
    /// Set a user's permission level: 0 user, 1 admin, 2 owner (Go: setperms).
    #[command(visible_aliases = ["setperms", "chperms"])]
    Perms {
        /// The user.
        user: String,
        /// 0, 1 or 2.
        #[arg(value_parser = clap::value_parser!(u32).range(0..=2))]
        level: u32,
    },
    /// Disconnect a user.
    Kick {
        /// The user.
        user: String,
    },
    /// Set the message of the day.
    Motd {
        /// The text (words are joined by spaces).
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
    },
}

pub async fn run(command: Command, ctx: &mut Ctx) -> Result<()> {
    let (op, question, done) = match command {
        Command::Shutdown { minutes } => {
            let at = time::now_ms() / 1000 + i64::from(minutes) * 60;
            let when = if minutes == 0 {
                "now".to_owned()
            } else {
                format!("in {minutes} min")
            };
            (
                Op::ShutdownAt(at),
                format!("Shut the server down {when}?"),
                format!("the server shuts down at {}", time::local(at * 1000)),
            )
        }
        Command::Broadcast { text } => {
            let text = text.join(" ");
            (
                Op::Broadcast(text.clone()),
                format!("Broadcast {text:?} to everyone online?"),
                "broadcast sent".to_owned(),
            )
        }
        Command::Deregister { user } => (
            Op::Deregister(user.clone()),
            format!("Delete {user}'s account on the server?"),
            format!("deregistered {user}"),
        ),
        Command::Perms { user, level } => (
            Op::SetPermission(ipc::SetPermission {
                user: user.clone(),
                level,
            }),
            format!("Set {user}'s permission level to {level}?"),
            format!("{user} now has permission level {level}"),
        ),
        Command::Kick { user } => (
            Op::Kick(user.clone()),
            format!("Disconnect {user}?"),
            format!("kicked {user}"),
        ),
        Command::Motd { text } => {
            let text = text.join(" ");
            (
                Op::Motd(text.clone()),
                format!("Set the message of the day to {text:?}?"),
                "message of the day set".to_owned(),
            )
        }
    };
    if text_too_long(&op) {
        return Err(CliError::usage(
            "the text is longer than the protocol allows (2045 bytes)",
        ));
    }
    prompt::confirm(&question, ctx.global.yes)?;
    let request = ipc::AdminRequest {
        account: Some(ctx.account()),
        op: Some(op),
    };
    ctx.client().await?.admin(request).await?;
    ctx.out.done(&done)
}

fn text_too_long(op: &Op) -> bool {
    match op {
        Op::Broadcast(t) | Op::Motd(t) => t.len() > 2045,
        _ => false,
    }
}
