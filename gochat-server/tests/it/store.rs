//! Store backends against the same scenarios: SQLite in a temporary directory, and MariaDB
//! at `mysql://root@127.0.0.1:3306` in a fresh `gochat_test_<hex>` database per test
//! (dropped afterwards, also when the test fails).
//!
//! Set `GOCHAT_TEST_MYSQL_URL` to use another server (URL without a database name).
//! Throughput measurement (ignored by default):
//! `cargo test --release -p gochat-server --test it store::throughput -- --ignored --nocapture`.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures::FutureExt;
use gochat_proto::wire::{Permission, PublicKey, encode_pem};
use gochat_server::store::{
    MySqlStore, NewMessage, Quota, RegisterError, SqliteStore, Store, StoreOutcome, StoredMessage,
};

/// Server used for the MariaDB runs (no database part).
fn mysql_server_url() -> String {
    gochat_testkit::mariadb::server_url()
}

/// The store's own database, for planting rows the [`Store`] API cannot write.
#[derive(Clone)]
enum Raw {
    Sqlite(sqlx::SqlitePool),
    MariaDb(sqlx::MySqlPool),
}

impl Raw {
    /// Writes `level` into the `permission` column of `name` as it is, unchecked.
    async fn plant_permission(&self, name: &[u8], level: &str) {
        // A hex literal: a blob on SQLite, a binary string on MariaDB, as the column is.
        let name = hex::encode(name);
        self.execute(&format!(
            "UPDATE users SET permission = {level} WHERE username = X'{name}'"
        ))
        .await;
    }

    /// Runs one statement without binds.
    async fn execute(&self, sql: &str) {
        match self {
            Raw::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop),
            Raw::MariaDb(pool) => sqlx::query(sql).execute(pool).await.map(drop),
        }
        .expect("raw statement");
    }
}

/// Runs `body` on a fresh SQLite store in a temporary directory.
async fn run_sqlite<F, Fut>(body: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    run_sqlite_raw(|store, _| body(store)).await;
}

/// [`run_sqlite`], also handing `body` the raw database.
async fn run_sqlite_raw<F, Fut>(body: F)
where
    F: FnOnce(Arc<dyn Store>, Raw) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/data/gochat.db", dir.path().display());
    let store = SqliteStore::open(&url).await.expect("open sqlite store");
    let raw = Raw::Sqlite(store.pool().clone());
    body(Arc::new(store), raw).await;
}

/// Runs `body` on a MariaDB store in a database created for this run, dropping the database
/// afterwards whether `body` passed or panicked.
async fn run_mariadb<F, Fut>(body: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    run_mariadb_raw(|store, _| body(store)).await;
}

