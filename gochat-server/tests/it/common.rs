//! Shared harness of the integration tests: an in-process server on either backend (SQLite
//! in a temporary directory, or MariaDB in a throw-away database), optionally with a TLS
//! listener on a self-signed certificate, and a small protocol client over real sockets.
//!
//! Every read has a timeout, so a test that waits for a packet that never comes fails
//! instead of hanging.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use gochat_proto::crypto::PrivateKey;
use gochat_proto::wire::{
    Action, CodecError, ErrorCode, GochatCodec, Hook, Packet, Permission, Request, encode_stamp,
};
use gochat_server::config::Config;
use gochat_server::server::Server;
use gochat_server::store::Store;
use sqlx::Connection;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

/// The MOTD every test server greets with.
pub const MOTD: &str = "Welcome to the gochat integration tests!";
/// How long any single read may wait.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a whole scenario may take.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(100);

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

fn vector_key_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../proto/tests/vectors/keys")
        .join(file)
}

/// The Go-exported keys: 0 alice, 1 bob, 2 carol (RSA-4096), 3 pyclient (RSA-2048).
pub fn vector_keys() -> &'static [PrivateKey] {
    static KEYS: OnceLock<Vec<PrivateKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        ["alice", "bob", "carol", "pyclient"]
            .iter()
            .map(|name| {
                let pem = std::fs::read(vector_key_path(&format!("{name}.priv.pem")))
                    .unwrap_or_else(|e| panic!("cannot read the {name} vector key: {e}"));
                PrivateKey::from_pem(&pem).expect("vector key parses")
            })
            .collect()
    })
}

/// Freshly generated RSA-4096 keys (made once per test binary, in parallel).
pub fn generated_keys() -> &'static [PrivateKey] {
    static KEYS: OnceLock<Vec<PrivateKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let workers: Vec<_> = (0..2)
            .map(|_| std::thread::spawn(|| PrivateKey::generate().expect("key generation")))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("key thread"))
            .collect()
    })
}

/// Key number `i`: the four vector keys first, then generated ones.
pub fn key(i: usize) -> &'static PrivateKey {
    let vectors = vector_keys();
    if i < vectors.len() {
        &vectors[i]
    } else {
        &generated_keys()[i - vectors.len()]
    }
}

/// The text of a vector public key file (`alice.pub.reg.pem`, …).
pub fn vector_file(file: &str) -> Vec<u8> {
    std::fs::read(vector_key_path(file)).expect("vector file")
}

/// The normalised PEM of a key (what REQ answers).
pub fn pem(key: &PrivateKey) -> Bytes {
    Bytes::from(key.public_key().to_pem())
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// The current time as a stamp argument.
pub fn stamp_now() -> Bytes {
    Bytes::from(encode_stamp(now()))
}

// ---------------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------------

/// Which database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in a temporary directory.
    Sqlite,
    /// MariaDB at 127.0.0.1:3306 in a fresh database.
    MariaDb,
}

/// MariaDB server used by the tests (no database part).
fn mysql_server_url() -> String {
    std::env::var("GOCHAT_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

/// A throw-away MariaDB database, dropped by [`MariaDb::drop_now`] or, failing that, when
/// the guard is dropped (a test that panicked).
struct MariaDb {
    name: String,
    dropped: bool,
}

impl MariaDb {
    async fn create() -> MariaDb {
        let name = format!("gochat_it_{:016x}", rand::random::<u64>());
        let mut admin = sqlx::MySqlConnection::connect(&mysql_server_url())
            .await
            .expect("connect to MariaDB (is it running at 127.0.0.1:3306?)");
        sqlx::query(&format!("CREATE DATABASE `{name}`"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let _ = admin.close().await;
        MariaDb {
            name,
            dropped: false,
        }
    }

    fn url(&self) -> String {
        format!("{}/{}", mysql_server_url(), self.name)
    }

    async fn drop_database(name: &str) -> Result<(), sqlx::Error> {
        let mut admin = sqlx::MySqlConnection::connect(&mysql_server_url()).await?;
        sqlx::query("SET SESSION lock_wait_timeout = 10")
            .execute(&mut admin)
            .await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS `{name}`"))
            .execute(&mut admin)
            .await?;
        let _ = admin.close().await;
        Ok(())
    }

    async fn drop_now(mut self) {
        self.dropped = true;
        Self::drop_database(&self.name)
            .await
            .expect("drop test database");
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // A failed test: drop the database from a thread of its own, outside the test's
        // runtime.
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            if let Err(e) = rt.block_on(Self::drop_database(&name)) {
                eprintln!("could not drop test database {name}: {e}");
            }
        })
        .join();
    }
}

/// Server settings a test may change before start.
#[derive(Debug, Clone)]
pub struct Options {
    /// Also listen with TLS.
    pub tls: bool,
    /// Applied to the configuration last.
    pub tweak: fn(&mut Config),
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tls: false,
            tweak: |_| {},
        }
    }
}

