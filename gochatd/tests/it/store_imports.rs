//! The store's side of imports: where a pinned key came from, and history stored in bulk,
//! counted for re-imports and searchable.

use gochatd::store::{
    AccountRow, ContactRow, KEY_ORIGIN_GO_CLIENT, MessageKey, MessageState, NewMessage, ServerRow,
    Store,
};

async fn with_account() -> (tempfile::TempDir, Store, i64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("gochatd.db"))
        .await
        .expect("open store");
    let server = store
        .add_server(&ServerRow {
            id: 0,
            name: "Default".into(),
            host: "127.0.0.1".into(),
            port: 9037,
            tls: false,
            verify: true,
            ca_file: None,
            is_default: false,
            pins: Vec::new(),
            rejected: None,
        })
        .await
        .expect("server");
    let account = store
        .add_account(&AccountRow {
            id: 0,
            server_id: server.id,
            username: "alice".into(),
            key_blob: vec![1, 2, 3],
            key_encrypted: false,
            public_pem: "pem".into(),
            fingerprint: "fp".into(),
            auto_login: true,
            permission: 0,
        })
        .await
        .expect("account");
    (dir, store, account.id)
}

fn message(account_id: i64, outgoing: bool, stamp: i64, text: &str) -> NewMessage {
    NewMessage {
        account_id,
        peer: "bob".into(),
        outgoing,
        text: text.into(),
        stamp,
        state: if outgoing {
            MessageState::Sent
        } else {
            MessageState::Received
        },
        read: true,
    }
}

#[tokio::test]
async fn a_contacts_key_origin_is_stored() {
    let (_dir, store, alice) = with_account().await;
    let bob = ContactRow {
        account_id: alice,
        user: "bob".into(),
        public_pem: Some("pem".into()),
        fingerprint: Some("fp".into()),
        pending_pem: None,
        pending_fingerprint: None,
        permission: 0,
        key_origin: Some(KEY_ORIGIN_GO_CLIENT.into()),
    };
    store.upsert_contact(&bob).await.expect("insert");
    assert_eq!(
        store.contact(alice, "bob").await.expect("get"),
        Some(bob.clone())
    );
    let fetched = ContactRow {
        key_origin: None,
        ..bob
    };
    store.upsert_contact(&fetched).await.expect("update");
    assert_eq!(
        store.contact(alice, "bob").await.expect("get"),
        Some(fetched)
    );
}

#[tokio::test]
async fn imported_history_is_counted_and_searchable() {
    let (_dir, store, alice) = with_account().await;
    let batch = [
        message(alice, true, 100, "same text"),
        message(alice, true, 100, "same text"),
        message(alice, false, 101, "hi alice — ünïcödé ✓"),
    ];
    assert_eq!(store.import_messages(&batch).await.expect("import"), 3);
    let counts = store.message_key_counts(alice).await.expect("counts");
    assert_eq!(counts.get(&MessageKey::of(&batch[0])), Some(&2));
    assert_eq!(counts.get(&MessageKey::of(&batch[2])), Some(&1));
    for query in ["ünïcödé", "unicode"] {
        let found = store
            .search(alice, query, None, None, 10)
            .await
            .expect("search");
        assert_eq!(found.len(), 1, "{query}: diacritics are folded");
    }
    let found = store
        .search(alice, "ünïcödé", None, None, 10)
        .await
        .expect("search");
    assert!(found[0].read);
    assert_eq!(found[0].state, MessageState::Received);
    let conversations = store.conversations(alice).await.expect("conversations");
    assert_eq!(conversations[0].unread, 0);
}
