//! Opening the store file: permissions, pragmas, migrations.

use super::*;

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
