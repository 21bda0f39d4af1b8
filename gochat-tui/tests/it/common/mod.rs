//! Fixtures: a model with a fixed clock and time zone, proto builders, and drawing into a
//! `TestBackend`.

#![allow(dead_code)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gochat_proto::ipc::{
    Account, AccountRef, Conversation, ConversationList, Event, LinkState, Message, MessageList,
    MessageState, ServerProfile, StatusReply, User, event,
};
use gochat_tui::app::{AccountKey, App};
use gochat_tui::config::Config;
use gochat_tui::msg::{DaemonMsg, Effect, Msg, Reply, Snapshot};
use gochat_tui::update::update;
use jiff::tz::TimeZone;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// 2026-11-24 14:05:00 UTC.
pub const NOW: i64 = 1_795_529_100;
/// 2026-11-23 22:10:00 UTC.
pub const YESTERDAY: i64 = 1_795_471_800;
/// 2026-11-24 09:00:00 UTC.
pub const MORNING: i64 = 1_795_510_800;

pub fn new_app(w: u16, h: u16) -> App {
    App::new(&Config::default(), TimeZone::UTC, (w, h), NOW * 1000)
}

pub fn aref(server: &str, user: &str) -> AccountRef {
    AccountRef {
        server: server.into(),
        username: user.into(),
    }
}

pub fn alice() -> AccountKey {
    AccountKey {
        server: "local".into(),
        user: "alice".into(),
    }
}

pub fn profile(name: &str, host: &str, port: u32, tls: bool) -> ServerProfile {
    ServerProfile {
        name: name.into(),
        host: host.into(),
        port,
        tls,
        is_default: name == "local",
        ..Default::default()
    }
}

pub fn account(server: &str, user: &str, state: LinkState, permission: u32) -> Account {
    Account {
        r#ref: Some(aref(server, user)),
        locked: state == LinkState::Locked,
        passphrase_protected: true,
        state: state as i32,
        permission,
        fingerprint: "3f9a11c2d4e5b6a7980112233445566778899aabbccddeeff00112233445566".into(),
        auto_login: true,
    }
}

pub fn message(
    id: i64,
    peer: &str,
    outgoing: bool,
    text: &str,
    stamp: i64,
    state: MessageState,
) -> Message {
    Message {
        id,
        account: Some(aref("local", "alice")),
        peer: peer.into(),
        outgoing,
        text: text.into(),
        stamp,
        state: state as i32,
        error: if state == MessageState::Failed {
            "server refused: ERR_NOTFOUND".into()
        } else {
            String::new()
        },
        read: true,
        local_time: stamp * 1000,
        failure_reason: if state == MessageState::Failed {
            gochat_proto::ipc::ErrorReason::Refused as i32
        } else {
            0
        },
        failure_server_error: if state == MessageState::Failed {
            gochat_proto::ipc::ServerError::NotFound as i32
        } else {
            0
        },
    }
}

pub fn received(id: i64, peer: &str, text: &str, stamp: i64) -> Message {
    let mut m = message(id, peer, false, text, stamp, MessageState::Received);
    m.read = false;
    m
}

pub fn conversation(peer: &str, last: Message, unread: u32) -> Conversation {
    Conversation {
        peer: peer.into(),
        last: Some(last),
        unread,
    }
}

