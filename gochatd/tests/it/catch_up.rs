//! A large catch-up (issue 16): decrypted on every core, stored in batches, yet every message
//! is stored and announced once, in the order the server sent them, with progress events.

use std::time::Duration;

use crate::common::*;
use gochat_proto::ipc::{self, AccountRef, event};

const COUNT: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_keeps_order_and_reports_progress() {
    let server = start_server().await;
    let (mut alice, mut bob) = two_users(&server, "alice", "bob").await;
    bob.client
        .logout(AccountRef::default())
        .await
        .expect("logout");
    for i in 0..COUNT {
        alice
            .client
            .send(send("bob", &format!("message {i}"), true))
            .await
            .expect("send");
    }
    let mut events = bob
        .client
        .subscribe(ipc::SubscribeRequest { since: 0 })
        .await
        .expect("subscribe")
        .into_inner();
    bob.client
        .login(AccountRef::default())
        .await
        .expect("login");

    let (mut texts, mut ids, mut progress) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(30), events.message())
            .await
            .expect("event in time")
            .expect("stream ok")
            .expect("stream open");
        match ev.kind {
            Some(event::Kind::MessageReceived(m)) => {
                texts.push(m.text);
                ids.push(m.id);
            }
            Some(event::Kind::CatchUp(c)) => {
                progress.push(c.received);
                if c.done {
                    assert_eq!(c.received as usize, COUNT, "done counts every message");
                    break;
                }
                assert!(
                    c.received as usize <= texts.len(),
                    "progress counts only messages already announced"
                );
            }
            _ => {}
        }
    }
    let expected: Vec<String> = (0..COUNT).map(|i| format!("message {i}")).collect();
    assert_eq!(texts, expected, "stored and announced in the order sent");
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "row ids follow arrival"
    );
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");

    // Stored once each: the history holds exactly these.
    let history = bob
        .client
        .history(ipc::HistoryRequest {
            peer: "alice".into(),
            limit: 1000,
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner();
    assert_eq!(history.messages.len(), COUNT);

    // A live message after the catch-up is announced alone, without progress events.
    alice
        .client
        .send(send("bob", "live", true))
        .await
        .expect("send");
    assert_eq!(next_received(&mut events).await.text, "live");
}

/// A store that refuses received messages (a full disk, here a trigger) loses none of them:
/// the refused batch is retried message by message from memory until the store accepts, and
/// each is announced once, only after it is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_messages_are_retried_until_stored() {
    let server = start_server().await;
    let (mut alice, mut bob) = two_users(&server, "alice", "bob").await;
    let mut events = bob
        .client
        .subscribe(ipc::SubscribeRequest { since: 0 })
        .await
        .expect("subscribe")
        .into_inner();
    let pool = bob.daemon.store.pool().clone();
    sqlx::query(
        "CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.outgoing = 0 \
         BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    )
    .execute(&pool)
    .await
    .expect("trigger");
    for i in 0..3 {
        alice
            .client
            .send(send("bob", &format!("refused {i}"), true))
            .await
            .expect("send");
    }
    // Nothing is announced while the store refuses.
    let early = tokio::time::timeout(Duration::from_secs(1), next_received(&mut events)).await;
    assert!(early.is_err(), "announced before it was stored: {early:?}");
    sqlx::query("DROP TRIGGER refuse")
        .execute(&pool)
        .await
        .expect("drop trigger");
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next_received(&mut events).await.text);
    }
    got.sort();
    assert_eq!(got, ["refused 0", "refused 1", "refused 2"]);
    let history = bob
        .client
        .history(ipc::HistoryRequest {
            peer: "alice".into(),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner();
    assert_eq!(history.messages.len(), 3, "stored once each");
}
