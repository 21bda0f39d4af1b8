//! Other users: `/users`, `/request`, `/accept`, `/subscribe`, `/unsubscribe`.

use gochat_proto::ipc::Hook;

use super::{Invocation, account_for, call, need_daemon, usage};
use crate::app::{App, Level, link_state_name, permission_name};
use crate::msg::{Call, Effect};

/// `/users [online|all] [-perms] | local [all|server]`.
pub(super) fn users(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    let args = inv.args;
    let mut online_only = true;
    let mut perms = false;
    let mut local = false;
    let mut local_all = false;
    for a in args {
        match a.trim_start_matches('-') {
            "online" => online_only = true,
            "all" => {
                online_only = false;
                local_all = true;
            }
            "perms" | "p" => perms = true,
            "remote" => local = false,
            "local" => local = true,
            "server" => local_all = false,
            "requested" | "contacts" => {
                app.notice_here(
                    Level::Info,
                    "contacts are kept by gochatd: /request USER shows one",
                );
                return Vec::new();
            }
            other => {
                app.notice_here(Level::Error, format!("unknown option {other}"));
                return usage(app, "users");
            }
        }
    }
    if local {
        let server = app.current_server().map(|s| s.profile.name.clone());
        let lines: Vec<String> = app
            .servers
            .iter()
            .filter(|s| local_all || Some(&s.profile.name) == server.as_ref())
            .flat_map(|s| s.accounts.iter())
            .map(|a| {
                format!(
                    "  {} ({}, {}{})",
                    a.key.label(),
                    link_state_name(a.state()),
                    permission_name(a.info.permission),
                    if a.info.locked { ", locked" } else { "" }
                )
            })
            .collect();
        app.notice_here(
            Level::Info,
            format!("local accounts:\n{}", lines.join("\n")),
        );
        return Vec::new();
    }
    if !need_daemon(app) {
        return Vec::new();
    }
    let Some(account) = account_for(app, None) else {
        return Vec::new();
    };
    call(Call::ListUsers {
        account,
        online_only,
        perms: perms || online_only,
        print: true,
    })
}

/// `/request USER`: fetches the user's key and permission level.
pub(super) fn request(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    let Some(user) = inv.arg(0) else {
        return usage(app, "request");
    };
    if !need_daemon(app) {
        return Vec::new();
    }
    let Some(account) = account_for(app, None) else {
        return Vec::new();
    };
    call(Call::RequestKey {
        account,
        user: user.to_owned(),
        print: true,
    })
}

/// `/accept USER`: trusts the user's new key.
pub(super) fn accept(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    let Some(user) = inv.arg(0) else {
        return usage(app, "accept");
    };
    if !need_daemon(app) {
        return Vec::new();
    }
    let Some(account) = account_for(app, None) else {
        return Vec::new();
    };
    call(Call::AcceptKey {
        account,
        user: user.to_owned(),
    })
}

/// `/subscribe HOOK`.
pub(super) fn subscribe(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    hook(app, inv, true)
}

/// `/unsubscribe HOOK`.
pub(super) fn unsubscribe(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    hook(app, inv, false)
}

fn hook(app: &mut App, inv: &Invocation<'_>, subscribe: bool) -> Vec<Effect> {
    let Some(hook) = inv.arg(0).and_then(hook_by_name) else {
        return usage(
            app,
            if subscribe {
                "subscribe"
            } else {
                "unsubscribe"
            },
        );
    };
    if !need_daemon(app) {
        return Vec::new();
    }
    let Some(account) = account_for(app, None) else {
        return Vec::new();
    };
    call(Call::Hook {
        account,
        hook: hook as i32,
        subscribe,
    })
}

fn hook_by_name(name: &str) -> Option<Hook> {
    Some(match name.to_ascii_lowercase().as_str() {
        "all" => Hook::All,
        "new_login" | "newlogin" | "login" => Hook::NewLogin,
        "new_logout" | "newlogout" | "logout" => Hook::NewLogout,
        "duplicated_session" | "duplicate_session" | "dupsess" | "dup_session" => {
            Hook::DuplicateSession
        }
        "permissions_change" | "permissions_changed" | "permschg" | "perms_change" => {
            Hook::PermissionsChanged
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks() {
        assert_eq!(hook_by_name("all"), Some(Hook::All));
        assert_eq!(
            hook_by_name("duplicated_session"),
            Some(Hook::DuplicateSession)
        );
        assert_eq!(hook_by_name("nope"), None);
    }
}
