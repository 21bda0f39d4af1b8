//! End-to-end tests of gochatd: a real gochat-server and real daemons on temporary sockets
//! and stores, driven through the gRPC API exactly as frontends drive it.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::common::*;
use gochat_proto::ipc::{self, AccountRef, event};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_chat_online_and_offline() {
    let server = start_server().await;
    let mut alice = start_daemon().await;
    let mut bob = start_daemon().await;
    add_server(&mut alice, &server).await;
    add_server(&mut bob, &server).await;
    let a = register(&mut alice, "alice").await;
    assert_eq!(
        a.state,
        ipc::LinkState::Online as i32,
        "alice online after register"
    );
    register(&mut bob, "bob").await;

    // Online delivery, confirmed by the server.
    let mut bob_events = bob
        .client
        .subscribe(ipc::SubscribeRequest { since: 0 })
        .await
        .expect("subscribe")
        .into_inner();
    let sent = alice
        .client
        .send(send("bob", "hello bob", true))
        .await
        .expect("send")
        .into_inner();
    assert_eq!(sent.messages.len(), 1);
    assert_eq!(
        sent.messages[0].state,
        ipc::MessageState::Sent as i32,
        "{:?}",
        sent.messages[0]
    );
    let got = next_received(&mut bob_events).await;
    assert_eq!(
        (got.peer.as_str(), got.text.as_str()),
        ("alice", "hello bob")
    );

    // Longer than one RSA block: split into pieces that arrive in order.
    let long = "é".repeat(400);
    let sent = alice
        .client
        .send(send("bob", &long, true))
        .await
        .expect("send")
        .into_inner();
    assert_eq!(sent.messages.len(), 2);
    let p1 = next_received(&mut bob_events).await;
    let p2 = next_received(&mut bob_events).await;
    assert_eq!(format!("{}{}", p1.text, p2.text), long);

    // Offline: bob logs out, alice's message is stored by the server, bob catches up.
    bob.client
        .logout(AccountRef::default())
        .await
        .expect("logout");
    let sent = alice
        .client
        .send(send("bob", "while you were away", true))
        .await
        .expect("send")
        .into_inner();
    assert_eq!(sent.messages[0].state, ipc::MessageState::Sent as i32);
    bob.client
        .login(AccountRef::default())
        .await
        .expect("login");
    let got = next_received(&mut bob_events).await;
    assert_eq!(got.text, "while you were away");

    // History and conversations on bob's side.
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
    assert_eq!(history.messages.len(), 4);
    assert_eq!(
        history.messages[0].text, "while you were away",
        "newest first"
    );
    let convs = bob
        .client
        .conversations(AccountRef::default())
        .await
        .expect("conversations")
        .into_inner();
    assert_eq!(convs.conversations.len(), 1);
    assert_eq!(convs.conversations[0].unread, 4);
    bob.client
        .mark_read(ipc::MarkReadRequest {
            peer: "alice".into(),
            ..Default::default()
        })
        .await
        .expect("mark read");
    let convs = bob
        .client
        .conversations(AccountRef::default())
        .await
        .expect("conversations")
        .into_inner();
    assert_eq!(convs.conversations[0].unread, 0);

    // Search.
    let found = bob
        .client
        .search(ipc::SearchRequest {
            query: "away".into(),
            ..Default::default()
        })
        .await
        .expect("search")
        .into_inner();
    assert_eq!(found.messages.len(), 1);

    // Users and permissions.
    let users = alice
        .client
        .list_users(ipc::ListUsersRequest {
            online_only: true,
            with_permissions: true,
            ..Default::default()
        })
        .await
        .expect("users")
        .into_inner();
    let names: Vec<_> = users.users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["alice", "bob"]);

    // Sending to an unknown user fails with a clear state.
    let sent = alice
        .client
        .send(send("nobody", "hi", true))
        .await
        .expect("send")
        .into_inner();
    assert_eq!(sent.messages[0].state, ipc::MessageState::Failed as i32);
    assert!(
        sent.messages[0].error.contains("nobody"),
        "{}",
        sent.messages[0].error
    );
    server.token.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_is_sent_after_reconnect_and_events_resume() {
    let server = start_server().await;
    let (mut alice, mut bob) = two_users(&server, "carol", "dave").await;
    alice
        .client
        .logout(AccountRef::default())
        .await
        .expect("logout");

    // Queued while offline.
    let queued = alice
        .client
        .send(send("dave", "queued one", false))
        .await
        .expect("send")
        .into_inner();
    assert_eq!(queued.messages[0].state, ipc::MessageState::Queued as i32);
    let status = alice
        .client
        .status(ipc::Empty {})
        .await
        .expect("status")
        .into_inner();
    let mark = status.last_event_id;

    let mut dave_events = bob
        .client
        .subscribe(ipc::SubscribeRequest { since: 0 })
        .await
        .expect("sub")
        .into_inner();
    alice
        .client
        .login(AccountRef::default())
        .await
        .expect("login");
    let got = next_received(&mut dave_events).await;
    assert_eq!(got.text, "queued one");

    // A frontend resuming from `mark` sees the state change it missed.
    let mut resumed = alice
        .client
        .subscribe(ipc::SubscribeRequest { since: mark })
        .await
        .expect("resume")
        .into_inner();
    let mut saw_sent = false;
    while let Ok(Some(Ok(ev))) =
        tokio::time::timeout(Duration::from_secs(5), resumed.next_message()).await
    {
        assert!(ev.id > mark);
        if let Some(event::Kind::MessageUpdated(m)) = ev.kind
            && m.id == queued.messages[0].id
            && m.state == ipc::MessageState::Sent as i32
        {
            saw_sent = true;
            break;
        }
    }
    assert!(saw_sent, "resumed stream replays the Sent update");
    server.token.cancel();
}

