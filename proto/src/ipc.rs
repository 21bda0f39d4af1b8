//! The daemon's local gRPC API (`gochat.daemon.v1`) and [`connect`], which frontends use to
//! reach `gochatd` over its Unix socket.

use std::path::{Path, PathBuf};

use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint, Uri};

#[allow(missing_docs, clippy::all, clippy::pedantic)]
mod generated {
    tonic::include_proto!("gochat.daemon.v1");
}

pub use generated::*;

mod error;

/// Client for the daemon API over a Unix socket.
pub type DaemonClient = daemon_client::DaemonClient<Channel>;

/// Environment variable that overrides the socket path.
pub const SOCKET_ENV: &str = "GOCHAT_SOCKET";

/// Errors reaching the daemon.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Nothing listens on the socket (or it does not exist).
    #[error("gochatd is not reachable at {path}")]
    Unreachable {
        /// Socket path.
        path: PathBuf,
        /// Cause.
        source: tonic::transport::Error,
    },
}

/// The socket path: `$GOCHAT_SOCKET`, else `$XDG_RUNTIME_DIR/gochat/gochatd.sock`, else
/// `/tmp/gochat-$UID/gochatd.sock`.
pub fn default_socket_path() -> PathBuf {
    if let Some(path) = std::env::var_os(SOCKET_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    runtime_dir().join("gochatd.sock")
}

/// The directory holding the socket (created 0700 by the daemon).
pub fn runtime_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|p| !p.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("gochat"),
        None => PathBuf::from(format!("/tmp/gochat-{}", current_uid())),
    }
}

fn current_uid() -> u32 {
    // The uid owning /proc/self is our real uid; avoids unsafe libc calls.
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(0)
}

/// Connects to the daemon listening on `path`.
pub async fn connect(path: &Path) -> Result<DaemonClient, ConnectError> {
    connect_verified(path, |_| Ok(())).await
}

/// Connects to the daemon listening on `path`, passing every connected stream (the first
/// and any reconnection) to `verify` before a byte is exchanged; an error from `verify`
/// fails the connection and is kept in the source chain of [`ConnectError::Unreachable`].
pub async fn connect_verified<F>(path: &Path, verify: F) -> Result<DaemonClient, ConnectError>
where
    F: Fn(&tokio::net::UnixStream) -> std::io::Result<()> + Clone + Send + Sync + 'static,
{
    let socket = path.to_owned();
    // The URI is required by tonic but unused: the connector dials the socket.
    let channel = Endpoint::from_static("http://gochatd.local")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            let verify = verify.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                verify(&stream)?;
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        }))
        .await
        .map_err(|source| ConnectError::Unreachable {
            path: path.to_owned(),
            source,
        })?;
    Ok(daemon_client::DaemonClient::new(channel).max_decoding_message_size(64 * 1024 * 1024))
}
