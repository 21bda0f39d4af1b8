//! gochatd against a hostile or broken server: a fake server written here speaks the wire
//! protocol over a real TCP socket, holds replies, and floods the daemon with garbage.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use gochat_proto::wire::{GochatCodec, Packet, Request, Response};
use gochatd::link::{CallError, Client};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

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
    let (client, _unsolicited) = Client::start(stream, Duration::from_secs(120));
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
    let (patient, _unsolicited) = Client::start(stream, Duration::from_secs(120));
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
    let impatient = patient.with_timeout(Duration::from_millis(200));
    match impatient.call(&Request::Logout).await {
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
