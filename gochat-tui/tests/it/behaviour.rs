//! What `update` does with messages: the effects it asks for and the model it leaves.

use crossterm::event::KeyCode;
use gochat_client::errors::DaemonError;
use gochat_proto::ipc::{ErrorReason, LinkState, MessageList, MessageState, ReadMarker, event};
use gochat_tui::app::{BufferKey, Focus, History, PassPurpose, Popup, Scroll};
use gochat_tui::config::Config;
use gochat_tui::msg::{AccountOp, Call, DaemonMsg, Effect, Msg, Reply};
use gochat_tui::update::update;

use crate::common::*;

fn calls(effects: &[Effect]) -> Vec<&Call> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Call(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn conv_key(peer: &str) -> BufferKey {
    BufferKey::Conv(alice(), peer.into())
}

#[test]
fn attaching_opens_the_newest_conversation_and_asks_for_users() {
    let mut app = new_app(80, 24);
    let snap = snapshot(
        vec![profile("local", "127.0.0.1", 9037, false)],
        vec![account(
            "local",
            "alice",
            gochat_proto::ipc::LinkState::Online,
            0,
        )],
        vec![conversation("bob", received(3, "bob", "hi", NOW), 1)],
    );
    let effects = attach(&mut app, snap);
    assert_eq!(app.active, conv_key("bob"));
    let c = calls(&effects);
    assert!(
        c.iter()
            .any(|c| matches!(c, Call::History { peer, before: 0, .. } if peer == "bob")),
        "{c:?}"
    );
    assert!(
        c.iter()
            .any(|c| matches!(c, Call::MarkRead { peer, up_to: 3, .. } if peer == "bob")),
        "{c:?}"
    );
    assert!(
        c.iter().any(|c| matches!(
            c,
            Call::ListUsers {
                print: false,
                online_only: true,
                ..
            }
        )),
        "{c:?}"
    );
    let conv = app.conversation(&alice(), "bob").expect("bob");
    assert_eq!(conv.unread, 0);
    assert!(
        conv.marker_on_load,
        "the new-messages line is placed when the page arrives"
    );
}

#[test]
fn switching_conversation_loads_history_and_moves_the_read_marker() {
    let mut app = chat_app(80, 24);
    assert_eq!(
        app.conversation(&alice(), "carol").expect("carol").unread,
        2
    );
    let effects = feed(&mut app, [alt(KeyCode::Down)]);
    assert_eq!(app.active, conv_key("carol"));
    let c = calls(&effects);
    assert!(
        c.iter()
            .any(|c| matches!(c, Call::History { peer, .. } if peer == "carol")),
        "{c:?}"
    );
    assert!(
        c.iter()
            .any(|c| matches!(c, Call::MarkRead { peer, up_to: 9, .. } if peer == "carol")),
        "{c:?}"
    );
    assert_eq!(
        app.conversation(&alice(), "carol").expect("carol").unread,
        0
    );
}

#[test]
fn new_messages_elsewhere_count_and_ring() {
    let mut app = chat_app(80, 24);
    let effects = event(
        &mut app,
        101,
        event::Kind::MessageReceived(received(10, "dave", "psst", NOW)),
    );
    assert!(effects.contains(&Effect::Bell));
    assert_eq!(app.conversation(&alice(), "dave").expect("dave").unread, 1);
    assert_eq!(app.unread_elsewhere(), 3);
    // The same event again (a replay after reattaching) is not counted twice.
    event(
        &mut app,
        101,
        event::Kind::MessageReceived(received(10, "dave", "psst", NOW)),
    );
    assert_eq!(app.conversation(&alice(), "dave").expect("dave").unread, 1);
    // A new peer makes a new conversation.
    event(
        &mut app,
        102,
        event::Kind::MessageReceived(received(11, "zoe", "hello", NOW)),
    );
    assert_eq!(app.conversation(&alice(), "zoe").expect("zoe").unread, 1);
}

#[test]
fn new_messages_in_view_are_marked_read_not_counted() {
    let mut app = chat_app(80, 24);
    let effects = event(
        &mut app,
        101,
        event::Kind::MessageReceived(received(10, "bob", "here", NOW)),
    );
    assert!(!effects.contains(&Effect::Bell));
    let c = calls(&effects);
    assert!(
        matches!(c.as_slice(), [Call::MarkRead { up_to: 10, .. }]),
        "{c:?}"
    );
    assert_eq!(app.conversation(&alice(), "bob").expect("bob").unread, 0);
    // Not when the terminal is in the background: then it rings and counts.
    feed(&mut app, [Msg::Focus(false)]);
    let effects = event(
        &mut app,
        102,
        event::Kind::MessageReceived(received(11, "bob", "hello?", NOW)),
    );
    assert!(effects.contains(&Effect::Bell));
    assert_eq!(app.conversation(&alice(), "bob").expect("bob").unread, 1);
    let effects = feed(&mut app, [Msg::Focus(true)]);
    assert!(
        calls(&effects)
            .iter()
            .any(|c| matches!(c, Call::MarkRead { up_to: 11, .. }))
    );
}

#[test]
fn read_markers_from_other_frontends_clear_unread() {
    let mut app = chat_app(80, 24);
    event(
        &mut app,
        101,
        event::Kind::Read(ReadMarker {
            account: Some(aref("local", "alice")),
            peer: "carol".into(),
            up_to: 9,
        }),
    );
    assert_eq!(
        app.conversation(&alice(), "carol").expect("carol").unread,
        0
    );
}

#[test]
fn state_updates_replace_the_message() {
    let mut app = chat_app(80, 24);
    let mut sent = message(8, "bob", true, "on my way", NOW - 60, MessageState::Sent);
    sent.local_time = NOW * 1000;
    event(&mut app, 101, event::Kind::MessageUpdated(sent));
    let conv = app.conversation(&alice(), "bob").expect("bob");
    assert_eq!(conv.buffer.messages().count(), 6);
    assert_eq!(
        conv.buffer.message(8).expect("8").state,
        MessageState::Sent as i32
    );
}

#[test]
fn enter_sends_to_the_active_conversation() {
    let mut app = chat_app(80, 24);
    feed(&mut app, typed("hello bob"));
    let effects = feed(&mut app, [key(KeyCode::Enter)]);
    assert_eq!(
        calls(&effects),
        vec![&Call::Send {
            account: alice(),
            to: "bob".into(),
            text: "hello bob".into()
        }]
    );
    assert!(app.input.is_empty());
    // "//" sends a text starting with a slash.
    feed(&mut app, typed("//shrug"));
    let effects = feed(&mut app, [key(KeyCode::Enter)]);
    assert!(matches!(calls(&effects).as_slice(), [Call::Send { text, .. }] if text == "/shrug"));
}

#[test]
fn text_outside_a_conversation_or_without_a_daemon_is_kept() {
    let mut app = chat_app(80, 24);
    feed(&mut app, [Msg::Daemon(DaemonMsg::Down("gone".into()))]);
    feed(&mut app, typed("keep me"));
    let effects = feed(&mut app, [key(KeyCode::Enter)]);
    assert!(calls(&effects).is_empty());
    assert_eq!(app.input.text, "keep me");
    let mut app = chat_app(80, 24);
    feed(&mut app, [alt(KeyCode::Up)]);
    assert_eq!(app.active, BufferKey::Server("local".into()));
    feed(&mut app, typed("not a chat"));
    let effects = feed(&mut app, [key(KeyCode::Enter)]);
    assert!(calls(&effects).is_empty());
    assert_eq!(app.input.text, "not a chat");
}

#[test]
fn reattaching_refreshes_the_open_conversation() {
    let mut app = chat_app(80, 24);
    feed(&mut app, [Msg::Daemon(DaemonMsg::Down("gone".into()))]);
    assert!(!app.attached());
    let snap = snapshot(
        vec![profile("local", "127.0.0.1", 9037, false)],
        vec![account(
            "local",
            "alice",
            gochat_proto::ipc::LinkState::Online,
            1,
        )],
        vec![conversation("bob", received(12, "bob", "back?", NOW), 1)],
    );
    let effects = attach(&mut app, snap);
    assert!(app.attached());
    assert_eq!(app.active, conv_key("bob"), "the screen is kept");
    assert!(
        calls(&effects)
            .iter()
            .any(|c| matches!(c, Call::History { peer, before: 0, .. } if peer == "bob"))
    );
    assert!(app.banners.iter().all(|b| b.topic != "daemon"));
}

#[test]
fn scrolling_to_the_top_fetches_the_older_page() {
    let mut app = chat_app(80, 16);
    let bob = app.conversation_mut(&alice(), "bob").expect("bob");
    bob.history = History::Loaded { next_before: 1 };
    let effects = feed(
        &mut app,
        [
            key(KeyCode::PageUp),
            key(KeyCode::PageUp),
            key(KeyCode::PageUp),
        ],
    );
    assert!(
        calls(&effects)
            .iter()
            .any(|c| matches!(c, Call::History { peer, before: 1, .. } if peer == "bob")),
        "{effects:?}"
    );
    assert_eq!(
        app.conversation(&alice(), "bob").expect("bob").history,
        History::Loading
    );
    assert_ne!(app.active_buffer().scroll, Scroll::Bottom);
    // The older page arrives: prepended, the view stays where it was.
    let before = app.active_buffer().scroll;
    reply(
        &mut app,
        Reply::History {
            account: alice(),
            peer: "bob".into(),
            before: 1,
            result: Ok(MessageList {
                messages: vec![message(
                    0,
                    "bob",
                    false,
                    "older",
                    YESTERDAY - 100,
                    MessageState::Received,
                )],
                next_before: 0,
            }),
        },
    );
    assert_eq!(app.active_buffer().scroll, before);
    assert_eq!(
        app.conversation(&alice(), "bob")
            .expect("bob")
            .buffer
            .first_message_id(),
        Some(0)
    );
    feed(&mut app, [key(KeyCode::End)]);
    feed(&mut app, [key(KeyCode::Esc)]);
    assert_eq!(app.active_buffer().scroll, Scroll::Bottom);
}

#[test]
fn scrolling_with_ten_thousand_messages_is_bounded() {
    let mut app = chat_app(80, 24);
    let bob = app.conversation_mut(&alice(), "bob").expect("bob");
    bob.buffer.merge(
        (100..10_100)
            .map(|i| {
                message(
                    i,
                    "bob",
                    i % 2 == 0,
                    &format!("message number {i}"),
                    MORNING + i,
                    MessageState::Sent,
                )
            })
            .collect(),
    );
    for _ in 0..50 {
        feed(&mut app, [key(KeyCode::PageUp)]);
    }
    let text = screen(&app);
    assert!(text.contains("message number 9"), "{text}");
    feed(&mut app, [ctrl('k')]);
    feed(&mut app, [key(KeyCode::Esc)]);
    feed(&mut app, [alt(KeyCode::End)]);
    assert_eq!(app.active_buffer().scroll, Scroll::Bottom);
}

#[test]
fn server_add_and_register_flow() {
    let mut app = new_app(80, 24);
    attach(&mut app, snapshot(vec![], vec![], vec![]));
    feed(&mut app, typed("/server add local 127.0.0.1 9037"));
    let effects = feed(&mut app, [key(KeyCode::Enter)]);
    match calls(&effects).as_slice() {
        [Call::AddServer(p)] => {
            assert_eq!(
                (
                    p.name.as_str(),
                    p.host.as_str(),
                    p.port,
                    p.tls,
                    p.skip_verify
                ),
                ("local", "127.0.0.1", 9037, false, false)
            );
        }
        other => panic!("{other:?}"),
    }
    // The daemon confirms; the reload shows the server and opens its buffer.
    attach(
        &mut app,
        snapshot(
            vec![profile("local", "127.0.0.1", 9037, false)],
            vec![],
            vec![],
        ),
    );
    assert_eq!(app.active, BufferKey::Server("local".into()));
    feed(&mut app, typed("/register alice"));
    feed(&mut app, [key(KeyCode::Enter)]);
    assert!(matches!(app.popup, Some(Popup::Passphrase { .. })));
    feed(&mut app, typed("pw1"));
    feed(&mut app, [key(KeyCode::Enter)]);
    feed(&mut app, typed("pw2"));
    let effects = feed(&mut app, [key(KeyCode::Enter)]);
    assert!(
        calls(&effects).is_empty(),
        "different passphrases are refused"
    );
    feed(&mut app, typed("pw1"));
    feed(&mut app, [key(KeyCode::Enter)]);
    feed(&mut app, typed("pw1"));
    let effects = feed(&mut app, [key(KeyCode::Enter)]);
    match calls(&effects).as_slice() {
        [
            Call::Register {
                account,
                passphrase,
            },
        ] => {
            assert_eq!(account.label(), "alice@local");
            assert_eq!(passphrase.expose(), "pw1");
            assert_eq!(format!("{passphrase:?}"), "Secret(***)");
        }
        other => panic!("{other:?}"),
    }
    assert!(app.popup.is_none());
}

#[test]
fn msg_opens_a_conversation_and_checks_the_user() {
    let mut app = chat_app(80, 24);
    feed(&mut app, typed("/msg zoe hi there"));
    let effects = feed(&mut app, [key(KeyCode::Enter)]);
    assert_eq!(app.active, conv_key("zoe"));
    let c = calls(&effects);
    assert!(
        c.iter()
            .any(|c| matches!(c, Call::RequestKey { user, print: false, .. } if user == "zoe")),
        "{c:?}"
    );
    assert!(
        c.iter()
            .any(|c| matches!(c, Call::Send { to, text, .. } if to == "zoe" && text == "hi there")),
        "{c:?}"
    );
    // Ctrl-N asks for a name.
    feed(&mut app, [ctrl('n')]);
    feed(&mut app, typed("yann"));
    feed(&mut app, [key(KeyCode::Enter)]);
    assert_eq!(app.active, conv_key("yann"));
}

#[test]
fn popups_cancel_and_quit() {
    let mut app = chat_app(80, 24);
    feed(&mut app, [ctrl('k')]);
    assert!(matches!(app.popup, Some(Popup::Switcher { .. })));
    feed(&mut app, [ctrl('c')]);
    assert!(app.popup.is_none());
    assert!(!app.should_quit);
    feed(&mut app, [ctrl('k')]);
    feed(&mut app, typed("dav"));
    feed(&mut app, [key(KeyCode::Enter)]);
    assert_eq!(app.active, conv_key("dave"));
    feed(&mut app, [ctrl('q')]);
    assert!(app.should_quit);
}

#[test]
fn focus_and_toggles() {
    let mut app = chat_app(100, 30);
    assert!(app.users_visible());
    feed(&mut app, [ctrl('u')]);
    assert!(!app.users_visible());
    feed(&mut app, [ctrl('b')]);
    assert!(!app.sidebar_visible());
    feed(&mut app, [ctrl('s')]);
    assert!(app.sidebar_visible());
    assert_eq!(app.focus, Focus::Sidebar);
    feed(&mut app, [key(KeyCode::Down), key(KeyCode::Enter)]);
    assert_eq!(app.active, conv_key("carol"));
    assert_eq!(app.focus, Focus::Input);
    feed(&mut app, [ctrl('t')]);
    assert_eq!(app.focus, Focus::Messages);
    feed(&mut app, typed("x"));
    assert_eq!(app.focus, Focus::Input);
    assert_eq!(app.input.text, "x");
}

#[test]
fn configured_keys_replace_the_defaults() {
    let config =
        Config::parse("[keys]\nquick_switch = \"ctrl-o\"\nquit = \"f10\"\n").expect("config");
    let mut app = gochat_tui::app::App::new(&config, jiff::tz::TimeZone::UTC, (80, 24), NOW * 1000);
    update(&mut app, ctrl('k'));
    assert!(app.popup.is_none());
    update(&mut app, ctrl('o'));
    assert!(matches!(app.popup, Some(Popup::Switcher { .. })));
    update(&mut app, key(KeyCode::Esc));
    update(&mut app, ctrl('q'));
    assert!(!app.should_quit);
    update(&mut app, key(KeyCode::F(10)));
    assert!(app.should_quit);
}

#[test]
fn gap_reloads() {
    let mut app = chat_app(80, 24);
    let effects = event(
        &mut app,
        0,
        event::Kind::Gap(gochat_proto::ipc::Gap {
            first_available: 500,
        }),
    );
    assert_eq!(calls(&effects), vec![&Call::Reload]);
}

#[test]
fn ticks_redraw_only_when_something_changes() {
    let mut app = chat_app(80, 24);
    app.dirty = false;
    update(&mut app, Msg::Tick(NOW * 1000 + 1000));
    assert!(!app.dirty, "an idle tick draws nothing");
    app.flash(gochat_tui::app::Level::Info, "hello");
    app.dirty = false;
    update(&mut app, Msg::Tick(NOW * 1000 + 60_000));
    assert!(app.dirty && app.flash.is_none());
}

#[test]
fn a_locked_account_asks_for_its_passphrase_once() {
    let mut app = new_app(80, 24);
    let snap = snapshot(
        vec![profile("local", "127.0.0.1", 9037, false)],
        vec![account(
            "local",
            "alice",
            gochat_proto::ipc::LinkState::Locked,
            0,
        )],
        vec![],
    );
    attach(&mut app, snap.clone());
    assert!(
        matches!(
            &app.popup,
            Some(Popup::Passphrase {
                purpose: gochat_tui::app::PassPurpose::Unlock { .. },
                ..
            })
        ),
        "{:?}",
        app.popup
    );
    feed(&mut app, [key(KeyCode::Esc)]);
    attach(&mut app, snap);
    assert!(app.popup.is_none(), "asked once per session");
}

/// Escapes and bidi controls from a peer (in the text and in the name) reach the screen
/// only as visible `\u{HEX}` forms.
#[test]
fn hostile_text_and_names_are_shown_escaped() {
    let mut app = chat_app(100, 30);
    let hostile = "hi\u{1b}]0;pwned\u{7} \u{1b}[2K\rfake \u{9b}31m \u{202e}desrever\u{2028}x";
    event(
        &mut app,
        10,
        event::Kind::MessageReceived(received(10, "bob", hostile, NOW)),
    );
    event(
        &mut app,
        11,
        event::Kind::MessageReceived(received(11, "ev\u{202e}il", "boo", NOW)),
    );
    let shown = screen(&app);
    let forbidden = |c: char| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}')
    };
    assert!(!shown.chars().any(forbidden), "{shown}");
    assert!(shown.contains(r"hi\u{1b}]0;pwned\u{7}"), "{shown}");
    assert!(shown.contains(r"\u{d}fake"), "{shown}");
    assert!(
        shown.contains(r"ev\u{202e}il"),
        "the odd name, escaped: {shown}"
    );
}

