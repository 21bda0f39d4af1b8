//! gochatd against a hostile or broken server: a fake server written here speaks the wire
//! protocol over a real TCP socket, holds replies, and floods the daemon with garbage.

use crate::common;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use gochat_proto::crypto::{EncryptingKey, PrivateKey};
use gochat_proto::ipc::{self, AccountRef, event};
use gochat_proto::wire::{
    ErrorCode, GochatCodec, Hook, Packet, PublicKey, Request, Response, encode_stamp,
};
use gochatd::link::{CallError, Client, Unsolicited};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The client's request-ID range is 1..=1022.
const IDS: usize = 1022;

async fn connected_pair() -> (TcpStream, Framed<TcpStream, GochatCodec>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
    let (server, _) = server.expect("accept");
    (
        client.expect("connect"),
        Framed::new(server, GochatCodec::server()),
    )
}

/// A link client over `stream` with a 2-minute call timeout, shareable between tasks; the
/// tracker owns its reader and writer, and the receiver of unsolicited packets is kept open.
fn start_client(stream: TcpStream) -> (Arc<Client>, TaskTracker, Unsolicited) {
    let tasks = TaskTracker::new();
    let (client, unsolicited) = Client::start(
        stream,
        Duration::from_secs(120),
        &tasks,
        CancellationToken::new(),
    );
    (Arc::new(client), tasks, unsolicited)
}

fn req_reply(username: Bytes) -> Packet {
    // Any bytes do as a key here: the client only routes the reply.
    Response::Req {
        username,
        public_key: Bytes::from_static(b"key"),
        permission: 0,
    }
    .to_packet(0)
}

/// More calls than there are IDs, against a server that holds every reply: no ID is used
/// twice while its request waits, the surplus calls wait for an ID, and every call gets
/// the reply to its own request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_never_reused_while_waiting() {
    const CALLS: usize = 1300;
    let (stream, mut server) = connected_pair().await;
    let (client, _tasks, _unsolicited) = start_client(stream);
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..CALLS {
        let client = client.clone();
        calls.spawn(async move {
            let name = format!("u{i}");
            let reply = client
                .call(&Request::Req {
                    username: Bytes::from(name.clone()),
                })
                .await;
            (name, reply)
        });
    }
    let mut held: VecDeque<(u16, Bytes)> = VecDeque::new();
    let mut waiting: HashSet<u16> = HashSet::new();
    let mut seen = 0;
    let mut most_waiting = 0;
    while seen < CALLS {
        let packet = tokio::time::timeout(Duration::from_secs(60), server.next())
            .await
            .expect("a request in time")
            .expect("open")
            .expect("valid packet");
        seen += 1;
        assert!((1..=IDS as u16).contains(&packet.id), "ID {}", packet.id);
        assert!(
            waiting.insert(packet.id),
            "ID {} reused while its request still waits (request {seen})",
            packet.id
        );
        most_waiting = most_waiting.max(waiting.len());
        let Ok(Request::Req { username }) = Request::from_packet(&packet) else {
            panic!("not a REQ");
        };
        held.push_back((packet.id, username));
        // Answer only once every ID is taken, then one at a time, oldest first: each
        // answer frees exactly one ID for the next waiting call.
        if waiting.len() == IDS && seen < CALLS {
            let (id, username) = held.pop_front().expect("held");
            waiting.remove(&id);
            let mut reply = req_reply(username);
            reply.id = id;
            server.send(reply).await.expect("reply");
        }
    }
    assert_eq!(most_waiting, IDS);
    // Answer the rest in reverse order.
    while let Some((id, username)) = held.pop_back() {
        let mut reply = req_reply(username);
        reply.id = id;
        server.send(reply).await.expect("reply");
    }
    let mut answered = 0;
    while let Some(done) = calls.join_next().await {
        let (name, reply) = done.expect("call task");
        match reply.expect("reply") {
            Response::Req { username, .. } => assert_eq!(&username[..], name.as_bytes()),
            other => panic!("unexpected {other:?}"),
        }
        answered += 1;
    }
    assert_eq!(answered, CALLS);
}

