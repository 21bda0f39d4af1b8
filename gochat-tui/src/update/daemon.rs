//! What the daemon says: attach/detach, snapshots, live events and the replies to calls,
//! mirrored into the model.

use std::collections::HashMap;

use gochat_proto::ipc::{self, Event, Hook, KeyState, LinkState, Message, MessageState, event};

use super::{mark_read_if_viewing, open_buffer};
use crate::app::{
    AccountKey, AccountState, App, Banner, BufferKey, Conversation, DaemonState, History, Level,
    PassPurpose, Popup, ServerState, link_state_name, permission_name,
};
use crate::clock;
use crate::msg::{AccountOp, Call, DaemonMsg, Effect, Reply, Snapshot};

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
        DaemonMsg::Reply(reply) => on_reply(app, *reply),
    }
}

fn set_banner(app: &mut App, banner: Banner) {
    app.banners.retain(|b| b.topic != banner.topic);
    app.banners.insert(0, banner);
}

/// Mirrors a snapshot, keeping what only the TUI has (notices, loaded pages, scroll).
fn apply_snapshot(app: &mut App, snap: Snapshot) -> Vec<Effect> {
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
    effects.extend(super::refresh_users_if_unknown(app));
    prompt_unlocks(app);
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
        if app.popup.is_none() {
            app.popup = Some(popup);
        } else {
            app.popup_queue.push_back(popup);
        }
    }
}

fn account_of(m: &Message) -> Option<AccountKey> {
    m.account.as_ref().map(AccountKey::from_ref)
}

fn on_event(app: &mut App, ev: Event) -> Vec<Effect> {
    let Some(kind) = ev.kind else {
        return Vec::new();
    };
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
    }
}

fn bell(app: &App) -> Vec<Effect> {
    if app.ui.bell {
        vec![Effect::Bell]
    } else {
        Vec::new()
    }
}

