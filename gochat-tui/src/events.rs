//! What the daemon says on its own: attach/detach, snapshots and live events (the replies to
//! calls are reduced by their operation in `crate::ops`), mirrored into the model.

use std::collections::HashMap;

use gochat_proto::ipc::{self, Event, Hook, LinkState, Message, MessageState, event};

use crate::app::{
    AccountKey, AccountState, App, Banner, BufferKey, Conversation, DaemonState, History, Level,
    PassPurpose, Popup, ServerState, permission_name,
};
use crate::clock;
use crate::msg::{Call, DaemonMsg, Effect, Snapshot};
use crate::nav::{mark_read_if_viewing, open_buffer, refresh_users_if_unknown};
use crate::ui::short_fp;

/// Applies a message from the daemon connection (attach, detach, snapshot, event).
pub fn on_daemon(app: &mut App, msg: DaemonMsg) -> Vec<Effect> {
    match msg {
        DaemonMsg::Connecting {
            starting,
            last_error,
        } => {
            if starting {
                app.notice(
                    BufferKey::System,
                    Level::Info,
                    "no daemon answered: starting gochatd…".into(),
                );
            }
            if !matches!(app.daemon, DaemonState::Down { .. }) {
                app.daemon = DaemonState::Connecting {
                    starting,
                    last_error,
                };
            }
            Vec::new()
        }
        DaemonMsg::Down(reason) => {
            let was_attached = app.attached();
            if was_attached {
                app.notice(
                    BufferKey::System,
                    Level::Error,
                    format!("lost gochatd: {reason}; reconnecting…"),
                );
            }
            match &mut app.daemon {
                DaemonState::Down { reason: r, .. } => *r = reason.clone(),
                _ if was_attached || app.attached_once => {
                    app.daemon = DaemonState::Down {
                        reason: reason.clone(),
                        since_ms: app.now_ms,
                    };
                }
                _ => {
                    app.daemon = DaemonState::Connecting {
                        starting: false,
                        last_error: Some(reason.clone()),
                    };
                }
            }
            if app.attached_once {
                set_banner(
                    app,
                    Banner {
                        topic: "daemon".into(),
                        text: format!("⚠ gochatd is not reachable ({reason}); reconnecting…"),
                        level: Level::Error,
                        countdown_to: None,
                        until_ms: None,
                    },
                );
            }
            // Whatever was on its way will not come.
            for server in &mut app.servers {
                for account in &mut server.accounts {
                    account.users_loading = false;
                    for conv in account.conversations.values_mut() {
                        if conv.history == History::Loading {
                            conv.history = History::NotLoaded;
                        }
                    }
                }
            }
            Vec::new()
        }
        DaemonMsg::Attached(snapshot) => {
            let reattached = app.attached_once;
            app.banners.retain(|b| b.topic != "daemon");
            app.daemon = DaemonState::Attached {
                version: snapshot.status.daemon_version.clone(),
                pid: snapshot.status.pid,
            };
            if reattached {
                app.notice(
                    BufferKey::System,
                    Level::Success,
                    "reattached to gochatd".into(),
                );
                app.flash(Level::Success, "reattached to gochatd");
            }
            apply_snapshot(app, *snapshot)
        }
        DaemonMsg::Event(ev) => on_event(app, *ev),
        // Replies are reduced by their operation (`crate::ops`), before this is called.
        DaemonMsg::Reply(_) => Vec::new(),
    }
}

fn set_banner(app: &mut App, banner: Banner) {
    app.banners.retain(|b| b.topic != banner.topic);
    app.banners.insert(0, banner);
}