/// [`run_mariadb`], also handing `body` the raw database.
async fn run_mariadb_raw<F, Fut>(body: F)
where
    F: FnOnce(Arc<dyn Store>, Raw) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = gochat_testkit::mariadb::TempDatabase::create_with_prefix("gochat_test")
        .await
        .expect("create a MariaDB test database (is it running at 127.0.0.1:3306?)");

    let outcome = AssertUnwindSafe(async {
        let store = MySqlStore::open(&db.url())
            .await
            .expect("open mariadb store");
        let pool = store.pool().clone();
        let raw = Raw::MariaDb(pool.clone());
        let result = AssertUnwindSafe(body(Arc::new(store), raw))
            .catch_unwind()
            .await;
        pool.close().await;
        result
    })
    .catch_unwind()
    .await;

    match outcome {
        Ok(Ok(())) => db.drop_now().await.expect("drop test database"),
        // The guard drops the database.
        Ok(Err(panic)) | Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A distinct synthetic fingerprint.
fn fingerprint(n: u32) -> [u8; 32] {
    let mut f = [0xA5; 32];
    f[..4].copy_from_slice(&n.to_be_bytes());
    f
}

/// A synthetic PEM-ish key text.
fn key(n: u32) -> Vec<u8> {
    format!("-----BEGIN RSA PUBLIC KEY-----\nkey{n}\n-----END RSA PUBLIC KEY-----\n").into_bytes()
}

/// Registers `name` with a synthetic key `n` and returns its id.
async fn reg(store: &dyn Store, name: &[u8], n: u32) -> i64 {
    store
        .register(name, &key(n), &fingerprint(n))
        .await
        .expect("register");
    store
        .user(name)
        .await
        .expect("lookup")
        .expect("registered user exists")
        .id
}

fn message(sender_id: i64, recipient_id: i64, i: usize) -> NewMessage {
    NewMessage {
        sender_id,
        recipient_id,
        stamp: 1_700_000_000 + i as i64,
        ciphertext: format!("ciphertext #{i}").into_bytes(),
    }
}

async fn register_conflicts(store: Arc<dyn Store>) {
    let store = &*store;
    let alice_pem = include_bytes!("../../../proto/tests/vectors/keys/alice.pub.reg.pem");
    let alice = PublicKey::parse(alice_pem).expect("alice's key parses");
    store
        .register(b"alice", alice_pem, &alice.fingerprint())
        .await
        .expect("first registration");

    let user = store.user(b"alice").await.expect("lookup").expect("alice");
    assert_eq!(user.username, b"alice");
    assert_eq!(user.public_key.as_deref(), Some(&alice_pem[..]));
    assert_eq!(user.permission(), Some(Permission::User));

    // Same name, another key.
    let err = store
        .register(b"alice", &key(1), &fingerprint(1))
        .await
        .expect_err("duplicate name");
    assert!(matches!(err, RegisterError::NameTaken), "{err:?}");

    // Same key in another PEM form (SPKI label, different text, same fingerprint).
    let other_form = encode_pem("PUBLIC KEY", alice.spki_der());
    assert_ne!(other_form.as_bytes(), &alice_pem[..]);
    let reparsed = PublicKey::parse(other_form.as_bytes()).expect("other form parses");
    assert_eq!(reparsed.fingerprint(), alice.fingerprint());
    let err = store
        .register(b"mallory", other_form.as_bytes(), &reparsed.fingerprint())
        .await
        .expect_err("duplicate key");
    assert!(matches!(err, RegisterError::KeyTaken), "{err:?}");
    assert_eq!(store.user(b"mallory").await.expect("lookup"), None);

    // Deregistered names can never come back, with any key.
    assert!(store.deregister(b"alice").await.expect("deregister"));
    let user = store
        .user(b"alice")
        .await
        .expect("lookup")
        .expect("row stays");
    assert_eq!(user.public_key, None);
    let err = store
        .register(b"alice", &key(2), &fingerprint(2))
        .await
        .expect_err("deregistered name");
    assert!(matches!(err, RegisterError::NameDeregistered), "{err:?}");

    // The key is free again after deregistration.
    store
        .register(b"alice2", alice_pem, &alice.fingerprint())
        .await
        .expect("key reusable after deregistration");

    assert!(
        !store
            .deregister(b"nobody")
            .await
            .expect("deregister unknown")
    );
    store.ping().await.expect("ping");
}

async fn concurrent_registrations(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..64u32)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let name = format!("user{i:02}");
                store
                    .register(name.as_bytes(), &key(i), &fingerprint(i))
                    .await
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        if let Err(e) = task.await.expect("task") {
            panic!("registration {i} failed: {e:?}");
        }
    }
    let users = store.list_users().await.expect("list");
    assert_eq!(users.len(), 64);
    let mut names: Vec<_> = users.into_iter().map(|(n, _)| n).collect();
    names.sort();
    let expected: Vec<Vec<u8>> = (0..64)
        .map(|i| format!("user{i:02}").into_bytes())
        .collect();
    assert_eq!(names, expected);
}

async fn exact_case_lookup(store: Arc<dyn Store>) {
    let store = &*store;
    let upper = reg(store, b"Alice", 1).await;
    assert_eq!(store.user(b"alice").await.expect("lookup"), None);
    assert_eq!(store.user(b"ALICE").await.expect("lookup"), None);
    // A name differing only in case is a different user (binary comparison).
    let lower = reg(store, b"alice", 2).await;
    assert_ne!(upper, lower);
    let user = store.user(b"Alice").await.expect("lookup").expect("Alice");
    assert_eq!((user.id, user.username.as_slice()), (upper, &b"Alice"[..]));
    // Trailing spaces and bytes beyond ASCII are significant too.
    assert_eq!(store.user(b"alice ").await.expect("lookup"), None);
    let odd = [0xFFu8, 0x00, b'x'];
    reg(store, &odd, 3).await;
    let user = store.user(&odd).await.expect("lookup").expect("odd name");
    assert_eq!(user.username, odd);
}

