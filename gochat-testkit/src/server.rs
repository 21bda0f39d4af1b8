//! A real `gochat-server` in this process (through the library, as every suite does): on
//! SQLite in a directory or on a fresh MariaDB database, with plain TCP, TLS (a self-signed
//! certificate for `localhost`), or both. Listeners bind `127.0.0.1:0`, so the addresses are
//! known and accepting as soon as [`TestServer::start`] returns.
//!
//! A fixture: it panics when the server cannot start.

#![allow(clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gochat_server::config::Config;
use gochat_server::server::{Probe, Server};
use gochat_server::store::Store;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

use crate::certs::CertKey;
use crate::mariadb::TempDatabase;
use crate::wire::{BoxedIo, WireClient, WireError};

/// How long [`TestServer::stop`] waits for the server to finish.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// Which database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in the server's directory.
    Sqlite,
    /// MariaDB (see [`crate::mariadb`]) in a fresh database, dropped by [`TestServer::stop`].
    MariaDb,
}

/// Which listeners a test server opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listeners {
    /// Plain TCP only.
    Plain,
    /// Plain TCP and TLS.
    PlainAndTls,
    /// TLS only.
    Tls,
}

/// How to start a test server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The database.
    pub backend: Backend,
    /// The listeners.
    pub listeners: Listeners,
    /// The greeting in HELLO.
    pub motd: String,
    /// Where the SQLite file (`server.db`), the certificate (`cert.pem`, `key.pem`) and the
    /// control socket go. `None`: a temporary directory the server owns. A caller that
    /// passes its own directory can restart a server on the same data.
    pub dir: Option<PathBuf>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            backend: Backend::Sqlite,
            listeners: Listeners::Plain,
            motd: "gochat test server".into(),
            dir: None,
        }
    }
}

/// A server running in this process. Dropping it asks the server to stop; [`TestServer::stop`]
/// also waits until it has, and drops a MariaDB database.
pub struct TestServer {
    backend: Backend,
    plain: Option<SocketAddr>,
    tls: Option<SocketAddr>,
    store: Arc<dyn Store>,
    config: Config,
    probe: Probe,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
    cert: Option<(PathBuf, TlsConnector)>,
    db: Option<TempDatabase>,
    dir: PathBuf,
    _owned_dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server with `options`, after `tweak` had the last word on its settings.
    pub async fn start(options: ServerOptions, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let (dir, owned_dir) = match options.dir {
            Some(dir) => (dir, None),
            None => {
                let owned = tempfile::tempdir().expect("tempdir");
                (owned.path().to_owned(), Some(owned))
            }
        };
        let db = match options.backend {
            Backend::Sqlite => None,
            Backend::MariaDb => Some(
                TempDatabase::create()
                    .await
                    .expect("create a MariaDB test database (is it running at 127.0.0.1:3306?)"),
            ),
        };
        let url = match &db {
            None => format!("sqlite://{}", dir.join("server.db").display()),
            Some(db) => db.url(),
        };
        let any: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let mut config = Config {
            listen: (options.listeners != Listeners::Tls).then_some(any),
            database: Some(url),
            motd: options.motd,
            control_socket: Some(dir.join("control.sock")),
            ..Config::default()
        };
        let mut cert = None;
        if options.listeners != Listeners::Plain {
            let certified = CertKey::self_signed(&["localhost"]).expect("certificate");
            let files = certified
                .write_pem_as(dir.join("cert.pem"), dir.join("key.pem"))
                .expect("write the certificate");
            config.tls_listen = Some(any);
            config.cert = Some(files.cert.clone());
            config.key = Some(files.key);
            cert = Some((files.cert, certified.connector().expect("TLS connector")));
        }
        tweak(&mut config);
        let server = Server::start(config.clone())
            .await
            .unwrap_or_else(|e| panic!("server starts: {}", gochat_proto::error_chain::Chain(&e)));
        let plain = server.plain_addr;
        let tls = server.tls_addr;
        let store = server.store();
        let probe = server.probe();
        let shutdown = server.shutdown_token();
        let task = tokio::spawn(server.run());
        TestServer {
            backend: options.backend,
            plain,
            tls,
            store,
            config,
            probe,
            shutdown,
            task: Some(task),
            cert,
            db,
            dir,
            _owned_dir: owned_dir,
        }
    }

    /// The database it runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The plain TCP address, if it listens there.
    pub fn plain_addr(&self) -> Option<SocketAddr> {
        self.plain
    }

    /// The TLS address, if it listens there.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls
    }

    /// The TLS address if there is one, else the plain one.
    pub fn addr(&self) -> SocketAddr {
        self.tls.or(self.plain).expect("a listener")
    }

    /// The certificate of the TLS listener (self-signed: what a client pins as its CA).
    pub fn cert_path(&self) -> Option<&Path> {
        self.cert.as_ref().map(|(path, _)| path.as_path())
    }

    /// A TLS connector that trusts the server's certificate.
    pub fn tls_connector(&self) -> Option<TlsConnector> {
        self.cert.as_ref().map(|(_, c)| c.clone())
    }

    /// The server's store (for changes a test makes directly).
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// The settings it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The database URL.
    pub fn database_url(&self) -> String {
        self.config.database_url()
    }

    /// The directory of its files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A view of its in-memory state (hub, metrics, admission).
    pub fn probe(&self) -> Probe {
        self.probe.clone()
    }

    /// The token that stops it (as SIGTERM does).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Asks it to stop, without waiting.
    pub fn trigger_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Stops it and waits until it has: its listeners are closed and every session has
    /// ended when this returns. Then drops its MariaDB database.
    pub async fn stop(mut self) {
        self.stop_in_place().await;
        if let Some(db) = self.db.take() {
            db.drop_now().await.expect("drop the test database");
        }
    }

    /// Stops it and waits until it has, keeping the value (and its directory).
    pub async fn stop_in_place(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(STOP_TIMEOUT, task)
                .await
                .expect("server stops in time")
                .expect("server task");
        }
    }

    /// A plain TCP client that has read HELLO.
    pub async fn connect(&self) -> Result<WireClient<BoxedIo>, WireError> {
        let addr = self.plain.expect("a plain listener");
        Ok(WireClient::connect(addr).await?.boxed())
    }

    /// A TLS client (trusting the server's certificate) that has read HELLO.
    pub async fn connect_tls(&self) -> Result<WireClient<BoxedIo>, WireError> {
        let addr = self.tls.expect("a TLS listener");
        let connector = self.tls_connector().expect("a TLS listener");
        Ok(WireClient::connect_tls(addr, &connector, "localhost")
            .await?
            .boxed())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
