//! Shared harness of the integration tests, on `gochat-testkit`: an in-process server on
//! either backend (SQLite in a temporary directory, or MariaDB in a throw-away database),
//! optionally with a TLS listener on a self-signed certificate, and the testkit's asserting
//! protocol client over real sockets.
//!
//! Every read has a timeout, so a test that waits for a packet that never comes fails
//! instead of hanging.

#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use gochat_proto::crypto::PrivateKey;
use gochat_proto::wire::Permission;
use gochat_server::config::Config;
use gochat_server::store::Store;
use gochat_testkit::{Listeners, ServerOptions};

pub use gochat_testkit::Backend;
pub use gochat_testkit::keys::{generated_keys, key, vector_file, vector_keys};
pub use gochat_testkit::session::{
    READ_TIMEOUT, TestClient as Client, assert_err, assert_ok, describe, login_req, now, pem, req,
    stamp_now,
};
pub use gochat_testkit::wire::Io;

/// The MOTD every test server greets with.
pub const MOTD: &str = "Welcome to the gochat integration tests!";
/// How long a whole scenario may take.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(100);

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

/// A server running in this process (the testkit's, with the fields these tests read).
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
    /// The database URL the server uses (for tests that fill tables directly).
    pub database_url: String,
    inner: gochat_testkit::TestServer,
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
        let inner = gochat_testkit::TestServer::start(
            ServerOptions {
                backend,
                listeners: if options.tls {
                    Listeners::PlainAndTls
                } else {
                    Listeners::Plain
                },
                motd: MOTD.into(),
                dir: None,
            },
            options.tweak,
        )
        .await;
        TestServer {
            backend,
            plain: inner.plain_addr().expect("plain listener"),
            tls: inner.tls_addr(),
            store: inner.store(),
            config: inner.config().clone(),
            database_url: inner.database_url(),
            inner,
        }
    }

    /// A view of the running server's in-memory state (hub, metrics, admission).
    pub fn probe(&self) -> gochat_server::server::Probe {
        self.inner.probe()
    }

    /// Stops the server and removes its database.
    pub async fn stop(self) {
        self.inner.stop().await;
    }

    /// Asks the server to stop (as SIGTERM does) without waiting.
    pub fn trigger_shutdown(&self) {
        self.inner.trigger_shutdown();
    }

    /// A new plain TCP client (HELLO already read).
    pub async fn connect(&self) -> Client {
        Client::connect(self.plain).await
    }

    /// A new TLS client (HELLO already read).
    pub async fn connect_tls(&self) -> Client {
        let connector = self.inner.tls_connector().expect("server started with TLS");
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