async fn deregister_drops_pending(store: Arc<dyn Store>) {
    let store = &*store;
    let alice = reg(store, b"alice", 1).await;
    let bob = reg(store, b"bob", 2).await;
    let msgs: Vec<_> = (0..10)
        .map(|i| message(alice, bob, i))
        .chain((0..3).map(|i| message(bob, alice, i)))
        .collect();
    store
        .store_messages(&msgs, Quota::UNLIMITED)
        .await
        .expect("store");
    assert_eq!(store.count_pending(bob).await.expect("count"), 10);
    assert_eq!(store.count_pending(alice).await.expect("count"), 3);

    assert!(store.deregister(b"bob").await.expect("deregister"));
    assert_eq!(store.count_pending(bob).await.expect("count"), 0);
    // Messages bob sent earlier stay for their recipient.
    assert_eq!(store.count_pending(alice).await.expect("count"), 3);
    let pending = store.pending_messages(alice, 100).await.expect("pending");
    assert!(pending.iter().all(|m| m.sender == b"bob"));
}

async fn store_and_pending_order(store: Arc<dyn Store>) {
    let store = &*store;
    let alice = reg(store, b"alice", 1).await;
    let bob = reg(store, b"bob", 2).await;
    let carol = reg(store, b"carol", 3).await;
    // Interleave senders and recipients; 1,000 rows for bob, spanning several INSERT chunks.
    let mut msgs = Vec::new();
    for i in 0..1_000 {
        let sender = if i % 3 == 0 { carol } else { alice };
        msgs.push(message(sender, bob, i));
        if i % 100 == 0 {
            msgs.push(message(bob, alice, i));
        }
    }
    let mut big = message(alice, bob, 1_000);
    big.ciphertext = (0..2045u32).map(|b| (b % 251) as u8).collect();
    msgs.push(big.clone());
    store
        .store_messages(&msgs, Quota::UNLIMITED)
        .await
        .expect("store");
    store
        .store_messages(&[], Quota::UNLIMITED)
        .await
        .expect("store nothing");

    assert_eq!(store.count_pending(bob).await.expect("count"), 1_001);
    assert_eq!(store.count_pending(alice).await.expect("count"), 10);
    assert_eq!(store.count_pending(carol).await.expect("count"), 0);

    let pending = store.pending_messages(bob, 5_000).await.expect("pending");
    assert_eq!(pending.len(), 1_001);
    assert!(pending.windows(2).all(|w| w[0].id < w[1].id), "ids ascend");
    let expected: Vec<(Vec<u8>, i64, Vec<u8>)> = msgs
        .iter()
        .filter(|m| m.recipient_id == bob)
        .map(|m| {
            let name = if m.sender_id == carol {
                b"carol".to_vec()
            } else {
                b"alice".to_vec()
            };
            (name, m.stamp, m.ciphertext.clone())
        })
        .collect();
    let got: Vec<(Vec<u8>, i64, Vec<u8>)> = pending
        .iter()
        .map(|m| (m.sender.clone(), m.stamp, m.ciphertext.clone()))
        .collect();
    assert_eq!(got, expected, "stored in slice order");
    assert_eq!(pending.last().map(|m| &m.ciphertext), Some(&big.ciphertext));

    let first: Vec<StoredMessage> = store.pending_messages(bob, 7).await.expect("pending");
    assert_eq!(first, pending[..7]);
    assert!(
        store
            .pending_messages(bob, 0)
            .await
            .expect("pending")
            .is_empty()
    );

    // A failing batch stores nothing (self-message violates the CHECK).
    let bad = vec![message(alice, bob, 0), message(carol, carol, 1)];
    assert!(store.store_messages(&bad, Quota::UNLIMITED).await.is_err());
    assert_eq!(store.count_pending(bob).await.expect("count"), 1_001);
    // Also when the bad row is in a later INSERT chunk of the same call.
    let mut bad: Vec<_> = (0..700).map(|i| message(alice, bob, i)).collect();
    bad.push(message(carol, carol, 700));
    assert!(store.store_messages(&bad, Quota::UNLIMITED).await.is_err());
    // And an unknown sender (foreign key).
    assert!(
        store
            .store_messages(&[message(i64::MAX, bob, 0)], Quota::UNLIMITED)
            .await
            .is_err()
    );
    assert_eq!(store.count_pending(bob).await.expect("count"), 1_001);
    assert_eq!(store.count_pending(carol).await.expect("count"), 0);
}

