//! Servers, accounts, sending (arguments and stdin), receiving, history, search, JSON.

use crate::support::{Follower, Home, TestServer};

#[test]
fn two_users_chat_with_json_output() {
    let server = TestServer::start();
    let alice = Home::with_daemon();
    let bob = Home::with_daemon();

    let added = alice
        .cli(&[
            "--json",
            "server",
            "add",
            "local",
            "127.0.0.1",
            "--port",
            &server.port.to_string(),
        ])
        .json();
    assert_eq!(added["name"], "local");
    assert_eq!(added["port"], server.port);
    assert_eq!(added["tls"], false);
    bob.add_server(&server);
    let listed = alice.cli(&["--json", "server", "list"]).json();
    assert_eq!(listed["servers"].as_array().expect("servers").len(), 1);
    assert!(alice.cli(&["server", "list"]).ok().contains("127.0.0.1:"));

    alice.register("alice");
    bob.register("bob");
    let accounts = alice.cli(&["--json", "account", "list"]).json();
    assert_eq!(accounts["accounts"][0]["username"], "alice");
    assert_eq!(accounts["accounts"][0]["state"], "online");
    assert_eq!(accounts["accounts"][0]["locked"], false);

    // Bob watches; alice sends and waits for the server's confirmation.
    let mut watch = Follower::watch(&bob);
    let sent = alice
        .cli(&["--json", "send", "--wait", "bob", "hello", "bob"])
        .json();
    assert_eq!(sent["messages"][0]["state"], "sent", "{sent}");
    assert_eq!(sent["messages"][0]["direction"], "out");
    assert_eq!(sent["messages"][0]["text"], "hello bob");
    let line = watch.expect("message_received", |l| l.contains("message_received"));
    let event: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
    assert_eq!(event["type"], "message_received");
    assert_eq!(event["message"]["peer"], "alice");
    assert_eq!(event["message"]["text"], "hello bob");
    assert_eq!(event["message"]["direction"], "in");
    assert!(event["id"].as_u64().expect("id") > 0);

    // Text from stdin: with "-", and with no text at all when stdin is not a terminal.
    alice
        .cli_stdin(&["send", "bob", "-"], Some("piped line one\nline two\n"))
        .ok();
    let queued = alice
        .cli_stdin(&["--json", "send", "bob"], Some("from stdin\n"))
        .json();
    assert!(
        matches!(
            queued["messages"][0]["state"].as_str(),
            Some("queued" | "sent")
        ),
        "{queued}"
    );
    watch.expect("the stdin message", |l| l.contains("from stdin"));

    // Sending pinned bob's key: he is alice's contact now.
    let contacts = alice.cli(&["--json", "contacts"]).json();
    assert_eq!(contacts["contacts"][0]["user"], "bob", "{contacts}");

    // History, oldest first, in both forms.
    let history = bob.cli(&["--json", "history", "alice"]).json();
    let texts: Vec<&str> = history["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["text"].as_str().expect("text"))
        .collect();
    assert_eq!(
        texts,
        ["hello bob", "piped line one\nline two", "from stdin"]
    );
    assert!(history["next_before"].is_null());
    let human = bob.cli(&["history", "alice"]).ok().to_owned();
    assert!(human.contains("alice: hello bob"), "{human}");
    let page = bob
        .cli(&["--json", "history", "alice", "--limit", "2"])
        .json();
    assert_eq!(page["messages"].as_array().expect("messages").len(), 2);
    let before = page["next_before"].as_i64().expect("a next page");
    let older = bob
        .cli(&[
            "--json",
            "history",
            "alice",
            "--before",
            &before.to_string(),
        ])
        .json();
    assert_eq!(older["messages"][0]["text"], "hello bob");

    // Conversations with unread counts, then mark read.
    let conversations = bob.cli(&["--json", "conversations"]).json();
    assert_eq!(conversations["conversations"][0]["peer"], "alice");
    assert_eq!(conversations["conversations"][0]["unread"], 3);
    let inbox = bob.cli(&["--json", "inbox"]).json();
    assert_eq!(inbox["messages"].as_array().expect("messages").len(), 3);
    bob.cli(&["read", "alice"]).ok();
    let conversations = bob.cli(&["--json", "conversations"]).json();
    assert_eq!(conversations["conversations"][0]["unread"], 0);

    // Search.
    let found = bob.cli(&["--json", "search", "stdin"]).json();
    assert_eq!(found["messages"].as_array().expect("messages").len(), 1);
    assert_eq!(found["messages"][0]["text"], "from stdin");
    let found = bob
        .cli(&[
            "--json", "search", "hello", "--from", "alice", "--since", "1h",
        ])
        .json();
    assert_eq!(found["messages"].as_array().expect("messages").len(), 1);
    let none = bob
        .cli(&["--json", "search", "hello", "--since", "2999-01-01"])
        .json();
    assert!(none["messages"].as_array().expect("messages").is_empty());
    assert_eq!(bob.cli(&["search", "hello", "--since", "someday"]).code, 2);

    // Users and keys.
    let users = alice.cli(&["--json", "users", "--online"]).json();
    let names: Vec<&str> = users["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["name"].as_str().expect("name"))
        .collect();
    assert!(
        names.contains(&"alice") && names.contains(&"bob"),
        "{users}"
    );
    let contact = alice.cli(&["--json", "request", "bob"]).json();
    assert_eq!(contact["key_state"], "pinned");
    assert_eq!(contact["permission"], 0);
    let bob_key = bob.cli(&["--json", "key", "fingerprint"]).json();
    assert_eq!(
        contact["fingerprint"], bob_key["fingerprint"],
        "alice pinned bob's real key"
    );
    let shown = bob.cli(&["key", "show"]).ok().to_owned();
    assert!(
        shown.contains("BEGIN RSA PUBLIC KEY") || shown.contains("BEGIN PUBLIC KEY"),
        "{shown}"
    );
    assert_eq!(watch.interrupt(), 0, "watch ends cleanly on Ctrl-C");
}

#[test]
fn keys_move_between_daemons_like_the_go_client() {
    let server = TestServer::start();
    let first = Home::with_daemon();
    first.add_server(&server);
    first.register("carol");
    let key_file = first.dir.path().join("carol.priv");
    first
        .cli(&[
            "key",
            "export",
            "--output",
            key_file.to_str().expect("utf-8"),
        ])
        .ok();
    let pem = std::fs::read_to_string(&key_file).expect("exported key");
    assert!(
        pem.contains("BEGIN RSA PRIVATE KEY"),
        "PKCS#1 as the Go client writes it"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key_file)
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "private key file is private");
    let fingerprint = first.cli(&["key", "fingerprint"]).ok().trim().to_owned();

    // A second daemon imports it (with a passphrase from a file) and logs in as carol.
    let second = Home::with_daemon();
    second.add_server(&server);
    let pass = second.dir.path().join("pass");
    std::fs::write(&pass, "correct horse\n").expect("passphrase file");
    first.cli(&["account", "logout"]).ok();
    let imported = second
        .cli(&[
            "--json",
            "--passphrase-file",
            pass.to_str().expect("utf-8"),
            "key",
            "import",
            "carol",
            key_file.to_str().expect("utf-8"),
        ])
        .json();
    assert_eq!(imported["username"], "carol");
    assert_eq!(imported["passphrase_protected"], true);
    assert_eq!(second.cli(&["key", "fingerprint"]).ok().trim(), fingerprint);

    // Locked: logging in needs the passphrase, which comes from the file, never from argv.
    second.cli(&["account", "lock"]).ok();
    let locked = second.cli(&["--json", "account", "list"]).json();
    assert_eq!(locked["accounts"][0]["locked"], true);
    assert_eq!(
        second.cli(&["users"]).code,
        7,
        "a locked account is offline"
    );
    let wrong = second.dir.path().join("wrong");
    std::fs::write(&wrong, "wrong\n").expect("file");
    second
        .cli(&[
            "--passphrase-file",
            wrong.to_str().expect("utf-8"),
            "account",
            "unlock",
        ])
        .fails(5);
    let online = second
        .cli(&[
            "--json",
            "--passphrase-file",
            pass.to_str().expect("utf-8"),
            "account",
            "login",
        ])
        .json();
    assert_eq!(online["state"], "online", "{online}");
    assert_eq!(online["locked"], false);
    // Without a terminal and without a file there is no way to ask.
    second.cli(&["account", "lock"]).ok();
    let run = second.cli(&["account", "unlock"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("--passphrase-file"), "{run}");

    // RECOVER's equivalent: key and conversations to files (works offline).
    let out = first.dir.path().join("backup");
    first
        .cli(&["account", "backup", "--dir", out.to_str().expect("utf-8")])
        .ok();
    assert!(out.join("carol.priv").exists() && out.join("carol.msgs").exists());
}