/// Mirrors a snapshot, keeping what only the TUI has (notices, loaded pages, scroll).
pub fn apply_snapshot(app: &mut App, snap: Snapshot) -> Vec<Effect> {
    let mut old: HashMap<String, ServerState> = std::mem::take(&mut app.servers)
        .into_iter()
        .map(|s| (s.profile.name.clone(), s))
        .collect();
    let mut servers: Vec<ServerState> = snap
        .servers
        .iter()
        .map(|p| {
            let mut s = old
                .remove(&p.name)
                .unwrap_or_else(|| ServerState::new(p.clone()));
            s.profile = p.clone();
            s
        })
        .collect();
    servers.sort_by(|a, b| a.profile.name.cmp(&b.profile.name));
    let details: HashMap<AccountKey, String> = snap
        .status
        .links
        .iter()
        .filter_map(|l| {
            l.account
                .as_ref()
                .map(|a| (AccountKey::from_ref(a), l.detail.clone()))
        })
        .collect();
    for server in &mut servers {
        let mut old_accounts: HashMap<String, AccountState> = std::mem::take(&mut server.accounts)
            .into_iter()
            .map(|a| (a.key.user.clone(), a))
            .collect();
        for account in snap.accounts.iter().filter(|a| {
            a.r#ref
                .as_ref()
                .is_some_and(|r| r.server == server.profile.name)
        }) {
            let key = AccountKey::from_ref(
                account
                    .r#ref
                    .as_ref()
                    .unwrap_or(&ipc::AccountRef::default()),
            );
            let mut state = old_accounts
                .remove(&key.user)
                .unwrap_or_else(|| AccountState::new(key.clone(), account.clone()));
            if !(account.state == LinkState::Online as i32 && state.online()) {
                state.online_users = None;
            }
            state.info = account.clone();
            state.detail = details.get(&key).cloned().unwrap_or_default();
            server.accounts.push(state);
        }
        server.accounts.sort_by(|a, b| a.key.user.cmp(&b.key.user));
        if server.current >= server.accounts.len() {
            server.current = 0;
        }
    }
    app.servers = servers;
    if snap.status.instance_id != app.daemon_instance {
        // A new daemon run holds no unlocked keys: offer the passphrase prompts again.
        app.daemon_instance = snap.status.instance_id.clone();
        for account in app.servers.iter_mut().flat_map(|s| s.accounts.iter_mut()) {
            account.unlock_prompted = false;
        }
    }
    for (key, contacts) in &snap.contacts {
        if let Some(account) = app.account_mut(key) {
            account.aliases.clear();
        }
        for c in contacts {
            crate::local_events::set_alias_of(app, key, c);
        }
    }
    for (key, list) in snap.conversations {
        let Some(account) = app.account_mut(&key) else {
            continue;
        };
        for c in list.conversations {
            let conv = account
                .conversations
                .entry(c.peer.clone())
                .or_insert_with(|| Conversation {
                    peer: c.peer.clone(),
                    ..Default::default()
                });
            conv.unread = c.unread;
            if let Some(last) = c.last
                && last.id > conv.last_id
            {
                conv.last_id = last.id;
                conv.last_time = last.local_time;
            }
        }
    }
    let mut effects = Vec::new();
    if app.buffer(&app.active).is_none() {
        app.active = BufferKey::System;
    }
    let first = !app.attached_once;
    app.attached_once = true;
    if let Some(pending) = app.pending_open.clone()
        && app.buffer(&pending).is_some()
    {
        app.pending_open = None;
        effects.extend(open_buffer(app, pending));
    } else if first && app.active == BufferKey::System {
        if let Some(start) = initial_buffer(app) {
            effects.extend(open_buffer(app, start));
        }
    } else if let BufferKey::Conv(account, peer) = app.active.clone() {
        // Catch up on what happened while detached.
        let limit = app.ui.history_page;
        if let Some(conv) = app.conversation_mut(&account, &peer)
            && conv.history != History::NotLoaded
            && conv.history != History::Loading
        {
            effects.push(Effect::Call(Call::History {
                account,
                peer,
                before: 0,
                limit,
            }));
        }
        effects.extend(mark_read_if_viewing(app));
    }
    effects.extend(refresh_users_if_unknown(app));
    prompt_unlocks(app);
    prompt_rejected(app);
    effects
}

/// Where to start: the most recent conversation of the default (or only) server, else its
/// buffer.
fn initial_buffer(app: &App) -> Option<BufferKey> {
    let server = app.current_server().or(app.servers.first())?;
    let by_name = app.ui.sort_by_name();
    if let Some(account) = server.current_account()
        && let Some(conv) = account.listed(by_name).first()
    {
        return Some(BufferKey::Conv(account.key.clone(), conv.peer.clone()));
    }
    Some(BufferKey::Server(server.profile.name.clone()))
}