/// A server running in this process.
pub struct TestServer {
    pub backend: Backend,
    /// Plain TCP address.
    pub plain: SocketAddr,
    /// TLS address, when started with TLS.
    pub tls: Option<SocketAddr>,
    /// The server's own store (for setting permissions and counting stored messages).
    pub store: Arc<dyn Store>,
    /// The configuration the server runs with (database URL, control socket).
    pub config: Config,
    /// A view of the server's in-memory state (hub, metrics, admission).
    probe: gochat_server::server::Probe,
    /// The database URL the server uses (for tests that fill tables directly).
    pub database_url: String,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
    connector: Option<TlsConnector>,
    db: Option<MariaDb>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server on plain TCP only.
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, Options::default()).await
    }

    /// Starts a server with a TLS listener too.
    pub async fn start_tls(backend: Backend) -> TestServer {
        Self::start_with(
            backend,
            Options {
                tls: true,
                ..Options::default()
            },
        )
        .await
    }

    /// Starts a server with `options`.
    pub async fn start_with(backend: Backend, options: Options) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = match backend {
            Backend::Sqlite => None,
            Backend::MariaDb => Some(MariaDb::create().await),
        };
        let url = match &db {
            None => format!("sqlite://{}/db.sqlite", dir.path().display()),
            Some(db) => db.url(),
        };
        let mut config = Config {
            listen: Some("127.0.0.1:0".parse().expect("addr")),
            database: Some(url),
            motd: MOTD.into(),
            ..Config::default()
        };
        let mut connector = None;
        if options.tls {
            let certified =
                rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
            let cert_path = dir.path().join("cert.pem");
            let key_path = dir.path().join("key.pem");
            std::fs::write(&cert_path, certified.cert.pem()).expect("write cert");
            std::fs::write(&key_path, certified.key_pair.serialize_pem()).expect("write key");
            config.tls_listen = Some("127.0.0.1:0".parse().expect("addr"));
            config.cert = Some(cert_path);
            config.key = Some(key_path);
            let mut roots = RootCertStore::empty();
            roots.add(certified.cert.der().clone()).expect("root cert");
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let client = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            connector = Some(TlsConnector::from(Arc::new(client)));
        }
        config.control_socket = Some(dir.path().join("control.sock"));
        (options.tweak)(&mut config);
        let database_url = config.database_url();
        let server = Server::start(config.clone()).await.expect("server starts");
        let plain = server.plain_addr.expect("plain listener");
        let tls = server.tls_addr;
        let store = server.store();
        let probe = server.probe();
        let shutdown = server.shutdown_token();
        let task = tokio::spawn(server.run());
        TestServer {
            backend,
            plain,
            tls,
            store,
            config,
            probe,
            database_url,
            shutdown,
            task: Some(task),
            connector,
            db,
            _dir: dir,
        }
    }

    /// A view of the running server's in-memory state (hub, metrics, admission).
    pub fn probe(&self) -> gochat_server::server::Probe {
        self.probe.clone()
    }

    /// Stops the server and removes its database.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("server stops in time")
                .expect("server task");
        }
        if let Some(db) = self.db.take() {
            db.drop_now().await;
        }
    }

    /// Asks the server to stop (as SIGTERM does) without waiting.
    pub fn trigger_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// A new plain TCP client (HELLO already read).
    pub async fn connect(&self) -> Client {
        Client::connect(self.plain).await
    }

    /// A new TLS client (HELLO already read).
    pub async fn connect_tls(&self) -> Client {
        let connector = self.connector.clone().expect("server started with TLS");
        Client::connect_tls(self.tls.expect("TLS listener"), connector).await
    }

    /// A plain client registered and logged in as `name` with `key`.
    pub async fn user(&self, name: &str, key: &PrivateKey) -> Client {
        let mut c = self.connect().await;
        c.register(name, key).await;
        c.login(name, key).await;
        c
    }

    /// Sets a permission level directly in the database (takes effect at the next login).
    pub async fn set_permission(&self, name: &str, level: Permission) {
        assert!(
            self.store
                .set_permission(name.as_bytes(), level)
                .await
                .expect("set permission"),
            "{name} exists"
        );
    }

    /// Messages stored for `name`.
    pub async fn pending(&self, name: &str) -> u64 {
        let user = self
            .store
            .user(name.as_bytes())
            .await
            .expect("lookup")
            .expect("user exists");
        self.store.count_pending(user.id).await.expect("count")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Runs `scenario` against `backend` with the whole-scenario timeout.
pub async fn run<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(Backend) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    tokio::time::timeout(SCENARIO_TIMEOUT, scenario(backend))
        .await
        .expect("scenario finished in time");
}

/// Declares one test per backend for each scenario `async fn name(Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::common::run($crate::common::Backend::Sqlite, super::$name).await;
                }
            )*
        }
        mod mariadb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::common::run($crate::common::Backend::MariaDb, super::$name).await;
                }
            )*
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

/// Any byte stream a client can run over.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A protocol client: typed requests out, packets in, unsolicited (ID 0) packets kept aside
/// until asked for.
pub struct Client {
    framed: Framed<Box<dyn Io>, GochatCodec>,
    next_id: u16,
    events: VecDeque<Packet>,
    /// The greeting.
    pub hello: Packet,
}

