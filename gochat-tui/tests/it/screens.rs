//! Snapshots of the main screens, drawn into a `TestBackend` after feeding messages to
//! `update` (fixed clock, UTC).

use crossterm::event::KeyCode;
use gochat_proto::ipc::{HookFired, KeyChanged, LinkState, ShutdownNotice, event};
use gochat_tui::msg::{DaemonMsg, Msg};
use insta::assert_snapshot;

use crate::common::*;

#[test]
fn welcome_for_a_new_user() {
    let mut app = new_app(80, 24);
    attach(&mut app, snapshot(vec![], vec![], vec![]));
    assert_snapshot!("welcome_80x24", draw(&app).backend());
}

#[test]
fn connecting_before_the_daemon_answers() {
    let mut app = new_app(80, 24);
    feed(
        &mut app,
        [Msg::Daemon(DaemonMsg::Connecting {
            starting: true,
            last_error: None,
        })],
    );
    assert_snapshot!("starting_daemon_80x24", draw(&app).backend());
}

#[test]
fn main_view_at_80x24() {
    let app = chat_app(80, 24);
    assert_snapshot!("main_80x24", draw(&app).backend());
}

#[test]
fn main_view_at_100x30() {
    let app = chat_app(100, 30);
    assert_snapshot!("main_100x30", draw(&app).backend());
}

#[test]
fn resize_to_a_narrow_terminal_hides_the_user_list() {
    let mut app = chat_app(80, 24);
    feed(&mut app, [Msg::Resize(60, 20)]);
    assert_snapshot!("narrow_60x20", draw(&app).backend());
    feed(&mut app, [Msg::Resize(40, 16)]);
    assert_snapshot!("tiny_40x16", draw(&app).backend());
}

#[test]
fn help_screen() {
    let mut app = chat_app(80, 24);
    feed(&mut app, [key(KeyCode::F(1))]);
    assert_snapshot!("help_80x24", draw(&app).backend());
    feed(
        &mut app,
        [
            key(KeyCode::PageDown),
            key(KeyCode::PageDown),
            key(KeyCode::PageDown),
        ],
    );
    assert_snapshot!("help_commands_80x24", draw(&app).backend());
}

#[test]
fn register_asks_for_a_masked_passphrase_twice() {
    let mut app = new_app(80, 24);
    attach(
        &mut app,
        snapshot(
            vec![profile("local", "127.0.0.1", 9037, false)],
            vec![],
            vec![],
        ),
    );
    feed(&mut app, typed("/register alice"));
    feed(&mut app, [key(KeyCode::Enter)]);
    feed(&mut app, typed("s3cret"));
    assert_snapshot!("register_passphrase_80x24", draw(&app).backend());
    feed(&mut app, [key(KeyCode::Enter)]);
    feed(&mut app, typed("s3cre"));
    assert_snapshot!("register_passphrase_again_80x24", draw(&app).backend());
}

#[test]
fn quick_switcher() {
    let mut app = chat_app(80, 24);
    feed(&mut app, [ctrl('k')]);
    feed(&mut app, typed("ca"));
    assert_snapshot!("switcher_80x24", draw(&app).backend());
}

#[test]
fn daemon_gone_keeps_the_screen() {
    let mut app = chat_app(80, 24);
    feed(
        &mut app,
        [Msg::Daemon(DaemonMsg::Down(
            "gochatd closed the connection".into(),
        ))],
    );
    feed(&mut app, [Msg::Tick((NOW + 7) * 1000)]);
    assert_snapshot!("daemon_down_80x24", draw(&app).backend());
}

#[test]
fn live_events_shutdown_key_change_and_hooks() {
    let mut app = chat_app(100, 30);
    event(
        &mut app,
        101,
        event::Kind::Hook(HookFired {
            account: Some(aref("local", "alice")),
            hook: gochat_proto::ipc::Hook::NewLogin as i32,
            user: "frank".into(),
            permission: 0,
            ip: String::new(),
        }),
    );
    event(
        &mut app,
        102,
        event::Kind::Hook(HookFired {
            account: Some(aref("local", "alice")),
            hook: gochat_proto::ipc::Hook::NewLogout as i32,
            user: "erin".into(),
            permission: 0,
            ip: String::new(),
        }),
    );
    event(
        &mut app,
        103,
        event::Kind::KeyChanged(KeyChanged {
            account: Some(aref("local", "alice")),
            user: "bob".into(),
            old_fingerprint: "aa11bb22cc33dd44ee55ff66".into(),
            new_fingerprint: "99887766554433221100ffee".into(),
        }),
    );
    event(
        &mut app,
        104,
        event::Kind::Shutdown(ShutdownNotice {
            account: Some(aref("local", "alice")),
            at: NOW + 300,
        }),
    );
    event(
        &mut app,
        105,
        event::Kind::MessageReceived(received(10, "dave", "are you there?", NOW)),
    );
    assert_snapshot!("live_events_100x30", draw(&app).backend());
}

#[test]
fn scrolled_back_with_a_multiline_draft() {
    let mut app = chat_app(80, 18);
    feed(&mut app, [key(KeyCode::PageUp)]);
    feed(&mut app, typed("first line"));
    feed(&mut app, [alt(KeyCode::Enter)]);
    feed(&mut app, typed("second line"));
    assert_snapshot!("scrolled_multiline_80x18", draw(&app).backend());
}

#[test]
fn server_buffer_with_command_output() {
    let mut app = chat_app(80, 24);
    feed(&mut app, [alt(KeyCode::Up)]);
    feed(&mut app, typed("/servers"));
    feed(&mut app, [key(KeyCode::Enter)]);
    event(
        &mut app,
        110,
        event::Kind::LinkState(gochat_proto::ipc::Link {
            account: Some(aref("local", "alice")),
            state: LinkState::Backoff as i32,
            detail: "connection reset by peer".into(),
            permission: 1,
            secure: false,
        }),
    );
    assert_snapshot!("server_buffer_80x24", draw(&app).backend());
}

#[test]
fn states_render_in_words() {
    // Queued, sent and failed must be readable without colours.
    let app = chat_app(100, 30);
    let text = screen(&app);
    assert!(text.contains("(queued)"), "{text}");
    assert!(text.contains("✗ failed: server refused"), "{text}");
    assert!(text.contains("✓"), "{text}");
}
