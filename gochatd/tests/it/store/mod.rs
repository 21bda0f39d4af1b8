//! The local store (`gochatd::store`) on a real SQLite file in a temporary directory.

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use gochatd::store::{
    AccountRow, ContactRow, MessageRow, MessageState, NewMessage, ServerRow, Store, StoreError,
};
use tempfile::TempDir;

mod accounts;
mod concurrency;
mod events;
mod messages;
mod opening;
mod search;
mod servers;

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
        pins: Vec::new(),
        rejected: None,
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
