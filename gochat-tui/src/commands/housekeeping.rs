//! Conversation housekeeping and the daemon's notification settings: `/alias`, `/mute`,
//! `/unmute`, `/block`, `/unblock`, `/notify`, `/delete`, and `/set notify.…|hooks.…`.

use gochat_proto::ipc::{ContactPrefsRequest, NotifyMode};

use super::{Invocation, account_for, call, need_daemon, usage};
use crate::app::{App, BufferKey};
use crate::msg::{Call, Effect};

/// The user named first, else the peer of the active conversation.
fn peer_of(app: &App, inv: &Invocation<'_>) -> Option<String> {
    match (inv.arg(0), &app.active) {
        (Some(user), _) => Some(user.to_owned()),
        (None, BufferKey::Conv(_, peer)) => Some(peer.clone()),
        (None, _) => None,
    }
}

/// A change of `peer`'s preferences for the current account.
fn prefs(
    app: &mut App,
    name: &str,
    peer: Option<String>,
    change: ContactPrefsRequest,
) -> Vec<Effect> {
    let Some(peer) = peer else {
        return usage(app, name);
    };
    if !need_daemon(app) {
        return Vec::new();
    }
    let Some(account) = account_for(app, None) else {
        return Vec::new();
    };
    call(Call::ContactPrefs(Box::new(ContactPrefsRequest {
        account: Some(account.to_ref()),
        user: peer,
        ..change
    })))
}

/// `/alias USER [NAME]`: shows NAME for USER (no NAME: removes the alias).
pub(super) fn alias(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    let peer = inv.arg(0).map(str::to_owned);
    let name = inv.text_after(1).trim().to_owned();
    prefs(
        app,
        "alias",
        peer,
        ContactPrefsRequest {
            alias: Some(name),
            ..Default::default()
        },
    )
}

/// `/mute [USER]` and `/unmute [USER]`.
pub(super) fn mute(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    let peer = peer_of(app, inv);
    prefs(
        app,
        "mute",
        peer,
        ContactPrefsRequest {
            muted: Some(true),
            ..Default::default()
        },
    )
}

/// `/unmute [USER]`.
pub(super) fn unmute(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    let peer = peer_of(app, inv);
    prefs(
        app,
        "unmute",
        peer,
        ContactPrefsRequest {
            muted: Some(false),
            ..Default::default()
        },
    )
}

/// `/block USER`: named, never implied by the active conversation.
pub(super) fn block(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    let peer = inv.arg(0).map(str::to_owned);
    prefs(
        app,
        "block",
        peer,
        ContactPrefsRequest {
            blocked: Some(true),
            ..Default::default()
        },
    )
}

/// `/unblock USER`.
pub(super) fn unblock(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    let peer = inv.arg(0).map(str::to_owned);
    prefs(
        app,
        "unblock",
        peer,
        ContactPrefsRequest {
            blocked: Some(false),
            ..Default::default()
        },
    )
}

/// `/notify USER on|off|mentions|default`.
pub(super) fn notify(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    let mode = match inv.arg(1) {
        Some("on") => NotifyMode::On,
        Some("off") => NotifyMode::Off,
        Some("mentions") => NotifyMode::Mentions,
        Some("default") => NotifyMode::Unspecified,
        _ => return usage(app, "notify"),
    };
    let peer = inv.arg(0).map(str::to_owned);
    prefs(
        app,
        "notify",
        peer,
        ContactPrefsRequest {
            notify: Some(mode as i32),
            ..Default::default()
        },
    )
}

/// `/delete USER`: deletes the conversation's local history. The name must be typed even in
/// that conversation: it is the confirmation.
pub(super) fn delete(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    let Some(peer) = inv.arg(0) else {
        return usage(app, "delete");
    };
    if !need_daemon(app) {
        return Vec::new();
    }
    let Some(account) = account_for(app, None) else {
        return Vec::new();
    };
    call(Call::DeleteConversation {
        account,
        peer: peer.to_owned(),
    })
}

/// `/set` with a daemon setting: no name lists them, a name alone shows it, a value changes
/// it, `-reset NAME` resets it.
pub(super) fn daemon_setting(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    if !need_daemon(app) {
        return Vec::new();
    }
    match (inv.arg(0), inv.arg(1)) {
        (None, _) => call(Call::Settings {
            name: String::new(),
        }),
        (Some("-reset"), Some(name)) => call(Call::SetSetting {
            name: name.to_owned(),
            value: None,
        }),
        (Some(name), None) => call(Call::Settings {
            name: name.to_owned(),
        }),
        (Some(name), Some(_)) => call(Call::SetSetting {
            name: name.to_owned(),
            value: Some(inv.text_after(1).trim().to_owned()),
        }),
    }
}

/// Whether `/set NAME` is about the daemon's notification or hook settings.
pub(super) fn is_daemon_setting(inv: &Invocation<'_>) -> bool {
    match inv.arg(0) {
        None => true,
        Some("-reset") => true,
        Some(name) => name.starts_with("notify.") || name.starts_with("hooks."),
    }
}
