//! Every admin operation: permission rules, MOTD, kick, ban, permission changes,
//! shutdown (announced, scheduled, on signal) and broadcast.

use super::*;

pub(super) async fn admin_permission_rules_and_motd(backend: Backend) {
    let s = TestServer::start(backend).await;
    register_all(
        &s,
        &[
            ("alice", ALICE),
            ("bob", BOB),
            ("carol", CAROL),
            ("dave", DAVE),
        ],
    )
    .await;
    s.set_permission("carol", Permission::Owner).await;
    s.set_permission("dave", Permission::Admin).await;
    let mut alice = login(&s, "alice", ALICE).await;
    let _bob = login(&s, "bob", BOB).await;
    let mut carol = login(&s, "carol", CAROL).await;
    let mut dave = login(&s, "dave", DAVE).await;

    // Permission 0: ERR_PERMS whatever the op, even an unknown one or a missing argument.
    for request in [
        kick("bob"),
        admin(AdminOp::Motd, &[b"mine"]),
        admin(AdminOp::Kick, &[]),
        Request::Admin {
            op: 9,
            args: vec![],
        },
    ] {
        alice.err(request, ErrorCode::Perms).await;
    }
    // ADMIN: unknown op, then missing arguments, then the op's level.
    dave.err(
        Request::Admin {
            op: 6,
            args: vec![b("x")],
        },
        ErrorCode::Invalid,
    )
    .await;
    dave.err(admin(AdminOp::Kick, &[]), ErrorCode::Args).await;
    dave.err(admin(AdminOp::ChangePerms, &[b"bob"]), ErrorCode::Args)
        .await;
    dave.err(admin(AdminOp::Motd, &[b"mine"]), ErrorCode::Perms)
        .await;
    dave.err(chgperms("bob", 1), ErrorCode::Perms).await;

    // MOTD: the owner only; later connections are greeted with it.
    carol.ok(admin(AdminOp::Motd, &[b"A fresh MOTD"])).await;
    assert_eq!(s.connect().await.motd(), b"A fresh MOTD");
    carol.ok(admin(AdminOp::Motd, &[b""])).await;
    let greeted = s.connect().await;
    assert_eq!(
        greeted.hello.args.len(),
        1,
        "an empty MOTD is still one argument"
    );
    assert_eq!(greeted.motd(), b"");
    s.stop().await;
}

pub(super) async fn admin_kick(backend: Backend) {
    let s = TestServer::start(backend).await;
    register_all(
        &s,
        &[
            ("alice", ALICE),
            ("bob", BOB),
            ("carol", CAROL),
            ("dave", DAVE),
        ],
    )
    .await;
    s.set_permission("carol", Permission::Owner).await;
    s.set_permission("dave", Permission::Admin).await;
    let mut alice = login(&s, "alice", ALICE).await;
    let mut bob = login(&s, "bob", BOB).await;
    let _carol = login(&s, "carol", CAROL).await;
    let mut dave = login(&s, "dave", DAVE).await;
    alice.ok(Request::Sub(Hook::NewLogout)).await;

    alice.err(kick("bob"), ErrorCode::Perms).await;
    dave.err(kick("carol"), ErrorCode::Perms).await;
    dave.err(kick("dave"), ErrorCode::Perms).await;
    dave.err(kick("nobody"), ErrorCode::NotFound).await;

    dave.ok(kick("bob")).await;
    let last = bob.closed().await;
    assert_disconnected(&last);
    alice.expect_hook(Hook::NewLogout, &[b"bob"]).await;
    dave.err(kick("bob"), ErrorCode::NotFound).await;

    // Kicked, not banned.
    let mut bob = login(&s, "bob", BOB).await;
    assert_eq!(
        users(&mut bob, UserList::Online).await,
        "alice\nbob\ncarol\ndave"
    );
    s.stop().await;
}

