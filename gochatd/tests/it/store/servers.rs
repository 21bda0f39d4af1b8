//! Servers: add, get, list, default, update, remove.

use super::*;

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
