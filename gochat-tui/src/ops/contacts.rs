//! Contacts: fetching a user's key and permission, and trusting a changed key.

use gochat_client::errors::DaemonError;
use gochat_proto::ipc::{Contact, DaemonClient, KeyState, UserRef};

use super::{some_ref, status_error};
use crate::app::{AccountKey, App, BufferKey, Level, permission_name};
use crate::msg::{Effect, Reply};
use crate::ui::short_fp;

/// Fetches (and pins on first use) the key and permission of `user`.
pub(super) async fn request(
    c: &mut DaemonClient,
    account: AccountKey,
    user: String,
    print: bool,
) -> Reply {
    let result = c
        .request_key(UserRef {
            account: some_ref(&account),
            user: user.clone(),
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| status_error(&s));
    Reply::Contact {
        account,
        user,
        print,
        accepted: false,
        result,
    }
}

/// Trusts the new key of `user`.
pub(super) async fn accept(c: &mut DaemonClient, account: AccountKey, user: String) -> Reply {
    let result = c
        .accept_key(UserRef {
            account: some_ref(&account),
            user: user.clone(),
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| status_error(&s));
    Reply::Contact {
        account,
        user,
        print: true,
        accepted: true,
        result,
    }
}

/// Says what the contact is (in its conversation, and here when asked), or why it failed.
pub(super) fn reduce(
    app: &mut App,
    account: AccountKey,
    user: String,
    print: bool,
    accepted: bool,
    result: Result<Contact, DaemonError>,
) -> Vec<Effect> {
    match result {
        Ok(c) => {
            let changed = c.key_state == KeyState::Changed as i32;
            if accepted {
                if let Some(conv) = app.conversation_mut(&account, &user) {
                    conv.key_changed = None;
                }
                let topic = format!("key:{}:{user}", account.label());
                app.banners.retain(|b| b.topic != topic);
                app.notice_here(
                    Level::Success,
                    format!(
                        "{user}'s new key {} is trusted; queued messages can go",
                        short_fp(&c.fingerprint)
                    ),
                );
            } else if print || changed {
                let state = match KeyState::try_from(c.key_state).unwrap_or(KeyState::Unspecified) {
                    KeyState::Pinned => "pinned".to_owned(),
                    KeyState::Changed => format!(
                        "CHANGED to {}: /accept {user} once verified",
                        short_fp(&c.pending_fingerprint)
                    ),
                    _ => "unknown".to_owned(),
                };
                app.notice(
                    BufferKey::Conv(account.clone(), user.clone()),
                    if changed { Level::Error } else { Level::Info },
                    format!(
                        "{user}: permission {} ({}), key {} ({state})",
                        c.permission,
                        permission_name(c.permission),
                        short_fp(&c.fingerprint)
                    ),
                );
                if print && app.active != BufferKey::Conv(account.clone(), user.clone()) {
                    app.notice_here(
                        Level::Info,
                        format!(
                            "{user}: permission {}, key {} ({state})",
                            permission_name(c.permission),
                            short_fp(&c.fingerprint)
                        ),
                    );
                }
            }
        }
        Err(e) => {
            let target = BufferKey::Conv(account.clone(), user.clone());
            let what = if accepted {
                "accept the key of"
            } else {
                "look up"
            };
            if app.buffer(&target).is_some() && !print {
                app.notice(
                    target,
                    Level::Error,
                    format!("could not {what} {user}: {e}"),
                );
            } else {
                app.notice_here(Level::Error, format!("could not {what} {user}: {e}"));
            }
        }
    }
    Vec::new()
}
