//! A node killed with SIGKILL, and NATS stopped and started again.

use std::time::Duration;

use gochat_proto::wire::{Action, Request};

use super::{Cluster, free_port, wait_for, wait_online};
use crate::common::{Client, key};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_users_expire_and_their_messages_are_stored() {
    let cluster = Cluster::new(false).await;
    let n1 = cluster.node("n1").await;
    let n3 = cluster.node("n3").await;
    let port = free_port();
    let mut n2 = cluster.spawn_process("n2", port);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut listening = false;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            listening = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(listening, "node 2 listens");
    let mut bob = Client::connect(addr).await;
    bob.register("bob", key(1)).await;
    bob.login("bob", key(1)).await;
    let mut carol = Client::connect(addr).await;
    carol.register("carol", key(2)).await;
    carol.login("carol", key(2)).await;
    let mut alice = n1.connect().await;
    alice.register("alice", key(0)).await;
    alice.login("alice", key(0)).await;
    wait_online(&mut alice, "bob", true).await;
    wait_online(&mut alice, "carol", true).await;

    n2.start_kill().expect("SIGKILL node 2");
    let _ = n2.wait().await;
    let killed = tokio::time::Instant::now();
    drop((bob, carol));

    // Bob comes back at once on n3: the dead node cannot answer for his key, so it is
    // cleared without waiting for it to expire.
    let mut bob = n3.connect().await;
    bob.login("bob", key(1)).await;
    assert!(
        killed.elapsed() < Duration::from_secs(5),
        "{:?}",
        killed.elapsed()
    );

    // Carol's key is no longer refreshed: gone within the TTL (15 s) plus slack.
    wait_online(&mut alice, "carol", false).await;
    let gone_after = killed.elapsed();
    assert!(gone_after <= Duration::from_secs(20), "{gone_after:?}");
    alice.ok(Client::msg("carol", &b"while away"[..])).await;
    assert_eq!(n1.pending("carol").await, 1);
    let mut carol = n3.connect().await;
    carol.login("carol", key(2)).await;
    carol.ok(Request::Reciv).await;
    let p = carol.event().await;
    assert_eq!(p.action, Action::Reciv, "{p:?}");
    assert_eq!(p.args[2].as_ref(), b"while away");
    wait_online(&mut alice, "bob", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_outage_degrades_then_heals() {
    let mut cluster = Cluster::new(false).await;
    let n1 = cluster.node("n1").await;
    let n2 = cluster.node("n2").await;
    let mut alice = n1.connect().await;
    alice.register("alice", key(0)).await;
    alice.login("alice", key(0)).await;
    let mut carol = n1.connect().await;
    carol.register("carol", key(2)).await;
    carol.login("carol", key(2)).await;
    let mut bob = n2.connect().await;
    bob.register("bob", key(1)).await;
    bob.login("bob", key(1)).await;
    wait_online(&mut alice, "bob", true).await;

    cluster.nats.stop();
    wait_for("n1 to report degraded", Duration::from_secs(10), || {
        n1.probe().cluster().degraded() == Some(true)
    })
    .await;
    assert!(
        n1.probe()
            .metrics_text()
            .contains("gochat_cluster_degraded 1\n")
    );
    // Same node: live as ever.
    alice.ok(Client::msg("carol", &b"same node"[..])).await;
    let p = carol.event().await;
    assert_eq!(p.args[2].as_ref(), b"same node");
    // Across nodes: stored (OK means stored), never lost.
    alice.ok(Client::msg("bob", &b"during outage"[..])).await;
    assert_eq!(n1.pending("bob").await, 1);
    // New logins still work on each node.
    let mut dave = n2.connect().await;
    dave.register("dave", key(3)).await;
    dave.login("dave", key(3)).await;

    cluster.nats.resume().await;
    for node in [&n1, &n2] {
        wait_for("the node to heal", Duration::from_secs(20), || {
            node.probe().cluster().degraded() == Some(false)
        })
        .await;
    }
    assert!(
        n1.probe()
            .metrics_text()
            .contains("gochat_cluster_degraded 0\n")
    );
    // Presence is rebuilt by the heartbeats, and live delivery resumes.
    wait_online(&mut alice, "dave", true).await;
    wait_online(&mut alice, "bob", true).await;
    alice.ok(Client::msg("bob", &b"after outage"[..])).await;
    // The outage message reaches bob exactly once: live (the forward waited in the client's
    // buffer) or by catch-up.
    let mut got = Vec::new();
    while !got
        .iter()
        .any(|m: &bytes::Bytes| m.as_ref() == b"after outage")
    {
        let p = bob.event().await;
        assert_eq!(p.action, Action::Reciv, "{p:?}");
        got.push(p.args[2].clone());
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    got.extend(
        bob.drain_events()
            .await
            .into_iter()
            .map(|p| p.args[2].clone()),
    );
    let reply = bob.call(Request::Reciv).await;
    if reply.action == Action::Ok {
        got.extend(
            bob.drain_events()
                .await
                .into_iter()
                .map(|p| p.args[2].clone()),
        );
    }
    got.sort();
    assert_eq!(got, [&b"after outage"[..], &b"during outage"[..]]);
}