pub(super) async fn admin_ban(backend: Backend) {
    let s = TestServer::start(backend).await;
    register_all(
        &s,
        &[
            ("alice", ALICE),
            ("bob", BOB),
            ("carol", CAROL),
            ("dave", DAVE),
        ],
    )
    .await;
    s.set_permission("carol", Permission::Owner).await;
    s.set_permission("dave", Permission::Admin).await;
    let mut alice = login(&s, "alice", ALICE).await;
    let mut dave = login(&s, "dave", DAVE).await;
    alice.ok(Request::Sub(Hook::NewLogout)).await;

    // Messages waiting for the target are dropped with it.
    dave.ok(Client::msg("bob", b("one"))).await;
    dave.ok(Client::msg("bob", b("two"))).await;
    assert_eq!(s.pending("bob").await, 2);
    let mut bob = login(&s, "bob", BOB).await;

    alice.err(ban("bob"), ErrorCode::Perms).await;
    dave.err(ban("nobody"), ErrorCode::NotFound).await;
    dave.err(ban("carol"), ErrorCode::Perms).await;
    dave.err(ban("dave"), ErrorCode::Perms).await;

    dave.ok(ban("bob")).await;
    let last = bob.closed().await;
    assert_disconnected(&last);
    alice.expect_hook(Hook::NewLogout, &[b"bob"]).await;
    assert_eq!(s.pending("bob").await, 0);

    let mut again = s.connect().await;
    again.err(login_req("bob"), ErrorCode::Dereg).await;
    again.err(reg("bob", pem(key(BOB))), ErrorCode::Dereg).await;
    dave.ok(ban("bob")).await;
    alice
        .err(Client::msg("bob", b("x")), ErrorCode::Dereg)
        .await;
    alice.err(req("bob"), ErrorCode::Dereg).await;
    assert_eq!(users(&mut alice, UserList::All).await, "alice\ncarol\ndave");
    // The key is free again, as on the Go server.
    again.ok(reg("robert", pem(key(BOB)))).await;
    s.stop().await;
}

pub(super) async fn admin_change_permissions(backend: Backend) {
    let s = TestServer::start(backend).await;
    register_all(
        &s,
        &[
            ("alice", ALICE),
            ("bob", BOB),
            ("carol", CAROL),
            ("dave", DAVE),
        ],
    )
    .await;
    s.set_permission("carol", Permission::Owner).await;
    s.set_permission("dave", Permission::Admin).await;
    s.set_permission("bob", Permission::Owner).await;
    let mut alice = login(&s, "alice", ALICE).await;
    let mut carol = login(&s, "carol", CAROL).await;
    let mut dave = login(&s, "dave", DAVE).await;
    alice.ok(Request::Sub(Hook::PermsChg)).await;

    carol.err(chgperms("carol", 1), ErrorCode::Invalid).await;
    carol.err(chgperms("nobody", 1), ErrorCode::NotFound).await;
    carol
        .err(
            admin(AdminOp::ChangePerms, &[b"alice", b""]),
            ErrorCode::Args,
        )
        .await;
    carol.err(chgperms("alice", 7), ErrorCode::Args).await;
    carol.err(chgperms("alice", 2), ErrorCode::Perms).await;
    carol.err(chgperms("bob", 0), ErrorCode::Perms).await;
    carol.err(chgperms("alice", 0), ErrorCode::Invalid).await;
    dave.err(chgperms("alice", 1), ErrorCode::Perms).await;

    // Only the first byte of the level counts.
    carol
        .ok(admin(AdminOp::ChangePerms, &[b"alice", b"\x01trailing"]))
        .await;
    alice.expect_hook(Hook::PermsChg, &[b"alice", &[1]]).await;
    carol.err(chgperms("alice", 1), ErrorCode::Invalid).await;
    // The new level applies at once: alice may kick users now.
    alice.err(kick("nobody"), ErrorCode::NotFound).await;
    carol.ok(chgperms("dave", 0)).await;
    alice.expect_hook(Hook::PermsChg, &[b"dave", &[0]]).await;
    dave.err(kick("nobody"), ErrorCode::Perms).await;
    let reply = dave.call(req("dave")).await;
    assert_eq!(reply.args[2], [0][..]);
    alice.expect_no_events().await;
    s.stop().await;
}

