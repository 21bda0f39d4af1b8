//! Messages are sent once: a message split into several pieces resumes after the pieces the
//! server acknowledged, and a message row and its event are committed together.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use futures::{SinkExt, StreamExt};
use gochat_proto::crypto::{EncryptingKey, PrivateKey, split_text};
use gochat_proto::ipc::{self, AccountRef, event};
use gochat_proto::wire::{ErrorCode, GochatCodec, PublicKey, Request, Response};
use tokio::net::{TcpListener, TcpStream};

const ALICE_PEM: &str = include_str!("../../../proto/tests/vectors/keys/alice.priv.pem");
/// A 2048-bit key: one block holds 190 bytes, so a 446-byte message goes out in 3 pieces.
const SMALL_KEY_PEM: &str = include_str!("../../../proto/tests/vectors/keys/pyclient.priv.pem");

/// What the fake server saw.
#[derive(Default)]
struct Seen {
    /// Plaintexts of the MSG pieces the server acknowledged, in order.
    delivered: Vec<String>,
    /// MSG packets received (acknowledged or not).
    msgs: usize,
    /// Connections accepted.
    connections: usize,
}

/// A gochat server written for this test: it logs `alice` in, hands out keys, and answers
/// the second MSG it ever receives with ERR_SERVER, then drops the connection.
struct FakeServer {
    addr: std::net::SocketAddr,
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn fake_server() -> FakeServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let state = seen.clone();
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            state.lock().expect("lock").connections += 1;
            connections.spawn(serve_connection(stream, state.clone()));
        }
    });
    FakeServer { addr, seen, task }
}

async fn serve_connection(stream: TcpStream, seen: Arc<Mutex<Seen>>) {
    let alice = PrivateKey::from_pem(ALICE_PEM.as_bytes()).expect("alice key");
    let small = PrivateKey::from_pem(SMALL_KEY_PEM.as_bytes()).expect("small key");
    let mut framed = tokio_util::codec::Framed::new(stream, GochatCodec::server());
    // A key registered on this connection; logins use it, else alice's.
    let mut registered: Option<PublicKey> = None;
    let hello = Response::Hello {
        motd: "fake".into(),
    };
    if framed.send(hello.to_packet(0)).await.is_err() {
        return;
    }
    while let Some(Ok(packet)) = framed.next().await {
        let Ok(request) = Request::from_packet(&packet) else {
            return;
        };
        let reply = match request {
            Request::Reg {
                username,
                public_key,
            } => {
                if &username[..] == b"taken" {
                    Response::Err(Some(ErrorCode::Exists))
                } else {
                    registered = Some(PublicKey::parse(&public_key).expect("registered key"));
                    Response::Ok
                }
            }
            Request::Login { token: None, .. } => {
                let key = EncryptingKey::new(registered.as_ref().unwrap_or(alice.public_key()))
                    .expect("key");
                let challenge = key.encrypt(b"prove it").expect("encrypt");
                Response::Verif {
                    challenge: challenge.into(),
                }
            }
            Request::Verif { answer, .. } if &answer[..] == b"prove it" => Response::Ok,
            Request::Req { username } => {
                let key = match &username[..] {
                    b"alice" => alice.public_key(),
                    b"small" => small.public_key(),
                    _ => {
                        send(
                            &mut framed,
                            Response::Err(Some(ErrorCode::NotFound)),
                            &packet,
                        )
                        .await;
                        continue;
                    }
                };
                Response::Req {
                    username,
                    public_key: key.to_pem().into_bytes().into(),
                    permission: 0,
                }
            }
            Request::Sub(_) | Request::Logout => Response::Ok,
            Request::Reciv => Response::Err(Some(ErrorCode::Empty)),
            Request::Msg { ciphertext, .. } => {
                let plain = small
                    .decrypt(&ciphertext)
                    .expect("a piece for the small key");
                let text = String::from_utf8(plain.to_vec()).expect("utf-8 piece");
                let fail = {
                    let mut seen = seen.lock().expect("lock");
                    seen.msgs += 1;
                    seen.msgs == 2
                };
                if fail {
                    // The database is down: the piece is not taken. Then the connection drops.
                    send(&mut framed, Response::Err(Some(ErrorCode::Server)), &packet).await;
                    return;
                }
                seen.lock().expect("lock").delivered.push(text);
                Response::Ok
            }
            _ => Response::Err(Some(ErrorCode::Invalid)),
        };
        send(&mut framed, reply, &packet).await;
    }
}