/// Tab completes the short command names too: they come from the same table as the dispatcher.
#[test]
fn tab_completes_short_command_names() {
    let mut app = new_app(80, 24);
    feed(&mut app, typed("/?"));
    feed(&mut app, [key(KeyCode::Tab)]);
    assert_eq!(app.input.take(), "/? ");

    feed(&mut app, typed("/q"));
    feed(&mut app, [key(KeyCode::Tab)]);
    let shown = app
        .flash
        .as_ref()
        .map(|f| f.text.clone())
        .unwrap_or_default();
    let shown: Vec<&str> = shown.split_whitespace().collect();
    for name in ["/quit", "/q", "/query"] {
        assert!(shown.contains(&name), "{name} not offered: {shown:?}");
    }

    app.input.clear();
    feed(&mut app, typed("/h"));
    feed(&mut app, [key(KeyCode::Tab)]);
    let shown = app
        .flash
        .as_ref()
        .map(|f| f.text.clone())
        .unwrap_or_default();
    assert!(shown.split_whitespace().any(|n| n == "/h"), "{shown}");
}

/// `/import go-client PATH` asks for the Go password once, then a new passphrase twice, and
/// calls the daemon with the absolute path; the report is shown and everything reloaded.
#[test]
fn import_go_client_asks_both_passwords_and_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("client.db");
    std::fs::write(&db, b"not read by the TUI").expect("write");
    let mut app = chat_app(100, 30);
    feed(
        &mut app,
        typed(&format!("/import go-client {}", db.display())),
    );
    feed(&mut app, [key(KeyCode::Enter)]);
    assert!(
        matches!(
            &app.popup,
            Some(Popup::Passphrase {
                purpose: gochat_tui::app::PassPurpose::GoImport {
                    go_password: None,
                    ..
                },
                ..
            })
        ),
        "{:?}",
        app.popup
    );
    assert!(screen(&app).contains("Go client's password"));
    feed(&mut app, typed("alice-pass-1"));
    feed(&mut app, [key(KeyCode::Enter)]);
    assert!(screen(&app).contains("New passphrase for the imported keys"));
    feed(&mut app, typed("new"));
    feed(&mut app, [key(KeyCode::Enter)]);
    feed(&mut app, typed("new"));
    let effects = feed(&mut app, [key(KeyCode::Enter)]);
    match calls(&effects).as_slice() {
        [
            Call::ImportGoClient {
                path,
                go_password,
                passphrase,
            },
        ] => {
            assert_eq!(path, &db.display().to_string());
            assert_eq!(go_password.expose(), "alice-pass-1");
            assert_eq!(passphrase.expose(), "new");
        }
        other => panic!("{other:?}"),
    }
    assert!(app.popup.is_none());

    let report = gochat_proto::ipc::ImportGoClientReply {
        servers: vec![gochat_proto::ipc::ImportedServer {
            profile: Some(profile("Default", "127.0.0.1", 9037, false)),
            go_name: "Default".into(),
            created: true,
        }],
        accounts: vec![gochat_proto::ipc::ImportedAccount {
            account: Some(account(
                "Default",
                "alice",
                gochat_proto::ipc::LinkState::Backoff,
                0,
            )),
            created: true,
            contacts_pinned: vec!["bob".into(), "carol".into()],
            messages_imported: 6,
            ..Default::default()
        }],
    };
    let effects = reply(
        &mut app,
        Reply::GoImported {
            path: db.display().to_string(),
            result: Ok(report),
        },
    );
    assert!(
        calls(&effects).iter().any(|c| matches!(c, Call::Reload)),
        "reloads after an import"
    );
    let shown = screen(&app);
    assert!(shown.contains("6 messages imported"), "{shown}");

    // A missing file is refused before any password is asked.
    feed(&mut app, typed("/import go-client /nonexistent/client.db"));
    feed(&mut app, [key(KeyCode::Enter)]);
    assert!(app.popup.is_none());
    assert!(screen(&app).contains("no such file"));
}

