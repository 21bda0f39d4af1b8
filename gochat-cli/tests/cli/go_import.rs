//! `import go-client` with the Go client's real `client.db` files (gochatd's
//! tests/fixtures/go-client) through a real daemon: servers, the account and its key,
//! contacts' pinned keys and the history match what the Go client had; a second run imports
//! nothing; a wrong password exits 5 and imports nothing.

use std::path::{Path, PathBuf};

use gochat_proto::crypto::PrivateKey;
use serde_json::Value;

use crate::support::Home;

/// 2026-12-05 19:19:38 UTC, the first message's stamp.
const T0: i64 = 1_796_498_378;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../gochatd/tests/fixtures/go-client")
        .join(name)
}

/// A copy of `name` in the home (the import must not need to write next to the file, but
/// a test never risks its fixtures).
fn copy_db(home: &Home, name: &str) -> PathBuf {
    let to = home.dir.path().join(name);
    std::fs::copy(fixture(name), &to).expect("copy fixture");
    to
}

fn secret_file(home: &Home, name: &str, text: &str) -> PathBuf {
    let path = home.dir.path().join(name);
    std::fs::write(&path, text).expect("write secret");
    path
}

fn fingerprint_of(pem_file: &str) -> String {
    let pem = std::fs::read(fixture(pem_file)).expect("key file");
    PrivateKey::from_pem(&pem)
        .expect("a key")
        .public_key()
        .fingerprint_hex()
}

fn import(home: &Home, db: &Path, secrets: &Path, extra: &[&str]) -> crate::support::Run {
    let mut args = vec![
        "--json",
        "--passphrase-file",
        secrets.to_str().expect("utf-8"),
        "import",
        "go-client",
        "--db",
        db.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    home.cli(&args)
}

/// (direction, peer, stamp, text, state, read) of every message with `peer`, oldest first.
fn history(home: &Home, peer: &str) -> Vec<(String, String, i64, String, String, bool)> {
    let page = home
        .cli(&["--json", "-s", "Default", "history", peer])
        .json();
    let mut rows: Vec<_> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["direction"].as_str().expect("direction").to_owned(),
                m["peer"].as_str().expect("peer").to_owned(),
                m["stamp"].as_i64().expect("stamp"),
                m["text"].as_str().expect("text").to_owned(),
                m["state"].as_str().expect("state").to_owned(),
                m["read"].as_bool().expect("read"),
            )
        })
        .collect();
    rows.sort_by_key(|r| r.2);
    rows
}

fn row(
    direction: &str,
    peer: &str,
    stamp: i64,
    text: &str,
) -> (String, String, i64, String, String, bool) {
    let state = if direction == "out" {
        "sent"
    } else {
        "received"
    };
    (
        direction.into(),
        peer.into(),
        stamp,
        text.into(),
        state.into(),
        true,
    )
}

