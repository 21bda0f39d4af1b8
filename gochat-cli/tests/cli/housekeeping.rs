//! Issue 15 from the shell: alias, mute, block and delete a conversation; the live settings.

use crate::support::{Home, TestServer, eventually};

#[test]
fn contacts_are_aliased_muted_blocked_and_conversations_deleted() {
    let server = TestServer::start();
    let alice = Home::with_daemon();
    let bob = Home::with_daemon();
    alice.add_server(&server);
    bob.add_server(&server);
    alice.register("alice");
    bob.register("bob");

    let history_len = |home: &Home| {
        home.cli(&["--json", "history", "alice"]).json()["messages"]
            .as_array()
            .expect("messages")
            .len()
    };
    alice.cli(&["send", "--wait", "bob", "first"]).ok();
    eventually("bob stores alice's message", || history_len(&bob) == 1);

    // Alias: in the contact list and the conversation list.
    let said = bob
        .cli(&["contact", "alias", "alice", "Al"])
        .ok()
        .to_owned();
    assert!(said.contains("alice is shown as Al"), "{said}");
    let contacts = bob.cli(&["--json", "contacts"]).json();
    let listed = &contacts["contacts"][0];
    assert_eq!(
        (listed["user"].as_str(), listed["alias"].as_str()),
        (Some("alice"), Some("Al"))
    );
    assert!(bob.cli(&["conversations"]).ok().contains("Al (alice)"));
    let table = bob.cli(&["contacts"]).ok().to_owned();
    assert!(table.contains("ALIAS") && table.contains("Al"), "{table}");

    // Mute: stored and counted.
    bob.cli(&["contact", "mute", "alice"]).ok();
    alice.cli(&["send", "--wait", "bob", "muted one"]).ok();
    eventually("bob stores the muted message", || history_len(&bob) == 2);
    let listed = bob.cli(&["--json", "contacts"]).json()["contacts"][0].clone();
    assert_eq!(
        (listed["muted"].as_bool(), listed["muted_count"].as_u64()),
        (Some(true), Some(1))
    );
    assert!(bob.cli(&["contacts"]).ok().contains("muted (1)"));
    bob.cli(&["contact", "unmute", "alice"]).ok();

    // Block: dropped and counted; unblock restores delivery.
    bob.cli(&["contact", "block", "alice"]).ok();
    alice.cli(&["send", "--wait", "bob", "blocked one"]).ok();
    eventually("the blocked message is counted", || {
        bob.cli(&["--json", "contacts"]).json()["contacts"][0]["blocked_count"] == 1
    });
    assert_eq!(history_len(&bob), 2, "the blocked message is not stored");
    assert!(bob.cli(&["contacts"]).ok().contains("blocked (1)"));
    bob.cli(&["contact", "unblock", "alice"]).ok();
    alice.cli(&["send", "--wait", "bob", "welcome back"]).ok();
    eventually("delivery again", || history_len(&bob) == 3);

    // Per-contact notification mode.
    let json = bob
        .cli(&["--json", "contact", "notify", "alice", "mentions"])
        .json();
    assert_eq!(json["contact"]["notify"], "mentions");

    // Delete: asks (no terminal: refused without --yes), then history and unread are gone.
    bob.cli(&["delete", "alice"]).fails(2);
    assert_eq!(history_len(&bob), 3);
    let deleted = bob.cli(&["--json", "delete", "--yes", "alice"]).json();
    assert_eq!(deleted["messages_deleted"], 3);
    assert_eq!(history_len(&bob), 0);
    let conversations = bob.cli(&["--json", "conversations"]).json();
    assert_eq!(
        conversations["conversations"].as_array().map(Vec::len),
        Some(0)
    );
    // The contact and its preferences stay.
    let listed = bob.cli(&["--json", "contacts"]).json()["contacts"][0].clone();
    assert_eq!(listed["alias"], "Al");
    let _ = server;
}

#[test]
fn settings_are_shown_changed_live_and_reset() {
    let home = Home::with_daemon();
    let all = home.cli(&["config"]).ok().to_owned();
    assert!(
        all.contains("notify.mode") && all.contains("hooks.on_message"),
        "{all}"
    );
    let set = home
        .cli(&["--json", "config", "notify.mode", "mentions"])
        .json();
    assert_eq!(set["settings"][0]["value"], "\"mentions\"");
    assert_eq!(set["settings"][0]["source"], "api");
    home.cli(&["config", "hooks.on_message", r#"["/bin/true", "x"]"#])
        .ok();
    let hook = home.cli(&["--json", "config", "hooks.on_message"]).json();
    assert_eq!(hook["settings"][0]["value"], r#"["/bin/true", "x"]"#);
    let wrong = home
        .cli(&["config", "notify.mode", "loud"])
        .fails(2)
        .to_owned();
    assert!(wrong.contains("notify.mode takes"), "{wrong}");
    home.cli(&["config", "notify.colour", "1"]).fails(4);
    // Kept across a restart, until reset.
    let mut home = home;
    home.stop_daemon();
    home.start_daemon();
    let kept = home.cli(&["--json", "config", "notify.mode"]).json();
    assert_eq!(kept["settings"][0]["value"], "\"mentions\"");
    let reset = home
        .cli(&["--json", "config", "--reset", "notify.mode"])
        .json();
    assert_eq!(reset["settings"][0]["value"], "\"on\"");
    assert_eq!(reset["settings"][0]["source"], "default");
}