fn short_fp(fp: &str) -> String {
    let fp: String = fp.chars().take(16).collect();
    fp.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

fn on_message(app: &mut App, m: Message) -> Vec<Effect> {
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
            effects.extend(super::refresh_users_if_unknown(app));
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

fn on_reply(app: &mut App, reply: Reply) -> Vec<Effect> {
    match reply {
        Reply::Snapshot(Ok(snapshot)) => apply_snapshot(app, *snapshot),
        Reply::Snapshot(Err(e)) => {
            app.notice(
                BufferKey::System,
                Level::Error,
                format!("could not reload from gochatd: {e}"),
            );
            Vec::new()
        }
        Reply::Sent {
            account,
            to,
            result,
        } => match result {
            Ok(messages) => {
                let mut effects = Vec::new();
                for m in messages {
                    effects.extend(on_message(app, m));
                }
                effects
            }
            Err(e) => {
                app.notice(
                    BufferKey::Conv(account, to.clone()),
                    Level::Error,
                    format!("could not send to {to}: {e}"),
                );
                app.flash(Level::Error, format!("not sent: {e}"));
                Vec::new()
            }
        },
        Reply::History {
            account,
            peer,
            before,
            result,
        } => {
            let Some(conv) = app.conversation_mut(&account, &peer) else {
                return Vec::new();
            };
            match result {
                Ok(list) => {
                    if let Some(newest) = list.messages.iter().max_by_key(|m| m.id)
                        && newest.id > conv.last_id
                    {
                        conv.last_id = newest.id;
                        conv.last_time = newest.local_time;
                    }
                    conv.buffer.merge(list.messages);
                    // A refresh of the newest page keeps the older cursor.
                    conv.history = match conv.history {
                        History::Loaded { next_before }
                            if before == 0
                                && conv.buffer.first_message_id() < Some(list.next_before) =>
                        {
                            History::Loaded { next_before }
                        }
                        _ => History::Loaded {
                            next_before: list.next_before,
                        },
                    };
                    if conv.marker_on_load {
                        conv.marker_on_load = false;
                        conv.unread_marker = conv
                            .buffer
                            .messages()
                            .find(|m| !m.read && !m.outgoing)
                            .map(|m| m.id);
                    }
                    Vec::new()
                }
                Err(e) => {
                    conv.history = if before == 0 {
                        History::NotLoaded
                    } else {
                        History::Loaded {
                            next_before: before,
                        }
                    };
                    app.notice(
                        BufferKey::Conv(account, peer),
                        Level::Error,
                        format!("could not load history: {e}"),
                    );
                    Vec::new()
                }
            }
        }
        Reply::Users {
            account,
            online_only,
            print,
            result,
        } => {
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
        Reply::Contact {
            account,
            user,
            print,
            accepted,
            result,
        } => {
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
                        let state = match KeyState::try_from(c.key_state)
                            .unwrap_or(KeyState::Unspecified)
                        {
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
        Reply::Account {
            account,
            op,
            result,
        } => on_account_reply(app, account, op, result),
        Reply::Done {
            what,
            account,
            reload,
            quiet,
            result,
        } => {
            let target = account.map_or(app.active.clone(), |a| {
                if matches!(&app.active, BufferKey::Conv(k, _) if *k == a) {
                    app.active.clone()
                } else {
                    BufferKey::Server(a.server)
                }
            });
            match result {
                Ok(()) if !quiet => app.notice(target, Level::Success, what),
                Ok(()) => {}
                Err(e) => {
                    app.notice(target, Level::Error, format!("{what} failed: {e}"));
                    app.flash(Level::Error, format!("{what} failed: {e}"));
                }
            }
            if reload {
                vec![Effect::Call(Call::Reload)]
            } else {
                Vec::new()
            }
        }
        Reply::Search {
            account,
            query,
            result,
        } => {
            match result {
                Ok(messages) => {
                    let mut lines = vec![format!(
                        "{} messages match {query:?} ({}):",
                        messages.len(),
                        account.label()
                    )];
                    for m in &messages {
                        let when = clock::format(m.stamp, &app.tz, "%Y-%m-%d %H:%M");
                        let who = if m.outgoing {
                            format!("you → {}", m.peer)
                        } else {
                            format!("{} → you", m.peer)
                        };
                        lines.push(format!("  {when}  {who}: {}", m.text.replace('\n', " ")));
                    }
                    app.notice_here(Level::Info, lines.join("\n"));
                }
                Err(e) => app.notice_here(Level::Error, format!("search failed: {e}")),
            }
            Vec::new()
        }
        Reply::Key { account, result } => {
            match result {
                Ok(k) => app.notice_here(
                    Level::Info,
                    format!(
                        "{}: RSA-{} key, fingerprint (SHA-256)\n  {}\nExport the private key with /key export FILE.",
                        account.label(),
                        k.bits,
                        k.fingerprint
                    ),
                ),
                Err(e) => app.notice_here(Level::Error, format!("could not show the key: {e}")),
            }
            Vec::new()
        }
        Reply::Exported {
            account,
            path,
            result,
        } => {
            match result {
                Ok(()) => app.notice_here(
                    Level::Success,
                    format!(
                        "wrote {}'s private key to {path} (mode 0600; keep it safe)",
                        account.label()
                    ),
                ),
                Err(e) => app.notice_here(Level::Error, format!("export failed: {e}")),
            }
            Vec::new()
        }
        Reply::Status(result) => {
            match result {
                Ok(s) => {
                    let mut lines = vec![format!(
                        "gochat-tui {}, gochatd {} (pid {}), protocol v{}",
                        env!("CARGO_PKG_VERSION"),
                        s.daemon_version,
                        s.pid,
                        s.protocol_version
                    )];
                    for l in &s.links {
                        let who = l
                            .account
                            .as_ref()
                            .map(AccountKey::from_ref)
                            .map(|a| a.label())
                            .unwrap_or_default();
                        let state = link_state_name(
                            LinkState::try_from(l.state).unwrap_or(LinkState::Unspecified),
                        );
                        let detail = if l.detail.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", l.detail)
                        };
                        lines.push(format!(
                            "  {who}: {state}{detail}, {}, {}",
                            permission_name(l.permission),
                            if l.secure { "TLS" } else { "plain TCP" }
                        ));
                    }
                    app.notice_here(Level::Info, lines.join("\n"));
                }
                Err(e) => app.notice_here(Level::Error, format!("status failed: {e}")),
            }
            Vec::new()
        }
    }
}

fn on_account_reply(
    app: &mut App,
    account: AccountKey,
    op: AccountOp,
    result: Result<ipc::Account, String>,
) -> Vec<Effect> {
    let server = BufferKey::Server(account.server.clone());
    match result {
        Ok(info) => {
            if let Some(acc) = app.account_mut(&account) {
                acc.info = info.clone();
            }
            let label = account.label();
            let mut effects = Vec::new();
            let text = match op {
                AccountOp::Login => format!(
                    "logged in as {label} ({})",
                    permission_name(info.permission)
                ),
                AccountOp::Logout => format!("logged out {label}"),
                AccountOp::Unlock { login } => {
                    if login {
                        effects.push(Effect::Call(Call::Login(account.clone())));
                    }
                    format!("unlocked {label}")
                }
                AccountOp::Lock => format!("locked {label}: its key is no longer in memory"),
                AccountOp::Register => {
                    effects.push(Effect::Call(Call::Reload));
                    app.pending_open = Some(server.clone());
                    format!(
                        "registered {label}. Open a conversation with /msg USER (or Ctrl-N); fingerprint {}",
                        short_fp(&info.fingerprint)
                    )
                }
                AccountOp::Import => {
                    effects.push(Effect::Call(Call::Reload));
                    app.pending_open = Some(server.clone());
                    format!("imported {label}")
                }
            };
            app.notice(server.clone(), Level::Success, text.clone());
            if app.active != server {
                app.notice_here(Level::Success, text);
            }
            effects
        }
        Err(e) => {
            let what = match op {
                AccountOp::Login => "login",
                AccountOp::Logout => "logout",
                AccountOp::Unlock { .. } => "unlock",
                AccountOp::Lock => "lock",
                AccountOp::Register => "registration",
                AccountOp::Import => "import",
            };
            if let AccountOp::Unlock { login } = op {
                // A wrong passphrase: ask again, saying why.
                app.popup = Some(Popup::Passphrase {
                    purpose: PassPurpose::Unlock {
                        account: account.clone(),
                        login,
                    },
                    field: Default::default(),
                    first: None,
                    error: Some(e.clone()),
                });
            }
            let text = format!("{what} of {} failed: {e}", account.label());
            if app.buffer(&server).is_some() && app.active != server {
                app.notice(server, Level::Error, text.clone());
            }
            app.notice_here(Level::Error, text.clone());
            app.flash(Level::Error, text);
            Vec::new()
        }
    }
}
