//! The local store (`gochatd::store`) on a real SQLite file in a temporary directory.

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use gochat_proto::wire::ErrorCode;
use gochatd::reason::Reason;
use gochatd::store::{
    AccountRow, ContactRow, MessageRow, MessageState, NewMessage, ServerRow, Store, StoreError,
};
use tempfile::TempDir;

/// A fresh store in its own temporary directory (kept alive by the returned `TempDir`).
async fn fresh() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("gochatd.db"))
        .await
        .expect("open store");
    (dir, store)
}

fn server(name: &str) -> ServerRow {
    ServerRow {
        id: 0,
        name: name.to_owned(),
        host: format!("{name}.example.org"),
        port: 9000,
        tls: true,
        verify: true,
        ca_file: None,
        is_default: false,
    }
}

fn account(server_id: i64, username: &str) -> AccountRow {
    AccountRow {
        id: 0,
        server_id,
        username: username.to_owned(),
        key_blob: vec![1, 2, 3, 0, 255],
        key_encrypted: true,
        public_pem: format!("-----BEGIN PUBLIC KEY-----\n{username}\n-----END PUBLIC KEY-----\n"),
        fingerprint: format!("fp-{username}"),
        auto_login: false,
        permission: 0,
    }
}

fn contact(account_id: i64, user: &str) -> ContactRow {
    ContactRow {
        account_id,
        user: user.to_owned(),
        public_pem: Some(format!("pem-{user}")),
        fingerprint: Some(format!("fp-{user}")),
        pending_pem: None,
        pending_fingerprint: None,
        permission: 0,
        key_origin: None,
    }
}

fn incoming(account_id: i64, peer: &str, text: &str, stamp: i64) -> NewMessage {
    NewMessage {
        account_id,
        peer: peer.to_owned(),
        outgoing: false,
        text: text.to_owned(),
        stamp,
        state: MessageState::Received,
        read: false,
    }
}

fn outgoing(account_id: i64, peer: &str, text: &str, stamp: i64) -> NewMessage {
    NewMessage {
        account_id,
        peer: peer.to_owned(),
        outgoing: true,
        text: text.to_owned(),
        stamp,
        state: MessageState::Queued,
        read: false,
    }
}

/// A store with one server ("home") and one account ("alice") on it; returns the account id.
async fn with_account() -> (TempDir, Store, i64) {
    let (dir, store) = fresh().await;
    let s = store.add_server(&server("home")).await.expect("add server");
    let a = store
        .add_account(&account(s.id, "alice"))
        .await
        .expect("add account");
    (dir, store, a.id)
}

fn ids(rows: &[MessageRow]) -> Vec<i64> {
    rows.iter().map(|m| m.id).collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// Rows of a table, straight from SQL.
async fn count(store: &Store, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(store.pool())
        .await
        .expect("count")
}

/// FTS5's own check that the index matches the content table.
async fn fts_integrity(store: &Store) {
    sqlx::query("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
        .execute(store.pool())
        .await
        .expect("FTS index consistent with messages");
}

// ----------------------------------------------------------------------------------------
// Opening
// ----------------------------------------------------------------------------------------

#[tokio::test]
async fn open_creates_private_dir_and_file_with_pragmas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_dir = dir.path().join("a").join("gochat");
    let path = db_dir.join("gochatd.db");
    let store = Store::open(&path).await.expect("open");
    assert_eq!(mode(&db_dir), 0o700);
    assert_eq!(mode(&dir.path().join("a")), 0o700);
    assert_eq!(mode(&path), 0o600);

    // Write something so the WAL exists; it must be as private as the database.
    store.append_event(b"x").await.expect("append");
    let wal = db_dir.join("gochatd.db-wal");
    assert!(wal.exists(), "WAL mode creates a -wal file");
    assert_eq!(mode(&wal) & 0o077, 0);

    let mut conn = store.pool().acquire().await.expect("acquire");
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .expect("journal_mode");
    assert_eq!(journal, "wal");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await
        .expect("synchronous");
    assert_eq!(sync, 2, "synchronous=FULL");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await
        .expect("foreign_keys");
    assert_eq!(fk, 1);
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut *conn)
        .await
        .expect("busy_timeout");
    assert_eq!(busy, 5000);
}

#[tokio::test]
async fn open_existing_dir_is_left_alone_and_loose_file_is_tightened() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = dir.path().join("gochatd.db");
    std::fs::write(&path, b"").expect("create empty file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let store = Store::open(&path).await.expect("open");
    assert_eq!(
        mode(dir.path()),
        0o755,
        "an existing directory keeps its mode"
    );
    assert_eq!(mode(&path), 0o600);
    store.list_servers().await.expect("schema is there");
}

