//! Who is online, hooks and the duplicate-session rule, across nodes.

use gochat_proto::wire::{ErrorCode, Hook, Permission, Request};

use super::{Cluster, online, wait_online};
use crate::common::{Client, key, login_req};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_users_and_hooks_reach_every_node() {
    let cluster = Cluster::new(false).await;
    let n1 = cluster.node("n1").await;
    let n2 = cluster.node("n2").await;
    let n3 = cluster.node("n3").await;
    let mut watcher = n1.connect().await;
    watcher.register("watcher", key(0)).await;
    watcher.login("watcher", key(0)).await;
    watcher.ok(Request::Sub(Hook::All)).await;

    let mut bob = n2.connect().await;
    bob.register("bob", key(1)).await;
    bob.login("bob", key(1)).await;
    watcher
        .expect_hook(Hook::NewLogin, &[b"bob", &[Permission::User.code()]])
        .await;
    let mut carol = n3.connect().await;
    carol.register("carol", key(2)).await;
    carol.login("carol", key(2)).await;
    watcher
        .expect_hook(Hook::NewLogin, &[b"carol", &[Permission::User.code()]])
        .await;

    wait_online(&mut watcher, "carol", true).await;
    wait_online(&mut watcher, "bob", true).await;
    assert_eq!(online(&mut bob).await, ["bob", "carol", "watcher"]);

    bob.ok(Request::Logout).await;
    watcher.expect_hook(Hook::NewLogout, &[b"bob"]).await;
    wait_online(&mut carol, "bob", false).await;
    drop(carol);
    watcher.expect_hook(Hook::NewLogout, &[b"carol"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_session_per_user_across_nodes() {
    let cluster = Cluster::new(false).await;
    let n1 = cluster.node("n1").await;
    let n2 = cluster.node("n2").await;
    let mut bob = n1.connect().await;
    bob.register("bob", key(1)).await;
    bob.login("bob", key(1)).await;
    bob.ok(Request::Sub(Hook::DupSess)).await;
    let mut watch = n2.connect().await;
    watch.register("watch", key(0)).await;
    watch.login("watch", key(0)).await;
    wait_online(&mut watch, "bob", true).await;

    // Go's rule: the newcomer is refused, the session in place is told.
    let mut again = n2.connect().await;
    again.err(login_req("bob"), ErrorCode::DupSess).await;
    let hook = bob.event().await;
    assert_eq!(hook.info, Hook::DupSess.code(), "{hook:?}");

    // Two logins racing on two nodes: exactly one wins.
    bob.ok(Request::Logout).await;
    wait_online(&mut watch, "bob", false).await;
    let mut a = n1.connect().await;
    let mut b = n2.connect().await;
    let ca = a.challenge("bob", key(1)).await;
    let cb = b.challenge("bob", key(1)).await;
    let ia = a.send(Client::verif("bob", &ca)).await;
    let ib = b.send(Client::verif("bob", &cb)).await;
    let (ra, rb) = tokio::join!(a.reply(ia), b.reply(ib));
    let oks = [&ra, &rb]
        .iter()
        .filter(|r| r.action == gochat_proto::wire::Action::Ok)
        .count();
    assert_eq!(oks, 1, "exactly one login wins: {ra:?} {rb:?}");
}
