//! Registration, challenge and token logins, duplicate sessions, keys and user lists,
//! logout and deregistration.

use super::*;

pub(super) async fn registration(backend: Backend) {
    let s = TestServer::start(backend).await;
    let mut c = s.connect().await;
    assert_eq!(c.hello.args.len(), 1, "HELLO carries one argument");
    assert_eq!(c.motd(), MOTD.as_bytes());

    // The Go client's REG text, verbatim.
    c.ok(reg("alice", vector_file("alice.pub.reg.pem"))).await;
    c.err(reg("alice", pem(key(BOB))), ErrorCode::Exists).await;
    c.err(reg("Alice", pem(key(BOB))), ErrorCode::Args).await;
    c.err(reg("", pem(key(BOB))), ErrorCode::Args).await;
    c.err(reg("bo b", pem(key(BOB))), ErrorCode::Args).await;
    c.err(reg(&"b".repeat(33), pem(key(BOB))), ErrorCode::Args)
        .await;
    c.err(reg("bob", b("not a key")), ErrorCode::Args).await;
    c.err(
        reg(
            "bob",
            b("-----BEGIN RSA PUBLIC KEY-----\nAAAAAAAA\n-----END RSA PUBLIC KEY-----\n"),
        ),
        ErrorCode::Args,
    )
    .await;
    // The same key under a second name, in the same and in another PEM form.
    c.err(reg("alice2", pem(key(ALICE))), ErrorCode::Exists)
        .await;
    let other_form = encode_pem("PUBLIC KEY", key(ALICE).public_key().spki_der());
    c.err(reg("alice3", b(&other_form)), ErrorCode::Exists)
        .await;
    c.ok(reg("bob", pem(key(BOB)))).await;
    c.ok(reg(&"z".repeat(32), pem(key(CAROL)))).await;
    // The Python client's standard `PUBLIC KEY` label.
    c.ok(reg("py", vector_file("pyclient.pub.reg.pem"))).await;

    // Nothing but KEEP, REG, LOGIN and VERIF before a login.
    c.send(Request::Keep).await;
    for request in [
        Request::Users(UserList::All),
        req("alice"),
        Request::Logout,
        Request::Dereg,
        Request::Reciv,
        Request::Sub(Hook::All),
        Request::Unsub(Hook::All),
        Client::msg("bob", b("hi")),
        kick("bob"),
    ] {
        c.err(request, ErrorCode::NoSess).await;
    }
    // KEEP got no reply: the next reply is for the next request.
    c.expect_no_events().await;
    s.stop().await;
}

pub(super) async fn login_by_challenge(backend: Backend) {
    let s = TestServer::start(backend).await;
    register_all(&s, &[("alice", ALICE), ("bob", BOB)]).await;

    let mut a = s.connect().await;
    let id = a.send(login_req("alice")).await;
    let challenge = a.reply(id).await;
    assert_eq!(challenge.action, Action::Verif);
    assert_eq!(challenge.id, id, "VERIF carries the LOGIN's ID");
    assert_eq!(challenge.args[0].len(), 512, "an RSA-4096 ciphertext");
    assert!(
        !challenge.args[0].windows(2).any(|w| w == b"\r\n"),
        "challenges are CRLF-free"
    );
    let answer = key(ALICE).decrypt(&challenge.args[0]).expect("decrypts");
    assert_eq!(answer.len(), 128);
    assert!(
        answer
            .iter()
            .all(|c| c.is_ascii_alphabetic() || b"#$%&*+-?!".contains(c))
    );
    a.ok(verif("alice", &answer)).await;

    // Logged in: REG, LOGIN and VERIF are invalid.
    a.err(login_req("alice"), ErrorCode::Invalid).await;
    a.err(login_req("bob"), ErrorCode::Invalid).await;
    a.err(reg("carol", pem(key(CAROL))), ErrorCode::Invalid)
        .await;
    a.err(verif("alice", &answer), ErrorCode::Invalid).await;

    let mut c = s.connect().await;
    c.err(login_req("nobody"), ErrorCode::NotFound).await;
    c.err(verif("nobody", b"x"), ErrorCode::NotFound).await;
    c.err(verif("bob", b"x"), ErrorCode::Invalid).await;
    let bob = c.challenge("bob", key(BOB)).await;
    // A pending challenge is not a login.
    c.err(Request::Logout, ErrorCode::NoSess).await;
    c.err(verif("bob", b"wrong answer"), ErrorCode::Handshake)
        .await;
    // A failed answer drops the challenge.
    c.err(verif("bob", &bob), ErrorCode::Invalid).await;
    // A VERIF for another name than the pending one.
    let _ = c.challenge("bob", key(BOB)).await;
    c.err(verif("alice", b"x"), ErrorCode::Invalid).await;
    // A second LOGIN on the same connection replaces the challenge.
    let first = c.challenge("bob", key(BOB)).await;
    let second = c.challenge("bob", key(BOB)).await;
    assert_ne!(*first, *second, "every challenge is fresh");
    c.ok(verif("bob", &second)).await;
    assert_eq!(users(&mut c, UserList::Online).await, "alice\nbob");
    s.stop().await;
}