#[tokio::test]
async fn reopen_keeps_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gochatd.db");
    let store = Store::open(&path).await.expect("open");
    let s = store.add_server(&server("home")).await.expect("add");
    let a = store
        .add_account(&account(s.id, "alice"))
        .await
        .expect("add account");
    let m = store
        .insert_message(&incoming(a.id, "bob", "persisted words", 1))
        .await
        .expect("insert");
    let e = store.append_event(b"event").await.expect("event");
    store.close().await;

    let store = Store::open(&path).await.expect("reopen");
    assert_eq!(store.server("home").await.expect("server"), Some(s));
    assert_eq!(store.message(m.id).await.expect("message"), Some(m.clone()));
    assert_eq!(
        ids(&store
            .search(a.id, "persisted", None, None, 10)
            .await
            .expect("search")),
        vec![m.id]
    );
    assert_eq!(store.last_event_id().await.expect("last"), e);
    assert_eq!(store.append_event(b"next").await.expect("event"), e + 1);
}

#[tokio::test]
async fn open_fails_cleanly_on_a_directory_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(Store::open(dir.path()).await.is_err());
}

// ----------------------------------------------------------------------------------------
// Servers
// ----------------------------------------------------------------------------------------

#[tokio::test]
async fn servers_add_get_list_and_default() {
    let (_dir, store) = fresh().await;
    assert!(store.list_servers().await.expect("list").is_empty());
    assert_eq!(store.server("zeta").await.expect("get"), None);

    let mut z = server("zeta");
    z.id = 12345; // ignored
    let z = store.add_server(&z).await.expect("add zeta");
    assert_ne!(z.id, 12345);
    assert!(z.is_default, "the first server becomes the default");

    let mut a = server("alpha");
    a.port = 65535;
    a.tls = false;
    a.verify = false;
    a.ca_file = Some("/etc/ca.pem".into());
    let a = store.add_server(&a).await.expect("add alpha");
    assert!(!a.is_default);
    assert_eq!(a.port, 65535);
    assert_eq!(a.ca_file.as_deref(), Some("/etc/ca.pem"));

    assert_eq!(store.server("alpha").await.expect("get"), Some(a.clone()));
    assert_eq!(
        store.server_by_id(z.id).await.expect("get"),
        Some(z.clone())
    );
    assert_eq!(store.server_by_id(-1).await.expect("get"), None);
    assert_eq!(
        store.list_servers().await.expect("list"),
        vec![a.clone(), z.clone()],
        "by name"
    );

    // A later server marked default takes the mark.
    let mut m = server("mid");
    m.is_default = true;
    let m = store.add_server(&m).await.expect("add mid");
    assert!(m.is_default);
    let defaults: Vec<String> = store
        .list_servers()
        .await
        .expect("list")
        .into_iter()
        .filter(|s| s.is_default)
        .map(|s| s.name)
        .collect();
    assert_eq!(defaults, vec!["mid".to_owned()]);

    match store.add_server(&server("alpha")).await {
        Err(StoreError::Conflict(msg)) => assert!(msg.contains("alpha"), "{msg}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(store.list_servers().await.expect("list").len(), 3);
}

#[tokio::test]
async fn servers_update() {
    let (_dir, store) = fresh().await;
    let first = store.add_server(&server("first")).await.expect("add");
    let second = store.add_server(&server("second")).await.expect("add");

    let mut change = second.clone();
    change.id = 999; // ignored: keyed by name
    change.host = "10.0.0.1".into();
    change.port = 1;
    change.tls = false;
    change.ca_file = Some("ca.pem".into());
    change.is_default = true;
    let updated = store.update_server(&change).await.expect("update");
    assert_eq!(updated.id, second.id);
    assert_eq!(updated.host, "10.0.0.1");
    assert_eq!(updated.port, 1);
    assert!(!updated.tls);
    assert!(updated.is_default);
    assert_eq!(store.server("second").await.expect("get"), Some(updated));
    assert!(
        !store
            .server("first")
            .await
            .expect("get")
            .expect("exists")
            .is_default,
        "setting the default clears the others"
    );

    // Clearing a field back to None works.
    let mut clear = store.server("second").await.expect("get").expect("exists");
    clear.ca_file = None;
    assert_eq!(
        store.update_server(&clear).await.expect("update").ca_file,
        None
    );

    assert!(matches!(
        store.update_server(&server("missing")).await,
        Err(StoreError::NotFound)
    ));
    // A failed update (even one asking to become default) changes nothing.
    let mut missing = server("missing");
    missing.is_default = true;
    assert!(matches!(
        store.update_server(&missing).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .server("second")
            .await
            .expect("get")
            .expect("exists")
            .is_default
    );
    assert_eq!(
        store
            .server_by_id(first.id)
            .await
            .expect("get")
            .map(|s| s.id),
        Some(first.id)
    );
}

#[tokio::test]
async fn servers_remove_cascades_and_promotes_default() {
    let (_dir, store) = fresh().await;
    let home = store.add_server(&server("home")).await.expect("add");
    let work = store.add_server(&server("work")).await.expect("add");
    let other = store.add_server(&server("other")).await.expect("add");
    let alice = store
        .add_account(&account(home.id, "alice"))
        .await
        .expect("account");
    let bob = store
        .add_account(&account(work.id, "bob"))
        .await
        .expect("account");
    store
        .upsert_contact(&contact(alice.id, "carol"))
        .await
        .expect("contact");
    store
        .upsert_contact(&contact(bob.id, "carol"))
        .await
        .expect("contact");
    store
        .insert_message(&incoming(alice.id, "carol", "cascade me", 1))
        .await
        .expect("msg");
    let kept = store
        .insert_message(&incoming(bob.id, "carol", "cascade me", 1))
        .await
        .expect("msg");

    assert!(matches!(
        store.remove_server("nope").await,
        Err(StoreError::NotFound)
    ));
    store.remove_server("home").await.expect("remove");
    assert_eq!(store.server("home").await.expect("get"), None);
    assert_eq!(store.account_by_id(alice.id).await.expect("get"), None);
    assert!(
        store
            .list_contacts(alice.id)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(count(&store, "messages").await, 1);
    assert_eq!(count(&store, "contacts").await, 1);
    assert_eq!(
        ids(&store
            .search(bob.id, "cascade", None, None, 10)
            .await
            .expect("search")),
        vec![kept.id]
    );
    fts_integrity(&store).await;

    // "home" was the default: the first remaining by name ("other") takes over.
    let defaults: Vec<String> = store
        .list_servers()
        .await
        .expect("list")
        .into_iter()
        .filter(|s| s.is_default)
        .map(|s| s.name)
        .collect();
    assert_eq!(defaults, vec![other.name.clone()]);

    // Removing a non-default server leaves the default alone.
    store.remove_server("work").await.expect("remove");
    assert!(
        store
            .server("other")
            .await
            .expect("get")
            .expect("exists")
            .is_default
    );
    store.remove_server("other").await.expect("remove last");
    assert!(store.list_servers().await.expect("list").is_empty());
    assert_eq!(count(&store, "accounts").await, 0);
    assert_eq!(count(&store, "messages").await, 0);
    fts_integrity(&store).await;

    // The next server added is the default again.
    assert!(
        store
            .add_server(&server("again"))
            .await
            .expect("add")
            .is_default
    );
}

// ----------------------------------------------------------------------------------------
// Accounts and contacts
// ----------------------------------------------------------------------------------------

#[tokio::test]
async fn accounts_crud() {
    let (_dir, store) = fresh().await;
    let home = store.add_server(&server("home")).await.expect("add");
    let abc = store.add_server(&server("abc")).await.expect("add");

    let mut req = account(home.id, "zed");
    req.id = 777;
    req.permission = 2;
    req.auto_login = true;
    let zed = store.add_account(&req).await.expect("add");
    assert_ne!(zed.id, 777);
    assert_eq!(
        AccountRow {
            id: zed.id,
            ..req.clone()
        },
        zed
    );
    let amy = store
        .add_account(&account(home.id, "amy"))
        .await
        .expect("add");
    let bea = store
        .add_account(&account(abc.id, "bea"))
        .await
        .expect("add");
    // Same username on another server is fine.
    let zed2 = store
        .add_account(&account(abc.id, "zed"))
        .await
        .expect("add");

    assert!(matches!(
        store.add_account(&account(home.id, "zed")).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.add_account(&account(424242, "ghost")).await,
        Err(StoreError::NotFound)
    ));

    assert_eq!(
        store.account(home.id, "zed").await.expect("get"),
        Some(zed.clone())
    );
    assert_eq!(store.account(abc.id, "amy").await.expect("get"), None);
    assert_eq!(
        store.account_by_id(amy.id).await.expect("get"),
        Some(amy.clone())
    );
    assert_eq!(store.account_by_id(0).await.expect("get"), None);
    // Ordered by server name, then username.
    assert_eq!(
        store.list_accounts().await.expect("list"),
        vec![bea.clone(), zed2.clone(), amy.clone(), zed.clone()]
    );

    let mut changed = zed.clone();
    changed.key_blob = vec![9; 1000];
    changed.key_encrypted = false;
    changed.public_pem = "new pem".into();
    changed.fingerprint = "new fp".into();
    changed.auto_login = false;
    changed.permission = 1;
    changed.username = "ignored".into(); // identity fields are not changed
    changed.server_id = abc.id;
    store.update_account(&changed).await.expect("update");
    let got = store
        .account_by_id(zed.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        got,
        AccountRow {
            username: "zed".into(),
            server_id: home.id,
            ..changed.clone()
        }
    );
    let mut missing = changed.clone();
    missing.id = 99999;
    assert!(matches!(
        store.update_account(&missing).await,
        Err(StoreError::NotFound)
    ));

    assert!(matches!(
        store.remove_account(99999).await,
        Err(StoreError::NotFound)
    ));
    store.remove_account(amy.id).await.expect("remove");
    assert_eq!(store.account_by_id(amy.id).await.expect("get"), None);
    assert_eq!(store.list_accounts().await.expect("list").len(), 3);
}

#[tokio::test]
async fn account_remove_cascades_contacts_and_messages() {
    let (_dir, store, alice) = with_account().await;
    let home = store.server("home").await.expect("get").expect("exists");
    let bob = store
        .add_account(&account(home.id, "bob"))
        .await
        .expect("add");
    store
        .upsert_contact(&contact(alice, "carol"))
        .await
        .expect("contact");
    store
        .upsert_contact(&contact(bob.id, "carol"))
        .await
        .expect("contact");
    for i in 0..5 {
        store
            .insert_message(&incoming(alice, "carol", "shared words", i))
            .await
            .expect("msg");
    }
    let keep = store
        .insert_message(&incoming(bob.id, "carol", "shared words", 9))
        .await
        .expect("msg");

    store.remove_account(alice).await.expect("remove");
    assert!(store.list_contacts(alice).await.expect("list").is_empty());
    assert!(
        store
            .history(alice, "carol", None, 100)
            .await
            .expect("history")
            .is_empty()
    );
    assert!(store.conversations(alice).await.expect("conv").is_empty());
    assert_eq!(store.list_contacts(bob.id).await.expect("list").len(), 1);
    assert_eq!(count(&store, "messages").await, 1);
    assert_eq!(
        ids(&store
            .search(bob.id, "shared", None, None, 100)
            .await
            .expect("search")),
        vec![keep.id]
    );
    fts_integrity(&store).await;
    // The contacts of a removed account cannot come back by upsert.
    assert!(matches!(
        store.upsert_contact(&contact(alice, "carol")).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .insert_message(&incoming(alice, "carol", "x", 1))
            .await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn contacts_upsert_get_list() {
    let (_dir, store, alice) = with_account().await;
    assert_eq!(store.contact(alice, "bob").await.expect("get"), None);

    let bob = ContactRow {
        account_id: alice,
        user: "bob".into(),
        public_pem: None,
        fingerprint: None,
        pending_pem: None,
        pending_fingerprint: None,
        permission: 0,
        key_origin: None,
    };
    store.upsert_contact(&bob).await.expect("insert");
    assert_eq!(
        store.contact(alice, "bob").await.expect("get"),
        Some(bob.clone())
    );

    // Pin on first use, then a changed key waits as pending.
    let pinned = ContactRow {
        public_pem: Some("pem1".into()),
        fingerprint: Some("fp1".into()),
        permission: 1,
        ..bob.clone()
    };
    store.upsert_contact(&pinned).await.expect("update");
    let changed = ContactRow {
        pending_pem: Some("pem2".into()),
        pending_fingerprint: Some("fp2".into()),
        ..pinned.clone()
    };
    store.upsert_contact(&changed).await.expect("update");
    assert_eq!(
        store.contact(alice, "bob").await.expect("get"),
        Some(changed.clone())
    );
    // Accepting: pending becomes pinned, pending cleared.
    let accepted = ContactRow {
        public_pem: Some("pem2".into()),
        fingerprint: Some("fp2".into()),
        pending_pem: None,
        pending_fingerprint: None,
        permission: 255,
        ..changed.clone()
    };
    store.upsert_contact(&accepted).await.expect("update");
    assert_eq!(
        store.contact(alice, "bob").await.expect("get"),
        Some(accepted.clone())
    );

    let amy = contact(alice, "amy");
    store.upsert_contact(&amy).await.expect("insert");
    // Names are exact: "Bob" is another user.
    let big_bob = contact(alice, "Bob");
    store.upsert_contact(&big_bob).await.expect("insert");
    assert_eq!(
        store.list_contacts(alice).await.expect("list"),
        vec![big_bob, amy, accepted]
    );
    assert!(
        store
            .list_contacts(alice + 1)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(matches!(
        store.upsert_contact(&contact(4242, "x")).await,
        Err(StoreError::NotFound)
    ));
}

// ----------------------------------------------------------------------------------------
// Messages
// ----------------------------------------------------------------------------------------

#[tokio::test]
async fn messages_insert_state_and_outbox() {
    let (_dir, store, alice) = with_account().await;
    let before_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;

    let out1 = store
        .insert_message(&outgoing(alice, "bob", "first", 100))
        .await
        .expect("insert");
    assert!(out1.read, "outgoing messages are stored read");
    assert!(out1.outgoing);
    assert_eq!(out1.state, MessageState::Queued);
    assert_eq!(out1.error, None);
    assert_eq!(out1.stamp, 100);
    assert!(out1.local_time_ms >= before_ms && out1.local_time_ms < before_ms + 60_000);

    let inc = store
        .insert_message(&incoming(alice, "bob", "hello there 😀", 101))
        .await
        .expect("insert");
    assert!(!inc.read);
    assert!(inc.id > out1.id);
    assert_eq!(inc.text, "hello there 😀");
    let out2 = store
        .insert_message(&outgoing(alice, "carol", "second", 102))
        .await
        .expect("insert");
    let out3 = store
        .insert_message(&outgoing(alice, "bob", "third", 103))
        .await
        .expect("insert");

    assert_eq!(store.message(inc.id).await.expect("get"), Some(inc.clone()));
    assert_eq!(store.message(-5).await.expect("get"), None);

    assert_eq!(
        ids(&store.queued_messages(alice).await.expect("queued")),
        vec![out1.id, out2.id, out3.id]
    );

    let sent = store
        .set_message_state(out2.id, MessageState::Sent, None)
        .await
        .expect("state");
    assert_eq!(sent.state, MessageState::Sent);
    assert_eq!(
        MessageRow {
            state: MessageState::Queued,
            ..sent.clone()
        },
        out2
    );
    let failed = store
        .set_message_state(
            out3.id,
            MessageState::Failed,
            Some((Reason::NotFound, "no key for bob")),
        )
        .await
        .expect("state");
    assert_eq!(failed.error.as_deref(), Some("no key for bob"));
    assert_eq!(failed.failure, Some(Reason::NotFound));
    assert_eq!(store.message(out3.id).await.expect("get"), Some(failed));
    // A refusal keeps the server's code.
    let refused = store
        .set_message_state(
            out3.id,
            MessageState::Failed,
            Some((Reason::Refused(Some(ErrorCode::Perms)), "server refused")),
        )
        .await
        .expect("state");
    assert_eq!(
        refused.failure,
        Some(Reason::Refused(Some(ErrorCode::Perms)))
    );
    assert_eq!(store.message(out3.id).await.expect("get"), Some(refused));
    // Retrying clears the error and its reason.
    let retried = store
        .set_message_state(out3.id, MessageState::Queued, None)
        .await
        .expect("state");
    assert_eq!(retried.error, None);
    assert_eq!(retried.failure, None);
    assert_eq!(
        ids(&store.queued_messages(alice).await.expect("queued")),
        vec![out1.id, out3.id]
    );
    assert!(matches!(
        store
            .set_message_state(987654, MessageState::Sent, None)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .queued_messages(alice + 1)
            .await
            .expect("queued")
            .is_empty()
    );
}

#[test]
fn message_state_numbers() {
    for (n, s) in [
        (1, MessageState::Queued),
        (2, MessageState::Sent),
        (3, MessageState::Failed),
        (4, MessageState::Received),
    ] {
        assert_eq!(s.as_i64(), n);
        assert_eq!(MessageState::from_i64(n), Some(s));
    }
    assert_eq!(MessageState::from_i64(0), None);
    assert_eq!(MessageState::from_i64(5), None);
    assert_eq!(MessageState::from_i64(-1), None);
}

#[tokio::test]
async fn history_pages_newest_first() {
    let (_dir, store, alice) = with_account().await;
    let mut bob_ids = Vec::new();
    for i in 0..25 {
        let m = if i % 3 == 0 {
            outgoing(alice, "bob", &format!("msg {i}"), i)
        } else {
            incoming(alice, "bob", &format!("msg {i}"), i)
        };
        bob_ids.push(store.insert_message(&m).await.expect("insert").id);
        // Interleave another peer.
        store
            .insert_message(&incoming(alice, "carol", "noise", i))
            .await
            .expect("insert");
    }
    bob_ids.reverse(); // newest first

    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .history(alice, "bob", before, 10)
            .await
            .expect("history");
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 10);
        assert!(page.iter().all(|m| m.peer == "bob"));
        before = page.last().map(|m| m.id);
        pages.push(ids(&page));
    }
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0].len(), 10);
    assert_eq!(pages[2].len(), 5);
    assert_eq!(pages.concat(), bob_ids);

    assert_eq!(
        ids(&store
            .history(alice, "bob", Some(bob_ids[0]), 3)
            .await
            .expect("history")),
        bob_ids[1..4].to_vec(),
        "strictly before"
    );
    assert!(
        store
            .history(alice, "bob", None, 0)
            .await
            .expect("history")
            .is_empty()
    );
    assert!(
        store
            .history(alice, "nobody", None, 10)
            .await
            .expect("history")
            .is_empty()
    );
    assert_eq!(
        store
            .history(alice, "bob", None, u32::MAX)
            .await
            .expect("history")
            .len(),
        25
    );
}

#[tokio::test]
async fn conversations_and_mark_read() {
    let (_dir, store, alice) = with_account().await;
    let home = store.server("home").await.expect("get").expect("exists");
    let other = store
        .add_account(&account(home.id, "other"))
        .await
        .expect("add");
    assert!(store.conversations(alice).await.expect("conv").is_empty());

    let b1 = store
        .insert_message(&incoming(alice, "bob", "b1", 1))
        .await
        .expect("insert");
    let b2 = store
        .insert_message(&incoming(alice, "bob", "b2", 2))
        .await
        .expect("insert");
    let c1 = store
        .insert_message(&incoming(alice, "carol", "c1", 3))
        .await
        .expect("insert");
    let b3 = store
        .insert_message(&outgoing(alice, "bob", "b3", 4))
        .await
        .expect("insert");
    let d1 = store
        .insert_message(&outgoing(alice, "dave", "d1", 5))
        .await
        .expect("insert");
    let mut already_read = incoming(alice, "carol", "c2", 6);
    already_read.read = true;
    let c2 = store.insert_message(&already_read).await.expect("insert");
    let b4 = store
        .insert_message(&incoming(alice, "bob", "b4", 7))
        .await
        .expect("insert");
    store
        .insert_message(&incoming(other.id, "bob", "other account", 8))
        .await
        .expect("insert");

    let conv = store.conversations(alice).await.expect("conv");
    let summary: Vec<(String, i64, u32)> = conv
        .iter()
        .map(|c| (c.peer.clone(), c.last.id, c.unread))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("bob".to_owned(), b4.id, 3),
            ("carol".to_owned(), c2.id, 1),
            ("dave".to_owned(), d1.id, 0),
        ]
    );
    assert_eq!(conv[0].last, b4);

    // Up to an id: only older incoming messages.
    assert_eq!(
        store
            .mark_read(alice, "bob", Some(b3.id))
            .await
            .expect("mark"),
        b2.id
    );
    assert!(
        store
            .message(b1.id)
            .await
            .expect("get")
            .expect("exists")
            .read
    );
    assert!(
        store
            .message(b2.id)
            .await
            .expect("get")
            .expect("exists")
            .read
    );
    assert!(
        !store
            .message(b4.id)
            .await
            .expect("get")
            .expect("exists")
            .read
    );
    assert_eq!(store.conversations(alice).await.expect("conv")[0].unread, 1);
    // Nothing left in that range.
    assert_eq!(
        store
            .mark_read(alice, "bob", Some(b3.id))
            .await
            .expect("mark"),
        0
    );
    // All.
    assert_eq!(
        store.mark_read(alice, "bob", None).await.expect("mark"),
        b4.id
    );
    assert_eq!(store.mark_read(alice, "bob", None).await.expect("mark"), 0);
    assert_eq!(
        store.mark_read(alice, "carol", None).await.expect("mark"),
        c1.id
    );
    assert_eq!(
        store.mark_read(alice, "nobody", None).await.expect("mark"),
        0
    );
    assert!(
        store
            .conversations(alice)
            .await
            .expect("conv")
            .iter()
            .all(|c| c.unread == 0)
    );
    // The other account's message is untouched.
    let other_conv = store.conversations(other.id).await.expect("conv");
    assert_eq!(other_conv.len(), 1);
    assert_eq!(other_conv[0].unread, 1);

    // A new message moves its conversation to the top.
    let c3 = store
        .insert_message(&incoming(alice, "carol", "c3", 9))
        .await
        .expect("insert");
    let conv = store.conversations(alice).await.expect("conv");
    assert_eq!(conv[0].peer, "carol");
    assert_eq!(conv[0].last.id, c3.id);
    assert_eq!(conv[0].unread, 1);
}

// ----------------------------------------------------------------------------------------
// Search
// ----------------------------------------------------------------------------------------

#[tokio::test]
async fn search_plain_words_filters_and_order() {
    let (_dir, store, alice) = with_account().await;
    let home = store.server("home").await.expect("get").expect("exists");
    let other = store
        .add_account(&account(home.id, "other"))
        .await
        .expect("add");

    let m1 = store
        .insert_message(&incoming(alice, "bob", "Hi there, lunch tomorrow?", 100))
        .await
        .expect("insert");
    let m2 = store
        .insert_message(&outgoing(alice, "bob", "hi! Yes: lunch at noon", 200))
        .await
        .expect("insert");
    let m3 = store
        .insert_message(&incoming(alice, "carol", "say \"hi\" OR (not) to Zoë", 300))
        .await
        .expect("insert");
    let m4 = store
        .insert_message(&incoming(alice, "carol", "unrelated text", 400))
        .await
        .expect("insert");
    store
        .insert_message(&incoming(other.id, "bob", "hi lunch", 500))
        .await
        .expect("insert");

    let find = |q: &'static str| {
        let store = store.clone();
        async move {
            ids(&store
                .search(alice, q, None, None, 100)
                .await
                .unwrap_or_else(|e| panic!("search {q:?} failed: {e}")))
        }
    };

    // Case-insensitive words, newest first, only this account.
    assert_eq!(find("hi").await, vec![m3.id, m2.id, m1.id]);
    assert_eq!(find("HI").await, vec![m3.id, m2.id, m1.id]);
    // Every word must appear (AND), in any order.
    assert_eq!(find("lunch hi").await, vec![m2.id, m1.id]);
    assert_eq!(find("noon lunch").await, vec![m2.id]);
    // Diacritics are folded.
    assert_eq!(find("zoe").await, vec![m3.id]);
    assert_eq!(find("unrelated").await, vec![m4.id]);
    assert!(find("missing").await.is_empty());

    // FTS syntax in the input is just text, never an error.
    assert_eq!(find("\"hi\" OR (").await, vec![m3.id]);
    assert_eq!(find("hi OR").await, vec![m3.id]);
    assert_eq!(find("(not)").await, vec![m3.id]);
    for q in [
        "\"",
        "\"\"",
        "(",
        ")",
        "*",
        "hi*",
        "NEAR(hi lunch)",
        "-hi",
        "^hi",
        "text:hi",
        "a:b:c",
        "'",
        "' OR 1=1 --",
        "AND",
        "NOT",
        "hi AND NOT",
        "{hi}",
        "\\",
        "\u{0}",
        "",
        "   ",
        "!!! ??? ...",
    ] {
        store
            .search(alice, q, None, None, 10)
            .await
            .unwrap_or_else(|e| panic!("search {q:?} failed: {e}"));
    }
    assert_eq!(
        find("hi*").await,
        vec![m3.id, m2.id, m1.id],
        "no prefix syntax"
    );
    assert!(find("").await.is_empty());
    assert!(find("!!! ???").await.is_empty());

    // Filters: peer, since (stamp, inclusive), limit.
    assert_eq!(
        ids(&store
            .search(alice, "hi", Some("bob"), None, 100)
            .await
            .expect("search")),
        vec![m2.id, m1.id]
    );
    assert_eq!(
        ids(&store
            .search(alice, "hi", None, Some(200), 100)
            .await
            .expect("search")),
        vec![m3.id, m2.id]
    );
    assert_eq!(
        ids(&store
            .search(alice, "hi", Some("bob"), Some(150), 100)
            .await
            .expect("search")),
        vec![m2.id]
    );
    assert_eq!(
        ids(&store
            .search(alice, "hi", None, None, 1)
            .await
            .expect("search")),
        vec![m3.id]
    );
    assert!(
        store
            .search(alice, "hi", Some("nobody"), None, 100)
            .await
            .expect("search")
            .is_empty()
    );
    fts_integrity(&store).await;
}

// ----------------------------------------------------------------------------------------
// Event log
// ----------------------------------------------------------------------------------------

#[tokio::test]
async fn event_log_ids_survive_pruning() {
    let (_dir, store) = fresh().await;
    assert_eq!(store.last_event_id().await.expect("last"), 0);
    assert_eq!(store.first_event_id().await.expect("first"), None);
    assert!(store.events_after(0, 10).await.expect("after").is_empty());
    store.prune_events(0).await.expect("prune empty");

    let mut ids = Vec::new();
    for i in 0u8..10 {
        ids.push(store.append_event(&[i, 0xff]).await.expect("append"));
    }
    assert!(ids.windows(2).all(|w| w[1] > w[0]), "{ids:?}");
    assert!(ids[0] >= 1);
    assert_eq!(store.first_event_id().await.expect("first"), Some(ids[0]));
    assert_eq!(store.last_event_id().await.expect("last"), ids[9]);

    let all = store.events_after(0, 100).await.expect("after");
    assert_eq!(all.len(), 10);
    assert_eq!(all[3], (ids[3], vec![3, 0xff]));
    let page = store.events_after(ids[4], 3).await.expect("after");
    assert_eq!(
        page.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        ids[5..8].to_vec()
    );
    assert!(
        store
            .events_after(ids[9], 10)
            .await
            .expect("after")
            .is_empty()
    );
    assert!(
        store
            .events_after(u64::MAX, 10)
            .await
            .expect("after")
            .is_empty()
    );
    assert!(store.events_after(0, 0).await.expect("after").is_empty());

    store.prune_events(100).await.expect("prune nothing");
    assert_eq!(store.first_event_id().await.expect("first"), Some(ids[0]));
    store.prune_events(4).await.expect("prune");
    assert_eq!(store.first_event_id().await.expect("first"), Some(ids[6]));
    assert_eq!(
        store
            .events_after(0, 100)
            .await
            .expect("after")
            .iter()
            .map(|(id, _)| *id)
            .collect::<Vec<_>>(),
        ids[6..].to_vec()
    );
    store.prune_events(u64::MAX).await.expect("prune huge keep");
    assert_eq!(count(&store, "events").await, 4);

    // Prune everything: ids are still never reused.
    store.prune_events(0).await.expect("prune all");
    assert_eq!(store.first_event_id().await.expect("first"), None);
    assert_eq!(store.last_event_id().await.expect("last"), ids[9]);
    let next = store.append_event(b"after prune").await.expect("append");
    assert!(next > ids[9]);
    assert_eq!(store.last_event_id().await.expect("last"), next);
    assert_eq!(store.first_event_id().await.expect("first"), Some(next));
    // Empty payloads round-trip too.
    let empty = store.append_event(&[]).await.expect("append");
    assert_eq!(
        store.events_after(next, 10).await.expect("after"),
        vec![(empty, Vec::new())]
    );
}

// ----------------------------------------------------------------------------------------
// Concurrency
// ----------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_inserts_from_many_tasks() {
    let (_dir, store, alice) = with_account().await;
    const TASKS: usize = 8;
    const EACH: usize = 40;

    let mut handles = Vec::new();
    for t in 0..TASKS {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut events = Vec::new();
            for i in 0..EACH {
                let peer = format!("peer{}", t % 3);
                let m = store
                    .insert_message(&incoming(alice, &peer, &format!("word{t} n{i}"), i as i64))
                    .await
                    .expect("concurrent insert");
                mine.push(m.id);
                events.push(
                    store
                        .append_event(format!("{t}/{i}").as_bytes())
                        .await
                        .expect("concurrent append"),
                );
                if i % 10 == 0 {
                    store
                        .mark_read(alice, &peer, None)
                        .await
                        .expect("concurrent mark_read");
                    store
                        .upsert_contact(&contact(alice, &peer))
                        .await
                        .expect("concurrent upsert");
                }
            }
            (mine, events)
        }));
    }
    let mut all_ids = HashSet::new();
    let mut all_events = HashSet::new();
    for h in handles {
        let (mine, events) = h.await.expect("task");
        assert!(mine.windows(2).all(|w| w[1] > w[0]), "ids grow per task");
        assert!(
            events.windows(2).all(|w| w[1] > w[0]),
            "event ids grow per task"
        );
        all_ids.extend(mine);
        all_events.extend(events);
    }
    assert_eq!(all_ids.len(), TASKS * EACH);
    assert_eq!(all_events.len(), TASKS * EACH);
    assert_eq!(count(&store, "messages").await, (TASKS * EACH) as i64);
    assert_eq!(
        store.events_after(0, u32::MAX).await.expect("after").len(),
        TASKS * EACH
    );
    for t in 0..TASKS {
        assert_eq!(
            store
                .search(alice, &format!("word{t}"), None, None, 1000)
                .await
                .expect("search")
                .len(),
            EACH
        );
    }
    assert_eq!(store.conversations(alice).await.expect("conv").len(), 3);
    fts_integrity(&store).await;
}