pub(super) async fn admin_shutdown(backend: Backend) {
    let s = TestServer::start(backend).await;
    register_all(&s, &[("alice", ALICE), ("bob", BOB), ("dave", DAVE)]).await;
    s.set_permission("dave", Permission::Admin).await;
    let mut alice = login(&s, "alice", ALICE).await;
    let mut dave = login(&s, "dave", DAVE).await;
    let mut anonymous = s.connect().await;

    let shutdown = |stamp: &[u8]| admin(AdminOp::Shutdown, &[stamp]);
    alice
        .err(shutdown(&encode_stamp(now() + 60)), ErrorCode::Perms)
        .await;
    dave.err(shutdown(&encode_stamp(now() - 3600)), ErrorCode::Args)
        .await;
    dave.err(shutdown(&[0x80]), ErrorCode::Args).await;

    let stamp = encode_stamp(now() + 60);
    dave.ok(shutdown(&stamp)).await;
    for c in [&mut dave, &mut alice] {
        let p = c.event().await;
        assert_eq!(p.action, Action::Shtdwn, "{p:?}");
        assert_eq!(p.id, 0);
        assert_eq!(
            p.args,
            vec![Bytes::from(stamp.clone())],
            "the admin's raw stamp"
        );
    }
    anonymous.expect_no_events().await;

    // A later login is told right after its OK.
    let mut bob = s.connect().await;
    bob.login("bob", key(BOB)).await;
    let p = bob.event().await;
    assert_eq!(p.action, Action::Shtdwn);
    assert_eq!(p.args[0], stamp);

    // The earliest shutdown wins.
    dave.ok(shutdown(&encode_stamp(now() + 120))).await;
    for c in [&mut dave, &mut alice, &mut bob] {
        let p = c.event().await;
        assert_eq!(p.action, Action::Shtdwn);
        assert_eq!(p.args[0], stamp, "still the earlier stamp");
    }
    s.stop().await;
}

pub(super) async fn scheduled_shutdown_takes_place(backend: Backend) {
    let s = TestServer::start(backend).await;
    register_all(&s, &[("alice", ALICE), ("dave", DAVE)]).await;
    s.set_permission("dave", Permission::Admin).await;
    let mut alice = login(&s, "alice", ALICE).await;
    let mut dave = login(&s, "dave", DAVE).await;
    let mut anonymous = s.connect().await;

    let stamp = encode_stamp(now() + 1);
    dave.ok(admin(AdminOp::Shutdown, &[&stamp])).await;
    for c in [&mut alice, &mut dave] {
        let last = c.closed().await;
        assert_eq!(last[0].action, Action::Shtdwn, "{last:?}");
        assert_eq!(last[0].args[0], stamp);
        let end = last.last().expect("packets before the close");
        assert_err(end, ErrorCode::Discn, "the last packet");
        // The server repeats SHTDWN (stamp = now) as it stops.
        assert!(
            last[1..last.len() - 1]
                .iter()
                .all(|p| p.action == Action::Shtdwn)
        );
    }
    let last = anonymous.closed().await;
    assert_eq!(last.len(), 1, "{last:?}");
    assert_err(&last[0], ErrorCode::Discn, "a connection without a login");
    let plain = s.plain;
    gochat_testkit::wait::wait_until(
        "the listener to close",
        std::time::Duration::from_secs(5),
        || async move { tokio::net::TcpStream::connect(plain).await.is_err() },
    )
    .await
    .expect("the listener closes");
    s.stop().await;
}

