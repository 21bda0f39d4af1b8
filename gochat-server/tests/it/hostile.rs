//! Hostile and malformed input as raw bytes over TCP, on both backends: every bad header or
//! payload gets its `ERR` with ID 0 and a closed connection (or, where the protocol says so, a
//! reply and an open connection), nothing hangs, and the server keeps serving new clients.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::SocketAddr;
use std::time::Duration;

use crate::common::{
    Backend, Client, Options, READ_TIMEOUT, TestServer, assert_err, assert_ok, key, pem,
};
use bytes::Bytes;
use gochat_proto::wire::{
    Action, Direction, EMPTY_INFO, ErrorCode, Header, Packet, Request, UserList,
};
use gochat_testkit::{WireClient, WireError};
use tokio::io::AsyncWriteExt;

both_backends!(
    wrong_version,
    unknown_action,
    null_id,
    missing_required_info,
    too_few_arguments_for_the_action,
    more_arguments_announced_than_present,
    arguments_without_payload,
    payload_without_arguments,
    oversize_argument,
    unterminated_payload,
    truncated_packet_then_close,
    garbage_bytes,
    one_byte_writes,
    server_only_actions_from_a_client,
    ignored_separator_and_reserved_bits,
    crlf_inside_the_last_argument,
    keep_alive_flood,
    idle_timeout,
    long_user_lists,
);

/// A raw connection: bytes out, packets in (the testkit's wire client, written to byte by
/// byte).
struct Raw {
    client: WireClient,
}

impl Raw {
    /// Connects and reads HELLO (ID 0).
    async fn connect(addr: SocketAddr) -> Raw {
        let client = WireClient::connect(addr).await.expect("connect and HELLO");
        Raw { client }
    }

    async fn write(&mut self, bytes: &[u8]) {
        self.client.stream.write_all(bytes).await.expect("write");
    }

    /// The next packet, or `None` once the server closed the connection.
    async fn packet(&mut self) -> Option<Packet> {
        match self.client.next_packet(READ_TIMEOUT).await {
            Ok(p) => p,
            Err(WireError::Io(_)) => {
                assert!(
                    self.client.buf.is_empty(),
                    "the server's stream ended mid-packet"
                );
                None
            }
            Err(WireError::Truncated) => panic!("the server's stream ended mid-packet"),
            Err(WireError::Timeout { .. }) => panic!("the server answers or closes in time"),
            Err(e) => panic!("the server sent a malformed packet: {e:?}"),
        }
    }

    /// Asserts the server answers `ERR(code)` with ID 0 and closes.
    async fn expect_error_and_close(&mut self, code: ErrorCode) {
        let p = self.packet().await.expect("an ERR before the close");
        assert_err(&p, code, "malformed input");
        assert_eq!(p.id, 0, "framing errors use the null ID");
        self.expect_close().await;
    }

    /// Asserts the server closes without sending anything more.
    async fn expect_close(&mut self) {
        if let Some(p) = self.packet().await {
            panic!("expected the connection to close, got {p:?}");
        }
    }

    /// Sends a request and returns the reply.
    async fn call(&mut self, packet: Packet) -> Packet {
        let id = packet.id;
        self.write(&packet.to_bytes().expect("encodes")).await;
        let reply = self.packet().await.expect("a reply");
        assert_eq!(reply.id, id, "reply to {id}: {reply:?}");
        reply
    }
}

/// The eight header bytes for arbitrary field values.
fn header(version: u8, action: u8, info: u8, args: u8, len: u16, id: u16) -> Vec<u8> {
    Header {
        version,
        action,
        info,
        args,
        len,
        id,
        reserved: 0xFFFF,
    }
    .to_bytes()
    .to_vec()
}

/// Header, separator and payload.
fn frame(action: Action, info: u8, args: u8, id: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = header(1, action.code(), info, args, payload.len() as u16, id);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(payload);
    out
}