async fn send(
    framed: &mut tokio_util::codec::Framed<TcpStream, GochatCodec>,
    reply: Response,
    to: &gochat_proto::wire::Packet,
) {
    let _ = framed.send(reply.to_packet(to.id)).await;
}

/// A daemon with `alice` imported and online on the fake server.
async fn alice_on(server: &FakeServer) -> TestDaemon {
    let mut d = start_daemon().await;
    d.client
        .add_server(ipc::ServerProfile {
            name: "fake".into(),
            host: server.addr.ip().to_string(),
            port: u32::from(server.addr.port()),
            ..Default::default()
        })
        .await
        .expect("add server");
    let account = d
        .client
        .import_key(ipc::ImportKeyRequest {
            account: Some(AccountRef {
                server: String::new(),
                username: "alice".into(),
            }),
            private_pem: ALICE_PEM.into(),
            passphrase: String::new(),
        })
        .await
        .expect("import")
        .into_inner();
    assert_eq!(account.state, ipc::LinkState::Online as i32, "{account:?}");

    d
}

/// `Send` with `wait` returns once the server has answered, with the final state: here the
/// server refuses the recipient (ERR_NOTFOUND for its key), so the message is FAILED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_wait_returns_the_servers_answer() {
    let server = fake_server().await;
    let mut d = alice_on(&server).await;
    let mut request = send_request("nobody", "hello?");
    request.wait = true;
    let sent = d.client.send(request).await.expect("send").into_inner();
    assert_eq!(sent.messages.len(), 1);
    assert_eq!(
        sent.messages[0].state,
        ipc::MessageState::Failed as i32,
        "{sent:?}"
    );
    assert_eq!(
        sent.messages[0].error,
        "no user called nobody on this server"
    );
    // A short message to a known user: SENT when the reply comes back.
    let mut request = send_request("small", "short");
    request.wait = true;
    let sent = d.client.send(request).await.expect("send").into_inner();
    assert_eq!(sent.messages[0].state, ipc::MessageState::Sent as i32);
}

/// A three-piece message whose second piece fails (ERR_SERVER, then the connection drops)
/// reaches the recipient with each piece exactly once after the link reconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_piece_resumes_without_resending_acknowledged_ones() {
    let server = fake_server().await;
    let mut d = alice_on(&server).await;

    let text: String = (0..446u32)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let small = PublicKey::parse(
        PrivateKey::from_pem(SMALL_KEY_PEM.as_bytes())
            .expect("key")
            .public_key()
            .to_pem()
            .as_bytes(),
    )
    .expect("public key");
    let expected: Vec<String> = split_text(
        &text,
        EncryptingKey::new(&small).expect("key").max_plaintext(),
    )
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(expected.len(), 3, "the message must go out in three pieces");

    let sent = d
        .client
        .send(send_request("small", &text))
        .await
        .expect("send")
        .into_inner();
    assert_eq!(sent.messages.len(), 1);
    let id = sent.messages[0].id;

    // Wait for the message to be SENT (after the reconnection).
    gochat_testkit::wait::wait_until(
        "the message to be sent",
        Duration::from_secs(40),
        async || {
            let history = d
                .client
                .history(ipc::HistoryRequest {
                    peer: "small".into(),
                    limit: 10,
                    ..Default::default()
                })
                .await
                .expect("history")
                .into_inner();
            let state = history
                .messages
                .iter()
                .find(|m| m.id == id)
                .map(|m| m.state);
            assert_ne!(state, Some(ipc::MessageState::Failed as i32), "{history:?}");
            state == Some(ipc::MessageState::Sent as i32)
        },
    )
    .await
    .expect("message sent in time");
    let seen = server.seen.lock().expect("lock");
    assert!(seen.connections >= 2, "the link must have reconnected");
    assert_eq!(
        seen.delivered, expected,
        "each piece exactly once, in order"
    );
}

fn send_request(to: &str, text: &str) -> ipc::SendRequest {
    ipc::SendRequest {
        account: None,
        to: to.into(),
        text: text.into(),
        wait: false,
    }
}