pub(super) async fn server_shutdown_says_goodbye(backend: Backend) {
    let s = TestServer::start(backend).await;
    register_all(&s, &[("alice", ALICE)]).await;
    let mut alice = login(&s, "alice", ALICE).await;
    let mut anonymous = s.connect().await;
    s.trigger_shutdown();
    let last = alice.closed().await;
    assert_eq!(last.len(), 2, "SHTDWN, then ERR_DISCN: {last:?}");
    assert_eq!(last[0].action, Action::Shtdwn);
    assert_eq!(last[0].id, 0);
    assert!((decode_stamp(&last[0].args[0]).expect("stamp") - now()).abs() <= 2);
    assert_err(&last[1], ErrorCode::Discn, "after SHTDWN");
    assert_eq!(last[1].id, 0);
    let last = anonymous.closed().await;
    assert_eq!(last.len(), 1, "{last:?}");
    assert_err(&last[0], ErrorCode::Discn, "a connection without a login");
    s.stop().await;
}

pub(super) async fn admin_broadcast(backend: Backend) {
    let s = TestServer::start_tls(backend).await;
    // The 2048-bit key gets smaller broadcast pieces.
    register_all(
        &s,
        &[
            ("alice", DAVE),
            ("bob", BOB),
            ("carol", CAROL),
            ("dave", ALICE),
        ],
    )
    .await;
    s.set_permission("carol", Permission::Owner).await;
    s.set_permission("dave", Permission::Admin).await;
    let mut alice = login(&s, "alice", DAVE).await;
    let mut bob = s.connect_tls().await;
    bob.login("bob", key(BOB)).await;
    let mut carol = login(&s, "carol", CAROL).await;

    carol
        .err(admin(AdminOp::Broadcast, &[b"hi"]), ErrorCode::NoSecure)
        .await;
    let mut dave = s.connect_tls().await;
    dave.login("dave", key(ALICE)).await;
    alice
        .err(admin(AdminOp::Broadcast, &[b"hi"]), ErrorCode::Perms)
        .await;

    let text = "Maintenance at noon.";
    dave.ok(admin(AdminOp::Broadcast, &[text.as_bytes()])).await;
    for (c, k) in [(&mut alice, DAVE), (&mut bob, BOB), (&mut carol, CAROL)] {
        let p = c.event().await;
        assert_eq!(p.action, Action::Reciv);
        assert_eq!(p.id, 0);
        assert_eq!(p.args[0], "dave");
        assert!((decode_stamp(&p.args[1]).expect("stamp") - now()).abs() <= 5);
        let plain = key(k).decrypt(&p.args[2]).expect("decrypts");
        assert_eq!(
            &*plain,
            format!("ADMINISTRATIVE BROADCAST:\n{text}").as_bytes()
        );
    }
    dave.expect_no_events().await;

    // A long text arrives in pieces, each prefixed, together the whole text.
    let long: String = "Ünïcødé broadcast — ".repeat(40);
    dave.ok(admin(AdminOp::Broadcast, &[long.as_bytes()])).await;
    for (c, k) in [(&mut alice, DAVE), (&mut bob, BOB), (&mut carol, CAROL)] {
        let mut joined = Vec::new();
        while joined.len() < long.len() {
            let p = c.event().await;
            assert_eq!(p.action, Action::Reciv);
            let plain = key(k).decrypt(&p.args[2]).expect("decrypts");
            let piece = plain
                .strip_prefix(b"ADMINISTRATIVE BROADCAST:\n".as_slice())
                .expect("every piece is prefixed");
            assert!(
                std::str::from_utf8(piece).is_ok(),
                "pieces split on characters"
            );
            joined.extend_from_slice(piece);
        }
        assert_eq!(joined, long.as_bytes());
    }

    // Users who are offline get nothing, not even later.
    carol.ok(Request::Logout).await;
    dave.ok(admin(AdminOp::Broadcast, &[b"while carol is away"]))
        .await;
    assert_eq!(alice.event().await.action, Action::Reciv);
    carol.expect_no_events().await;
    carol.login("carol", key(CAROL)).await;
    carol.err(Request::Reciv, ErrorCode::Empty).await;
    s.stop().await;
}
