//! `users [--online] [--perms]`: the server's user list (USRS).

use gochat_proto::ipc;

use crate::context::Ctx;
use crate::error::Result;
use crate::output::{Cell, PEER, Table};
use crate::views::{UserJson, permission_name};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only users online now.
    #[arg(long)]
    pub online: bool,
    /// With their permission levels.
    #[arg(long)]
    pub perms: bool,
}

pub async fn run(args: Args, ctx: &mut Ctx) -> Result<()> {
    let request = ipc::ListUsersRequest {
        account: Some(ctx.account()),
        online_only: args.online,
        with_permissions: args.perms,
    };
    let users = ctx
        .client()
        .await?
        .list_users(request)
        .await?
        .into_inner()
        .users;
    let json: Vec<UserJson> = users.iter().map(UserJson::from).collect();
    ctx.out.emit(&serde_json::json!({ "users": json }), |w| {
        if !args.perms {
            for u in &users {
                writeln!(w, "{}", crate::views::user(&u.name))?;
            }
            return Ok(());
        }
        let mut table = Table::new(&["USER", "ROLE"]);
        for u in &users {
            let role = if u.has_permission {
                permission_name(u.permission)
            } else {
                ""
            };
            table.row(vec![
                Cell::styled(crate::views::user(&u.name), PEER),
                Cell::new(role),
            ]);
        }
        table.write(w)
    })
}
