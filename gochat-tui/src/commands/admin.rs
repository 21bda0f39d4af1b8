//! `/admin`: server administration for admins and owners.

use gochat_proto::ipc::{self, admin_request};

use super::{Invocation, account_for, call, need_daemon, usage};
use crate::app::{App, Level};
use crate::msg::{Call, Effect};

/// `/admin shutdown|broadcast|motd|kick|ban|setperms …`.
pub(super) fn admin(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    let args = inv.args;
    let Some(op) = args.first() else {
        return usage(app, "admin");
    };
    let arg = args.get(1).copied();
    let text = inv.text_after(1).to_owned();
    let op = match op.to_ascii_lowercase().as_str() {
        "shutdown" | "shtdwn" => {
            let Some(minutes) = arg.and_then(|m| m.parse::<i64>().ok()).filter(|m| *m >= 0) else {
                return usage(app, "admin");
            };
            admin_request::Op::ShutdownAt(app.now_ms / 1000 + minutes * 60)
        }
        "broadcast" | "brdcast" if !text.is_empty() => admin_request::Op::Broadcast(text),
        "motd" => admin_request::Op::Motd(text),
        "kick" if arg.is_some() => admin_request::Op::Kick(arg.unwrap_or_default().to_owned()),
        "ban" | "deregister" | "dereg" if arg.is_some() => {
            admin_request::Op::Deregister(arg.unwrap_or_default().to_owned())
        }
        "setperms" | "chperms" | "perms" => {
            let (Some(user), Some(level)) = (arg, args.get(2).and_then(|l| l.parse::<u32>().ok()))
            else {
                return usage(app, "admin");
            };
            if level > 2 {
                app.notice_here(
                    Level::Error,
                    "permission levels are 0 (user), 1 (admin) and 2 (owner)",
                );
                return Vec::new();
            }
            admin_request::Op::SetPermission(ipc::SetPermission {
                user: user.to_owned(),
                level,
            })
        }
        _ => return usage(app, "admin"),
    };
    if !need_daemon(app) {
        return Vec::new();
    }
    let Some(account) = account_for(app, None) else {
        return Vec::new();
    };
    call(Call::Admin { account, op })
}
