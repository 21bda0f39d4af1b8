//! `delete USER [--yes]`: delete a conversation's local history and read markers (asks first).

use gochat_proto::ipc;

use crate::context::Ctx;
use crate::error::Result;
use crate::prompt;
use crate::views::user;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The other user.
    pub user: String,
}

pub async fn run(args: Args, ctx: &mut Ctx) -> Result<()> {
    prompt::confirm(
        &format!(
            "delete every message exchanged with {} from this computer?",
            user(&args.user)
        ),
        ctx.global.yes,
    )?;
    let request = ipc::UserRef {
        account: Some(ctx.account()),
        user: args.user.clone(),
    };
    let reply = ctx
        .client()
        .await?
        .delete_conversation(request)
        .await?
        .into_inner();
    ctx.out.emit(
        &serde_json::json!({ "peer": args.user, "messages_deleted": reply.messages_deleted }),
        |w| {
            writeln!(
                w,
                "deleted the conversation with {} ({} messages)",
                user(&args.user),
                reply.messages_deleted
            )
        },
    )
}
