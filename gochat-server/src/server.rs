//! The running server: listeners whose connections pass [`Admission`] (per-IP limits, a
//! bounded fair wait for a slot), the TLS handshake and HELLO, one session per connection,
//! and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gochat_proto::wire::{ErrorCode, Packet, Response};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::admission::{Admission, Ticket, WaitEnd};
use crate::cluster::Cluster;
use crate::config::Config;
use crate::conn::{Transport, spawn_writer};
use crate::control::server::Targets;
use crate::hub::Hub;
use crate::metrics::{Gauges, Limit, Metrics};
use crate::recipients::CachedRecipients;
use crate::session::{Deps, Session};
use crate::shutdown::Shutdown;
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
    /// The cluster cannot be joined.
    #[error("cannot join the cluster")]
    Cluster(#[from] crate::cluster::nats::ClusterError),
    /// A listener cannot bind.
    #[error("cannot listen on {addr}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
}

/// Counts an open connection for the metrics while it lives.
struct OpenConnection(Arc<Metrics>);

impl OpenConnection {
    fn new(metrics: &Arc<Metrics>) -> Self {
        Metrics::inc(&metrics.connections);
        Metrics::inc(&metrics.connections_open);
        OpenConnection(metrics.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0
            .connections_open
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// What the accept loops need: the admission gate, the session dependencies and the
/// connection settings.
struct Listening {
    admission: Arc<Admission>,
    metrics: Arc<Metrics>,
    hub: Arc<Hub>,
    sessions: Arc<Deps>,
    shutdown: CancellationToken,
    handshake_timeout: Duration,
    outbound_queue: usize,
    write_timeout: Duration,
    login_grace: Duration,
}

/// A read-only view of a running server's in-memory state (for tests and admin tooling):
/// holding it does not keep the server from stopping.
#[derive(Clone)]
pub struct Probe {
    hub: Arc<Hub>,
    cluster: Arc<dyn Cluster>,
    metrics: Arc<Metrics>,
    admission: Arc<Admission>,
}

impl Probe {
    /// Who is online, tokens, hooks.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The other nodes (a [`crate::cluster::Solo`] on a single node).
    pub fn cluster(&self) -> &dyn Cluster {
        &*self.cluster
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Per-IP limits and the wait for a slot.
    pub fn admission(&self) -> &Admission {
        &self.admission
    }

    /// The metrics endpoint's text, as a scrape would read it now.
    pub fn metrics_text(&self) -> String {
        render_metrics(&self.metrics, &self.hub, &self.admission, &*self.cluster)
    }
}

/// The exposition text: the counters with the gauges read now from the hub and admission.
fn render_metrics(
    metrics: &Metrics,
    hub: &Hub,
    admission: &Admission,
    cluster: &dyn Cluster,
) -> String {
    metrics.render(Gauges {
        users_online: hub.online_count(),
        connections_waiting: admission.waiting(),
        hooks: hub.hook_stats(),
        cluster_degraded: cluster.degraded(),
    })
}

/// A started server.
pub struct Server {
    probe: Probe,
    store: Arc<dyn Store>,
    shutdown: Arc<Shutdown>,
    cluster: Arc<dyn Cluster>,
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
        // Every path that deregisters goes through the store, so the cache of recipient
        // ids lives there.
        let store: Arc<dyn Store> = Arc::new(CachedRecipients::new(store));
        let (sink, sink_task) = MessageSink::spawn(store.clone(), config.quota());
        let hub = Arc::new(
            Hub::new(
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
        );
        let metrics = Arc::new(Metrics::default());
        let admission = Arc::new(Admission::new(&config));
        let shutdown = Arc::new(Shutdown::new());
        let cluster: Arc<dyn Cluster> = match &config.cluster {
            None => Arc::new(crate::cluster::Solo),
            Some(settings) => {
                crate::cluster::nats::NatsCluster::start(
                    settings,
                    Duration::from_secs(config.token_lifetime_secs),
                    hub.clone(),
                    store.clone(),
                    shutdown.clone(),
                    metrics.clone(),
                )
                .await?
            }
        };
        let listening = Arc::new(Listening {
            admission: admission.clone(),
            metrics: metrics.clone(),
            hub: hub.clone(),
            sessions: Arc::new(Deps::new(
                hub.clone(),
                store.clone(),
                sink,
                config.clone(),
                metrics.clone(),
                admission.clone(),
                shutdown.clone(),
                cluster.clone(),
            )),
            shutdown: shutdown.token(),
            handshake_timeout: Duration::from_secs(config.handshake_timeout_secs),
            outbound_queue: config.outbound_queue,
            write_timeout: Duration::from_secs(config.write_timeout_secs),
            login_grace: config.login_grace(),
        });
        let probe = Probe {
            hub: hub.clone(),
            cluster: cluster.clone(),
            metrics,
            admission: admission.clone(),
        };
        let mut tasks = JoinSet::new();
        let mut plain_addr = None;
        let mut tls_addr = None;
        let mut metrics_addr = None;
        if let Some(addr) = config.listen {
            let listener = listen(addr).map_err(|source| StartError::Bind { addr, source })?;
            plain_addr = listener.local_addr().ok();
            tracing::info!(addr = ?plain_addr, "listening (plain TCP)");
            tasks.spawn(accept_loop(listener, None, listening.clone()));
        }
        if let (Some(addr), Some(acceptor)) = (config.tls_listen, tls) {
            let listener = listen(addr).map_err(|source| StartError::Bind { addr, source })?;
            tls_addr = listener.local_addr().ok();
            tracing::info!(addr = ?tls_addr, "listening (TLS)");
            tasks.spawn(accept_loop(listener, Some(acceptor), listening.clone()));
        }
        drop(listening);
        if let Some(addr) = config.metrics_listen {
            let listener = crate::metrics::bind(addr)
                .await
                .map_err(|source| StartError::Bind { addr, source })?;
            metrics_addr = listener.local_addr().ok();
            tracing::info!(addr = ?metrics_addr, "metrics endpoint");
            let probe = probe.clone();
            tasks.spawn(crate::metrics::serve(
                listener,
                move || probe.metrics_text(),
                shutdown.token(),
            ));
        }
        let mut control_path = None;
        if let Some(path) = crate::control::socket_path(&config) {
            match crate::control::server::ControlSocket::bind(&path).await {
                Ok(control) => {
                    tracing::info!(path = %path.display(), "control socket");
                    control_path = Some(path);
                    let targets = Targets::new(store.clone(), hub.clone(), cluster.clone());
                    tasks.spawn(control.serve(targets, shutdown.token()));
                }
                // A socket the operator asked for must work; a derived one is a convenience.
                Err(e) if config.control_socket.is_some() => return Err(e.into()),
                Err(e) => {
                    tracing::error!(error = %crate::error_chain::Chain(&e), "no control socket: `gochat-server admin` cannot reach this server (set control_socket)")
                }
            }
        }
        let stop = shutdown.token();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        hub.sweep_tokens();
                        admission.sweep();
                    }
                    () = stop.cancelled() => break,
                }
            }
        });
        Ok(Server {
            probe,
            store,
            shutdown,
            cluster,
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
        self.shutdown.token()
    }

    /// The store the server runs on (with its recipient cache).
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// A view of the server's in-memory state (for tests and admin tooling).
    pub fn probe(&self) -> Probe {
        self.probe.clone()
    }

    /// Runs until shutdown is requested, then closes every connection (each gets
    /// `ERR_DISCN`), waits briefly for sessions to finish and flushes stored messages.
    pub async fn run(mut self) {
        self.shutdown.requested().await;
        tracing::info!("shutting down");
        let drain = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(5), drain)
            .await
            .is_err()
        {
            self.tasks.abort_all();
        }
        // The sink stops once the last session's handle to it is gone with the tasks.
        let _ = tokio::time::timeout(Duration::from_secs(5), self.sink_task).await;
        // Session releases and forwarded messages still queued for the other nodes.
        self.cluster.close().await;
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

async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>, ctx: Arc<Listening>) {
    // What a refused plain TCP client reads instead of HELLO (TLS clients just see a close).
    let refusal = Packet::error(ErrorCode::Server, 0).to_bytes().ok();
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = ctx.shutdown.cancelled() => break,
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
        let ticket = match ctx.admission.admit(peer.ip()) {
            Ok(ticket) => ticket,
            Err(limit) => {
                ctx.admission.refused(&ctx.metrics, limit, peer.ip());
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
            ctx.clone(),
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
    ctx: Arc<Listening>,
    ticket: Ticket,
) {
    // First come, first served: the semaphore queues waiters in order.
    let _slot = match ctx.admission.slot(ticket, &stream, &ctx.shutdown).await {
        Ok(slot) => slot,
        Err(WaitEnd::TimedOut) => {
            ctx.admission
                .refused(&ctx.metrics, Limit::WaitTimeout, peer.ip());
            if tls.is_none()
                && let Ok(bytes) = Packet::error(ErrorCode::Server, 0).to_bytes()
            {
                let _ = stream.try_write(&bytes);
            }
            return;
        }
        Err(WaitEnd::PeerClosed | WaitEnd::Shutdown) => return,
    };
    let handshake_timeout = ctx.handshake_timeout;
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
    let _open = OpenConnection::new(&ctx.metrics);
    let (read, mut write) = transport.split();
    // HELLO goes straight to the socket (nothing else can be queued yet).
    let hello = Response::Hello {
        motd: ctx.hub.motd(),
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
        ctx.outbound_queue,
        ctx.write_timeout,
    );
    let login_deadline = accepted + ctx.login_grace;
    Session::new(ctx.sessions.clone(), conn)
        .with_login_deadline(login_deadline)
        .run(read)
        .await;
    let _ = writer.await;
}