/// Offers to unlock accounts whose key waits for a passphrase (once per session).
fn prompt_unlocks(app: &mut App) {
    let mut wanted = Vec::new();
    for server in &mut app.servers {
        for account in &mut server.accounts {
            if account.info.locked
                && account.info.passphrase_protected
                && account.info.auto_login
                && !account.unlock_prompted
            {
                account.unlock_prompted = true;
                wanted.push(account.key.clone());
            }
        }
    }
    for account in wanted {
        let popup = Popup::Passphrase {
            purpose: PassPurpose::Unlock {
                account,
                login: false,
            },
            field: Default::default(),
            first: None,
            error: None,
        };
        app.offer_popup(popup);
    }
}

/// After a reload: asks about each profile's refused certificate once.
fn prompt_rejected(app: &mut App) {
    let mut wanted = Vec::new();
    for s in &mut app.servers {
        if let Some(cert) = &s.profile.rejected_certificate
            && s.cert_prompted.as_deref() != Some(cert.sha256.as_str())
        {
            s.cert_prompted = Some(cert.sha256.clone());
            wanted.push((s.profile.name.clone(), cert.clone()));
        }
    }
    for (server, cert) in wanted {
        app.offer_popup(Popup::TrustCertificate { server, cert });
    }
}

fn account_of(m: &Message) -> Option<AccountKey> {
    m.account.as_ref().map(AccountKey::from_ref)
}

fn on_event(app: &mut App, ev: Event) -> Vec<Effect> {
    let Some(kind) = ev.kind else {
        return Vec::new();
    };
    if let Some(effects) = crate::local_events::on_event(app, &kind) {
        return effects;
    }
    match kind {
        event::Kind::MessageReceived(m) | event::Kind::MessageUpdated(m) => on_message(app, m),
        event::Kind::LinkState(link) => on_link(app, link),
        event::Kind::Hook(h) => on_hook(app, h),
        event::Kind::KeyChanged(k) => {
            let Some(account) = k.account.as_ref().map(AccountKey::from_ref) else {
                return Vec::new();
            };
            let exists = app.account(&account).is_some();
            if !exists {
                return vec![Effect::Call(Call::Reload)];
            }
            let text = format!(
                "⚠ {user}'s key changed! pinned {old}, the server now gives {new}. Messages to {user} are held \
                 until you check the new fingerprint with them and /accept {user}.",
                user = k.user,
                old = short_fp(&k.old_fingerprint),
                new = short_fp(&k.new_fingerprint),
            );
            let now = app.now_ms;
            if let Some(acc) = app.account_mut(&account) {
                let conv =
                    acc.conversations
                        .entry(k.user.clone())
                        .or_insert_with(|| Conversation {
                            peer: k.user.clone(),
                            last_time: now,
                            ..Default::default()
                        });
                conv.key_changed = Some(k.new_fingerprint.clone());
                conv.hidden = false;
            }
            app.notice(
                BufferKey::Conv(account.clone(), k.user.clone()),
                Level::Error,
                text.clone(),
            );
            app.notice(
                BufferKey::Server(account.server.clone()),
                Level::Error,
                text,
            );
            set_banner(
                app,
                Banner {
                    topic: format!("key:{}:{}", account.label(), k.user),
                    text: format!(
                        "⚠ {}'s key changed ({}): verify it, then /accept {}",
                        k.user,
                        account.label(),
                        k.user
                    ),
                    level: Level::Error,
                    countdown_to: None,
                    until_ms: None,
                },
            );
            bell(app)
        }
        event::Kind::Shutdown(s) => {
            let server = s
                .account
                .as_ref()
                .map(|a| a.server.clone())
                .unwrap_or_default();
            let when = clock::format(s.at, &app.tz, "%H:%M:%S");
            app.notice(
                BufferKey::Server(server.clone()),
                Level::Error,
                format!("server {server} announced a shutdown at {when}"),
            );
            set_banner(
                app,
                Banner {
                    topic: format!("shutdown:{server}"),
                    text: format!("⚠ server {server} shuts down at {when}"),
                    level: Level::Error,
                    countdown_to: Some(s.at),
                    until_ms: Some(s.at.saturating_mul(1000).saturating_add(60_000)),
                },
            );
            bell(app)
        }
        event::Kind::Read(r) => {
            let Some(account) = r.account.as_ref().map(AccountKey::from_ref) else {
                return Vec::new();
            };
            if let Some(conv) = app.conversation_mut(&account, &r.peer) {
                for e in &mut conv.buffer.entries {
                    if let crate::app::Entry::Message(m) = e
                        && m.id <= r.up_to
                    {
                        m.read = true;
                    }
                }
                if r.up_to >= conv.last_id {
                    conv.unread = 0;
                } else if conv.buffer.first_message_id().is_some_and(|f| f <= r.up_to) {
                    let left = conv
                        .buffer
                        .messages()
                        .filter(|m| !m.outgoing && !m.read)
                        .count();
                    conv.unread = conv.unread.min(u32::try_from(left).unwrap_or(u32::MAX));
                }
            }
            Vec::new()
        }
        event::Kind::Gap(_) | event::Kind::ConfigChanged(_) => vec![Effect::Call(Call::Reload)],
        event::Kind::CertificateChanged(c) => {
            let text = format!(
                "{}'s certificate changed: connections are refused until you trust it",
                c.server
            );
            app.notice(
                BufferKey::Server(c.server.clone()),
                Level::Error,
                text.clone(),
            );
            app.flash(Level::Error, text);
            vec![Effect::Call(Call::Reload)]
        }
        event::Kind::CatchUp(c) => {
            let key = c.account.as_ref().map(AccountKey::from_ref);
            if let Some(account) = key.and_then(|k| app.account_mut(&k)) {
                account.catch_up = (!c.done).then_some(c.received);
            }
            Vec::new()
        }
        // Handled by `local_events`.
        event::Kind::OpenConversation(_)
        | event::Kind::HookFailed(_)
        | event::Kind::ContactChanged(_)
        | event::Kind::ConversationDeleted(_)
        | event::Kind::SettingChanged(_) => Vec::new(),
    }
}

