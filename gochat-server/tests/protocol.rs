//! The protocol end to end over real sockets, on both backends: greeting, registration,
//! challenge and token logins, duplicate sessions, keys and user lists, live and stored
//! messages, hooks, every admin operation, logout and deregistration.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use bytes::Bytes;
use common::{
    Backend, Client, MOTD, TestServer, assert_err, assert_ok, key, login_req, now, pem, req,
    vector_file,
};
use gochat_proto::crypto::{EncryptingKey, PrivateKey};
use gochat_proto::wire::{
    Action, AdminOp, AdminRequest, ErrorCode, Hook, Permission, PublicKey, Request, UserList,
    decode_stamp, encode_pem, encode_stamp,
};

both_backends!(
    registration,
    login_by_challenge,
    duplicate_sessions,
    foreign_login_leaves_pending_challenge_alone,
    keys_and_user_lists,
    messages_online,
    messages_offline_and_catch_up,
    thousand_offline_messages_in_order,
    hook_subscriptions_and_events,
    admin_permission_rules_and_motd,
    admin_kick,
    admin_ban,
    admin_change_permissions,
    admin_shutdown,
    scheduled_shutdown_takes_place,
    server_shutdown_says_goodbye,
    admin_broadcast,
    token_login_over_tls,
    logout_relogin_and_deregistration,
);

const ALICE: usize = 0;
const BOB: usize = 1;
const CAROL: usize = 2;
const DAVE: usize = 3;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn reg(name: &str, public_key: impl Into<Bytes>) -> Request {
    Request::Reg {
        username: b(name),
        public_key: public_key.into(),
    }
}

fn verif(name: &str, answer: &[u8]) -> Request {
    Client::verif(name, answer)
}

fn token_login(name: &str, token: &[u8]) -> Request {
    Request::Login {
        username: b(name),
        token: Some(Bytes::copy_from_slice(token)),
    }
}

fn admin(op: AdminOp, args: &[&[u8]]) -> Request {
    Request::Admin {
        op: op.code(),
        args: args.iter().map(|a| Bytes::copy_from_slice(a)).collect(),
    }
}

fn kick(name: &str) -> Request {
    AdminRequest::Kick { username: b(name) }.into_request()
}

fn ban(name: &str) -> Request {
    AdminRequest::Dereg { username: b(name) }.into_request()
}

fn chgperms(name: &str, level: u8) -> Request {
    AdminRequest::ChangePerms {
        username: b(name),
        level,
    }
    .into_request()
}

fn encrypt_to(k: &PrivateKey, plaintext: &[u8]) -> Bytes {
    EncryptingKey::new(k.public_key())
        .expect("usable key")
        .encrypt(plaintext)
        .expect("encrypts")
        .into()
}

async fn users(c: &mut Client, kind: UserList) -> Bytes {
    let reply = c.call(Request::Users(kind)).await;
    assert_eq!(reply.action, Action::Usrs, "USRS {kind}: {reply:?}");
    assert_eq!(reply.info, 0xFF, "the USRS reply does not echo the kind");
    assert_eq!(reply.args.len(), 1, "one list argument");
    reply.args[0].clone()
}

/// The target of a kick or ban gets `ERR_DISCN` (ID 0), then the connection closes.
fn assert_disconnected(last: &[gochat_proto::wire::Packet]) {
    assert_eq!(last.len(), 1, "one packet before the close: {last:?}");
    assert_err(&last[0], ErrorCode::Discn, "kicked or banned");
    assert_eq!(last[0].id, 0);
}

/// Registers every `(name, key index)` from one connection.
async fn register_all(s: &TestServer, accounts: &[(&str, usize)]) {
    let mut c = s.connect().await;
    for (name, k) in accounts {
        c.register(name, key(*k)).await;
    }
}

/// Logs in on an already registered account.
async fn login(s: &TestServer, name: &str, k: usize) -> Client {
    let mut c = s.connect().await;
    c.login(name, key(k)).await;
    c
}

// ---------------------------------------------------------------------------------------------

async fn registration(backend: Backend) {
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

async fn login_by_challenge(backend: Backend) {
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

async fn duplicate_sessions(backend: Backend) {
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

async fn foreign_login_leaves_pending_challenge_alone(backend: Backend) {
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

async fn keys_and_user_lists(backend: Backend) {
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

async fn messages_online(backend: Backend) {
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

async fn messages_offline_and_catch_up(backend: Backend) {
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

async fn thousand_offline_messages_in_order(backend: Backend) {
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

async fn hook_subscriptions_and_events(backend: Backend) {
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

async fn admin_permission_rules_and_motd(backend: Backend) {
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

async fn admin_kick(backend: Backend) {
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

async fn admin_ban(backend: Backend) {
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

async fn admin_change_permissions(backend: Backend) {
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

async fn admin_shutdown(backend: Backend) {
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

async fn scheduled_shutdown_takes_place(backend: Backend) {
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
    let mut listening = true;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(s.plain).await.is_err() {
            listening = false;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!listening, "the listener closes");
    s.stop().await;
}

async fn server_shutdown_says_goodbye(backend: Backend) {
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

async fn admin_broadcast(backend: Backend) {
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

async fn token_login_over_tls(backend: Backend) {
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

async fn logout_relogin_and_deregistration(backend: Backend) {
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
