//! Live and stored messages, catch-up order, hook subscriptions and events.

use super::*;

pub(super) async fn messages_online(backend: Backend) {
    let s = TestServer::start(backend).await;
    register_all(&s, &[("alice", ALICE), ("bob", BOB)]).await;
    let mut alice = login(&s, "alice", ALICE).await;
    let mut bob = login(&s, "bob", BOB).await;

    // A stamp with a trailing byte, forwarded verbatim on the live path.
    let mut stamp = encode_stamp(now());
    stamp.push(0x42);
    let ciphertext = encrypt_to(key(BOB), b"hello bob");
    alice
        .ok(Request::Msg {
            to: b("bob"),
            stamp: stamp.clone().into(),
            ciphertext: ciphertext.clone(),
        })
        .await;
    let reciv = bob.event().await;
    assert_eq!(reciv.action, Action::Reciv);
    assert_eq!(reciv.id, 0);
    assert_eq!(reciv.args.len(), 3);
    assert_eq!(reciv.args[0], "alice");
    assert_eq!(reciv.args[1], stamp, "stamp bytes verbatim");
    assert_eq!(reciv.args[2], ciphertext);
    assert_eq!(
        &*key(BOB).decrypt(&reciv.args[2]).expect("decrypts"),
        b"hello bob"
    );

    // Binary ciphertexts with CRLF inside, and the empty one, pass untouched.
    for raw in [&b"\r\n\x00\xff\r\nend\r\n"[..], b"", &[0x0d; 2045]] {
        alice
            .ok(Client::msg("bob", Bytes::copy_from_slice(raw)))
            .await;
        let reciv = bob.event().await;
        assert_eq!(reciv.args[2], raw);
    }

    alice
        .err(Client::msg("alice", b("me")), ErrorCode::Invalid)
        .await;
    for bad in [&[0x80u8][..], b"", &[0xFF; 11]] {
        alice
            .err(
                Request::Msg {
                    to: b("bob"),
                    stamp: Bytes::copy_from_slice(bad),
                    ciphertext: b("x"),
                },
                ErrorCode::Args,
            )
            .await;
    }
    alice
        .err(Client::msg("nobody", b("x")), ErrorCode::NotFound)
        .await;
    bob.expect_no_events().await;
    assert_eq!(s.pending("bob").await, 0, "live messages are not stored");
    s.stop().await;
}

pub(super) async fn messages_offline_and_catch_up(backend: Backend) {
    let s = TestServer::start(backend).await;
    register_all(&s, &[("alice", ALICE), ("bob", BOB), ("carol", CAROL)]).await;
    let mut alice = login(&s, "alice", ALICE).await;
    let mut carol = login(&s, "carol", CAROL).await;

    // Stamps out of order: catch-up follows the order the server stored them in.
    let t = now();
    let sent: Vec<(&str, i64, Bytes)> = vec![
        ("alice", t - 30, encrypt_to(key(BOB), b"first")),
        ("carol", t - 60, b("second\r\nwith CRLF")),
        ("alice", t - 10, b("third")),
    ];
    for (from, stamp, ciphertext) in &sent {
        let sender = if *from == "alice" {
            &mut alice
        } else {
            &mut carol
        };
        let mut raw = encode_stamp(*stamp);
        raw.extend_from_slice(b"trailing");
        sender
            .ok(Request::Msg {
                to: b("bob"),
                stamp: raw.into(),
                ciphertext: ciphertext.clone(),
            })
            .await;
    }
    assert_eq!(s.pending("bob").await, 3);

    let mut bob = login(&s, "bob", BOB).await;
    let id = bob.send(Request::Reciv).await;
    assert_ok(&bob.reply(id).await, "RECIV");
    for (from, stamp, ciphertext) in &sent {
        let p = bob.event().await;
        assert_eq!(p.action, Action::Reciv);
        assert_eq!(p.args[0], from.as_bytes());
        assert_eq!(
            p.args[1],
            encode_stamp(*stamp),
            "stamp re-encoded, trailing bytes gone"
        );
        assert_eq!(p.args[2], ciphertext);
    }
    assert_eq!(&*key(BOB).decrypt(&sent[0].2).expect("decrypts"), b"first");
    bob.err(Request::Reciv, ErrorCode::Empty).await;
    assert_eq!(s.pending("bob").await, 0);
    s.stop().await;
}

