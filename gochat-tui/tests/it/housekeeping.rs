//! Issue 15 in the TUI: aliases in the sidebar and the title, mute/block/delete commands and
//! their events, `/set` for the daemon's settings, a clicked notification opening its
//! conversation, and the focus reported to gochatd.

use crossterm::event::KeyCode;
use gochat_proto::ipc::{self, ConversationDeleted, HookFailed, OpenConversation, event};
use gochat_tui::msg::{Call, Effect, Msg};
use insta::assert_snapshot;

use crate::common::*;

fn contact(user: &str, alias: &str) -> ipc::Contact {
    ipc::Contact {
        user: user.into(),
        alias: alias.into(),
        account: Some(aref("local", "alice")),
        ..Default::default()
    }
}

fn run(app: &mut gochat_tui::app::App, line: &str) -> Vec<Effect> {
    let mut effects = feed(app, typed(line));
    effects.extend(feed(app, [key(KeyCode::Enter)]));
    effects
}

fn calls(effects: &[Effect]) -> Vec<&Call> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Call(c) => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn aliases_deletes_hook_failures_and_notification_clicks_on_screen() {
    let mut app = chat_app(80, 24);
    event(
        &mut app,
        201,
        event::Kind::ContactChanged(contact("bob", "Bobby")),
    );
    event(
        &mut app,
        202,
        event::Kind::HookFailed(HookFailed {
            hook: "on_message".into(),
            program: "/usr/local/bin/forward".into(),
            reason: "it ran longer than 10 s and was killed".into(),
            account: Some(aref("local", "alice")),
        }),
    );
    assert_snapshot!("alias_in_sidebar_and_title_80x24", draw(&app).backend());

    // A click on a notification for carol opens her conversation.
    event(
        &mut app,
        203,
        event::Kind::OpenConversation(OpenConversation {
            account: Some(aref("local", "alice")),
            peer: "carol".into(),
        }),
    );
    assert!(screen(&app).contains("carol"));

    // Deleting bob's conversation removes it from the sidebar.
    event(
        &mut app,
        204,
        event::Kind::ConversationDeleted(ConversationDeleted {
            account: Some(aref("local", "alice")),
            peer: "bob".into(),
            messages_deleted: 4,
        }),
    );
    assert_snapshot!("conversation_deleted_80x24", draw(&app).backend());
}

#[test]
fn commands_make_the_calls() {
    let mut app = chat_app(80, 24);
    let effects = run(&mut app, "/mute");
    let Some(Call::ContactPrefs(r)) = calls(&effects).first().copied() else {
        panic!("a ContactPrefs call: {effects:?}");
    };
    assert_eq!((r.user.as_str(), r.muted), ("bob", Some(true)));
    let effects = run(&mut app, "/alias carol Caz the Great");
    let Some(Call::ContactPrefs(r)) = calls(&effects).first().copied() else {
        panic!("a ContactPrefs call: {effects:?}");
    };
    assert_eq!(
        (r.user.as_str(), r.alias.as_deref()),
        ("carol", Some("Caz the Great"))
    );
    let effects = run(&mut app, "/block dave");
    assert!(matches!(calls(&effects)[..], [Call::ContactPrefs(r)] if r.blocked == Some(true)));
    let effects = run(&mut app, "/notify bob mentions");
    assert!(matches!(calls(&effects)[..], [Call::ContactPrefs(r)]
        if r.notify == Some(ipc::NotifyMode::Mentions as i32)));
    let effects = run(&mut app, "/delete bob");
    assert!(
        matches!(calls(&effects)[..], [Call::DeleteConversation { peer, .. }] if peer == "bob")
    );
    let effects = run(&mut app, "/set notify.mode mentions");
    assert!(
        matches!(calls(&effects)[..], [Call::SetSetting { name, value: Some(v) }]
        if name == "notify.mode" && v == "mentions")
    );
    let effects = run(&mut app, "/set -reset notify.mode");
    assert!(matches!(
        calls(&effects)[..],
        [Call::SetSetting { value: None, .. }]
    ));
    let effects = run(&mut app, "/set");
    assert!(matches!(calls(&effects)[..], [Call::Settings { .. }]));
    // The session settings stay the TUI's own.
    let effects = run(&mut app, "/set bell off");
    assert!(calls(&effects).is_empty());
}

#[test]
fn the_focused_conversation_is_reported_and_withdrawn() {
    let mut app = chat_app(80, 24);
    let focus = |effects: Vec<Effect>| {
        effects.into_iter().find_map(|e| match e {
            Effect::Call(Call::Focus(f)) => Some(f),
            _ => None,
        })
    };
    // chat_app shows bob's conversation: reported once, then only on changes.
    assert_eq!(app.reported_focus, Some((alice(), "bob".into())));
    assert_eq!(focus(feed(&mut app, typed("x"))), None);
    assert_eq!(focus(feed(&mut app, [Msg::Focus(false)])), Some(None));
    assert_eq!(
        focus(feed(&mut app, [Msg::Focus(true)])),
        Some(Some((alice(), "bob".into())))
    );
}
