//! The daemon's notification, hook and housekeeping events (issue 15): a clicked notification
//! opens its conversation, a deleted conversation goes, aliases follow the contacts, and
//! failed hooks and changed settings are said in the system buffer.

use gochat_proto::ipc::{Contact, event};

use crate::app::{AccountKey, App, BufferKey, Level};
use crate::msg::{Call, Effect};
use crate::nav::{close_conversation, open_buffer, open_conversation};

/// Applies one of these events; `None` for other kinds.
pub fn on_event(app: &mut App, kind: &event::Kind) -> Option<Vec<Effect>> {
    Some(match kind {
        event::Kind::OpenConversation(o) => {
            let Some(account) = o.account.as_ref().map(AccountKey::from_ref) else {
                return Some(Vec::new());
            };
            if app.account(&account).is_none() {
                return Some(Vec::new());
            }
            open_conversation(app, &account, &o.peer, false)
        }
        event::Kind::ConversationDeleted(d) => {
            let Some(account) = d.account.as_ref().map(AccountKey::from_ref) else {
                return Some(Vec::new());
            };
            let key = BufferKey::Conv(account.clone(), d.peer.clone());
            let mut effects = Vec::new();
            if app.active == key {
                effects.extend(close_conversation(app, Some(key)));
            }
            if let Some(acc) = app.account_mut(&account) {
                acc.conversations.remove(&d.peer);
            }
            if app.buffer(&app.active).is_none() {
                effects.extend(open_buffer(app, BufferKey::Server(account.server.clone())));
            }
            app.notice(
                BufferKey::Server(account.server.clone()),
                Level::Info,
                format!(
                    "deleted the conversation with {} ({} messages)",
                    gochat_client::term::name(&d.peer),
                    d.messages_deleted
                ),
            );
            effects
        }
        event::Kind::ContactChanged(c) => {
            set_alias(app, c);
            Vec::new()
        }
        event::Kind::HookFailed(f) => {
            app.notice(
                BufferKey::System,
                Level::Error,
                format!(
                    "hook {} ({}) failed: {}",
                    gochat_client::term::line(&f.hook),
                    gochat_client::term::line(&f.program),
                    gochat_client::term::line(&f.reason)
                ),
            );
            Vec::new()
        }
        event::Kind::SettingChanged(s) => {
            app.notice(
                BufferKey::System,
                Level::Info,
                format!(
                    "setting {} = {}",
                    gochat_client::term::line(&s.name),
                    gochat_client::term::line(&s.value)
                ),
            );
            Vec::new()
        }
        _ => return None,
    })
}

/// Mirrors a contact's alias (with its account from the contact, else `account`).
pub fn set_alias(app: &mut App, c: &Contact) {
    let Some(account) = c.account.as_ref().map(AccountKey::from_ref) else {
        return;
    };
    set_alias_of(app, &account, c);
}

/// Mirrors the alias of `c`, a contact of `account`.
pub fn set_alias_of(app: &mut App, account: &AccountKey, c: &Contact) {
    if let Some(acc) = app.account_mut(account) {
        if c.alias.is_empty() {
            acc.aliases.remove(&c.user);
        } else {
            acc.aliases.insert(c.user.clone(), c.alias.clone());
        }
    }
}

/// The focus gochatd should know about: the active conversation while the terminal has the
/// focus. Reported whenever it changes, so no notification shows what is on screen.
pub fn focus_report(app: &mut App) -> Option<Effect> {
    let now = match &app.active {
        BufferKey::Conv(account, peer) if app.terminal_focused && app.attached() => {
            Some((account.clone(), peer.clone()))
        }
        _ => None,
    };
    if now == app.reported_focus {
        return None;
    }
    app.reported_focus = now.clone();
    Some(Effect::Call(Call::Focus(now)))
}
