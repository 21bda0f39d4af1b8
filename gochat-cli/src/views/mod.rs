//! The JSON shapes (stable, documented in `docs/CLI.md`) and the human forms of the daemon's
//! types.

mod local;

use gochat_client::term;
use gochat_proto::ipc::{self, event};
use serde::Serialize;

use crate::certificate::CertificateJson;
use crate::output::{self, BAD, DIM, GOOD, PEER, PLAIN, WARN, paint};
use crate::time;

pub fn link_state(state: i32) -> &'static str {
    match ipc::LinkState::try_from(state) {
        Ok(ipc::LinkState::Offline) => "offline",
        Ok(ipc::LinkState::Connecting) => "connecting",
        Ok(ipc::LinkState::LoggingIn) => "logging_in",
        Ok(ipc::LinkState::Online) => "online",
        Ok(ipc::LinkState::Backoff) => "reconnecting",
        Ok(ipc::LinkState::Locked) => "locked",
        Ok(ipc::LinkState::Unspecified) | Err(_) => "unknown",
    }
}

pub fn link_state_style(state: i32) -> anstyle::Style {
    match ipc::LinkState::try_from(state) {
        Ok(ipc::LinkState::Online) => GOOD,
        Ok(ipc::LinkState::Locked | ipc::LinkState::Backoff) => WARN,
        Ok(ipc::LinkState::Offline) => BAD,
        _ => PLAIN,
    }
}

pub fn message_state(state: i32) -> &'static str {
    match ipc::MessageState::try_from(state) {
        Ok(ipc::MessageState::Queued) => "queued",
        Ok(ipc::MessageState::Sent) => "sent",
        Ok(ipc::MessageState::Failed) => "failed",
        Ok(ipc::MessageState::Received) => "received",
        Ok(ipc::MessageState::Unspecified) | Err(_) => "unknown",
    }
}

pub fn key_state(state: i32) -> &'static str {
    match ipc::KeyState::try_from(state) {
        Ok(ipc::KeyState::Unknown) => "unknown",
        Ok(ipc::KeyState::Pinned) => "pinned",
        Ok(ipc::KeyState::Changed) => "changed",
        Ok(ipc::KeyState::Unspecified) | Err(_) => "unknown",
    }
}

pub fn hook_name(hook: i32) -> &'static str {
    match ipc::Hook::try_from(hook) {
        Ok(ipc::Hook::All) => "all",
        Ok(ipc::Hook::NewLogin) => "new_login",
        Ok(ipc::Hook::NewLogout) => "new_logout",
        Ok(ipc::Hook::DuplicateSession) => "duplicate_session",
        Ok(ipc::Hook::PermissionsChanged) => "permissions_changed",
        Err(_) => "unknown",
    }
}

pub use gochat_client::names::permission_name;

fn none_if_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// `account@server`, safe to print.
pub fn account_label(r: Option<&ipc::AccountRef>) -> String {
    match r {
        Some(r) => format!("{}@{}", term::name(&r.username), term::line(&r.server)),
        None => "?".into(),
    }
}

/// A user name, safe to print ([`term::name`]).
pub fn user(name: &str) -> String {
    term::name(name).into_owned()
}

/// A user name with its local alias first, when there is one: `Al (alice)`.
pub fn user_with_alias(name: &str, alias: Option<&String>) -> String {
    match alias {
        Some(alias) => format!("{} ({})", term::line(alias), term::name(name)),
        None => term::name(name).into_owned(),
    }
}

#[derive(Debug, Serialize)]
pub struct ServerJson {
    pub name: String,
    pub host: String,
    pub port: u32,
    pub tls: bool,
    pub verify: bool,
    pub ca_file: Option<String>,
    pub default: bool,
    /// Pinned certificates and keys (`sha256:HEX`, `spki-sha256:HEX`).
    pub pins: Vec<String>,
    /// The certificate the server presented last that was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_certificate: Option<CertificateJson>,
}