/// When every ID stays taken for a call's whole timeout, the call fails with a typed error
/// instead of reusing one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_free_id_is_a_typed_error() {
    let (stream, mut server) = connected_pair().await;
    let (patient, _tasks, _unsolicited) = start_client(stream);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..IDS {
        let client = patient.clone();
        calls.spawn(async move { client.call(&Request::Logout).await });
    }
    let mut waiting = Vec::new();
    while waiting.len() < IDS {
        let packet = server.next().await.expect("open").expect("valid");
        waiting.push(packet.id);
    }
    match patient
        .call_within(&Request::Logout, Duration::from_millis(200))
        .await
    {
        Err(CallError::NoFreeId(_)) => {}
        other => panic!("expected NoFreeId, got {other:?}"),
    }
    for id in waiting {
        server
            .send(Response::Ok.to_packet(id))
            .await
            .expect("reply");
    }
    while let Some(done) = calls.join_next().await {
        assert_eq!(done.expect("task").expect("reply"), Response::Ok);
    }
    // And IDs are free again.
    let again = tokio::spawn(async move { patient.call(&Request::Logout).await });
    let packet = server.next().await.expect("open").expect("valid");
    server
        .send(Response::Ok.to_packet(packet.id))
        .await
        .expect("reply");
    assert_eq!(again.await.expect("task").expect("reply"), Response::Ok);
}

/// What the fake server observed.
#[derive(Default)]
struct Observed {
    connections: usize,
    /// The most key requests held (unanswered) at once.
    most_reqs_held: usize,
}

/// A fake server: logs the account in (by challenge), answers `zed`'s key, holds every other
/// key request and answers it NOTFOUND one at a time, and after the catch-up sends `flood`
/// followed by `zed`'s real message.
async fn fake_server(
    listener: TcpListener,
    me: PublicKey,
    zed: PublicKey,
    flood: Vec<Packet>,
    finale: Packet,
    observed: Arc<Mutex<Observed>>,
) {
    let flood = Arc::new(flood);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        observed.lock().expect("lock").connections += 1;
        let (me, zed, flood, finale, observed) = (
            me.clone(),
            zed.clone(),
            flood.clone(),
            finale.clone(),
            observed.clone(),
        );
        tokio::spawn(async move {
            let (mut sink, mut packets) = Framed::new(stream, GochatCodec::server()).split();
            let (out, mut out_rx) = mpsc::unbounded_channel::<Packet>();
            tokio::spawn(async move {
                while let Some(p) = out_rx.recv().await {
                    if sink.send(p).await.is_err() {
                        return;
                    }
                }
            });
            let hello = Response::Hello {
                motd: Bytes::from_static(b"\x1b]0;evil motd\x07\x1b[2J"),
            };
            let _ = out.send(hello.to_packet(0));
            let mut held: VecDeque<u16> = VecDeque::new();
            let mut pace = tokio::time::interval(Duration::from_millis(5));
            loop {
                let packet = tokio::select! {
                    p = packets.next() => match p {
                        Some(Ok(p)) => p,
                        _ => return,
                    },
                    _ = pace.tick(), if !held.is_empty() => {
                        let id = held.pop_front().expect("held");
                        let _ = out.send(Packet::error(ErrorCode::NotFound, id));
                        continue;
                    }
                };
                let id = packet.id;
                let reply = match Request::from_packet(&packet) {
                    Ok(Request::Login { token: None, .. }) => {
                        let challenge = EncryptingKey::new(&me)
                            .and_then(|k| k.encrypt(b"a challenge of thirty-two bytes!"))
                            .expect("encrypt");
                        Response::Verif {
                            challenge: challenge.into(),
                        }
                    }
                    Ok(Request::Req { username }) if &username[..] == b"me" => Response::Req {
                        username,
                        public_key: me.to_pem().into(),
                        permission: 0,
                    },
                    Ok(Request::Req { username }) if &username[..] == b"zed" => Response::Req {
                        username,
                        public_key: zed.to_pem().into(),
                        permission: 0,
                    },
                    Ok(Request::Req { .. }) => {
                        held.push_back(id);
                        let mut o = observed.lock().expect("lock");
                        o.most_reqs_held = o.most_reqs_held.max(held.len());
                        continue;
                    }
                    Ok(Request::Reciv) => {
                        let _ = out.send(Packet::error(ErrorCode::Empty, id));
                        for p in flood.iter() {
                            let _ = out.send(p.clone());
                        }
                        let _ = out.send(finale.clone());
                        continue;
                    }
                    _ => Response::Ok,
                };
                let _ = out.send(reply.to_packet(id));
            }
        });
    }
}