async fn delete_exact_ids(store: Arc<dyn Store>) {
    let store = &*store;
    let alice = reg(store, b"alice", 1).await;
    let bob = reg(store, b"bob", 2).await;
    let msgs: Vec<_> = (0..1_200).map(|i| message(alice, bob, i)).collect();
    store
        .store_messages(&msgs, Quota::UNLIMITED)
        .await
        .expect("store");
    let pending = store.pending_messages(bob, 2_000).await.expect("pending");
    assert_eq!(pending.len(), 1_200);

    // Delete every other one of the first 1,100 (550 ids: more than one IN chunk),
    // plus an id that does not exist.
    let mut doomed: Vec<i64> = pending[..1_100].iter().step_by(2).map(|m| m.id).collect();
    doomed.push(i64::MAX);
    store.delete_messages(bob, &doomed).await.expect("delete");
    store
        .delete_messages(bob, &[])
        .await
        .expect("delete nothing");

    let left = store.pending_messages(bob, 2_000).await.expect("pending");
    let expected: Vec<i64> = pending
        .iter()
        .enumerate()
        .filter(|(i, _)| *i >= 1_100 || i % 2 == 1)
        .map(|(_, m)| m.id)
        .collect();
    assert_eq!(left.iter().map(|m| m.id).collect::<Vec<_>>(), expected);
    assert_eq!(store.count_pending(bob).await.expect("count"), 650);

    // New messages get fresh, larger ids.
    let max_before = pending.last().map(|m| m.id).unwrap_or_default();
    let all: Vec<i64> = left.iter().map(|m| m.id).collect();
    store.delete_messages(bob, &all).await.expect("delete all");
    store
        .store_messages(&[message(alice, bob, 9)], Quota::UNLIMITED)
        .await
        .expect("store");
    let fresh = store.pending_messages(bob, 10).await.expect("pending");
    assert_eq!(fresh.len(), 1);
    assert!(fresh[0].id > max_before, "ids are never reused");
}

async fn permissions_and_listing(store: Arc<dyn Store>) {
    let store = &*store;
    reg(store, b"alice", 1).await;
    reg(store, b"bob", 2).await;
    reg(store, b"carol", 3).await;
    assert!(
        store
            .set_permission(b"bob", Permission::Admin)
            .await
            .expect("set")
    );
    assert!(
        store
            .set_permission(b"carol", Permission::Owner)
            .await
            .expect("set")
    );
    // Setting the same level again still reports the user as existing.
    assert!(
        store
            .set_permission(b"carol", Permission::Owner)
            .await
            .expect("set")
    );
    assert!(
        !store
            .set_permission(b"nobody", Permission::Admin)
            .await
            .expect("set")
    );
    let bob = store.user(b"bob").await.expect("lookup").expect("bob");
    assert_eq!(bob.permission(), Some(Permission::Admin));

    assert!(store.deregister(b"alice").await.expect("deregister"));
    // Deregistering twice: the user still exists.
    assert!(store.deregister(b"alice").await.expect("deregister"));
    let users = store.list_users().await.expect("list");
    assert_eq!(
        users,
        vec![
            (b"bob".to_vec(), Permission::Admin.code()),
            (b"carol".to_vec(), Permission::Owner.code()),
        ]
    );
}