pub(super) async fn duplicate_sessions(backend: Backend) {
    let s = TestServer::start(backend).await;
    register_all(&s, &[("alice", ALICE), ("bob", BOB), ("carol", CAROL)]).await;

    let mut a = login(&s, "alice", ALICE).await;
    a.ok(Request::Sub(Hook::DupSess)).await;
    let mut other = s.connect().await;
    other.err(login_req("alice"), ErrorCode::DupSess).await;
    a.expect_hook(Hook::DupSess, &[b"127.0.0.1"]).await;

    // Without a subscription, the session is not told.
    let mut bob = login(&s, "bob", BOB).await;
    other.err(login_req("bob"), ErrorCode::DupSess).await;
    bob.expect_no_events().await;

    // A VERIF that arrives after the name came online elsewhere.
    let mut late = s.connect().await;
    let answer = late.challenge("carol", key(CAROL)).await;
    let _carol = login(&s, "carol", CAROL).await;
    late.err(verif("carol", &answer), ErrorCode::DupSess).await;

    // The first sessions are untouched.
    assert_eq!(users(&mut a, UserList::Online).await, "alice\nbob\ncarol");
    s.stop().await;
}

pub(super) async fn foreign_login_leaves_pending_challenge_alone(backend: Backend) {
    let s = TestServer::start(backend).await;
    register_all(&s, &[("alice", ALICE)]).await;

    let mut victim = s.connect().await;
    let answer = victim.challenge("alice", key(ALICE)).await;

    // Someone else asks for alice's challenge, fails it, and asks again.
    let mut attacker = s.connect().await;
    let id = attacker.send(login_req("alice")).await;
    assert_eq!(attacker.reply(id).await.action, Action::Verif);
    attacker
        .err(verif("alice", &answer), ErrorCode::Handshake)
        .await;
    let id = attacker.send(login_req("alice")).await;
    let theirs = attacker.reply(id).await;
    assert_eq!(theirs.action, Action::Verif);

    victim.ok(verif("alice", &answer)).await;
    // The attacker's own challenge is now useless: alice is online.
    let stolen = key(ALICE).decrypt(&theirs.args[0]).expect("decrypts");
    attacker
        .err(verif("alice", &stolen), ErrorCode::DupSess)
        .await;
    s.stop().await;
}

pub(super) async fn keys_and_user_lists(backend: Backend) {
    let s = TestServer::start(backend).await;
    let mut c = s.connect().await;
    c.ok(reg("alice", vector_file("alice.pub.reg.pem"))).await;
    c.register("bob", key(BOB)).await;
    c.register("carol", key(CAROL)).await;
    c.ok(reg("dave", vector_file("pyclient.pub.reg.pem"))).await;
    s.set_permission("carol", Permission::Owner).await;

    let mut carol = login(&s, "carol", CAROL).await;
    let mut alice = login(&s, "alice", ALICE).await;

    for (name, file, perm) in [
        ("alice", "alice.pub.reg.pem", 0u8),
        ("carol", "carol.pub.reg.pem", 2),
        ("dave", "pyclient.pub.reg.pem", 0),
    ] {
        let reply = alice.call(req(name)).await;
        assert_eq!(reply.action, Action::Req, "REQ {name}: {reply:?}");
        let registered = vector_file(file);
        let normalised = PublicKey::parse(&registered).expect("parses").to_pem();
        assert_eq!(reply.args.len(), 3);
        assert_eq!(reply.args[0], name.as_bytes());
        assert_eq!(
            reply.args[1],
            normalised.as_bytes(),
            "normalised PEM of {name}"
        );
        assert_eq!(reply.args[2], [perm][..], "permission byte of {name}");
    }
    // The Go server's REQ form of the Python client's key, byte for byte.
    let reply = alice.call(req("dave")).await;
    assert_eq!(reply.args[1], vector_file("pyclient.pub.req.pem"));
    alice.err(req("nobody"), ErrorCode::NotFound).await;

    assert_eq!(
        users(&mut alice, UserList::All).await,
        "alice\nbob\ncarol\ndave"
    );
    assert_eq!(
        users(&mut alice, UserList::AllPerms).await,
        "alice 0\nbob 0\ncarol 2\ndave 0"
    );
    assert_eq!(users(&mut carol, UserList::Online).await, "alice\ncarol");
    assert_eq!(
        users(&mut carol, UserList::OnlinePerms).await,
        "alice 0\ncarol 2"
    );
    let mut bob = login(&s, "bob", BOB).await;
    assert_eq!(users(&mut bob, UserList::Online).await, "alice\nbob\ncarol");

    for info in [4u8, 0x7F, 0xFE] {
        let id = alice.next_id();
        alice
            .send_packet(gochat_proto::wire::Packet::new(Action::Usrs, id).with_info(info))
            .await;
        assert_err(
            &alice.reply(id).await,
            ErrorCode::Option,
            "USRS info {info}",
        );
    }

    // Deregistered users leave the lists, and REQ says so.
    bob.ok(Request::Dereg).await;
    assert_eq!(users(&mut alice, UserList::All).await, "alice\ncarol\ndave");
    assert_eq!(users(&mut alice, UserList::Online).await, "alice\ncarol");
    alice.err(req("bob"), ErrorCode::Dereg).await;
    s.stop().await;
}

