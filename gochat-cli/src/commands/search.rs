//! `search TEXT [--from USER] [--since DATE]`: full-text search in the stored messages.

use gochat_proto::ipc;

use crate::commands::history::print_messages;
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::time;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Words that must all occur (plain words, no query syntax).
    #[arg(required = true, num_args = 1..)]
    pub text: Vec<String>,
    /// Only the conversation with this user.
    #[arg(long, value_name = "USER")]
    pub from: Option<String>,
    /// Only messages from then on: 2024-05-01, "2024-05-01 14:00", RFC 3339, @UNIX, or an age (2h, 3d).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// At most this many results (the newest).
    #[arg(long, short = 'n', default_value_t = 100)]
    pub limit: u32,
}

pub async fn run(args: Args, ctx: &mut Ctx) -> Result<()> {
    let since = match &args.since {
        Some(s) => time::parse_since(s).map_err(CliError::usage)?,
        None => 0,
    };
    let query = args.text.join(" ");
    let request = ipc::SearchRequest {
        account: Some(ctx.account()),
        query: query.clone(),
        from: args.from.clone().unwrap_or_default(),
        since,
        limit: args.limit,
    };
    let mut found = ctx.client().await?.search(request).await?.into_inner();
    found.messages.sort_by_key(|m| m.id);
    print_messages(
        ctx,
        &found.messages,
        0,
        &format!("nothing found for {query:?}"),
    )
}