/// Both backends read a stored permission level the same way: valid levels as themselves,
/// a stored value no level has as that raw value (so `permission()` is `None`), in a single
/// lookup, a listing and the import's full scan alike; SQLite values outside a byte (which
/// MariaDB's column cannot hold) read as 255, never wrapped onto a valid level.
async fn stored_permission_levels(store: Arc<dyn Store>, raw: Raw) {
    let store = &*store;
    reg(store, b"alice", 1).await;
    reg(store, b"bob", 2).await;
    reg(store, b"carol", 3).await;
    assert!(
        store
            .set_permission(b"alice", Permission::Owner)
            .await
            .expect("set")
    );
    raw.plant_permission(b"bob", "3").await;
    raw.plant_permission(b"carol", "255").await;
    let expected = [(&b"alice"[..], 2u8), (b"bob", 3), (b"carol", 255)];
    for (name, level) in expected {
        let user = store.user(name).await.expect("lookup").expect("user");
        assert_eq!(user.permission, level);
    }
    let bob = store.user(b"bob").await.expect("lookup").expect("bob");
    assert_eq!(bob.permission(), None, "3 is no level");
    assert_eq!(
        store
            .user(b"alice")
            .await
            .expect("lookup")
            .expect("alice")
            .permission(),
        Some(Permission::Owner)
    );
    let listed = store.list_users().await.expect("list");
    let want: Vec<(Vec<u8>, u8)> = expected.iter().map(|(n, l)| (n.to_vec(), *l)).collect();
    assert_eq!(listed, want);
    let scanned: Vec<u8> = store
        .all_users()
        .await
        .expect("all users")
        .iter()
        .map(|u| u.permission)
        .collect();
    assert_eq!(scanned, vec![2, 3, 255]);
    if let Raw::Sqlite(_) = raw {
        for stored in ["-1", "256", "9223372036854775807"] {
            raw.plant_permission(b"bob", stored).await;
            let bob = store.user(b"bob").await.expect("lookup").expect("bob");
            assert_eq!(bob.permission, u8::MAX, "{stored}");
            assert_eq!(store.list_users().await.expect("list")[1].1, u8::MAX);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_stored_permission_levels() {
    run_sqlite_raw(stored_permission_levels).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_stored_permission_levels() {
    run_mariadb_raw(stored_permission_levels).await;
}

/// The ids `store_messages_with_ids` returns are the stored rows' ids, message by message,
/// across INSERT chunks and past refused messages; `message_exists` and `last_message_id`
/// agree with them.
async fn stored_row_ids(store: Arc<dyn Store>) {
    let store = &*store;
    assert_eq!(store.last_message_id().await.expect("last id"), 0);
    let alice = reg(store, b"alice", 1).await;
    let bob = reg(store, b"bob", 2).await;
    let carol = reg(store, b"carol", 3).await;
    let mut msgs = Vec::new();
    for i in 0..700 {
        msgs.push(message(alice, if i % 2 == 0 { bob } else { carol }, i));
        if i % 250 == 0 {
            msgs.push(message(alice, i64::MAX, i));
        }
    }
    let (outcomes, ids) = store
        .store_messages_with_ids(&msgs, Quota::UNLIMITED)
        .await
        .expect("store");
    let stored: Vec<&NewMessage> = msgs
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| **o == StoreOutcome::Stored)
        .map(|(m, _)| m)
        .collect();
    assert_eq!(stored.len(), 700);
    assert_eq!(ids.len(), 700);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids ascend");
    let mut rows = store.pending_messages(bob, 1_000).await.expect("pending");
    rows.extend(store.pending_messages(carol, 1_000).await.expect("pending"));
    let by_id: std::collections::HashMap<i64, &StoredMessage> =
        rows.iter().map(|r| (r.id, r)).collect();
    for (m, id) in stored.iter().zip(&ids) {
        let row = by_id.get(id).expect("a stored row per id");
        assert_eq!((row.stamp, &row.ciphertext), (m.stamp, &m.ciphertext));
        assert!(
            store
                .message_exists(m.recipient_id, *id)
                .await
                .expect("exists")
        );
    }
    assert_eq!(
        store.last_message_id().await.expect("last id"),
        *ids.last().expect("ids")
    );
    // Another recipient's id, and a deleted row, are not there.
    assert!(!store.message_exists(bob, ids[1]).await.expect("exists"));
    store.delete_messages(bob, &ids[..1]).await.expect("delete");
    assert!(!store.message_exists(bob, ids[0]).await.expect("exists"));
}

/// Generates one SQLite and one MariaDB test per scenario.
macro_rules! store_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::run_sqlite(super::$name).await;
                }
            )*
        }
        mod mariadb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::run_mariadb(super::$name).await;
                }
            )*
        }
    };
}

store_both_backends!(
    register_conflicts,
    concurrent_registrations,
    exact_case_lookup,
    deregister_drops_pending,
    store_and_pending_order,
    delete_exact_ids,
    permissions_and_listing,
    stored_row_ids,
);

