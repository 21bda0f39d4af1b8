//! Reading the Go client's real `client.db` files (tests/fixtures/go-client, written by the
//! Go client itself) and decrypting their private keys.

use std::path::PathBuf;

use gochatd::goclient::key::{self, GoKeyError};
use gochatd::goclient::source::{GoClientDb, GoReadError, GoServer};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/go-client")
        .join(name)
}

#[tokio::test]
async fn alice_db_reads_as_the_readme_says() {
    let db = GoClientDb::open(&fixture("alice-client.db"))
        .await
        .expect("open");
    assert_eq!(
        db.servers().await.expect("servers"),
        vec![
            GoServer {
                id: 1,
                address: "127.0.0.1".into(),
                port: 9037,
                tls: false,
                name: "Default".into()
            },
            GoServer {
                id: 2,
                address: "127.0.0.1".into(),
                port: 8037,
                tls: true,
                name: "tlshome".into()
            },
        ]
    );
    let locals = db.local_users().await.expect("local users");
    assert_eq!(locals.len(), 1);
    let alice = &locals[0];
    assert_eq!((alice.username.as_str(), alice.server_id), ("alice", 1));
    let blob = alice.key_blob.clone().expect("a key");
    assert_eq!(blob.len(), 3303, "read as bytes, not cut at a NUL");

    let contacts = db.contacts(1).await.expect("contacts");
    let names: Vec<_> = contacts.iter().map(|c| c.username.as_str()).collect();
    assert_eq!(names, ["bob", "carol"]);
    for c in &contacts {
        assert_eq!(c.pub_key.len(), 808);
        gochat_proto::wire::PublicKey::parse(&c.pub_key).expect("a usable key");
    }
    assert!(db.contacts(2).await.expect("contacts").is_empty());

    let messages = db.messages(alice).await.expect("messages");
    let got: Vec<_> = messages
        .iter()
        .map(|m| (m.peer.as_str(), m.outgoing, m.stamp, m.text.as_str()))
        .collect();
    // 2026-12-05 19:19:38 UTC.
    let t0 = 1_796_498_378;
    assert_eq!(
        got,
        [
            ("bob", true, Some(t0), "hello bob, this is alice"),
            (
                "bob",
                false,
                Some(t0 + 1),
                "hi alice — bob here (ünïcödé ✓)"
            ),
            ("bob", true, Some(t0 + 2), "second message"),
            ("carol", true, Some(t0 + 6), "offline one"),
            ("carol", true, Some(t0 + 7), "offline two"),
            ("carol", true, Some(t0 + 9), "offline three"),
        ]
    );
    db.close().await;
}

#[tokio::test]
async fn the_key_decrypts_to_the_exported_pem() {
    let db = GoClientDb::open(&fixture("alice-client.db"))
        .await
        .expect("open");
    let blob = db.local_users().await.expect("users")[0]
        .key_blob
        .clone()
        .expect("a key");
    db.close().await;
    let pem = key::decrypt(&blob, "alice-pass-1").expect("decrypts");
    let exported = std::fs::read(fixture("alice.priv")).expect("alice.priv");
    assert_eq!(pem.as_slice(), exported.as_slice());
    key::open(&blob, "alice-pass-1").expect("a usable key");

    assert!(matches!(
        key::decrypt(&blob, "alice-pass-2"),
        Err(GoKeyError::WrongPassword)
    ));
    let mut damaged = blob.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1; // the salt
    assert!(matches!(
        key::decrypt(&damaged, "alice-pass-1"),
        Err(GoKeyError::WrongPassword)
    ));
}

#[tokio::test]
async fn bob_db_and_key() {
    let db = GoClientDb::open(&fixture("bob-client.db"))
        .await
        .expect("open");
    let bob = db.local_users().await.expect("users").remove(0);
    assert_eq!(bob.username, "bob");
    let messages = db.messages(&bob).await.expect("messages");
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[3].peer, "carol");
    assert!(messages[3].outgoing);
    assert_eq!(messages[3].text, "from bob while you were away");
    key::open(&bob.key_blob.expect("key"), "bob-pass-2").expect("bob's key");
    db.close().await;
}

#[tokio::test]
async fn files_that_are_not_go_client_databases_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.db");
    assert!(matches!(
        GoClientDb::open(&missing).await,
        Err(GoReadError::Open { .. })
    ));
    assert!(!missing.exists(), "never created");

    let other = dir.path().join("other.db");
    let store = gochatd::store::Store::open(&other).await.expect("store");
    store.close().await;
    assert!(matches!(
        GoClientDb::open(&other).await,
        Err(GoReadError::NotGoClient(..))
    ));
}
