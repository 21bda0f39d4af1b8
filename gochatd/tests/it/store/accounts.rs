//! Accounts and contacts.

use super::*;

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