/// A message row and its event are committed together: an uncommitted batch leaves neither,
/// a committed one both (and the event goes live only then).
#[tokio::test]
async fn message_and_event_commit_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = gochatd::store::Store::open(&dir.path().join("db"))
        .await
        .expect("store");
    let server = store
        .add_server(&gochatd::store::ServerRow {
            id: 0,
            name: "s".into(),
            host: "h".into(),
            port: 1,
            tls: false,
            verify: true,
            ca_file: None,
            is_default: true,
            pins: Vec::new(),
            rejected: None,
        })
        .await
        .expect("server");
    let key = PrivateKey::from_pem(ALICE_PEM.as_bytes()).expect("key");
    let account = store
        .add_account(&gochatd::store::AccountRow {
            id: 0,
            server_id: server.id,
            username: "alice".into(),
            key_blob: vec![1],
            key_encrypted: false,
            public_pem: key.public_key().to_pem(),
            fingerprint: key.public_key().fingerprint_hex(),
            auto_login: false,
            permission: 0,
        })
        .await
        .expect("account");
    let bus = gochatd::events::EventBus::new(store.clone(), "test".into());
    let mut live = bus.listen();
    let new = gochatd::store::NewMessage {
        account_id: account.id,
        peer: "bob".into(),
        outgoing: true,
        text: "hello".into(),
        stamp: 1,
        state: gochatd::store::MessageState::Queued,
        read: true,
    };
    let publish = |row: &gochatd::store::MessageRow| {
        event::Kind::MessageUpdated(ipc::Message {
            id: row.id,
            ..Default::default()
        })
    };

    // Not committed (as when the daemon dies before the commit): nothing is left.
    let before = store.last_event_id().await.expect("last event");
    {
        let mut batch = bus.batch().await.expect("batch");
        let row = batch.store().insert_message(&new).await.expect("insert");
        batch.publish(publish(&row)).await.expect("event");
    }
    assert_eq!(store.last_event_id().await.expect("last"), before);
    assert!(
        store
            .queued_messages(account.id)
            .await
            .expect("queued")
            .is_empty()
    );
    assert!(
        live.try_recv().is_err(),
        "no live event for a rolled-back batch"
    );

    // Committed: both are there, and the event went live after the commit.
    let mut batch = bus.batch().await.expect("batch");
    let row = batch.store().insert_message(&new).await.expect("insert");
    let event_id = batch.publish(publish(&row)).await.expect("event");
    assert!(live.try_recv().is_err(), "no live event before the commit");
    batch.commit().await.expect("commit");
    assert_eq!(
        store
            .queued_messages(account.id)
            .await
            .expect("queued")
            .len(),
        1
    );
    let logged = store.events_after(before, 10).await.expect("events");
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].0, event_id);
    let got = live.try_recv().expect("live event after the commit");
    assert_eq!(got.id, event_id);
}

/// Registration goes through the account's link: the link registers on its own connection
/// and logs in on the same one. A name the server refuses leaves no local account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_logs_in_on_the_registering_connection() {
    let server = fake_server().await;
    let mut d = start_daemon().await;
    d.client
        .add_server(ipc::ServerProfile {
            name: "fake".into(),
            host: server.addr.ip().to_string(),
            port: u32::from(server.addr.port()),
            ..Default::default()
        })
        .await
        .expect("add server");
    let refused = d
        .client
        .register(ipc::RegisterRequest {
            account: Some(AccountRef {
                server: String::new(),
                username: "taken".into(),
            }),
            passphrase: String::new(),
        })
        .await
        .expect_err("the server refuses the name");
    assert_eq!(refused.code(), tonic::Code::AlreadyExists, "{refused:?}");
    let accounts = d
        .client
        .list_accounts(ipc::Empty {})
        .await
        .expect("list")
        .into_inner();
    assert!(accounts.accounts.is_empty(), "{accounts:?}");
    let before = server.seen.lock().expect("lock").connections;

    let account = register(&mut d, "newbie").await;
    assert_eq!(account.state, ipc::LinkState::Online as i32, "{account:?}");
    assert!(account.auto_login);
    assert_eq!(
        server.seen.lock().expect("lock").connections,
        before + 1,
        "registration and login share one connection"
    );
}