/// A new client can still connect, register, log in and deregister (freeing the key).
async fn assert_alive(s: &TestServer) {
    let mut c = s.connect().await;
    let name = format!("probe{:08x}", rand::random::<u32>());
    c.register(&name, key(0)).await;
    c.login(&name, key(0)).await;
    c.ok(Request::Dereg).await;
}

/// Connects, sends `bytes`, and expects `ERR(code)` with ID 0 and a close; then checks that
/// the server still serves new clients.
async fn rejects(s: &TestServer, bytes: &[u8], code: ErrorCode) {
    let mut raw = Raw::connect(s.plain).await;
    raw.write(bytes).await;
    raw.expect_error_and_close(code).await;
    assert_alive(s).await;
}

// ---------------------------------------------------------------------------------------------

async fn wrong_version(backend: Backend) {
    let s = TestServer::start(backend).await;
    for version in [0u8, 2, 15] {
        let mut bytes = header(version, Action::Login.code(), EMPTY_INFO, 1, 7, 5);
        bytes.extend_from_slice(b"\r\nalice\r\n");
        rejects(&s, &bytes, ErrorCode::Version).await;
    }
    s.stop().await;
}

async fn unknown_action(backend: Backend) {
    let s = TestServer::start(backend).await;
    for action in [0x00u8, 0x13, 0x7F, 0xFF] {
        let mut bytes = header(1, action, EMPTY_INFO, 0, 0, 5);
        bytes.extend_from_slice(b"\r\n");
        rejects(&s, &bytes, ErrorCode::Header).await;
    }
    s.stop().await;
}

async fn null_id(backend: Backend) {
    let s = TestServer::start(backend).await;
    rejects(
        &s,
        &frame(Action::Login, EMPTY_INFO, 1, 0, b"alice\r\n"),
        ErrorCode::Header,
    )
    .await;
    rejects(
        &s,
        &frame(Action::Keep, EMPTY_INFO, 0, 0, b""),
        ErrorCode::Header,
    )
    .await;
    s.stop().await;
}

async fn missing_required_info(backend: Backend) {
    let s = TestServer::start(backend).await;
    for action in [Action::Usrs, Action::Admin, Action::Sub, Action::Unsub] {
        rejects(&s, &frame(action, EMPTY_INFO, 0, 9, b""), ErrorCode::Header).await;
    }
    s.stop().await;
}

async fn too_few_arguments_for_the_action(backend: Backend) {
    let s = TestServer::start(backend).await;
    rejects(
        &s,
        &frame(Action::Msg, EMPTY_INFO, 2, 3, b"bob\r\n\x02\r\n"),
        ErrorCode::Header,
    )
    .await;
    rejects(
        &s,
        &frame(Action::Reg, EMPTY_INFO, 1, 3, b"bob\r\n"),
        ErrorCode::Header,
    )
    .await;
    rejects(
        &s,
        &frame(Action::Login, EMPTY_INFO, 0, 3, b""),
        ErrorCode::Header,
    )
    .await;
    s.stop().await;
}

async fn more_arguments_announced_than_present(backend: Backend) {
    let s = TestServer::start(backend).await;
    rejects(
        &s,
        &frame(Action::Req, EMPTY_INFO, 2, 4, b"alice\r\n"),
        ErrorCode::MaxSize,
    )
    .await;
    rejects(
        &s,
        &frame(Action::Msg, EMPTY_INFO, 5, 4, b"bob\r\n\x02\r\nxyz\r\n"),
        ErrorCode::MaxSize,
    )
    .await;
    s.stop().await;
}

async fn arguments_without_payload(backend: Backend) {
    let s = TestServer::start(backend).await;
    // Args > 0 with Len = 0: the Go server crashes on this.
    let mut bytes = header(1, Action::Login.code(), EMPTY_INFO, 1, 0, 6);
    bytes.extend_from_slice(b"\r\n");
    rejects(&s, &bytes, ErrorCode::MaxSize).await;
    let mut bytes = header(1, Action::Msg.code(), EMPTY_INFO, 3, 4, 6);
    bytes.extend_from_slice(b"\r\n\r\n\r\n");
    rejects(&s, &bytes, ErrorCode::MaxSize).await;
    s.stop().await;
}

