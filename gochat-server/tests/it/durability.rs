//! Durability of messages when the recipient cannot keep up, on both backends: every message
//! the sender got `OK` for reaches the recipient exactly once, live or through catch-up after
//! a new login, whether the recipient stalls and is dropped as a slow peer, stalls for a
//! while and resumes, or is kicked in the middle of the stream.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::{self, Backend, Client, Options, READ_TIMEOUT, TestServer, assert_ok, key};
use bytes::Bytes;
use gochat_proto::wire::{Action, AdminRequest, ErrorCode, Permission, Request};
use tokio::net::TcpSocket;

both_backends!(
    stalled_reader_is_dropped_and_catches_up,
    stalled_reader_resumes,
    kicked_mid_stream,
);

const ALICE: usize = 0;
const BOB: usize = 1;
const CAROL: usize = 2;
const DAVE: usize = 3;
/// Who sends to bob.
const SENDERS: [&str; 2] = ["alice", "carol"];

/// Ciphertext of message `i`: its number, then padding up to `size` bytes.
fn body(i: usize, size: usize) -> Bytes {
    let mut b = format!("m{i:06}-").into_bytes();
    b.resize(size, b'x');
    b.into()
}

/// The message number in a ciphertext made by [`body`].
fn number(ciphertext: &[u8]) -> usize {
    std::str::from_utf8(&ciphertext[1..7])
        .expect("ascii")
        .parse()
        .expect("a message number")
}

/// The senders of a run, each with its own connection.
struct Senders {
    tasks: Vec<tokio::task::JoinHandle<Vec<usize>>>,
}

impl Senders {
    /// Each of `clients` sends its share of messages `0..n` to bob (message `i` from sender
    /// `i % clients.len()`), one after another, concurrently with the others.
    fn start(clients: Vec<Client>, n: usize, size: usize) -> Senders {
        let count = clients.len();
        let tasks = clients
            .into_iter()
            .enumerate()
            .map(|(k, mut client)| {
                tokio::spawn(async move {
                    let mut acknowledged = Vec::new();
                    for i in (k..n).step_by(count) {
                        let reply = client.call(Client::msg("bob", body(i, size))).await;
                        match reply.action {
                            Action::Ok => acknowledged.push(i),
                            Action::Err => assert_eq!(
                                reply.info,
                                ErrorCode::Server.code(),
                                "the only acceptable failure is a storage failure"
                            ),
                            other => panic!("unexpected reply {other}"),
                        }
                    }
                    acknowledged
                })
            })
            .collect();
        Senders { tasks }
    }

    fn is_finished(&self) -> bool {
        self.tasks.iter().all(tokio::task::JoinHandle::is_finished)
    }

    /// Every acknowledged message number, sorted.
    async fn acknowledged(self) -> Vec<usize> {
        let mut all = Vec::new();
        for task in self.tasks {
            all.extend(task.await.expect("sender"));
        }
        all.sort_unstable();
        all
    }
}

/// A client with a small receive buffer, so that a stalled reader fills up quickly.
async fn small_buffer_client(s: &TestServer) -> Client {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let stream = socket.connect(s.plain).await.expect("connect");
    Client::over(Box::new(stream)).await
}

/// Counts message numbers from RECIVs.
#[derive(Default)]
struct Tally {
    seen: BTreeMap<usize, usize>,
}

impl Tally {
    fn add(&mut self, p: &gochat_proto::wire::Packet) {
        assert_eq!(p.action, Action::Reciv, "{p:?}");
        assert!(
            SENDERS.iter().any(|name| p.args[0] == name.as_bytes()),
            "a sender's name: {p:?}"
        );
        *self.seen.entry(number(&p.args[2])).or_default() += 1;
    }

    /// Every acknowledged message exactly once, and nothing else.
    fn check(&self, acknowledged: &[usize], what: &str) {
        let duplicates: Vec<_> = self.seen.iter().filter(|(_, n)| **n > 1).collect();
        let missing: Vec<_> = acknowledged
            .iter()
            .filter(|i| !self.seen.contains_key(i))
            .collect();
        let unacknowledged: Vec<_> = self
            .seen
            .keys()
            .filter(|i| acknowledged.binary_search(i).is_err())
            .collect();
        assert!(
            duplicates.is_empty() && missing.is_empty() && unacknowledged.is_empty(),
            "{what}: {} acknowledged, {} distinct delivered; duplicated {duplicates:?}; \
             missing {missing:?}; delivered without OK {unacknowledged:?}",
            acknowledged.len(),
            self.seen.len()
        );
    }
}

/// Logs bob in again on a new connection and collects the stored messages.
async fn catch_up(s: &TestServer, tally: &mut Tally) -> Client {
    let mut bob = s.connect().await;
    bob.login_when_free("bob", key(BOB)).await;
    let reply = bob.call(Request::Reciv).await;
    if reply.action == Action::Ok {
        let stored = bob.drain_events().await;
        assert!(!stored.is_empty(), "OK announced stored messages");
        for p in &stored {
            tally.add(p);
        }
    } else {
        common::assert_err(&reply, ErrorCode::Empty, "RECIV");
    }
    bob.err(Request::Reciv, ErrorCode::Empty).await;
    bob
}

/// Registers everyone; returns the senders, logged in.
async fn setup(s: &TestServer) -> Vec<Client> {
    let mut c = s.connect().await;
    c.register("alice", key(ALICE)).await;
    c.register("bob", key(BOB)).await;
    c.register("carol", key(CAROL)).await;
    c.register("dave", key(DAVE)).await;
    s.set_permission("dave", Permission::Admin).await;
    c.login("alice", key(ALICE)).await;
    let mut carol = s.connect().await;
    carol.login("carol", key(CAROL)).await;
    vec![c, carol]
}

