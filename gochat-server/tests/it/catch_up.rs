//! Catch-up (`RECIV`) in bounded batches, on both backends and over real sockets: a slow
//! reader makes steady progress (each batch is deleted once it is in the socket, and the
//! write timeout applies per batch), a reader dropped mid-way resumes where it stopped, and
//! every stored message arrives exactly once, in order.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use crate::common::{Backend, Client, Options, READ_TIMEOUT, TestServer, assert_ok, key};
use gochat_proto::wire::{Action, ErrorCode, Packet, Request, UserList};
use gochat_server::store::{NewMessage, Quota};
use tokio::net::TcpSocket;

both_backends!(
    slow_reader_makes_progress,
    dropped_reader_resumes_exactly_once,
    batches_are_capped_by_bytes,
);

const ALICE: usize = 0;
const BOB: usize = 1;
/// Size of each stored ciphertext.
const SIZE: usize = 2000;

fn body(i: usize) -> Vec<u8> {
    let mut b = format!("m{i:06}-").into_bytes();
    b.resize(SIZE, b'x');
    b
}

fn number(ciphertext: &[u8]) -> usize {
    std::str::from_utf8(&ciphertext[1..7])
        .expect("ascii")
        .parse()
        .expect("a message number")
}

/// Registers alice and bob and stores `n` messages from alice for bob, straight into the
/// store (fast, and the same rows MSG would store). Returns alice, logged in.
async fn stored_for_bob(s: &TestServer, n: usize) -> Client {
    let mut c = s.connect().await;
    c.register("alice", key(ALICE)).await;
    c.register("bob", key(BOB)).await;
    let id = |name: &'static str| async move {
        s.store
            .user(name.as_bytes())
            .await
            .expect("lookup")
            .expect("exists")
            .id
    };
    let (alice, bob) = (id("alice").await, id("bob").await);
    let messages: Vec<NewMessage> = (0..n)
        .map(|i| NewMessage {
            sender_id: alice,
            recipient_id: bob,
            stamp: 1_700_000_000 + i as i64,
            ciphertext: body(i),
        })
        .collect();
    for chunk in messages.chunks(1000) {
        s.store
            .store_messages(chunk, Quota::UNLIMITED)
            .await
            .expect("store");
    }
    assert_eq!(s.pending("bob").await, n as u64);
    c.login("alice", key(ALICE)).await;
    c
}

/// Whether `name` is in the online list `observer` gets.
async fn is_online(observer: &mut Client, name: &str) -> bool {
    let reply = observer.call(Request::Users(UserList::Online)).await;
    assert_eq!(reply.action, Action::Usrs, "{reply:?}");
    reply
        .args
        .iter()
        .flat_map(|a| a.split(|&b| b == b'\n'))
        .any(|n| n == name.as_bytes())
}

/// A client with a small receive buffer, so the server's writes wait for its reads.
async fn small_buffer_client(s: &TestServer) -> Client {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let stream = socket.connect(s.plain).await.expect("connect");
    Client::over(Box::new(stream)).await
}

/// Message numbers of RECIVs, checked to come from alice.
fn numbers(packets: &[Packet]) -> Vec<usize> {
    packets
        .iter()
        .filter(|p| p.action == Action::Reciv)
        .map(|p| {
            assert_eq!(&p.args[0][..], b"alice", "{p:?}");
            number(&p.args[2])
        })
        .collect()
}

/// Polls `condition` until it holds or `deadline` passes.
async fn eventually(deadline: Duration, condition: impl AsyncFnMut() -> bool) -> bool {
    gochat_testkit::wait::wait_until("a condition", deadline, condition)
        .await
        .is_ok()
}

// ---------------------------------------------------------------------------------------------

