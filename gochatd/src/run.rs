//! Starting and running the daemon: logging, store, links, the API on the socket,
//! readiness notification and graceful shutdown.

use std::sync::Arc;

use anyhow::{Context, Result};
use gochat_proto::ipc::daemon_server::DaemonServer;
use tokio_stream::wrappers::ReceiverStream;

use crate::api::ApiService;
use crate::config::DaemonConfig;
use crate::daemon::Daemon;
use crate::socket;
use crate::store::Store;

/// How long shutdown waits for the daemon's tasks to end.
const SHUTDOWN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Sets up logging: journald under systemd, else stderr.
pub fn init_logging(filter: &str) {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let journald = std::env::var_os("JOURNAL_STREAM").and_then(|_| tracing_journald::layer().ok());
    let _ = match journald {
        Some(layer) => registry.with(layer).try_init(),
        None => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
}

/// Runs the daemon until SIGTERM/SIGINT or a `Stop` request.
pub async fn run(config: DaemonConfig) -> Result<()> {
    let db = config.database_path();
    let socket_path = config.socket_path();
    // Before the socket: a second daemon on this database must fail without touching it.
    let _database_lock = crate::dblock::lock(&db, &socket_path)?;
    let bound = socket::bind(&socket_path).await?;
    let store = Store::open(&db)
        .await
        .with_context(|| format!("cannot open the store {}", db.display()))?;
    // `context` keeps the cause chain: main prints it whole with `{:#}`.
    let daemon = Daemon::start(store, config)
        .await
        .context("cannot load the accounts and start their links")?;
    tracing::info!(socket = %socket_path.display(), "gochatd ready");
    serve(daemon, bound).await
}

/// Serves the API on a bound socket until shutdown.
pub async fn serve(daemon: Arc<Daemon>, mut bound: socket::BoundSocket) -> Result<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let shutdown = daemon.shutdown.clone();
    let accept_shutdown = shutdown.clone();
    let listener = bound
        .take_listener()
        .context("the socket was already taken")?;
    let accept = daemon.tasks.spawn(async move {
        loop {
            let accepted = tokio::select! {
                r = listener.accept() => r,
                () = accept_shutdown.cancelled() => break,
            };
            match accepted {
                Ok((stream, _)) => {
                    if !socket::peer_is_us(&stream) {
                        tracing::warn!("refused a connection from another user");
                        continue;
                    }
                    if tx.send(Ok::<_, std::io::Error>(stream)).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    });
    let signal_shutdown = shutdown.clone();
    let signal_daemon = daemon.clone();
    daemon.tasks.spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: logging out and stopping"),
            _ = int.recv() => tracing::info!("SIGINT: logging out and stopping"),
            () = signal_shutdown.cancelled() => return,
        }
        signal_daemon.stop().await;
    });
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    let api = DaemonServer::new(ApiService::new(daemon.clone()))
        .max_decoding_message_size(16 * 1024 * 1024)
        .max_encoding_message_size(64 * 1024 * 1024);
    let served = tonic::transport::Server::builder()
        .add_service(api)
        .serve_with_incoming_shutdown(ReceiverStream::new(rx), shutdown.cancelled_owned())
        .await;
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    accept.abort();
    daemon.stop().await;
    // Every task belongs to the daemon's tracker: wait for them (links log out, helpers end).
    daemon.tasks.close();
    if tokio::time::timeout(SHUTDOWN_WAIT, daemon.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            tasks = daemon.tasks.len(),
            "some tasks did not end in time; stopping anyway"
        );
    }
    drop(bound);
    served.context("the API server failed")
}
