//! Limits on stored (offline) messages, on both backends and over real sockets: the
//! per-recipient quota by count and by bytes (atomic under concurrent senders, and per
//! message inside one group-commit transaction), the per-sender MSG rate limit, and no row
//! ever stored for a recipient who is deregistered.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use crate::common::{Backend, Client, Options, TestServer, assert_err, assert_ok, key};
use bytes::Bytes;
use gochat_proto::wire::{Action, ErrorCode, Request};
use gochat_server::config::Config;
use gochat_server::store::{MailboxUsage, NewMessage, Quota, StoreOutcome};

both_backends!(
    quota_by_count,
    quota_by_bytes,
    concurrent_senders_cannot_overshoot,
    full_mailbox_fails_only_its_own_messages,
    per_sender_rate_limit_slows_down,
    nothing_stored_for_a_deregistered_recipient,
);

const ALICE: usize = 0;
const BOB: usize = 1;
const CAROL: usize = 2;
const DAVE: usize = 3;

/// A server with the given tweak; the rate limit is off unless the tweak sets it.
async fn server(backend: Backend, tweak: fn(&mut Config)) -> TestServer {
    TestServer::start_with(
        backend,
        Options {
            tweak,
            ..Options::default()
        },
    )
    .await
}

/// Registers alice, bob, carol and dave; returns a connection logged in as alice.
async fn setup(s: &TestServer) -> Client {
    let mut c = s.connect().await;
    for (name, k) in [
        ("alice", ALICE),
        ("bob", BOB),
        ("carol", CAROL),
        ("dave", DAVE),
    ] {
        c.register(name, key(k)).await;
    }
    c.login("alice", key(ALICE)).await;
    c
}

async fn user_id(s: &TestServer, name: &str) -> i64 {
    s.store
        .user(name.as_bytes())
        .await
        .expect("lookup")
        .expect("exists")
        .id
}

async fn usage(s: &TestServer, name: &str) -> MailboxUsage {
    let id = user_id(s, name).await;
    s.store.mailbox_usage(id).await.expect("usage")
}

fn body(i: usize, size: usize) -> Bytes {
    let mut b = format!("m{i:06}-").into_bytes();
    b.resize(size, b'x');
    b.into()
}

/// Pipelines `bodies` as MSGs to `to` and returns the replies in order.
async fn send_all(c: &mut Client, to: &str, bodies: Vec<Bytes>) -> Vec<gochat_proto::wire::Packet> {
    let mut ids = Vec::new();
    for b in bodies {
        ids.push(c.feed(Client::msg(to, b)).await);
    }
    c.flush().await;
    let mut replies = Vec::new();
    for id in ids {
        replies.push(c.reply(id).await);
    }
    replies
}

fn codes(replies: &[gochat_proto::wire::Packet]) -> Vec<Option<ErrorCode>> {
    replies
        .iter()
        .map(|p| match p.action {
            Action::Ok => None,
            Action::Err => ErrorCode::from_code(p.info),
            other => panic!("unexpected reply {other}"),
        })
        .collect()
}

/// Logs bob in, catches up, and returns the ciphertexts received.
async fn bob_catches_up(s: &TestServer) -> (Client, Vec<Bytes>) {
    let mut bob = s.connect().await;
    bob.login("bob", key(BOB)).await;
    let reply = bob.call(Request::Reciv).await;
    assert_ok(&reply, "RECIV");
    let got = bob
        .drain_events()
        .await
        .into_iter()
        .map(|p| {
            assert_eq!(p.action, Action::Reciv, "{p:?}");
            p.args[2].clone()
        })
        .collect();
    (bob, got)
}

// ---------------------------------------------------------------------------------------------

/// The 6th and 7th message to a mailbox holding at most 5 get ERR_MAXSIZE; once bob has
/// caught up, there is room again.
async fn quota_by_count(backend: Backend) {
    let s = server(backend, |c| {
        c.mailbox_max_messages = 5;
        c.msg_rate = 0;
    })
    .await;
    let mut alice = setup(&s).await;
    let replies = send_all(&mut alice, "bob", (0..7).map(|i| body(i, 100)).collect()).await;
    let mut expected = vec![None; 5];
    expected.extend([Some(ErrorCode::MaxSize); 2]);
    assert_eq!(codes(&replies), expected);
    assert_eq!(s.pending("bob").await, 5);
    assert_eq!(
        usage(&s, "bob").await,
        MailboxUsage {
            messages: 5,
            bytes: 500
        }
    );
    // The connection stays usable.
    alice.ok(Client::msg("carol", body(0, 10))).await;

    let (mut bob, got) = bob_catches_up(&s).await;
    assert_eq!(got, (0..5).map(|i| body(i, 100)).collect::<Vec<_>>());
    assert_eq!(usage(&s, "bob").await, MailboxUsage::default());
    bob.ok(Request::Logout).await;
    alice.ok(Client::msg("bob", body(7, 100))).await;
    assert_eq!(s.pending("bob").await, 1);
    s.stop().await;
}

