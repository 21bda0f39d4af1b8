//! Desktop notifications as a user sees them: summary, body, bursts, focus, mute, the hidden
//! body, a click opening the conversation, and blocked senders.

use std::time::Duration;

use gochat_proto::ipc::{self, AccountRef, event};

use super::bus::{FakeNotifications, PrivateBus};
use super::support::{AliceAndBob, alice_and_bob, next_event, prefs, set};
use crate::common::*;

fn to_alice() -> ipc::ContactPrefsRequest {
    ipc::ContactPrefsRequest {
        account: None,
        user: "alice".into(),
        ..Default::default()
    }
}

/// Waits for bob's daemon to store the next message from alice.
async fn received(events: &mut tonic::Streaming<ipc::Event>) -> ipc::Message {
    next_received(events).await
}

/// Lets a coalescing window (and some) pass.
async fn quiet() {
    tokio::time::sleep(Duration::from_millis(900)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_follow_focus_mute_bursts_and_clicks() {
    let Some(bus) = PrivateBus::start().await else {
        return;
    };
    let fake = FakeNotifications::serve(&bus).await;
    let address = bus.address.clone();
    let AliceAndBob {
        server,
        mut alice,
        mut bob,
        mut bob_events,
    } = alice_and_bob(|c| {
        c.notify.bus = address;
        c.notify.coalesce_ms = 300;
    })
    .await;

    // Summary: the sender; body: the text, escaped for markup.
    alice
        .client
        .send(send("bob", "hi <bob> & \u{1b}[2Kyou", true))
        .await
        .expect("send");
    let calls = fake.wait_for(1).await;
    assert_eq!(calls[0].app, "gochat");
    assert_eq!(calls[0].summary, "alice");
    assert_eq!(calls[0].body, "hi &lt;bob&gt; &amp; \\u{1b}[2Kyou");
    assert_eq!(calls[0].actions, ["default", "Open"]);

    // The same signal from another program on the bus is not a click.
    FakeNotifications::forge_click(&bus, calls[0].id, "default").await;
    let until = tokio::time::Instant::now() + Duration::from_secs(1);
    while let Ok(Ok(Some(ev))) = tokio::time::timeout_at(until, bob_events.message()).await {
        assert!(
            !matches!(ev.kind, Some(event::Kind::OpenConversation(_))),
            "a forged click opened a conversation"
        );
    }

    // A click on it asks the frontends to open the conversation.
    fake.click(calls[0].id, "default").await;
    let open = next_event(&mut bob_events, 10, |k| match k {
        event::Kind::OpenConversation(o) => Some(o),
        _ => None,
    })
    .await;
    assert_eq!(open.peer, "alice");
    assert_eq!(
        open.account,
        Some(AccountRef {
            server: "local".into(),
            username: "bob".into()
        })
    );

    // A focused conversation gets no notification; the focus ends with the frontend's stream.
    let (focus, reports) = tokio::sync::mpsc::channel(4);
    focus
        .send(ipc::FocusReport {
            account: None,
            peer: "alice".into(),
        })
        .await
        .expect("report focus");
    let mut focused_client = bob.client.clone();
    let focusing = tokio::spawn(async move {
        focused_client
            .report_focus(tokio_stream::wrappers::ReceiverStream::new(reports))
            .await
    });
    // The daemon has the report before alice writes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !bob.daemon.notify.focus.is_focused("local", "bob", "alice") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the focus report arrives"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    alice
        .client
        .send(send("bob", "you see this already", true))
        .await
        .expect("send");
    received(&mut bob_events).await;
    quiet().await;
    assert_eq!(fake.calls().len(), 1, "no notification while focused");
    drop(focus);
    focusing
        .await
        .expect("the focus stream ends")
        .expect("ReportFocus ok");
    alice
        .client
        .send(send("bob", "now you do not", true))
        .await
        .expect("send");
    assert_eq!(received(&mut bob_events).await.text, "now you do not");
    let calls = fake.wait_for(2).await;
    assert_eq!(calls[1].body, "now you do not");

    // Muted: stored and counted, no notification.
    let contact = prefs(
        &mut bob,
        ipc::ContactPrefsRequest {
            muted: Some(true),
            ..to_alice()
        },
    )
    .await;
    assert!(contact.muted);
    alice
        .client
        .send(send("bob", "shh", true))
        .await
        .expect("send");
    assert_eq!(received(&mut bob_events).await.text, "shh");
    quiet().await;
    assert_eq!(fake.calls().len(), 2, "no notification while muted");
    let contacts = bob
        .client
        .list_contacts(AccountRef::default())
        .await
        .expect("contacts")
        .into_inner()
        .contacts;
    let listed = contacts.iter().find(|c| c.user == "alice").expect("alice");
    assert_eq!((listed.muted, listed.muted_count), (true, 1));
    prefs(
        &mut bob,
        ipc::ContactPrefsRequest {
            muted: Some(false),
            ..to_alice()
        },
    )
    .await;

    // Hidden body, set live; the alias goes in the summary.
    set(&mut bob, "notify.hide_body", "true").await;
    prefs(
        &mut bob,
        ipc::ContactPrefsRequest {
            alias: Some("Al".into()),
            ..to_alice()
        },
    )
    .await;
    alice
        .client
        .send(send("bob", "a secret", true))
        .await
        .expect("send");
    assert_eq!(received(&mut bob_events).await.text, "a secret");
    let calls = fake.wait_for(3).await;
    assert_eq!(calls[2].summary, "Al (alice)");
    assert_eq!(calls[2].body, "new message from alice");
    set(&mut bob, "notify.hide_body", "false").await;

    // Mentions only: a message not naming bob is quiet, one naming him notifies.
    prefs(
        &mut bob,
        ipc::ContactPrefsRequest {
            notify: Some(ipc::NotifyMode::Mentions as i32),
            ..to_alice()
        },
    )
    .await;
    alice
        .client
        .send(send("bob", "nothing for you", true))
        .await
        .expect("send");
    received(&mut bob_events).await;
    alice
        .client
        .send(send("bob", "hey Bob!", true))
        .await
        .expect("send");
    assert_eq!(received(&mut bob_events).await.text, "hey Bob!");
    let calls = fake.wait_for(4).await;
    assert_eq!(calls[3].body, "hey Bob!");
    quiet().await;
    assert_eq!(fake.calls().len(), 4);
    prefs(
        &mut bob,
        ipc::ContactPrefsRequest {
            notify: Some(ipc::NotifyMode::Unspecified as i32),
            ..to_alice()
        },
    )
    .await;

    // A burst: 50 messages make one notification.
    set(&mut bob, "notify.coalesce_ms", "6000").await;
    for i in 0..50 {
        alice
            .client
            .send(send("bob", &format!("burst {i}"), false))
            .await
            .expect("send");
    }
    for i in 0..50 {
        assert_eq!(received(&mut bob_events).await.text, format!("burst {i}"));
    }
    let calls = fake.wait_for(5).await;
    assert_eq!(calls[4].summary, "Al (alice)");
    assert_eq!(calls[4].body, "50 new messages");
    set(&mut bob, "notify.coalesce_ms", "300").await;
    quiet().await;
    assert_eq!(fake.calls().len(), 5, "one notification for the burst");

    // Blocked: dropped on arrival and counted; unblocking restores delivery.
    prefs(
        &mut bob,
        ipc::ContactPrefsRequest {
            blocked: Some(true),
            ..to_alice()
        },
    )
    .await;
    let before = history_len(&mut bob).await;
    alice
        .client
        .send(send("bob", "you will not see this", true))
        .await
        .expect("send");
    quiet().await;
    assert_eq!(
        history_len(&mut bob).await,
        before,
        "a blocked message is not stored"
    );
    prefs(
        &mut bob,
        ipc::ContactPrefsRequest {
            blocked: Some(false),
            ..to_alice()
        },
    )
    .await;
    alice
        .client
        .send(send("bob", "back again", true))
        .await
        .expect("send");
    assert_eq!(received(&mut bob_events).await.text, "back again");
    let contacts = bob
        .client
        .list_contacts(AccountRef::default())
        .await
        .expect("contacts")
        .into_inner()
        .contacts;
    let listed = contacts.iter().find(|c| c.user == "alice").expect("alice");
    assert_eq!((listed.blocked, listed.blocked_count), (false, 1));
    assert_eq!(listed.alias, "Al");
    fake.wait_for(6).await;
    server.token.cancel();
}

async fn history_len(d: &mut TestDaemon) -> usize {
    d.client
        .history(ipc::HistoryRequest {
            account: None,
            peer: "alice".into(),
            limit: 500,
            before: 0,
        })
        .await
        .expect("history")
        .into_inner()
        .messages
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_notification_server_is_no_failure() {
    let Some(bus) = PrivateBus::start().await else {
        return;
    };
    // A bus with nobody serving notifications, then no bus at all: messages still arrive.
    let address = bus.address.clone();
    let AliceAndBob {
        server,
        mut alice,
        mut bob,
        mut bob_events,
    } = alice_and_bob(|c| {
        c.notify.bus = address;
        c.notify.coalesce_ms = 0;
    })
    .await;
    for text in ["one", "two"] {
        alice
            .client
            .send(send("bob", text, true))
            .await
            .expect("send");
        assert_eq!(next_received(&mut bob_events).await.text, text);
    }
    set(&mut bob, "notify.bus", "\"unix:path=/nonexistent/bus\"").await;
    alice
        .client
        .send(send("bob", "three", true))
        .await
        .expect("send");
    assert_eq!(next_received(&mut bob_events).await.text, "three");
    server.token.cancel();
}
