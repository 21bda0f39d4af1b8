//! Nodes starting together on a fresh database: one migrates, the others wait for it.

use std::time::Duration;

use super::{Cluster, wait_online};
use crate::common::{Client, key};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_migrate_a_fresh_database_at_once() {
    let cluster = Cluster::new(false).await;
    // All three migrate the empty database at the same instant; none may fail.
    let started = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(cluster.node("n1"), cluster.node("n2"), cluster.node("n3"))
    })
    .await
    .expect("three nodes start in time");
    let (n1, n2, n3) = started;

    // The schema is whole: users register on one node and talk across the others.
    let mut alice = n1.connect().await;
    alice.register("alice", key(0)).await;
    alice.login("alice", key(0)).await;
    let mut bob = n2.connect().await;
    bob.register("bob", key(1)).await;
    bob.login("bob", key(1)).await;
    let mut carol = n3.connect().await;
    carol.register("carol", key(2)).await;
    wait_online(&mut alice, "bob", true).await;
    alice.ok(Client::msg("bob", &b"hello"[..])).await;
    let p = bob.event().await;
    assert_eq!(p.args[2].as_ref(), b"hello");
    alice.ok(Client::msg("carol", &b"later"[..])).await;
    assert_eq!(n3.pending("carol").await, 1);
}
