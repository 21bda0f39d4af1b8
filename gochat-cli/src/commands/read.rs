//! `read USER [--up-to ID]`: mark a conversation as read.

use gochat_proto::ipc;

use crate::context::Ctx;
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The other user.
    pub user: String,
    /// Only up to this message id [default: everything].
    #[arg(long, value_name = "ID")]
    pub up_to: Option<i64>,
}

pub async fn run(args: Args, ctx: &mut Ctx) -> Result<()> {
    let request = ipc::MarkReadRequest {
        account: Some(ctx.account()),
        peer: args.user.clone(),
        up_to: args.up_to.unwrap_or(0),
    };
    ctx.client().await?.mark_read(request).await?;
    ctx.out.done(&format!(
        "marked the conversation with {} as read",
        args.user
    ))
}
