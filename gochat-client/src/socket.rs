//! Reaching gochatd only when it is really ours.
//!
//! Without `XDG_RUNTIME_DIR` the socket lives in `/tmp/gochat-$UID/`, a name any local user
//! can take first. A frontend therefore talks to a socket only when its directory is a real
//! directory owned by us with no group or other permission bits (mode 0700), and only when
//! the process on the other end runs as us (`SO_PEERCRED`, checked on every connected
//! stream). Otherwise it refuses with a clear error, and never starts a daemon there.

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use gochat_proto::ipc::{self, DaemonClient};
use tokio::net::UnixStream;

pub use gochat_proto::ipc::{SOCKET_ENV, default_socket_path, runtime_dir};

/// Why a socket directory or a daemon is not trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    /// The directory belongs to someone else.
    #[error(
        "{} belongs to uid {owner}, not to you (uid {uid}): another user may have created it to pose as gochatd; remove it or set XDG_RUNTIME_DIR",
        dir.display()
    )]
    ForeignDirectory {
        /// The directory.
        dir: PathBuf,
        /// Its owner.
        owner: u32,
        /// Our uid.
        uid: u32,
    },
    /// The directory is open to other users.
    #[error(
        "{} is open to other users (mode {mode:04o}); if it is yours, make it private with `chmod 700 {}`",
        dir.display(),
        dir.display()
    )]
    OpenDirectory {
        /// The directory.
        dir: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The socket's parent is a symbolic link or not a directory.
    #[error("{} is not a directory (a symbolic link or a file): refusing it as the socket directory", dir.display())]
    NotADirectory {
        /// The path.
        dir: PathBuf,
    },
    /// The daemon on the socket runs as another user.
    #[error(
        "the process serving {} runs as uid {peer}, not as you (uid {uid}): refusing to talk to it",
        socket.display()
    )]
    ForeignDaemon {
        /// The socket.
        socket: PathBuf,
        /// The peer's uid.
        peer: u32,
        /// Our uid.
        uid: u32,
    },
    /// Our own uid or the peer's credentials could not be read.
    #[error("cannot check who serves {}: {reason}", socket.display())]
    Unverifiable {
        /// The socket.
        socket: PathBuf,
        /// The cause.
        reason: String,
    },
}

/// Errors reaching the daemon.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The socket (or its directory, or the daemon) is not trusted.
    #[error(transparent)]
    Untrusted(#[from] Untrusted),
    /// Nothing (trusted) listens on the socket.
    #[error(transparent)]
    Unreachable(ipc::ConnectError),
}

impl ConnectError {
    /// Whether nothing answers (so starting a daemon may help), as opposed to a refusal.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ConnectError::Unreachable(_))
    }
}

/// Our effective uid (the owner of `/proc/self`).
///
/// # Errors
///
/// When `/proc` cannot be read.
pub fn current_uid() -> io::Result<u32> {
    std::fs::metadata("/proc/self").map(|m| m.uid())
}

/// The directory holding `socket`.
pub fn socket_dir(socket: &Path) -> &Path {
    match socket.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Checks that `dir` is a directory (not a link) owned by `uid` with mode 0700 or narrower.
/// A directory that does not exist passes: nothing can be listening in it.
///
/// # Errors
///
/// The reason the directory is not trusted.
pub fn check_dir(dir: &Path, uid: u32) -> Result<(), Untrusted> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Untrusted::Unverifiable {
                socket: dir.to_owned(),
                reason: e.to_string(),
            });
        }
    };
    if !meta.is_dir() {
        return Err(Untrusted::NotADirectory {
            dir: dir.to_owned(),
        });
    }
    if meta.uid() != uid {
        return Err(Untrusted::ForeignDirectory {
            dir: dir.to_owned(),
            owner: meta.uid(),
            uid,
        });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(Untrusted::OpenDirectory {
            dir: dir.to_owned(),
            mode,
        });
    }
    Ok(())
}

