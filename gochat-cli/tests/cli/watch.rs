//! `watch` follows the event stream across a daemon restart.

use crate::support::{Follower, Home, TestServer};

#[test]
fn watch_resumes_after_the_daemon_restarts() {
    let server = TestServer::start();
    let alice = Home::with_daemon();
    let mut bob = Home::with_daemon();
    alice.add_server(&server);
    bob.add_server(&server);
    alice.register("alice");
    bob.register("bob");

    let mut watch = Follower::watch(&bob);
    alice
        .cli(&["send", "--wait", "bob", "before the restart"])
        .ok();
    let first: serde_json::Value =
        serde_json::from_str(&watch.expect("first message", |l| l.contains("before the restart")))
            .expect("JSON");

    bob.stop_daemon();
    watch.expect("daemon_lost", |l| l.contains("\"daemon_lost\""));
    // Sent while bob's daemon is down: the server keeps it for him.
    alice
        .cli(&["send", "--wait", "bob", "while it was down"])
        .ok();
    bob.start_daemon();
    let back: serde_json::Value =
        serde_json::from_str(&watch.expect("reconnection", |l| l.contains("daemon_reconnected")))
            .expect("JSON");
    assert_eq!(back["restarted"], true, "a new daemon instance: {back}");
    assert_ne!(back["instance_id"], first["instance_id"]);
    let caught_up: serde_json::Value = serde_json::from_str(
        &watch.expect("caught-up message", |l| l.contains("while it was down")),
    )
    .expect("JSON");
    assert!(
        caught_up["id"].as_u64() > first["id"].as_u64(),
        "event ids continue"
    );
    alice.cli(&["send", "bob", "after the restart"]).ok();
    watch.expect("live message", |l| l.contains("after the restart"));
    assert_eq!(watch.interrupt(), 0);
}
