//! The server side of the control socket: binds it safely and answers requests by applying
//! them with [`crate::live_admin`].

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

use super::{MAX_LINE, Reply, Request};
use crate::hub::Hub;
use crate::live_admin::{self, LiveAdminError};
use crate::store::Store;

/// How long one admin connection may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the control socket cannot be bound.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Something that is not a socket is in the way (never removed).
    #[error("{0} exists and is not a socket")]
    NotASocket(PathBuf),
    /// A file system or socket operation failed.
    #[error("{context} {path}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// Path.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
}

/// A bound control socket; the socket file is removed when the server stops, unless
/// another server has replaced it since.
#[derive(Debug)]
pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
    /// Device and inode of the socket file this server created.
    identity: (u64, u64),
}

/// What the control socket changes: the store, and the live sessions in the hub.
#[derive(Clone)]
pub struct Targets {
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    cluster: Arc<dyn crate::cluster::Cluster>,
}

impl Targets {
    /// The store, hub and other nodes that requests are applied to.
    pub fn new(
        store: Arc<dyn Store>,
        hub: Arc<Hub>,
        cluster: Arc<dyn crate::cluster::Cluster>,
    ) -> Self {
        Self {
            store,
            hub,
            cluster,
        }
    }
}

impl ControlSocket {
    /// Binds `path`: creates its directory (0700) if missing, replaces a stale socket left by
    /// a server that is gone, and makes the socket 0600.
    pub async fn bind(path: &Path) -> Result<ControlSocket, BindError> {
        let io_err = |context, source| BindError::Io {
            context,
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| io_err("cannot create the directory of", e))?;
        }
        match std::fs::symlink_metadata(path) {
            Ok(meta) if !meta.file_type().is_socket() => {
                return Err(BindError::NotASocket(path.to_owned()));
            }
            Ok(_) => {
                if UnixStream::connect(path).await.is_ok() {
                    tracing::warn!(path = %path.display(), "another server answers on the control socket; this one takes it over");
                }
                std::fs::remove_file(path)
                    .or_else(|e| match e.kind() {
                        io::ErrorKind::NotFound => Ok(()),
                        _ => Err(e),
                    })
                    .map_err(|e| io_err("cannot remove the old control socket", e))?;
            }
            Err(_) => {}
        }
        let listener =
            UnixListener::bind(path).map_err(|e| io_err("cannot bind the control socket", e))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io_err("cannot restrict the control socket", e))?;
        let meta =
            std::fs::metadata(path).map_err(|e| io_err("cannot inspect the control socket", e))?;
        Ok(ControlSocket {
            listener,
            path: path.to_owned(),
            identity: (meta.dev(), meta.ino()),
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Answers admin requests by applying them to `targets` until `shutdown`, then removes
    /// the socket file.
    pub async fn serve(self, targets: Targets, shutdown: CancellationToken) {
        let own_uid = rustix::process::geteuid().as_raw();
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let accepted = tokio::select! {
                r = self.listener.accept() => r,
                () = shutdown.cancelled() => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %crate::error_chain::Chain(&e), "control socket accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match stream.peer_cred() {
                Ok(cred) if cred.uid() == own_uid || cred.uid() == 0 => {}
                Ok(cred) => {
                    tracing::warn!(
                        uid = cred.uid(),
                        "control socket: peer with another uid refused"
                    );
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %crate::error_chain::Chain(&e), "control socket: peer credentials unavailable");
                    continue;
                }
            }
            connections.spawn(answer(stream, targets.clone()));
        }
        connections.abort_all();
        self.remove_if_ours();
    }

    fn remove_if_ours(&self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| (m.dev(), m.ino()) == self.identity);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Reads one request, applies it, writes the reply.
async fn answer(stream: UnixStream, targets: Targets) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut limited = BufReader::new(read.take(MAX_LINE as u64));
    let read = tokio::time::timeout(REQUEST_TIMEOUT, limited.read_line(&mut line)).await;
    let reply = match read {
        Ok(Ok(_)) if line.ends_with('\n') => match Request::parse(line.trim_end_matches('\n')) {
            Ok(request) => apply(&targets, &request).await,
            Err(e) => {
                tracing::warn!(error = %crate::error_chain::Chain(&e), "control socket: bad request");
                Reply::BadRequest
            }
        },
        _ => Reply::BadRequest,
    };
    let _ = tokio::time::timeout(REQUEST_TIMEOUT, write.write_all(reply.encode().as_bytes())).await;
}

/// Applies `request` to the store and the live sessions.
pub async fn apply(targets: &Targets, request: &Request) -> Reply {
    let (store, hub) = (&*targets.store, &*targets.hub);
    let result = match request {
        Request::SetPermission { user, level } => {
            live_admin::set_permission(store, hub, user.as_bytes(), *level).await
        }
        Request::Deregister { user } => live_admin::deregister(store, hub, user.as_bytes()).await,
        Request::Kick { user } => live_admin::kick(hub, &*targets.cluster, user.as_bytes()),
    };
    match result {
        Ok(applied) => Reply::Applied(applied),
        Err(LiveAdminError::NoSuchUser) => Reply::NoSuchUser,
        Err(LiveAdminError::NotOnline) => Reply::NotOnline,
        Err(LiveAdminError::Store(e)) => {
            tracing::error!(error = %crate::error_chain::Chain(&e), "control socket: change failed");
            Reply::Failed(crate::error_chain::Chain(&e).to_string())
        }
    }
}