/// Checks that the peer's uid is `uid`.
///
/// # Errors
///
/// [`Untrusted::ForeignDaemon`] otherwise.
pub fn check_peer_uid(socket: &Path, peer: u32, uid: u32) -> Result<(), Untrusted> {
    if peer == uid {
        Ok(())
    } else {
        Err(Untrusted::ForeignDaemon {
            socket: socket.to_owned(),
            peer,
            uid,
        })
    }
}

/// Checks that the process on the other end of `stream` runs as `uid`.
///
/// # Errors
///
/// [`Untrusted::ForeignDaemon`], or [`Untrusted::Unverifiable`] when the kernel does not say.
pub fn check_peer(stream: &UnixStream, socket: &Path, uid: u32) -> Result<(), Untrusted> {
    let cred = stream.peer_cred().map_err(|e| Untrusted::Unverifiable {
        socket: socket.to_owned(),
        reason: e.to_string(),
    })?;
    check_peer_uid(socket, cred.uid(), uid)
}

/// Connects to gochatd on `socket` after checking its directory, and checks the daemon's
/// uid on every connected stream.
///
/// # Errors
///
/// [`ConnectError::Untrusted`] when the directory or the daemon is not ours,
/// [`ConnectError::Unreachable`] when nothing answers.
pub async fn connect(socket: &Path) -> Result<DaemonClient, ConnectError> {
    let uid = current_uid().map_err(|e| Untrusted::Unverifiable {
        socket: socket.to_owned(),
        reason: format!("cannot read our own uid: {e}"),
    })?;
    check_dir(socket_dir(socket), uid)?;
    let path = socket.to_owned();
    let verify = move |stream: &UnixStream| {
        check_peer(stream, &path, uid)
            .map_err(|e| io::Error::new(io::ErrorKind::PermissionDenied, e))
    };
    ipc::connect_verified(socket, verify)
        .await
        .map_err(|e| match untrusted_in(&e) {
            Some(u) => ConnectError::Untrusted(u),
            None => ConnectError::Unreachable(e),
        })
}

/// The refusal carried in the source chain of a failed connection, if any.
fn untrusted_in(e: &(dyn std::error::Error + 'static)) -> Option<Untrusted> {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(u) = err.downcast_ref::<Untrusted>() {
            return Some(u.clone());
        }
        if let Some(io) = err.downcast_ref::<io::Error>()
            && let Some(u) = io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<Untrusted>())
        {
            return Some(u.clone());
        }
        current = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_directory_of_ours_passes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let uid = current_uid().expect("uid");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        assert_eq!(check_dir(dir.path(), uid), Ok(()));
        assert_eq!(check_dir(&dir.path().join("missing"), uid), Ok(()));
    }

    #[test]
    fn open_foreign_and_linked_directories_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let uid = current_uid().expect("uid");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let err = check_dir(dir.path(), uid).expect_err("0755 is refused");
        assert!(err.to_string().contains("mode 0755"), "{err}");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        let err = check_dir(dir.path(), uid.wrapping_add(1)).expect_err("not ours");
        assert!(matches!(err, Untrusted::ForeignDirectory { .. }), "{err}");
        let link = tempfile::tempdir().expect("tempdir");
        let link = link.path().join("gochat");
        std::os::unix::fs::symlink(dir.path(), &link).expect("symlink");
        assert!(matches!(
            check_dir(&link, uid),
            Err(Untrusted::NotADirectory { .. })
        ));
    }

    #[test]
    fn a_peer_of_another_uid_is_refused() {
        let socket = Path::new("/run/x/gochatd.sock");
        assert_eq!(check_peer_uid(socket, 1000, 1000), Ok(()));
        let err = check_peer_uid(socket, 65534, 1000).expect_err("foreign");
        assert!(err.to_string().contains("uid 65534"), "{err}");
    }

    #[tokio::test]
    async fn the_peer_of_a_real_socket_is_checked() {
        let (a, _b) = UnixStream::pair().expect("pair");
        let uid = current_uid().expect("uid");
        let socket = Path::new("pair");
        assert_eq!(check_peer(&a, socket, uid), Ok(()));
        assert!(matches!(
            check_peer(&a, socket, uid.wrapping_add(1)),
            Err(Untrusted::ForeignDaemon { .. })
        ));
    }
}