pub(super) async fn token_login_over_tls(backend: Backend) {
    let s = TestServer::start_tls(backend).await;
    register_all(&s, &[("alice", ALICE), ("bob", BOB), ("dave", DAVE)]).await;
    s.set_permission("dave", Permission::Admin).await;
    let mut observer = login(&s, "dave", DAVE).await;
    observer.ok(Request::Sub(Hook::NewLogin)).await;
    observer.ok(Request::Sub(Hook::NewLogout)).await;

    let mut a = s.connect_tls().await;
    let token = a.login("alice", key(ALICE)).await;
    observer
        .expect_hook(Hook::NewLogin, &[b"alice", &[0]])
        .await;
    // While alice is online, her token cannot open a second session.
    let mut other = s.connect_tls().await;
    other
        .err(token_login("alice", &token), ErrorCode::DupSess)
        .await;

    a.ok(Request::Logout).await;
    observer.expect_hook(Hook::NewLogout, &[b"alice"]).await;
    a.ok(token_login("alice", &token)).await;
    observer
        .expect_hook(Hook::NewLogin, &[b"alice", &[0]])
        .await;
    a.ok(Request::Logout).await;
    observer.expect_hook(Hook::NewLogout, &[b"alice"]).await;
    // Reusable, from another connection too.
    other.ok(token_login("alice", &token)).await;
    observer
        .expect_hook(Hook::NewLogin, &[b"alice", &[0]])
        .await;
    drop(other);
    observer.expect_hook(Hook::NewLogout, &[b"alice"]).await;

    a.err(token_login("alice", b"not the token"), ErrorCode::Handshake)
        .await;
    let mut plain = s.connect().await;
    plain
        .err(token_login("alice", &token), ErrorCode::NoSecure)
        .await;
    // The refused attempts did not consume it.
    a.ok(token_login("alice", &token)).await;
    observer
        .expect_hook(Hook::NewLogin, &[b"alice", &[0]])
        .await;
    a.ok(Request::Logout).await;
    observer.expect_hook(Hook::NewLogout, &[b"alice"]).await;

    // A plain-TCP challenge login earns no token.
    let bob_answer = plain.login("bob", key(BOB)).await;
    plain.ok(Request::Logout).await;
    observer.expect_hook(Hook::NewLogin, &[b"bob", &[0]]).await;
    observer.expect_hook(Hook::NewLogout, &[b"bob"]).await;
    a.err(token_login("bob", &bob_answer), ErrorCode::NotFound)
        .await;
    a.err(token_login("nobody", b"x"), ErrorCode::NotFound)
        .await;

    // A kick discards the token.
    let mut fresh = s.connect_tls().await;
    let token = fresh.login("alice", key(ALICE)).await;
    observer
        .expect_hook(Hook::NewLogin, &[b"alice", &[0]])
        .await;
    observer.ok(kick("alice")).await;
    let _ = fresh.closed().await;
    observer.expect_hook(Hook::NewLogout, &[b"alice"]).await;
    a.err(token_login("alice", &token), ErrorCode::NotFound)
        .await;
    s.stop().await;
}

pub(super) async fn logout_relogin_and_deregistration(backend: Backend) {
    let s = TestServer::start(backend).await;
    register_all(&s, &[("alice", ALICE), ("bob", BOB), ("carol", CAROL)]).await;
    let mut alice = login(&s, "alice", ALICE).await;
    alice.ok(Request::Sub(Hook::NewLogout)).await;
    alice.ok(Client::msg("bob", b("waiting 1"))).await;
    alice.ok(Client::msg("bob", b("waiting 2"))).await;

    let mut c = s.connect().await;
    c.login("carol", key(CAROL)).await;
    c.ok(Request::Logout).await;
    alice.expect_hook(Hook::NewLogout, &[b"carol"]).await;
    c.err(Request::Logout, ErrorCode::NoSess).await;
    // Another user on the same connection.
    c.login("bob", key(BOB)).await;
    assert_eq!(s.pending("bob").await, 2);
    c.ok(Request::Dereg).await;
    alice.expect_hook(Hook::NewLogout, &[b"bob"]).await;
    assert_eq!(
        s.pending("bob").await,
        0,
        "stored messages go with the account"
    );

    // The connection stays open, logged out; the name is gone for good.
    c.err(Request::Users(UserList::All), ErrorCode::NoSess)
        .await;
    c.err(reg("bob", pem(key(BOB))), ErrorCode::Dereg).await;
    c.err(login_req("bob"), ErrorCode::Dereg).await;
    c.err(verif("bob", b"x"), ErrorCode::Dereg).await;
    alice
        .err(Client::msg("bob", b("x")), ErrorCode::Dereg)
        .await;
    alice.err(req("bob"), ErrorCode::Dereg).await;
    c.login("carol", key(CAROL)).await;
    assert_eq!(users(&mut c, UserList::AllPerms).await, "alice 0\ncarol 0");
    s.stop().await;
}