/// A 5,000-byte mailbox takes two 2,000-byte messages; the third is refused, a smaller one
/// that still fits is not.
async fn quota_by_bytes(backend: Backend) {
    let s = server(backend, |c| {
        c.mailbox_max_bytes = 5000;
        c.msg_rate = 0;
    })
    .await;
    let mut alice = setup(&s).await;
    let replies = send_all(
        &mut alice,
        "bob",
        vec![
            body(0, 2000),
            body(1, 2000),
            body(2, 2000),
            body(3, 1000),
            body(4, 1),
        ],
    )
    .await;
    assert_eq!(
        codes(&replies),
        [
            None,
            None,
            Some(ErrorCode::MaxSize),
            None,
            Some(ErrorCode::MaxSize)
        ]
    );
    assert_eq!(
        usage(&s, "bob").await,
        MailboxUsage {
            messages: 3,
            bytes: 5000
        }
    );
    let (_bob, got) = bob_catches_up(&s).await;
    assert_eq!(got, vec![body(0, 2000), body(1, 2000), body(3, 1000)]);
    assert_eq!(usage(&s, "bob").await, MailboxUsage::default());
    s.stop().await;
}

/// Three senders pipeline 40 messages each at a 50-message mailbox at the same moment:
/// exactly 50 are accepted and stored, never more.
async fn concurrent_senders_cannot_overshoot(backend: Backend) {
    const QUOTA: usize = 50;
    const EACH: usize = 40;
    let s = server(backend, |c| {
        c.mailbox_max_messages = 50;
        c.msg_rate = 0;
    })
    .await;
    let alice = setup(&s).await;
    let mut carol = s.connect().await;
    carol.login("carol", key(CAROL)).await;
    let mut dave = s.connect().await;
    dave.login("dave", key(DAVE)).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(3));
    let tasks: Vec<_> = [alice, carol, dave]
        .into_iter()
        .enumerate()
        .map(|(k, mut c)| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let bodies = (0..EACH).map(|i| body(k * 1000 + i, 300)).collect();
                codes(&send_all(&mut c, "bob", bodies).await)
            })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        let codes = task.await.expect("sender");
        assert!(
            codes
                .iter()
                .all(|c| c.is_none() || *c == Some(ErrorCode::MaxSize)),
            "{codes:?}"
        );
        accepted += codes.iter().filter(|c| c.is_none()).count();
    }
    assert_eq!(accepted, QUOTA);
    assert_eq!(s.pending("bob").await, QUOTA as u64);
    assert_eq!(
        usage(&s, "bob").await,
        MailboxUsage {
            messages: QUOTA as u64,
            bytes: QUOTA as u64 * 300
        }
    );
    s.stop().await;
}

/// One transaction holding messages for a full mailbox and for others: only the messages
/// that do not fit are refused. Checked on the store directly (one call is one transaction)
/// and over a socket with pipelined MSGs (which share group commits).
async fn full_mailbox_fails_only_its_own_messages(backend: Backend) {
    let s = server(backend, |c| {
        c.mailbox_max_messages = 3;
        c.msg_rate = 0;
    })
    .await;
    let mut alice = setup(&s).await;
    let (a, b, c) = (
        user_id(&s, "alice").await,
        user_id(&s, "bob").await,
        user_id(&s, "carol").await,
    );
    let quota = Quota {
        max_messages: 3,
        max_bytes: u64::MAX,
    };
    let m = |to: i64, i: usize| NewMessage {
        sender_id: a,
        recipient_id: to,
        stamp: 1_700_000_000,
        ciphertext: body(i, 50).to_vec(),
    };
    let batch = [
        m(b, 0),
        m(c, 1),
        m(b, 2),
        m(b, 3),
        m(c, 4),
        m(b, 5),
        m(b, 6),
    ];
    let outcomes = s.store.store_messages(&batch, quota).await.expect("store");
    use StoreOutcome::{MailboxFull, Stored};
    assert_eq!(
        outcomes,
        [
            Stored,
            Stored,
            Stored,
            Stored,
            Stored,
            MailboxFull,
            MailboxFull
        ]
    );
    assert_eq!(s.pending("bob").await, 3);
    assert_eq!(s.pending("carol").await, 2);

    // Over the socket: bob is full, carol has room for one more, dave for three.
    let bodies = [
        ("bob", 10),
        ("carol", 11),
        ("dave", 12),
        ("bob", 13),
        ("dave", 14),
    ];
    let mut ids = Vec::new();
    for (to, i) in bodies {
        ids.push(alice.feed(Client::msg(to, body(i, 50))).await);
    }
    alice.flush().await;
    let mut replies = Vec::new();
    for id in ids {
        replies.push(alice.reply(id).await);
    }
    assert_eq!(
        codes(&replies),
        [
            Some(ErrorCode::MaxSize),
            None,
            None,
            Some(ErrorCode::MaxSize),
            None
        ]
    );
    assert_eq!(s.pending("carol").await, 3);
    assert_eq!(s.pending("dave").await, 2);
    s.stop().await;
}

