//! Shared harness: a real gochat-server (from `gochat-testkit`) and real daemons on temporary
//! sockets and stores.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gochat_proto::ipc::{self, AccountRef, DaemonClient, event};
use gochatd::config::DaemonConfig;
use gochatd::daemon::Daemon;
use gochatd::store::Store;

/// A real gochat-server in this process (the testkit's), plain TCP, SQLite in `dir`.
pub struct TestServer {
    server: gochat_testkit::TestServer,
    /// Its address (the TLS one when a tweak made it TLS only).
    pub addr: std::net::SocketAddr,
    /// Cancelling it stops the server (as SIGTERM does), without waiting.
    pub token: tokio_util::sync::CancellationToken,
    /// Its database; a server started again on it finds the same data.
    pub dir: tempfile::TempDir,
}

impl TestServer {
    /// Stops the server and waits until it has (its listeners are closed and its sessions
    /// ended); returns its directory, to start it again on the same data.
    pub async fn stop(self) -> tempfile::TempDir {
        self.server.stop().await;
        self.dir
    }
}

pub async fn start_server() -> TestServer {
    start_server_with(tempfile::tempdir().expect("tempdir"), |_| {}).await
}

/// Starts a server whose database lives in `dir`, after `tweak` adjusted its settings.
pub async fn start_server_with(
    dir: tempfile::TempDir,
    tweak: impl FnOnce(&mut gochat_server::config::Config),
) -> TestServer {
    let server = gochat_testkit::TestServer::start(
        gochat_testkit::ServerOptions {
            motd: "test server".into(),
            dir: Some(dir.path().to_owned()),
            ..Default::default()
        },
        tweak,
    )
    .await;
    TestServer {
        addr: server.addr(),
        token: server.shutdown_token(),
        server,
        dir,
    }
}

pub struct TestDaemon {
    pub client: DaemonClient,
    pub daemon: Arc<Daemon>,
    pub socket: PathBuf,
    pub dir: tempfile::TempDir,
}

pub async fn start_daemon_in(dir: tempfile::TempDir) -> TestDaemon {
    let socket = dir.path().join("run").join("gochatd.sock");
    let config = DaemonConfig {
        socket: Some(socket.clone()),
        database: Some(dir.path().join("data").join("gochatd.db")),
        ..Default::default()
    };
    let bound = gochatd::socket::bind(&socket).await.expect("bind socket");
    let store = Store::open(&config.database_path()).await.expect("store");
    let daemon = Daemon::start(store, config).await.expect("daemon starts");
    let serving = daemon.clone();
    tokio::spawn(async move { gochatd::run::serve(serving, bound).await });
    // The socket is bound before the daemon serves it: the first connect is queued, not refused.
    let client = ipc::connect(&socket)
        .await
        .expect("connect to the bound socket");
    TestDaemon {
        client,
        daemon,
        socket,
        dir,
    }
}

/// A client of the daemon at `socket` once it answers `Status` (a daemon process that is
/// starting), waiting at most `limit`.
pub async fn connect_when_up(socket: &std::path::Path, limit: Duration) -> DaemonClient {
    gochat_testkit::wait::wait_until_some(
        &format!("gochatd to answer at {}", socket.display()),
        limit,
        async || {
            let mut c = ipc::connect(socket).await.ok()?;
            c.status(ipc::Empty {}).await.ok()?;
            Some(c)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

pub async fn start_daemon() -> TestDaemon {
    start_daemon_in(tempfile::tempdir().expect("tempdir")).await
}

pub async fn add_server(d: &mut TestDaemon, server: &TestServer) {
    d.client
        .add_server(ipc::ServerProfile {
            name: "local".into(),
            host: server.addr.ip().to_string(),
            port: u32::from(server.addr.port()),
            ..Default::default()
        })
        .await
        .expect("add server");
}

pub async fn register(d: &mut TestDaemon, name: &str) -> ipc::Account {
    d.client
        .register(ipc::RegisterRequest {
            account: Some(AccountRef {
                server: String::new(),
                username: name.into(),
            }),
            passphrase: String::new(),
        })
        .await
        .expect("register")
        .into_inner()
}

pub async fn next_received(events: &mut tonic::Streaming<ipc::Event>) -> ipc::Message {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(20), events.message())
            .await
            .expect("event in time")
            .expect("stream ok")
            .expect("stream open");
        if let Some(event::Kind::MessageReceived(m)) = ev.kind {
            return m;
        }
    }
}

pub fn send(to: &str, text: &str, wait: bool) -> ipc::SendRequest {
    ipc::SendRequest {
        account: None,
        to: to.into(),
        text: text.into(),
        wait,
    }
}

/// Two daemons with one registered, online account each on `server`.
pub async fn two_users(server: &TestServer, first: &str, second: &str) -> (TestDaemon, TestDaemon) {
    let mut a = start_daemon().await;
    let mut b = start_daemon().await;
    add_server(&mut a, server).await;
    add_server(&mut b, server).await;
    register(&mut a, first).await;
    register(&mut b, second).await;
    (a, b)
}