async fn payload_without_arguments(backend: Backend) {
    let s = TestServer::start(backend).await;
    rejects(
        &s,
        &frame(Action::Logout, EMPTY_INFO, 0, 7, b"junk\r\n"),
        ErrorCode::MaxSize,
    )
    .await;
    s.stop().await;
}

async fn oversize_argument(backend: Backend) {
    let s = TestServer::start(backend).await;
    // 2045 bytes is the limit and is answered normally.
    let mut raw = Raw::connect(s.plain).await;
    let mut name = vec![b'a'; 2045];
    name.extend_from_slice(b"\r\n");
    raw.write(&frame(Action::Login, EMPTY_INFO, 1, 8, &name))
        .await;
    let reply = raw.packet().await.expect("reply");
    assert_err(&reply, ErrorCode::NotFound, "LOGIN with a 2045-byte name");
    assert_eq!(reply.id, 8);
    // One more byte is a framing fault.
    let mut name = vec![b'a'; 2046];
    name.extend_from_slice(b"\r\n");
    raw.write(&frame(Action::Login, EMPTY_INFO, 1, 9, &name))
        .await;
    raw.expect_error_and_close(ErrorCode::MaxSize).await;
    assert_alive(&s).await;
    // Also as a non-final argument.
    let mut payload = vec![b'b'; 2046];
    payload.extend_from_slice(b"\r\n\x02\r\nct\r\n");
    rejects(
        &s,
        &frame(Action::Msg, EMPTY_INFO, 3, 9, &payload),
        ErrorCode::MaxSize,
    )
    .await;
    s.stop().await;
}

async fn unterminated_payload(backend: Backend) {
    let s = TestServer::start(backend).await;
    rejects(
        &s,
        &frame(Action::Req, EMPTY_INFO, 1, 10, b"alice\r\nxx"),
        ErrorCode::MaxSize,
    )
    .await;
    rejects(
        &s,
        &frame(Action::Req, EMPTY_INFO, 1, 10, b"alice\n\r"),
        ErrorCode::MaxSize,
    )
    .await;
    s.stop().await;
}

async fn truncated_packet_then_close(backend: Backend) {
    let s = TestServer::start(backend).await;
    let full = frame(Action::Login, EMPTY_INFO, 1, 11, b"alice\r\n");
    // Cut inside the header, inside the separator, and inside the payload.
    for cut in [3, 9, 12] {
        let mut raw = Raw::connect(s.plain).await;
        raw.write(&full[..cut]).await;
        raw.client.stream.shutdown().await.expect("half-close");
        // The socket can still be written: ERR_CONN (ID 0), then the close.
        raw.expect_error_and_close(ErrorCode::Conn).await;
        assert_alive(&s).await;
    }
    // Cut mid-payload and simply dropped.
    let mut raw = Raw::connect(s.plain).await;
    raw.write(&full[..14]).await;
    drop(raw);
    assert_alive(&s).await;
    s.stop().await;
}

async fn garbage_bytes(backend: Backend) {
    let s = TestServer::start(backend).await;
    let mut random = vec![0u8; 4096];
    rand::fill(&mut random[..]);
    for garbage in [
        &b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"[..],
        &[0xFF; 64],
        &[0x00; 64],
        &random,
    ] {
        let mut raw = Raw::connect(s.plain).await;
        raw.write(garbage).await;
        let p = raw.packet().await.expect("an ERR before the close");
        assert_eq!(p.action, Action::Err, "{p:?}");
        assert_eq!(p.id, 0);
        assert!(
            [ErrorCode::Version, ErrorCode::Header, ErrorCode::MaxSize]
                .iter()
                .any(|c| c.code() == p.info),
            "a framing error code: {p:?}"
        );
        raw.expect_close().await;
        assert_alive(&s).await;
    }
    s.stop().await;
}

