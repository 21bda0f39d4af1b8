//! Moving between buffers: opening and closing conversations and rows, the read marker, and
//! the user list that follows the active account. The key handlers, the commands and the
//! daemon's events all move the same way, so this sits below all three.

use crate::app::{App, BufferKey, History, Level, Row, Scroll};
use crate::msg::{Call, Effect};

/// Opens a row of the left pane.
pub fn open_row(app: &mut App, row: &Row) -> Vec<Effect> {
    if let Row::Account(key) = row
        && let Some(server) = app.server_mut(&key.server)
        && let Some(i) = server.accounts.iter().position(|a| a.key == *key)
    {
        server.current = i;
    }
    open_buffer(app, row.buffer())
}

/// Makes `key` the active buffer: loads its history, moves its read marker, refreshes the
/// user list of its account.
pub fn open_buffer(app: &mut App, key: BufferKey) -> Vec<Effect> {
    if app.buffer(&key).is_none() {
        return Vec::new();
    }
    // Leaving a conversation drops its "new messages" line.
    if key != app.active
        && let BufferKey::Conv(a, p) = app.active.clone()
        && let Some(c) = app.conversation_mut(&a, &p)
    {
        c.unread_marker = None;
        c.marker_on_load = false;
    }
    let changed = key != app.active;
    app.active = key.clone();
    app.users_cursor = 0;
    let mut effects = Vec::new();
    if let BufferKey::Conv(account, peer) = &key {
        let limit = app.ui.history_page;
        if let Some(conv) = app.conversation_mut(account, peer) {
            conv.hidden = false;
            if changed && conv.unread > 0 {
                let first_unread = conv
                    .buffer
                    .messages()
                    .find(|m| !m.read && !m.outgoing)
                    .map(|m| m.id);
                conv.unread_marker = first_unread;
                conv.marker_on_load = first_unread.is_none();
            }
            if conv.history == History::NotLoaded {
                conv.history = History::Loading;
                effects.push(Effect::Call(Call::History {
                    account: account.clone(),
                    peer: peer.clone(),
                    before: 0,
                    limit,
                }));
            }
        }
        effects.extend(mark_read_if_viewing(app));
    }
    effects.extend(refresh_users_if_unknown(app));
    effects
}

/// Opens (creating if needed) a conversation; `check` asks the daemon for the user's key
/// first so a typo is reported at once.
pub fn open_conversation(
    app: &mut App,
    account: &crate::app::AccountKey,
    peer: &str,
    check: bool,
) -> Vec<Effect> {
    let now = app.now_ms;
    let Some(acc) = app.account_mut(account) else {
        return Vec::new();
    };
    let mut effects = Vec::new();
    let online = acc.online();
    let known = acc.conversations.contains_key(peer);
    if !known {
        acc.conversations.insert(
            peer.to_owned(),
            crate::app::Conversation {
                peer: peer.to_owned(),
                last_time: now,
                ..Default::default()
            },
        );
        if check && online {
            effects.push(Effect::Call(Call::RequestKey {
                account: account.clone(),
                user: peer.to_owned(),
                print: false,
            }));
        }
    }
    let mut opened = open_buffer(app, BufferKey::Conv(account.clone(), peer.to_owned()));
    opened.extend(effects);
    opened
}

/// Sends a read marker for the active conversation when the user can see its newest
/// messages.
pub fn mark_read_if_viewing(app: &mut App) -> Vec<Effect> {
    if !app.terminal_focused || !app.attached() {
        return Vec::new();
    }
    let BufferKey::Conv(account, peer) = app.active.clone() else {
        return Vec::new();
    };
    let Some(conv) = app.conversation_mut(&account, &peer) else {
        return Vec::new();
    };
    if conv.unread == 0 || conv.buffer.scroll != Scroll::Bottom {
        return Vec::new();
    }
    conv.unread = 0;
    vec![Effect::Call(Call::MarkRead {
        account,
        peer,
        up_to: conv.last_id,
    })]
}

/// Asks for the user list of the current account when the pane shows and it is unknown.
pub fn refresh_users_if_unknown(app: &mut App) -> Vec<Effect> {
    if !app.users_visible() {
        return Vec::new();
    }
    refresh_users(app)
}

/// Asks for the current account's online users unless they are known or loading.
pub fn refresh_users(app: &mut App) -> Vec<Effect> {
    let Some(key) = app.current_account().map(|a| a.key.clone()) else {
        return Vec::new();
    };
    if !app.attached() {
        return Vec::new();
    }
    match app.account_mut(&key) {
        Some(a) if a.online() && a.online_users.is_none() && !a.users_loading => {
            a.users_loading = true;
            vec![Effect::Call(Call::ListUsers {
                account: key,
                online_only: true,
                perms: true,
                print: false,
            })]
        }
        _ => Vec::new(),
    }
}

/// Closes a conversation (the active one when `key` is None): hidden until a message arrives.
pub fn close_conversation(app: &mut App, key: Option<BufferKey>) -> Vec<Effect> {
    let key = key.unwrap_or_else(|| app.active.clone());
    let BufferKey::Conv(account, peer) = &key else {
        app.flash(Level::Warning, "only conversations can be closed");
        return Vec::new();
    };
    let rows = app.rows();
    if let Some(conv) = app.conversation_mut(account, peer) {
        conv.hidden = true;
        conv.buffer.scroll = Scroll::Bottom;
    }
    if app.active == key {
        // Show the row above the closed one.
        let i = rows
            .iter()
            .position(|r| *r == Row::Conv(account.clone(), peer.clone()))
            .unwrap_or(0);
        let target = rows[..i]
            .iter()
            .rev()
            .find(|r| !matches!(r, Row::Account(_)))
            .cloned()
            .unwrap_or(Row::Server(account.server.clone()));
        return open_row(app, &target);
    }
    Vec::new()
}
