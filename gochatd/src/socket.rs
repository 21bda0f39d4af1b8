//! The daemon's Unix socket: a private directory (0700), a socket only its user may use
//! (0600, and the peer's uid checked on every connection), a lock so that one daemon runs per
//! user, stale sockets removed only when nothing answers, and systemd socket activation.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::net::{UnixListener, UnixStream};

/// A bound socket and the lock that proves we are the only daemon.
#[derive(Debug)]
pub struct BoundSocket {
    listener: Option<UnixListener>,
    /// The socket path (removed on drop unless socket-activated).
    pub path: PathBuf,
    _lock: File,
    owned: bool,
}

impl BoundSocket {
    /// Takes the listener (once); the guard keeps the lock and removes the socket on drop.
    pub fn take_listener(&mut self) -> Option<UnixListener> {
        self.listener.take()
    }
}

impl Drop for BoundSocket {
    fn drop(&mut self) {
        if self.owned {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Errors setting the socket up.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// Another daemon holds the lock or answers on the socket.
    #[error("another gochatd is already running for this user (socket {0})")]
    AlreadyRunning(PathBuf),
    /// Filesystem problems.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// Cause.
        source: io::Error,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> SocketError {
    let context = context.into();
    move |source| SocketError::Io { context, source }
}

/// Our own uid (the owner of `/proc/self`).
pub fn my_uid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

/// Whether a connected peer runs as our user.
pub fn peer_is_us(stream: &UnixStream) -> bool {
    stream
        .peer_cred()
        .map(|c| c.uid() == my_uid())
        .unwrap_or(false)
}

/// Creates the socket directory (0700), takes the per-user lock and binds the socket (0600),
/// or adopts the socket systemd passed in (`LISTEN_FDS`).
pub async fn bind(path: &Path) -> Result<BoundSocket, SocketError> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err(format!("cannot create {}", dir.display())))?;
    }
    let meta =
        std::fs::metadata(dir).map_err(io_err(format!("cannot inspect {}", dir.display())))?;
    if meta.uid() != my_uid() {
        return Err(SocketError::Io {
            context: format!("{} belongs to another user", dir.display()),
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        });
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io_err(format!("cannot make {} private", dir.display())))?;
    }
    let lock_path = dir.join(format!(
        "{}.lock",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("gochatd.sock")
    ));
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_err(format!("cannot open lock {}", lock_path.display())))?;
    if lock.try_lock().is_err() {
        return Err(SocketError::AlreadyRunning(path.to_owned()));
    }
    if let Some(listener) = activated_listener()? {
        return Ok(BoundSocket {
            listener: Some(listener),
            path: path.to_owned(),
            _lock: lock,
            owned: false,
        });
    }
    if path.exists() {
        match UnixStream::connect(path).await {
            Ok(_) => return Err(SocketError::AlreadyRunning(path.to_owned())),
            Err(e)
                if e.kind() == io::ErrorKind::ConnectionRefused
                    || e.kind() == io::ErrorKind::NotFound =>
            {
                tracing::info!(path = %path.display(), "removing stale socket");
                let _ = std::fs::remove_file(path);
            }
            Err(e) => {
                return Err(io_err(format!(
                    "cannot check existing socket {}",
                    path.display()
                ))(e));
            }
        }
    }
    let listener =
        UnixListener::bind(path).map_err(io_err(format!("cannot listen on {}", path.display())))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(io_err(format!("cannot restrict {}", path.display())))?;
    Ok(BoundSocket {
        listener: Some(listener),
        path: path.to_owned(),
        _lock: lock,
        owned: true,
    })
}

/// The listening socket passed by systemd socket activation, if any: `LISTEN_FDS` with a
/// `LISTEN_PID` naming this process (systemd always sets both; a bare `LISTEN_FDS`, as a
/// child could inherit it, is ignored). `listenfd` checks that the descriptor really is a
/// listening Unix stream socket before adopting it.
fn activated_listener() -> Result<Option<UnixListener>, SocketError> {
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .is_some_and(|p| p == std::process::id());
    if !for_us {
        return Ok(None);
    }
    let Some(std_listener) = listenfd::ListenFd::from_env()
        .take_unix_listener(0)
        .map_err(io_err("cannot use the activated socket"))?
    else {
        return Ok(None);
    };
    std_listener
        .set_nonblocking(true)
        .map_err(io_err("cannot use the activated socket"))?;
    UnixListener::from_std(std_listener)
        .map(Some)
        .map_err(io_err("cannot use the activated socket"))
}
