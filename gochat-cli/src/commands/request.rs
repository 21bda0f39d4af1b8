//! `request USER`: fetch a user's public key from the server and pin it (REQ, PERMS).

use std::io::Write;

use gochat_proto::ipc;

use crate::context::Ctx;
use crate::error::Result;
use crate::output::{BAD, GOOD, PEER, paint};
use crate::views::{ContactJson, permission_name};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The user.
    pub user: String,
}

pub async fn run(args: Args, ctx: &mut Ctx) -> Result<()> {
    let contact = fetch(ctx, &args.user).await?;
    ctx.out
        .emit(&ContactJson::from(&contact), |w| write_contact(w, &contact))
}

/// Fetches (and pins on first use) `user`'s key.
pub async fn fetch(ctx: &mut Ctx, user: &str) -> Result<ipc::Contact> {
    let request = ipc::UserRef {
        account: Some(ctx.account()),
        user: user.to_owned(),
    };
    Ok(ctx.client().await?.request_key(request).await?.into_inner())
}

/// The human form of a contact.
pub fn write_contact(w: &mut dyn Write, c: &ipc::Contact) -> std::io::Result<()> {
    writeln!(
        w,
        "{}: permission level {} ({})",
        paint(PEER, crate::views::user(&c.user)),
        c.permission,
        permission_name(c.permission)
    )?;
    writeln!(w, "key fingerprint: {}", c.fingerprint)?;
    if c.key_state == ipc::KeyState::Changed as i32 {
        writeln!(
            w,
            "{} the server now reports another key: {}",
            paint(BAD, "WARNING:"),
            c.pending_fingerprint
        )?;
        writeln!(
            w,
            "sending is blocked until you check it and run `gochat-cli key accept {}`",
            crate::views::user(&c.user)
        )?;
    } else {
        writeln!(w, "key state: {}", paint(GOOD, "pinned"))?;
    }
    Ok(())
}