pub(super) async fn thousand_offline_messages_in_order(backend: Backend) {
    const N: usize = 1000;
    let s = TestServer::start(backend).await;
    register_all(&s, &[("alice", ALICE), ("bob", BOB)]).await;
    let mut alice = login(&s, "alice", ALICE).await;

    let started = std::time::Instant::now();
    let mut ids = Vec::with_capacity(N);
    for i in 0..N {
        ids.push(alice.feed(Client::msg("bob", format!("message {i}"))).await);
    }
    alice.flush().await;
    for id in ids {
        assert_ok(&alice.reply(id).await, "offline MSG");
    }
    eprintln!(
        "{backend:?}: {N} offline messages stored in {:?}",
        started.elapsed()
    );
    assert_eq!(s.pending("bob").await, N as u64);

    let mut bob = login(&s, "bob", BOB).await;
    let id = bob.send(Request::Reciv).await;
    assert_ok(&bob.reply(id).await, "RECIV");
    for i in 0..N {
        let p = bob.event().await;
        assert_eq!(p.action, Action::Reciv);
        assert_eq!(p.args[0], "alice");
        assert_eq!(
            p.args[2],
            format!("message {i}").as_bytes(),
            "message {i} in order"
        );
        assert!(decode_stamp(&p.args[1]).expect("stamp") >= now() - 60);
    }
    bob.err(Request::Reciv, ErrorCode::Empty).await;
    bob.expect_no_events().await;
    assert_eq!(s.pending("bob").await, 0);
    s.stop().await;
}

pub(super) async fn hook_subscriptions_and_events(backend: Backend) {
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

    alice.ok(Request::Sub(Hook::NewLogin)).await;
    alice
        .err(Request::Sub(Hook::NewLogin), ErrorCode::Exists)
        .await;
    alice
        .err(Request::Unsub(Hook::DupSess), ErrorCode::NotFound)
        .await;
    alice.ok(Request::Sub(Hook::All)).await;
    alice.ok(Request::Sub(Hook::All)).await;
    alice
        .err(Request::Sub(Hook::PermsChg), ErrorCode::Exists)
        .await;
    alice.ok(Request::Unsub(Hook::All)).await;
    alice.ok(Request::Unsub(Hook::All)).await;
    alice
        .err(Request::Unsub(Hook::NewLogout), ErrorCode::NotFound)
        .await;
    for info in [5u8, 0x80, 0xFE] {
        for action in [Action::Sub, Action::Unsub] {
            let id = alice.next_id();
            alice
                .send_packet(gochat_proto::wire::Packet::new(action, id).with_info(info))
                .await;
            assert_err(
                &alice.reply(id).await,
                ErrorCode::Option,
                "hook info out of range",
            );
        }
    }
    alice.ok(Request::Sub(Hook::All)).await;
    alice.ok(Request::Unsub(Hook::DupSess)).await;

    // NEWLOGIN with the raw permission byte.
    let mut bob = login(&s, "bob", BOB).await;
    alice.expect_hook(Hook::NewLogin, &[b"bob", &[0]]).await;
    let mut carol = login(&s, "carol", CAROL).await;
    alice.expect_hook(Hook::NewLogin, &[b"carol", &[2]]).await;
    let dave = login(&s, "dave", DAVE).await;
    alice.expect_hook(Hook::NewLogin, &[b"dave", &[1]]).await;

    // NEWLOGOUT on LOGOUT and on disconnect.
    bob.ok(Request::Logout).await;
    alice.expect_hook(Hook::NewLogout, &[b"bob"]).await;
    bob.login("bob", key(BOB)).await;
    alice.expect_hook(Hook::NewLogin, &[b"bob", &[0]]).await;
    drop(dave);
    alice.expect_hook(Hook::NewLogout, &[b"dave"]).await;

    // PERMSCHG for an online target; the target's level changes at once.
    carol.ok(chgperms("bob", 1)).await;
    alice.expect_hook(Hook::PermsChg, &[b"bob", &[1]]).await;
    let reply = bob.call(req("bob")).await;
    assert_eq!(reply.args[2], [1][..]);
    assert_eq!(
        users(&mut bob, UserList::OnlinePerms).await,
        "alice 0\nbob 1\ncarol 2"
    );
    // Not for an offline one.
    carol.ok(chgperms("dave", 0)).await;
    // Subscribers see their own events.
    carol.ok(chgperms("alice", 1)).await;
    alice.expect_hook(Hook::PermsChg, &[b"alice", &[1]]).await;
    alice.expect_no_events().await;

    // DUPSESS was unsubscribed: nothing arrives.
    let mut other = s.connect().await;
    other.err(login_req("alice"), ErrorCode::DupSess).await;
    alice.expect_no_events().await;

    // A user leaving is not told about itself.
    alice.ok(Request::Logout).await;
    alice.expect_no_events().await;
    alice.login("alice", key(ALICE)).await;
    alice.ok(Request::Sub(Hook::All)).await;
    // After UNSUB ALL, nothing more arrives.
    alice.ok(Request::Unsub(Hook::All)).await;
    bob.ok(Request::Logout).await;
    alice.expect_no_events().await;
    s.stop().await;
}
