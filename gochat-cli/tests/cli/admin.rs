//! Administration and hooks, with an owner made directly in the server's database.

use gochat_proto::wire::Permission;

use crate::support::{Follower, Home, TestServer};

#[test]
fn admin_operations_and_hooks() {
    let server = TestServer::start_tls();
    let owner = Home::with_daemon();
    let user = Home::with_daemon();
    owner.add_server(&server);
    user.add_server(&server);
    owner.register("olga");
    user.register("ulf");

    let status = owner.cli(&["--json", "daemon", "status"]).json();
    assert_eq!(status["links"][0]["secure"], true, "{status}");

    // Not an admin yet: the server refuses.
    user.cli(&["admin", "--yes", "motd", "hi"]).fails(6);
    owner.cli(&["--yes", "admin", "kick", "ulf"]).fails(6);

    server.set_permission("olga", Permission::Owner);
    owner.cli(&["account", "logout"]).ok();
    let account = owner.cli(&["--json", "account", "login"]).json();
    assert_eq!(account["permission"], 2, "{account}");

    // Confirmation is required without --yes (and there is no terminal here).
    let run = owner.cli(&["admin", "motd", "welcome"]);
    assert!(run.fails(2).contains("--yes"), "{run}");
    owner
        .cli(&["admin", "motd", "welcome", "to", "gochat", "--yes"])
        .ok();
    owner
        .cli(&["admin", "--yes", "broadcast", "hello", "everyone"])
        .ok();
    owner.cli(&["admin", "--yes", "perms", "ulf", "1"]).ok();
    let users = owner.cli(&["--json", "users", "--perms"]).json();
    let ulf = users["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["name"] == "ulf")
        .cloned()
        .expect("ulf listed");
    assert_eq!(ulf["permission"], 1, "{users}");
    assert_eq!(
        owner.cli(&["admin", "--yes", "perms", "ulf", "7"]).code,
        2,
        "levels are 0-2"
    );

    // Hooks: the owner subscribes and sees ulf log in.
    owner.cli(&["hooks", "sub", "all"]).ok();
    let mut watch = Follower::watch(&owner);
    user.cli(&["account", "logout"]).ok();
    user.cli(&["account", "login"]).ok();
    let hook = watch.expect("a hook event", |l| {
        l.contains("\"type\":\"hook\"") && l.contains("ulf")
    });
    let hook: serde_json::Value = serde_json::from_str(&hook).expect("JSON");
    assert!(
        matches!(
            hook["hook"]["hook"].as_str(),
            Some("new_login" | "new_logout")
        ),
        "{hook}"
    );
    owner.cli(&["hooks", "unsub", "all"]).ok();

    owner.cli(&["admin", "--yes", "kick", "ulf"]).ok();
    owner.cli(&["admin", "--yes", "deregister", "ulf"]).ok();
    let users = owner.cli(&["--json", "users"]).json();
    assert!(!users.to_string().contains("\"ulf\""), "{users}");
}
