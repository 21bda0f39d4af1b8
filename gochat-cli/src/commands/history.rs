//! `history USER [--limit N] [--before ID]`: the messages exchanged with a user.

use gochat_proto::ipc;

use crate::context::Ctx;
use crate::error::Result;
use crate::views::{MessageJson, MessagesJson, message_line};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The other user.
    pub user: String,
    /// How many messages (the newest ones before --before).
    #[arg(long, short = 'n', default_value_t = 50)]
    pub limit: u32,
    /// Only messages older than this message id (see `next_before`).
    #[arg(long, value_name = "ID")]
    pub before: Option<i64>,
}

pub async fn run(args: Args, ctx: &mut Ctx) -> Result<()> {
    let request = ipc::HistoryRequest {
        account: Some(ctx.account()),
        peer: args.user.clone(),
        limit: args.limit,
        before: args.before.unwrap_or(0),
    };
    let mut page = ctx.client().await?.history(request).await?.into_inner();
    page.messages.sort_by_key(|m| m.id);
    print_messages(
        ctx,
        &page.messages,
        page.next_before,
        &format!("no messages with {}", args.user),
    )
}

/// Prints messages (oldest first) and, for humans, how to get the previous page.
pub fn print_messages(
    ctx: &Ctx,
    messages: &[ipc::Message],
    next_before: i64,
    empty: &str,
) -> Result<()> {
    let json = MessagesJson {
        messages: messages.iter().map(MessageJson::from).collect(),
        next_before: (next_before > 0).then_some(next_before),
    };
    ctx.out.emit(&json, |w| {
        if messages.is_empty() {
            return writeln!(w, "{empty}");
        }
        for m in messages {
            writeln!(w, "{}", message_line(m, true))?;
        }
        Ok(())
    })?;
    if next_before > 0 && !ctx.out.json {
        ctx.out
            .note(&format!("older messages: add --before {next_before}"));
    }
    Ok(())
}