async fn one_byte_writes(backend: Backend) {
    let s = TestServer::start(backend).await;
    let mut raw = Raw::connect(s.plain).await;
    let reg = Request::Reg {
        username: Bytes::from_static(b"alice"),
        public_key: pem(key(0)),
    }
    .to_packet(12)
    .to_bytes()
    .expect("encodes");
    let login = Request::Login {
        username: Bytes::from_static(b"alice"),
        token: None,
    }
    .to_packet(13)
    .to_bytes()
    .expect("encodes");
    for (i, byte) in reg.iter().chain(login.iter()).enumerate() {
        raw.write(&[*byte]).await;
        if i % 64 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let reply = raw.packet().await.expect("REG reply");
    assert_ok(&reply, "REG in one-byte writes");
    assert_eq!(reply.id, 12);
    let challenge = raw.packet().await.expect("VERIF");
    assert_eq!(challenge.action, Action::Verif);
    assert_eq!(challenge.id, 13);
    let answer = key(0).decrypt(&challenge.args[0]).expect("decrypts");
    let verif = Request::Verif {
        username: Bytes::from_static(b"alice"),
        answer: Bytes::copy_from_slice(&answer),
    }
    .to_packet(14)
    .to_bytes()
    .expect("encodes");
    for byte in verif.iter() {
        raw.write(&[*byte]).await;
    }
    let reply = raw.packet().await.expect("VERIF reply");
    assert_ok(&reply, "VERIF in one-byte writes");
    s.stop().await;
}

async fn server_only_actions_from_a_client(backend: Backend) {
    let s = TestServer::start(backend).await;
    let mut raw = Raw::connect(s.plain).await;
    let packets = || {
        [
            Packet::new(Action::Hello, 20).with_arg("motd"),
            Packet::new(Action::Ok, 21),
            Packet::new(Action::Err, 22).with_info(ErrorCode::Args.code()),
            Packet::new(Action::Shtdwn, 23).with_arg(vec![0x02]),
            Packet::new(Action::Hook, 24)
                .with_info(1)
                .with_arg("bob")
                .with_arg(vec![0]),
        ]
    };
    for p in packets() {
        let reply = raw.call(p).await;
        assert_err(&reply, ErrorCode::NoSess, "server-only action before login");
    }
    // Still open: register and log in on the same connection.
    let mut c = s.connect().await;
    c.register("alice", key(0)).await;
    drop(c);
    let reply = raw
        .call(
            Request::Login {
                username: Bytes::from_static(b"alice"),
                token: None,
            }
            .to_packet(30),
        )
        .await;
    let answer = key(0).decrypt(&reply.args[0]).expect("decrypts");
    let reply = raw
        .call(Client::verif("alice", &answer).to_packet(31))
        .await;
    assert_ok(&reply, "VERIF");
    for p in packets() {
        let reply = raw.call(p).await;
        assert_err(&reply, ErrorCode::Invalid, "server-only action after login");
    }
    s.stop().await;
}

async fn ignored_separator_and_reserved_bits(backend: Backend) {
    let s = TestServer::start(backend).await;
    let mut raw = Raw::connect(s.plain).await;
    let mut bytes = Header {
        reserved: 0,
        ..Header::new(Action::Login, 0x42, 1, 7, 40)
    }
    .to_bytes()
    .to_vec();
    bytes.extend_from_slice(b"XYalice\r\n");
    raw.write(&bytes).await;
    let reply = raw.packet().await.expect("reply");
    assert_err(
        &reply,
        ErrorCode::NotFound,
        "LOGIN with odd separator and reserved bits",
    );
    assert_eq!(reply.id, 40);
    s.stop().await;
}

async fn crlf_inside_the_last_argument(backend: Backend) {
    let s = TestServer::start(backend).await;
    let mut raw = Raw::connect(s.plain).await;
    // The Go vector `crlf_inside_argument_request`: one argument "AB\r\nCD".
    let reply = raw
        .call(
            Packet::decode_exact(
                &frame(Action::Login, EMPTY_INFO, 1, 41, b"AB\r\nCD\r\n"),
                Direction::ToServer,
            )
            .expect("decodes"),
        )
        .await;
    assert_err(&reply, ErrorCode::NotFound, "LOGIN AB\\r\\nCD");
    // Several requests in one write.
    let mut batch = Vec::new();
    for id in 42..52u16 {
        batch.extend_from_slice(&frame(Action::Login, EMPTY_INFO, 1, id, b"nobody\r\n"));
    }
    raw.write(&batch).await;
    for id in 42..52u16 {
        let reply = raw.packet().await.expect("reply");
        assert_eq!(reply.id, id, "replies in request order");
        assert_err(&reply, ErrorCode::NotFound, "pipelined LOGIN");
    }
    s.stop().await;
}

async fn keep_alive_flood(backend: Backend) {
    let s = TestServer::start(backend).await;
    let mut raw = Raw::connect(s.plain).await;
    let mut flood = Vec::new();
    for i in 0..5000u16 {
        flood.extend_from_slice(&frame(Action::Keep, EMPTY_INFO, 0, i % 1023 + 1, b""));
    }
    raw.write(&flood).await;
    let reply = raw
        .call(Packet::new(Action::Usrs, 99).with_info(UserList::All.code()))
        .await;
    assert_err(
        &reply,
        ErrorCode::NoSess,
        "the first reply after 5000 KEEPs",
    );
    s.stop().await;
}

async fn idle_timeout(backend: Backend) {
    let s = TestServer::start_with(
        backend,
        Options {
            tweak: |c| c.idle_timeout_secs = 2,
            ..Options::default()
        },
    )
    .await;
    // KEEP resets the timer.
    let mut keeper = Raw::connect(s.plain).await;
    let mut idle = Raw::connect(s.plain).await;
    for i in 0..4u16 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        keeper
            .write(&frame(Action::Keep, EMPTY_INFO, 0, i + 1, b""))
            .await;
    }
    idle.expect_error_and_close(ErrorCode::Idle).await;
    let reply = keeper
        .call(Packet::new(Action::Usrs, 98).with_info(UserList::All.code()))
        .await;
    assert_err(&reply, ErrorCode::NoSess, "the kept connection is open");
    keeper.expect_error_and_close(ErrorCode::Idle).await;
    s.stop().await;
}

