//! Admin actions and tokens across nodes.

use bytes::Bytes;
use gochat_proto::wire::{Action, AdminOp, ErrorCode, Permission, Request};

use super::{Cluster, wait_online};
use crate::common::{key, login_req};

fn admin(op: AdminOp, args: &[&[u8]]) -> Request {
    Request::Admin {
        op: op.code(),
        args: args.iter().map(|a| Bytes::copy_from_slice(a)).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kick_ban_and_permissions_act_wherever_the_user_is() {
    let cluster = Cluster::new(false).await;
    let n1 = cluster.node("n1").await;
    let n2 = cluster.node("n2").await;
    let n3 = cluster.node("n3").await;
    let mut root = n1.connect().await;
    root.register("root", key(0)).await;
    assert!(
        n1.store
            .set_permission(b"root", Permission::Owner)
            .await
            .expect("set")
    );
    root.login("root", key(0)).await;

    let mut bob = n2.connect().await;
    bob.register("bob", key(1)).await;
    bob.login("bob", key(1)).await;
    wait_online(&mut root, "bob", true).await;

    // Permission change: the live session on n2 gets it (PERMSCHG reaches bob's node).
    root.ok(admin(
        AdminOp::ChangePerms,
        &[b"bob", &[Permission::Admin.code()]],
    ))
    .await;
    // Demoted back, so the kick below passes the permission rule.
    root.ok(admin(
        AdminOp::ChangePerms,
        &[b"bob", &[Permission::User.code()]],
    ))
    .await;

    // Kick on n1, bob on n2: disconnected there, and free to log in again elsewhere.
    root.ok(admin(AdminOp::Kick, &[b"bob"])).await;
    let last = bob.closed().await;
    assert!(
        last.iter()
            .any(|p| p.action == Action::Err && p.info == ErrorCode::Discn.code()),
        "{last:?}"
    );
    wait_online(&mut root, "bob", false).await;
    let mut bob = n3.connect().await;
    bob.login_when_free("bob", key(1)).await;
    wait_online(&mut root, "bob", true).await;

    // MOTD set on n1 greets on n2.
    root.ok(admin(AdminOp::Motd, &[b"cluster motd"])).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let c = n2.connect().await;
        if c.motd() == b"cluster motd" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "MOTD not on n2");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Ban on n1, bob on n3: disconnected and refused.
    root.ok(admin(AdminOp::Dereg, &[b"bob"])).await;
    let last = bob.closed().await;
    assert!(
        last.iter()
            .any(|p| p.action == Action::Err && p.info == ErrorCode::Discn.code()),
        "{last:?}"
    );
    // Refused on every node (once n2 has seen the session end: until then it is DUPSESS).
    let mut again = n2.connect().await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let reply = again.call(login_req("bob")).await;
        if reply.info != ErrorCode::DupSess.code() {
            crate::common::assert_err(&reply, ErrorCode::Dereg, "LOGIN of a banned user");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "bob stays online on n2"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_issued_on_one_node_works_on_another() {
    let cluster = Cluster::new(true).await;
    let n1 = cluster.node("n1").await;
    let n2 = cluster.node("n2").await;
    let mut alice = n1.connect_tls().await;
    alice.register("alice", key(0)).await;
    let token = alice.login("alice", key(0)).await;
    let mut watch = n2.connect().await;
    watch.register("watch", key(1)).await;
    watch.login("watch", key(1)).await;
    wait_online(&mut watch, "alice", true).await;

    // Pending while its session is online (on another node).
    let mut early = n2.connect_tls().await;
    early
        .err(
            Request::Login {
                username: Bytes::from_static(b"alice"),
                token: Some(Bytes::copy_from_slice(&token)),
            },
            ErrorCode::DupSess,
        )
        .await;

    alice.ok(Request::Logout).await;
    wait_online(&mut watch, "alice", false).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let mut on_n2 = n2.connect_tls().await;
        let reply = on_n2
            .call(Request::Login {
                username: Bytes::from_static(b"alice"),
                token: Some(Bytes::copy_from_slice(&token)),
            })
            .await;
        if reply.action == Action::Ok {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "token refused on n2: {reply:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