#[test]
fn alice_imports_her_servers_key_contacts_and_history_once() {
    let home = Home::with_daemon();
    let db = copy_db(&home, "alice-client.db");
    // The Go password, then a new passphrase for the imported key.
    let secrets = secret_file(&home, "secrets", "alice-pass-1\nnew passphrase\n");

    let run = import(&home, &db, &secrets, &[]);
    let report = run.json();
    let servers = report["servers"].as_array().expect("servers");
    assert_eq!(servers.len(), 2, "{report}");
    let server = |i: usize, field: &str| servers[i]["profile"][field].clone();
    assert_eq!(servers[0]["go_name"], "Default");
    assert_eq!(servers[0]["created"], true);
    assert_eq!(
        (
            server(0, "name"),
            server(0, "host"),
            server(0, "port"),
            server(0, "tls")
        ),
        (
            Value::from("Default"),
            Value::from("127.0.0.1"),
            Value::from(9037),
            Value::from(false)
        )
    );
    assert_eq!(servers[1]["go_name"], "tlshome");
    assert_eq!(
        (
            server(1, "name"),
            server(1, "host"),
            server(1, "port"),
            server(1, "tls")
        ),
        (
            Value::from("tlshome"),
            Value::from("127.0.0.1"),
            Value::from(8037),
            Value::from(true)
        )
    );
    assert_eq!(server(1, "verify"), true, "certificates are verified");

    let accounts = report["accounts"].as_array().expect("accounts");
    assert_eq!(accounts.len(), 1, "{report}");
    let alice = &accounts[0];
    assert_eq!(alice["created"], true);
    assert_eq!(alice["account"]["username"], "alice");
    assert_eq!(alice["account"]["server"], "Default");
    assert_eq!(alice["account"]["passphrase_protected"], true);
    assert_eq!(
        alice["account"]["fingerprint"],
        fingerprint_of("alice.priv")
    );
    assert_eq!(
        alice["contacts_pinned"],
        serde_json::json!(["bob", "carol"])
    );
    assert_eq!(alice["messages_imported"], 6);
    assert_eq!(alice["messages_skipped"], 0);

    // The profiles as the daemon now lists them.
    let listed = home.cli(&["--json", "server", "list"]).json();
    let names: Vec<_> = listed["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_owned(),
                s["port"].as_u64().expect("port"),
                s["tls"].as_bool().expect("tls"),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("Default".into(), 9037, false),
            ("tlshome".into(), 8037, true)
        ]
    );

    // The key is hers, and it is sealed with the new passphrase.
    let key = home.cli(&["--json", "-s", "Default", "key", "show"]).json();
    assert_eq!(key["fingerprint"], fingerprint_of("alice.priv"));
    home.cli(&["-s", "Default", "account", "lock"]).ok();
    let wrong = secret_file(&home, "wrong", "alice-pass-1\n");
    home.cli(&[
        "--passphrase-file",
        wrong.to_str().expect("utf-8"),
        "-s",
        "Default",
        "account",
        "unlock",
    ])
    .fails(5);
    let new = secret_file(&home, "new", "new passphrase\n");
    home.cli(&[
        "--passphrase-file",
        new.to_str().expect("utf-8"),
        "-s",
        "Default",
        "account",
        "unlock",
    ])
    .ok();

    // Contacts: pinned, trusted, and marked as coming from the Go client.
    let contacts = home.cli(&["--json", "-s", "Default", "contacts"]).json();
    let contacts = contacts["contacts"].as_array().expect("contacts").clone();
    assert_eq!(contacts.len(), 2);
    for c in &contacts {
        assert_eq!(c["key_state"], "pinned", "{c}");
        assert_eq!(c["key_origin"], "go-client", "{c}");
        assert!(c["pending_fingerprint"].is_null(), "{c}");
    }
    assert_eq!(contacts[0]["user"], "bob");
    assert_eq!(contacts[1]["user"], "carol");
    assert_eq!(contacts[1]["fingerprint"], fingerprint_of("carol.priv"));
    assert!(
        home.cli(&["-s", "Default", "contacts"])
            .ok()
            .contains("pinned (go-client)")
    );

    // History: stamps, directions, read state, as in the Go client.
    assert_eq!(
        history(&home, "bob"),
        [
            row("out", "bob", T0, "hello bob, this is alice"),
            row("in", "bob", T0 + 1, "hi alice — bob here (ünïcödé ✓)"),
            row("out", "bob", T0 + 2, "second message"),
        ]
    );
    assert_eq!(
        history(&home, "carol"),
        [
            row("out", "carol", T0 + 6, "offline one"),
            row("out", "carol", T0 + 7, "offline two"),
            row("out", "carol", T0 + 9, "offline three"),
        ]
    );
    let conversations = home
        .cli(&["--json", "-s", "Default", "conversations"])
        .json();
    for c in conversations["conversations"].as_array().expect("list") {
        assert_eq!(c["unread"], 0, "imported history is read: {c}");
    }
    // Searchable.
    let found = home
        .cli(&["--json", "-s", "Default", "search", "ünïcödé"])
        .json();
    assert_eq!(found["messages"].as_array().expect("found").len(), 1);
    assert_eq!(found["messages"][0]["peer"], "bob");
    let found = home
        .cli(&["--json", "-s", "Default", "search", "offline"])
        .json();
    assert_eq!(found["messages"].as_array().expect("found").len(), 3);

    // A second run imports nothing new.
    let again = import(&home, &db, &secrets, &[]).json();
    for s in again["servers"].as_array().expect("servers") {
        assert_eq!(s["created"], false, "{again}");
    }
    let alice = &again["accounts"][0];
    assert_eq!(alice["created"], false, "{again}");
    assert_eq!(alice["contacts_pinned"], serde_json::json!([]));
    assert_eq!(alice["contacts_unchanged"], 2);
    assert_eq!(alice["messages_imported"], 0);
    assert_eq!(alice["messages_unchanged"], 6);
    assert_eq!(history(&home, "bob").len(), 3);
    assert_eq!(history(&home, "carol").len(), 3);
    let listed = home.cli(&["--json", "server", "list"]).json();
    assert_eq!(listed["servers"].as_array().expect("servers").len(), 2);

    // The human report says the same.
    let human = home.cli(&[
        "--passphrase-file",
        secrets.to_str().expect("utf-8"),
        "import",
        "go-client",
        "--db",
        db.to_str().expect("utf-8"),
    ]);
    let out = human.ok();
    assert!(
        out.contains("messages: 0 imported, 6 already there"),
        "{out}"
    );
    // The source file is untouched.
    assert_eq!(
        std::fs::read(&db).expect("db"),
        std::fs::read(fixture("alice-client.db")).expect("fixture")
    );
}