/// A daemon with the fake server at `addr` as its profile, subscribed to its events from the
/// start, and the account `me` imported with `me_key` (so it logs in at once).
async fn daemon_on_fake_server(
    addr: std::net::SocketAddr,
    me_key: &PrivateKey,
) -> (common::TestDaemon, tonic::Streaming<ipc::Event>) {
    let mut d = common::start_daemon().await;
    d.client
        .add_server(ipc::ServerProfile {
            name: "fake".into(),
            host: addr.ip().to_string(),
            port: u32::from(addr.port()),
            ..Default::default()
        })
        .await
        .expect("add server");
    let events = d
        .client
        .subscribe(ipc::SubscribeRequest { since: 0 })
        .await
        .expect("subscribe")
        .into_inner();
    d.client
        .import_key(ipc::ImportKeyRequest {
            account: Some(AccountRef {
                server: String::new(),
                username: "me".into(),
            }),
            private_pem: me_key.to_pkcs1_pem().expect("pem").as_str().to_owned(),
            passphrase: String::new(),
        })
        .await
        .expect("import");
    (d, events)
}

fn reciv(from: impl Into<Bytes>, ciphertext: impl Into<Bytes>) -> Packet {
    Response::Reciv {
        from: from.into(),
        stamp: encode_stamp(1_700_000_000).into(),
        ciphertext: ciphertext.into(),
    }
    .to_packet(0)
}

fn hook(hook: Hook, args: Vec<Bytes>) -> Packet {
    Response::Hook { hook, args }.to_packet(0)
}

fn is_clean_name(name: &str) -> bool {
    gochatd::link::untrusted::valid_username(name.as_bytes())
}

/// A flood of RECIVs with invalid sender names (escape codes, 2 KB names, thousands of
/// distinct ones), thousands of valid but unknown senders, and hooks with garbage: the link
/// stays up on its one connection, no invalid name reaches the store or the events, key
/// requests stay few at a time, and a real message sent afterwards arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_garbage_recivs_stores_nothing_bogus() {
    let (me_key, zed_key) = tokio::task::spawn_blocking(|| {
        (
            PrivateKey::generate().expect("key"),
            PrivateKey::generate().expect("key"),
        )
    })
    .await
    .expect("keys");
    let me = me_key.public_key().clone();
    let zed = zed_key.public_key().clone();

    const VALID_UNKNOWN: usize = 1500;
    let mut flood = Vec::new();
    for i in 0..2000 {
        flood.push(reciv(format!("\x1b]0;pwn{i}\x07\x1b[2K\r"), "x"));
    }
    for i in 0..200 {
        let mut name = format!("{i:04}").into_bytes();
        name.resize(2000, b'a');
        flood.push(reciv(name, "x"));
    }
    for i in 0..2000 {
        flood.push(reciv(format!("user_{i}"), "x"));
    }
    flood.push(reciv(Bytes::new(), "x"));
    flood.push(reciv(vec![b'a'; 33], "x"));
    flood.push(reciv(Bytes::from_static(b"\xff\xfe\x9b31m"), "x"));
    flood.push(reciv("\u{202e}zed", "x"));
    for i in 0..VALID_UNKNOWN {
        // Valid names, undecryptable text: kept as unreadable messages, but they must not
        // cost a task or a key request each.
        flood.push(reciv(format!("v{i}"), vec![7u8; 512]));
    }
    flood.push(hook(
        Hook::NewLogin,
        vec![
            Bytes::from_static(b"\x1b]52;c;ZXZpbA==\x07"),
            Bytes::from_static(&[1]),
        ],
    ));
    flood.push(hook(
        Hook::DupSess,
        vec![Bytes::from_static(b"\x1b[2K\rfake ip")],
    ));
    flood.push(hook(Hook::NewLogout, vec![Bytes::from(vec![b'b'; 2000])]));
    flood.push(hook(
        Hook::NewLogin,
        vec![Bytes::from_static(b"zed"), Bytes::from_static(&[0])],
    ));
    let text = "hello after the flood";
    let ciphertext = EncryptingKey::new(&me)
        .and_then(|k| k.encrypt(text.as_bytes()))
        .expect("encrypt");
    let finale = reciv("zed", ciphertext);

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let observed = Arc::new(Mutex::new(Observed::default()));
    let server = tokio::spawn(fake_server(
        listener,
        me.clone(),
        zed,
        flood,
        finale,
        observed.clone(),
    ));

    let (mut d, mut events) = daemon_on_fake_server(addr, &me_key).await;

    // Every received message and hook on the way must be clean; the real one arrives last.
    let mut received = HashMap::<String, usize>::new();
    let mut hooks = Vec::new();
    let last = loop {
        let ev = tokio::time::timeout(Duration::from_secs(120), events.message())
            .await
            .expect("event in time")
            .expect("stream ok")
            .expect("stream open");
        match ev.kind {
            Some(event::Kind::MessageReceived(m)) => {
                assert!(is_clean_name(&m.peer), "message from {:?}", m.peer);
                *received.entry(m.peer.clone()).or_default() += 1;
                if m.peer == "zed" {
                    break m;
                }
            }
            Some(event::Kind::Hook(h)) => {
                assert!(h.user.is_empty() || is_clean_name(&h.user), "{h:?}");
                assert!(!h.ip.contains(|c: char| c.is_control()), "{h:?}");
                hooks.push(h);
            }
            _ => {}
        }
    };
    assert_eq!(last.text, text);
    assert_eq!(
        received.len(),
        VALID_UNKNOWN + 1,
        "one message per valid sender"
    );
    assert!(received.values().all(|&n| n == 1));
    assert!(
        hooks.iter().any(|h| h.user == "zed"),
        "the valid hook arrives"
    );
    assert!(
        hooks
            .iter()
            .any(|h| h.hook == i32::from(Hook::DupSess.code()) && h.ip.is_empty()),
        "a DUPSESS with a garbage address is shown without it"
    );

    // The store holds exactly the valid senders' messages, and no contact but zed.
    let conversations = d
        .client
        .conversations(AccountRef::default())
        .await
        .expect("conversations")
        .into_inner()
        .conversations;
    assert_eq!(conversations.len(), VALID_UNKNOWN + 1);
    assert!(conversations.iter().all(|c| is_clean_name(&c.peer)));
    assert!(conversations.iter().all(|c| c.unread == 1));
    // Key requests for the unknown senders trickle out a few at a time (the server answers
    // them NOTFOUND), so none of them becomes a contact.
    let contacts = d
        .client
        .list_contacts(AccountRef::default())
        .await
        .expect("contacts")
        .into_inner()
        .contacts;
    assert!(
        contacts.iter().all(|c| c.user == "zed"),
        "{:?}",
        contacts.iter().map(|c| &c.user).collect::<Vec<_>>()
    );
    {
        let o = observed.lock().expect("lock");
        assert_eq!(o.connections, 1, "the link never dropped its connection");
        assert!(
            o.most_reqs_held <= 8,
            "{} key requests in flight at once",
            o.most_reqs_held
        );
    }
    let accounts = d
        .client
        .list_accounts(ipc::Empty {})
        .await
        .expect("accounts")
        .into_inner()
        .accounts;
    assert_eq!(accounts[0].state, ipc::LinkState::Online as i32);
    server.abort();
}

