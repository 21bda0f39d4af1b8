//! [`TestClient`]: the [`WireClient`] with assertions, for tests that check a server packet
//! by packet. Unsolicited (ID 0) packets are kept aside until asked for, and every read has
//! a timeout ([`READ_TIMEOUT`]), so a test waiting for a packet that never comes fails
//! instead of hanging. Every method panics with a readable message when the server does not
//! answer as expected.

#![allow(clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use gochat_proto::crypto::PrivateKey;
use gochat_proto::wire::{Action, ErrorCode, Hook, Packet, Request, encode_stamp};
use tokio_rustls::TlsConnector;
use zeroize::Zeroizing;

use crate::wire::{BoxedIo, WireClient, WireError};

/// How long any single read may wait.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// A protocol client for tests: typed requests out, packets in, events kept aside.
pub struct TestClient {
    wire: WireClient<BoxedIo>,
    events: VecDeque<Packet>,
    /// The greeting.
    pub hello: Packet,
}

impl TestClient {
    /// Connects over plain TCP and reads HELLO.
    pub async fn connect(addr: SocketAddr) -> TestClient {
        let wire = WireClient::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("connect and read HELLO: {}", chain(&e)));
        Self::from_wire(wire.boxed())
    }

    /// Connects over TLS to `localhost` and reads HELLO.
    pub async fn connect_tls(addr: SocketAddr, connector: TlsConnector) -> TestClient {
        let wire = WireClient::connect_tls(addr, &connector, "localhost")
            .await
            .unwrap_or_else(|e| panic!("connect over TLS and read HELLO: {}", chain(&e)));
        Self::from_wire(wire.boxed())
    }

    /// Wraps a connected stream and reads HELLO.
    pub async fn over(io: BoxedIo) -> TestClient {
        let wire = WireClient::over(io)
            .await
            .unwrap_or_else(|e| panic!("HELLO: {}", chain(&e)));
        Self::from_wire(wire)
    }

    /// Wraps a connected client.
    pub fn from_wire(mut wire: WireClient<BoxedIo>) -> TestClient {
        wire.set_timeout(READ_TIMEOUT);
        TestClient {
            hello: wire.hello.clone(),
            wire,
            events: VecDeque::new(),
        }
    }

    /// The client underneath, for what the assertions do not cover.
    pub fn wire(&mut self) -> &mut WireClient<BoxedIo> {
        &mut self.wire
    }

    /// The MOTD from HELLO.
    pub fn motd(&self) -> &[u8] {
        self.hello.arg(0).expect("HELLO has an argument")
    }

    /// A fresh request ID: 1..=1023, wrapping, never 0.
    pub fn next_id(&mut self) -> u16 {
        self.wire.next_id()
    }

    /// Sends a request; returns its ID.
    pub async fn send(&mut self, request: Request) -> u16 {
        let id = self.next_id();
        self.send_packet(request.to_packet(id)).await;
        id
    }

    /// Sends a packet as is.
    pub async fn send_packet(&mut self, packet: Packet) {
        self.wire
            .send(&packet)
            .await
            .unwrap_or_else(|e| panic!("send: {}", chain(&e)));
    }

    /// Queues a request without writing it (see [`TestClient::flush`]); returns its ID.
    pub async fn feed(&mut self, request: Request) -> u16 {
        let id = self.next_id();
        self.wire
            .feed(&request.to_packet(id))
            .unwrap_or_else(|e| panic!("feed: {}", chain(&e)));
        id
    }

    /// Writes the fed requests.
    pub async fn flush(&mut self) {
        self.wire
            .flush()
            .await
            .unwrap_or_else(|e| panic!("flush: {}", chain(&e)));
    }

    /// The next packet from the wire, `None` at a clean end of the stream; panics when
    /// nothing (not even the end) comes within `timeout`.
    pub async fn next_raw(&mut self, timeout: Duration) -> Option<Result<Packet, WireError>> {
        match self.wire.next_packet(timeout).await {
            Ok(Some(p)) => Some(Ok(p)),
            Ok(None) => None,
            Err(WireError::Timeout { .. }) => {
                panic!("a packet (or the end of the stream) in time")
            }
            Err(e) => Some(Err(e)),
        }
    }

    /// The next packet from the wire; panics at the end of the stream.
    pub async fn recv(&mut self) -> Packet {
        match self.next_raw(READ_TIMEOUT).await {
            Some(Ok(p)) => p,
            Some(Err(e)) => panic!(
                "connection failed while waiting for a packet: {}",
                chain(&e)
            ),
            None => panic!("connection closed while waiting for a packet"),
        }
    }

    /// The reply to request `id`; ID-0 packets received meanwhile are kept as events.
    pub async fn reply(&mut self, id: u16) -> Packet {
        loop {
            let p = self.recv().await;
            if p.id == 0 {
                self.events.push_back(p);
                continue;
            }
            assert_eq!(p.id, id, "reply to request {id} expected, got {p:?}");
            return p;
        }
    }

    /// Sends `request` and returns its reply.
    pub async fn call(&mut self, request: Request) -> Packet {
        let id = self.send(request).await;
        self.reply(id).await
    }

    /// Sends `request` and asserts the reply is `OK`.
    pub async fn ok(&mut self, request: Request) {
        let what = format!("{request:?}");
        let reply = self.call(request).await;
        assert_ok(&reply, &what);
    }

    /// Sends `request` and asserts the reply is `ERR(code)`.
    pub async fn err(&mut self, request: Request, code: ErrorCode) {
        let what = format!("{request:?}");
        let reply = self.call(request).await;
        assert_err(&reply, code, &what);
    }

    /// The next unsolicited (ID 0) packet.
    pub async fn event(&mut self) -> Packet {
        if let Some(p) = self.events.pop_front() {
            return p;
        }
        let p = self.recv().await;
        assert_eq!(p.id, 0, "expected an unsolicited packet, got {p:?}");
        p
    }

    /// The next event, which must be `HOOK hook` with `args`.
    pub async fn expect_hook(&mut self, hook: Hook, args: &[&[u8]]) {
        let p = self.event().await;
        assert_eq!(p.action, Action::Hook, "expected HOOK {hook}, got {p:?}");
        assert_eq!(p.info, hook.code(), "expected HOOK {hook}, got {p:?}");
        let got: Vec<&[u8]> = p.args.iter().map(|a| a.as_ref()).collect();
        assert_eq!(got, args, "arguments of HOOK {hook}");
    }

    /// Asserts that nothing arrives within `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        assert!(
            self.events.is_empty(),
            "unexpected events: {:?}",
            self.events
        );
        match self.wire.next_packet(wait).await {
            Err(WireError::Timeout { .. }) => {}
            other => panic!("expected silence, got {other:?}"),
        }
    }

    /// Asserts that no unsolicited packet is waiting: sends a request that is always answered
    /// (`USRS` with an unknown kind) and checks nothing came before the reply.
    pub async fn expect_no_events(&mut self) {
        let events = self.drain_events().await;
        assert!(events.is_empty(), "unexpected events: {events:?}");
    }

    /// Every unsolicited packet sent before the reply to a marker request (`USRS` with an
    /// unknown kind): replies come in request order, so this is everything queued so far.
    pub async fn drain_events(&mut self) -> Vec<Packet> {
        let id = self.next_id();
        self.send_packet(Packet::new(Action::Usrs, id).with_info(0xFE))
            .await;
        let reply = self.reply(id).await;
        assert_eq!(reply.action, Action::Err, "{reply:?}");
        self.events.drain(..).collect()
    }

    /// Reads until the server closes the connection; returns what came before the end.
    pub async fn closed(&mut self) -> Vec<Packet> {
        let mut got: Vec<Packet> = self.events.drain(..).collect();
        loop {
            match self.next_raw(READ_TIMEOUT).await {
                Some(Ok(p)) => got.push(p),
                Some(Err(_)) | None => return got,
            }
        }
    }

    /// `REG name <PEM of key>` → OK.
    pub async fn register(&mut self, name: &str, key: &PrivateKey) {
        self.ok(Request::Reg {
            username: Bytes::copy_from_slice(name.as_bytes()),
            public_key: pem(key),
        })
        .await;
    }

    /// `LOGIN name` → VERIF; returns the decrypted challenge.
    pub async fn challenge(&mut self, name: &str, key: &PrivateKey) -> Zeroizing<Vec<u8>> {
        let reply = self.call(login_req(name)).await;
        assert_eq!(reply.action, Action::Verif, "LOGIN {name}: {reply:?}");
        assert_eq!(reply.args.len(), 1, "VERIF has one argument");
        key.decrypt(&reply.args[0]).expect("challenge decrypts")
    }

    /// Full challenge login, retried while the name is still online elsewhere (a previous
    /// session of the same user that is being torn down).
    pub async fn login_when_free(&mut self, name: &str, key: &PrivateKey) {
        for _ in 0..100 {
            let reply = self.call(login_req(name)).await;
            if reply.action == Action::Err && reply.info == ErrorCode::DupSess.code() {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            assert_eq!(reply.action, Action::Verif, "LOGIN {name}: {reply:?}");
            let answer = key.decrypt(&reply.args[0]).expect("challenge decrypts");
            self.ok(Self::verif(name, &answer)).await;
            return;
        }
        panic!("{name} stayed online");
    }

    /// `VERIF name answer`.
    pub fn verif(name: &str, answer: &[u8]) -> Request {
        Request::Verif {
            username: Bytes::copy_from_slice(name.as_bytes()),
            answer: Bytes::copy_from_slice(answer),
        }
    }

    /// Full challenge login; returns the challenge (the reusable token over TLS).
    pub async fn login(&mut self, name: &str, key: &PrivateKey) -> Zeroizing<Vec<u8>> {
        let answer = self.challenge(name, key).await;
        self.ok(Self::verif(name, &answer)).await;
        answer
    }

    /// `MSG to <now> <ciphertext>`.
    pub fn msg(to: &str, ciphertext: impl Into<Bytes>) -> Request {
        Request::Msg {
            to: Bytes::copy_from_slice(to.as_bytes()),
            stamp: stamp_now(),
            ciphertext: ciphertext.into(),
        }
    }
}

