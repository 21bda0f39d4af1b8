//! The running server: listeners whose connections pass [`Admission`] (per-IP limits, a
//! bounded fair wait for a slot), the TLS handshake and HELLO, one session per connection,
//! and graceful shutdown.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use gochat_proto::wire::{ErrorCode, Packet, Response};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::admission::{Admission, Ticket, WaitEnd};
use crate::config::Config;
use crate::conn::{Transport, spawn_writer};
use crate::hub::Hub;
use crate::metrics::Limit;
use crate::session::Session;
use crate::sink::MessageSink;
use crate::store::{self, Store};

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Bad settings.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The database cannot be opened.
    #[error("cannot open the database")]
    Store(#[from] store::StoreError),
    /// TLS material cannot be loaded.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The control socket cannot be bound.
    #[error(transparent)]
    Control(#[from] crate::control::server::BindError),
    /// A listener cannot bind.
    #[error("cannot listen on {addr}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
}

/// State every session shares.
pub struct Shared {
    /// Online users, tokens, hooks, MOTD.
    pub hub: Hub,
    /// The database.
    pub store: Arc<dyn Store>,
    /// Group-commit writer for offline messages.
    pub sink: MessageSink,
    /// Settings.
    pub config: Config,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Counters for monitoring.
    pub metrics: crate::metrics::Metrics,
    scheduled: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Per-IP limits and the wait for a connection slot.
    pub admission: Admission,
}

impl Shared {
    /// Arranges for the server to stop at `unix` seconds (an earlier schedule wins).
    pub fn schedule_shutdown(self: &Arc<Self>, unix: i64) {
        let mut slot = self
            .scheduled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(old) = slot.take() {
            old.abort();
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let wait = Duration::from_secs(u64::try_from(unix - now).unwrap_or(0));
        let token = self.shutdown.clone();
        *slot = Some(tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            tracing::warn!("scheduled shutdown time reached");
            token.cancel();
        }));
    }
}

/// Counts an open connection for the metrics while it lives.
struct OpenConnection(Arc<Shared>);

impl OpenConnection {
    fn new(shared: Arc<Shared>) -> Self {
        crate::metrics::Metrics::inc(&shared.metrics.connections_open);
        OpenConnection(shared)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0
            .metrics
            .connections_open
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A started server.
pub struct Server {
    shared: Arc<Shared>,
    /// Bound plain TCP address.
    pub plain_addr: Option<SocketAddr>,
    /// Bound TLS address.
    pub tls_addr: Option<SocketAddr>,
    /// Bound metrics address.
    pub metrics_addr: Option<SocketAddr>,
    /// The control socket `gochat-server admin` talks to.
    pub control_path: Option<std::path::PathBuf>,
    tasks: JoinSet<()>,
    sink_task: tokio::task::JoinHandle<()>,
    certs: Option<Arc<crate::tls::CertStore>>,
}

impl Server {
    /// Reads the TLS certificate and key files again (after a renewal); new handshakes use
    /// them, and on error the certificate in use stays.
    pub fn reload_tls(&self) -> Result<(), crate::tls::TlsError> {
        match &self.certs {
            Some(certs) => certs.reload(),
            None => Ok(()),
        }
    }

    /// A handle that reloads the TLS certificate (for a signal handler).
    pub fn cert_store(&self) -> Option<Arc<crate::tls::CertStore>> {
        self.certs.clone()
    }

    /// Opens the database, binds the listeners and starts serving.
    pub async fn start(config: Config) -> Result<Server, StartError> {
        config.validate()?;
        let store = store::open(&config.database_url()).await?;
        Self::start_with_store(config, store).await
    }

    /// Starts serving on an already opened store.
    pub async fn start_with_store(
        config: Config,
        store: Arc<dyn Store>,
    ) -> Result<Server, StartError> {
        config.validate()?;
        let certs = match (&config.tls_listen, &config.cert, &config.key) {
            (Some(_), Some(cert), Some(key)) => Some(crate::tls::CertStore::load(cert, key)?),
            _ => None,
        };
        let tls = certs.as_ref().map(|c| c.acceptor()).transpose()?;
        let (sink, sink_task) = MessageSink::spawn(store.clone(), config.quota());
        let shared = Arc::new(Shared {
            hub: Hub::new(
                Bytes::from(config.motd.clone()),
                Duration::from_secs(config.token_lifetime_secs),
            )
            .with_hook_limits(
                crate::subscribers::HookBudget {
                    rate: config.hook_rate,
                    burst: config.hook_burst,
                },
                Duration::from_secs(config.dupsess_interval_secs),
            ),
            store,
            sink,
            shutdown: CancellationToken::new(),
            metrics: crate::metrics::Metrics::default(),
            scheduled: Mutex::new(None),
            admission: Admission::new(&config),
            config,
        });
        let mut tasks = JoinSet::new();
        let mut plain_addr = None;
        let mut tls_addr = None;
        let mut metrics_addr = None;
        if let Some(addr) = shared.config.listen {
            let listener = listen(addr).map_err(|source| StartError::Bind { addr, source })?;
            plain_addr = listener.local_addr().ok();
            tracing::info!(addr = ?plain_addr, "listening (plain TCP)");
            tasks.spawn(accept_loop(listener, None, shared.clone()));
        }
        if let (Some(addr), Some(acceptor)) = (shared.config.tls_listen, tls) {
            let listener = listen(addr).map_err(|source| StartError::Bind { addr, source })?;
            tls_addr = listener.local_addr().ok();
            tracing::info!(addr = ?tls_addr, "listening (TLS)");
            tasks.spawn(accept_loop(listener, Some(acceptor), shared.clone()));
        }
        if let Some(addr) = shared.config.metrics_listen {
            let listener = crate::metrics::bind(addr)
                .await
                .map_err(|source| StartError::Bind { addr, source })?;
            metrics_addr = listener.local_addr().ok();
            tracing::info!(addr = ?metrics_addr, "metrics endpoint");
            tasks.spawn(crate::metrics::serve(listener, shared.clone()));
        }
        let mut control_path = None;
        if let Some(path) = crate::control::socket_path(&shared.config) {
            match crate::control::server::ControlSocket::bind(&path).await {
                Ok(control) => {
                    tracing::info!(path = %path.display(), "control socket");
                    control_path = Some(path);
                    tasks.spawn(control.serve(shared.clone()));
                }
                // A socket the operator asked for must work; a derived one is a convenience.
                Err(e) if shared.config.control_socket.is_some() => return Err(e.into()),
                Err(e) => {
                    tracing::error!(error = %crate::error_chain::Chain(&e), "no control socket: `gochat-server admin` cannot reach this server (set control_socket)")
                }
            }
        }
        let sweeper = shared.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        sweeper.hub.sweep_tokens();
                        sweeper.admission.sweep();
                    }
                    () = sweeper.shutdown.cancelled() => break,
                }
            }
        });
        Ok(Server {
            shared,
            plain_addr,
            tls_addr,
            metrics_addr,
            control_path,
            tasks,
            sink_task,
            certs,
        })
    }

    /// A token that stops the server when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shared.shutdown.clone()
    }

    /// Shared state (for tests and admin tooling).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Runs until shutdown is requested, then closes every connection (each gets
    /// `ERR_DISCN`), waits briefly for sessions to finish and flushes stored messages.
    pub async fn run(mut self) {
        self.shared.shutdown.cancelled().await;
        tracing::info!("shutting down");
        let drain = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(5), drain)
            .await
            .is_err()
        {
            self.tasks.abort_all();
        }
        drop(self.shared);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.sink_task).await;
    }
}