/// Bob reads about 2 MB of stored messages at about 400 KB/s with a 2 s write timeout: a
/// single write of everything would time out; batches each go out in well under 2 s.
/// Stored rows go down while he is still reading, and he gets everything once, in order.
async fn slow_reader_makes_progress(backend: Backend) {
    const N: usize = 1000;
    let s = TestServer::start_with(
        backend,
        Options {
            tweak: |c| c.write_timeout_secs = 2,
            ..Options::default()
        },
    )
    .await;
    stored_for_bob(&s, N).await;
    let mut bob = small_buffer_client(&s).await;
    bob.login("bob", key(BOB)).await;
    let reply = bob.call(Request::Reciv).await;
    assert_ok(&reply, "RECIV");

    let mut got = Vec::new();
    let started = Instant::now();
    let mut checked_progress = false;
    while got.len() < N {
        let p = bob.recv().await;
        got.extend(numbers(std::slice::from_ref(&p)));
        // Pace: about 400 KB/s.
        let due = Duration::from_secs_f64(got.len() as f64 * SIZE as f64 / 400_000.0);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        if !checked_progress && got.len() >= N / 2 {
            // Half read: the batches already written must be gone from the store.
            assert!(
                eventually(READ_TIMEOUT, || async { s.pending("bob").await < N as u64 }).await,
                "nothing deleted while half was read"
            );
            checked_progress = true;
        }
    }
    assert_eq!(
        got,
        (0..N).collect::<Vec<_>>(),
        "every message once, in order"
    );
    // Still connected, and nothing is left.
    bob.err(Request::Reciv, ErrorCode::Empty).await;
    assert_eq!(s.pending("bob").await, 0);
    s.stop().await;
}

/// Bob stops reading in the middle of a catch-up; the server drops him after its write
/// timeout. What reached his socket is not sent again: after a new login the catch-up goes
/// on from there, and the two parts together are every message exactly once, in order.
async fn dropped_reader_resumes_exactly_once(backend: Backend) {
    const N: usize = 1500;
    let s = TestServer::start_with(
        backend,
        Options {
            tweak: |c| {
                c.write_timeout_secs = 1;
                c.outbound_queue = 64;
            },
            ..Options::default()
        },
    )
    .await;
    let mut alice = stored_for_bob(&s, N).await;
    let mut bob = small_buffer_client(&s).await;
    bob.login("bob", key(BOB)).await;
    let id = bob.send(Request::Reciv).await;
    // Read nothing until the server has given up on bob (his session is gone from the
    // online list), then take everything that had reached his socket.
    let dropped = eventually(READ_TIMEOUT, async || !is_online(&mut alice, "bob").await).await;
    assert!(dropped, "the server drops a reader that stopped reading");
    let first_part = bob.closed().await;
    let reply = first_part.iter().find(|p| p.id == id).expect("RECIV reply");
    assert_ok(reply, "RECIV");
    let first = numbers(&first_part);
    assert!(first.len() < N, "bob was dropped before the end");
    let left = s.pending("bob").await;
    assert!(
        eventually(READ_TIMEOUT, || async {
            s.pending("bob").await == (N - first.len()) as u64
        })
        .await,
        "rows left ({left}) are exactly the ones bob did not get ({})",
        N - first.len()
    );

    let mut bob = s.connect().await;
    bob.login_when_free("bob", key(BOB)).await;
    let reply = bob.call(Request::Reciv).await;
    assert_ok(&reply, "second RECIV");
    let second = numbers(&bob.drain_events().await);
    let mut all = first.clone();
    all.extend(&second);
    assert_eq!(
        all,
        (0..N).collect::<Vec<_>>(),
        "first part {} + second part {}: every message once, in order",
        first.len(),
        second.len()
    );
    bob.err(Request::Reciv, ErrorCode::Empty).await;
    s.stop().await;
}

/// A batch holds about `catch_up_batch_bytes` of messages, never the whole mailbox, and the
/// next batch starts after the last id of the previous one.
async fn batches_are_capped_by_bytes(backend: Backend) {
    const N: usize = 600;
    const CAP: usize = 256 * 1024;
    let s = TestServer::start(backend).await;
    stored_for_bob(&s, N).await;
    let bob = s.store.user(b"bob").await.expect("lookup").expect("bob").id;
    let mut after = 0;
    let mut seen = 0;
    let mut batches = 0;
    loop {
        let batch = s
            .store
            .pending_batch(bob, after, 10_000, CAP)
            .await
            .expect("batch");
        let Some(last) = batch.last() else { break };
        let bytes: usize = batch.iter().map(|m| m.wire_size()).sum();
        // At most one message beyond the cap (the one that reaches it).
        assert!(bytes < CAP + SIZE + 32, "batch of {bytes} bytes");
        assert!(batch.iter().all(|m| m.id > after));
        seen += batch.len();
        after = last.id;
        batches += 1;
    }
    assert_eq!(seen, N);
    assert_eq!(batches, (N * (SIZE + 5)).div_ceil(CAP));
    // The row limit applies too.
    let few = s.store.pending_batch(bob, 0, 7, CAP).await.expect("batch");
    assert_eq!(few.len(), 7);
    // Nothing was deleted by reading.
    assert_eq!(s.pending("bob").await, N as u64);
    s.stop().await;
}