/// A server that delivers the same message twice (as a Go or gochat server does when it is
/// killed during a catch-up, before it deleted what it had sent): the daemon stores and
/// announces it once. The same text encrypted again is another message and is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_delivered_twice_is_stored_once() {
    let (me_key, zed_key) = tokio::task::spawn_blocking(|| {
        (
            PrivateKey::generate().expect("key"),
            PrivateKey::generate().expect("key"),
        )
    })
    .await
    .expect("keys");
    let me = me_key.public_key().clone();
    let zed = zed_key.public_key().clone();
    let encrypt = |text: &str| {
        EncryptingKey::new(&me)
            .and_then(|k| k.encrypt(text.as_bytes()))
            .expect("encrypt")
    };
    let first = encrypt("twice on the wire");
    let again = encrypt("said again");
    let again_reencrypted = encrypt("said again");
    let flood = vec![
        reciv("zed", first.clone()),
        reciv("zed", first.clone()),
        reciv("zed", again),
        reciv("zed", again_reencrypted),
        reciv("zed", first),
    ];
    let finale = reciv("zed", encrypt("the end"));

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let observed = Arc::new(Mutex::new(Observed::default()));
    let server = tokio::spawn(fake_server(
        listener,
        me.clone(),
        zed,
        flood,
        finale,
        observed,
    ));
    let (mut d, mut events) = daemon_on_fake_server(addr, &me_key).await;

    let mut announced = Vec::new();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(60), events.message())
            .await
            .expect("event in time")
            .expect("stream ok")
            .expect("stream open");
        if let Some(event::Kind::MessageReceived(m)) = ev.kind {
            announced.push(m.text.clone());
            if m.text == "the end" {
                break;
            }
        }
    }
    assert_eq!(
        announced,
        ["twice on the wire", "said again", "said again", "the end"]
    );
    let history = d
        .client
        .history(ipc::HistoryRequest {
            account: Some(AccountRef::default()),
            peer: "zed".into(),
            limit: 50,
            before: 0,
        })
        .await
        .expect("history")
        .into_inner()
        .messages;
    let mut texts: Vec<_> = history.iter().map(|m| m.text.as_str()).collect();
    texts.sort_unstable();
    assert_eq!(
        texts,
        ["said again", "said again", "the end", "twice on the wire"]
    );
    server.abort();
}