trait NextMessage {
    async fn next_message(&mut self) -> Option<Result<ipc::Event, tonic::Status>>;
}

impl NextMessage for tonic::Streaming<ipc::Event> {
    async fn next_message(&mut self) -> Option<Result<ipc::Event, tonic::Status>> {
        self.message().await.transpose()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_is_private_and_single_instance() {
    let d = start_daemon().await;
    let mode = std::fs::metadata(&d.socket)
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir_mode = std::fs::metadata(d.socket.parent().expect("dir"))
        .expect("dir")
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    let second = gochatd::socket::bind(&d.socket).await;
    assert!(matches!(
        second,
        Err(gochatd::socket::SocketError::AlreadyRunning(_))
    ));
    let status = d
        .client
        .clone()
        .status(ipc::Empty {})
        .await
        .expect("status")
        .into_inner();
    assert_eq!(status.protocol_version, 1);
    assert!(!status.instance_id.is_empty());
    drop(d.daemon);
    drop(d.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_errors_without_setup() {
    let mut d = start_daemon().await;
    let err = d
        .client
        .send(send("bob", "hi", false))
        .await
        .expect_err("no server yet");
    assert_eq!(err.code(), tonic::Code::NotFound);
    assert!(err.message().contains("server add"), "{}", err.message());
    let err = d
        .client
        .login(AccountRef {
            server: "nope".into(),
            username: "x".into(),
        })
        .await
        .expect_err("unknown server");
    assert_eq!(err.code(), tonic::Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_frontends_see_profile_changes_live() {
    let d = start_daemon().await;
    let mut watcher = d.client.clone();
    let mut events = watcher
        .subscribe(ipc::SubscribeRequest { since: 0 })
        .await
        .expect("subscribe")
        .into_inner();
    let mut editor = d.client.clone();
    editor
        .add_server(ipc::ServerProfile {
            name: "elsewhere".into(),
            host: "127.0.0.1".into(),
            port: 9,
            ..Default::default()
        })
        .await
        .expect("add server");
    let ev = tokio::time::timeout(Duration::from_secs(10), events.message())
        .await
        .expect("event in time")
        .expect("stream ok")
        .expect("stream open");
    match ev.kind {
        Some(event::Kind::ConfigChanged(c)) => assert_eq!(c.what, "servers"),
        other => panic!("expected config_changed, got {other:?}"),
    }
}
