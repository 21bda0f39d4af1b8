//! Messages across nodes: live both ways (stored first, the copy deleted once written),
//! and offline.

use std::time::Duration;

use gochat_proto::wire::{Action, Request};

use super::{Cluster, wait_online};
use crate::common::{Client, key};

/// Waits for a RECIV from `from` with `ciphertext`.
async fn expect_reciv(client: &mut Client, from: &str, ciphertext: &[u8]) {
    let p = client.event().await;
    assert_eq!(p.action, Action::Reciv, "{p:?}");
    assert_eq!(p.args[0].as_ref(), from.as_bytes());
    assert_eq!(p.args[2].as_ref(), ciphertext);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_cross_nodes_live_both_ways_and_offline() {
    let cluster = Cluster::new(false).await;
    let n1 = cluster.node("n1").await;
    let n2 = cluster.node("n2").await;
    let n3 = cluster.node("n3").await;
    let mut alice = n1.connect().await;
    alice.register("alice", key(0)).await;
    alice.login("alice", key(0)).await;
    let mut bob = n2.connect().await;
    bob.register("bob", key(1)).await;
    bob.login("bob", key(1)).await;
    let mut carol = n3.connect().await;
    carol.register("carol", key(2)).await;
    wait_online(&mut alice, "bob", true).await;
    wait_online(&mut bob, "alice", true).await;

    for i in 0..20u8 {
        alice.ok(Client::msg("bob", vec![b'a', i])).await;
        bob.ok(Client::msg("alice", vec![b'b', i])).await;
    }
    for i in 0..20u8 {
        expect_reciv(&mut bob, "alice", &[b'a', i]).await;
        expect_reciv(&mut alice, "bob", &[b'b', i]).await;
    }
    // Delivered live, so the stored copies are gone: a catch-up finds nothing.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while n1.pending("bob").await + n1.pending("alice").await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "copies not deleted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bob.err(Request::Reciv, gochat_proto::wire::ErrorCode::Empty)
        .await;
    assert!(
        n1.probe()
            .metrics_text()
            .contains("gochat_cluster_forwarded_total 20\n")
    );
    // Both were online before the messages were stored: written without a lookup.
    for node in [&n1, &n2] {
        let text = node.probe().metrics_text();
        assert!(
            text.contains("gochat_cluster_forward_checks_total 0\n"),
            "{text}"
        );
    }

    // Carol is offline: stored, and caught up on the node she logs in to.
    alice.ok(Client::msg("carol", &b"offline"[..])).await;
    assert_eq!(n3.pending("carol").await, 1);
    carol.login("carol", key(2)).await;
    carol.ok(Request::Reciv).await;
    expect_reciv(&mut carol, "alice", b"offline").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_with_a_cluster_is_refused_at_start() {
    let cluster = Cluster::new(false).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = cluster.config("n1", 0);
    config.database = Some(format!("sqlite://{}/db.sqlite", dir.path().display()));
    let Err(e) = gochat_server::server::Server::start(config).await else {
        panic!("a cluster on SQLite started");
    };
    let text = gochat_proto::error_chain::chain(&e);
    assert!(text.contains("MariaDB"), "{text}");
}