fn bell(app: &App) -> Vec<Effect> {
    if app.ui.bell {
        vec![Effect::Bell]
    } else {
        Vec::new()
    }
}

/// Adds a new or changed message to its conversation.
pub fn on_message(app: &mut App, m: Message) -> Vec<Effect> {
    let Some(account) = account_of(&m) else {
        return Vec::new();
    };
    if app.account(&account).is_none() {
        return vec![Effect::Call(Call::Reload)];
    }
    let active = app.active == BufferKey::Conv(account.clone(), m.peer.clone());
    let viewing = active && app.terminal_focused && app.popup.is_none();
    let now = app.now_ms;
    let Some(acc) = app.account_mut(&account) else {
        return Vec::new();
    };
    let conv = acc
        .conversations
        .entry(m.peer.clone())
        .or_insert_with(|| Conversation {
            peer: m.peer.clone(),
            last_time: now,
            ..Default::default()
        });
    let fresh = m.id > conv.last_id;
    let incoming = !m.outgoing && m.state == MessageState::Received as i32;
    let (id, read, local_time) = (m.id, m.read, m.local_time);
    conv.buffer.upsert(m);
    if !fresh {
        return Vec::new();
    }
    conv.last_id = id;
    conv.last_time = local_time;
    conv.hidden = false;
    if !incoming || read {
        return Vec::new();
    }
    let at_bottom = conv.buffer.scroll == crate::app::Scroll::Bottom;
    conv.unread += 1;
    if viewing && at_bottom {
        return mark_read_if_viewing(app);
    }
    if active && !at_bottom {
        // Seen later, when scrolled down; no bell for the conversation on screen.
        return if app.terminal_focused {
            Vec::new()
        } else {
            bell(app)
        };
    }
    bell(app)
}