impl Client {
    /// Connects over plain TCP and reads HELLO.
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Self::over(Box::new(stream)).await
    }

    /// Connects over TLS and reads HELLO.
    pub async fn connect_tls(addr: SocketAddr, connector: TlsConnector) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
        let tls = tokio::time::timeout(READ_TIMEOUT, connector.connect(name, stream))
            .await
            .expect("TLS handshake in time")
            .expect("TLS handshake");
        Self::over(Box::new(tls)).await
    }

    /// Wraps a connected stream and reads HELLO.
    pub async fn over(io: Box<dyn Io>) -> Client {
        let mut framed = Framed::new(io, GochatCodec::client());
        let hello = tokio::time::timeout(READ_TIMEOUT, framed.next())
            .await
            .expect("HELLO in time")
            .expect("HELLO, not EOF")
            .expect("HELLO decodes");
        assert_eq!(
            hello.action,
            Action::Hello,
            "first packet is HELLO: {hello:?}"
        );
        assert_eq!(hello.id, 0, "HELLO has ID 0");
        Client {
            framed,
            next_id: rand::random_range(1..=1023),
            events: VecDeque::new(),
            hello,
        }
    }

    /// The MOTD from HELLO.
    pub fn motd(&self) -> &[u8] {
        self.hello.arg(0).expect("HELLO has an argument")
    }

    /// The next request ID: 1..=1023, wrapping, never 0.
    pub fn next_id(&mut self) -> u16 {
        let id = self.next_id;
        self.next_id = if id >= 1023 { 1 } else { id + 1 };
        id
    }

    /// Sends a request; returns its ID.
    pub async fn send(&mut self, request: Request) -> u16 {
        let id = self.next_id();
        self.send_packet(request.to_packet(id)).await;
        id
    }

    /// Sends a packet as is.
    pub async fn send_packet(&mut self, packet: Packet) {
        tokio::time::timeout(READ_TIMEOUT, self.framed.send(packet))
            .await
            .expect("send in time")
            .expect("send");
    }

    /// Queues a request without flushing (see [`Client::flush`]); returns its ID.
    pub async fn feed(&mut self, request: Request) -> u16 {
        let id = self.next_id();
        tokio::time::timeout(READ_TIMEOUT, self.framed.feed(request.to_packet(id)))
            .await
            .expect("feed in time")
            .expect("feed");
        id
    }

    /// Flushes fed requests.
    pub async fn flush(&mut self) {
        tokio::time::timeout(READ_TIMEOUT, SinkExt::<Packet>::flush(&mut self.framed))
            .await
            .expect("flush in time")
            .expect("flush");
    }

    /// The next packet from the wire, `None` at a clean end of stream.
    pub async fn next_raw(&mut self, timeout: Duration) -> Option<Result<Packet, CodecError>> {
        tokio::time::timeout(timeout, self.framed.next())
            .await
            .expect("a packet (or the end of the stream) in time")
    }

    /// The next packet from the wire; panics at the end of the stream.
    pub async fn recv(&mut self) -> Packet {
        match self.next_raw(READ_TIMEOUT).await {
            Some(Ok(p)) => p,
            Some(Err(e)) => panic!("connection failed while waiting for a packet: {e}"),
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
        if let Ok(p) = tokio::time::timeout(wait, self.framed.next()).await {
            panic!("expected silence, got {p:?}");
        }
    }

    /// Asserts that no unsolicited packet is waiting: sends a request that is always answered
    /// (`USRS` with an unknown kind) and checks nothing came before the reply.
    pub async fn expect_no_events(&mut self) {
        let id = self.next_id();
        self.send_packet(Packet::new(Action::Usrs, id).with_info(0xFE))
            .await;
        let reply = self.reply(id).await;
        assert_eq!(reply.action, Action::Err, "{reply:?}");
        assert!(
            self.events.is_empty(),
            "unexpected events: {:?}",
            self.events
        );
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
        let id = self
            .send(Request::Login {
                username: Bytes::copy_from_slice(name.as_bytes()),
                token: None,
            })
            .await;
        let reply = self.reply(id).await;
        assert_eq!(reply.action, Action::Verif, "LOGIN {name}: {reply:?}");
        assert_eq!(reply.args.len(), 1, "VERIF has one argument");
        key.decrypt(&reply.args[0]).expect("challenge decrypts")
    }

    /// Full challenge login, retried while the name is still online elsewhere (a previous
    /// session of the same user that is being torn down).
    pub async fn login_when_free(&mut self, name: &str, key: &PrivateKey) {
        for _ in 0..100 {
            let id = self.send(login_req(name)).await;
            let reply = self.reply(id).await;
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

/// A request naming one user.
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

/// Asserts `p` is `OK`.
pub fn assert_ok(p: &Packet, what: &str) {
    assert!(
        p.action == Action::Ok,
        "{what}: expected OK, got {} {:?}",
        describe(p),
        p.args
    );
}

/// Asserts `p` is `ERR(code)`.
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