/// With 20 MSGs per second and a burst of 5, 25 pipelined MSGs take at least a second;
/// none is refused. Another sender is not slowed down by alice's limit.
async fn per_sender_rate_limit_slows_down(backend: Backend) {
    let s = server(backend, |c| {
        c.msg_rate = 20;
        c.msg_burst = 5;
    })
    .await;
    let mut alice = setup(&s).await;
    let mut carol = s.connect().await;
    carol.login("carol", key(CAROL)).await;

    let started = Instant::now();
    let replies = send_all(&mut alice, "bob", (0..25).map(|i| body(i, 100)).collect()).await;
    let elapsed = started.elapsed();
    assert!(codes(&replies).iter().all(Option::is_none), "{replies:?}");
    // 20 MSGs beyond the burst at 20 per second: one second, minus rounding.
    assert!(
        elapsed >= Duration::from_millis(950),
        "25 MSGs took only {elapsed:?}"
    );
    assert_eq!(s.pending("bob").await, 25);

    // Carol's own burst is untouched.
    let started = Instant::now();
    let replies = send_all(
        &mut carol,
        "bob",
        (0..5).map(|i| body(100 + i, 100)).collect(),
    )
    .await;
    assert!(codes(&replies).iter().all(Option::is_none));
    assert!(started.elapsed() < Duration::from_millis(950));
    s.stop().await;
}

/// Bob is deregistered behind the session's back (as the offline admin tool does) after
/// alice's first MSG made the server remember his id: the next MSG is refused with
/// ERR_DEREG and no row is stored. Rows stored before are gone with the deregistration.
async fn nothing_stored_for_a_deregistered_recipient(backend: Backend) {
    let s = server(backend, |c| c.msg_rate = 0).await;
    let mut alice = setup(&s).await;
    for i in 0..3 {
        alice.ok(Client::msg("bob", body(i, 100))).await;
    }
    assert_eq!(s.pending("bob").await, 3);
    assert!(s.store.deregister(b"bob").await.expect("deregister"));
    assert_eq!(s.pending("bob").await, 0);
    assert_eq!(usage(&s, "bob").await, MailboxUsage::default());

    let reply = alice.call(Client::msg("bob", body(3, 100))).await;
    assert_err(&reply, ErrorCode::Dereg, "MSG to a deregistered user");
    // Pipelined too (these go through one group commit).
    let replies = send_all(&mut alice, "bob", (4..8).map(|i| body(i, 100)).collect()).await;
    assert_eq!(codes(&replies), vec![Some(ErrorCode::Dereg); 4]);
    assert_eq!(s.pending("bob").await, 0);

    // An unknown recipient id at the store: refused, not an error for the batch.
    let alice_id = user_id(&s, "alice").await;
    let carol_id = user_id(&s, "carol").await;
    let msg = |to: i64| NewMessage {
        sender_id: alice_id,
        recipient_id: to,
        stamp: 0,
        ciphertext: vec![1, 2, 3],
    };
    let outcomes = s
        .store
        .store_messages(&[msg(i64::MAX), msg(carol_id)], Quota::UNLIMITED)
        .await
        .expect("store");
    assert_eq!(
        outcomes,
        [StoreOutcome::RecipientMissing, StoreOutcome::Stored]
    );
    s.stop().await;
}