/// A daemon error with `reason`, as the daemon sends it.
fn daemon_error(reason: gochat_proto::ipc::ErrorReason, text: &str) -> DaemonError {
    DaemonError::from(gochat_proto::ipc::ErrorDetail::new(reason).into_status(text))
}

fn online_app() -> gochat_tui::app::App {
    let mut app = new_app(80, 24);
    let snap = snapshot(
        vec![profile("local", "127.0.0.1", 9037, false)],
        vec![account("local", "alice", LinkState::Online, 0)],
        vec![],
    );
    attach(&mut app, snap);
    app
}

#[test]
fn a_login_refused_as_locked_asks_for_the_passphrase() {
    let mut app = online_app();
    reply(
        &mut app,
        Reply::Account {
            account: alice(),
            op: AccountOp::Login,
            // The text says nothing about a lock: only the reason does.
            result: Err(daemon_error(ErrorReason::Locked, "no")),
        },
    );
    assert!(
        matches!(
            &app.popup,
            Some(Popup::Passphrase {
                purpose: PassPurpose::Unlock { login: true, .. },
                error: None,
                ..
            })
        ),
        "{:?}",
        app.popup
    );
}

#[test]
fn only_a_bad_passphrase_asks_again() {
    let mut app = online_app();
    reply(
        &mut app,
        Reply::Account {
            account: alice(),
            op: AccountOp::Unlock { login: false },
            result: Err(daemon_error(
                ErrorReason::Internal,
                "gochatd failed internally",
            )),
        },
    );
    assert!(app.popup.is_none(), "{:?}", app.popup);
    reply(
        &mut app,
        Reply::Account {
            account: alice(),
            op: AccountOp::Unlock { login: false },
            result: Err(daemon_error(
                ErrorReason::BadPassphrase,
                "cannot unlock: wrong passphrase",
            )),
        },
    );
    assert!(
        matches!(
            &app.popup,
            Some(Popup::Passphrase { error: Some(e), .. }) if e.contains("wrong passphrase")
        ),
        "{:?}",
        app.popup
    );
}

/// A large catch-up shows its progress on the status line, through the flood of messages it
/// brings, and the line goes once the daemon reports it done.
#[test]
fn catch_up_progress_shows_on_the_status_line() {
    let mut app = chat_app(120, 30);
    let progress = |received, done| {
        event::Kind::CatchUp(gochat_proto::ipc::CatchUp {
            account: Some(aref("local", "alice")),
            received,
            done,
        })
    };
    event(&mut app, 100, progress(0, false));
    for i in 0..1200 {
        event(
            &mut app,
            101 + i as u64,
            event::Kind::MessageReceived(received(1000 + i, "carol", "while you were away", NOW)),
        );
        if i == 599 {
            event(&mut app, 5000, progress(600, false));
        }
    }
    event(&mut app, 5001, progress(1200, false));
    let shown = screen(&app);
    assert!(
        shown.contains("catching up: 1,200 received"),
        "no progress on the status line:\n{shown}"
    );
    event(&mut app, 5002, progress(1200, true));
    let shown = screen(&app);
    assert!(!shown.contains("catching up"), "{shown}");
}
