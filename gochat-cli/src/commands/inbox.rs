//! `inbox [--mark-read]`: the unread messages of every conversation (RECIV). The daemon
//! fetches messages from the server by itself; this shows what arrived.

use gochat_proto::ipc;

use crate::commands::{conversations, history::print_messages};
use crate::context::Ctx;
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Mark them read afterwards.
    #[arg(long)]
    pub mark_read: bool,
}

pub async fn run(args: Args, ctx: &mut Ctx) -> Result<()> {
    let account = ctx.account();
    let mut unread = Vec::new();
    for c in conversations::list(ctx)
        .await?
        .into_iter()
        .filter(|c| c.unread > 0)
    {
        let page = ctx
            .client()
            .await?
            .history(ipc::HistoryRequest {
                account: Some(account.clone()),
                peer: c.peer.clone(),
                limit: c.unread.max(1),
                before: 0,
            })
            .await?
            .into_inner();
        unread.extend(page.messages.into_iter().filter(|m| !m.read && !m.outgoing));
    }
    unread.sort_by_key(|m| m.id);
    print_messages(ctx, &unread, 0, "no unread messages")?;
    if args.mark_read {
        let mut peers: Vec<&str> = unread.iter().map(|m| m.peer.as_str()).collect();
        peers.sort_unstable();
        peers.dedup();
        for peer in peers {
            let up_to = unread
                .iter()
                .filter(|m| m.peer == peer)
                .map(|m| m.id)
                .max()
                .unwrap_or(0);
            ctx.client()
                .await?
                .mark_read(ipc::MarkReadRequest {
                    account: Some(account.clone()),
                    peer: peer.to_owned(),
                    up_to,
                })
                .await?;
        }
    }
    Ok(())
}