#[tokio::test]
async fn sqlite_file_and_directory_modes() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let db_dir = dir.path().join("state").join("gochat");
    let path = db_dir.join("gochat.db");
    let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .expect("open");
    store.ping().await.expect("ping");
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&db_dir), 0o700);
    assert_eq!(mode(&dir.path().join("state")), 0o700);
    assert_eq!(mode(&path), 0o600);
    let wal = db_dir.join("gochat.db-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600);
    }
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .expect("journal mode");
    assert_eq!(journal, "wal");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(store.pool())
        .await
        .expect("synchronous");
    assert_eq!(sync, 2, "synchronous=FULL");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .expect("foreign_keys");
    assert_eq!(fk, 1);
    drop(store);

    // Reopening runs no migration twice and keeps the data.
    let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .expect("reopen");
    store.ping().await.expect("ping");
}

#[tokio::test]
async fn sqlite_in_memory() {
    let store = SqliteStore::open("sqlite::memory:").await.expect("open");
    let id = reg(&store, b"alice", 1).await;
    let bob = reg(&store, b"bob", 2).await;
    store
        .store_messages(&[message(id, bob, 0)], Quota::UNLIMITED)
        .await
        .expect("store");
    assert_eq!(store.count_pending(bob).await.expect("count"), 1);
}

#[tokio::test]
async fn unsupported_urls() {
    assert!(gochat_server::store::open("postgres://x/y").await.is_err());
    assert!(
        MySqlStore::open(&mysql_server_url()).await.is_err(),
        "no database named"
    );
}

/// Measures `store_messages` on MariaDB: 10,000 messages in batches of 500 (and 100).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run with --ignored --nocapture"]
async fn throughput_mariadb() {
    run_mariadb(|s| throughput(s, "MariaDB")).await;
}

/// Same measurement on SQLite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run with --ignored --nocapture"]
async fn throughput_sqlite() {
    run_sqlite(|s| throughput(s, "SQLite")).await;
}

async fn throughput(shared: Arc<dyn Store>, backend: &str) {
    let store = &*shared;
    let ids: Vec<i64> = {
        let mut ids = Vec::new();
        for i in 0..20u32 {
            ids.push(reg(store, format!("u{i}").as_bytes(), i).await);
        }
        ids
    };
    // The first pass warms up (table growth, prepared statements) and is not reported.
    for (round, batch) in [500usize, 500, 100, 1000].into_iter().enumerate() {
        let total = 10_000;
        let msgs: Vec<NewMessage> = (0..total)
            .map(|i| NewMessage {
                sender_id: ids[i % ids.len()],
                recipient_id: ids[(i + 1) % ids.len()],
                stamp: 1_700_000_000,
                ciphertext: vec![0x5A; 512],
            })
            .collect();
        let start = Instant::now();
        for chunk in msgs.chunks(batch) {
            store
                .store_messages(chunk, Quota::UNLIMITED)
                .await
                .expect("store");
        }
        let secs = start.elapsed().as_secs_f64();
        if round == 0 {
            continue;
        }
        println!(
            "{backend} store_messages: {total} messages of 512 B in batches of {batch}: {:.3} s, {:.0} msg/s",
            secs,
            total as f64 / secs
        );
    }

    // Four concurrent callers, batches of 100 each (commits can share a log flush).
    let total = 10_000;
    let start = Instant::now();
    let tasks: Vec<_> = (0..4usize)
        .map(|t| {
            let store = Arc::clone(&shared);
            let ids = ids.clone();
            tokio::spawn(async move {
                let msgs: Vec<NewMessage> = (0..total / 4)
                    .map(|i| NewMessage {
                        sender_id: ids[(i + t) % ids.len()],
                        recipient_id: ids[(i + t + 1) % ids.len()],
                        stamp: 1_700_000_000,
                        ciphertext: vec![0x5A; 512],
                    })
                    .collect();
                for chunk in msgs.chunks(100) {
                    store
                        .store_messages(chunk, Quota::UNLIMITED)
                        .await
                        .expect("store");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{backend} store_messages: {total} messages of 512 B, 4 concurrent callers, batches of 100: {:.3} s, {:.0} msg/s",
        secs,
        total as f64 / secs
    );
}
