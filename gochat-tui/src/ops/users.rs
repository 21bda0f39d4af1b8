//! The user list of a server: the pane's, or printed on demand.

use gochat_client::errors::DaemonError;
use gochat_proto::ipc::{DaemonClient, ListUsersRequest, User};

use super::{some_ref, status_error};
use crate::app::{AccountKey, App, BufferKey, Level, permission_name};
use crate::msg::{Effect, Reply};

/// Lists the users (`online_only`, with permissions when `perms`).
pub(super) async fn run(
    c: &mut DaemonClient,
    account: AccountKey,
    online_only: bool,
    perms: bool,
    print: bool,
) -> Reply {
    let result = c
        .list_users(ListUsersRequest {
            account: some_ref(&account),
            online_only,
            with_permissions: perms,
        })
        .await
        .map(|r| r.into_inner().users)
        .map_err(|s| status_error(&s));
    Reply::Users {
        account,
        online_only,
        print,
        result,
    }
}

/// Fills the user pane, or prints the list.
pub(super) fn reduce(
    app: &mut App,
    account: AccountKey,
    online_only: bool,
    print: bool,
    result: Result<Vec<User>, DaemonError>,
) -> Vec<Effect> {
    if !print {
        if let Some(acc) = app.account_mut(&account) {
            acc.users_loading = false;
            if let Ok(users) = &result {
                acc.online_users = Some(users.clone());
            }
        }
        if let Err(e) = result {
            app.notice(
                BufferKey::Server(account.server),
                Level::Error,
                format!("could not list users: {e}"),
            );
        }
        return Vec::new();
    }
    match result {
        Ok(mut users) => {
            users.sort_by(|a, b| {
                b.permission
                    .cmp(&a.permission)
                    .then_with(|| a.name.cmp(&b.name))
            });
            let kind = if online_only { "online" } else { "registered" };
            let list: Vec<String> = users
                .iter()
                .map(|u| {
                    if u.has_permission {
                        format!("  {} ({})", u.name, permission_name(u.permission))
                    } else {
                        format!("  {}", u.name)
                    }
                })
                .collect();
            app.notice_here(
                Level::Info,
                format!(
                    "{} {kind} users on {}:\n{}",
                    users.len(),
                    account.server,
                    list.join("\n")
                ),
            );
        }
        Err(e) => app.notice_here(Level::Error, format!("could not list users: {e}")),
    }
    Vec::new()
}