impl From<&ipc::ServerProfile> for ServerJson {
    fn from(s: &ipc::ServerProfile) -> Self {
        ServerJson {
            name: s.name.clone(),
            host: s.host.clone(),
            port: s.port,
            tls: s.tls,
            verify: s.tls && !s.skip_verify,
            ca_file: none_if_empty(&s.ca_file),
            default: s.is_default,
            pins: s.pins.clone(),
            rejected_certificate: s.rejected_certificate.as_ref().map(CertificateJson::from),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AccountJson {
    pub server: String,
    pub username: String,
    pub state: &'static str,
    pub locked: bool,
    pub passphrase_protected: bool,
    pub permission: u32,
    pub fingerprint: String,
    pub auto_login: bool,
}

impl From<&ipc::Account> for AccountJson {
    fn from(a: &ipc::Account) -> Self {
        let r = a.r#ref.clone().unwrap_or_default();
        AccountJson {
            server: r.server,
            username: r.username,
            state: link_state(a.state),
            locked: a.locked,
            passphrase_protected: a.passphrase_protected,
            permission: a.permission,
            fingerprint: a.fingerprint.clone(),
            auto_login: a.auto_login,
        }
    }
}

/// One line about an account, for commands that change one.
pub fn account_line(a: &ipc::Account) -> String {
    let mut line = format!(
        "{}: {}",
        paint(PEER, account_label(a.r#ref.as_ref())),
        paint(link_state_style(a.state), link_state(a.state))
    );
    if a.locked && a.state != ipc::LinkState::Locked as i32 {
        line.push_str(", key locked");
    }
    if a.permission > 0 {
        line.push_str(&format!(", {}", permission_name(a.permission)));
    }
    line
}

#[derive(Debug, Serialize)]
pub struct LinkJson {
    pub server: String,
    pub account: String,
    pub state: &'static str,
    pub detail: Option<String>,
    pub permission: u32,
    pub secure: bool,
}

impl From<&ipc::Link> for LinkJson {
    fn from(l: &ipc::Link) -> Self {
        let r = l.account.clone().unwrap_or_default();
        LinkJson {
            server: r.server,
            account: r.username,
            state: link_state(l.state),
            detail: none_if_empty(&l.detail),
            permission: l.permission,
            secure: l.secure,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct UserJson {
    pub name: String,
    pub permission: Option<u32>,
}

impl From<&ipc::User> for UserJson {
    fn from(u: &ipc::User) -> Self {
        UserJson {
            name: u.name.clone(),
            permission: u.has_permission.then_some(u.permission),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ContactJson {
    pub user: String,
    pub key_state: &'static str,
    pub fingerprint: Option<String>,
    pub pending_fingerprint: Option<String>,
    pub permission: u32,
    /// Where the pinned key came from: null (fetched by gochatd) or "go-client".
    pub key_origin: Option<String>,
    /// The local alias, if any.
    pub alias: Option<String>,
    pub muted: bool,
    pub blocked: bool,
    /// "on", "off", "mentions", or null (the account's setting).
    pub notify: Option<&'static str>,
    pub muted_count: u64,
    pub blocked_count: u64,
}

impl From<&ipc::Contact> for ContactJson {
    fn from(c: &ipc::Contact) -> Self {
        ContactJson {
            user: c.user.clone(),
            key_state: key_state(c.key_state),
            fingerprint: none_if_empty(&c.fingerprint),
            pending_fingerprint: none_if_empty(&c.pending_fingerprint),
            permission: c.permission,
            key_origin: none_if_empty(&c.key_origin),
            alias: none_if_empty(&c.alias),
            muted: c.muted,
            blocked: c.blocked,
            notify: match ipc::NotifyMode::try_from(c.notify) {
                Ok(ipc::NotifyMode::On) => Some("on"),
                Ok(ipc::NotifyMode::Off) => Some("off"),
                Ok(ipc::NotifyMode::Mentions) => Some("mentions"),
                _ => None,
            },
            muted_count: c.muted_count,
            blocked_count: c.blocked_count,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageJson {
    pub id: i64,
    pub server: String,
    pub account: String,
    pub peer: String,
    /// `in` or `out`.
    pub direction: &'static str,
    pub text: String,
    /// Unix seconds, as carried on the wire (the sender's clock).
    pub stamp: i64,
    /// Unix milliseconds when the daemon stored it.
    pub stored_at: i64,
    pub state: &'static str,
    pub error: Option<String>,
    /// Why it failed, for scripts (`not_found`, `refused`, `key_changed`, …).
    pub failure_reason: Option<String>,
    /// With `failure_reason` `refused`: the server's code (`ERR_…`).
    pub failure_server_error: Option<String>,
    pub read: bool,
}

impl From<&ipc::Message> for MessageJson {
    fn from(m: &ipc::Message) -> Self {
        let r = m.account.clone().unwrap_or_default();
        MessageJson {
            id: m.id,
            server: r.server,
            account: r.username,
            peer: m.peer.clone(),
            direction: if m.outgoing { "out" } else { "in" },
            text: m.text.clone(),
            stamp: m.stamp,
            stored_at: m.local_time,
            state: message_state(m.state),
            error: none_if_empty(&m.error),
            failure_reason: gochat_client::names::reason_name(m.failure_reason()),
            failure_server_error: gochat_client::names::server_error_name(m.failure_server_error()),
            read: m.read,
        }
    }
}

/// `[time] sender: text`, with the state of outgoing messages that are not simply sent.
/// Line breaks in the text continue under its first line; everything else unsafe in it is
/// shown escaped.
pub fn message_line(m: &ipc::Message, full_time: bool) -> String {
    let ms = m.stamp.saturating_mul(1000);
    let when = if full_time {
        time::local(ms)
    } else {
        time::short(ms)
    };
    let (sender, sender_style) = if m.outgoing {
        (
            m.account
                .as_ref()
                .map_or_else(|| "me".to_owned(), |a| user(&a.username)),
            output::BOLD,
        )
    } else {
        (user(&m.peer), PEER)
    };
    let to = if m.outgoing {
        format!(" → {}", user(&m.peer))
    } else {
        String::new()
    };
    let prefix_width = format!("[{when}] {sender}{to}: ").chars().count();
    let indent = " ".repeat(prefix_width.min(24));
    let to = if m.outgoing {
        format!(" → {}", paint(PEER, user(&m.peer)))
    } else {
        String::new()
    };
    let mut line = format!(
        "{} {}{to}: {}",
        paint(DIM, format!("[{when}]")),
        paint(sender_style, sender),
        term::text(&m.text, &indent)
    );
    match ipc::MessageState::try_from(m.state) {
        Ok(ipc::MessageState::Queued) => line.push_str(&format!(" {}", paint(WARN, "(queued)"))),
        Ok(ipc::MessageState::Failed) => line.push_str(&format!(
            " {}",
            paint(BAD, format!("(failed: {})", m.error))
        )),
        _ => {}
    }
    line
}

#[derive(Debug, Serialize)]
pub struct ConversationJson {
    pub peer: String,
    pub unread: u32,
    pub last: Option<MessageJson>,
}

impl From<&ipc::Conversation> for ConversationJson {
    fn from(c: &ipc::Conversation) -> Self {
        ConversationJson {
            peer: c.peer.clone(),
            unread: c.unread,
            last: c.last.as_ref().map(MessageJson::from),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct MessagesJson {
    pub messages: Vec<MessageJson>,
    /// Pass as `--before` for the next (older) page; absent when there is none.
    pub next_before: Option<i64>,
}

/// An event as one JSON line of `watch --json`.
#[derive(Debug, Serialize)]
pub struct EventJson {
    pub id: u64,
    /// Unix milliseconds.
    pub time: i64,
    pub instance_id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook: Option<HookJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_changed: Option<KeyChangedJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown: Option<ShutdownJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read: Option<ReadJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap: Option<GapJson>,
    /// What a `config_changed` event concerns: `servers` or `accounts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catch_up: Option<CatchUpJson>,
    /// The fields of the notification, hook and housekeeping events (see `local`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub local: Option<serde_json::Map<String, serde_json::Value>>,
    /// A pinned server presented another certificate (`certificate_changed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_changed: Option<CertificateChangedJson>,
}

/// A pinned server presented another certificate; the connection was refused.
#[derive(Debug, Serialize)]
pub struct CertificateChangedJson {
    pub server: String,
    pub presented: Option<CertificateJson>,
    pub pins: Vec<String>,
}

/// Progress of a catch-up after login.
#[derive(Debug, Serialize)]
pub struct CatchUpJson {
    pub server: String,
    pub account: String,
    pub received: u64,
    pub done: bool,
}

#[derive(Debug, Serialize)]
pub struct HookJson {
    pub server: String,
    pub account: String,
    pub hook: &'static str,
    pub user: String,
    pub permission: u32,
    pub ip: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct KeyChangedJson {
    pub server: String,
    pub account: String,
    pub user: String,
    pub old_fingerprint: String,
    pub new_fingerprint: String,
}

#[derive(Debug, Serialize)]
pub struct ShutdownJson {
    pub server: String,
    pub account: String,
    /// Unix seconds.
    pub at: i64,
}

#[derive(Debug, Serialize)]
pub struct ReadJson {
    pub server: String,
    pub account: String,
    pub peer: String,
    pub up_to: i64,
}

#[derive(Debug, Serialize)]
pub struct GapJson {
    pub first_available: u64,
}

fn split(r: Option<&ipc::AccountRef>) -> (String, String) {
    let r = r.cloned().unwrap_or_default();
    (r.server, r.username)
}

impl EventJson {
    fn bare(e: &ipc::Event, kind: &'static str) -> EventJson {
        EventJson {
            id: e.id,
            time: e.time,
            instance_id: e.instance_id.clone(),
            kind,
            message: None,
            link: None,
            hook: None,
            key_changed: None,
            shutdown: None,
            read: None,
            gap: None,
            changed: None,
            catch_up: None,
            certificate_changed: None,
            local: None,
        }
    }
}

impl From<&ipc::Event> for EventJson {
    fn from(e: &ipc::Event) -> Self {
        match &e.kind {
            Some(event::Kind::MessageReceived(m)) => EventJson {
                message: Some(m.into()),
                ..EventJson::bare(e, "message_received")
            },
            Some(event::Kind::MessageUpdated(m)) => EventJson {
                message: Some(m.into()),
                ..EventJson::bare(e, "message_updated")
            },
            Some(event::Kind::LinkState(l)) => EventJson {
                link: Some(l.into()),
                ..EventJson::bare(e, "link_state")
            },
            Some(event::Kind::Hook(h)) => {
                let (server, account) = split(h.account.as_ref());
                EventJson {
                    hook: Some(HookJson {
                        server,
                        account,
                        hook: hook_name(h.hook),
                        user: h.user.clone(),
                        permission: h.permission,
                        ip: none_if_empty(&h.ip),
                    }),
                    ..EventJson::bare(e, "hook")
                }
            }
            Some(event::Kind::KeyChanged(k)) => {
                let (server, account) = split(k.account.as_ref());
                EventJson {
                    key_changed: Some(KeyChangedJson {
                        server,
                        account,
                        user: k.user.clone(),
                        old_fingerprint: k.old_fingerprint.clone(),
                        new_fingerprint: k.new_fingerprint.clone(),
                    }),
                    ..EventJson::bare(e, "key_changed")
                }
            }
            Some(event::Kind::Shutdown(s)) => {
                let (server, account) = split(s.account.as_ref());
                EventJson {
                    shutdown: Some(ShutdownJson {
                        server,
                        account,
                        at: s.at,
                    }),
                    ..EventJson::bare(e, "shutdown")
                }
            }
            Some(event::Kind::Read(r)) => {
                let (server, account) = split(r.account.as_ref());
                EventJson {
                    read: Some(ReadJson {
                        server,
                        account,
                        peer: r.peer.clone(),
                        up_to: r.up_to,
                    }),
                    ..EventJson::bare(e, "read")
                }
            }
            Some(event::Kind::Gap(g)) => EventJson {
                gap: Some(GapJson {
                    first_available: g.first_available,
                }),
                ..EventJson::bare(e, "gap")
            },
            Some(event::Kind::ConfigChanged(c)) => EventJson {
                changed: Some(c.what.clone()),
                ..EventJson::bare(e, "config_changed")
            },
            Some(event::Kind::CatchUp(c)) => {
                let (server, account) = split(c.account.as_ref());
                EventJson {
                    catch_up: Some(CatchUpJson {
                        server,
                        account,
                        received: c.received,
                        done: c.done,
                    }),
                    ..EventJson::bare(e, "catch_up")
                }
            }
            Some(event::Kind::CertificateChanged(c)) => EventJson {
                certificate_changed: Some(CertificateChangedJson {
                    server: c.server.clone(),
                    presented: c.presented.as_deref().map(CertificateJson::from),
                    pins: c.pins.clone(),
                }),
                ..EventJson::bare(e, "certificate_changed")
            },
            Some(other) => match local::json_of(other) {
                Some((kind, fields)) => EventJson {
                    local: Some(fields),
                    ..EventJson::bare(e, kind)
                },
                None => EventJson::bare(e, "unknown"),
            },
            None => EventJson::bare(e, "unknown"),
        }
    }
}

/// How much of the event stream a human sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Incoming messages, failures, hooks, key changes, shutdowns, connection changes.
    Normal,
    /// Everything.
    Verbose,
}

/// The human line for an event, or `None` when it is not worth showing at this detail.
pub fn event_line(e: &ipc::Event, detail: Detail) -> Option<String> {
    let verbose = detail == Detail::Verbose;
    let tag = |t: &str, style| paint(style, format!("[{t}]"));
    match &e.kind {
        Some(event::Kind::MessageReceived(m)) => Some(message_line(m, false)),
        Some(event::Kind::MessageUpdated(m)) => {
            if m.state == ipc::MessageState::Failed as i32 {
                Some(format!(
                    "{} message {} to {} failed: {}",
                    tag("FAILED", BAD),
                    m.id,
                    paint(PEER, user(&m.peer)),
                    term::line(&m.error)
                ))
            } else if verbose {
                Some(format!(
                    "{} message {} to {}: {}",
                    tag("MSG", DIM),
                    m.id,
                    paint(PEER, user(&m.peer)),
                    message_state(m.state)
                ))
            } else {
                None
            }
        }
        Some(event::Kind::LinkState(l)) => {
            let state = ipc::LinkState::try_from(l.state).unwrap_or_default();
            let interesting = matches!(
                state,
                ipc::LinkState::Online
                    | ipc::LinkState::Offline
                    | ipc::LinkState::Locked
                    | ipc::LinkState::Backoff
            );
            (verbose || interesting).then(|| {
                let mut line = format!(
                    "{} {} is {}",
                    tag("LINK", DIM),
                    account_label(l.account.as_ref()),
                    paint(link_state_style(l.state), link_state(l.state))
                );
                if !l.detail.is_empty() {
                    line.push_str(&format!(" ({})", term::line(&l.detail)));
                }
                line
            })
        }
        Some(event::Kind::Hook(h)) => {
            let what = match ipc::Hook::try_from(h.hook) {
                Ok(ipc::Hook::NewLogin) => "logged in",
                Ok(ipc::Hook::NewLogout) => "logged out",
                Ok(ipc::Hook::DuplicateSession) => "opened a duplicate session",
                Ok(ipc::Hook::PermissionsChanged) => "changed permissions",
                _ => "fired a hook",
            };
            let mut line = format!(
                "{} {} {what}",
                tag("HOOK", WARN),
                paint(PEER, user(&h.user))
            );
            if h.hook == ipc::Hook::PermissionsChanged as i32 {
                line.push_str(&format!(" (now {})", permission_name(h.permission)));
            }
            if !h.ip.is_empty() {
                line.push_str(&format!(" from {}", term::line(&h.ip)));
            }
            Some(line)
        }
        Some(event::Kind::KeyChanged(k)) => Some(format!(
            "{} {}'s key changed on {}: was {}, now {}; check it, then run `key accept {}`",
            tag("KEY", BAD),
            paint(PEER, user(&k.user)),
            account_label(k.account.as_ref()),
            term::line(&k.old_fingerprint),
            term::line(&k.new_fingerprint),
            user(&k.user)
        )),
        Some(event::Kind::Shutdown(s)) => {
            let left = s.at - time::now_ms() / 1000;
            Some(format!(
                "{} server {} shuts down at {} (in {} s)",
                tag("SHTDWN", BAD),
                term::line(s.account.as_ref().map_or("?", |a| a.server.as_str())),
                time::local(s.at.saturating_mul(1000)),
                left.max(0)
            ))
        }
        Some(event::Kind::Read(r)) => verbose.then(|| {
            format!(
                "{} {} read up to message {}",
                tag("READ", DIM),
                paint(PEER, user(&r.peer)),
                r.up_to
            )
        }),
        Some(event::Kind::Gap(g)) => Some(format!(
            "{} some events were dropped from the daemon's log (first kept: {}); reload what you show",
            tag("GAP", WARN),
            g.first_available
        )),
        Some(event::Kind::ConfigChanged(c)) => {
            verbose.then(|| format!("{} {} changed", tag("CONFIG", DIM), term::line(&c.what)))
        }
        Some(event::Kind::CatchUp(c)) => verbose.then(|| {
            let account = c.account.as_ref().map_or("?", |a| a.username.as_str());
            if c.done {
                format!(
                    "{} {} caught up: {} messages",
                    tag("CATCHUP", DIM),
                    term::line(account),
                    c.received
                )
            } else {
                format!(
                    "{} {} catching up: {} messages so far",
                    tag("CATCHUP", DIM),
                    term::line(account),
                    c.received
                )
            }
        }),
        Some(event::Kind::CertificateChanged(c)) => Some(format!(
            "{} server {}'s certificate changed (now {}): connections are refused; check it, \
             then run `server trust {}`",
            tag("CERT", BAD),
            term::line(&c.server),
            c.presented
                .as_ref()
                .map_or_else(String::new, |p| crate::certificate::fingerprint(&p.sha256)),
            term::line(&c.server)
        )),
        Some(other) => local::line_of(other, verbose).flatten(),
        None => verbose.then(|| format!("{} event {} of an unknown kind", tag("EVENT", DIM), e.id)),
    }
}
