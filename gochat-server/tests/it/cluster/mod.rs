//! Several gochat-server nodes on one MariaDB database, routed through NATS (issue 14).
//!
//! Every test runs its own `nats-server -js` on a free loopback port (so stopping it never
//! disturbs anyone else) and its own MariaDB database; nodes run in this process, except
//! where a test must SIGKILL one, which runs the real binary.

mod admin;
mod delivery;
mod failures;
mod presence;
mod rolling;
mod startup;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use gochat_server::config::{ClusterConfig, Config};
use gochat_server::server::{Probe, Server};
use gochat_server::store::Store;
use sqlx::Connection;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_util::sync::CancellationToken;

use crate::common::{Client, MOTD};

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A private `nats-server -js` on a free loopback port, with its store in a temporary
/// directory; stopped and started again on the same port and store by the outage tests.
pub struct Nats {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

impl Nats {
    /// Starts one; panics (with what to install) when `nats-server` is missing.
    pub async fn start() -> Nats {
        let mut nats = Nats {
            port: free_port(),
            dir: tempfile::tempdir().expect("tempdir"),
            child: None,
        };
        nats.resume().await;
        nats
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server again (after [`Nats::stop`]).
    pub async fn resume(&mut self) {
        let child = std::process::Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-sd")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run nats-server (apt-get install nats-server)");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nats-server did not listen on port {}", self.port);
    }

    /// Stops the server (SIGKILL: an outage, not a goodbye).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A throw-away MariaDB database for one cluster.
pub struct Db {
    pub url: String,
    name: String,
}

fn mysql_server_url() -> String {
    std::env::var("GOCHAT_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

impl Db {
    pub async fn create() -> Db {
        let name = format!("gochat_cluster_{:016x}", rand::random::<u64>());
        let mut admin = sqlx::MySqlConnection::connect(&mysql_server_url())
            .await
            .expect("connect to MariaDB (is it running at 127.0.0.1:3306?)");
        sqlx::query(&format!("CREATE DATABASE `{name}`"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let _ = admin.close().await;
        Db {
            url: format!("{}/{name}", mysql_server_url()),
            name,
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(mut admin) = sqlx::MySqlConnection::connect(&mysql_server_url()).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS `{name}`"))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}

/// TLS material shared by the nodes of a cluster (one certificate behind the "balancer").
pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    pub connector: TlsConnector,
}

impl Tls {
    fn new(dir: &std::path::Path) -> Tls {
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        std::fs::write(&cert, certified.cert.pem()).expect("write cert");
        std::fs::write(&key, certified.key_pair.serialize_pem()).expect("write key");
        let mut roots = RootCertStore::empty();
        roots.add(certified.cert.der().clone()).expect("root cert");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Tls {
            cert,
            key,
            connector: TlsConnector::from(Arc::new(client)),
        }
    }
}

/// One node running in this process.
pub struct Node {
    pub plain: SocketAddr,
    pub tls: Option<SocketAddr>,
    pub store: Arc<dyn Store>,
    probe: Probe,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
    connector: Option<TlsConnector>,
}

impl Node {
    pub async fn connect(&self) -> Client {
        Client::connect(self.plain).await
    }

    pub async fn connect_tls(&self) -> Client {
        let connector = self.connector.clone().expect("TLS cluster");
        Client::connect_tls(self.tls.expect("TLS listener"), connector).await
    }

    pub fn probe(&self) -> &Probe {
        &self.probe
    }

    /// Stops the node as SIGTERM does (sessions get SHTDWN/DISCN) and waits for it.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("node stops in time")
                .expect("node task");
        }
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

impl Drop for Node {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// NATS, one database and the settings every node of one test shares.
pub struct Cluster {
    pub nats: Nats,
    pub db: Db,
    tls: Option<Tls>,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// A private NATS and a fresh database; nodes listen with TLS too when `tls`.
    pub async fn new(tls: bool) -> Cluster {
        let nats = Nats::start().await;
        let db = Db::create().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let tls = tls.then(|| Tls::new(dir.path()));
        Cluster { nats, db, tls, dir }
    }

    /// The configuration of node `id` listening on `port` (0: any).
    pub fn config(&self, id: &str, port: u16) -> Config {
        let mut config = Config {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], port))),
            database: Some(self.db.url.clone()),
            motd: MOTD.into(),
            control_socket: Some(self.dir.path().join(format!("{id}.sock"))),
            cluster: Some(ClusterConfig {
                nats: self.nats.url(),
                node_id: Some(id.to_owned()),
                ..ClusterConfig::default()
            }),
            ..Config::default()
        };
        if let Some(tls) = &self.tls {
            config.tls_listen = Some("127.0.0.1:0".parse().expect("addr"));
            config.cert = Some(tls.cert.clone());
            config.key = Some(tls.key.clone());
        }
        config
    }

    /// Starts node `id` on `port` (0: any) and waits until it sees the cluster.
    pub async fn node_on(&self, id: &str, port: u16) -> Node {
        let server = Server::start(self.config(id, port))
            .await
            .expect("node starts");
        let mut node = Node {
            plain: server.plain_addr.expect("plain listener"),
            tls: server.tls_addr,
            store: server.store(),
            probe: server.probe(),
            shutdown: server.shutdown_token(),
            task: None,
            connector: self.tls.as_ref().map(|t| t.connector.clone()),
        };
        node.task = Some(tokio::spawn(server.run()));
        wait_for(
            "the node to join the cluster",
            Duration::from_secs(20),
            || node.probe().cluster().degraded() == Some(false),
        )
        .await;
        node
    }

    /// Starts node `id` on any port.
    pub async fn node(&self, id: &str) -> Node {
        self.node_on(id, 0).await
    }

    /// Runs node `id` as a child process (`gochat-server` itself) on `port`.
    pub fn spawn_process(&self, id: &str, port: u16) -> tokio::process::Child {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_gochat-server"))
            .arg("--database")
            .arg(&self.db.url)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--control-socket")
            .arg(self.dir.path().join(format!("{id}.sock")))
            .arg("--cluster-nats")
            .arg(self.nats.url())
            .arg("--node-id")
            .arg(id)
            .env_remove("GOCHAT_CONFIG")
            .env("GOCHAT_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("run gochat-server")
    }
}

/// Polls `check` every 50 ms until it holds, for at most `limit`.
pub async fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Names listed by `USRS ONLINE` as `client` sees it.
pub async fn online(client: &mut Client) -> Vec<String> {
    let reply = client
        .call(gochat_proto::wire::Request::Users(
            gochat_proto::wire::UserList::Online,
        ))
        .await;
    assert_eq!(
        reply.action,
        gochat_proto::wire::Action::Usrs,
        "USRS ONLINE: {reply:?}"
    );
    reply
        .args
        .iter()
        .flat_map(|a| a.split(|&b| b == b'\n'))
        .filter(|n| !n.is_empty())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect()
}

/// Waits until `name` is seen online (or not) from `client`'s node.
pub async fn wait_online(client: &mut Client, name: &str, expected: bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(25);
    loop {
        let listed = online(client).await.iter().any(|n| n == name);
        if listed == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} online = {listed}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