#[test]
fn a_wrong_password_exits_5_and_imports_nothing() {
    let home = Home::with_daemon();
    let db = copy_db(&home, "alice-client.db");
    let secrets = secret_file(&home, "secrets", "alice-pass-2\n");
    let run = import(&home, &db, &secrets, &[]);
    let err = run.fails(5);
    assert!(err.contains("wrong Go client password"), "{err}");
    assert!(run.stdout.is_empty());
    let servers = home.cli(&["--json", "server", "list"]).json();
    assert_eq!(
        servers["servers"],
        serde_json::json!([]),
        "no profile added"
    );
    let accounts = home.cli(&["--json", "account", "list"]).json();
    assert_eq!(
        accounts["accounts"],
        serde_json::json!([]),
        "no account added"
    );
}

#[test]
fn an_existing_profile_with_the_same_address_is_reused() {
    let home = Home::with_daemon();
    home.cli(&["server", "add", "home", "127.0.0.1", "--port", "9037"])
        .ok();
    let db = copy_db(&home, "alice-client.db");
    // An unknown user is not found, and nothing is imported.
    let secrets = secret_file(&home, "secrets", "alice-pass-1\n");
    let run = import(&home, &db, &secrets, &["--user", "zed"]);
    assert!(run.fails(4).contains("no local user \"zed\""), "{run}");

    let report = import(
        &home,
        &db,
        &secrets,
        &["--user", "alice", "--no-passphrase"],
    )
    .json();
    assert_eq!(report["servers"][0]["created"], false, "{report}");
    assert_eq!(report["servers"][0]["profile"]["name"], "home");
    assert_eq!(report["servers"][1]["created"], true);
    let alice = &report["accounts"][0]["account"];
    assert_eq!(alice["server"], "home");
    assert_eq!(alice["passphrase_protected"], false);
    let listed = home.cli(&["--json", "server", "list"]).json();
    assert_eq!(listed["servers"].as_array().expect("servers").len(), 2);
}

#[test]
fn bob_and_alice_agree_on_each_others_keys() {
    // bob's own key, imported from his client.db, is the key alice's Go client pinned.
    let alice = Home::with_daemon();
    let bob = Home::with_daemon();
    let alice_db = copy_db(&alice, "alice-client.db");
    let bob_db = copy_db(&bob, "bob-client.db");
    let a = secret_file(&alice, "secrets", "alice-pass-1\n\n");
    let b = secret_file(&bob, "secrets", "bob-pass-2\n\n");
    import(&alice, &alice_db, &a, &[]).ok();
    let report = import(&bob, &bob_db, &b, &[]).json();
    assert_eq!(report["accounts"][0]["messages_imported"], 4);
    let bob_key = bob.cli(&["--json", "key", "show"]).json();
    let alice_contacts = alice.cli(&["--json", "-s", "Default", "contacts"]).json();
    assert_eq!(alice_contacts["contacts"][0]["user"], "bob");
    assert_eq!(
        alice_contacts["contacts"][0]["fingerprint"],
        bob_key["fingerprint"]
    );
    let bob_contacts = bob.cli(&["--json", "contacts"]).json();
    assert_eq!(bob_contacts["contacts"][0]["user"], "alice");
    assert_eq!(
        bob_contacts["contacts"][0]["fingerprint"],
        fingerprint_of("alice.priv")
    );
}
