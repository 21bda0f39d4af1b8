//! The admin tool's side: ask the running server through the control socket, or, when no
//! server listens, write the store directly.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::{MAX_LINE, ParseError, Reply, Request};
use crate::config::Config;
use crate::live_admin::Applied;
use crate::store::{self, StoreError};

/// How long the running server may take to answer.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the control socket could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The socket exists but talking to it failed (permissions, a hung server, ...).
    #[error("control socket {path}")]
    Io {
        /// Socket path.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
    /// The server closed the connection without answering: it refuses this user (only its
    /// own uid and root may use it), or it is stopping.
    #[error(
        "control socket {0}: the server closed the connection without answering (run the tool as the server's user or root)"
    )]
    Refused(PathBuf),
    /// The server's answer is not of this protocol.
    #[error("control socket {path}")]
    Protocol {
        /// Socket path.
        path: PathBuf,
        /// Cause.
        source: ParseError,
    },
    /// The username cannot be sent (it is not one word of printable ASCII).
    #[error("invalid username {0:?}")]
    BadUser(String),
}

/// Sends `request` to the server listening on `path`. `Ok(None)`: no server listens there.
pub async fn call(path: &Path, request: &Request) -> Result<Option<Reply>, ControlError> {
    let line = request
        .encode()
        .ok_or_else(|| ControlError::BadUser(request.user().to_owned()))?;
    let io_err = |source| ControlError::Io {
        path: path.to_owned(),
        source,
    };
    let mut stream = match UnixStream::connect(path).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(io_err(e)),
    };
    let exchange = async {
        stream.write_all(line.as_bytes()).await?;
        let mut reply = String::new();
        BufReader::new((&mut stream).take(MAX_LINE as u64))
            .read_line(&mut reply)
            .await?;
        Ok::<_, io::Error>(reply)
    };
    let reply = match tokio::time::timeout(REPLY_TIMEOUT, exchange).await {
        Err(_) => {
            return Err(io_err(io::Error::new(io::ErrorKind::TimedOut, "no answer")));
        }
        Ok(Err(e))
            if matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ) =>
        {
            return Err(ControlError::Refused(path.to_owned()));
        }
        Ok(Err(e)) => return Err(io_err(e)),
        Ok(Ok(reply)) => reply,
    };
    if !reply.ends_with('\n') {
        return Err(ControlError::Refused(path.to_owned()));
    }
    Reply::parse(reply.trim_end_matches('\n'))
        .map(Some)
        .map_err(|source| ControlError::Protocol {
            path: path.to_owned(),
            source,
        })
}

/// How an admin change was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The running server made it, live sessions included.
    AppliedByServer(Applied),
    /// No server answered; the store was written and the change applies at the next login.
    WrittenToStore,
}

/// Why an admin change was not made.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No such user.
    #[error("no such user: {0}")]
    NoSuchUser(String),
    /// Kick: the running server has no session for the user.
    #[error("{0} is not online")]
    NotOnline(String),
    /// Kick without a running server: nobody is online.
    #[error("no running server answered on {0}: nobody is online to kick")]
    NoServer(PathBuf),
    /// The running server could not make the change.
    #[error("the running server could not make the change: {0}")]
    ServerFailed(String),
    /// The running server did not understand the request (another version?).
    #[error("the running server refused the request as malformed")]
    BadRequest,
    /// The control socket is switched off (`control_socket = ""`), so a running server
    /// cannot be told; the change was not made.
    #[error(
        "the control socket is switched off, so a running server would not see this change; not made"
    )]
    ControlOff,
    /// The control socket could not be used.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// The database failed (no server running).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Makes `request` happen: through the running server if one answers on the control socket
/// of `config`, else directly in the store (a kick then fails: nobody can be online).
pub async fn apply(config: &Config, request: &Request) -> Result<Outcome, AdminError> {
    let path = super::socket_path(config).ok_or(AdminError::ControlOff)?;
    let user = request.user().to_owned();
    match call(&path, request).await? {
        Some(Reply::Applied(applied)) => Ok(Outcome::AppliedByServer(applied)),
        Some(Reply::NoSuchUser) => Err(AdminError::NoSuchUser(user)),
        Some(Reply::NotOnline) => Err(AdminError::NotOnline(user)),
        Some(Reply::Failed(reason)) => Err(AdminError::ServerFailed(reason)),
        Some(Reply::BadRequest) => Err(AdminError::BadRequest),
        None => {
            let store = store::open(&config.database_url()).await?;
            let found = match request {
                Request::SetPermission { user, level } => {
                    store.set_permission(user.as_bytes(), *level).await?
                }
                Request::Deregister { user } => store.deregister(user.as_bytes()).await?,
                Request::Kick { .. } => return Err(AdminError::NoServer(path)),
            };
            if found {
                Ok(Outcome::WrittenToStore)
            } else {
                Err(AdminError::NoSuchUser(user))
            }
        }
    }
}
