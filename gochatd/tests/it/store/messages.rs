//! Messages: insert, state, outbox, history, conversations.

use gochat_proto::wire::ErrorCode;
use gochatd::reason::Reason;

use super::*;

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