fn chain(e: &WireError) -> String {
    gochat_proto::error_chain::Chain(e).to_string()
}

/// `LOGIN name` without a token.
pub fn login_req(name: &str) -> Request {
    Request::Login {
        username: Bytes::copy_from_slice(name.as_bytes()),
        token: None,
    }
}

/// `REQ name`.
pub fn req(name: &str) -> Request {
    Request::Req {
        username: Bytes::copy_from_slice(name.as_bytes()),
    }
}

/// The normalised PEM of a key (what REQ answers).
pub fn pem(key: &PrivateKey) -> Bytes {
    Bytes::from(key.public_key().to_pem())
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The current time as a stamp argument.
pub fn stamp_now() -> Bytes {
    Bytes::from(encode_stamp(now()))
}

/// Asserts `p` is `OK`.
#[track_caller]
pub fn assert_ok(p: &Packet, what: &str) {
    assert!(
        p.action == Action::Ok,
        "{what}: expected OK, got {} {:?}",
        describe(p),
        p.args
    );
}

/// Asserts `p` is `ERR(code)`.
#[track_caller]
pub fn assert_err(p: &Packet, code: ErrorCode, what: &str) {
    assert!(
        p.action == Action::Err && p.info == code.code(),
        "{what}: expected ERR {}, got {}",
        code.name(),
        describe(p)
    );
}

/// `ACTION` or `ERR NAME` for messages.
pub fn describe(p: &Packet) -> String {
    if p.action == Action::Err {
        match ErrorCode::from_code(p.info) {
            Some(c) => format!("ERR {} (id {})", c.name(), p.id),
            None => format!("ERR {:#04x} (id {})", p.info, p.id),
        }
    } else {
        format!("{} (id {})", p.action, p.id)
    }
}