// ---------------------------------------------------------------------------------------------

/// Bob stops reading; the server drops him as a slow peer; bob then reads what reached his
/// socket, logs in again and catches up.
async fn stalled_reader_is_dropped_and_catches_up(backend: Backend) {
    const N: usize = 3000;
    const SIZE: usize = 2000;
    let s = TestServer::start_with(
        backend,
        Options {
            tweak: |c| {
                c.write_timeout_secs = 2;
                c.outbound_queue = 64;
            },
            ..Options::default()
        },
    )
    .await;
    let senders = setup(&s).await;
    let mut bob = small_buffer_client(&s).await;
    bob.login("bob", key(BOB)).await;

    // Bob reads nothing while alice sends.
    let acknowledged = Senders::start(senders, N, SIZE).acknowledged().await;

    // What reached bob's socket before the server gave up on him.
    let mut tally = Tally::default();
    let live = bob.closed().await;
    for p in live.iter().filter(|p| p.action == Action::Reciv) {
        tally.add(p);
    }
    let live_count = tally.seen.values().sum::<usize>();
    let _bob = catch_up(&s, &mut tally).await;
    eprintln!(
        "{backend:?}: {} acknowledged, {live_count} live, {} after catch-up",
        acknowledged.len(),
        tally.seen.values().sum::<usize>()
    );
    tally.check(&acknowledged, "stalled reader dropped");
    assert_eq!(acknowledged.len(), N);
    s.stop().await;
}

/// Bob stops reading for longer than a live delivery may wait, then reads again: messages
/// that waited too long are stored, and must not also arrive live.
async fn stalled_reader_resumes(backend: Backend) {
    const N: usize = 2500;
    const SIZE: usize = 2000;
    let s = TestServer::start(backend).await;
    let senders = setup(&s).await;
    let mut bob = small_buffer_client(&s).await;
    bob.login("bob", key(BOB)).await;

    let sender = Senders::start(senders, N, SIZE);
    // Bob reads nothing until a delivery has waited too long and its message was stored, or
    // for 8 s at most: when the writer took both senders' messages in one batch and is
    // blocked in bob's full socket, both deliveries are being written (so neither can be
    // stored instead) and both senders wait for them. Only bob reading (or the 30 s write
    // timeout) ends that, and the senders' replies would time out first.
    let _stored = gochat_testkit::wait::wait_until(
        "a stalled reader's messages to be stored",
        Duration::from_secs(8),
        || async { s.pending("bob").await > 0 },
    )
    .await;
    // Read live until the sender is done and the stream is quiet.
    let mut tally = Tally::default();
    loop {
        match tokio::time::timeout(Duration::from_millis(500), bob.event()).await {
            Ok(p) => tally.add(&p),
            Err(_) if sender.is_finished() => break,
            Err(_) => {}
        }
    }
    let acknowledged = sender.acknowledged().await;
    let live_count = tally.seen.values().sum::<usize>();
    drop(bob);
    let _bob = catch_up(&s, &mut tally).await;
    eprintln!(
        "{backend:?}: {} acknowledged, {live_count} live, {} after catch-up",
        acknowledged.len(),
        tally.seen.values().sum::<usize>()
    );
    tally.check(&acknowledged, "stalled reader resumed");
    s.stop().await;
}

/// Bob reads normally and is kicked while alice sends.
async fn kicked_mid_stream(backend: Backend) {
    const N: usize = 1000;
    const SIZE: usize = 500;
    let s = TestServer::start(backend).await;
    let senders = setup(&s).await;
    let mut dave = s.connect().await;
    dave.login("dave", key(DAVE)).await;
    let mut bob = s.connect().await;
    bob.login("bob", key(BOB)).await;

    // Bob reads everything until his connection ends, and says when the first RECIV came.
    let (first_tx, first_rx) = tokio::sync::oneshot::channel();
    let reader = tokio::spawn(async move {
        let mut first_tx = Some(first_tx);
        let mut got = Vec::new();
        while let Some(Ok(p)) = bob.next_raw(READ_TIMEOUT).await {
            if p.action == Action::Reciv
                && let Some(tx) = first_tx.take()
            {
                let _ = tx.send(());
            }
            got.push(p);
        }
        got
    });
    let sender = Senders::start(senders, N, SIZE);
    // Kick bob in the middle of the stream: once messages are reaching him.
    tokio::time::timeout(READ_TIMEOUT, first_rx)
        .await
        .expect("a first message reaches bob")
        .expect("reader running");
    let kick = dave
        .call(
            AdminRequest::Kick {
                username: Bytes::from_static(b"bob"),
            }
            .into_request(),
        )
        .await;
    let acknowledged = sender.acknowledged().await;
    let live = tokio::time::timeout(READ_TIMEOUT, reader)
        .await
        .expect("bob's connection ends")
        .expect("reader");
    let mut tally = Tally::default();
    for p in live.iter().filter(|p| p.action == Action::Reciv) {
        tally.add(p);
    }
    let live_count = tally.seen.values().sum::<usize>();
    let _bob = catch_up(&s, &mut tally).await;
    eprintln!(
        "{backend:?}: kick {kick:?}; {} acknowledged, {live_count} live, {} after catch-up",
        acknowledged.len(),
        tally.seen.values().sum::<usize>()
    );
    assert_ok(&kick, "KICK bob");
    tally.check(&acknowledged, "kicked mid-stream");
    assert_eq!(acknowledged.len(), N);
    s.stop().await;
}