async fn long_user_lists(backend: Backend) {
    let s = TestServer::start(backend).await;
    // Synthetic accounts straight in the database: 200 names of 32 characters.
    let mut names = Vec::new();
    for i in 0..200u32 {
        let name = format!("{i:0>32}");
        let mut fingerprint = [0x5A; 32];
        fingerprint[..4].copy_from_slice(&i.to_be_bytes());
        s.store
            .register(name.as_bytes(), format!("key {i}").as_bytes(), &fingerprint)
            .await
            .expect("register");
        names.push(name);
    }
    let mut c = s.connect().await;
    c.register("alice", key(0)).await;
    c.login("alice", key(0)).await;
    names.push("alice".into());
    let reply = c.call(Request::Users(UserList::All)).await;
    assert_eq!(reply.action, Action::Usrs, "{reply:?}");
    assert!(
        reply.args.len() > 1,
        "a long list continues in more arguments"
    );
    assert!(reply.args.iter().all(|a| a.len() <= 2045));
    let joined: Vec<String> = reply
        .args
        .iter()
        .flat_map(|a| a.split(|&b| b == b'\n'))
        .map(|n| String::from_utf8(n.to_vec()).expect("utf8"))
        .collect();
    assert_eq!(joined, names, "every name once, in registration order");
    s.stop().await;
}