/// Pending connections the kernel may hold for us: a burst of connects must not overflow
/// the accept queue (the default of 128 drops SYNs under load).
const LISTEN_BACKLOG: u32 = 4096;

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>, shared: Arc<Shared>) {
    // What a refused plain TCP client reads instead of HELLO (TLS clients just see a close).
    let refusal = Packet::error(ErrorCode::Server, 0).to_bytes().ok();
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = shared.shutdown.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors and similar: back off instead of spinning.
                tracing::warn!(error = %crate::error_chain::Chain(&e), "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let accepted = tokio::time::Instant::now();
        let ticket = match shared.admission.admit(peer.ip()) {
            Ok(ticket) => ticket,
            Err(limit) => {
                shared.admission.refused(&shared.metrics, limit, peer.ip());
                if let (None, Some(bytes)) = (&tls, &refusal) {
                    // Best effort and never blocking: the socket's buffer is empty.
                    let _ = stream.try_write(bytes);
                }
                drop(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(serve(
            stream,
            peer,
            accepted,
            tls.clone(),
            shared.clone(),
            ticket,
        ));
    }
    // Sessions see the shutdown token themselves; give them a moment to say goodbye.
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(3), drain)
        .await
        .is_err()
    {
        connections.abort_all();
    }
}

async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    accepted: tokio::time::Instant,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    ticket: Ticket,
) {
    // First come, first served: the semaphore queues waiters in order.
    let _slot = match shared
        .admission
        .slot(ticket, &stream, &shared.shutdown)
        .await
    {
        Ok(slot) => slot,
        Err(WaitEnd::TimedOut) => {
            shared
                .admission
                .refused(&shared.metrics, Limit::WaitTimeout, peer.ip());
            if tls.is_none()
                && let Ok(bytes) = Packet::error(ErrorCode::Server, 0).to_bytes()
            {
                let _ = stream.try_write(&bytes);
            }
            return;
        }
        Err(WaitEnd::PeerClosed | WaitEnd::Shutdown) => return,
    };
    let handshake_timeout = Duration::from_secs(shared.config.handshake_timeout_secs);
    let transport = match tls {
        None => Transport::Plain(stream),
        // Boxed: the handshake's state is only needed while it runs.
        Some(acceptor) => match Box::pin(tokio::time::timeout(
            handshake_timeout,
            acceptor.accept(stream),
        ))
        .await
        {
            Ok(Ok(s)) => Transport::Tls(Box::new(s)),
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %crate::error_chain::Chain(&e), "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return;
            }
        },
    };
    let secure = matches!(transport, Transport::Tls(_));
    crate::metrics::Metrics::inc(&shared.metrics.connections);
    let _open = OpenConnection::new(shared.clone());
    let (read, mut write) = transport.split();
    // HELLO goes straight to the socket (nothing else can be queued yet).
    let hello = Response::Hello {
        motd: shared.hub.motd(),
    };
    match hello.to_packet(0).to_bytes() {
        Ok(bytes) => {
            let greet = async {
                write.write_all(&bytes).await?;
                write.flush().await
            };
            if !matches!(
                Box::pin(tokio::time::timeout(handshake_timeout, greet)).await,
                Ok(Ok(()))
            ) {
                return;
            }
        }
        Err(e) => {
            tracing::error!(error = %crate::error_chain::Chain(&e), "HELLO cannot be encoded")
        }
    }
    let (conn, writer) = spawn_writer(
        write,
        peer.ip(),
        secure,
        shared.config.outbound_queue,
        Duration::from_secs(shared.config.write_timeout_secs),
    );
    let login_deadline = accepted + shared.config.login_grace();
    Session::new(shared, conn)
        .with_login_deadline(login_deadline)
        .run(read)
        .await;
    let _ = writer.await;
}