fn on_link(app: &mut App, link: ipc::Link) -> Vec<Effect> {
    let Some(key) = link.account.as_ref().map(AccountKey::from_ref) else {
        return Vec::new();
    };
    let Some(acc) = app.account_mut(&key) else {
        return vec![Effect::Call(Call::Reload)];
    };
    let before = acc.state();
    acc.info.state = link.state;
    acc.info.permission = link.permission;
    acc.detail = link.detail.clone();
    let now = acc.state();
    if now == LinkState::Locked {
        acc.info.locked = true;
    } else if matches!(
        now,
        LinkState::Online | LinkState::Connecting | LinkState::LoggingIn
    ) {
        acc.info.locked = false;
    }
    if now != LinkState::Online {
        acc.online_users = None;
        acc.users_loading = false;
    }
    if before == now {
        return Vec::new();
    }
    let server = BufferKey::Server(key.server.clone());
    let detail = if link.detail.is_empty() {
        String::new()
    } else {
        format!(": {}", link.detail)
    };
    let mut effects = Vec::new();
    match now {
        LinkState::Online => {
            app.notice(
                server,
                Level::Success,
                format!(
                    "{} is online ({}, {})",
                    key.label(),
                    permission_name(link.permission),
                    if link.secure { "TLS" } else { "plain TCP" }
                ),
            );
            effects.extend(refresh_users_if_unknown(app));
        }
        LinkState::Backoff => app.notice(
            server,
            Level::Warning,
            format!("{} lost the server{detail}; retrying", key.label()),
        ),
        LinkState::Offline => app.notice(
            server,
            Level::Info,
            format!("{} is offline{detail}", key.label()),
        ),
        LinkState::Locked => app.notice(
            server,
            Level::Warning,
            format!("{} is locked: /unlock to type its passphrase", key.label()),
        ),
        LinkState::Connecting | LinkState::LoggingIn | LinkState::Unspecified => {}
    }
    effects
}

fn on_hook(app: &mut App, h: ipc::HookFired) -> Vec<Effect> {
    let Some(key) = h.account.as_ref().map(AccountKey::from_ref) else {
        return Vec::new();
    };
    let server = BufferKey::Server(key.server.clone());
    let hook = Hook::try_from(h.hook).unwrap_or(Hook::All);
    let Some(acc) = app.account_mut(&key) else {
        return Vec::new();
    };
    match hook {
        Hook::NewLogin => {
            if let Some(users) = &mut acc.online_users {
                users.retain(|u| u.name != h.user);
                users.push(ipc::User {
                    name: h.user.clone(),
                    has_permission: true,
                    permission: h.permission,
                });
            }
            app.notice(server, Level::Info, format!("{} logged in", h.user));
        }
        Hook::NewLogout => {
            if let Some(users) = &mut acc.online_users {
                users.retain(|u| u.name != h.user);
            }
            app.notice(server, Level::Info, format!("{} logged out", h.user));
        }
        Hook::PermissionsChanged => {
            if let Some(users) = &mut acc.online_users
                && let Some(u) = users.iter_mut().find(|u| u.name == h.user)
            {
                u.permission = h.permission;
                u.has_permission = true;
            }
            if h.user == key.user {
                acc.info.permission = h.permission;
                let text = format!(
                    "your permission level on {} is now {} ({})",
                    key.server,
                    h.permission,
                    permission_name(h.permission)
                );
                app.notice(server, Level::Warning, text.clone());
                app.flash(Level::Warning, text);
            } else {
                app.notice(
                    server,
                    Level::Info,
                    format!(
                        "{}'s permission level is now {} ({})",
                        h.user,
                        h.permission,
                        permission_name(h.permission)
                    ),
                );
            }
        }
        Hook::DuplicateSession => {
            let from = if h.ip.is_empty() {
                "somewhere".to_owned()
            } else {
                h.ip.clone()
            };
            let text = format!("⚠ someone tried to log in as {} from {from}", key.label());
            app.notice(server, Level::Error, text.clone());
            app.flash(Level::Error, text);
            return bell(app);
        }
        Hook::All => {}
    }
    Vec::new()
}
