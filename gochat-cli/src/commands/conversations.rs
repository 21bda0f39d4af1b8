//! `conversations`: everyone you exchanged messages with, newest first, with unread counts.

use gochat_proto::ipc;

use crate::context::Ctx;
use crate::error::Result;
use crate::output::{BOLD, Cell, DIM, PEER, PLAIN, Table};
use crate::time;
use crate::views::ConversationJson;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only conversations with unread messages.
    #[arg(long)]
    pub unread: bool,
}

/// The conversations of the selected account.
pub async fn list(ctx: &mut Ctx) -> Result<Vec<ipc::Conversation>> {
    let account = ctx.account();
    Ok(ctx
        .client()
        .await?
        .conversations(account)
        .await?
        .into_inner()
        .conversations)
}

pub async fn run(args: Args, ctx: &mut Ctx) -> Result<()> {
    let mut conversations = list(ctx).await?;
    if args.unread {
        conversations.retain(|c| c.unread > 0);
    }
    let account = ctx.account();
    // Aliases are shown beside the names; without them the list is still right.
    let aliases: std::collections::HashMap<String, String> =
        match ctx.client().await?.list_contacts(account).await {
            Ok(reply) => reply
                .into_inner()
                .contacts
                .into_iter()
                .filter(|c| !c.alias.is_empty())
                .map(|c| (c.user, c.alias))
                .collect(),
            Err(_) => Default::default(),
        };
    let json: Vec<ConversationJson> = conversations.iter().map(ConversationJson::from).collect();
    ctx.out
        .emit(&serde_json::json!({ "conversations": json }), |w| {
            if conversations.is_empty() {
                return writeln!(w, "no conversations");
            }
            let mut table = Table::new(&["USER", "UNREAD", "LAST", "MESSAGE"]);
            for c in &conversations {
                let (when, text) = c.last.as_ref().map_or((String::new(), String::new()), |m| {
                    let arrow = if m.outgoing { "→ " } else { "" };
                    (
                        time::short(m.stamp.saturating_mul(1000)),
                        format!("{arrow}{}", preview(&m.text)),
                    )
                });
                table.row(vec![
                    Cell::styled(
                        crate::views::user_with_alias(&c.peer, aliases.get(&c.peer)),
                        PEER,
                    ),
                    Cell::styled(
                        if c.unread > 0 {
                            c.unread.to_string()
                        } else {
                            String::new()
                        },
                        BOLD,
                    ),
                    Cell::styled(when, DIM),
                    Cell::styled(text, if c.unread > 0 { BOLD } else { PLAIN }),
                ]);
            }
            table.write(w)
        })
}

/// The first line of a text, cut at 60 characters.
fn preview(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    let mut cut: String = line.chars().take(60).collect();
    if cut.len() < line.len() || text.lines().nth(1).is_some() {
        cut.push('…');
    }
    cut
}