pub fn snapshot(
    servers: Vec<ServerProfile>,
    accounts: Vec<Account>,
    conversations: Vec<Conversation>,
) -> Snapshot {
    let conv = accounts
        .iter()
        .take(1)
        .map(|a| {
            (
                AccountKey::from_ref(a.r#ref.as_ref().expect("ref")),
                ConversationList {
                    conversations: conversations.clone(),
                },
            )
        })
        .collect();
    Snapshot {
        status: StatusReply {
            daemon_version: "0.1.0".into(),
            protocol_version: 1,
            instance_id: "test".into(),
            last_event_id: 100,
            links: Vec::new(),
            pid: 4242,
        },
        servers,
        accounts,
        conversations: conv,
        contacts: Vec::new(),
    }
}

/// Feeds messages; returns every effect.
pub fn feed(app: &mut App, msgs: impl IntoIterator<Item = Msg>) -> Vec<Effect> {
    msgs.into_iter().flat_map(|m| update(app, m)).collect()
}

pub fn attach(app: &mut App, snap: Snapshot) -> Vec<Effect> {
    update(app, Msg::Daemon(DaemonMsg::Attached(Box::new(snap))))
}

pub fn reply(app: &mut App, r: Reply) -> Vec<Effect> {
    update(app, Msg::Daemon(DaemonMsg::Reply(Box::new(r))))
}

pub fn event(app: &mut App, id: u64, kind: event::Kind) -> Vec<Effect> {
    update(
        app,
        Msg::Daemon(DaemonMsg::Event(Box::new(Event {
            id,
            time: NOW * 1000,
            instance_id: "test".into(),
            kind: Some(kind),
        }))),
    )
}

pub fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

pub fn alt(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::ALT))
}

pub fn typed(text: &str) -> Vec<Msg> {
    text.chars().map(|c| key(KeyCode::Char(c))).collect()
}

/// Draws the model and returns the terminal.
pub fn draw(app: &App) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(app.size.0, app.size.1)).expect("terminal");
    terminal
        .draw(|f| gochat_tui::ui::draw(f, app))
        .expect("draw");
    terminal
}

pub fn screen(app: &App) -> String {
    draw(app).backend().to_string()
}

/// Alice on "local" (online, admin) talking to bob, with carol and dave in the list, the
/// history with bob loaded and the online users known.
pub fn chat_app(w: u16, h: u16) -> App {
    let mut app = new_app(w, h);
    let bob_history = vec![
        message(
            1,
            "bob",
            false,
            "hey alice, are you coming tomorrow?",
            YESTERDAY,
            MessageState::Received,
        ),
        message(
            2,
            "bob",
            true,
            "yes! what time?",
            YESTERDAY + 120,
            MessageState::Sent,
        ),
        message(
            3,
            "bob",
            false,
            "10 o'clock at the station. Bring the tickets, and don't forget that the train leaves from \
             platform 7 this time, not platform 3 like last week.",
            MORNING,
            MessageState::Received,
        ),
        message(
            4,
            "bob",
            true,
            "ok, see you there",
            MORNING + 120,
            MessageState::Sent,
        ),
        message(
            5,
            "bob",
            true,
            "I'll bring coffee",
            MORNING + 180,
            MessageState::Failed,
        ),
        message(8, "bob", true, "on my way", NOW - 60, MessageState::Queued),
    ];
    let mut newest = bob_history[5].clone();
    newest.local_time = NOW * 1000;
    let snap = snapshot(
        vec![
            profile("local", "127.0.0.1", 9037, false),
            profile("work", "chat.example.org", 8037, true),
        ],
        vec![account("local", "alice", LinkState::Online, 1)],
        vec![
            conversation("bob", newest, 0),
            conversation("carol", received(9, "carol", "lunch?", NOW - 600), 2),
            conversation(
                "dave",
                message(
                    7,
                    "dave",
                    true,
                    "thanks!",
                    YESTERDAY - 3600,
                    MessageState::Sent,
                ),
                0,
            ),
        ],
    );
    attach(&mut app, snap);
    reply(
        &mut app,
        Reply::History {
            account: alice(),
            peer: "bob".into(),
            before: 0,
            result: Ok(MessageList {
                messages: bob_history.into_iter().rev().collect(),
                next_before: 0,
            }),
        },
    );
    reply(
        &mut app,
        Reply::Users {
            account: alice(),
            online_only: true,
            print: false,
            result: Ok(vec![
                User {
                    name: "alice".into(),
                    has_permission: true,
                    permission: 1,
                },
                User {
                    name: "bob".into(),
                    has_permission: true,
                    permission: 0,
                },
                User {
                    name: "carol".into(),
                    has_permission: true,
                    permission: 2,
                },
                User {
                    name: "erin".into(),
                    has_permission: true,
                    permission: 0,
                },
            ]),
        },
    );
    app
}
