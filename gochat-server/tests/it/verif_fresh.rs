//! VERIF reads the user again: a ban, deregistration or demotion made between LOGIN and
//! VERIF (by an online admin, or in the database directly) applies to that login.

use crate::common::{Backend, Client, TestServer, key};
use bytes::Bytes;
use gochat_proto::wire::{AdminOp, ErrorCode, Permission, Request};

fn admin(op: AdminOp, args: &[&[u8]]) -> Request {
    Request::Admin {
        op: op.code(),
        args: args.iter().map(|a| Bytes::copy_from_slice(a)).collect(),
    }
}

fn kick(name: &str) -> Request {
    admin(AdminOp::Kick, &[name.as_bytes()])
}

/// The owner `root` online, `mallory` registered as an admin, `victim` online (for KICK).
async fn setup(ts: &TestServer) -> (Client, Client, Client) {
    let mut root = ts.connect().await;
    root.register("root", key(0)).await;
    ts.set_permission("root", Permission::Owner).await;
    root.login("root", key(0)).await;
    let mut mallory = ts.connect().await;
    mallory.register("mallory", key(1)).await;
    ts.set_permission("mallory", Permission::Admin).await;
    let victim = ts.user("victim", key(2)).await;
    (root, mallory, victim)
}

async fn ban_by_online_admin_refuses_verif(backend: Backend) {
    let ts = TestServer::start(backend).await;
    let (mut root, mut mallory, _victim) = setup(&ts).await;
    let answer = mallory.challenge("mallory", key(1)).await;
    root.ok(admin(AdminOp::Dereg, &[b"mallory"])).await;
    mallory
        .err(Client::verif("mallory", &answer), ErrorCode::Dereg)
        .await;
    assert!(ts.probe().hub().online(b"mallory").is_none());
    // Not logged in: admin rights are out of reach.
    mallory.err(kick("victim"), ErrorCode::NoSess).await;
    ts.stop().await;
}

async fn demotion_by_online_owner_applies_at_verif(backend: Backend) {
    let ts = TestServer::start(backend).await;
    let (mut root, mut mallory, _victim) = setup(&ts).await;
    let answer = mallory.challenge("mallory", key(1)).await;
    root.ok(admin(AdminOp::ChangePerms, &[b"mallory", &[0]]))
        .await;
    mallory.ok(Client::verif("mallory", &answer)).await;
    mallory.err(kick("victim"), ErrorCode::Perms).await;
    assert_eq!(
        ts.probe()
            .hub()
            .online(b"mallory")
            .expect("online")
            .permission(),
        Permission::User
    );
    ts.stop().await;
}

async fn deregistration_in_the_store_refuses_verif(backend: Backend) {
    let ts = TestServer::start(backend).await;
    let (_root, mut mallory, _victim) = setup(&ts).await;
    let answer = mallory.challenge("mallory", key(1)).await;
    assert!(ts.store.deregister(b"mallory").await.expect("deregister"));
    mallory
        .err(Client::verif("mallory", &answer), ErrorCode::Dereg)
        .await;
    // The challenge is gone with it.
    mallory
        .err(Client::verif("mallory", &answer), ErrorCode::Dereg)
        .await;
    assert!(ts.probe().hub().online(b"mallory").is_none());
    ts.stop().await;
}

async fn demotion_in_the_store_applies_at_verif(backend: Backend) {
    let ts = TestServer::start(backend).await;
    let (_root, mut mallory, _victim) = setup(&ts).await;
    let answer = mallory.challenge("mallory", key(1)).await;
    ts.set_permission("mallory", Permission::User).await;
    mallory.ok(Client::verif("mallory", &answer)).await;
    mallory.err(kick("victim"), ErrorCode::Perms).await;
    ts.stop().await;
}

both_backends!(
    ban_by_online_admin_refuses_verif,
    demotion_by_online_owner_applies_at_verif,
    deregistration_in_the_store_refuses_verif,
    demotion_in_the_store_applies_at_verif,
);
